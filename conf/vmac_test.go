package conf

import (
	"strings"
	"testing"
)

// TestUseVMACChecks: use_vmac's MAC is checked as keepalived does (a
// multicast or RFC 5798 MAC is ignored with a located warning); an IPv6
// instance keeps its use_vmac.
func TestUseVMACChecks(t *testing.T) {
	for _, tc := range []struct {
		line, vip, want string
		use             bool
		addr            string
	}{
		{"use_vmac 03:00:00:00:00:01", "192.0.2.1/24", `k.conf:4:14: warning: VMAC MAC address is multicast 03:00:00:00:00:01 - ignoring`, true, ""},
		{"use_vmac 00:00:5E:00:02:07", "192.0.2.1/24", `k.conf:4:14: warning: VMAC MAC address not allowed to be RFC5798 address (00:00:5E:00:02:07) - ignoring`, true, ""},
		{"use_vmac v1 2:0:0:0:1", "192.0.2.1/24", "", true, "2:0:0:0:1"},
		{"use_vmac", "2001:db8::1/64", "", true, ""},
	} {
		src := "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    " + tc.line + "\n    virtual_ipaddress {\n        " + tc.vip + "\n    }\n}\n"
		cfg, ds := loadSrc(t, "k.conf", src)
		if ds.HasErrors() {
			t.Fatalf("%s: errors:\n%s", tc.line, dump(ds))
		}
		if tc.want != "" && !strings.Contains(dump(ds), tc.want) {
			t.Errorf("%s: missing %q in:\n%s", tc.line, tc.want, dump(ds))
		}
		in := cfg.VRRPInstances[0]
		if in.UseVMAC != tc.use || in.VMACAddr != tc.addr {
			t.Errorf("%s: UseVMAC %v VMACAddr %q, want %v %q", tc.line, in.UseVMAC, in.VMACAddr, tc.use, tc.addr)
		}
	}
}

// TestVIPUseVMACChecks: a VIP's use_vmac is dropped with a located warning
// where keepalived 2.2.7 drops it (the instance's VMAC carries it, or
// use_vmac_addr already gives it one) and kept otherwise; use_vmac_addr and
// vmac_addr_prefix are read.
func TestVIPUseVMACChecks(t *testing.T) {
	for _, tc := range []struct {
		inst, vip, want string
		keep            bool
	}{
		{"use_vmac", "192.0.2.1/24 use_vmac", `k.conf:8:9: warning: (VI_1) use_vmac specified for VIP/eVIP 192.0.2.1 and vrrp instance`, false},
		{"use_vmac", "192.0.2.1/24 dev eth0 use_vmac", `k.conf:8:9: warning: (VI_1) use_vmac specified for VIP/eVIP 192.0.2.1 and vrrp instance`, false},
		{"use_vmac", "192.0.2.1/24 dev eth1 use_vmac", "", true},
		{"use_vmac_addr", "192.0.2.1/24 dev eth1 use_vmac", `k.conf:8:9: warning: (VI_1) use_vmac_addr specified and use_vmac specified for VIP/eVIP 192.0.2.1`, false},
		{"use_vmac_addr", "192.0.2.1/24 use_vmac", "", true},
		{"debug", "192.0.2.1/24 use_vmac", "", true},
	} {
		src := "global_defs {\n    vmac_addr_prefix va\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    " + tc.inst +
			"\n    virtual_ipaddress {\n        " + tc.vip + "\n    }\n}\n"
		src = strings.Replace(src, "virtual_router_id 51\n    "+tc.inst+"\n    virtual_ipaddress {\n", "virtual_router_id 51\n    virtual_ipaddress {\n", 1)
		src = strings.Replace(src, "    }\n}\n", "    }\n    "+tc.inst+"\n}\n", 1)
		cfg, ds := loadSrc(t, "k.conf", src)
		if ds.HasErrors() {
			t.Fatalf("%s: errors:\n%s", tc.vip, dump(ds))
		}
		if tc.want != "" && !strings.Contains(dump(ds), tc.want) {
			t.Errorf("%s %s: missing %q in:\n%s", tc.inst, tc.vip, tc.want, dump(ds))
		}
		in := cfg.VRRPInstances[0]
		if in.VIPs[0].UseVMAC != tc.keep {
			t.Errorf("%s %s: VIP UseVMAC %v, want %v", tc.inst, tc.vip, in.VIPs[0].UseVMAC, tc.keep)
		}
		if in.UseVMACAddr != (tc.inst == "use_vmac_addr") || cfg.Global.VMACAddrPrefix != "va" {
			t.Errorf("%s: UseVMACAddr %v, vmac_addr_prefix %q", tc.inst, in.UseVMACAddr, cfg.Global.VMACAddrPrefix)
		}
	}
}

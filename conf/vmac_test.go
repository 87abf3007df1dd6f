package conf

import (
	"strings"
	"testing"
)

// TestUseVMACChecks: use_vmac's MAC is checked as keepalived does (a
// multicast or RFC 5798 MAC is ignored with a located warning), and an
// IPv6 instance's use_vmac is ignored with a located warning.
func TestUseVMACChecks(t *testing.T) {
	for _, tc := range []struct {
		line, vip, want string
		use             bool
		addr            string
	}{
		{"use_vmac 03:00:00:00:00:01", "192.0.2.1/24", `k.conf:4:14: warning: VMAC MAC address is multicast 03:00:00:00:00:01 - ignoring`, true, ""},
		{"use_vmac 00:00:5E:00:02:07", "192.0.2.1/24", `k.conf:4:14: warning: VMAC MAC address not allowed to be RFC5798 address (00:00:5E:00:02:07) - ignoring`, true, ""},
		{"use_vmac v1 2:0:0:0:1", "192.0.2.1/24", "", true, "2:0:0:0:1"},
		{"use_vmac", "2001:db8::1/64", `vrrp_instance VI_1: use_vmac on an IPv6 instance is not supported by lvs-ha yet - ignoring`, false, ""},
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

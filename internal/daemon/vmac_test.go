package daemon

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/vrrp/vmac"
)

// fakeVMACs records each Apply as the names it was given.
type fakeVMACs struct {
	mu    sync.Mutex
	calls [][]string
	specs []vmac.Spec
}

func (f *fakeVMACs) Apply(next []vmac.Spec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := []string{}
	for _, s := range next {
		names = append(names, s.Name+"@"+s.Parent+"="+s.MAC.String())
	}
	f.calls = append(f.calls, names)
	f.specs = next
	return nil
}

func (f *fakeVMACs) take() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func vmacConf(global, inst string) string {
	src := reloadSrc("100", "2", "")
	src = strings.Replace(src, "    router_id lvs1\n", "    router_id lvs1\n"+global, 1)
	return strings.Replace(src, "    virtual_router_id 51\n", "    virtual_router_id 51\n"+inst, 1)
}

// TestVMACTranslation: with use_vmac the instance runs on the VMAC (its
// adverts and VIPs), or only its VIPs with vmac_xmit_base; the name and MAC
// are keepalived's defaults or use_vmac's.
func TestVMACTranslation(t *testing.T) {
	for _, tc := range []struct {
		global, inst         string
		iface, vipDev, vmacs string
	}{
		{"", "", "eth0", "eth0", ""},
		{"", "    use_vmac\n", "vrrp.51", "vrrp.51", "vrrp.51@eth0=00:00:5e:00:01:33"},
		{"    vmac_prefix vm\n", "    use_vmac\n", "vm.51", "vm.51", "vm.51@eth0=00:00:5e:00:01:33"},
		{"", "    use_vmac vip51 02:00:00:00:00:51\n", "vip51", "vip51", "vip51@eth0=02:00:00:00:00:51"},
		{"", "    use_vmac 2:a:0:0:1\n", "vrrp.51", "vrrp.51", "vrrp.51@eth0=02:0a:00:00:01:33"},         // 5 octets: VRID appended
		{"", "    use_vmac 03:00:00:00:00:01\n", "vrrp.51", "vrrp.51", "vrrp.51@eth0=00:00:5e:00:01:33"}, // multicast: ignored
		{"", "    use_vmac 00:00:5e:00:02:07\n", "vrrp.51", "vrrp.51", "vrrp.51@eth0=00:00:5e:00:01:33"}, // RFC 5798: ignored
		{"", "    use_vmac\n    vmac_xmit_base\n", "eth0", "vrrp.51", "vrrp.51@eth0=00:00:5e:00:01:33"},
	} {
		p, ds := check(loadConf(t, vmacConf(tc.global, tc.inst)), &Options{})
		if p == nil {
			t.Fatalf("%q %q: %v", tc.global, tc.inst, ds)
		}
		in := p.instances[0]
		if in.Interface != tc.iface || in.VIPs[0].Dev != tc.vipDev {
			t.Errorf("%q %q: interface %s, VIP dev %s; want %s, %s", tc.global, tc.inst, in.Interface, in.VIPs[0].Dev, tc.iface, tc.vipDev)
		}
		var got []string
		for _, s := range p.vmacs {
			got = append(got, s.Name+"@"+s.Parent+"="+s.MAC.String())
		}
		if strings.Join(got, " ") != tc.vmacs {
			t.Errorf("%q %q: vmacs %v, want %s", tc.global, tc.inst, got, tc.vmacs)
		}
	}
}

// TestDaemonVMACStartReloadStop: the VMACs are created before the VRRP
// runner starts, follow reloads (a new one before the instances, a gone one
// after) and are removed at stop.
func TestDaemonVMACStartReloadStop(t *testing.T) {
	td := newTestDaemon(t, vmacConf("", "    use_vmac\n"), true, true)
	td.start(t)
	td.notify.expect(t, "READY")
	v := "vrrp.51@eth0=00:00:5e:00:01:33"
	if got := td.vmacs.take(); len(got) != 1 || !slices.Equal(got[0], []string{v}) {
		t.Errorf("start: %q", got)
	}
	if len(td.vrrps) != 1 || td.vrrps[0].opts.Instances[0].Interface != "vrrp.51" {
		t.Fatalf("the runner does not run the instance on its VMAC")
	}
	if err := os.WriteFile(td.file, []byte(vmacConf("    vmac_prefix vm\n", "    use_vmac\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := td.d.ReloadFile(context.Background(), td.file, conf.Options{ConfigID: "lvs1"}); err != nil {
		t.Fatal(err)
	}
	w := "vm.51@eth0=00:00:5e:00:01:33"
	if got := td.vmacs.take(); len(got) != 2 || !slices.Equal(got[0], []string{v, w}) || !slices.Equal(got[1], []string{w}) {
		t.Errorf("reload: %q", got)
	}
	td.stop()
	if got := td.vmacs.take(); len(got) != 1 || len(got[0]) != 0 {
		t.Errorf("stop: %q", got)
	}
}

// TestVMACPlanIPv6AndVIPVMACs: keepalived 2.2.7's VMAC layout. An IPv6
// instance's VMAC has the IPv6 virtual MAC and a link-local address (the
// configured source, else the parent's), none with vmac_xmit_base; names
// are unique across the configuration (PREFIX6.VRID for an IPv6 one whose name is taken);
// only VIPs of the instance's family on its interface (dev unset or the
// interface) go on its VMAC; use_vmac_addr and a VIP's use_vmac give VIPs on
// other interfaces or of the other family a VMAC of their own (named with
// vmac_addr_prefix, shared by VIPs with the same interface and MAC).
func TestVMACPlanIPv6AndVIPVMACs(t *testing.T) {
	src := `global_defs {
    vmac_addr_prefix va
}
vrrp_instance V4 {
    interface eth0
    virtual_router_id 51
    use_vmac
    use_vmac_addr
    virtual_ipaddress {
        192.0.2.1/24
        192.0.2.2/24 dev eth0
        192.0.2.3/24 dev eth1
        192.0.2.4/24 dev eth1
    }
    virtual_ipaddress_excluded {
        2001:db8::1/64 dev eth1
    }
}
vrrp_instance V6 {
    interface eth0
    virtual_router_id 51
    use_vmac
    mcast_src_ip fe80::99
    virtual_ipaddress {
        fe80::51/64
        2001:db8::2/64
        2001:db8::3/64 dev eth2
    }
    virtual_ipaddress_excluded {
        192.0.2.5/24 dev eth1 use_vmac
    }
}
vrrp_instance X6 {
    interface eth0
    virtual_router_id 52
    use_vmac
    vmac_xmit_base
    virtual_ipaddress {
        2001:db8::4/64
        2001:db8::5/64 use_vmac
    }
}
vrrp_instance NoVMAC {
    interface eth0
    virtual_router_id 53
    use_vmac_addr
    virtual_ipaddress {
        192.0.2.6/24
        192.0.2.7/24 use_vmac
    }
    virtual_ipaddress_excluded {
        2001:db8::9/64
    }
}
`
	cfg := loadConf(t, src)
	p, err := planVMACs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.specs {
		ll := ""
		if s.LinkLocal {
			ll = " ll"
			if s.Src.IsValid() {
				ll += "=" + s.Src.String()
			}
		}
		got = append(got, s.Name+"@"+s.Parent+"="+s.MAC.String()+ll)
	}
	want := []string{
		"vrrp.51@eth0=00:00:5e:00:01:33",
		"va.51@eth1=00:00:5e:00:01:33",     // use_vmac_addr: the VIPs on eth1
		"va6.51@eth1=00:00:5e:00:02:33 ll", // use_vmac_addr: the IPv6 eVIP on eth1
		"vrrp6.51@eth0=00:00:5e:00:02:33 ll=fe80::99",
		"vrrp.52@eth0=00:00:5e:00:02:34",   // vmac_xmit_base: no link-local
		"va.53@eth0=00:00:5e:00:01:35",     // a VIP's use_vmac
		"va6.53@eth0=00:00:5e:00:02:35 ll", // use_vmac_addr: the other family on eth0
	}
	if !slices.Equal(got, want) {
		t.Errorf("VMACs:\n%q\nwant\n%q", got, want)
	}
	ics, _, err := vrrpConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		iface string
		devs  string
	}{
		{"vrrp.51", "vrrp.51 vrrp.51 va.51 va.51 | va6.51"},
		{"vrrp6.51", "vrrp6.51 vrrp6.51 eth2 | va.51"}, // sharing V4's VMAC on eth1
		{"eth0", "vrrp.52 vrrp.52 |"},
		{"eth0", "eth0 va.53 | va6.53"},
	} {
		ic := ics[i]
		var devs []string
		for _, v := range ic.VIPs {
			devs = append(devs, v.Dev)
		}
		devs = append(devs, "|")
		for _, v := range ic.ExcludedVIPs {
			devs = append(devs, v.Dev)
		}
		if ic.Interface != tc.iface || strings.Join(devs, " ") != tc.devs {
			t.Errorf("%s: interface %s, VIP devs %q; want %s, %q", ic.Machine.Name, ic.Interface, strings.Join(devs, " "), tc.iface, tc.devs)
		}
	}
}

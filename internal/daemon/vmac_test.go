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

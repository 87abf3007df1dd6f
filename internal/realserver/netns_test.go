package realserver_test

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/realserver"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

// inNode runs Up or Down with a Kernel opened inside the node's namespace.
func inNode(t *testing.T, n *netlab.Node, f func(realserver.System, realserver.Config) ([]realserver.Change, error), cfg realserver.Config) []realserver.Change {
	t.Helper()
	var chs []realserver.Change
	err := n.Do(func() error {
		k, err := realserver.NewKernel()
		if err != nil {
			return err
		}
		defer k.Close()
		chs, err = f(k, cfg)
		return err
	})
	if errors.Is(err, realserver.ErrNoTunnel) && !vmtest.InVM() {
		t.Skipf("kernel without ipip: %v", err)
	}
	if err != nil {
		t.Fatalf("%v", err)
	}
	return chs
}

func readSysctls(t *testing.T, n *netlab.Node, keys ...string) []string {
	t.Helper()
	var vals []string
	err := n.Do(func() error {
		k, err := realserver.NewKernel()
		if err != nil {
			return err
		}
		defer k.Close()
		for _, key := range keys {
			v, err := k.ReadSysctl(key)
			if err != nil {
				return err
			}
			vals = append(vals, v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

func devAddrs(t *testing.T, n *netlab.Node, dev string) []netip.Prefix {
	t.Helper()
	h := n.Handle()
	link, err := h.LinkByName(dev)
	if err != nil {
		t.Fatalf("%s: %v", dev, err)
	}
	list, err := h.AddrList(link, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []netip.Prefix
	for _, a := range list {
		ip, _ := netip.AddrFromSlice(a.IP)
		bits, _ := a.Mask.Size()
		out = append(out, netip.PrefixFrom(ip.Unmap(), bits))
	}
	return out
}

func TestKernelInNamespace(t *testing.T) {
	tests := []struct {
		name   string
		cfg    realserver.Config
		dev    string
		arpDev []string
	}{
		{"dr", realserver.Config{VIPs: []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("2001:db8::100")}}, "lo", []string{"all", "lo"}},
		{"tun", realserver.Config{VIPs: []netip.Addr{netip.MustParseAddr("192.0.2.101")}, Mode: realserver.TUN}, "tunl0", []string{"all", "lo", "tunl0"}},
	}
	lab := netlab.New(t, netlab.Options{})
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := lab.AddNode(tc.name, lab.Host4(20+i).String())
			arpKeys := func() []string {
				var keys []string
				for _, d := range tc.arpDev {
					keys = append(keys, "net.ipv4.conf."+d+".arp_ignore", "net.ipv4.conf."+d+".arp_announce")
				}
				return keys
			}()

			chs := inNode(t, n, realserver.Up, tc.cfg)
			if len(chs) == 0 {
				t.Fatal("first Up made no change")
			}
			t.Logf("up: %q", chs)
			addrs := devAddrs(t, n, tc.dev)
			for _, v := range tc.cfg.VIPs {
				if want := netip.PrefixFrom(v, v.BitLen()); !slices.Contains(addrs, want) {
					t.Errorf("%v not on %s: %v", want, tc.dev, addrs)
				}
			}
			for i, v := range readSysctls(t, n, arpKeys...) {
				if want := []string{"1", "2"}[i%2]; v != want {
					t.Errorf("%s = %s, want %s", arpKeys[i], v, want)
				}
			}
			if tc.cfg.Mode == realserver.TUN {
				rp := readSysctls(t, n, "net.ipv4.conf.tunl0.rp_filter", "net.ipv4.conf.all.rp_filter")
				if rp[0] != "0" || rp[1] == "1" {
					t.Errorf("rp_filter tunl0=%s all=%s, want 0 and not strict", rp[0], rp[1])
				}
				link, err := n.Handle().LinkByName("tunl0")
				if err != nil || link.Type() != "ipip" || link.Attrs().Flags&1 == 0 {
					t.Errorf("tunl0 = %v, %v; want an ipip link, up", link, err)
				}
			}

			if chs := inNode(t, n, realserver.Up, tc.cfg); len(chs) != 0 {
				t.Errorf("second Up changed %q; want already configured", chs)
			}

			if chs := inNode(t, n, realserver.Down, tc.cfg); len(chs) == 0 {
				t.Error("Down made no change")
			}
			addrs = devAddrs(t, n, tc.dev)
			for _, v := range tc.cfg.VIPs {
				if slices.ContainsFunc(addrs, func(p netip.Prefix) bool { return p.Addr() == v }) {
					t.Errorf("%v still on %s after Down: %v", v, tc.dev, addrs)
				}
			}
			for i, v := range readSysctls(t, n, arpKeys...) {
				if v != "0" {
					t.Errorf("%s = %s after Down, want 0", arpKeys[i], v)
				}
			}
			if chs := inNode(t, n, realserver.Down, tc.cfg); len(chs) != 0 {
				t.Errorf("second Down changed %q", chs)
			}
		})
	}
}

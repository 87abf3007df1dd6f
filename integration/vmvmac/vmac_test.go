//go:build vm

package vmvmac

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
)

func TestMain(m *testing.M) { os.Exit(netlab.Main(m)) }

const (
	vip  = "192.0.2.100"
	port = 8080
	vmac = "00:00:5e:00:01:33" // VRID 51
)

func conf(iface, extra string) string {
	return fmt.Sprintf(`global_defs {
    vrrp_garp_master_repeat 3
}
vrrp_instance VI_1 {
    state BACKUP
@lvs1    priority 150
@lvs2    priority 100
    interface %s
    virtual_router_id 51
    advert_int 1
    use_vmac
%s    virtual_ipaddress {
        %s/24
    }
}
`, iface, extra, vip)
}

// sysctl reads a /proc/sys value in n.
func sysctl(t *testing.T, n *netlab.Node, path string) string {
	t.Helper()
	var v string
	if err := n.Do(func() error {
		b, err := os.ReadFile("/proc/sys/" + path)
		v = strings.TrimSpace(string(b))
		return err
	}); err != nil {
		t.Fatalf("%s: %v", n.Name(), err)
	}
	return v
}

// vmacLink returns n's vrrp.51 or nil.
func vmacLink(n *netlab.Node) netlink.Link {
	l, err := n.Handle().LinkByName("vrrp.51")
	if err != nil {
		return nil
	}
	return l
}

// reach fetches http://VIP:port from the client and returns the body.
func reach(client *netlab.Node) (string, error) {
	return vmlab.Get(client.HTTPClient(), fmt.Sprintf("http://%s:%d/", vip, port), port)
}

// TestVMACFailover: the client's neighbour entry for the VIP is the
// virtual MAC before and after a failover, the client reaches the VIP
// through it, the VIP is on the VMAC, and a stopped director removed its
// VMAC and restored its interface's settings. With vmac_xmit_base the
// adverts leave through the interface (the VMAC carries only the VIPs).
func TestVMACFailover(t *testing.T) {
	vmtest.Require(t)
	vmlab.RequireLvsHA(t)
	for _, tc := range []struct{ name, extra string }{
		{"use_vmac", ""},
		{"vmac_xmit_base", "    vmac_xmit_base\n"},
	} {
		t.Run(tc.name, func(t *testing.T) { drill(t, tc.extra, lvsha, lvsha) })
	}
}

// TestVMACMixedKeepalived: the same drill with keepalived's use_vmac as the
// first master (lvs-ha takes over) and as the backup (it takes over from
// lvs-ha). Skipped when the VM image has no keepalived (VM_TOOLS).
func TestVMACMixedKeepalived(t *testing.T) {
	vmtest.Require(t)
	vmlab.RequireLvsHA(t)
	if _, err := os.Stat(keepalivedBin); err != nil {
		t.Skipf("no keepalived in the VM image (VM_TOOLS): %v", err)
	}
	t.Run("keepalived_master", func(t *testing.T) { drill(t, "", keepalived, lvsha) })
	t.Run("lvsha_master", func(t *testing.T) { drill(t, "", lvsha, keepalived) })
}

const (
	lvsha         = "lvs-ha"
	keepalived    = "keepalived"
	keepalivedBin = "/usr/sbin/keepalived"
)

// start runs impl in n with the configuration cf as router id.
func start(t *testing.T, impl string, n *netlab.Node, id, cf, tmp string) *netlab.Proc {
	t.Helper()
	if impl == lvsha {
		return vmlab.Run(t, n, "msg=running", 60*time.Second, "-i", id, "-f", cf, "-pid-file", filepath.Join(tmp, id+".pid"))
	}
	run := filepath.Join(tmp, id)
	p := n.Start(keepalivedBin, "-n", "-l", "-D", "-P", "-i", id, "-f", cf,
		"-p", run+".pid", "-r", run+"-vrrp.pid", "-c", run+"-checkers.pid")
	if err := netlab.WaitFor(30*time.Second, func() (bool, error) { return vmacLink(n) != nil, nil },
		func() string { return "keepalived's vrrp.51 in " + n.Name() + "\n" + p.LogTail(30) }); err != nil {
		t.Fatal(err)
	}
	return p
}

func drill(t *testing.T, extra, impl1, impl2 string) {
	lab := netlab.New(t, netlab.Options{Subnet4: netip.MustParsePrefix("192.0.2.0/24")})
	client := lab.AddNode("client", "192.0.2.1/24")
	lvs1 := lab.AddNode("lvs1", "192.0.2.2/24")
	lvs2 := lab.AddNode("lvs2", "192.0.2.3/24")
	tmp := t.TempDir()
	cf := filepath.Join(tmp, "keepalived.conf")
	if err := os.WriteFile(cf, []byte(conf(lvs1.IfName(), extra)), 0o644); err != nil {
		t.Fatal(err)
	}
	vmlab.Serve(t, lvs1, port)
	vmlab.Serve(t, lvs2, port)
	parentIgnore := sysctl(t, lvs1, "net/ipv4/conf/"+lvs1.IfName()+"/arp_ignore")

	p1 := start(t, impl1, lvs1, "lvs1", cf, tmp)
	start(t, impl2, lvs2, "lvs2", cf, tmp)
	impls := map[*netlab.Node]string{lvs1: impl1, lvs2: impl2}

	for _, n := range []*netlab.Node{lvs1, lvs2} {
		l := vmacLink(n)
		if l == nil {
			t.Fatalf("%s: no vrrp.51", n.Name())
		}
		mv, ok := l.(*netlink.Macvlan)
		if !ok || mv.Mode != netlink.MACVLAN_MODE_PRIVATE || mv.Attrs().HardwareAddr.String() != vmac {
			t.Fatalf("%s: vrrp.51 is %s %v %v, want macvlan private %s", n.Name(), l.Type(), ok, l.Attrs().HardwareAddr, vmac)
		}
		for path, want := range map[string]string{
			"net/ipv4/conf/vrrp.51/arp_ignore":            "1",
			"net/ipv4/conf/vrrp.51/accept_local":          "1",
			"net/ipv4/conf/vrrp.51/rp_filter":             "0",
			"net/ipv4/conf/" + n.IfName() + "/arp_ignore": "1",
			"net/ipv4/conf/" + n.IfName() + "/arp_filter": "1",
		} {
			if impls[n] == keepalived && strings.HasSuffix(path, "arp_announce") {
				continue // lvs-ha's addition
			}
			if got := sysctl(t, n, path); got != want {
				t.Errorf("%s: %s = %s, want %s", n.Name(), path, got, want)
			}
		}
	}

	// lvs1 becomes master with the VIP on its VMAC; the client reaches it
	// through the virtual MAC.
	var body string
	if err := netlab.WaitFor(30*time.Second, func() (bool, error) {
		var err error
		body, err = reach(client)
		return err == nil && strings.HasPrefix(body, "lvs1"), nil
	}, func() string { return "the client reaching lvs1 through the VIP (last: " + body + ")" }); err != nil {
		t.Fatal(err)
	}
	mac, err := client.Neigh(netip.MustParseAddr(vip))
	if err != nil || mac.String() != vmac {
		t.Fatalf("client's neighbour entry for the VIP: %v %v, want %s", mac, err, vmac)
	}

	// Failover: lvs1 stops; lvs2 takes the VIP on its VMAC.
	start := time.Now()
	if err := p1.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p1.Wait(20 * time.Second); err != nil {
		t.Fatalf("lvs1 did not stop: %v\n%s", err, p1.LogTail(30))
	}
	if l := vmacLink(lvs1); l != nil {
		t.Errorf("lvs1 still has vrrp.51 after stop")
	}
	if got := sysctl(t, lvs1, "net/ipv4/conf/"+lvs1.IfName()+"/arp_ignore"); impl1 == keepalived {
		// keepalived 2.2.7 leaves it set (logged, not asserted).
		t.Logf("keepalived stopped: %s arp_ignore %s (was %s)", lvs1.IfName(), got, parentIgnore)
	} else if got != parentIgnore {
		t.Errorf("lvs1 %s arp_ignore %s after stop, want the original %s", lvs1.IfName(), got, parentIgnore)
	}
	if err := netlab.WaitFor(30*time.Second, func() (bool, error) {
		var err error
		body, err = reach(client)
		return err == nil && strings.HasPrefix(body, "lvs2"), nil
	}, func() string { return "the client reaching lvs2 through the VIP (last: " + body + ")" }); err != nil {
		t.Fatal(err)
	}
	t.Logf("failover: client served by lvs2 %v after lvs1's SIGTERM", time.Since(start).Round(time.Millisecond))
	mac, err = client.Neigh(netip.MustParseAddr(vip))
	if impl2 == keepalived {
		// keepalived leaves arp_announce alone: its interface's ARP
		// requests may carry the VIP (logged, not asserted).
		t.Logf("client's neighbour entry for the VIP after keepalived took over: %v %v", mac, err)
	} else if err != nil || mac.String() != vmac {
		t.Fatalf("client's neighbour entry for the VIP after failover: %v %v, want %s", mac, err, vmac)
	}
	// The master's adverts come from the virtual MAC, or with vmac_xmit_base
	// from its interface's MAC.
	wantSrc := vmac
	if extra != "" {
		wantSrc = lvs2.MAC().String()
	}
	if got := advertSource(t, client); got != wantSrc {
		t.Errorf("adverts from %s, want %s", got, wantSrc)
	}
	// The VIP is on lvs2's VMAC, not on its interface.
	if ok, err := lvs2.HasAddr(netip.MustParseAddr(vip)); ok || err != nil {
		t.Errorf("lvs2 has the VIP on %s: %v %v", lvs2.IfName(), ok, err)
	}
	addrs, _ := lvs2.Handle().AddrList(vmacLink(lvs2), netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IP.String() != vip {
		t.Errorf("lvs2's vrrp.51 addresses %v, want the VIP", addrs)
	}
}

// advertSource returns the source MAC of the next VRRP advert n receives.
func advertSource(t *testing.T, n *netlab.Node) string {
	t.Helper()
	var src string
	err := n.Do(func() error {
		ifi, err := net.InterfaceByName(n.IfName())
		if err != nil {
			return err
		}
		c, err := packet.Listen(ifi, packet.Raw, 0x0800, nil)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			return err
		}
		buf := make([]byte, 1500)
		for {
			k, _, err := c.ReadFrom(buf)
			if err != nil {
				return err
			}
			// Ethernet (14) + IPv4 protocol byte at 9.
			if k >= 34 && buf[14+9] == 112 {
				src = net.HardwareAddr(buf[6:12]).String()
				return nil
			}
		}
	})
	if err != nil {
		t.Fatalf("capturing an advert in %s: %v", n.Name(), err)
	}
	return src
}

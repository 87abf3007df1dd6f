//go:build vm

package vmvmac

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
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

const port = 8080

// family is what differs between the IPv4 and the IPv6 drill.
type family struct {
	vip, vmac string // the VIP (its prefix length is the lab's) and VRID 51's virtual MAC
	ipv6      bool
}

var (
	inet  = family{"192.0.2.100/24", "00:00:5e:00:01:33", false}
	inet6 = family{"2001:db8::100/64", "00:00:5e:00:02:33", true}
)

func (f family) addr() netip.Addr { return netip.MustParsePrefix(f.vip).Addr() }

func conf(iface string, fam family, extra string) string {
	return fmt.Sprintf(`global_defs {
    vrrp_garp_master_repeat 3
    vmac_addr_prefix va
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
        %s
    }
}
`, iface, extra, fam.vip)
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
func reach(client *netlab.Node, vip netip.Addr) (string, error) {
	return vmlab.Get(client.HTTPClient(), fmt.Sprintf("http://%s/", netip.AddrPortFrom(vip, port)), port)
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
		t.Run(tc.name, func(t *testing.T) { drill(t, inet, tc.extra, lvsha, lvsha) })
	}
}

// TestVMACFailoverIPv6: the drill with an IPv6 instance (VMAC
// 00:00:5e:00:02:33, VRID 51, holding a link-local address of its own, the
// interface's): the client's neighbour entry for the IPv6 VIP stays the
// virtual MAC across the failover, the adverts come from the VMAC with the
// interface's link-local source address (RFC 5798 5.1.2.1), the unsolicited
// NAs from the VMAC. With use_vmac_addr the instance's IPv4 eVIP gets an
// IPv4 VMAC of its own (va.51, vmac_addr_prefix): the client's entry for
// it is 00:00:5e:00:01:33 on both sides of the failover too. Then the same
// with keepalived's IPv6 use_vmac in both roles.
func TestVMACFailoverIPv6(t *testing.T) {
	vmtest.Require(t)
	vmlab.RequireLvsHA(t)
	t.Run("use_vmac_addr", func(t *testing.T) {
		drill(t, inet6, "    use_vmac_addr\n    virtual_ipaddress_excluded {\n        "+evip+"\n    }\n", lvsha, lvsha)
	})
	if _, err := os.Stat(keepalivedBin); err != nil {
		t.Skipf("no keepalived in the VM image (VM_TOOLS): %v", err)
	}
	t.Run("keepalived_master", func(t *testing.T) { drill(t, inet6, "", keepalived, lvsha) })
	t.Run("lvsha_master", func(t *testing.T) { drill(t, inet6, "", lvsha, keepalived) })
}

// evip is the IPv6 drill's IPv4 eVIP (use_vmac_addr).
const evip = "192.0.2.200/24"

// TestVMACMixedKeepalived: the same drill with keepalived's use_vmac as the
// first master (lvs-ha takes over) and as the backup (it takes over from
// lvs-ha). Skipped when the VM image has no keepalived (VM_TOOLS).
func TestVMACMixedKeepalived(t *testing.T) {
	vmtest.Require(t)
	vmlab.RequireLvsHA(t)
	if _, err := os.Stat(keepalivedBin); err != nil {
		t.Skipf("no keepalived in the VM image (VM_TOOLS): %v", err)
	}
	t.Run("keepalived_master", func(t *testing.T) { drill(t, inet, "", keepalived, lvsha) })
	t.Run("lvsha_master", func(t *testing.T) { drill(t, inet, "", lvsha, keepalived) })
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
	// Up: keepalived has set addr_gen_mode before.
	if err := netlab.WaitFor(30*time.Second, func() (bool, error) { l := vmacLink(n); return l != nil && l.Attrs().Flags&net.FlagUp != 0, nil },
		func() string { return "keepalived's vrrp.51 in " + n.Name() + "\n" + p.LogTail(30) }); err != nil {
		t.Fatal(err)
	}
	return p
}

func drill(t *testing.T, fam family, extra, impl1, impl2 string) {
	lab := netlab.New(t, netlab.Options{Subnet4: netip.MustParsePrefix("192.0.2.0/24")})
	client := lab.AddNode("client", "192.0.2.1/24", "2001:db8::1/64")
	lvs1 := lab.AddNode("lvs1", "192.0.2.2/24", "2001:db8::2/64")
	lvs2 := lab.AddNode("lvs2", "192.0.2.3/24", "2001:db8::3/64")
	vip, vmac := fam.addr(), fam.vmac
	xmitBase := strings.Contains(extra, "vmac_xmit_base")
	vmacAddr := strings.Contains(extra, "use_vmac_addr")
	tmp := t.TempDir()
	cf := filepath.Join(tmp, "keepalived.conf")
	if err := os.WriteFile(cf, []byte(conf(lvs1.IfName(), fam, extra)), 0o644); err != nil {
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
		want := map[string]string{
			"net/ipv4/conf/vrrp.51/arp_ignore":            "1",
			"net/ipv4/conf/vrrp.51/accept_local":          "1",
			"net/ipv4/conf/vrrp.51/rp_filter":             "0",
			"net/ipv4/conf/" + n.IfName() + "/arp_ignore": "1",
			"net/ipv4/conf/" + n.IfName() + "/arp_filter": "1",
		}
		if fam.ipv6 {
			// keepalived sets no IPv4 settings for an IPv6 VMAC; no
			// automatic link-local address on it (RFC 5798 7.4).
			want = map[string]string{
				"net/ipv6/conf/vrrp.51/addr_gen_mode": "1",
				"net/ipv6/conf/vrrp.51/disable_ipv6":  "0",
			}
			if impls[n] == lvsha {
				want["net/ipv6/conf/vrrp.51/accept_ra"] = "0" // lvs-ha's addition
			}
			if !vmacAddr {
				want["net/ipv4/conf/"+n.IfName()+"/arp_ignore"] = parentIgnore
			}
		}
		for path, want := range want {
			if got := sysctl(t, n, path); got != want {
				t.Errorf("%s: %s = %s, want %s", n.Name(), path, got, want)
			}
		}
	}

	if impl2 == lvsha && (vmacAddr || !fam.ipv6 && !xmitBase) { // lvs2 is the backup
		ip := `"vrrp.51" : "` + lvs2.IfName() + `"`
		if fam.ipv6 {
			backupReport(t, client, lvs2, true, vmac, "table ip6 keepalived", ip, "table ip keepalived", `"va.51" : "`+lvs2.IfName()+`"`)
		} else {
			backupReport(t, client, lvs2, false, vmac, "table ip keepalived", ip)
		}
	}

	// lvs1 becomes master with the VIP on its VMAC; the client reaches it
	// through the virtual MAC.
	var body string
	if err := netlab.WaitFor(30*time.Second, func() (bool, error) {
		var err error
		body, err = reach(client, vip)
		return err == nil && strings.HasPrefix(body, "lvs1"), nil
	}, func() string { return "the client reaching lvs1 through the VIP (last: " + body + ")" }); err != nil {
		t.Fatal(err)
	}
	mac, err := client.Neigh(vip)
	if impl1 == keepalived && !fam.ipv6 {
		// keepalived's arp_announce 0, as after its takeover below
		// (logged, not asserted).
		t.Logf("client's neighbour entry for the VIP with keepalived master: %v %v", mac, err)
	} else if err != nil || mac.String() != vmac {
		t.Fatalf("client's neighbour entry for the VIP: %v %v, want %s", mac, err, vmac)
	}
	if vmacAddr {
		reachEVIP(t, client, "lvs1")
	}

	// Failover: lvs1 stops; lvs2 takes the VIP on its VMAC.
	start := time.Now()
	if err := p1.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p1.Wait(20 * time.Second); err != nil {
		t.Fatalf("lvs1 did not stop: %v\n%s", err, p1.LogTail(30))
	}
	var captured chan advert
	if fam.ipv6 {
		// The adverts of the new master, and its NAs at the takeover.
		captured = make(chan advert, 1)
		go func() { captured <- capture(client, true, vip, 15*time.Second) }()
	}
	if l := vmacLink(lvs1); l != nil {
		t.Errorf("lvs1 still has vrrp.51 after stop")
	}
	if vmacAddr {
		if l, err := lvs1.Handle().LinkByName("va.51"); err == nil {
			t.Errorf("lvs1 still has %s after stop", l.Attrs().Name)
		}
	}
	if rs := nftRuleset(t, lvs1); impl1 == lvsha && strings.TrimSpace(rs) != "" {
		t.Errorf("lvs1's nftables ruleset after stop:\n%s", rs)
	}
	if got := sysctl(t, lvs1, "net/ipv4/conf/"+lvs1.IfName()+"/arp_ignore"); impl1 == keepalived {
		// keepalived 2.2.7 leaves it set (logged, not asserted).
		t.Logf("keepalived stopped: %s arp_ignore %s (was %s)", lvs1.IfName(), got, parentIgnore)
	} else if got != parentIgnore {
		t.Errorf("lvs1 %s arp_ignore %s after stop, want the original %s", lvs1.IfName(), got, parentIgnore)
	}
	if err := netlab.WaitFor(30*time.Second, func() (bool, error) {
		var err error
		body, err = reach(client, vip)
		return err == nil && strings.HasPrefix(body, "lvs2"), nil
	}, func() string { return "the client reaching lvs2 through the VIP (last: " + body + ")" }); err != nil {
		t.Fatal(err)
	}
	t.Logf("failover: client served by lvs2 %v after lvs1's SIGTERM", time.Since(start).Round(time.Millisecond))
	mac, err = client.Neigh(vip)
	if impl2 == keepalived && !fam.ipv6 {
		// keepalived leaves arp_announce alone: its interface's ARP
		// requests may carry the VIP (logged, not asserted).
		t.Logf("client's neighbour entry for the VIP after keepalived took over: %v %v", mac, err)
	} else if err != nil || mac.String() != vmac {
		t.Fatalf("client's neighbour entry for the VIP after failover: %v %v, want %s", mac, err, vmac)
	}
	if vmacAddr {
		reachEVIP(t, client, "lvs2")
	}
	// The master's adverts come from the virtual MAC, or with vmac_xmit_base
	// from its interface's MAC; IPv6 ones from the interface's link-local
	// address (keepalived's too).
	wantSrc := vmac
	if xmitBase {
		wantSrc = lvs2.MAC().String()
	}
	var a advert
	if fam.ipv6 {
		a = <-captured
	} else {
		a = capture(client, false, vip, 5*time.Second)
	}
	if a.err != nil {
		t.Fatalf("capturing in the client: %v", a.err)
	}
	if a.src != wantSrc {
		t.Errorf("adverts from %s, want %s", a.src, wantSrc)
	}
	ll := lvs2LinkLocal(t, lvs2)
	if fam.ipv6 {
		if a.ipSrc != ll {
			t.Errorf("adverts from %v, want lvs2's link-local address %v", a.ipSrc, ll)
		}
		if a.na != vmac {
			t.Errorf("lvs2's NA for the VIP from %q, want %s", a.na, vmac)
		}
	}
	// The VIP is on lvs2's VMAC, not on its interface; an IPv6 VMAC also
	// has the interface's link-local address.
	if ok, err := lvs2.HasAddr(vip); ok || err != nil {
		t.Errorf("lvs2 has the VIP on %s: %v %v", lvs2.IfName(), ok, err)
	}
	nf := netlink.FAMILY_V4
	want := []string{vip.String()}
	if fam.ipv6 {
		nf = netlink.FAMILY_V6
		want = []string{vip.String(), ll.String()}
	}
	addrs, _ := lvs2.Handle().AddrList(vmacLink(lvs2), nf)
	var got []string
	for _, a := range addrs {
		got = append(got, a.IP.String())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("lvs2's vrrp.51 addresses %v, want %v", got, want)
	}
}

// reachEVIP: the client reaches the IPv4 eVIP of the IPv6 drill through
// its use_vmac_addr VMAC (va.51, the IPv4 virtual MAC) on master.
func reachEVIP(t *testing.T, client *netlab.Node, master string) {
	t.Helper()
	ev := netip.MustParsePrefix(evip).Addr()
	var body string
	if err := netlab.WaitFor(30*time.Second, func() (bool, error) {
		var err error
		body, err = reach(client, ev)
		return err == nil && strings.HasPrefix(body, master), nil
	}, func() string { return "the client reaching " + master + " through the eVIP (last: " + body + ")" }); err != nil {
		t.Fatal(err)
	}
	if mac, err := client.Neigh(ev); err != nil || mac.String() != inet.vmac {
		t.Errorf("client's neighbour entry for the eVIP: %v %v, want %s", mac, err, inet.vmac)
	}
}

// lvs2LinkLocal is n's interface's link-local address.
func lvs2LinkLocal(t *testing.T, n *netlab.Node) netip.Addr {
	t.Helper()
	l, err := n.Handle().LinkByName(n.IfName())
	if err == nil {
		var addrs []netlink.Addr
		addrs, err = n.Handle().AddrList(l, netlink.FAMILY_V6)
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.IsLinkLocalUnicast() {
				return ip
			}
		}
	}
	t.Fatalf("%s: no link-local address on %s: %v", n.Name(), n.IfName(), err)
	return netip.Addr{}
}

// advert is what capture saw: the first VRRP advert's source MAC and IP
// address and, for IPv6, the source MAC of the first unsolicited NA.
type advert struct {
	src   string
	ipSrc netip.Addr
	na    string
	err   error
}

// capture reads n's interface until it has seen a VRRP advert (and, for
// IPv6, an NA for target) or for d.
func capture(n *netlab.Node, ipv6 bool, target netip.Addr, d time.Duration) advert {
	var a advert
	a.err = n.Do(func() error {
		ifi, err := net.InterfaceByName(n.IfName())
		if err != nil {
			return err
		}
		proto := 0x0800
		if ipv6 {
			proto = 0x86dd
		}
		c, err := packet.Listen(ifi, packet.Raw, proto, nil)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
			return err
		}
		buf := make([]byte, 1500)
		for {
			k, _, err := c.ReadFrom(buf)
			if err != nil && a.src != "" {
				return nil // an IPv6 advert but no NA: the caller says so
			}
			if err != nil {
				return err
			}
			mac := net.HardwareAddr(buf[6:12]).String()
			switch {
			case !ipv6 && k >= 34 && buf[14+9] == 112: // IPv4 protocol VRRP
				a.src = mac
				return nil
			case ipv6 && k >= 54 && buf[14+6] == 112 && a.src == "": // IPv6 next header VRRP
				a.src, a.ipSrc = mac, netip.AddrFrom16([16]byte(buf[22:38]))
			case ipv6 && k >= 78 && buf[14+6] == 58 && buf[54] == 136 && a.na == "" && // ICMPv6 NA for target
				netip.AddrFrom16([16]byte(buf[62:78])) == target:
				a.na = mac
			}
			if a.src != "" && a.na != "" {
				return nil
			}
		}
	})
	return a
}

package integration

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// metric scrapes d's /metrics (status endpoint on its loopback) and returns
// the value of the first sample whose line matches re (a regexp over the
// name and labels); -1 if none.
func (d *director) metric(t testing.TB, re string) float64 {
	t.Helper()
	v, ok := d.sample(t, re)
	if !ok {
		return -1
	}
	return v
}

// sample is metric that tells a missing sample from a value of -1.
func (d *director) sample(t testing.TB, re string) (float64, bool) {
	t.Helper()
	resp, err := d.node.HTTPClient().Get("http://127.0.0.1:9650/metrics")
	if err != nil {
		t.Fatalf("%v: metrics: %v", d, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + re + ` (-?[0-9.e+]+)$`).FindSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v, true
}

// TestVRRPUnicastTTL: lvs1 sends unicast adverts with unicast_ttl; lvs2 accepts
// lvs1's adverts only with a TTL in unicast_peer's min_ttl..max_ttl and counts
// the others in lvs_ha_vrrp_rx_errors_total{reason="invalid_ttl"}.
func TestVRRPUnicastTTL(t *testing.T) {
	for _, tc := range []struct {
		ttl        int
		bothMaster bool
	}{{64, false}, {10, true}} {
		t.Run(fmt.Sprintf("unicast_ttl_%d", tc.ttl), func(t *testing.T) {
			v := newVRRPLab(t, 2)
			ia, ib := fastInst(150), fastInst(100)
			ia.UnicastSrc, ia.UnicastPeers = v.nodes[0].Addr4(), []netip.Addr{v.nodes[1].Addr4()}
			ib.UnicastSrc, ib.UnicastPeers = v.nodes[1].Addr4(), []netip.Addr{v.nodes[0].Addr4()}
			ia.Extra = []string{fmt.Sprintf("unicast_ttl %d", tc.ttl)}
			ib.PeerOpts = "min_ttl 32 max_ttl 128"
			a := v.director(0, implLVSHA, ia)
			b := v.director(1, implLVSHA, ib)
			onB := startCapture(t, b.node)
			startAll(a, b)
			a.mustState("MASTER", 0)
			drops := `lvs_ha_vrrp_rx_errors_total\{iname="VI_1",intf="[^"]*",reason="invalid_ttl",vrid="51"\}`
			if !tc.bothMaster {
				waitSoleMaster(t, a, a, b)
				assertStable(t, onB, onB.mark(), 10, a, b)
				b.mustState("BACKUP", 0)
				if n := b.metric(t, drops); n > 0 {
					t.Errorf("lvs2 dropped %v adverts for their TTL", n)
				}
				return
			}
			b.mustState("MASTER", 0)
			err := netlab.WaitFor(eventTimeout, func() (bool, error) { return b.metric(t, drops) >= 5, nil },
				func() string { return "lvs2 to count 5 invalid_ttl drops" })
			if err != nil {
				t.Fatal(err)
			}
			if !a.hasVIP() || !b.hasVIP() {
				t.Errorf("VIP on lvs1 %v, lvs2 %v: want both (lvs2 does not hear lvs1)", a.hasVIP(), b.hasVIP())
			}
		})
	}
}

// TestVRRPStartupDelay: with vrrp_startup_delay 2 a lone director enters
// BACKUP at once and becomes master no earlier than 2 s after it started
// (without it: after about 3 advert intervals, 0.3 s).
func TestVRRPStartupDelay(t *testing.T) {
	v := newVRRPLab(t, 1)
	d := newDirector(t, implLVSHA, v.nodes[0], vrrpConfig{
		GlobalExtra: []string{"vrrp_startup_delay 2"},
		Instances:   []vrrpInst{fastInst(150)},
	})
	started := time.Now()
	d.start()
	d.mustState("BACKUP", 0)
	ln := d.mustState("MASTER", 0)
	if at := ln.At.Sub(started); at < 2*time.Second {
		t.Errorf("master %v after start, want at least the 2 s startup delay", at)
	}
}

// TestVRRPLogUnknownVRIDs: with log_unknown_vrids, lvs1 logs the adverts of
// lvs2's VRID 52, which it has no instance for.
func TestVRRPLogUnknownVRIDs(t *testing.T) {
	v := newVRRPLab(t, 2)
	i2 := fastInst(100)
	i2.VRID = 52
	a := newDirector(t, implLVSHA, v.nodes[0], vrrpConfig{GlobalExtra: []string{"log_unknown_vrids"}, Instances: []vrrpInst{fastInst(150)}})
	b := v.director(1, implLVSHA, i2)
	startAll(a, b)
	b.mustState("MASTER", 0)
	err := netlab.WaitFor(eventTimeout, func() (bool, error) {
		return strings.Contains(a.log.String(), `msg="Unknown VRID received, ignoring" vrid=52 interface=`+a.cfg.IfName), nil
	}, func() string { return "lvs1 to log VRID 52 as unknown" })
	if err != nil {
		t.Fatal(err)
	}
}

// TestVRRPUnicastFaultNoPeer: an instance with unicast_fault_no_peer and no
// unicast_peer enters FAULT (keepalived: "Cannot use unicast without any
// peers") instead of running multicast, so it never takes the VIP.
func TestVRRPUnicastFaultNoPeer(t *testing.T) {
	v := newVRRPLab(t, 1)
	i := fastInst(150)
	i.Extra = []string{"unicast_fault_no_peer"}
	d := v.director(0, implLVSHA, i)
	d.start()
	d.mustState("FAULT", 0)
	assertNoMaster(t, d, 10*i.withDefaults().AdvertInt)
}

// assertNoMaster fails if d enters MASTER or holds a VIP within d.
func assertNoMaster(t *testing.T, d *director, within time.Duration) {
	t.Helper()
	if _, err := d.waitState(d.inst().Name, "MASTER", 0, within); err == nil {
		t.Fatalf("%v became master", d)
	}
	if d.anyVIP() {
		t.Fatalf("%v holds a VIP", d)
	}
}

// TestVRRPTrackSrcIP: an instance with track_src_ip and mcast_src_ip goes to
// FAULT (and drops its VIP) when that address is removed from the host, and
// comes back when it is restored.
func TestVRRPTrackSrcIP(t *testing.T) {
	v := newVRRPLab(t, 1)
	n := v.nodes[0]
	src := &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP("192.0.2.61").To4(), Mask: net.CIDRMask(24, 32)}}
	link, err := n.Handle().LinkByName(n.IfName())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Handle().AddrAdd(link, src); err != nil {
		t.Fatal(err)
	}
	i := fastInst(150)
	i.Extra = []string{"mcast_src_ip 192.0.2.61", "track_src_ip"}
	d := v.director(0, implLVSHA, i)
	d.start()
	d.mustState("MASTER", 0)
	waitSoleMaster(t, d, d)
	mark := d.mark()
	if err := n.Handle().AddrDel(link, src); err != nil {
		t.Fatal(err)
	}
	d.mustState("FAULT", mark)
	if err := netlab.WaitFor(eventTimeout, func() (bool, error) { return !d.anyVIP(), nil },
		func() string { return "the VIP to go" }); err != nil {
		t.Fatal(err)
	}
	mark = d.mark()
	if err := n.Handle().AddrAdd(link, src); err != nil {
		t.Fatal(err)
	}
	d.mustState("MASTER", mark)
	waitSoleMaster(t, d, d)
}

// readPromote reads net.ipv4.conf.IFACE.promote_secondaries in n's namespace.
func readPromote(t *testing.T, n *netlab.Node) string {
	t.Helper()
	var v string
	if err := n.Do(func() error {
		b, err := os.ReadFile("/proc/sys/net/ipv4/conf/" + n.IfName() + "/promote_secondaries")
		v = strings.TrimSpace(string(b))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVRRPPromoteSecondaries: with promote_secondaries, the interface's
// promote_secondaries is 1 while lvs-ha runs, so deleting the primary
// address of a subnet keeps the VIPs that are its secondaries; it is 0 again
// after lvs-ha stops.
func TestVRRPPromoteSecondaries(t *testing.T) {
	v := newVRRPLab(t, 1)
	n := v.nodes[0]
	if got := readPromote(t, n); got != "0" {
		t.Fatalf("promote_secondaries %s before the test, want 0", got)
	}
	// 198.51.100.1/24 is the primary address of its subnet; the VIP
	// 198.51.100.100/24 is added as its secondary.
	link, err := n.Handle().LinkByName(n.IfName())
	if err != nil {
		t.Fatal(err)
	}
	primary := &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP("198.51.100.1").To4(), Mask: net.CIDRMask(24, 32)}}
	if err := n.Handle().AddrAdd(link, primary); err != nil {
		t.Fatal(err)
	}
	i := fastInst(150)
	i.VIPs = []netip.Prefix{netip.MustParsePrefix("198.51.100.100/24")}
	i.Extra = []string{"promote_secondaries"}
	d := v.director(0, implLVSHA, i)
	d.start()
	d.mustState("MASTER", 0)
	waitSoleMaster(t, d, d)
	if got := readPromote(t, n); got != "1" {
		t.Errorf("promote_secondaries %s while running, want 1", got)
	}
	if err := n.Handle().AddrDel(link, primary); err != nil {
		t.Fatal(err)
	}
	if !d.hasVIP() {
		t.Error("the VIP went with the subnet's primary address")
	}
	d.stop()
	if got := readPromote(t, n); got != "0" {
		t.Errorf("promote_secondaries %s after stop, want 0 again", got)
	}
}

// TestVRRPDynamicInterfaces: with dynamic_interfaces, lvs-ha starts although
// VI_2's interface dyn0 does not exist (VI_2 waits in FAULT), VI_2 becomes
// master once dyn0 is created, goes to FAULT when it is deleted and master
// again when it is created anew.
func TestVRRPDynamicInterfaces(t *testing.T) {
	v := newVRRPLab(t, 1)
	n := v.nodes[0]
	i2 := fastInst(150)
	i2.Name, i2.VRID, i2.IfName = "VI_2", 52, "dyn0"
	i2.UnicastSrc, i2.UnicastPeers = netip.MustParseAddr("198.51.100.1"), []netip.Addr{netip.MustParseAddr("198.51.100.2")}
	i2.VIPs = []netip.Prefix{netip.MustParsePrefix("198.51.100.100/24")}
	d := newDirector(t, implLVSHA, n, vrrpConfig{GlobalExtra: []string{"dynamic_interfaces"}, Instances: []vrrpInst{fastInst(150), i2}})
	d.start()
	if _, err := d.waitState("VI_2", "FAULT", 0, eventTimeout); err != nil {
		t.Fatal(err)
	}
	create := func() {
		t.Helper()
		l := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "dyn0"}, PeerName: "dyn0p"}
		if err := n.Handle().LinkAdd(l); err != nil {
			t.Fatal(err)
		}
		p, err := n.Handle().LinkByName("dyn0p")
		if err == nil {
			err = n.Handle().LinkSetUp(p)
		}
		if err != nil {
			t.Fatal(err)
		}
		a := &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP("198.51.100.1").To4(), Mask: net.CIDRMask(24, 32)}}
		if err := n.Handle().AddrAdd(l, a); err != nil {
			t.Fatal(err)
		}
		if err := n.Handle().LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	mark := d.mark()
	create()
	if _, err := d.waitState("VI_2", "MASTER", mark, eventTimeout); err != nil {
		t.Fatal(err)
	}
	mark = d.mark()
	l, err := n.Handle().LinkByName("dyn0")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Handle().LinkDel(l); err != nil {
		t.Fatal(err)
	}
	if _, err := d.waitState("VI_2", "FAULT", mark, eventTimeout); err != nil {
		t.Fatal(err)
	}
	mark = d.mark()
	create()
	if _, err := d.waitState("VI_2", "MASTER", mark, eventTimeout); err != nil {
		t.Fatal(err)
	}
	if err := netlab.WaitFor(eventTimeout, func() (bool, error) {
		l, err := n.Handle().LinkByName("dyn0")
		if err != nil {
			return false, err
		}
		addrs, err := n.Handle().AddrList(l, netlink.FAMILY_V4)
		for _, a := range addrs {
			if a.IP.String() == "198.51.100.100" {
				return true, nil
			}
		}
		return false, err
	}, func() string { return "VI_2's VIP on dyn0" }); err != nil {
		t.Error(err)
	}
	if _, err := d.waitState("VI_1", "MASTER", 0, eventTimeout); err != nil {
		t.Error(err)
	}
}

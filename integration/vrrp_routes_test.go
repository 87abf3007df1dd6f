package integration

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// ourRoutes lists the routes and rules of protocol keepalived (18, what
// lvs-ha gives them, as keepalived does) in n, in every table, as
// "route TYPE DST via GW src SRC table T" and "rule PREF from FROM table T".
func ourRoutes(t testing.TB, n *netlab.Node) []string {
	t.Helper()
	h := n.Handle()
	var out []string
	rs, err := h.RouteListFiltered(unix.AF_INET, &netlink.Route{Table: unix.RT_TABLE_UNSPEC, Protocol: 18}, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		t.Fatalf("%s: routes: %v", n.Name(), err)
	}
	for _, r := range rs {
		s := "route"
		if r.Type != unix.RTN_UNICAST {
			s += fmt.Sprintf(" type%d", r.Type)
		}
		s += " " + r.Dst.String()
		if r.Gw != nil {
			s += " via " + r.Gw.String()
		}
		if r.Src != nil {
			s += " src " + r.Src.String()
		}
		for _, nh := range r.MultiPath {
			s += fmt.Sprintf(" nexthop via %s weight %d", nh.Gw, nh.Hops+1)
		}
		out = append(out, fmt.Sprintf("%s table %d", s, r.Table))
	}
	rules, err := h.RuleList(unix.AF_INET)
	if err != nil {
		t.Fatalf("%s: rules: %v", n.Name(), err)
	}
	for _, r := range rules {
		if r.Protocol == 18 {
			out = append(out, fmt.Sprintf("rule %d from %s table %d", r.Priority, r.Src, r.Table))
		}
	}
	slices.Sort(out)
	return out
}

func waitRoutes(t testing.TB, n *netlab.Node, want []string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	var got []string
	err := netlab.WaitFor(eventTimeout, func() (bool, error) {
		got = ourRoutes(t, n)
		return slices.Equal(got, want), nil
	}, func() string {
		return fmt.Sprintf("%s routes and rules\n  %s\nwant\n  %s", n.Name(), strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestVRRPRoutesAndRules: static_ipaddress, static_routes and static_rules
// are on both directors while they run; virtual_routes and virtual_rules are
// only on the master, move to the backup with the VIP when the master
// stops, and everything is gone once both have stopped. Read back with
// rtnetlink in each namespace. keepalived 2.2.7 runs the same drill as
// the reference: both must leave the same routes and rules.
func TestVRRPRoutesAndRules(t *testing.T) {
	for _, im := range []impl{implKeepalived, implLVSHA} {
		t.Run(string(im), func(t *testing.T) {
			requireImpls(t, im)
			drillRoutesAndRules(t, im)
		})
	}
}

func drillRoutesAndRules(t *testing.T, im impl) {
	v := newVRRPLab(t, 2)
	var ds []*director
	for i, prio := range []int{150, 100} {
		n := v.nodes[i]
		inst := fastInst(prio)
		inst.Extra = []string{
			"virtual_routes {\n        src 192.0.2.100 10.30.0.0/16 via 192.0.2.1 dev " + n.IfName() + " table 200\n        unreachable 10.31.0.0/16\n" +
				"        10.32.0.0/16 via 192.0.2.1 or 192.0.2.2 table 200\n" +
				"        10.33.0.0/16 table 200 nexthop via 192.0.2.1 dev " + n.IfName() + " weight 3 nexthop via 192.0.2.2 dev " + n.IfName() + "\n    }",
			"virtual_rules {\n        from 192.0.2.100/32 table 200 preference 2000\n    }",
		}
		ds = append(ds, newDirector(t, im, n, vrrpConfig{
			Extra: []string{
				fmt.Sprintf("static_ipaddress {\n    198.51.100.%d/24 dev %s\n}", i+1, n.IfName()),
				"static_routes {\n    10.20.0.0/16 via 198.51.100.254 table 100\n    blackhole 10.21.0.0/16\n}",
				"static_rules {\n    from 198.51.100.0/24 table 100 preference 1000\n}",
			},
			Instances: []vrrpInst{inst},
		}))
	}
	static := []string{
		"route 10.20.0.0/16 via 198.51.100.254 table 100",
		"route type6 10.21.0.0/16 table 254",
		"rule 1000 from 198.51.100.0/24 table 100",
	}
	virtual := []string{
		"route 10.30.0.0/16 via 192.0.2.1 src 192.0.2.100 table 200",
		"route type7 10.31.0.0/16 table 254",
		"route 10.32.0.0/16 nexthop via 192.0.2.1 weight 1 nexthop via 192.0.2.2 weight 1 table 200",
		"route 10.33.0.0/16 nexthop via 192.0.2.1 weight 3 nexthop via 192.0.2.2 weight 1 table 200",
		"rule 2000 from 192.0.2.100/32 table 200",
	}
	a, b := ds[0], ds[1]
	startAll(a, b)
	waitSoleMaster(t, a, a, b)
	waitRoutes(t, v.nodes[0], append(slices.Clone(static), virtual...))
	waitRoutes(t, v.nodes[1], static)
	for i, n := range v.nodes {
		if ok, err := n.HasAddr(netip.MustParseAddr(fmt.Sprintf("198.51.100.%d", i+1))); err != nil || !ok {
			t.Errorf("%s: static address 198.51.100.%d present %v (%v)", n.Name(), i+1, ok, err)
		}
	}

	// Failover: the master stops; its routes and rules go, static ones
	// included, and the virtual ones appear on the new master.
	a.stop()
	waitSoleMaster(t, b, a, b)
	waitRoutes(t, v.nodes[1], append(slices.Clone(static), virtual...))
	waitRoutes(t, v.nodes[0], nil)
	if ok, _ := v.nodes[0].HasAddr(netip.MustParseAddr("198.51.100.1")); ok {
		t.Errorf("lvs1: static address left after stop")
	}

	b.stop()
	waitRoutes(t, v.nodes[1], nil)
	if ok, _ := v.nodes[1].HasAddr(netip.MustParseAddr("198.51.100.2")); ok {
		t.Errorf("lvs2: static address left after stop")
	}
}

// TestStaticRoutesRestored: a static address, route or rule deleted behind
// the director's back (ip addr/route/rule del) is added again, as
// keepalived 2.2.7's netlink reflector does (reinstate_static_address,
// _route, _rule); one with no_track, and a route without dev (keepalived
// does not track those), stay deleted. keepalived runs the same drill as the
// reference.
func TestStaticRoutesRestored(t *testing.T) {
	for _, im := range []impl{implKeepalived, implLVSHA} {
		t.Run(string(im), func(t *testing.T) {
			requireImpls(t, im)
			drillStaticRestored(t, im)
		})
	}
}

func drillStaticRestored(t *testing.T, im impl) {
	v := newVRRPLab(t, 1)
	n := v.nodes[0]
	ifn := n.IfName()
	// keepalived 2.2.7 watches route and rule deletions only with a tracked
	// virtual route or rule (or a track_group): the virtual route makes it
	// watch them, so that it serves as the reference; lvs-ha always does.
	inst := fastInst(150)
	inst.Extra = []string{"virtual_routes {\n        10.40.0.0/16 via 192.0.2.1 dev " + ifn + "\n    }",
		"virtual_rules {\n        from 192.0.2.100/32 table 200 preference 2000\n    }"}
	d := newDirector(t, im, n, vrrpConfig{
		Extra: []string{
			"static_ipaddress {\n    198.51.100.1/24 dev " + ifn + "\n}",
			"static_routes {\n    10.20.0.0/16 via 198.51.100.254 dev " + ifn + " table 100\n" +
				"    10.22.0.0/16 via 198.51.100.254 dev " + ifn + " no_track\n    10.23.0.0/16 via 198.51.100.254\n}",
			"static_rules {\n    from 198.51.100.0/24 table 100 preference 1000\n}",
		},
		Instances: []vrrpInst{inst},
	})
	all := []string{
		"route 10.40.0.0/16 via 192.0.2.1 table 254",
		"route 10.20.0.0/16 via 198.51.100.254 table 100",
		"route 10.22.0.0/16 via 198.51.100.254 table 254",
		"route 10.23.0.0/16 via 198.51.100.254 table 254",
		"rule 1000 from 198.51.100.0/24 table 100",
		"rule 2000 from 192.0.2.100/32 table 200",
	}
	startAll(d)
	waitRoutes(t, n, all)
	ip := func(args ...string) {
		t.Helper()
		if out, err := n.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	// The untracked ones first: once the tracked route is back, the
	// director has seen their deletions too.
	ip("route", "del", "10.22.0.0/16")
	ip("route", "del", "10.23.0.0/16")
	ip("route", "del", "10.20.0.0/16", "table", "100")
	waitRoutes(t, n, []string{all[0], all[1], all[4], all[5]})
	ip("rule", "del", "pref", "1000")
	waitRoutes(t, n, []string{all[0], all[1], all[4], all[5]})
	ip("addr", "del", "198.51.100.1/24", "dev", ifn)
	err := netlab.WaitFor(eventTimeout, func() (bool, error) {
		return n.HasAddr(netip.MustParseAddr("198.51.100.1"))
	}, func() string { return "static address 198.51.100.1 not restored" })
	if err != nil {
		t.Fatal(err)
	}
	d.stop()
	waitRoutes(t, n, nil)
}

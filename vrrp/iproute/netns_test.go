package iproute

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// newNS returns a Manager and a handle in a private namespace holding an up
// veth rt0 with 192.0.2.1/24 and 2001:db8::1/64.
func newNS(t *testing.T) (*Manager, *netlink.Handle) {
	t.Helper()
	ns := netns.New(t)
	nl := ns.Netlink(t)
	link := netns.AddVethUp(t, nl, "rt0", "rtpeer0", nil)
	for _, a := range []string{"192.0.2.1/24", "2001:db8::1/64"} {
		addr, _ := netlink.ParseAddr(a)
		addr.Flags = unix.IFA_F_NODAD
		if err := nl.AddrAdd(link, addr); err != nil {
			t.Fatalf("add %s: %v", a, err)
		}
	}
	return NewAt(nl), nl
}

func routesIn(t *testing.T, nl *netlink.Handle, family int, table int) []string {
	t.Helper()
	rs, err := nl.RouteListFiltered(family, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		if r.Protocol != ProtoKeepalived {
			continue
		}
		s := r.Dst.String()
		if r.Gw != nil {
			s += " via " + r.Gw.String()
		}
		if r.Type != unix.RTN_UNICAST {
			s = Type(r.Type).String() + " " + s
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func TestRoutesAndRulesNetns(t *testing.T) {
	m, nl := newNS(t)
	routes := []Route{
		{Dst: netip.MustParsePrefix("10.1.0.0/16"), Via: netip.MustParseAddr("192.0.2.254"), Dev: "rt0", Table: 100, Metric: 5, Src: netip.MustParseAddr("192.0.2.1")},
		{Dst: netip.MustParsePrefix("10.2.0.0/16"), Type: Blackhole, Table: 100},
		{Dst: netip.MustParsePrefix("10.3.0.0/16"), Dev: "rt0", Scope: 253},
		{Dst: netip.MustParsePrefix("2001:db8:5::/48"), Via: netip.MustParseAddr("2001:db8::fe"), Dev: "rt0", Table: 100},
	}
	rules := []Rule{
		{From: netip.MustParsePrefix("192.0.2.0/24"), Action: ToTable, Table: 100, Priority: 100, HasPriority: true},
		{To: netip.MustParsePrefix("10.9.0.0/16"), HasFwmark: true, Fwmark: 7, HasFwmask: true, Fwmask: 0xff, IIf: "rt0", Action: UnreachableA, Priority: 101, HasPriority: true},
		{IPv6: true, Action: ToTable, Table: 100, Priority: 102, HasPriority: true},
	}
	for range 2 { // the second round finds everything there
		for _, r := range routes {
			if err := m.AddRoute(r); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range rules {
			if err := m.AddRule(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, want := routesIn(t, nl, unix.AF_INET, 100), []string{"10.1.0.0/16 via 192.0.2.254", "blackhole 10.2.0.0/16"}; !slices.Equal(got, want) {
		t.Errorf("table 100 IPv4 = %q, want %q", got, want)
	}
	if got, want := routesIn(t, nl, unix.AF_INET, 254), []string{"10.3.0.0/16"}; !slices.Equal(got, want) {
		t.Errorf("main = %q, want %q", got, want)
	}
	if got, want := routesIn(t, nl, unix.AF_INET6, 100), []string{"2001:db8:5::/48 via 2001:db8::fe"}; !slices.Equal(got, want) {
		t.Errorf("table 100 IPv6 = %q, want %q", got, want)
	}
	ours := func() []int {
		var prios []int
		for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
			rs, err := nl.RuleList(fam)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if r.Protocol == ProtoKeepalived {
					prios = append(prios, r.Priority)
				}
			}
		}
		slices.Sort(prios)
		return prios
	}
	if got := ours(); !slices.Equal(got, []int{100, 101, 102}) {
		t.Errorf("rules = %v, want priorities 100 101 102", got)
	}
	for range 2 {
		for _, r := range routes {
			if err := m.RemoveRoute(r); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range rules {
			if err := m.RemoveRule(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct{ fam, table int }{{unix.AF_INET, 100}, {unix.AF_INET, 254}, {unix.AF_INET6, 100}} {
		if got := routesIn(t, nl, tc.fam, tc.table); len(got) > 0 {
			t.Errorf("after remove, table %d: %q", tc.table, got)
		}
	}
	if got := ours(); len(got) > 0 {
		t.Errorf("after remove, rules %v", got)
	}
	// A route on a device that is gone is gone too.
	if err := m.RemoveRoute(Route{Dst: netip.MustParsePrefix("10.4.0.0/16"), Dev: "nosuch0"}); err != nil {
		t.Errorf("remove on a missing device: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, r := range []Route{
		{},
		{Dst: netip.MustParsePrefix("10.0.0.0/8"), Via: netip.MustParseAddr("2001:db8::1")},
		{Dst: netip.MustParsePrefix("10.0.0.0/8"), Type: Blackhole, Via: netip.MustParseAddr("10.0.0.1")},
	} {
		if r.Validate() == nil {
			t.Errorf("%s: valid", r)
		}
	}
	for _, r := range []Rule{
		{},
		{Action: ToTable},
		{Action: Goto, GotoTarget: 5},
		{From: netip.MustParsePrefix("10.0.0.0/8"), To: netip.MustParsePrefix("2001:db8::/32"), Action: Nop},
	} {
		if r.Validate() == nil {
			t.Errorf("%s: valid", r)
		}
	}
}

func TestMultipathRouteNetns(t *testing.T) {
	m, nl := newNS(t)
	r := Route{Dst: netip.MustParsePrefix("10.7.0.0/16"), Table: 100, Nexthops: []Nexthop{
		{Via: netip.MustParseAddr("192.0.2.253"), Dev: "rt0"},
		{Via: netip.MustParseAddr("192.0.2.254"), Dev: "rt0", Weight: 3},
	}}
	for range 2 {
		if err := m.AddRoute(r); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := nl.RouteListFiltered(unix.AF_INET, &netlink.Route{Table: 100}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || len(rs[0].MultiPath) != 2 {
		t.Fatalf("routes %v", rs)
	}
	var got []string
	for _, nh := range rs[0].MultiPath {
		got = append(got, fmt.Sprintf("%s w%d", nh.Gw, nh.Hops+1))
	}
	if want := []string{"192.0.2.253 w1", "192.0.2.254 w3"}; !slices.Equal(got, want) {
		t.Errorf("nexthops %q, want %q", got, want)
	}
	for range 2 {
		if err := m.RemoveRoute(r); err != nil {
			t.Fatal(err)
		}
	}
	if got := routesIn(t, nl, unix.AF_INET, 100); len(got) > 0 {
		t.Errorf("after remove: %q", got)
	}
}

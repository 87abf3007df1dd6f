package runner

import (
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/iproute"
)

// Virtual routes and rules follow MASTER: added after the VIPs on becoming
// master, removed before them on leaving it (and at stop), moved by a
// failover, and changed in place by a reload.
func TestRunnerVirtualRoutesFollowMaster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := netModes[0]
		route := iproute.Route{Dst: netip.MustParsePrefix("10.9.0.0/16"), Via: netip.MustParseAddr("10.0.0.254"), Table: 100}
		rule := iproute.Rule{From: netip.MustParsePrefix("10.0.0.100/32"), Action: iproute.ToTable, Table: 100, Priority: 100, HasPriority: true}
		mk := func(prio uint8) InstanceConfig {
			ic := m.instance("VI_1", 51, prio, "")
			ic.Routes, ic.Rules = []iproute.Route{route}, []iproute.Rule{rule}
			return ic
		}
		l := newLab(t)
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{mk(150)}, nodeOpts{})
		b := l.addNode("B", addrB4, addrB6, []InstanceConfig{mk(100)}, nodeOpts{})
		l.start()
		l.runUntil(t0.Add(10 * time.Second))
		if s := a.inst("VI_1"); s.State != vrrp.StateMaster {
			t.Fatalf("A is %v", s.State)
		}
		vipK, routeK, ruleK := "10.0.0.100/24 eth0", "route "+route.String(), "rule "+rule.String()
		up := []string{"add " + vipK, "add " + routeK, "add " + ruleK}
		down := []string{"remove " + ruleK, "remove " + routeK, "remove " + vipK}
		if got := a.vips.opsSince(0); !slices.Equal(got, append(slices.Clone(down), up...)) {
			// The runner first removes stale VIPs (and routes and rules) at startup.
			t.Errorf("A ops %q, want %q then %q", got, down, up)
		}
		if got, want := a.vips.list(), []string{vipK, routeK, ruleK}; !slices.Equal(got, sorted(want)) {
			t.Errorf("A has %q", got)
		}
		if got := b.vips.list(); len(got) != 0 {
			t.Errorf("B (backup) has %q", got)
		}

		// Failover: A stops and takes them away; B takes them.
		na := len(a.vips.opsSince(0))
		if err := a.stop(); err != nil {
			t.Fatal(err)
		}
		if got := a.vips.opsSince(na); !slices.Equal(got, down) {
			t.Errorf("A stop ops %q, want %q", got, down)
		}
		nb := len(b.vips.opsSince(0))
		l.runFor(2 * time.Second)
		if s := b.inst("VI_1"); s.State != vrrp.StateMaster {
			t.Fatalf("B is %v", s.State)
		}
		if got := b.vips.opsSince(nb); !slices.Equal(got, up) {
			t.Errorf("B ops %q, want %q", got, up)
		}

		// Reload: the route changes, the rule stays; only the route is touched.
		route2 := route
		route2.Metric = 5
		ic := mk(100)
		ic.Routes = []iproute.Route{route2}
		nb = len(b.vips.opsSince(0))
		if _, err := b.update([]InstanceConfig{ic}, nil); err != nil {
			t.Fatal(err)
		}
		l.settle()
		if got, want := b.vips.opsSince(nb), []string{"remove " + routeK, "add route " + route2.String()}; !slices.Equal(got, want) {
			t.Errorf("B reload ops %q, want %q", got, want)
		}
		if err := b.stop(); err != nil {
			t.Fatal(err)
		}
		if got := b.vips.list(); len(got) != 0 {
			t.Errorf("B after stop has %q", got)
		}
	})
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// A bad route is refused by New, before anything runs.
func TestNewRejectsBadRoute(t *testing.T) {
	ic := netModes[0].instance("VI_1", 51, 100, "")
	ic.Routes = []iproute.Route{{Dst: netip.MustParsePrefix("10.0.0.0/8"), Via: netip.MustParseAddr("2001:db8::1")}}
	if _, err := New(Options{Instances: []InstanceConfig{ic}, Conns: &fakeConns{}, VIPs: &fakeVIPs{}, Announcer: &fakeAnnouncer{}}); err == nil {
		t.Fatal("New accepted a route mixing families")
	}
}

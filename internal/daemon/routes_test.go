package daemon

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/vrrp/iproute"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
)

// fakeNet records the static entries' operations.
type fakeNet struct {
	mu  sync.Mutex
	ops []string
}

var _ netConfig = (*fakeNet)(nil)

func (f *fakeNet) rec(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, s)
	return nil
}

func (f *fakeNet) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.ops
	f.ops = nil
	return out
}

func (f *fakeNet) Add(a vip.Address) error           { return f.rec("add addr " + a.String()) }
func (f *fakeNet) Remove(a vip.Address) error        { return f.rec("remove addr " + a.String()) }
func (f *fakeNet) AddRoute(r iproute.Route) error    { return f.rec("add route " + r.String()) }
func (f *fakeNet) RemoveRoute(r iproute.Route) error { return f.rec("remove route " + r.String()) }
func (f *fakeNet) AddRule(r iproute.Rule) error      { return f.rec("add rule " + r.String()) }
func (f *fakeNet) RemoveRule(r iproute.Rule) error   { return f.rec("remove rule " + r.String()) }

const routesConf = `
global_defs {
    default_interface eth9
}
static_ipaddress {
    192.0.2.5/24
    192.0.2.6/24 dev eth1
}
static_routes {
    10.1.0.0/16 via 192.0.2.254 table 100 metric 3
    ROUTE2
}
static_rules {
    from 192.0.2.0/24 table 100 preference 100
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.100/24
    }
    virtual_routes {
        src 192.0.2.100 10.4.0.0/16 via 192.0.2.254 dev eth0 scope link protocol static onlink
        unreachable 10.5.0.0/16 table 7
        10.6.0.0/16 nexthop via 192.0.2.1 dev eth0 weight 2 nexthop via 192.0.2.2 onlink
    }
    virtual_rules {
        not from 10.4.0.0/16 to 10.6.0.0/16 fwmark 3/7 iif eth0 ipproto udp dport 53 table 7 preference 70
        from all goto 90 preference 80
    }
}
`

// The pure translation of every route and rule option.
func TestRoutesTranslation(t *testing.T) {
	cfg := loadConf(t, routesConfWith("blackhole 10.2.0.0/16"))
	p, err := newPlan(cfg, &Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.statics.addrs; len(got) != 2 || got[0].Dev != "eth9" || got[1].Dev != "eth1" {
		t.Errorf("static addresses %+v", got)
	}
	wantRoutes := []iproute.Route{
		{Dst: netip.MustParsePrefix("10.1.0.0/16"), Via: netip.MustParseAddr("192.0.2.254"), Table: 100, Metric: 3},
		{Dst: netip.MustParsePrefix("10.2.0.0/16"), Type: iproute.Blackhole},
	}
	if !slices.EqualFunc(p.statics.routes, wantRoutes, iproute.Route.Equal) {
		t.Errorf("static routes\n%+v\nwant\n%+v", p.statics.routes, wantRoutes)
	}
	wantRules := []iproute.Rule{{From: netip.MustParsePrefix("192.0.2.0/24"), Action: iproute.ToTable, Table: 100, Priority: 100, HasPriority: true}}
	if !slices.Equal(p.statics.rules, wantRules) {
		t.Errorf("static rules %+v", p.statics.rules)
	}
	ic := p.instances[0]
	wantV := []iproute.Route{
		{Dst: netip.MustParsePrefix("10.4.0.0/16"), Src: netip.MustParseAddr("192.0.2.100"), Via: netip.MustParseAddr("192.0.2.254"), Dev: "eth0", Scope: 253, Protocol: 4, OnLink: true},
		{Dst: netip.MustParsePrefix("10.5.0.0/16"), Type: iproute.Unreachable, Table: 7},
		{Dst: netip.MustParsePrefix("10.6.0.0/16"), Nexthops: []iproute.Nexthop{
			{Via: netip.MustParseAddr("192.0.2.1"), Dev: "eth0", Weight: 2}, {Via: netip.MustParseAddr("192.0.2.2"), OnLink: true}}},
	}
	if !slices.EqualFunc(ic.Routes, wantV, iproute.Route.Equal) {
		t.Errorf("virtual routes\n%+v\nwant\n%+v", ic.Routes, wantV)
	}
	wantVR := []iproute.Rule{
		{From: netip.MustParsePrefix("10.4.0.0/16"), To: netip.MustParsePrefix("10.6.0.0/16"), Invert: true, Fwmark: 3, HasFwmark: true, Fwmask: 7, HasFwmask: true,
			IIf: "eth0", IPProto: 17, Dport: iproute.PortRange{Start: 53, End: 53}, Action: iproute.ToTable, Table: 7, Priority: 70, HasPriority: true},
		{Action: iproute.Goto, GotoTarget: 90, Priority: 80, HasPriority: true},
	}
	if !slices.Equal(ic.Rules, wantVR) {
		t.Errorf("virtual rules\n%+v\nwant\n%+v", ic.Rules, wantVR)
	}
}

func routesConfWith(route2 string) string { return strings.ReplaceAll(routesConf, "ROUTE2", route2) }

// Static entries are added at start (addresses, routes, rules), a reload
// removes only what went and adds the new ones, and stop removes them all
// (rules, routes, addresses), as keepalived 2.2.7 does.
func TestDaemonStaticRoutesStartReloadStop(t *testing.T) {
	td := startTestDaemon(t, routesConfWith("blackhole 10.2.0.0/16"), true)
	a5, a6 := "192.0.2.5/24 dev eth9 scope global", "192.0.2.6/24 dev eth1 scope global"
	r1 := "10.1.0.0/16 via 192.0.2.254 table 100 metric 3 proto 18"
	r2 := "blackhole 10.2.0.0/16 proto 18"
	ru := "pref 100 from 192.0.2.0/24 lookup 100 proto 18"
	up := []string{"add addr " + a5, "add addr " + a6, "add route " + r1, "add route " + r2, "add rule " + ru}
	if got := td.net.take(); !slices.Equal(got, up) {
		t.Errorf("start:\n%q\nwant\n%q", got, up)
	}
	if len(td.vrrps) != 1 || len(td.vrrps[0].opts.Instances[0].Routes) != 3 {
		t.Fatalf("the runner did not get the virtual routes")
	}
	if _, ok := td.vrrps[0].opts.Routes.(*iproute.Manager); ok {
		t.Errorf("a fake runner was given the system's route manager")
	}

	if err := os.WriteFile(td.file, []byte(routesConfWith("prohibit 10.3.0.0/16")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := td.d.ReloadFile(context.Background(), td.file, conf.Options{ConfigID: "lvs1"}); err != nil {
		t.Fatal(err)
	}
	r3 := "prohibit 10.3.0.0/16 proto 18"
	reload := []string{"remove route " + r2, "add addr " + a5, "add addr " + a6, "add route " + r1, "add route " + r3, "add rule " + ru}
	if got := td.net.take(); !slices.Equal(got, reload) {
		t.Errorf("reload:\n%q\nwant\n%q", got, reload)
	}

	td.stop()
	down := []string{"remove rule " + ru, "remove route " + r1, "remove route " + r3, "remove addr " + a5, "remove addr " + a6}
	if got := td.net.take(); !slices.Equal(got, down) {
		t.Errorf("stop:\n%q\nwant\n%q", got, down)
	}
}

// fakeRestorer records restores; the entries in missing are added (the
// others are there).
type fakeRestorer struct {
	missing  map[string]bool
	restored []string
}

func (f *fakeRestorer) WatchDeletions(context.Context, func()) error { return nil }
func (f *fakeRestorer) restore(s string) (bool, error) {
	f.restored = append(f.restored, s)
	return f.missing[s], nil
}
func (f *fakeRestorer) RestoreAddr(a vip.Address) (bool, error)    { return f.restore(a.String()) }
func (f *fakeRestorer) RestoreRoute(r iproute.Route) (bool, error) { return f.restore(r.String()) }
func (f *fakeRestorer) RestoreRule(r iproute.Rule) (bool, error)   { return f.restore(r.String()) }

var _ staticRestorer = (*fakeRestorer)(nil)

// TestRestoreStatics: after a deletion every static entry is checked except
// those with no_track and routes without dev (keepalived tracks neither);
// the ones that were missing are logged as restored.
func TestRestoreStatics(t *testing.T) {
	src := strings.Replace(routesConf, "ROUTE2", "10.2.0.0/16 via 192.0.2.254 dev eth9 no_track\n    10.3.0.0/16 via 192.0.2.254 dev eth9", 1)
	src = strings.Replace(src, "192.0.2.6/24 dev eth1", "192.0.2.6/24 dev eth1 no_track", 1)
	p := testPlan(t, src)
	f := &fakeRestorer{missing: map[string]bool{}}
	var lb logBuf
	log := slog.New(slog.NewTextHandler(&lb, nil))
	f.missing[p.statics.routes[2].String()] = true
	restoreStatics(f, log, p.statics)
	want := []string{p.statics.addrs[0].String(), p.statics.routes[2].String(), p.statics.rules[0].String()}
	if !slices.Equal(f.restored, want) {
		t.Errorf("checked\n%q\nwant\n%q", f.restored, want)
	}
	if got := lb.String(); strings.Count(got, "restored deleted static") != 1 || !strings.Contains(got, "10.3.0.0/16") {
		t.Errorf("log:\n%s", got)
	}
	// check-config says which routes are not restored: 10.1.0.0/16 (no dev)
	var msgs []string
	for _, d := range p.warnings {
		if strings.Contains(d.Msg, "not restored") {
			msgs = append(msgs, d.Msg)
		}
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0], "10.1.0.0/16") {
		t.Errorf("warnings %q, want one for 10.1.0.0/16", msgs)
	}
}

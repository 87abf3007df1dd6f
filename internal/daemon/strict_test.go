package daemon

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/strictfw"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
)

const strictConf = `
global_defs {
    vrrp_strict
    nftables lvs-ha
    nftables_priority -5
    nftables_counters
}
vrrp_instance STRICT {
    interface eth0
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        192.0.2.10/24
    }
    virtual_ipaddress_excluded {
        fe80::10/64
        2001:db8::10/64
    }
}
vrrp_instance ACCEPT {
    interface eth1
    virtual_router_id 2
    priority 100
    version 3
    accept
    virtual_ipaddress {
        192.0.2.20/24
    }
}
vrrp_instance OWNER {
    interface eth1
    virtual_router_id 3
    priority 255
    virtual_ipaddress {
        192.0.2.30/24
    }
}
`

func TestStrictPlanAndDrops(t *testing.T) {
	cfg := loadConf(t, strictConf)
	insts, _, err := vrrpConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sp := strictPlanOf(cfg.Global, insts)
	if want := (strictfw.Options{Table: "lvs-ha", Priority: -5, Counters: true}); sp.opts != want {
		t.Errorf("opts = %+v, want %+v", sp.opts, want)
	}
	if !sp.needed() {
		t.Fatal("not needed with a strict instance")
	}
	all := map[string]vrrp.State{"STRICT": vrrp.StateMaster, "ACCEPT": vrrp.StateMaster, "OWNER": vrrp.StateMaster}
	want := []strictfw.Drop{
		{Addr: netip.MustParseAddr("192.0.2.10"), Dev: "eth0"},
		{Addr: netip.MustParseAddr("fe80::10"), Dev: "eth0"},
		{Addr: netip.MustParseAddr("2001:db8::10"), Dev: "eth0"},
	}
	if got := strictDrops(sp, all); !slices.Equal(got, want) {
		t.Errorf("drops as MASTER = %v, want %v", got, want)
	}
	if got := strictDrops(sp, map[string]vrrp.State{"STRICT": vrrp.StateBackup, "ACCEPT": vrrp.StateMaster}); len(got) != 0 {
		t.Errorf("drops as BACKUP = %v, want none", got)
	}
	cfg = loadConf(t, `
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        192.0.2.10/24
    }
}`)
	insts, _, _ = vrrpConfig(cfg)
	if sp := strictPlanOf(cfg.Global, insts); sp.needed() || sp.opts.Table != "keepalived" || sp.opts.Priority != -1 {
		t.Errorf("without strict mode: needed %v, opts %+v; want no table, keepalived's defaults", sp.needed(), sp.opts)
	}
	// strict_mode in one instance: that instance drops.
	cfg = loadConf(t, `
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    priority 100
    version 3
    strict_mode
    virtual_ipaddress {
        192.0.2.10/24
    }
}`)
	insts, _, _ = vrrpConfig(cfg)
	sp = strictPlanOf(cfg.Global, insts)
	if got := strictDrops(sp, map[string]vrrp.State{"A": vrrp.StateMaster}); len(got) != 1 || got[0].Addr != netip.MustParseAddr("192.0.2.10") {
		t.Errorf("strict_mode instance as MASTER drops %v, want 192.0.2.10", got)
	}
}

// fakeFW records the firewall calls as strings on a channel.
type fakeFW struct {
	table string
	calls chan string
}

func (f *fakeFW) Set(_ context.Context, d []strictfw.Drop) error {
	var s []string
	for _, x := range d {
		s = append(s, x.Addr.String())
	}
	f.calls <- f.table + " set [" + joinSp(s)
	return nil
}

func joinSp(s []string) string {
	out := ""
	for _, x := range s {
		out += x + " "
	}
	return out
}

func (f *fakeFW) Remove(context.Context) error { f.calls <- f.table + " remove"; return nil }

type fakeSrc struct {
	mu sync.Mutex
	st runner.Stats
}

func (f *fakeSrc) Ready() <-chan struct{} { c := make(chan struct{}); close(c); return c }
func (f *fakeSrc) Snapshot() runner.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}
func (f *fakeSrc) set(name string, s vrrp.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.Instances = []runner.InstanceStats{{Name: name, State: s}}
}

// TestStrictdFollowsTransitions: the table is made at start (empty while
// BACKUP), gets the VIPs when the instance becomes MASTER, loses them when
// it leaves, moves to the new table name on reload, goes when no instance
// needs it, and is removed at stop.
func TestStrictdFollowsTransitions(t *testing.T) {
	cfg := loadConf(t, strictConf)
	insts, _, _ := vrrpConfig(cfg)
	calls := make(chan string, 16)
	s := newStrictd(strictPlanOf(cfg.Global, insts), nil, func(o strictfw.Options) strictfw.Firewall {
		return &fakeFW{table: o.Table, calls: calls}
	})
	src := &fakeSrc{}
	src.set("STRICT", vrrp.StateBackup)
	s.setSource(src)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	expect := func(want string) {
		t.Helper()
		if got := <-calls; got != want {
			t.Fatalf("firewall call %q, want %q", got, want)
		}
	}
	expect("lvs-ha set [")
	src.set("STRICT", vrrp.StateMaster)
	s.kick()
	expect("lvs-ha set [192.0.2.10 fe80::10 2001:db8::10 ")
	src.set("STRICT", vrrp.StateBackup)
	s.kick()
	expect("lvs-ha set [")

	p := strictPlanOf(cfg.Global, insts)
	p.opts.Table = "other"
	s.commit(p)
	expect("lvs-ha remove")
	expect("other set [")
	s.commit(strictPlan{opts: p.opts})
	expect("other remove")
	s.commit(p)
	expect("other set [")
	cancel()
	<-done
	expect("other remove")
	select {
	case c := <-calls:
		t.Errorf("extra call %q", c)
	default:
	}
}

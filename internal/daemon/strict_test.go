package daemon

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/strictfw"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
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
	d := func(a, dev string) strictfw.Drop { return strictfw.Drop{Addr: netip.MustParseAddr(a), Dev: dev} }
	want := []strictfw.Drop{d("192.0.2.10", "eth0"), d("2001:db8::10", "eth0"), d("fe80::10", "eth0")}
	if got := strictDrops(sp); !slices.Equal(got, want) {
		t.Errorf("drops = %v, want %v (not ACCEPT's, not the OWNER's)", got, want)
	}
	u := sp.union(strictPlan{addrs: map[strictfw.Drop]bool{d("192.0.2.99", "eth0"): true}})
	if got := strictDrops(u); len(got) != 4 || u.opts != sp.opts || len(sp.addrs) != 3 {
		t.Errorf("union drops %v opts %+v (the plan's own now %d)", got, u.opts, len(sp.addrs))
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
	if got := strictDrops(sp); len(got) != 1 {
		t.Errorf("strict_mode instance as MASTER drops %v, want 192.0.2.10", got)
	}
}

// fakeFW records the firewall calls as strings on a channel.
type fakeFW struct {
	table string
	calls chan string
	stall *sync.Mutex // held: Set waits (nft hanging)
}

func (f *fakeFW) Set(_ context.Context, d []strictfw.Drop) error {
	if f.stall != nil {
		f.stall.Lock()
		defer f.stall.Unlock()
	}
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

type fakeVIPs struct{ calls chan string }

func (f fakeVIPs) Add(a vip.Address) error { f.calls <- "add " + a.Prefix.Addr().String(); return nil }
func (f fakeVIPs) Remove(a vip.Address) error {
	f.calls <- "remove " + a.Prefix.Addr().String()
	return nil
}

// TestStrictdFollowsPlan: the table is made at start with the drop rules
// of every VIP of the instances without accept mode, so adding one never
// waits for the firewall (here: a firewall that blocks); a VIP whose rule
// is not in (a reload's new one) waits for it; on reload the table moves to
// its new name, goes when no instance needs it, and is removed at stop.
func TestStrictdFollowsPlan(t *testing.T) {
	cfg := loadConf(t, strictConf)
	insts, _, _ := vrrpConfig(cfg)
	calls := make(chan string, 16)
	var stall sync.Mutex
	s := newStrictd(strictPlanOf(cfg.Global, insts), nil, func(o strictfw.Options) strictfw.Firewall {
		return &fakeFW{table: o.Table, calls: calls, stall: &stall}
	})
	vips := strictVIPs{VIPManager: fakeVIPs{calls}, s: s}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-calls:
			if got != want {
				t.Fatalf("call %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no call %q", want)
		}
	}
	if !s.request() {
		t.Fatal("first apply timed out")
	}
	expect("lvs-ha set [192.0.2.10 2001:db8::10 fe80::10 ")
	// nft hangs while Run applies a change: adding a VIP whose rule is in
	// does not wait for it.
	stall.Lock()
	extra := strictPlanOf(cfg.Global, insts)
	extra.addrs = maps.Clone(extra.addrs)
	extra.addrs[strictfw.Drop{Addr: netip.MustParseAddr("192.0.2.12"), Dev: "eth0"}] = true
	s.commit(extra)
	strictVIP, acceptVIP := insts[0].VIPs[0], insts[1].VIPs[0]
	start := time.Now()
	vips.Add(strictVIP)
	if d := time.Since(start); d > time.Second {
		t.Errorf("adding a VIP whose rule is in waited %v for a hanging nft", d)
	}
	expect("add 192.0.2.10")
	vips.Add(acceptVIP)
	expect("add 192.0.2.20")
	vips.Remove(strictVIP)
	expect("remove 192.0.2.10")
	stall.Unlock()
	expect("lvs-ha set [192.0.2.10 192.0.2.12 2001:db8::10 fe80::10 ")

	// A reload adding a VIP: its add waits until the table drops it.
	p := strictPlanOf(cfg.Global, insts)
	newVIP := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.11/24"), Dev: "eth0"}
	p.addrs = maps.Clone(p.addrs)
	p.addrs[dropOf(newVIP)] = true
	s.commit(p)
	go vips.Add(newVIP)
	expect("lvs-ha set [192.0.2.10 192.0.2.11 2001:db8::10 fe80::10 ")
	expect("add 192.0.2.11")

	p.opts.Table = "other"
	s.commit(p)
	expect("lvs-ha remove")
	expect("other set [192.0.2.10 192.0.2.11 2001:db8::10 fe80::10 ")
	s.commit(strictPlan{opts: p.opts})
	expect("other remove")
	s.commit(p)
	expect("other set [192.0.2.10 192.0.2.11 2001:db8::10 fe80::10 ")
	cancel()
	<-done
	expect("other remove")
	select {
	case c := <-calls:
		t.Errorf("extra call %q", c)
	default:
	}
}

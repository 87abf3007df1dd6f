package daemon

import (
	"context"
	"net/netip"
	"slices"
	"testing"

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
	held := map[strictfw.Drop]bool{
		d("192.0.2.10", "eth0"): true, d("fe80::10", "eth0"): true, d("2001:db8::10", "eth0"): true,
		d("192.0.2.20", "eth1"): true, d("192.0.2.30", "eth1"): true,
	}
	want := []strictfw.Drop{d("192.0.2.10", "eth0"), d("2001:db8::10", "eth0"), d("fe80::10", "eth0")}
	if got := strictDrops(sp, held); !slices.Equal(got, want) {
		t.Errorf("drops with every VIP held = %v, want %v (not ACCEPT's, not the OWNER's)", got, want)
	}
	if got := strictDrops(sp, map[strictfw.Drop]bool{d("192.0.2.20", "eth1"): true}); len(got) != 0 {
		t.Errorf("drops with only ACCEPT's VIP held = %v, want none", got)
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
	if got := strictDrops(sp, map[strictfw.Drop]bool{d("192.0.2.10", "eth0"): true}); len(got) != 1 {
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

type fakeVIPs struct{ calls chan string }

func (f fakeVIPs) Add(a vip.Address) error { f.calls <- "add " + a.Prefix.Addr().String(); return nil }
func (f fakeVIPs) Remove(a vip.Address) error {
	f.calls <- "remove " + a.Prefix.Addr().String()
	return nil
}

// TestStrictdFollowsVIPs: the table is made at start (empty), gets a VIP
// of the instance without accept before the VIP is added and loses it
// after it is removed; an accept instance's VIP changes nothing; on reload
// the table moves to its new name, goes when no instance needs it, and is
// removed at stop.
func TestStrictdFollowsVIPs(t *testing.T) {
	cfg := loadConf(t, strictConf)
	insts, _, _ := vrrpConfig(cfg)
	calls := make(chan string, 16)
	s := newStrictd(strictPlanOf(cfg.Global, insts), nil, func(o strictfw.Options) strictfw.Firewall {
		return &fakeFW{table: o.Table, calls: calls}
	})
	vips := strictVIPs{VIPManager: fakeVIPs{calls}, s: s}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	expect := func(want string) {
		t.Helper()
		if got := <-calls; got != want {
			t.Fatalf("call %q, want %q", got, want)
		}
	}
	expect("lvs-ha set [")
	strictVIP, acceptVIP := insts[0].VIPs[0], insts[1].VIPs[0]
	go vips.Add(strictVIP)
	expect("lvs-ha set [192.0.2.10 ")
	expect("add 192.0.2.10")
	go vips.Add(acceptVIP)
	expect("add 192.0.2.20")
	go vips.Remove(strictVIP)
	expect("remove 192.0.2.10")
	expect("lvs-ha set [")
	go vips.Remove(acceptVIP)
	expect("remove 192.0.2.20")

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

package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
)

var (
	a4 = netip.MustParseAddr
	ap = netip.MustParseAddrPort
)

func tcp(s string) ipvs.ServiceKey  { return ipvs.AddrKey(ipvs.TCP, ap(s)) }
func udp(s string) ipvs.ServiceKey  { return ipvs.AddrKey(ipvs.UDP, ap(s)) }
func sctp(s string) ipvs.ServiceKey { return ipvs.AddrKey(ipvs.SCTP, ap(s)) }

func nat(s string, w int32) ipvs.Destination {
	p := ap(s)
	return ipvs.Destination{Addr: p.Addr(), Port: p.Port(), Method: ipvs.Masq, Weight: w}
}

func mustTable(t *testing.T, src string) ipvs.Table {
	t.Helper()
	tb, err := desiredTable(loadConf(t, src))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestDesiredTableKeywords(t *testing.T) {
	tb := mustTable(t, `
virtual_server 192.0.2.1 80 {
    lvs_sched wrr
    lvs_method NAT
    protocol TCP
    persistence_timeout 600
    persistence_granularity 255.255.255.0
    real_server 10.0.0.1 8080 {
        weight 3
        uthreshold 100
        lthreshold 10
    }
    real_server 10.0.0.2 8080 {
        weight 0
    }
}
virtual_server 192.0.2.1 53 {
    lb_algo sh
    sh-port
    sh-fallback
    ops
    lb_kind DR
    protocol UDP
    real_server 10.0.0.1 53 {
    }
}
virtual_server 192.0.2.2 0 {
    lvs_sched rr
    protocol TCP
    lvs_method DR
    real_server 10.0.0.3 0 {
        weight 2
    }
}
virtual_server fwmark 7 {
    lvs_sched mh
    mh-fallback
    mh-port
    lvs_method TUN type gue port 6080 csum
    persistence_timeout 30
    real_server 10.0.0.4 {
        weight 5
    }
}
virtual_server 2001:db8::1 443 {
    lvs_sched lc
    protocol SCTP
    persistence_granularity 64
    persistence_engine sip
    lvs_method TUN type gre
    real_server 2001:db8::10 443 {
    }
    real_server 10.0.0.5 443 {
        lvs_method TUN
    }
}
virtual_server 192.0.2.9 80 {
    lvs_sched rr
    protocol TCP
}
`)
	tb.Sort()
	want := ipvs.Table{Services: []ipvs.Service{
		{Key: tcp("192.0.2.1:80"), Scheduler: "wrr", Flags: ipvs.FlagPersistent, Timeout: 600, Netmask: 24,
			Destinations: []ipvs.Destination{
				{Addr: a4("10.0.0.1"), Port: 8080, Weight: 3, UpperThreshold: 100, LowerThreshold: 10},
				nat("10.0.0.2:8080", 0),
			}},
		{Key: udp("192.0.2.1:53"), Scheduler: "sh", Flags: ipvs.FlagSHPort | ipvs.FlagSHFallback | ipvs.FlagOnePacket,
			Destinations: []ipvs.Destination{{Addr: a4("10.0.0.1"), Port: 53, Method: ipvs.DR, Weight: 1}}},
		{Key: tcp("192.0.2.2:0"), Scheduler: "rr", Flags: ipvs.FlagPersistent, Timeout: 360,
			Destinations: []ipvs.Destination{{Addr: a4("10.0.0.3"), Method: ipvs.DR, Weight: 2}}},
		{Key: sctp("[2001:db8::1]:443"), Scheduler: "lc", Flags: ipvs.FlagPersistent, Timeout: 360, Netmask: 64, PEName: "sip",
			Destinations: []ipvs.Destination{
				{Addr: a4("10.0.0.5"), Port: 443, Method: ipvs.Tunnel, Weight: 1},
				{Addr: a4("2001:db8::10"), Port: 443, Method: ipvs.Tunnel, TunType: ipvs.TunnelGRE, Weight: 1},
			}},
		{Key: ipvs.FWMarkKey(ipvs.FamilyIPv4, 7), Scheduler: "mh", Flags: ipvs.FlagMHFallback | ipvs.FlagMHPort | ipvs.FlagPersistent, Timeout: 30,
			Destinations: []ipvs.Destination{{Addr: a4("10.0.0.4"), Method: ipvs.Tunnel, TunType: ipvs.TunnelGUE, TunPort: 6080, TunFlags: ipvs.TunnelCsum, Weight: 5}}},
	}}
	if !reflect.DeepEqual(tb, want) {
		t.Errorf("table:\n got %+v\nwant %+v", tb, want)
	}
}

func TestDesiredTableGroups(t *testing.T) {
	tb := mustTable(t, `
virtual_server_group WEB {
    192.0.2.1-3 80
    192.0.2.8/31 443
}
virtual_server_group WEB6 {
    2001:db8::1-2 80
}
virtual_server_group MARKS {
    fwmark 9
    fwmark 10 inet6
}
virtual_server_group ALL {
    192.0.2.20 0
}
virtual_server group WEB {
    lvs_sched rr
    protocol TCP
    real_server 192.0.2.100 8080 {
        weight 4
    }
}
virtual_server group WEB6 {
    lvs_sched rr
    protocol TCP
    real_server 2001:db8::100 8080 {
    }
}
virtual_server group WEB {
    lvs_sched rr
    protocol UDP
    real_server 192.0.2.100 8080 {
    }
}
virtual_server group MARKS {
    lvs_sched rr
    lvs_method TUN
    real_server 192.0.2.100 8080 {
    }
}
virtual_server group ALL {
    lvs_sched wlc
    protocol TCP
    real_server 192.0.2.101 0 {
    }
}
`)
	var got []string
	for _, s := range tb.Services {
		got = append(got, s.Key.String())
	}
	want := []string{
		"TCP 192.0.2.1:80", "TCP 192.0.2.2:80", "TCP 192.0.2.3:80", "TCP 192.0.2.8:443", "TCP 192.0.2.9:443",
		"TCP [2001:db8::1]:80", "TCP [2001:db8::2]:80",
		"UDP 192.0.2.1:80", "UDP 192.0.2.2:80", "UDP 192.0.2.3:80", "UDP 192.0.2.8:443", "UDP 192.0.2.9:443",
		"FWM 9 IPv4", "FWM 10 IPv6",
		"TCP 192.0.2.20:0",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("services:\n got %q\nwant %q", got, want)
	}
	s := tb.Service(tcp("192.0.2.2:80"))
	if s.Scheduler != "rr" || len(s.Destinations) != 1 || s.Destinations[0] != nat("192.0.2.100:8080", 4) {
		t.Errorf("group member settings: %+v", s)
	}
	if s := tb.Service(tcp("192.0.2.20:0")); s.Flags&ipvs.FlagPersistent == 0 || s.Timeout != 360 {
		t.Errorf("port 0 group entry is not persistent: %+v", s)
	}
	// Members do not share their destination slices.
	tb.Services[0].Destinations[0].Weight = 99
	if tb.Services[1].Destinations[0].Weight != 4 {
		t.Error("group members share destinations")
	}
	if d := tb.Service(tcp("[2001:db8::2]:80")).Destinations; len(d) != 1 || d[0] != nat("[2001:db8::100]:8080", 1) {
		t.Errorf("IPv6 group member: %+v", d)
	}
}

func TestDesiredTableErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"duplicate", `
virtual_server_group G {
    192.0.2.1 80
}
virtual_server 192.0.2.1 80 {
    protocol TCP
    real_server 10.0.0.1 80 {
    }
}
virtual_server group G {
    protocol TCP
    real_server 10.0.0.1 80 {
    }
}`, "service TCP 192.0.2.1:80 is also defined by virtual_server 192.0.2.1 80"},
		{"huge range", `
virtual_server_group G {
    10.0.0.0/8 80
}
virtual_server group G {
    protocol TCP
    real_server 10.0.0.1 80 {
    }
}`, "has more than 65536 addresses"},
		{"sparse mask", `
virtual_server 192.0.2.1 80 {
    protocol TCP
    persistence_granularity 255.0.255.0
    real_server 10.0.0.1 80 {
    }
}`, "not a contiguous netmask"},
		{"v4 mask on v6", `
virtual_server 2001:db8::1 80 {
    protocol TCP
    persistence_granularity 255.255.0.0
    real_server 2001:db8::2 80 {
    }
}`, "an IPv6 service takes a prefix length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := desiredTable(loadConf(t, tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "test.conf:") {
				t.Errorf("error does not name the position: %v", err)
			}
		})
	}
}

func TestGranularity(t *testing.T) {
	for _, tc := range []struct {
		s    string
		f    ipvs.Family
		want uint8
		ok   bool
	}{
		{"255.255.255.255", ipvs.FamilyIPv4, 32, true},
		{"255.255.255.0", ipvs.FamilyIPv4, 24, true},
		{"128.0.0.0", ipvs.FamilyIPv4, 1, true},
		{"0.0.0.0", ipvs.FamilyIPv4, 0, false},
		{"255.255.0.255", ipvs.FamilyIPv4, 0, false},
		{"24", ipvs.FamilyIPv4, 24, true},
		{"33", ipvs.FamilyIPv4, 0, false},
		{"64", ipvs.FamilyIPv6, 64, true},
		{"128", ipvs.FamilyIPv6, 128, true},
		{"0", ipvs.FamilyIPv6, 0, false},
		{"x", ipvs.FamilyIPv6, 0, false},
	} {
		got, err := granularity(tc.s, tc.f)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("granularity(%q, %s) = %d, %v; want %d ok=%v", tc.s, tc.f, got, err, tc.want, tc.ok)
		}
	}
}

const twoServices = `
global_defs {
    lvs_flush_on_stop VS
}
virtual_server 192.0.2.1 80 {
    lvs_sched wrr
    protocol TCP
    real_server 10.0.0.1 80 {
        weight 1
    }
    real_server 10.0.0.2 80 {
        weight 2
    }
}
virtual_server fwmark 3 {
    lvs_sched rr
    lvs_method DR
    real_server 10.0.0.3 {
    }
}
`

// fakeKernel is an ipvstest.Kernel with Close that counts table reads: every
// apply reads the kernel's table exactly once.
type fakeKernel struct {
	*ipvstest.Kernel
	closed bool
	reads  atomic.Int32
}

func (f *fakeKernel) Close() error { f.closed = true; return nil }

func (f *fakeKernel) Table() (ipvs.Table, error) {
	f.reads.Add(1)
	return f.Kernel.Table()
}

// logBuf is a concurrency-safe log sink.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runLVS runs an lvs for p on kernel k (through open if set) until the test
// ends or stop is called; it returns once the first apply was attempted.
func runLVS(t *testing.T, p *plan, k ipvsKernel, open func() (ipvsKernel, error)) (l *lvs, lb *logBuf, stop func()) {
	t.Helper()
	lb = &logBuf{}
	if open == nil {
		open = func() (ipvsKernel, error) { return k, nil }
	}
	l = newLVS(p, lvsOptions{Logger: slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), Open: open})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(stop)
	<-l.ready
	return l, lb, stop
}

func TestIPVSIdempotentAndOneWeightChange(t *testing.T) {
	fk := &fakeKernel{Kernel: &ipvstest.Kernel{}}
	l, lb, _ := runLVS(t, testPlan(t, twoServices), fk, nil)
	if c := fk.Calls(); c.NewService != 2 || c.NewDest != 3 || c.Total() != 5 {
		t.Fatalf("first apply: calls %+v", c)
	}
	fk.ResetCalls()
	ctx := context.Background()
	ch, err := l.commit(ctx, testPlan(t, twoServices))
	if err != nil || ch.Total() != 0 || fk.Calls().Total() != 0 {
		t.Fatalf("second apply of the same config: %v, %v, calls %+v", ch, err, fk.Calls())
	}
	ch, err = l.commit(ctx, testPlan(t, strings.Replace(twoServices, "weight 2", "weight 7", 1)))
	if err != nil || ch.Total() != 1 || ch.DestsUpdated != 1 {
		t.Fatalf("weight change: %v, %v", ch, err)
	}
	if calls := fk.Calls(); calls.Total() != 1 || calls.UpdateDest != 1 {
		t.Fatalf("weight change calls %+v, want exactly one UpdateDestination", calls)
	}
	kt, _ := fk.Kernel.Table()
	if d := kt.Service(tcp("192.0.2.1:80")).Destination(a4("10.0.0.2"), 80); d == nil || d.Weight != 7 {
		t.Errorf("weight not changed: %+v", d)
	}
	if !strings.Contains(lb.String(), `msg="ipvs applied" services=2`) {
		t.Errorf("log lacks the applied line:\n%s", lb)
	}
}

func TestIPVSRunStartAndRelease(t *testing.T) {
	foreign := ipvs.Service{Key: tcp("198.51.100.1:22"), Scheduler: "rr"}
	// A stale lvs-ha service that is neither desired nor owned stays too.
	stale := ipvs.Service{Key: tcp("192.0.2.1:81")}
	for _, tc := range []struct {
		name string
		mode stopMode
		left []ipvs.ServiceKey
	}{
		{"release", stopRelease, []ipvs.ServiceKey{foreign.Key, stale.Key}},
		{"keep", stopKeep, []ipvs.ServiceKey{tcp("192.0.2.1:80"), foreign.Key, stale.Key, ipvs.FWMarkKey(ipvs.FamilyIPv4, 3)}},
		{"flush-all", stopFlushAll, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &fakeKernel{Kernel: &ipvstest.Kernel{}}
			for _, s := range []ipvs.Service{foreign, stale} {
				if err := k.NewService(s); err != nil {
					t.Fatal(err)
				}
			}
			p := testPlan(t, twoServices)
			p.stop = tc.mode
			_, _, stop := runLVS(t, p, k, nil)
			kt, _ := k.Kernel.Table()
			if len(kt.Services) != 4 {
				t.Fatalf("after start: %d services, want 4 (2 desired + foreign + stale)", len(kt.Services))
			}
			stop()
			kt, _ = k.Kernel.Table()
			var left []ipvs.ServiceKey
			for _, s := range kt.Services {
				left = append(left, s.Key)
			}
			slices.SortFunc(left, ipvs.ServiceKey.Compare)
			slices.SortFunc(tc.left, ipvs.ServiceKey.Compare)
			if !reflect.DeepEqual(left, tc.left) {
				t.Errorf("left after stop: %v, want %v", left, tc.left)
			}
			if !k.closed {
				t.Error("kernel handle not closed")
			}
		})
	}
}

func TestIPVSFlushAtStart(t *testing.T) {
	k := &fakeKernel{Kernel: &ipvstest.Kernel{}}
	if err := k.NewService(ipvs.Service{Key: tcp("198.51.100.1:22")}); err != nil {
		t.Fatal(err)
	}
	flush := "global_defs {\n lvs_flush\n}\n" + twoServices
	l, _, _ := runLVS(t, testPlan(t, flush), k, nil)
	kt, _ := k.Kernel.Table()
	if len(kt.Services) != 2 || kt.Service(tcp("198.51.100.1:22")) != nil {
		t.Fatalf("lvs_flush left %d services", len(kt.Services))
	}
	// lvs_flush applies at start only: a later foreign service survives a reload.
	if err := k.NewService(ipvs.Service{Key: tcp("198.51.100.1:23")}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.commit(context.Background(), testPlan(t, flush)); err != nil {
		t.Fatal(err)
	}
	if kt, _ := k.Kernel.Table(); len(kt.Services) != 3 {
		t.Fatalf("foreign service added after start was flushed")
	}
}

func TestIPVSApplyRemovesDroppedServices(t *testing.T) {
	k := &fakeKernel{Kernel: &ipvstest.Kernel{}}
	if err := k.NewService(ipvs.Service{Key: tcp("198.51.100.1:22")}); err != nil {
		t.Fatal(err)
	}
	l, _, _ := runLVS(t, testPlan(t, twoServices), k, nil)
	ch, err := l.commit(context.Background(), testPlan(t, twoServices[:strings.Index(twoServices, "virtual_server fwmark")]))
	if err != nil || ch.ServicesDeleted != 1 || ch.Total() != 1 {
		t.Fatalf("dropping a service: %v, %v", ch, err)
	}
	kt, _ := k.Kernel.Table()
	if len(kt.Services) != 2 || kt.Service(tcp("198.51.100.1:22")) == nil {
		t.Fatalf("foreign service touched: %+v", kt.Services)
	}
}

func TestIPVSUnavailableRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fk := &fakeKernel{Kernel: &ipvstest.Kernel{}}
		attempts := 0
		open := func() (ipvsKernel, error) {
			if attempts++; attempts < 3 {
				return nil, ipvs.ErrNoIPVS
			}
			return fk, nil
		}
		l, lb, stop := runLVS(t, testPlan(t, twoServices), nil, open)
		if !strings.Contains(lb.String(), "IPVS unavailable: virtual servers are not programmed") ||
			!strings.Contains(lb.String(), "kernel has no IPVS") {
			t.Errorf("error does not name the problem:\n%s", lb)
		}
		// A reload while unavailable keeps the table and says so.
		if _, err := l.commit(t.Context(), testPlan(t, twoServices)); !errors.Is(err, errIPVSUnavailable) {
			t.Errorf("apply while unavailable: %v", err)
		}
		// Attempts 1 (start) and 2 (reload) failed; the retry timer makes the third.
		time.Sleep(ipvsRetryInterval)
		synctest.Wait()
		if !strings.Contains(lb.String(), "ipvs applied") || strings.Count(lb.String(), "level=ERROR") != 1 {
			t.Errorf("unavailability should be logged once at error level, then applied:\n%s", lb)
		}
		if kt, _ := fk.Kernel.Table(); len(kt.Services) != 2 {
			t.Fatalf("not programmed after IPVS became available: %d services", len(kt.Services))
		}
		stop()
	})
}

func TestIPVSRetriesFailedChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fk := &fakeKernel{Kernel: &ipvstest.Kernel{}}
		var fail atomic.Bool
		fail.Store(true)
		fk.FailOn = func(op string, k ipvs.ServiceKey, d *ipvs.Destination) error {
			if fail.Load() && op == "NewDestination" && d.Addr == a4("10.0.0.2") {
				return errors.New("boom")
			}
			return nil
		}
		_, lb, stop := runLVS(t, testPlan(t, twoServices), fk, nil)
		if !strings.Contains(lb.String(), "ipvs apply failed") {
			t.Fatalf("no failure logged:\n%s", lb)
		}
		fail.Store(false)
		time.Sleep(ipvsRetryInterval)
		synctest.Wait()
		if !strings.Contains(lb.String(), "ipvs applied") || !strings.Contains(lb.String(), "destinations +1 ~0 -0") {
			t.Errorf("retry did not add the missing destination:\n%s", lb)
		}
		stop()
	})
}

func TestDaemonIPVSComponent(t *testing.T) {
	d, err := New(loadConf(t, twoServices), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if p := d.plan.Load(); !p.ipvs || d.vrrp != nil || p.stop != stopRelease {
		t.Fatalf("lvs_flush_on_stop VS: ipvs %v, vrrp %v, stop mode %d", p.ipvs, d.vrrp, p.stop)
	}
	d, _ = NewWithOptions(loadConf(t, twoServices), Options{KeepIPVSOnStop: true})
	if p := d.plan.Load(); p.stop != stopKeep {
		t.Errorf("KeepIPVSOnStop: stop mode %d", p.stop)
	}
	full := loadConf(t, "global_defs {\n lvs_flush_on_stop\n}\n"+twoServices[strings.Index(twoServices, "virtual_server"):])
	if d, _ := New(full, slog.New(slog.DiscardHandler)); d.plan.Load().stop != stopFlushAll {
		t.Errorf("lvs_flush_on_stop: stop mode %d", d.plan.Load().stop)
	}
	d, err = New(loadConf(t, "global_defs {\n router_id x\n}\n"), slog.New(slog.DiscardHandler))
	if err != nil || d.plan.Load().ipvs {
		t.Fatalf("no virtual servers: IPVS managed, %v", err)
	}
}

// waitLog waits (on the goroutine under test, not on time) until the log
// contains s.
func waitLog(t *testing.T, lb *logBuf, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(lb.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("log never contained %q:\n%s", s, lb)
		}
		time.Sleep(time.Millisecond)
	}
}

// lvs_timeouts are set with SET_CONFIG at start and at each reload; a
// timeout the configuration no longer gives gets the kernel's value from
// before lvs-ha first changed it, as keepalived's ipvs_set_timeout does.
func TestIPVSLVSTimeoutsStartAndReload(t *testing.T) {
	k := &fakeKernel{Kernel: &ipvstest.Kernel{}}
	orig, _ := k.Timeouts() // the fake's 900/120/300 s
	vss := twoServices[strings.Index(twoServices, "virtual_server"):]
	withTimeouts := func(opts string) *plan {
		g := ""
		if opts != "" {
			g = "global_defs {\n    lvs_timeouts " + opts + "\n}\n"
		}
		return testPlan(t, g+vss)
	}
	l, _, _ := runLVS(t, withTimeouts("tcp 1000 udp 60"), k, nil)
	want := ipvs.Timeouts{TCP: 1000 * time.Second, TCPFin: orig.TCPFin, UDP: 60 * time.Second}
	if got, _ := k.Timeouts(); got != want {
		t.Fatalf("after start: %+v, want %+v", got, want)
	}
	for _, tc := range []struct {
		opts string
		want ipvs.Timeouts
	}{
		{"tcpfin 30", ipvs.Timeouts{TCP: orig.TCP, TCPFin: 30 * time.Second, UDP: orig.UDP}},
		{"tcpfin 30", ipvs.Timeouts{TCP: orig.TCP, TCPFin: 30 * time.Second, UDP: orig.UDP}},
		{"", orig},
	} {
		if _, err := l.commit(context.Background(), withTimeouts(tc.opts)); err != nil {
			t.Fatal(err)
		}
		if got, _ := k.Timeouts(); got != tc.want {
			t.Errorf("after reload with lvs_timeouts %q: %+v, want %+v", tc.opts, got, tc.want)
		}
	}
	// start, tcpfin 30 (the same again is not set), restore.
	if n := k.Calls().SetTimeouts; n != 3 {
		t.Errorf("%d SET_CONFIG calls, want 3", n)
	}

	// Without lvs_timeouts the kernel's timeouts are never touched.
	k2 := &fakeKernel{Kernel: &ipvstest.Kernel{}}
	l2, _, _ := runLVS(t, withTimeouts(""), k2, nil)
	if _, err := l2.commit(context.Background(), withTimeouts("")); err != nil {
		t.Fatal(err)
	}
	if n := k2.Calls().SetTimeouts; n != 0 {
		t.Errorf("no lvs_timeouts: %d SET_CONFIG calls", n)
	}
}

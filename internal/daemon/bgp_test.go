package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lvs-ha/lvs-ha/bgp"
	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/conf/syntax"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
)

const bgpConf = `bgp_speaker {
    router_id 10.251.0.11
    local_as 65101
    neighbor 10.251.0.1 {
        remote_as 65000
        hold_time 9
        bfd min_tx 100 min_rx 200 multiplier 4
        port 1179
        password s3cret
        passive
        ebgp_multihop 2
        local_address 10.251.0.11
    }
    neighbor 2001:db8::1 {
        remote_as 65000
    }
    announce_delay 2
    drain_time 10
}
virtual_server 10.251.9.1 80 {
    lb_algo mh
    lb_kind DR
    protocol TCP
    bgp_announce min_healthy 2
    real_server 10.251.2.3 80 {
    }
    real_server 10.251.2.1 80 {
    }
    real_server 10.251.2.2 80 {
    }
}
virtual_server 10.251.9.1 443 {
    lb_algo mh
    lb_kind DR
    protocol TCP
    bgp_announce
    real_server 10.251.2.1 443 {
        TCP_CHECK {
        }
    }
}
virtual_server_group G {
    10.251.9.2-3 53
    fwmark 7
}
virtual_server group G {
    lb_algo sh
    lb_kind DR
    protocol UDP
    bgp_announce
    real_server 10.251.2.1 53 {
    }
}
virtual_server 10.251.9.9 80 {
    lb_algo mh
    lb_kind DR
    protocol TCP
    real_server 10.251.2.1 80 {
    }
}
`

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestBGPOptionsTranslation(t *testing.T) {
	p := testPlan(t, bgpConf).bgp
	want := bgp.Options{RouterID: a4("10.251.0.11"), LocalAS: 65101, Neighbors: []bgp.Neighbor{
		{Address: a4("10.251.0.1"), RemoteAS: 65000, Port: 1179, HoldTime: 9 * time.Second, Password: "s3cret", Passive: true,
			EBGPMultihop: 2, LocalAddress: a4("10.251.0.11"), BFD: &bgp.BFD{MinTx: 100 * time.Millisecond, MinRx: 200 * time.Millisecond, Multiplier: 4}},
		{Address: a4("2001:db8::1"), RemoteAS: 65000, Port: 179},
	}}
	if p.speaker == nil || !reflect.DeepEqual(*p.speaker, want) {
		t.Fatalf("speaker options\n got %+v\nwant %+v", p.speaker, want)
	}
	if !p.on || p.routeOnly != "" || p.delay != 2*time.Second || p.drain != 10*time.Second {
		t.Errorf("plan = %+v", p)
	}
	wantVIPs := []bgpVIP{
		{pfx("10.251.9.1/32"), []bgpVS{{"TCP 10.251.9.1:80", 2}, {"TCP 10.251.9.1:443", 1}}},
		{pfx("10.251.9.2/32"), []bgpVS{{"group G UDP", 1}}},
		{pfx("10.251.9.3/32"), []bgpVS{{"group G UDP", 1}}},
	}
	if !reflect.DeepEqual(p.vips, wantVIPs) {
		t.Errorf("vips\n got %+v\nwant %+v", p.vips, wantVIPs)
	}
	if got := testPlan(t, strings.Replace(bgpConf, "router_id 10.251.0.11", "route_only dummy0", 1)).bgp; got.speaker != nil || got.routeOnly != "dummy0" {
		t.Errorf("route-only plan = %+v", got)
	}
}

// TestBGPCheckLocatesSpeakerErrors: what bgp.Options.Validate refuses is a
// check-config error at the neighbor (run and reload build the same plan).
func TestBGPCheckLocatesSpeakerErrors(t *testing.T) {
	src := strings.Replace(bgpConf, "remote_as 65000\n        hold_time", "remote_as 65101\n        hold_time", 1) // iBGP with ebgp_multihop
	cfg := loadConf(t, src)
	ds := Check(cfg)
	if len(ds) != 1 || ds[0].Severity != syntax.Error || ds[0].Pos.Line != 4 || !strings.Contains(ds[0].Msg, "ebgp_multihop") {
		t.Fatalf("diagnostics: %v", ds)
	}
}

func TestBGPEligibility(t *testing.T) {
	p := testPlan(t, bgpConf).bgp
	healthy := func(web, tls, g int) map[string]int {
		return map[string]int{"TCP 10.251.9.1:80": web, "TCP 10.251.9.1:443": tls, "group G UDP": g}
	}
	type row struct {
		prefix   string
		eligible bool
		reason   string
	}
	tests := []struct {
		name     string
		h        lvsHealth
		draining bool
		want     []row
	}{
		{"not applied", lvsHealth{applied: false, healthy: healthy(3, 1, 1)}, false, []row{
			{"10.251.9.1/32", false, reasonNotProgrammed}, {"10.251.9.2/32", false, reasonNotProgrammed}, {"10.251.9.3/32", false, reasonNotProgrammed}}},
		{"all healthy", lvsHealth{applied: true, healthy: healthy(2, 1, 1)}, false, []row{
			{"10.251.9.1/32", true, "healthy: TCP 10.251.9.1:80 2/2, TCP 10.251.9.1:443 1/1"}, {"10.251.9.2/32", true, "healthy: group G UDP 1/1"}, {"10.251.9.3/32", true, "healthy: group G UDP 1/1"}}},
		{"one of two virtual servers short", lvsHealth{applied: true, healthy: healthy(1, 1, 0)}, false, []row{
			{"10.251.9.1/32", false, "virtual_server TCP 10.251.9.1:80: 1 healthy real servers, min_healthy 2"},
			{"10.251.9.2/32", false, "virtual_server group G UDP: 0 healthy real servers, min_healthy 1"},
			{"10.251.9.3/32", false, "virtual_server group G UDP: 0 healthy real servers, min_healthy 1"}}},
		{"other one short", lvsHealth{applied: true, healthy: healthy(3, 0, 1)}, false, []row{
			{"10.251.9.1/32", false, "virtual_server TCP 10.251.9.1:443: 0 healthy real servers, min_healthy 1"},
			{"10.251.9.2/32", true, "healthy: group G UDP 1/1"}, {"10.251.9.3/32", true, "healthy: group G UDP 1/1"}}},
		{"unknown virtual server", lvsHealth{applied: true, healthy: map[string]int{}}, false, []row{
			{"10.251.9.1/32", false, "virtual_server TCP 10.251.9.1:80: 0 healthy real servers, min_healthy 2"},
			{"10.251.9.2/32", false, "virtual_server group G UDP: 0 healthy real servers, min_healthy 1"},
			{"10.251.9.3/32", false, "virtual_server group G UDP: 0 healthy real servers, min_healthy 1"}}},
		{"draining", lvsHealth{applied: true, healthy: healthy(3, 1, 1)}, true, []row{
			{"10.251.9.1/32", false, reasonDraining}, {"10.251.9.2/32", false, reasonDraining}, {"10.251.9.3/32", false, reasonDraining}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []row
			for _, in := range bgpEligibility(&p, tt.h, tt.draining) {
				got = append(got, row{in.Prefix.String(), in.Eligible, in.Reason})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestBGPHealthOfLVSState: lvs's report counts the real servers that are up
// with a weight above 0, per virtual server.
func TestBGPHealthOfLVSState(t *testing.T) {
	s := testPlan(t, bgpConf).lvs
	s.vss[0].rss[1].up = false
	h := healthOf(s, true)
	want := map[string]int{"TCP 10.251.9.1:80": 2, "TCP 10.251.9.1:443": 1, "group G UDP": 1, "TCP 10.251.9.9:80": 1}
	if !h.applied || !reflect.DeepEqual(h.healthy, want) {
		t.Errorf("health = %+v", h)
	}
}

// fakeAnnouncer records announces and withdrawals.
type fakeAnnouncer struct {
	mu  sync.Mutex
	ops []string
}

func (f *fakeAnnouncer) rec(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, s)
	return nil
}

func (f *fakeAnnouncer) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.ops
	f.ops = nil
	return out
}

func (f *fakeAnnouncer) Announce(p netip.Prefix, _ string) error {
	return f.rec("announce " + p.String())
}
func (f *fakeAnnouncer) Withdraw(p netip.Prefix, _ string) error {
	return f.rec("withdraw " + p.String())
}
func (f *fakeAnnouncer) WithdrawAll(reason string) error { return f.rec("withdraw all: " + reason) }

var _ bgp.Announcer = (*fakeAnnouncer)(nil)

// fakeSpeaker is a bgpSpeaker that records its calls.
type fakeSpeaker struct {
	fakeAnnouncer
	opts    bgp.Options
	updates int
	running chan struct{}
	stopped chan struct{}
}

func newFakeSpeaker(o bgp.Options) *fakeSpeaker {
	return &fakeSpeaker{opts: o, running: make(chan struct{}), stopped: make(chan struct{})}
}

func (f *fakeSpeaker) Run(ctx context.Context) error {
	close(f.running)
	<-ctx.Done()
	close(f.stopped)
	return nil
}

func (f *fakeSpeaker) Update(o bgp.Options) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opts = o
	f.updates++
	return nil
}

func (f *fakeSpeaker) Status() bgp.Status {
	return bgp.Status{RouterID: f.opts.RouterID, LocalAS: f.opts.LocalAS}
}

// runBGPD runs a bgpd for plan p (in a synctest bubble) until the test ends.
func runBGPD(t *testing.T, p bgpPlan, ann bgp.Announcer, n *fakeNet) *bgpd {
	b := newBGPD(p, ann, bgpdOptions{Addrs: n})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return b
}

func expectOps(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// TestBGPGateDriving: nothing is announced before the first apply; a VIP
// is announced announce_delay after it became eligible and withdrawn at
// once when a virtual server naming it falls below min_healthy; the /32 is
// on lo from the start, announced or not.
func TestBGPGateDriving(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := testPlan(t, bgpConf).bgp
		ann, n := &fakeAnnouncer{}, &fakeNet{}
		b := runBGPD(t, p, ann, n)
		synctest.Wait()
		expectOps(t, "lo at start", n.take(), "add addr 10.251.9.1/32 dev lo scope global", "add addr 10.251.9.2/32 dev lo scope global", "add addr 10.251.9.3/32 dev lo scope global")
		h := map[string]int{"TCP 10.251.9.1:80": 3, "TCP 10.251.9.1:443": 1, "group G UDP": 0}
		b.setHealth(lvsHealth{applied: false, healthy: h})
		time.Sleep(time.Hour)
		synctest.Wait()
		expectOps(t, "before the first apply", ann.take())

		b.setHealth(lvsHealth{applied: true, healthy: h})
		time.Sleep(2*time.Second - time.Nanosecond)
		synctest.Wait()
		expectOps(t, "within announce_delay", ann.take())
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		expectOps(t, "after announce_delay", ann.take(), "announce 10.251.9.1/32")
		if ps := b.Prefixes(); len(ps) != 3 || !ps[0].Announced || !ps[0].Eligible || ps[1].Announced || ps[1].Reason != "virtual_server group G UDP: 0 healthy real servers, min_healthy 1" {
			t.Errorf("status = %+v", ps)
		}

		// One real server short: withdrawn at once.
		h2 := map[string]int{"TCP 10.251.9.1:80": 1, "TCP 10.251.9.1:443": 1, "group G UDP": 1}
		b.setHealth(lvsHealth{applied: true, healthy: h2})
		synctest.Wait()
		expectOps(t, "below min_healthy", ann.take(), "withdraw 10.251.9.1/32")
		// Flapping back for less than the delay announces nothing.
		b.setHealth(lvsHealth{applied: true, healthy: h})
		time.Sleep(time.Second)
		b.setHealth(lvsHealth{applied: true, healthy: h2})
		time.Sleep(5 * time.Second)
		synctest.Wait()
		expectOps(t, "flap shorter than the delay", ann.take(), "announce 10.251.9.2/32", "announce 10.251.9.3/32")
		expectOps(t, "lo unchanged", n.take())
	})
}

// TestBGPRouteOnly: in route-only mode the gate's decisions are host
// addresses on the named interface, and nothing else goes on lo.
func TestBGPRouteOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := testPlan(t, strings.Replace(bgpConf, "router_id 10.251.0.11", "route_only dummy0", 1)).bgp
		n := &fakeNet{}
		b := runBGPD(t, p, newRouteOnly(n, p.routeOnly), n)
		h := map[string]int{"TCP 10.251.9.1:80": 3, "TCP 10.251.9.1:443": 1, "group G UDP": 0}
		b.setHealth(lvsHealth{applied: true, healthy: h})
		time.Sleep(3 * time.Second)
		synctest.Wait()
		expectOps(t, "announce", n.take(), "add addr 10.251.9.1/32 dev lo scope global", "add addr 10.251.9.2/32 dev lo scope global", "add addr 10.251.9.3/32 dev lo scope global",
			"add addr 10.251.9.1/32 dev dummy0 scope global")
		h["TCP 10.251.9.1:443"] = 0
		b.setHealth(lvsHealth{applied: true, healthy: h})
		synctest.Wait()
		expectOps(t, "withdraw", n.take(), "remove addr 10.251.9.1/32 dev dummy0 scope global")
	})
}

// bgpTestDaemon is a daemon for src on fake IPVS, checkers and speaker.
func bgpTestDaemon(t *testing.T, src string) (*testDaemon, *[]*fakeSpeaker) {
	t.Helper()
	var speakers []*fakeSpeaker
	td := newTestDaemon(t, src, true, false)
	td.d.opts.newSpeaker = func(o bgp.Options, reg prometheus.Registerer, _ *slog.Logger) (bgpSpeaker, error) {
		// As bgp.New: its collector on the daemon's registry.
		if err := reg.Register(prometheus.NewGauge(prometheus.GaugeOpts{Name: "test_bgp_speaker"})); err != nil {
			return nil, err
		}
		s := newFakeSpeaker(o)
		speakers = append(speakers, s)
		return s, nil
	}
	// newTestDaemon made the daemon before the seam was set: make it again.
	cfg, ds := conf.Load(td.file, td.d.opts.ConfigOptions)
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	d, err := NewWithOptions(cfg, td.d.opts)
	if err != nil {
		t.Fatal(err)
	}
	td.d = d
	return td, &speakers
}

// TestBGPDaemonRunsSpeaker: run starts the speaker, announces once the
// table is programmed and healthy for announce_delay, and a failed real
// server of an announced virtual server goes to weight 0.
func TestBGPDaemonRunsSpeaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		td, sp := bgpTestDaemon(t, bgpConf)
		td.start(t)
		synctest.Wait()
		if len(*sp) != 1 {
			t.Fatalf("%d speakers", len(*sp))
		}
		s := (*sp)[0]
		<-s.running
		expectOps(t, "lo", td.net.take(), "add addr 10.251.9.1/32 dev lo scope global", "add addr 10.251.9.2/32 dev lo scope global", "add addr 10.251.9.3/32 dev lo scope global")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		expectOps(t, "announced", s.take(), "announce 10.251.9.1/32", "announce 10.251.9.2/32", "announce 10.251.9.3/32")
		if src := td.d.Metrics().Sources().BGP; src == nil {
			t.Error("no BGP source for /status")
		} else if st := src.BGPState(); st.Mode != "speaker" || st.Speaker == nil || st.Speaker.LocalAS != 65101 || len(st.Prefixes) != 3 || !st.Prefixes[2].Announced {
			t.Errorf("/status BGP = %+v", st)
		}

		td.checker(t, "TCP 10.251.9.1:443/10.251.2.1:443/TCP_CHECK#0").ok.Store(false)
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		expectOps(t, "real server down", s.take(), "withdraw 10.251.9.1/32")
		if got := td.d.bgp.Prefixes()[0]; got.Announced || got.Reason != "virtual_server TCP 10.251.9.1:443: 0 healthy real servers, min_healthy 1" {
			t.Errorf("status %+v", got)
		}
		tb, _ := td.kernel.Kernel.Table()
		if got := formatTable(tb); !strings.Contains(got, "TCP 10.251.9.1:443: 10.251.2.1:443 w0") {
			t.Errorf("failed real server of a bgp_announce virtual server not at weight 0:\n%s", got)
		}
		td.stop()
	})
}

// TestBGPDrainOnStop: at stop every prefix is withdrawn first, IPVS keeps
// its table for drain_time, then it is released and the lo addresses go.
func TestBGPDrainOnStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		td, sp := bgpTestDaemon(t, bgpConf)
		td.start(t)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		s := (*sp)[0]
		s.take()
		td.net.take()
		stopped := make(chan time.Time)
		go func() { td.stop(); stopped <- time.Now() }()
		synctest.Wait()
		expectOps(t, "at SIGTERM", s.take(), "withdraw 10.251.9.1/32", "withdraw 10.251.9.2/32", "withdraw 10.251.9.3/32", "withdraw all: "+reasonDraining)
		start := time.Now()
		if n := td.kernelDests(t); n != 8 {
			t.Errorf("%d destinations while draining, want 8", n)
		}
		at := <-stopped
		if d := at.Sub(start); d != 10*time.Second {
			t.Errorf("stopped %v after the withdrawal, want drain_time 10s", d)
		}
		if n := td.kernelDests(t); n != 0 {
			t.Errorf("%d destinations after stop", n)
		}
		expectOps(t, "lo after stop", td.net.take(), "remove addr 10.251.9.1/32 dev lo scope global", "remove addr 10.251.9.2/32 dev lo scope global", "remove addr 10.251.9.3/32 dev lo scope global")
		select {
		case <-s.stopped:
		default:
			t.Error("speaker still running")
		}
	})
}

// TestBGPReloadUpdatesSpeaker: a reload that changes nothing of the
// speaker does not touch it; one that adds a neighbor updates the running
// speaker (no new one, sessions kept); a removed virtual server's VIP is
// withdrawn at once and leaves lo.
func TestBGPReloadUpdatesSpeaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		td, sp := bgpTestDaemon(t, bgpConf)
		td.start(t)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		s := (*sp)[0]
		s.take()
		td.net.take()
		reload := func(src string) {
			t.Helper()
			cfg := loadConf(t, src)
			if err := td.d.Reload(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
		}
		reload(bgpConf + "\n")
		if s.updates != 0 || len(*sp) != 1 {
			t.Errorf("unchanged reload: %d updates, %d speakers", s.updates, len(*sp))
		}
		expectOps(t, "unchanged reload", s.take())

		src := strings.Replace(bgpConf, "    announce_delay", "    neighbor 10.251.0.2 {\n        remote_as 65000\n    }\n    announce_delay", 1)
		i, j := strings.Index(src, "virtual_server group G {"), strings.Index(src, "virtual_server 10.251.9.9 80")
		src = src[:i] + src[j:]
		reload(src)
		if s.updates != 1 || len(*sp) != 1 || len(s.opts.Neighbors) != 3 {
			t.Errorf("neighbor added: %d updates, %d speakers, %d neighbors", s.updates, len(*sp), len(s.opts.Neighbors))
		}
		expectOps(t, "group removed", s.take(), "withdraw 10.251.9.2/32", "withdraw 10.251.9.3/32")
		expectOps(t, "lo", td.net.take(), "remove addr 10.251.9.2/32 dev lo scope global", "remove addr 10.251.9.3/32 dev lo scope global")

		// bgp_speaker becomes route-only: the speaker stops, its
		// collectors go; back to a speaker: a new one starts.
		reload(strings.Replace(src, "router_id 10.251.0.11", "route_only dummy0", 1))
		select {
		case <-s.stopped:
		default:
			t.Error("speaker still running after route_only")
		}
		expectOps(t, "speaker removed", s.take(), "withdraw all: reload: announcer replaced")
		reload(src)
		if len(*sp) != 2 {
			t.Fatalf("%d speakers after bgp_speaker came back", len(*sp))
		}
		<-(*sp)[1].running
		td.stop()
	})
}

// recordingKernel records the order of NewDestination calls.
type recordingKernel struct {
	*fakeKernel
	mu    sync.Mutex
	added []string
}

func (k *recordingKernel) NewDestination(key ipvs.ServiceKey, d ipvs.Destination) error {
	k.mu.Lock()
	k.added = append(k.added, fmt.Sprintf("%s %s", key, d.AddrPort()))
	k.mu.Unlock()
	return k.fakeKernel.NewDestination(key, d)
}

// TestBGPDeterministicOrder: real servers are added in (address, port)
// order whatever their order in the configuration, for every virtual
// server, so that two directors' mh tables agree.
func TestBGPDeterministicOrder(t *testing.T) {
	for _, order := range [][]string{{"10.0.0.3", "10.0.0.1", "10.0.0.2"}, {"10.0.0.2", "10.0.0.3", "10.0.0.1"}} {
		var b strings.Builder
		b.WriteString("virtual_server 192.0.2.1 80 {\n    lb_algo mh\n    lb_kind NAT\n    protocol TCP\n")
		for _, a := range order {
			fmt.Fprintf(&b, "    real_server %s 80 {\n    }\n", a)
		}
		b.WriteString("    real_server 10.0.0.1 79 {\n    }\n}\n")
		k := &recordingKernel{fakeKernel: &fakeKernel{Kernel: &ipvstest.Kernel{}}}
		runLVS(t, testPlan(t, b.String()), k, nil)
		want := []string{"TCP 192.0.2.1:80 10.0.0.1:79", "TCP 192.0.2.1:80 10.0.0.1:80", "TCP 192.0.2.1:80 10.0.0.2:80", "TCP 192.0.2.1:80 10.0.0.3:80"}
		k.mu.Lock()
		if !slices.Equal(k.added, want) {
			t.Errorf("config order %v: added %q, want %q", order, k.added, want)
		}
		k.mu.Unlock()
	}
}

// TestBGPAnnounceInhibits: a failed real server of a virtual server with
// bgp_announce goes to weight 0 (kept in place), as with
// inhibit_on_failure; without bgp_announce it is removed.
func TestBGPAnnounceInhibits(t *testing.T) {
	src := `bgp_speaker {
    route_only
}
virtual_server 192.0.2.1 80 {
    lb_algo mh
    lb_kind DR
    protocol TCP
    bgp_announce
    real_server 10.0.0.1 80 {
        TCP_CHECK {
        }
    }
    real_server 10.0.0.2 80 {
        TCP_CHECK {
        }
    }
}
`
	lb := runSteps(t, src, vs80, vs80+": 10.0.0.1:80 w1, 10.0.0.2:80 w1", []step{
		{id: "10.0.0.1:80/TCP_CHECK#0", up: false, reason: "connect", table: vs80 + ": 10.0.0.1:80 w0, 10.0.0.2:80 w1"},
		{id: "10.0.0.1:80/TCP_CHECK#0", up: true, reason: "ok", table: vs80 + ": 10.0.0.1:80 w1, 10.0.0.2:80 w1"},
	})
	if !strings.Contains(lb.String(), "weight 0 (bgp_announce)") {
		t.Errorf("log:\n%s", lb)
	}
	runSteps(t, strings.Replace(src, "    bgp_announce\n", "", 1), vs80, vs80+": 10.0.0.1:80 w1, 10.0.0.2:80 w1", []step{
		{id: "10.0.0.1:80/TCP_CHECK#0", up: false, reason: "connect", table: vs80 + ": 10.0.0.2:80 w1"},
	})
}

// fakeNetHas is a fakeNet whose lo already holds some addresses (Has).
type fakeNetHas struct {
	fakeNet
	present map[string]bool // vip.Address.String()
}

func (f *fakeNetHas) Has(a vip.Address) (bool, error) { return f.present[a.String()], nil }

// TestBGPLeavesForeignLoAddress: a VIP someone else already put on lo is
// used as it is, not added, and still there after lvs-ha stops (it owns
// only the addresses it added).
func TestBGPLeavesForeignLoAddress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := testPlan(t, bgpConf).bgp
		n := &fakeNetHas{present: map[string]bool{"10.251.9.2/32 dev lo scope global": true}}
		b := newBGPD(p, &fakeAnnouncer{}, bgpdOptions{Addrs: n})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = b.Run(ctx); close(done) }()
		synctest.Wait()
		expectOps(t, "lo at start", n.take(), "add addr 10.251.9.1/32 dev lo scope global", "add addr 10.251.9.3/32 dev lo scope global")
		cancel()
		<-done
		b.stop()
		expectOps(t, "lo after stop", n.take(), "remove addr 10.251.9.1/32 dev lo scope global", "remove addr 10.251.9.3/32 dev lo scope global")
	})
}

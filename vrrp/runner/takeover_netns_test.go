//go:build linux

package runner

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/garp"
	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/iproute"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
	"github.com/lvs-ha/lvs-ha/vrrp/vrrpsock"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// BenchmarkTakeoverAdvertToGARP is a takeover's path in the runner from
// its first advert sent to its first gratuitous ARP written: the actions
// that follow SendAdvert on becoming master (the address add over netlink,
// the GARP schedule's start and the first GARP's write; ns/op covers the
// whole burst of garp_master_repeat GARPs, ns-to-first-GARP/op the first,
// p50-ns-to-first-GARP its median),
// carried out as carryOut does, with the daemon's real vip.NewHere Manager and
// garp.Announcer (prepared) on a veth in a private namespace, after 2 ms of
// idleness as a takeover comes after silence. Between rounds the address
// is removed and the schedule stopped (not timed). Root only.
func BenchmarkTakeoverAdvertToGARP(b *testing.B) {
	benchTakeoverAdvertToGARP(b, false, 2*time.Millisecond)
}

// BenchmarkTakeoverAdvertToGARPWatched is BenchmarkTakeoverAdvertToGARP
// with the daemon's watch of deleted addresses, routes and rules
// (iproute.WatchDeletions, which guards the static entries) running in the
// namespace, as in the daemon: the address add must not wake it (before its
// socket filter, the add's RTM_NEWADDR and RTM_NEWROUTEs woke its thread,
// which competed with the takeover's for the CPU before the first GARP).
// Here the watch's goroutine is locked to a thread in the namespace, so a
// wake-up costs a second thread hand-off that the daemon's does not.
func BenchmarkTakeoverAdvertToGARPWatched(b *testing.B) {
	benchTakeoverAdvertToGARP(b, true, 2*time.Millisecond)
}

// BenchmarkTakeoverAdvertToGARPAfterIdle is BenchmarkTakeoverAdvertToGARP
// after 200 ms of idleness instead of 2 ms, nearer a takeover's (a master
// down interval of silence): the same calls take two to three times as
// long on a CPU that idled that long (run it with -benchtime=30x).
func BenchmarkTakeoverAdvertToGARPAfterIdle(b *testing.B) {
	benchTakeoverAdvertToGARP(b, false, 200*time.Millisecond)
}

func benchTakeoverAdvertToGARP(b *testing.B, watched bool, idle time.Duration) {
	ns := netns.New(b)
	h := ns.Netlink(b)
	netns.AddVethUp(b, h, "tk0", "tk1", nil)
	if watched {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- ns.Do(func() error { return iproute.WatchDeletions(ctx, func() {}) }) }()
		b.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				b.Error(err)
			}
		})
	}
	an := garp.NewAnnouncer(garp.AnnouncerConfig{})
	b.Cleanup(func() { an.Close() })
	c := &quietConn{src: netip.MustParseAddr(addrA4), dst: vrrpsock.DefaultGroup4}
	err := ns.Do(func() error {
		r, err := New(Options{
			Instances: []InstanceConfig{{
				Machine:   vrrp.Options{Name: "VI_1", VRID: 51, Priority: 100, Version: 3, AdvertInterval: time.Second},
				Interface: "tk0",
				VIPs:      []vip.Address{{Prefix: netip.MustParsePrefix("192.0.2.100/24")}},
			}},
			Conns:     quietConns{c},
			VIPs:      vip.NewHere(),
			Announcer: an,
			Logger:    slog.New(slog.DiscardHandler),
		})
		if err != nil {
			return err
		}
		if err := an.Prepare("tk0"); err != nil {
			return err
		}
		in := r.insts[0]
		up := tag(in.m, []vrrp.Action{vrrp.AddVIPs{}, vrrp.SendGARP{Reason: vrrp.GARPBecomeMaster}})
		down := tag(in.m, []vrrp.Action{vrrp.RemoveVIPs{}})
		sent := in.stats.GARPsSent
		var first time.Duration
		firsts := make([]time.Duration, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			r.carryOut(down, "")
			in.sched.Stop()
			time.Sleep(idle)
			r.now = time.Now()
			b.StartTimer()
			start := time.Now()
			r.carryOut(up, "")
			first += r.garpSent.first.Sub(start)
			firsts = append(firsts, r.garpSent.first.Sub(start))
		}
		b.StopTimer()
		b.ReportMetric(float64(first.Nanoseconds())/float64(b.N), "ns-to-first-GARP/op")
		slices.Sort(firsts)
		b.ReportMetric(float64(firsts[len(firsts)/2].Nanoseconds()), "p50-ns-to-first-GARP")
		if in.stats.VIPErrors != 0 || in.stats.GARPErrors != 0 || in.stats.GARPsSent-sent < uint64(b.N) {
			b.Fatalf("%d VIP errors, %d GARP errors, %d GARPs sent in %d takeovers", in.stats.VIPErrors, in.stats.GARPErrors, in.stats.GARPsSent-sent, b.N)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// TestTakeoverApproached: a backup in poll mode (real sockets, no master)
// parks until parkLead before its master down deadline (parker), then
// waits in a system call until approachLead before it, and waits out the
// rest capped (capWait: no system call state), so that sysmon, which the
// end of that system call wakes (see approachLead), has preempted the loop
// and slowed its polling before the takeover, and polls through the capped
// waits (a park straight into the approach, as tried in session 17, left
// sysmon asleep until a system call woke it). Before approachLead the last
// long wait ended spinLead before the deadline, and sysmon's preemption
// and 20 us wake-ups fell on the takeover. Root only.
func TestTakeoverApproached(t *testing.T) {
	ns, an := pollLab(t, "ap0", "ap1")

	type wait struct {
		capped, parked bool
		end            time.Time
		sysmon         bool // a thread (sysmon) sleeps in nanosleep as the wait ends
	}
	var (
		waits    []wait
		mastered time.Time
	)
	err := ns.Do(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var r *Runner
		r, err := New(pollOptions(an, "ap0", "192.0.2.101/24",
			vrrp.Options{Name: "VI_1", VRID: 52, Priority: 100, Version: 3, AdvertInterval: 100 * time.Millisecond},
			// Called on the loop: r.insts is the loop's to read.
			func() {
				if mastered.IsZero() && r.insts[0].m.State() == vrrp.StateMaster {
					mastered = time.Now()
					cancel()
				}
			}))
		if err != nil {
			return err
		}
		r.waited = func(capped, parked bool, end time.Time) {
			if mastered.IsZero() {
				waits = append(waits, wait{capped, parked, end, capped && sysmonPolls(t)})
			}
		}
		return r.Run(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if mastered.IsZero() {
		t.Fatal("the backup did not take over")
	}
	if len(waits) == 0 || !waits[len(waits)-1].capped {
		t.Errorf("the wait before the takeover was a system call (uncapped)")
	}
	var lastLong, lastPark time.Time
	for _, w := range waits {
		switch {
		case w.parked:
			lastPark = w.end
		case !w.capped:
			lastLong = w.end
		}
	}
	// The master down interval is 3 x 100 ms + skew (61 ms): the first
	// wait parks until parkLead before the deadline (over parkHorizon
	// away), the next is a system call that ends approachLead before it.
	if lastPark.IsZero() {
		t.Error("no parked wait before the takeover")
	} else if gap := mastered.Sub(lastPark); gap < parkLead-5*time.Millisecond {
		t.Errorf("the last parked wait ended %v before the takeover, want about parkLead (%v)", gap, parkLead)
	}
	if lastLong.IsZero() || lastLong.Before(lastPark) {
		t.Fatal("no system-call wait between the park and the takeover")
	}
	if gap := mastered.Sub(lastLong); gap < approachLead-5*time.Millisecond || gap > parkLead {
		t.Errorf("the last system-call wait ended %v before the takeover, want about approachLead (%v)", gap, approachLead)
	}
	// The long wait's end woke sysmon: it polls (nanosleep) through the
	// capped waits instead of sleeping until the takeover's first system
	// call wakes it.
	polls := 0
	for _, w := range waits {
		if w.capped && w.end.After(lastLong) && w.sysmon {
			polls++
		}
	}
	if polls == 0 {
		t.Errorf("sysmon did not poll during the approach's capped waits: the takeover would wake it")
	}
	t.Logf("%d waits before the takeover; the last park ended %v before it, the last system-call wait %v; sysmon polling at the end of %d capped waits after it", len(waits), mastered.Sub(lastPark), mastered.Sub(lastLong), polls)
}

// pollLab is a namespace with a veth link (name, its peer) up and
// addressed, and an announcer prepared on it: the lab of a Runner in poll
// mode with real sockets (pollOptions).
func pollLab(t *testing.T, name, peer string) (*netns.NS, *garp.Announcer) {
	t.Helper()
	ns := netns.New(t)
	h := ns.Netlink(t)
	link := netns.AddVethUp(t, h, name, peer, nil)
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(192, 0, 2, 1), Mask: net.CIDRMask(24, 32)}}); err != nil {
		t.Fatal(err)
	}
	an := garp.NewAnnouncer(garp.AnnouncerConfig{})
	t.Cleanup(func() { an.Close() })
	if err := ns.Do(func() error { return an.Prepare(name) }); err != nil {
		t.Fatal(err)
	}
	return ns, an
}

// pollOptions are the Options of one instance m on iface in pollLab's
// namespace, with vip (a prefix) as its address and real sockets.
func pollOptions(an *garp.Announcer, iface, vipPrefix string, m vrrp.Options, onTransition func()) Options {
	return Options{
		Instances: []InstanceConfig{{
			Machine:   m,
			Interface: iface,
			VIPs:      []vip.Address{{Prefix: netip.MustParsePrefix(vipPrefix)}},
		}},
		Conns:        SocketFactory{},
		VIPs:         vip.NewHere(),
		Announcer:    an,
		Logger:       slog.New(slog.DiscardHandler),
		OnTransition: onTransition,
	}
}

// sysmonPolls reports whether a thread of the process sleeps in
// nanosleep(2), which only sysmon does (runtime usleep; the others park in
// futex(2) or wait in epoll or ppoll): sysmon polls rather than sleeping
// until woken (futex). threadsIn reads /proc without waking it.
func sysmonPolls(t *testing.T) bool {
	found, err := threadsIn(unix.SYS_NANOSLEEP)
	if err != nil {
		t.Error(err)
		return false
	}
	return len(found) > 0
}

// TestLoopParks: a master in poll mode (real sockets, no realtime
// priority) with the default 1 s adverts waits parked in the Go runtime's
// poller, its P idle (the goroutine shows as "IO wait"), not in ppoll as a
// system call (until session 17; "syscall"), which woke sysmon at every
// wait's end; with 10 ms adverts its waits are capped and keep its P
// (never "IO wait"), which a collection's idle mark workers cannot take,
// and with 200 ms adverts (within parkHorizon) they stay system calls;
// a backup parks too until parkLead before its master down deadline
// (TestTakeoverApproached). The loop's goroutine is sampled between
// adverts. Root only.
func TestLoopParks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		advert   time.Duration
		priority uint8
		parks    bool
	}{
		{"master 1s", time.Second, 255, true},
		{"master 10ms", 10 * time.Millisecond, 255, false},
		{"master 200ms", 200 * time.Millisecond, 255, false}, // within parkHorizon
		{"backup 1s", time.Second, 100, true},
	} {
		t.Run(tc.name, func(t *testing.T) { testLoopParks(t, tc.advert, tc.priority, tc.parks) })
	}
}

func testLoopParks(t *testing.T, advert time.Duration, priority uint8, parks bool) {
	ns, an := pollLab(t, "pk0", "pk1")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var r *Runner
	mastered := make(chan struct{})
	var once sync.Once
	err := ns.Do(func() error {
		var err error
		r, err = New(pollOptions(an, "pk0", "192.0.2.102/24",
			vrrp.Options{Name: "VI_1", VRID: 53, Priority: priority, Version: 3, AdvertInterval: advert},
			// Called on the loop: r.insts is the loop's to read.
			func() {
				if r.insts[0].m.State() == vrrp.StateMaster {
					once.Do(func() { close(mastered) })
				}
			}))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- ns.Do(func() error { return r.Run(ctx) }) }()
	var want <-chan struct{} = mastered // a backup: Ready, and no master for 3 s
	if priority != 255 {
		want = r.Ready()
	}
	select {
	case <-want:
	case err := <-ran:
		t.Fatalf("Run returned before the instance was ready: %v", err)
	}
	states := map[string]int{}
	buf := make([]byte, 1<<20)
	for range 100 {
		time.Sleep(3 * time.Millisecond) // sampling, not a tolerance
		stacks := buf[:runtime.Stack(buf, true)]
		for g := range strings.SplitSeq(string(stacks), "\n\n") {
			if strings.Contains(g, "(*Runner).pollLoop(") { // not the relay's pollLoop.func
				// "goroutine 42 [IO wait]:" or "[IO wait, 2 minutes]:"
				head, _, _ := strings.Cut(g, "\n")
				if _, st, ok := strings.Cut(head, "["); ok {
					st, _, _ = strings.Cut(st, "]")
					st, _, _ = strings.Cut(st, ",")
					states[st]++
				}
			}
		}
	}
	sent := r.Snapshot().Instances[0].AdvertsSent
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	t.Logf("loop goroutine's states over 100 samples: %v; %d adverts sent", states, sent)
	if master := priority == 255; master != (sent > 0) {
		t.Fatalf("%d adverts sent at priority %d: the loop did not run as it should", sent, priority)
	}
	switch parked := states["IO wait"]; {
	case parks && parked < 50:
		t.Errorf("the loop's goroutine was parked in the runtime's poller in %d of 100 samples (%v), want most", parked, states)
	case !parks && parked > 0:
		t.Errorf("the loop's goroutine was parked in %d of 100 samples (%v), want none (capped waits keep the P)", parked, states)
	}
}

package garp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func vip(iface, addr string) VIP { return VIP{Interface: iface, Addr: netip.MustParseAddr(addr)} }

// ann is a compact expected announcement: offset from t0, interface, address.
type ann struct {
	at    time.Duration
	iface string
	addr  string
}

func (a ann) String() string { return fmt.Sprintf("+%v %s %s", a.at, a.iface, a.addr) }

func compact(as []Announcement) []ann {
	out := make([]ann, 0, len(as))
	for _, a := range as {
		out = append(out, ann{a.At.Sub(t0), a.Interface, a.Addr.String()})
	}
	return out
}

// burstOf returns repeat rounds over vips, all at offset at.
func burstOf(at time.Duration, repeat int, vips ...VIP) []ann {
	var out []ann
	for range repeat {
		for _, v := range vips {
			out = append(out, ann{at, v.Interface, v.Addr.String()})
		}
	}
	return out
}

func mustScheduler(t *testing.T, o Options) *Scheduler {
	t.Helper()
	s, err := NewScheduler(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// step is one action on the scheduler at offset at from t0.
type step struct {
	at     time.Duration
	op     string // "due", "stop", "start", "lower"
	want   []ann  // for "due"
	next   time.Duration
	noNext bool // NextDeadline must be zero after the step
}

func TestScheduler(t *testing.T) {
	v4 := vip("eth0", "192.0.2.10")
	v6 := vip("eth0", "2001:db8::10")
	v4b := vip("eth0", "192.0.2.11")
	v4c := vip("eth1", "198.51.100.1")
	defaults := DefaultOptions()
	noDelay := defaults
	noDelay.MasterDelay = 0
	refresh := defaults
	refresh.MasterRefresh = 60 * time.Second
	refresh.MasterRefreshRepeat = 2
	paced := defaults
	paced.MasterRepeat = 3
	paced.MasterDelay = 0
	paced.ARPInterval = ms(100)
	paced.NAInterval = ms(10)
	slowPace := defaults
	slowPace.MasterDelay = 0
	slowPace.ARPInterval = time.Second
	overlap := defaults
	overlap.MasterRepeat = 2
	overlap.MasterDelay = ms(150)
	overlap.ARPInterval = ms(100)

	tests := []struct {
		name  string
		opts  Options
		vips  []VIP
		steps []step
	}{{
		name: "defaults: 5 now, 5 after 5s, then nothing",
		opts: defaults,
		vips: []VIP{v4, v6},
		steps: []step{
			{at: 0, op: "due", want: burstOf(0, 5, v4, v6), next: 5 * time.Second},
			{at: 5*time.Second - 1, op: "due", want: nil, next: 5 * time.Second},
			{at: 5 * time.Second, op: "due", want: burstOf(5*time.Second, 5, v4, v6), noNext: true},
			{at: time.Hour, op: "due", want: nil, noNext: true},
		},
	}, {
		name: "garp_master_delay 0: no second burst",
		opts: noDelay,
		vips: []VIP{v4},
		steps: []step{
			{at: 0, op: "due", want: burstOf(0, 5, v4), noNext: true},
		},
	}, {
		name: "late caller gets both bursts with their scheduled times",
		opts: defaults,
		vips: []VIP{v4},
		steps: []step{
			{at: 7 * time.Second, op: "due", want: append(burstOf(0, 5, v4), burstOf(5*time.Second, 5, v4)...), noNext: true},
		},
	}, {
		name: "refresh every 60s with repeat 2",
		opts: refresh,
		vips: []VIP{v4, v6},
		steps: []step{
			{at: 0, op: "due", want: burstOf(0, 5, v4, v6), next: 5 * time.Second},
			{at: 5 * time.Second, op: "due", want: burstOf(5*time.Second, 5, v4, v6), next: 60 * time.Second},
			{at: 60 * time.Second, op: "due", want: burstOf(60*time.Second, 2, v4, v6), next: 120 * time.Second},
			{at: 119 * time.Second, op: "due", want: nil, next: 120 * time.Second},
			{at: 120 * time.Second, op: "due", want: burstOf(120*time.Second, 2, v4, v6), next: 180 * time.Second},
			// Missed periods 180s, 240s, 300s coalesce into one burst.
			{at: 310 * time.Second, op: "due", want: burstOf(180*time.Second, 2, v4, v6), next: 360 * time.Second},
			{at: 320 * time.Second, op: "stop", noNext: true},
			{at: 360 * time.Second, op: "due", want: nil, noNext: true},
		},
	}, {
		name: "garp_interval / gna_interval pace per interface and family",
		opts: paced,
		vips: []VIP{v4, v4b, v6, v4c},
		steps: []step{
			{at: 0, op: "due", want: []ann{
				{0, "eth0", "192.0.2.10"}, {0, "eth0", "2001:db8::10"}, {0, "eth1", "198.51.100.1"},
			}, next: ms(10)},
			{at: ms(10), op: "due", want: []ann{{ms(10), "eth0", "2001:db8::10"}}, next: ms(20)},
			{at: ms(20), op: "due", want: []ann{{ms(20), "eth0", "2001:db8::10"}}, next: ms(100)},
			{at: ms(250), op: "due", want: []ann{
				{ms(100), "eth0", "192.0.2.11"}, {ms(100), "eth1", "198.51.100.1"},
				{ms(200), "eth0", "192.0.2.10"}, {ms(200), "eth1", "198.51.100.1"},
			}, next: ms(300)},
			{at: ms(500), op: "due", want: []ann{
				{ms(300), "eth0", "192.0.2.11"}, {ms(400), "eth0", "192.0.2.10"}, {ms(500), "eth0", "192.0.2.11"},
			}, noNext: true},
		},
	}, {
		name: "second burst queues behind a paced first burst",
		opts: overlap,
		vips: []VIP{v4},
		steps: []step{
			{at: 0, op: "due", want: []ann{{0, "eth0", "192.0.2.10"}}, next: ms(100)},
			{at: ms(100), op: "due", want: []ann{{ms(100), "eth0", "192.0.2.10"}}, next: ms(150)},
			// Trigger at 150ms: its packets take the slots 200ms and 300ms.
			{at: ms(150), op: "due", want: nil, next: ms(200)},
			{at: ms(300), op: "due", want: []ann{{ms(200), "eth0", "192.0.2.10"}, {ms(300), "eth0", "192.0.2.10"}}, noNext: true},
		},
	}, {
		name: "stop cancels; pacing restarts from the last packet sent",
		opts: slowPace,
		vips: []VIP{v4},
		steps: []step{
			{at: 0, op: "due", want: []ann{{0, "eth0", "192.0.2.10"}}, next: time.Second},
			{at: ms(500), op: "stop", noNext: true},
			{at: ms(600), op: "start", next: time.Second},
			{at: 5 * time.Second, op: "due", want: []ann{
				{time.Second, "eth0", "192.0.2.10"}, {2 * time.Second, "eth0", "192.0.2.10"},
				{3 * time.Second, "eth0", "192.0.2.10"}, {4 * time.Second, "eth0", "192.0.2.10"},
				{5 * time.Second, "eth0", "192.0.2.10"},
			}, noNext: true},
		},
	}, {
		name: "lower priority advert: 5 now and 5 after garp_lower_prio_delay",
		opts: defaults,
		vips: []VIP{v4},
		steps: []step{
			{at: 0, op: "due", want: burstOf(0, 5, v4), next: 5 * time.Second},
			{at: 5 * time.Second, op: "due", want: burstOf(5*time.Second, 5, v4), noNext: true},
			{at: 10 * time.Second, op: "lower", next: 10 * time.Second},
			{at: 10 * time.Second, op: "due", want: burstOf(10*time.Second, 5, v4), next: 15 * time.Second},
			{at: 15 * time.Second, op: "due", want: burstOf(15*time.Second, 5, v4), noNext: true},
		},
	}, {
		name: "lower priority advert while stopped is ignored",
		opts: defaults,
		vips: []VIP{v4},
		steps: []step{
			{at: 0, op: "stop", noNext: true},
			{at: time.Second, op: "lower", noNext: true},
			{at: time.Hour, op: "due", want: nil, noNext: true},
		},
	}, {
		name: "restart while master resets the schedule",
		opts: defaults,
		vips: []VIP{v4},
		steps: []step{
			{at: 0, op: "due", want: burstOf(0, 5, v4), next: 5 * time.Second},
			{at: 2 * time.Second, op: "start", next: 2 * time.Second},
			{at: 5 * time.Second, op: "due", want: burstOf(2*time.Second, 5, v4), next: 7 * time.Second},
			{at: 7 * time.Second, op: "due", want: burstOf(7*time.Second, 5, v4), noNext: true},
		},
	}, {
		name: "no VIPs: nothing to do",
		opts: refresh,
		vips: nil,
		steps: []step{
			{at: 0, op: "due", want: nil, noNext: true},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustScheduler(t, tc.opts)
			if err := s.Start(t0, tc.vips); err != nil {
				t.Fatal(err)
			}
			if !s.active {
				t.Fatal("not active after Start")
			}
			for i, st := range tc.steps {
				now := t0.Add(st.at)
				switch st.op {
				case "due":
					got := compact(s.Due(now))
					if !slices.Equal(got, st.want) {
						t.Fatalf("step %d: Due(+%v):\n got  %v\n want %v", i, st.at, got, st.want)
					}
				case "stop":
					s.Stop()
					if s.active {
						t.Fatalf("step %d: active after Stop", i)
					}
				case "start":
					if err := s.Start(now, tc.vips); err != nil {
						t.Fatal(err)
					}
				case "lower":
					s.LowerPriority(now)
				default:
					t.Fatalf("bad op %q", st.op)
				}
				nd := s.NextDeadline()
				switch {
				case st.noNext && !nd.IsZero():
					t.Fatalf("step %d (%s +%v): NextDeadline = +%v, want none", i, st.op, st.at, nd.Sub(t0))
				case !st.noNext && !nd.Equal(t0.Add(st.next)):
					t.Fatalf("step %d (%s +%v): NextDeadline = %v, want +%v", i, st.op, st.at, describe(nd), st.next)
				}
			}
		})
	}
}

func describe(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return "+" + t.Sub(t0).String()
}

// TestSchedulerFakeClockLoop drives the scheduler like the VRRP runner does
// (sleep until NextDeadline, then Due) and checks totals and timestamps.
func TestSchedulerFakeClockLoop(t *testing.T) {
	o := DefaultOptions()
	o.MasterRefresh = 30 * time.Second
	o.ARPInterval = ms(20)
	vips := []VIP{vip("eth0", "192.0.2.10"), vip("eth0", "192.0.2.11"), vip("vrrp.51", "2001:db8::10")}
	s := mustScheduler(t, o)
	if err := s.Start(t0, vips); err != nil {
		t.Fatal(err)
	}
	end := t0.Add(95 * time.Second)
	now := t0
	var all []Announcement
	wakeups := 0
	for {
		got := s.Due(now)
		for _, a := range got {
			if a.At.After(now) {
				t.Fatalf("announcement at %v returned at %v", describe(a.At), describe(now))
			}
		}
		all = append(all, got...)
		nd := s.NextDeadline()
		if nd.IsZero() || nd.After(end) {
			break
		}
		if !nd.After(now) {
			t.Fatalf("NextDeadline %v not after now %v after Due", describe(nd), describe(now))
		}
		now = nd
		wakeups++
		if wakeups > 1000 {
			t.Fatal("runaway loop")
		}
	}
	perVIP := map[string]int{}
	var arpTimes []time.Duration
	for _, a := range all {
		perVIP[a.Addr.String()]++
		if a.Kind() == KindARP {
			arpTimes = append(arpTimes, a.At.Sub(t0))
		}
	}
	// 5 + 5 + refresh at 30, 60, 90 s (1 each).
	for _, v := range vips {
		if n := perVIP[v.Addr.String()]; n != 13 {
			t.Errorf("%s: %d packets, want 13", v.Addr, n)
		}
	}
	// The two ARP VIPs share eth0: 10 ARPs per burst spaced 20 ms.
	var want []time.Duration
	for _, base := range []time.Duration{0, 5 * time.Second} {
		for i := range 10 {
			want = append(want, base+time.Duration(i)*ms(20))
		}
	}
	for _, base := range []time.Duration{30 * time.Second, 60 * time.Second, 90 * time.Second} {
		want = append(want, base, base+ms(20))
	}
	if !slices.Equal(arpTimes, want) {
		t.Errorf("ARP times:\n got  %v\n want %v", arpTimes, want)
	}
	for i := 1; i < len(all); i++ {
		if all[i].At.Before(all[i-1].At) {
			t.Fatalf("announcements out of order at %d: %v then %v", i, describe(all[i-1].At), describe(all[i].At))
		}
	}
}

func TestSchedulerStartErrors(t *testing.T) {
	tests := []struct {
		name string
		vip  VIP
		want string
	}{
		{"empty interface", VIP{Addr: netip.MustParseAddr("192.0.2.1")}, "empty interface name"},
		{"invalid address", VIP{Interface: "eth0"}, "invalid address"},
		{"unspecified v4", vip("eth0", "0.0.0.0"), "not a unicast"},
		{"unspecified v6", vip("eth0", "::"), "not a unicast"},
		{"multicast", vip("eth0", "ff02::1"), "not a unicast"},
		{"broadcast", vip("eth0", "255.255.255.255"), "not a unicast"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustScheduler(t, DefaultOptions())
			ok := vip("eth0", "192.0.2.10")
			if err := s.Start(t0, []VIP{ok}); err != nil {
				t.Fatal(err)
			}
			err := s.Start(t0.Add(time.Second), []VIP{ok, tc.vip})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "vip #1") {
				t.Fatalf("Start error = %v, want one naming vip #1 and containing %q", err, tc.want)
			}
			// The previous schedule is untouched.
			if got := len(s.Due(t0)); got != 5 {
				t.Fatalf("after failed Start: %d due, want the 5 of the first Start", got)
			}
		})
	}
}

func TestSchedulerMappedAddressIsARP(t *testing.T) {
	s := mustScheduler(t, DefaultOptions())
	if err := s.Start(t0, []VIP{vip("eth0", "::ffff:192.0.2.10")}); err != nil {
		t.Fatal(err)
	}
	got := s.Due(t0)
	if len(got) != 5 || got[0].Kind() != KindARP || got[0].Addr != netip.MustParseAddr("192.0.2.10") {
		t.Fatalf("got %v", got)
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := DefaultOptions()
	bad.MasterRepeat = -1
	bad.NAInterval = -time.Second
	_, err := NewScheduler(bad)
	if err == nil {
		t.Fatal("no error for negative options")
	}
	for _, want := range []string{"garp_master_repeat", "gna_interval"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestKind(t *testing.T) {
	for _, tc := range []struct {
		addr string
		kind Kind
		str  string
	}{{"192.0.2.1", KindARP, "arp"}, {"2001:db8::1", KindNA, "na"}, {"::ffff:10.0.0.1", KindARP, "arp"}} {
		k := KindOf(netip.MustParseAddr(tc.addr))
		if k != tc.kind || k.String() != tc.str {
			t.Errorf("KindOf(%s) = %v", tc.addr, k)
		}
	}
	if s := Kind(9).String(); s != "Kind(9)" {
		t.Errorf("Kind(9).String() = %q", s)
	}
}

type fakeSender struct {
	sent []Announcement
	fail map[netip.Addr]bool
}

func (f *fakeSender) Send(a Announcement) error {
	if f.fail[a.Addr] {
		return fmt.Errorf("send %s: %w", a.Addr, errBoom)
	}
	f.sent = append(f.sent, a)
	return nil
}

var errBoom = errors.New("boom")

func TestFlush(t *testing.T) {
	o := DefaultOptions()
	o.MasterRepeat = 2
	s := mustScheduler(t, o)
	bad := netip.MustParseAddr("192.0.2.66")
	if err := s.Start(t0, []VIP{vip("eth0", "192.0.2.10"), {Interface: "eth0", Addr: bad}, vip("eth0", "2001:db8::1")}); err != nil {
		t.Fatal(err)
	}
	f := &fakeSender{fail: map[netip.Addr]bool{bad: true}}
	n, err := Flush(s, f, t0)
	if n != 4 || len(f.sent) != 4 {
		t.Fatalf("sent %d (%d recorded), want 4", n, len(f.sent))
	}
	if !errors.Is(err, errBoom) {
		t.Fatalf("err = %v, want errBoom joined", err)
	}
	n, err = Flush(s, f, t0.Add(time.Second))
	if n != 0 || err != nil {
		t.Fatalf("second Flush: %d, %v", n, err)
	}
}

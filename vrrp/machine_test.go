package vrrp

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func newMachine(t *testing.T, o Options) *Machine {
	t.Helper()
	m, err := NewMachine(o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// describe renders actions compactly for comparison.
func describe(acts []Action) string {
	var s []string
	for _, a := range acts {
		switch a := a.(type) {
		case SendAdvert:
			s = append(s, fmt.Sprintf("advert(%d)", a.Priority))
		case AddVIPs:
			s = append(s, "add")
		case RemoveVIPs:
			s = append(s, "remove")
		case SendGARP:
			s = append(s, "garp("+a.Reason.String()+")")
		case Notify:
			s = append(s, fmt.Sprintf("%v->%v", a.From, a.To))
		case PriorityChanged:
			s = append(s, fmt.Sprintf("prio(%d->%d)", a.From, a.To))
		case RxLowerPriority:
			s = append(s, fmt.Sprintf("lower(%d from %v)", a.Priority, a.From))
		default:
			s = append(s, fmt.Sprintf("%T", a))
		}
	}
	return strings.Join(s, " ")
}

func wantActs(t *testing.T, what string, acts []Action, want string) {
	t.Helper()
	if got := describe(acts); got != want {
		t.Fatalf("%s: actions %q, want %q", what, got, want)
	}
}

func lastNotify(acts []Action) Notify {
	for i := len(acts) - 1; i >= 0; i-- {
		if n, ok := acts[i].(Notify); ok {
			return n
		}
	}
	return Notify{}
}

// mdi2 is the VRRPv2 Master_Down_Interval for priority p, 1s adverts.
func mdi2(p int) time.Duration { return 3*time.Second + time.Duration(256-p)*time.Second/256 }

func advertFrom(host byte, prio uint8) AdvertReceived {
	return AdvertReceived{
		Advertisement: Advertisement{Version: 2, VRID: 51, Priority: prio, Interval: time.Second, Addrs: addrs("192.0.2.100")},
		From:          netip.AddrFrom4([4]byte{192, 0, 2, host}),
	}
}

func TestOptionsValidation(t *testing.T) {
	good := opts4(1, 100)
	tests := []struct {
		name string
		mut  func(o *Options)
	}{
		{"no vrid", func(o *Options) { o.VRID = 0 }},
		{"no primary", func(o *Options) { o.PrimaryAddr = netip.Addr{} }},
		{"v2 ipv6", func(o *Options) {
			o.Version, o.PrimaryAddr, o.VIPs = 2, netip.MustParseAddr("fe80::1"), addrs("2001:db8::1")
		}},
		{"bad version", func(o *Options) { o.Version = 4 }},
		{"v2 fractional interval", func(o *Options) { o.AdvertInterval = 1500 * time.Millisecond }},
		{"v3 interval not centiseconds", func(o *Options) { o.Version, o.AdvertInterval = 3, 1005*time.Millisecond }},
		{"v3 interval too long", func(o *Options) { o.Version, o.AdvertInterval = 3, 41*time.Second }},
		{"vip wrong family", func(o *Options) { o.VIPs = addrs("2001:db8::1") }},
		{"duplicate vip", func(o *Options) { o.VIPs = addrs("192.0.2.100", "192.0.2.100") }},
		{"peer wrong family", func(o *Options) { o.UnicastPeers = addrs("2001:db8::1") }},
		{"v3 auth", func(o *Options) { o.Version, o.AuthType, o.AuthPass = 3, AuthPass, "x" }},
		{"long password", func(o *Options) { o.AuthType, o.AuthPass = AuthPass, "123456789" }},
		{"AH", func(o *Options) { o.AuthType = AuthAH }},
		{"bad initial state", func(o *Options) { o.InitialState = StateFault }},
		{"negative preempt delay", func(o *Options) { o.PreemptDelay = -time.Second }},
		{"down timer adverts", func(o *Options) { o.DownTimerAdverts = 101 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.mut(&o)
			if _, err := NewMachine(o); err == nil {
				t.Fatal("accepted")
			} else if !strings.HasPrefix(err.Error(), "vrrp: ") {
				t.Fatalf("error %q does not say where", err)
			}
		})
	}
	m := newMachine(t, Options{VRID: 1, PrimaryAddr: netip.MustParseAddr("fe80::1")})
	o := m.Options()
	if o.Version != 3 || o.Priority != 100 || o.AdvertInterval != time.Second || o.DownTimerAdverts != 3 || o.Family != FamilyIPv6 || o.InitialState != StateBackup {
		t.Errorf("defaults not applied: %+v", o)
	}
}

// RFC 5798 §6.4.1
func TestInitialize(t *testing.T) {
	t.Run("owner goes master", func(t *testing.T) {
		m := newMachine(t, opts4(1, 255))
		acts := m.Step(t0, Startup{})
		wantActs(t, "startup", acts, "advert(255) add garp(master) INIT->MASTER")
		if m.NextDeadline() != t0.Add(time.Second) {
			t.Errorf("advert timer %v", m.NextDeadline())
		}
	})
	t.Run("backup", func(t *testing.T) {
		m := newMachine(t, opts4(1, 100))
		wantActs(t, "startup", m.Step(t0, Startup{}), "INIT->BACKUP")
		if got, want := m.NextDeadline(), t0.Add(mdi2(100)); got != want {
			t.Errorf("master down timer %v, want %v", got.Sub(t0), want.Sub(t0))
		}
		if m.MasterDownInterval() != 3609375*time.Microsecond || m.SkewTime() != 609375*time.Microsecond {
			t.Errorf("MDI %v skew %v", m.MasterDownInterval(), m.SkewTime())
		}
	})
	t.Run("initial state master waits one interval", func(t *testing.T) {
		o := opts4(1, 100)
		o.InitialState = StateMaster
		m := newMachine(t, o)
		wantActs(t, "startup", m.Step(t0, Startup{}), "INIT->BACKUP")
		if got, want := m.NextDeadline(), t0.Add(time.Second+time.Second/256); got != want {
			t.Errorf("deadline %v, want %v", got.Sub(t0), want.Sub(t0))
		}
	})
	t.Run("fault at startup", func(t *testing.T) {
		m := newMachine(t, opts4(1, 255))
		wantActs(t, "link down", m.Step(t0, LinkDown{}), "")
		acts := m.Step(t0, Startup{})
		wantActs(t, "startup", acts, "INIT->FAULT")
		if !m.NextDeadline().IsZero() {
			t.Error("timer running in fault")
		}
		wantActs(t, "link up", m.Step(t0.Add(time.Second), LinkUp{}), "advert(255) add garp(master) FAULT->MASTER")
	})
	t.Run("events before startup ignored", func(t *testing.T) {
		m := newMachine(t, opts4(1, 100))
		wantActs(t, "tick", m.Step(t0, Tick{}), "")
		wantActs(t, "advert", m.Step(t0, advertFrom(2, 200)), "")
		wantActs(t, "shutdown", m.Step(t0, Shutdown{}), "")
		if m.State() != StateInitialize {
			t.Fatal(m.State())
		}
	})
}

// RFC 5798 §6.4.2
func TestBackup(t *testing.T) {
	start := func(t *testing.T, o Options) *Machine {
		m := newMachine(t, o)
		m.Step(t0, Startup{})
		return m
	}
	t.Run("skip_check_adv_addr only for the master followed", func(t *testing.T) {
		// keepalived's skip_check_adv_addr skips the address list check
		// only for adverts from the master it already accepted.
		master, other := netip.AddrFrom4([4]byte{192, 0, 2, 2}), netip.AddrFrom4([4]byte{192, 0, 2, 3})
		for _, skip := range []bool{false, true} {
			o := opts4(1, 100)
			o.SkipCheckAdvAddr = skip
			m := start(t, o)
			check := func(when string, src netip.Addr, want bool) {
				t.Helper()
				if e := m.Expect(src); e.CheckVIPs != want || e.RejectAddressMismatch != want {
					t.Errorf("skip=%v, %s, from %v: check %v reject %v, want %v", skip, when, src, e.CheckVIPs, e.RejectAddressMismatch, want)
				}
			}
			check("no master yet", master, true)
			m.Step(t0, advertFrom(2, 200))
			check("following it", master, !skip)
			check("following another", other, true)
		}
	})
	t.Run("master down timer expiry", func(t *testing.T) {
		m := start(t, opts4(1, 100))
		wantActs(t, "early tick", m.Step(t0.Add(mdi2(100)-1), Tick{}), "")
		acts := m.Step(t0.Add(mdi2(100)), Tick{})
		wantActs(t, "expiry", acts, "advert(100) add garp(master) BACKUP->MASTER")
		if r := lastNotify(acts).Reason; r != "master down timer expired" {
			t.Errorf("reason %q", r)
		}
	})
	t.Run("priority 0 sets skew timer", func(t *testing.T) {
		m := start(t, opts4(1, 100))
		now := t0.Add(time.Second)
		wantActs(t, "prio 0", m.Step(now, advertFrom(2, 0)), "")
		if got, want := m.NextDeadline(), now.Add(156*time.Second/256); got != want {
			t.Fatalf("deadline %v, want %v", got.Sub(t0), want.Sub(t0))
		}
	})
	t.Run("higher priority resets timer", func(t *testing.T) {
		m := start(t, opts4(1, 100))
		now := t0.Add(2 * time.Second)
		m.Step(now, advertFrom(2, 200))
		if got := m.NextDeadline(); got != now.Add(mdi2(100)) {
			t.Fatalf("deadline %v", got.Sub(t0))
		}
		if m.MasterAddr() != netip.MustParseAddr("192.0.2.2") || m.MasterPriority() != 200 {
			t.Errorf("master %v/%d", m.MasterAddr(), m.MasterPriority())
		}
	})
	t.Run("equal priority resets timer", func(t *testing.T) {
		m := start(t, opts4(9, 100))
		now := t0.Add(2 * time.Second)
		m.Step(now, advertFrom(2, 100))
		if got := m.NextDeadline(); got != now.Add(mdi2(100)) {
			t.Fatalf("deadline %v", got.Sub(t0))
		}
	})
	t.Run("lower priority discarded when preempting", func(t *testing.T) {
		m := start(t, opts4(1, 100))
		m.Step(t0.Add(2*time.Second), advertFrom(2, 50))
		if got := m.NextDeadline(); got != t0.Add(mdi2(100)) {
			t.Fatalf("deadline %v moved", got.Sub(t0))
		}
	})
	t.Run("lower priority accepted with nopreempt", func(t *testing.T) {
		o := opts4(1, 100)
		o.NoPreempt = true
		m := start(t, o)
		now := t0.Add(2 * time.Second)
		m.Step(now, advertFrom(2, 50))
		if got := m.NextDeadline(); got != now.Add(mdi2(100)) {
			t.Fatalf("deadline %v", got.Sub(t0))
		}
	})
	t.Run("own address and other vrid ignored", func(t *testing.T) {
		m := start(t, opts4(1, 100))
		m.Step(t0.Add(time.Second), advertFrom(1, 200))
		a := advertFrom(2, 200)
		a.VRID = 52
		m.Step(t0.Add(time.Second), a)
		if got := m.NextDeadline(); got != t0.Add(mdi2(100)) {
			t.Fatalf("deadline %v moved", got.Sub(t0))
		}
	})
	t.Run("shutdown", func(t *testing.T) {
		m := start(t, opts4(1, 100))
		wantActs(t, "shutdown", m.Step(t0.Add(time.Second), Shutdown{}), "BACKUP->INIT")
		if !m.NextDeadline().IsZero() {
			t.Error("timer running after shutdown")
		}
	})
}

// RFC 5798 §6.4.3
func TestMaster(t *testing.T) {
	start := func(t *testing.T, o Options) *Machine {
		m := newMachine(t, o)
		m.Step(t0, Startup{})
		m.Step(t0.Add(m.MasterDownInterval()), Tick{})
		if m.State() != StateMaster {
			t.Fatalf("state %v", m.State())
		}
		return m
	}
	became := t0.Add(mdi2(150))
	t.Run("adverts every interval", func(t *testing.T) {
		m := start(t, opts4(1, 150))
		for i := 1; i <= 3; i++ {
			at := became.Add(time.Duration(i) * time.Second)
			if m.NextDeadline() != at {
				t.Fatalf("deadline %v, want %v", m.NextDeadline().Sub(t0), at.Sub(t0))
			}
			wantActs(t, "tick", m.Step(at, Tick{}), "advert(150)")
		}
	})
	t.Run("higher priority steps down", func(t *testing.T) {
		m := start(t, opts4(1, 150))
		now := became.Add(500 * time.Millisecond)
		acts := m.Step(now, advertFrom(2, 200))
		wantActs(t, "higher", acts, "remove MASTER->BACKUP")
		if r := lastNotify(acts).Reason; r != "higher priority 200 from 192.0.2.2" {
			t.Errorf("reason %q", r)
		}
		if m.NextDeadline() != now.Add(mdi2(150)) {
			t.Errorf("down timer %v", m.NextDeadline().Sub(now))
		}
	})
	t.Run("owner_ignore_adverts", func(t *testing.T) {
		// An owner (255) steps down for an equal priority from a higher
		// address and answers a lower priority at once; with
		// OwnerIgnoreAdverts it does neither.
		own := became.Add(-mdi2(150) + mdi2(255))
		for _, ignore := range []bool{false, true} {
			o := opts4(1, 255)
			o.OwnerIgnoreAdverts = ignore
			m := newMachine(t, o)
			m.Step(t0, Startup{})
			if m.State() != StateMaster {
				t.Fatalf("owner starts in %v", m.State())
			}
			lower := describe(m.Step(own, advertFrom(2, 100)))
			equal := describe(m.Step(own.Add(time.Millisecond), advertFrom(2, 255)))
			if ignore {
				if lower != "" || equal != "" || m.State() != StateMaster {
					t.Errorf("ignoring: lower %q, equal %q, state %v", lower, equal, m.State())
				}
			} else if lower != "lower(100 from 192.0.2.2) advert(255)" || equal != "remove MASTER->BACKUP" {
				t.Errorf("not ignoring: lower %q, equal %q", lower, equal)
			}
		}
		// A priority that drops below 255 (trackers) handles adverts again.
		o := opts4(1, 200)
		o.OwnerIgnoreAdverts = true
		m := start(t, o)
		if acts := describe(m.Step(became.Add(time.Millisecond), advertFrom(2, 250))); acts != "remove MASTER->BACKUP" {
			t.Errorf("priority 200 with OwnerIgnoreAdverts: %q", acts)
		}
	})
	t.Run("higher_prio_send_advert", func(t *testing.T) {
		o := opts4(1, 150)
		o.HigherPrioSendAdvert = true
		m := start(t, o)
		wantActs(t, "higher", m.Step(became, advertFrom(2, 200)), "advert(150) remove MASTER->BACKUP")
	})
	t.Run("equal priority greater address steps down", func(t *testing.T) {
		m := start(t, opts4(1, 150))
		acts := m.Step(became, advertFrom(2, 150))
		wantActs(t, "equal greater", acts, "remove MASTER->BACKUP")
		if r := lastNotify(acts).Reason; r != "equal priority 150 from greater address 192.0.2.2" {
			t.Errorf("reason %q", r)
		}
	})
	t.Run("equal priority lower address answered", func(t *testing.T) {
		m := start(t, opts4(3, 150))
		wantActs(t, "equal lower", m.Step(became, advertFrom(2, 150)), "lower(150 from 192.0.2.2) advert(150)")
	})
	t.Run("lower priority answered at once", func(t *testing.T) {
		m := start(t, opts4(1, 150))
		next := m.NextDeadline()
		wantActs(t, "lower", m.Step(became.Add(time.Millisecond), advertFrom(2, 100)), "lower(100 from 192.0.2.2) advert(150)")
		if m.NextDeadline() != next {
			t.Error("advert timer moved")
		}
	})
	t.Run("lower_prio_no_advert and garp_lower_prio", func(t *testing.T) {
		o := opts4(1, 150)
		o.LowerPrioNoAdvert, o.GARPLowerPrio = true, true
		m := start(t, o)
		wantActs(t, "lower", m.Step(became, advertFrom(2, 100)), "lower(100 from 192.0.2.2) garp(lower_prio)")
	})
	t.Run("priority 0 answered and timer reset", func(t *testing.T) {
		m := start(t, opts4(1, 150))
		now := became.Add(300 * time.Millisecond)
		wantActs(t, "prio 0", m.Step(now, advertFrom(2, 0)), "advert(150)")
		if m.NextDeadline() != now.Add(time.Second) {
			t.Errorf("advert timer %v", m.NextDeadline().Sub(now))
		}
	})
	t.Run("shutdown sends priority 0", func(t *testing.T) {
		m := start(t, opts4(1, 150))
		acts := m.Step(became.Add(time.Second/2), Shutdown{})
		wantActs(t, "shutdown", acts, "advert(0) remove MASTER->INIT")
		if a := acts[0].(SendAdvert); !reflect.DeepEqual(a.Addrs, addrs("192.0.2.100")) || a.VRID != 51 || a.Interval != time.Second {
			t.Errorf("advert %+v", a)
		}
	})
	t.Run("v2 password in adverts", func(t *testing.T) {
		o := opts4(1, 150)
		o.AuthType, o.AuthPass = AuthPass, "secret"
		m := start(t, o)
		a := m.Step(m.NextDeadline(), Tick{})[0].(SendAdvert)
		if a.AuthType != AuthPass || string(a.AuthData[:6]) != "secret" {
			t.Errorf("advert auth %v %q", a.AuthType, a.AuthData)
		}
		if e := m.Expect(netip.Addr{}); e.AuthType != AuthPass || e.AuthData != a.AuthData {
			t.Errorf("expect auth %v %q", e.AuthType, e.AuthData)
		}
	})
}

func TestTrackers(t *testing.T) {
	tests := []struct {
		name  string
		base  uint8
		ts    []Tracker
		prio  uint8
		fault bool
	}{
		{"none", 100, nil, 100, false},
		{"negative failing", 100, []Tracker{{Name: "a", Weight: -30, OK: false}}, 70, false},
		{"negative ok", 100, []Tracker{{Name: "a", Weight: -30, OK: true}}, 100, false},
		{"positive ok", 100, []Tracker{{Name: "a", Weight: 20, OK: true}}, 120, false},
		{"positive failing", 100, []Tracker{{Name: "a", Weight: 20, OK: false}}, 100, false},
		{"reverse positive ok", 100, []Tracker{{Name: "a", Weight: 20, Reverse: true, OK: true}}, 80, false},
		{"reverse negative failing", 100, []Tracker{{Name: "a", Weight: -20, Reverse: true, OK: false}}, 120, false},
		{"sum", 100, []Tracker{{Name: "a", Weight: -30}, {Name: "b", Weight: 10, OK: true}, {Name: "c", Weight: 5}}, 80, false},
		{"clamp low", 10, []Tracker{{Name: "a", Weight: -100}}, 1, false},
		{"clamp high", 250, []Tracker{{Name: "a", Weight: 100, OK: true}}, 254, false},
		{"owner ignores weights", 255, []Tracker{{Name: "a", Weight: -100}}, 255, false},
		{"unweighted failing", 100, []Tracker{{Name: "a", OK: false}}, 100, true},
		{"unweighted ok", 100, []Tracker{{Name: "a", OK: true}}, 100, false},
		{"unweighted reverse ok", 100, []Tracker{{Name: "a", Reverse: true, OK: true}}, 100, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prio, fault := EffectivePriority(tt.base, tt.ts)
			if prio != tt.prio || fault != tt.fault {
				t.Errorf("EffectivePriority = %d, %v; want %d, %v", prio, fault, tt.prio, tt.fault)
			}
		})
	}

	t.Run("backup timer follows priority", func(t *testing.T) {
		m := newMachine(t, opts4(1, 100))
		m.Step(t0, Startup{})
		acts := m.Step(t0.Add(time.Second), TrackerChanged{Tracker{Name: "chk", Weight: -50}})
		wantActs(t, "tracker", acts, "prio(100->50)")
		if got, want := m.NextDeadline(), t0.Add(mdi2(50)); got != want {
			t.Errorf("deadline %v, want %v", got.Sub(t0), want.Sub(t0))
		}
		wantActs(t, "same report", m.Step(t0.Add(2*time.Second), TrackerChanged{Tracker{Name: "chk", Weight: -50}}), "")
	})
	t.Run("unweighted tracker faults master", func(t *testing.T) {
		m := newMachine(t, opts4(1, 255))
		m.Step(t0, Startup{})
		acts := m.Step(t0.Add(time.Second), TrackerChanged{Tracker{Name: "chk"}})
		wantActs(t, "fail", acts, "advert(0) remove MASTER->FAULT")
		if r := lastNotify(acts).Reason; r != "tracker chk failed" {
			t.Errorf("reason %q", r)
		}
		acts = m.Step(t0.Add(2*time.Second), TrackerChanged{Tracker{Name: "chk", OK: true}})
		wantActs(t, "recover", acts, "advert(255) add garp(master) FAULT->MASTER")
	})
}

func TestTrackersUpdated(t *testing.T) {
	m := newMachine(t, opts4(1, 100))
	m.Step(t0, Startup{})
	acts := m.Step(t0.Add(time.Second), TrackersUpdated{Priority: 60})
	wantActs(t, "lower", acts, "prio(100->60)")
	if got, want := m.NextDeadline(), t0.Add(mdi2(60)); got != want {
		t.Errorf("deadline %v, want %v", got.Sub(t0), want.Sub(t0))
	}
	wantActs(t, "same", m.Step(t0.Add(time.Second), TrackersUpdated{Priority: 60}), "")
	acts = m.Step(t0.Add(2*time.Second), TrackersUpdated{Priority: 60, Fault: true, Reason: "tracker chk_x failed"})
	wantActs(t, "fault", acts, "BACKUP->FAULT")
	if r := lastNotify(acts).Reason; r != "tracker chk_x failed" {
		t.Errorf("reason %q", r)
	}
	wantActs(t, "recover clamps", m.Step(t0.Add(3*time.Second), TrackersUpdated{Priority: 255}), "prio(60->254) FAULT->BACKUP")

	owner := newMachine(t, opts4(1, 255))
	owner.Step(t0, Startup{})
	wantActs(t, "owner ignores priority", owner.Step(t0, TrackersUpdated{Priority: 10}), "")
	wantActs(t, "owner fault", owner.Step(t0, TrackersUpdated{Priority: 10, Fault: true}), "advert(0) remove MASTER->FAULT")
}

func TestReconfigure(t *testing.T) {
	t.Run("backup keeps its timer, moved by the new skew", func(t *testing.T) {
		m := newMachine(t, opts4(1, 100))
		m.Step(t0, Startup{})
		o := opts4(1, 200)
		wantActs(t, "reconfigure", m.Step(t0.Add(time.Second), Reconfigure{Options: o}), "prio(100->200)")
		if got, want := m.NextDeadline(), t0.Add(mdi2(200)); got != want {
			t.Errorf("down timer %v, want %v", got.Sub(t0), want.Sub(t0))
		}
		if m.State() != StateBackup {
			t.Errorf("state %v", m.State())
		}
	})
	t.Run("backup that becomes the address owner takes over at once", func(t *testing.T) {
		m := newMachine(t, opts4(1, 100))
		m.Step(t0, Startup{})
		acts := m.Step(t0.Add(time.Second), Reconfigure{Options: opts4(1, 255)})
		wantActs(t, "reconfigure", acts, "prio(100->255) advert(255) add garp(master) BACKUP->MASTER")
	})
	t.Run("master announces a change at once, keeps its rhythm otherwise", func(t *testing.T) {
		m := newMachine(t, opts4(1, 255))
		m.Step(t0, Startup{})
		o := opts4(1, 255)
		o.HigherPrioSendAdvert = true // not in the advert
		wantActs(t, "same advert", m.Step(t0.Add(500*time.Millisecond), Reconfigure{Options: o}), "")
		if got := m.NextDeadline(); got != t0.Add(time.Second) {
			t.Errorf("advert timer %v", got.Sub(t0))
		}
		o.VIPs = addrs("192.0.2.100", "192.0.2.101")
		wantActs(t, "new VIP", m.Step(t0.Add(600*time.Millisecond), Reconfigure{Options: o}), "advert(255)")
		if got := m.NextDeadline(); got != t0.Add(1600*time.Millisecond) {
			t.Errorf("advert timer %v", got.Sub(t0))
		}
	})
	t.Run("fault stays while its tracker fails, leaves when it is gone", func(t *testing.T) {
		m := newMachine(t, opts4(1, 100))
		m.Step(t0, TrackersUpdated{Priority: 100, Fault: true})
		m.Step(t0, Startup{})
		if m.State() != StateFault {
			t.Fatalf("state %v", m.State())
		}
		wantActs(t, "still failing", m.Step(t0, Reconfigure{Options: opts4(1, 110), Trackers: &TrackersUpdated{Priority: 110, Fault: true}}), "prio(100->110)")
		acts := m.Step(t0, Reconfigure{Options: opts4(1, 110)})
		wantActs(t, "tracker removed", acts, "FAULT->BACKUP")
	})
	t.Run("invalid options are ignored", func(t *testing.T) {
		m := newMachine(t, opts4(1, 100))
		m.Step(t0, Startup{})
		bad := opts4(1, 100)
		bad.VRID = 0
		wantActs(t, "VRID 0", m.Step(t0, Reconfigure{Options: bad}), "")
		if m.Options().VRID != 51 {
			t.Errorf("options changed: %+v", m.Options())
		}
	})
}

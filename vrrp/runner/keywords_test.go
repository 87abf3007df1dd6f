package runner

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
)

// TestRunnerUnicastTTLAndPeerRange: A sends its unicast adverts with
// UnicastTTL (keepalived unicast_ttl); B accepts from A only a TTL within A's
// min_ttl..max_ttl and counts the others as invalid_ttl (keepalived
// ip_ttl_err), so with TTL 10 against min_ttl 64 B never hears A and both are
// master.
func TestRunnerUnicastTTLAndPeerRange(t *testing.T) {
	m := netModes[1] // v3 unicast IPv4
	for _, tc := range []struct {
		name      string
		ttl       int
		wantB     vrrp.State
		wantDrops bool
	}{
		{"ttl 64 in range", 64, vrrp.StateBackup, false},
		{"ttl 10 below min_ttl", 10, vrrp.StateMaster, true},
		{"default ttl 255 above max_ttl", 0, vrrp.StateMaster, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t)
				ia := m.instance("VI_1", 51, 150, addrB4)
				ia.UnicastTTL = tc.ttl
				ib := m.instance("VI_1", 51, 100, addrA4)
				ib.Machine.CheckUnicastSource = true
				ib.Machine.UnicastPeerTTLs = []vrrp.PeerTTL{{Peer: netip.MustParseAddr(addrA4), Min: 64, Max: 128}}
				l.addNode("A", addrA4, addrA6, []InstanceConfig{ia}, nodeOpts{})
				b := l.addNode("B", addrB4, addrB6, []InstanceConfig{ib}, nodeOpts{})
				l.start()
				l.runUntil(t0.Add(10 * time.Second))
				sb := b.inst("VI_1")
				if sb.State != tc.wantB {
					t.Errorf("B is %v, want %v", sb.State, tc.wantB)
				}
				if drops := sb.RxErrors[vrrp.ReasonInvalidTTL]; (drops > 0) != tc.wantDrops || len(sb.RxErrors) > 1 {
					t.Errorf("B rx errors %v, want invalid_ttl drops: %v", sb.RxErrors, tc.wantDrops)
				}
			})
		})
	}
}

// TestRunnerStartupDelay: with StartupDelay (vrrp_startup_delay) a lone
// instance becomes master a master down interval after the delay, not after
// startup.
func TestRunnerStartupDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{netModes[0].instance("VI_1", 51, 150, "")}, nodeOpts{startupDelay: 10 * time.Second})
		l.start()
		if s := a.inst("VI_1"); s.State != vrrp.StateBackup {
			t.Fatalf("A is %v at startup, want BACKUP", s.State)
		}
		l.runUntil(t0.Add(20 * time.Second))
		want := t0.Add(10*time.Second + 3*time.Second + skewAt(150))
		if s := a.inst("VI_1"); s.State != vrrp.StateMaster || !s.LastTransition.Equal(want) {
			t.Errorf("A is %v since %v, want MASTER since %v", s.State, s.LastTransition.Sub(t0), want.Sub(t0))
		}
	})
}

// TestRunnerNotifyDeleted: an instance a reload removes tells its notify
// scripts DELETED with notify_deleted (its script, then "notify"), else
// FAULT; one already in FAULT gets nothing without notify_deleted, as
// keepalived's clear_diff_vrrp. A daemon stop still reports STOP.
func TestRunnerNotifyDeleted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		m := netModes[0]
		vi1 := m.instance("VI_1", 51, 150, "")
		vi2 := m.instance("VI_2", 52, 150, "")
		vi2.VIPs = []vip.Address{{Prefix: netip.MustParsePrefix("10.0.0.200/24")}}
		vi2.Notify = notifyScripts("/n2")
		vi2.Notify.Deleted = &Command{Argv: []string{"/n2/deleted"}}
		vi2.NotifyDeleted = true
		vi3 := m.instance("VI_3", 53, 150, "")
		vi3.VIPs = []vip.Address{{Prefix: netip.MustParsePrefix("10.0.0.210/24")}}
		vi3.Notify = notifyScripts("/n3")
		vi3.TrackInterfaces = []track.InterfaceConfig{{Name: "eth9"}} // down: FAULT
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{vi1, vi2, vi3}, nodeOpts{links: true, ifaces: []string{"eth0", "eth9"}})
		l.start()
		a.links.set("eth9", false)
		l.runUntil(t0.Add(10 * time.Second))
		if s := a.inst("VI_3"); s.State != vrrp.StateFault {
			t.Fatalf("VI_3 is %v, want FAULT", s.State)
		}
		if _, err := a.update([]InstanceConfig{m.instance("VI_1", 51, 150, "")}, nil); err != nil {
			t.Fatal(err)
		}
		l.settle()
		if got := a.scripts.argvs("/n2/deleted"); len(got) != 1 {
			t.Errorf("notify_deleted ran %d times, want 1", len(got))
		}
		if got := a.scripts.argvs("/n2/notify"); len(got) == 0 || got[len(got)-1] != "/n2/notify arg one INSTANCE VI_2 DELETED 150" {
			t.Errorf("VI_2 notify calls %q, want the last to be DELETED", got)
		}
		for _, s := range []string{"/n2/fault", "/n2/stop", "/n3/stop", "/n3/deleted"} {
			if got := a.scripts.argvs(s); len(got) != 0 {
				t.Errorf("%s ran: %q", s, got)
			}
		}
		if got := a.scripts.argvs("/n3/fault"); len(got) != 1 {
			t.Errorf("VI_3's notify_fault ran %d times, want once (when it entered FAULT)", len(got))
		}
		if err := a.stop(); err != nil {
			t.Fatal(err)
		}
		if got := a.scripts.argvs("/n/stop"); len(got) != 1 {
			t.Errorf("VI_1's notify_stop ran %d times at stop, want 1", len(got))
		}
	})
}

// TestRunnerLogUnknownVRIDs: with LogUnknownVRIDs (log_unknown_vrids) each
// advert for a VRID no instance on the interface uses is logged; without,
// only counted.
func TestRunnerLogUnknownVRIDs(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t)
				m := netModes[0]
				log := &lockedBuffer{}
				a := l.addNode("A", addrA4, addrA6, []InstanceConfig{m.instance("VI_1", 51, 150, "")}, nodeOpts{logUnknownVRIDs: on, log: log})
				l.addNode("B", addrB4, addrB6, []InstanceConfig{m.instance("VI_9", 99, 100, "")}, nodeOpts{})
				l.start()
				l.runUntil(t0.Add(10 * time.Second))
				n := a.r.Snapshot().RxUnknownVRID
				logged := strings.Count(log.String(), `msg="Unknown VRID received, ignoring" node=A vrid=99 interface=eth0 from=10.0.0.2`)
				if n == 0 {
					t.Fatal("no unknown VRID counted")
				}
				if want := map[bool]int{false: 0, true: int(n)}[on]; logged != want {
					t.Errorf("%d of %d unknown VRID adverts logged, want %d", logged, n, want)
				}
			})
		})
	}
}

// TestRunnerTrackSrcIP: with TrackSrcIP (track_src_ip) an instance whose
// configured source address is not assigned starts in FAULT, leaves it when
// the address appears and goes back when it is removed; without
// TrackSrcIP the address does not matter.
func TestRunnerTrackSrcIP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		src := netip.MustParseAddr("10.0.0.11")
		mk := func(name string, vrid uint8, trackSrc bool) InstanceConfig {
			ic := netModes[0].instance(name, vrid, 150, "")
			ic.VIPs = []vip.Address{{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, 100 + vrid - 50}), 24)}}
			ic.SrcAddr, ic.TrackSrcIP = src, trackSrc
			return ic
		}
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{mk("VI_1", 51, true), mk("VI_2", 52, false)},
			nodeOpts{addrs: []track.AddrEvent{{Index: 1, Addr: netip.MustParseAddr(addrA4)}}})
		l.start()
		if s := a.inst("VI_1"); s.State != vrrp.StateFault || s.LastTransitionReason != "startup: source address 10.0.0.11 missing" {
			t.Fatalf("VI_1 is %v (%q), want FAULT for its missing source address", s.State, s.LastTransitionReason)
		}
		l.runUntil(t0.Add(5 * time.Second))
		if s := a.inst("VI_2"); s.State != vrrp.StateMaster {
			t.Errorf("VI_2 (no track_src_ip) is %v, want MASTER", s.State)
		}
		a.addrs.events <- track.AddrEvent{Index: 1, Addr: src}
		l.runUntil(t0.Add(10 * time.Second))
		if s := a.inst("VI_1"); s.State != vrrp.StateMaster {
			t.Fatalf("VI_1 is %v with its address back, want MASTER", s.State)
		}
		a.addrs.events <- track.AddrEvent{Index: 1, Addr: src, Deleted: true}
		l.settle()
		if s := a.inst("VI_1"); s.State != vrrp.StateFault || s.LastTransitionReason != "source address 10.0.0.11 missing" {
			t.Errorf("VI_1 is %v (%q) after its address went, want FAULT", s.State, s.LastTransitionReason)
		}
		if s := a.inst("VI_2"); s.State != vrrp.StateMaster {
			t.Errorf("VI_2 is %v, want MASTER", s.State)
		}
		// A reload turning track_src_ip off lets VI_1 run.
		if _, err := a.update([]InstanceConfig{mk("VI_1", 51, false), mk("VI_2", 52, false)}, nil); err != nil {
			t.Fatal(err)
		}
		l.runFor(5 * time.Second)
		if s := a.inst("VI_1"); s.State != vrrp.StateMaster {
			t.Errorf("VI_1 is %v after track_src_ip was turned off, want MASTER", s.State)
		}
	})
}

// TestRunnerPromoteSecondaries: promote_secondaries is set on the
// interfaces of instances asking for it while the runner runs and reset
// when it stops, unless it was set before.
func TestRunnerPromoteSecondaries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		m := netModes[0]
		vi1 := m.instance("VI_1", 51, 150, "")
		vi1.PromoteSecondaries = true
		vi2 := m.instance("VI_2", 52, 150, "")
		vi2.Interface = "eth1"
		vi2.VIPs = []vip.Address{{Prefix: netip.MustParsePrefix("10.0.1.100/24")}}
		vi3 := m.instance("VI_3", 53, 150, "")
		vi3.Interface = "eth2"
		vi3.VIPs = []vip.Address{{Prefix: netip.MustParsePrefix("10.0.2.100/24")}}
		vi3.PromoteSecondaries = true
		set := &fakeSettings{promote: map[string]bool{"eth2": true}}
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{vi1, vi2, vi3}, nodeOpts{settings: set})
		l.start()
		if !set.get("eth0") || set.get("eth1") || !set.get("eth2") {
			t.Errorf("running: promote_secondaries %v, want eth0 and eth2", set.promote)
		}
		if err := a.stop(); err != nil {
			t.Fatal(err)
		}
		if set.get("eth0") || set.get("eth1") || !set.get("eth2") {
			t.Errorf("stopped: promote_secondaries %v, want eth2 only (set before)", set.promote)
		}
	})
}

// TestRunnerDynamicInterfaces: with DynamicInterfaces (dynamic_interfaces)
// an instance whose interface is missing at start waits in FAULT and runs
// once it appears; when the interface is deleted it goes to FAULT, and it
// runs again (on a new socket) when the interface is created anew.
func TestRunnerDynamicInterfaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		m := netModes[0]
		vi2 := m.instance("VI_2", 52, 150, "")
		vi2.Interface = "dyn0"
		vi2.VIPs = []vip.Address{{Prefix: netip.MustParsePrefix("10.0.5.100/24")}}
		vi1 := m.instance("VI_1", 51, 150, "")
		vi1.DontTrackPrimary, vi2.DontTrackPrimary = true, true // the links are watched anyway
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{vi1, vi2},
			nodeOpts{links: true, ifaces: []string{"eth0"}, dynamic: true, missing: []string{"dyn0"}})
		l.start()
		l.runUntil(t0.Add(5 * time.Second))
		if s1, s2 := a.inst("VI_1"), a.inst("VI_2"); s1.State != vrrp.StateMaster || s2.State != vrrp.StateFault {
			t.Fatalf("VI_1 %v VI_2 %v, want MASTER FAULT", s1.State, s2.State)
		}
		link := func(idx int, deleted bool) {
			a.conns.setMissing("dyn0", deleted)
			a.links.events <- track.LinkEvent{Index: idx, Name: "dyn0", Up: !deleted, Deleted: deleted}
		}
		link(7, false)
		l.runUntil(t0.Add(10 * time.Second))
		if s := a.inst("VI_2"); s.State != vrrp.StateMaster || s.SrcAddr != netip.MustParseAddr(addrA4) {
			t.Fatalf("VI_2 %v (source %v) after dyn0 appeared, want MASTER", s.State, s.SrcAddr)
		}
		sent := a.inst("VI_2").AdvertsSent
		link(7, true)
		l.runUntil(t0.Add(15 * time.Second))
		if s := a.inst("VI_2"); s.State != vrrp.StateFault || s.AdvertsSent > sent+1 {
			t.Fatalf("VI_2 %v after dyn0 went (adverts %d -> %d), want FAULT", s.State, sent, s.AdvertsSent)
		}
		link(8, false)
		l.runUntil(t0.Add(20 * time.Second))
		if s := a.inst("VI_2"); s.State != vrrp.StateMaster || s.AdvertsSent <= sent+1 {
			t.Fatalf("VI_2 %v after dyn0 came back (adverts %d -> %d), want MASTER and advertising", s.State, sent, s.AdvertsSent)
		}
		if s := a.inst("VI_1"); s.State != vrrp.StateMaster {
			t.Errorf("VI_1 %v", s.State)
		}
	})
}

// TestRunnerMaxAutoPriority: each timer run a second or more late raises
// the realtime priority by one, from 1 up to MaxAutoPriority (3 here), as
// keepalived's max_auto_priority; timers on time change nothing.
func TestRunnerMaxAutoPriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		rt := &fakeProcess{}
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{netModes[0].instance("VI_1", 51, 150, "")}, nodeOpts{process: rt})
		a.vips.block = make(chan struct{})
		l.start()
		l.runUntil(t0.Add(10 * time.Second))
		if got := rt.get(); len(got) != 0 {
			t.Fatalf("priorities %v while blocked before any late timer", got)
		}
		// The loop has been stuck in adding the VIP since it became master
		// (3.41 s): its advert timer is late.
		close(a.vips.block)
		l.runFor(5 * time.Second)
		if got := rt.get(); !slices.Equal(got, []string{"rt 1"}) {
			t.Fatalf("calls %v after one late timer, want [rt 1]", got)
		}
	})
}

// TestRunnerProcessSettings: vrrp_rt_priority (which wins over
// vrrp_priority, as keepalived), vrrp_priority and vrrp_no_swap are applied
// when Run starts.
func TestRunnerProcessSettings(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want []string
	}{
		{Options{Nice: -5, NoSwap: true}, []string{"nice -5", "lock"}},
		{Options{Nice: -5, RTPriority: 2}, []string{"rt 2"}},
		{Options{}, nil},
		// The slice after the nice value; none for a realtime process.
		{Options{Nice: 3, Slice: 100 * time.Microsecond, NoSwap: true}, []string{"nice 3", "slice 100µs", "lock"}},
		{Options{RTPriority: 2, Slice: 100 * time.Microsecond}, []string{"rt 2"}},
	} {
		synctest.Test(t, func(t *testing.T) {
			l := newLab(t)
			p := &fakeProcess{}
			l.addNode("A", addrA4, addrA6, []InstanceConfig{netModes[0].instance("VI_1", 51, 150, "")}, nodeOpts{process: p, procOpts: tc.opts})
			l.start()
			if got := p.get(); !slices.Equal(got, tc.want) {
				t.Errorf("%+v: calls %v, want %v", tc.opts, got, tc.want)
			}
		})
	}
}

// TestRunnerSliceUnsupported: a kernel that takes no slice (before Linux
// 6.12) is told at INFO level, any other failure as a warning.
func TestRunnerSliceUnsupported(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("old kernel: %w", errors.ErrUnsupported), `level=INFO msg="VRRP: the kernel takes no scheduler slice`},
		{errors.New("EPERM"), `level=WARN msg="VRRP: cannot set the scheduler slice" node=A slice=100µs err=EPERM`},
	} {
		synctest.Test(t, func(t *testing.T) {
			l := newLab(t)
			p := &fakeProcess{sliceErr: tc.err}
			var log lockedBuffer
			l.addNode("A", addrA4, addrA6, []InstanceConfig{netModes[0].instance("VI_1", 51, 150, "")},
				nodeOpts{process: p, procOpts: Options{Slice: 100 * time.Microsecond}, logw: &log})
			l.start()
			if !strings.Contains(log.String(), tc.want) {
				t.Errorf("%v: log lacks %q:\n%s", tc.err, tc.want, log.String())
			}
		})
	}
}

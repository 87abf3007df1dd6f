package runner

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvs-ha/lvs-ha/garp"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
)

// updateLab is two nodes running VI_1 (VRID 51) and VI_2 (VRID 52) over
// IPv4 multicast, A at priority 150 and B at 100, after the election.
func updateLab(t *testing.T) (l *lab, a, b *node, cfgA func() []InstanceConfig) {
	t.Helper()
	l = newLab(t)
	mk := func(prio uint8) []InstanceConfig {
		vi1 := netModes[0].instance("VI_1", 51, prio, "")
		vi2 := netModes[0].instance("VI_2", 52, prio, "")
		vi2.VIPs = []vip.Address{{Prefix: netip.MustParsePrefix("10.0.0.200/24")}}
		vi2.Notify = notifyScripts("/n2")
		return []InstanceConfig{vi1, vi2}
	}
	a = l.addNode("A", addrA4, addrA6, mk(150), nodeOpts{})
	b = l.addNode("B", addrB4, addrB6, mk(100), nodeOpts{})
	l.start()
	l.runUntil(t0.Add(10 * time.Second))
	for _, name := range []string{"VI_1", "VI_2"} {
		if sa, sb := a.inst(name), b.inst(name); sa.State != vrrp.StateMaster || sb.State != vrrp.StateBackup {
			t.Fatalf("%s after election: A %v B %v", name, sa.State, sb.State)
		}
	}
	return l, a, b, func() []InstanceConfig { return mk(150) }
}

// advertsOf decodes the adverts node sent for vrid since from.
func advertsOf(t *testing.T, l *lab, node string, vrid uint8, from time.Time) (at []time.Duration, ads []vrrp.Advertisement) {
	t.Helper()
	src := map[string]string{"A": addrA4, "B": addrB4}[node]
	for _, s := range l.sentBy(node) {
		if s.at.Before(from) || len(s.payload) < 2 || s.payload[1] != vrid {
			continue
		}
		a, err := vrrp.Parse(s.payload, vrrp.RxInfo{Src: netip.MustParseAddr(src), Dst: s.dst})
		if err != nil {
			t.Fatalf("%s sent an undecodable advert: %v", node, err)
		}
		at = append(at, s.at.Sub(t0))
		ads = append(ads, a.Advertisement)
	}
	return at, ads
}

func TestRunnerUpdateKeepsUnchangedAndReconfiguresInPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, a, b, cfgA := updateLab(t)
		before1, before2 := a.inst("VI_1"), a.inst("VI_2")
		b1, b2 := b.inst("VI_1"), b.inst("VI_2")
		garpsBefore := a.garps.count()
		notifyBefore := len(a.scripts.argvs("/n/notify")) + len(a.scripts.argvs("/n2/notify"))

		// Half way between two adverts: VI_2 gets priority 160 and a second VIP.
		l.runUntil(t0.Add(10*time.Second + 500*time.Millisecond))
		reloadAt := time.Now()
		cfg := cfgA()
		cfg[1].Machine.Priority = 160
		cfg[1].VIPs = append(cfg[1].VIPs, vip.Address{Prefix: netip.MustParsePrefix("10.0.0.201/24")})
		res, err := a.update(cfg, nil)
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		if !slices.Equal(res.Unchanged, []string{"VI_1"}) || !slices.Equal(res.Reconfigured, []string{"VI_2"}) ||
			len(res.Added)+len(res.Removed)+len(res.Restarted) != 0 || !res.Changed() {
			t.Errorf("result %+v", res)
		}
		// B drops the advert with the new address list, as keepalived does,
		// until it is reloaded with the same list (the operator's next step).
		if n := b.inst("VI_2").RxErrors[vrrp.ReasonAddressList]; n != 1 {
			t.Errorf("B dropped %d VI_2 adverts for their address list, want 1", n)
		}
		cfgB := slices.Clone(cfg)
		cfgB[0].Machine.Priority, cfgB[1].Machine.Priority = 100, 100
		if res, err := b.update(cfgB, nil); err != nil || !slices.Equal(res.Reconfigured, []string{"VI_2"}) {
			t.Fatalf("B's update: %+v %v", res, err)
		}
		l.runFor(5 * time.Second)
		if n := b.inst("VI_2").RxErrors[vrrp.ReasonAddressList]; n != 1 {
			t.Errorf("B dropped %d VI_2 adverts after its reload", n-1)
		}

		// No transition anywhere, counters kept.
		for _, c := range []struct {
			n      *node
			name   string
			before InstanceStats
		}{{a, "VI_1", before1}, {a, "VI_2", before2}, {b, "VI_1", b1}, {b, "VI_2", b2}} {
			now := c.n.inst(c.name)
			if now.State != c.before.State || !now.LastTransition.Equal(c.before.LastTransition) ||
				now.BecomeMaster != c.before.BecomeMaster || now.ReleaseMaster != c.before.ReleaseMaster {
				t.Errorf("%s %s: %v since %v (%d/%d), was %v since %v", c.n.name, c.name, now.State, now.LastTransition.Sub(t0),
					now.BecomeMaster, now.ReleaseMaster, c.before.State, c.before.LastTransition.Sub(t0))
			}
			if now.AdvertsSent < c.before.AdvertsSent || now.AdvertsReceived < c.before.AdvertsReceived {
				t.Errorf("%s %s: counters went back", c.n.name, c.name)
			}
		}
		if n := len(a.scripts.argvs("/n/notify")) + len(a.scripts.argvs("/n2/notify")); n != notifyBefore {
			t.Errorf("notify scripts ran %d times during the update", n-notifyBefore)
		}

		// VI_1 keeps its rhythm: adverts every second on the same phase.
		at1, _ := advertsOf(t, l, "A", 51, reloadAt)
		phase := before1.LastTransition.Sub(t0) % time.Second
		for _, d := range at1 {
			if d%time.Second != phase {
				t.Errorf("VI_1 advert at %v, off its phase %v", d, phase)
			}
		}
		if len(at1) != 5 {
			t.Errorf("VI_1 sent %d adverts in 5 s after the update, want 5", len(at1))
		}

		// VI_2 announces the change at once, then every second from there.
		at2, ads2 := advertsOf(t, l, "A", 52, reloadAt)
		if len(at2) == 0 || at2[0] != reloadAt.Sub(t0) {
			t.Fatalf("VI_2 adverts after the update at %v, want the first at %v", at2, reloadAt.Sub(t0))
		}
		wantAddrs := []netip.Addr{netip.MustParseAddr("10.0.0.200"), netip.MustParseAddr("10.0.0.201")}
		for i, ad := range ads2 {
			if ad.Priority != 160 || !slices.Equal(ad.Addrs, wantAddrs) {
				t.Errorf("VI_2 advert %d: priority %d addrs %v", i, ad.Priority, ad.Addrs)
			}
			if want := reloadAt.Sub(t0) + time.Duration(i)*time.Second; at2[i] != want {
				t.Errorf("VI_2 advert %d at %v, want %v", i, at2[i], want)
			}
		}
		if got := a.inst("VI_2"); got.BasePriority != 160 || got.EffectivePriority != 160 {
			t.Errorf("VI_2 priority base %d effective %d", got.BasePriority, got.EffectivePriority)
		}
		// The new VIP is up and announced; B sees the address list differ.
		if got := a.vips.list(); !slices.Contains(got, "10.0.0.201/24 eth0") || len(got) != 3 {
			t.Errorf("A VIPs %v", got)
		}
		var announced []netip.Addr
		for _, g := range a.garps.list()[garpsBefore:] {
			announced = append(announced, g.Addr)
		}
		if !slices.Contains(announced, netip.MustParseAddr("10.0.0.201")) || slices.Contains(announced, netip.MustParseAddr("10.0.0.100")) {
			t.Errorf("GARPs after the update for %v, want VI_2's addresses only", announced)
		}

		// Removing the VIP again takes it down at once.
		cfg[1].VIPs = cfg[1].VIPs[:1]
		if _, err := a.update(cfg, nil); err != nil {
			t.Fatal(err)
		}
		if got := a.vips.list(); slices.Contains(got, "10.0.0.201/24 eth0") || len(got) != 2 {
			t.Errorf("A VIPs after removing one: %v", got)
		}

		// The same configuration again changes nothing.
		res, err = a.update(cfg, nil)
		if err != nil || res.Changed() || len(res.Unchanged) != 2 {
			t.Errorf("re-applying: %+v %v", res, err)
		}
	})
}

func TestRunnerUpdateLowerPriorityHandsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, a, b, cfgA := updateLab(t)
		cfg := cfgA()
		cfg[0].Machine.Priority = 50
		reloadAt := time.Now()
		if _, err := a.update(cfg, nil); err != nil {
			t.Fatal(err)
		}
		// B (100) ignores the lower priority adverts and takes over when its
		// down timer runs out; A then steps down on B's advert.
		l.runFor(5 * time.Second)
		sa, sb := a.inst("VI_1"), b.inst("VI_1")
		if sa.State != vrrp.StateBackup || sb.State != vrrp.StateMaster {
			t.Fatalf("after lowering A's priority: A %v B %v", sa.State, sb.State)
		}
		if d := sb.LastTransition.Sub(reloadAt); d > 3*time.Second+skewAt(100) {
			t.Errorf("B took over %v after the update, later than its Master_Down_Interval", d)
		}
		if !strings.Contains(sa.LastTransitionReason, "higher priority 100") {
			t.Errorf("A's reason %q", sa.LastTransitionReason)
		}
		if a.inst("VI_2").State != vrrp.StateMaster {
			t.Error("VI_2 moved")
		}
	})
}

func TestRunnerUpdateAddsAndRemovesInstances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, a, b, cfgA := updateLab(t)
		cfg := cfgA()
		vi3 := netModes[0].instance("VI_3", 53, 150, "")
		vi3.VIPs = []vip.Address{{Prefix: netip.MustParsePrefix("10.0.0.250/24")}}
		vi3.Notify = NotifyScripts{}
		cfg = []InstanceConfig{cfg[0], vi3} // VI_2 goes, VI_3 comes
		removedAt := time.Now()
		res, err := a.update(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Removed, []string{"VI_2"}) || !slices.Equal(res.Added, []string{"VI_3"}) || !slices.Equal(res.Unchanged, []string{"VI_1"}) {
			t.Errorf("result %+v", res)
		}
		if got := a.vips.list(); slices.Contains(got, "10.0.0.200/24 eth0") {
			t.Errorf("VI_2's VIP still up on A: %v", got)
		}
		// keepalived (without notify_deleted) tells a removed instance's
		// scripts FAULT, not STOP.
		if got := a.scripts.argvs("/n2/fault"); len(got) != 1 || len(a.scripts.argvs("/n2/stop")) != 0 {
			t.Errorf("VI_2's notify_fault ran %d times, notify_stop %d", len(got), len(a.scripts.argvs("/n2/stop")))
		}
		for _, is := range a.r.Snapshot().Instances {
			if is.Name == "VI_2" {
				t.Error("VI_2 still in the snapshot")
			}
		}
		_, ads := advertsOf(t, l, "A", 52, removedAt)
		if len(ads) != 1 || ads[0].Priority != 0 {
			t.Errorf("A's adverts for the removed VI_2: %+v, want one with priority 0", ads)
		}
		l.runFor(5 * time.Second)
		if sb := b.inst("VI_2"); sb.State != vrrp.StateMaster || !sb.LastTransition.Equal(removedAt.Add(skewAt(100))) {
			t.Errorf("B VI_2 %v at %v, want MASTER after its skew", sb.State, sb.LastTransition.Sub(removedAt))
		}
		s3 := a.inst("VI_3")
		if s3.State != vrrp.StateMaster || !s3.LastTransition.Equal(removedAt.Add(3*time.Second+skewAt(150))) {
			t.Errorf("A VI_3 %v at %v, want MASTER after its Master_Down_Interval", s3.State, s3.LastTransition.Sub(removedAt))
		}
		if got := a.vips.list(); !slices.Contains(got, "10.0.0.250/24 eth0") {
			t.Errorf("VI_3's VIP not up: %v", got)
		}
		if a.inst("VI_1").BecomeMaster != 1 {
			t.Error("VI_1 moved")
		}
	})
}

func TestRunnerUpdateRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New(Options{Conns: failingConns{}, VIPs: &fakeVIPs{present: map[string]bool{}}, Announcer: &fakeAnnouncer{}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Update(context.Background(), nil, nil); !errors.Is(err, ErrNotRunning) {
			t.Errorf("Update before Run: %v", err)
		}

		l, a, _, cfgA := updateLab(t)
		_ = l
		check := func(what string) {
			t.Helper()
			st := a.r.Snapshot()
			if len(st.Instances) != 2 || st.Instances[0].State != vrrp.StateMaster || st.Instances[1].State != vrrp.StateMaster ||
				st.Instances[1].BasePriority != 150 {
				t.Errorf("%s changed the runner: %+v", what, st.Instances)
			}
		}
		// Invalid: the same VRID twice on one interface.
		cfg := cfgA()
		cfg[1].Machine.VRID = 51
		cfg[1].Machine.Priority = 99
		if _, err := a.update(cfg, nil); err == nil || !strings.Contains(err.Error(), "VRID 51") {
			t.Errorf("duplicate VRID: %v", err)
		}
		check("an invalid configuration")
		// A socket that cannot be opened (a new interface): nothing changes.
		cfg = cfgA()
		cfg[1].Machine.Priority = 99
		vi3 := netModes[0].instance("VI_3", 53, 150, "")
		vi3.Interface = "eth9"
		cfg = append(cfg, vi3)
		a.conns.fail = "eth9"
		if _, err := a.update(cfg, nil); !errors.Is(err, errFake) || !strings.Contains(err.Error(), "VI_3") {
			t.Errorf("socket failure: %v", err)
		}
		check("a socket failure")
	})
}

func TestRunnerUpdateSyncGroupRestartsMembers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, a, b, cfgA := updateLab(t)
		cfg := cfgA()
		groups := []SyncGroupConfig{{Name: "G", Members: []string{"VI_1", "VI_2"}}}
		at := time.Now()
		res, err := a.update(cfg, groups)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Restarted, []string{"VI_1", "VI_2"}) {
			t.Errorf("result %+v", res)
		}
		// Both restarted: priority 0 first, B takes over, A preempts back.
		l.runFor(10 * time.Second)
		st := a.r.Snapshot()
		if st.SyncGroups[0].State != vrrp.StateMaster || st.Instances[0].SyncGroup != "G" {
			t.Errorf("A's group %+v", st.SyncGroups)
		}
		if b.inst("VI_1").BecomeMaster != 1 || !b.inst("VI_1").LastTransition.After(at) {
			t.Errorf("B VI_1 did not take over during the restart: %+v", b.inst("VI_1"))
		}
		// Notify-only change of the group: nothing restarts.
		groups[0].Notify = notifyScripts("/g")
		res, err = a.update(cfg, groups)
		if err != nil || res.Changed() {
			t.Errorf("group notify change: %+v %v", res, err)
		}
		if got := a.r.Snapshot().SyncGroups[0].State; got != vrrp.StateMaster {
			t.Errorf("group %v", got)
		}
	})
}

func TestRunnerUpdateKeepsTrackerState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		mk := func(prio uint8, iv time.Duration) []InstanceConfig {
			ic := netModes[0].instance("VI_1", 51, prio, "")
			ic.TrackScripts = []TrackScript{{
				Script:  track.ScriptConfig{Name: "chk", Interval: iv, Rise: 1, Fall: 1},
				Command: Command{Argv: []string{"/chk"}},
				Weight:  -80,
			}}
			ic.GARP = &garp.Options{MasterRepeat: 1}
			return []InstanceConfig{ic}
		}
		a := l.addNode("A", addrA4, addrA6, mk(150, time.Second), nodeOpts{links: true, ifaces: []string{"eth0"}})
		l.start()
		a.scripts.set("/chk", false)
		l.runUntil(t0.Add(10 * time.Second))
		if got := a.inst("VI_1").EffectivePriority; got != 70 {
			t.Fatalf("effective priority %d, want 70 (150 - 80)", got)
		}
		runs := len(a.scripts.argvs("/chk"))
		// New base priority, same script: the failing state stays and applies
		// to the new base at once; the script keeps its schedule.
		if _, err := a.update(mk(200, time.Second), nil); err != nil {
			t.Fatal(err)
		}
		if got := a.inst("VI_1"); got.EffectivePriority != 120 || got.BasePriority != 200 || len(got.Trackers) != 1 || got.Trackers[0].State != track.StateFail {
			t.Errorf("after the update: base %d effective %d trackers %+v", got.BasePriority, got.EffectivePriority, got.Trackers)
		}
		if n := len(a.scripts.argvs("/chk")); n != runs {
			t.Errorf("the script ran %d times during the update", n-runs)
		}
		// A changed script definition starts over (init state: failed until it rises).
		if _, err := a.update(mk(200, 2*time.Second), nil); err != nil {
			t.Fatal(err)
		}
		a.scripts.set("/chk", true)
		l.runFor(3 * time.Second)
		if got := a.inst("VI_1").EffectivePriority; got != 200 {
			t.Errorf("after the script recovered: %d", got)
		}
	})
}

func TestRunnerUpdateMovesSocket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		m := netModes[1] // VRRPv3 unicast
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{m.instance("VI_1", 51, 150, addrB4)}, nodeOpts{})
		b := l.addNode("B", addrB4, addrB6, []InstanceConfig{m.instance("VI_1", 51, 100, addrA4)}, nodeOpts{})
		l.start()
		l.runUntil(t0.Add(5 * time.Second))
		if a.inst("VI_1").State != vrrp.StateMaster {
			t.Fatal("no election")
		}
		// A second unicast peer: a new socket replaces the old one (closed
		// without failing Run), the instance keeps MASTER and B keeps hearing it.
		cfg := m.instance("VI_1", 51, 150, addrB4)
		cfg.Machine.UnicastPeers = append(cfg.Machine.UnicastPeers, netip.MustParseAddr("10.0.0.3"))
		recvBefore := b.inst("VI_1").AdvertsReceived
		res, err := a.update([]InstanceConfig{cfg}, nil)
		if err != nil || !slices.Equal(res.Reconfigured, []string{"VI_1"}) {
			t.Fatalf("update: %+v %v", res, err)
		}
		l.runFor(5 * time.Second)
		select {
		case err := <-a.done:
			t.Fatalf("A's Run returned after the socket moved: %v", err)
		default:
		}
		sa, sb := a.inst("VI_1"), b.inst("VI_1")
		if sa.State != vrrp.StateMaster || sa.BecomeMaster != 1 || sb.State != vrrp.StateBackup || sb.AdvertsReceived < recvBefore+5 {
			t.Errorf("after the move: A %v (%d), B %v received %d more", sa.State, sa.BecomeMaster, sb.State, sb.AdvertsReceived-recvBefore)
		}
		l.net.mu.Lock()
		conns := 0
		for _, c := range l.net.conns {
			if c.n == a {
				conns++
				if len(c.dsts) != 2 {
					t.Errorf("A's socket sends to %v", c.dsts)
				}
			}
		}
		l.net.mu.Unlock()
		if conns != 1 {
			t.Errorf("A has %d sockets open, want 1", conns)
		}
	})
}

func TestRunnerUpdateNewTrackInterfaceUsesKnownLinks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		ic := netModes[0].instance("VI_1", 51, 150, "")
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{ic}, nodeOpts{links: true, ifaces: []string{"eth0", "eth1"}})
		l.start()
		a.links.set("eth1", false)
		l.runUntil(t0.Add(5 * time.Second))
		if a.inst("VI_1").State != vrrp.StateMaster {
			t.Fatal("no election")
		}
		// track_interface eth1 (down, as the last link event said): FAULT at
		// once, without waiting for another link event.
		ic.TrackInterfaces = []track.InterfaceConfig{{Name: "eth1"}}
		if _, err := a.update([]InstanceConfig{ic}, nil); err != nil {
			t.Fatal(err)
		}
		if got := a.inst("VI_1"); got.State != vrrp.StateFault || len(got.Trackers) != 1 || got.Trackers[0].State != track.StateFail {
			t.Errorf("after adding track_interface eth1: %v %+v", got.State, got.Trackers)
		}
		if got := a.vips.list(); len(got) != 0 {
			t.Errorf("VIPs still up in FAULT: %v", got)
		}
		// And removing it again brings the instance back.
		ic.TrackInterfaces = nil
		if _, err := a.update([]InstanceConfig{ic}, nil); err != nil {
			t.Fatal(err)
		}
		l.runFor(5 * time.Second)
		if got := a.inst("VI_1").State; got != vrrp.StateMaster {
			t.Errorf("after removing the tracker: %v", got)
		}
	})
}

func TestRunnerUpdateVIPMovesBetweenInstances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, a, _, cfgA := updateLab(t)
		// 10.0.0.200 moves from VI_2 to VI_1 (processed first): it must end up
		// present, not removed by VI_2 after VI_1 added it.
		cfg := cfgA()
		cfg[0].VIPs = append(cfg[0].VIPs, cfg[1].VIPs[0])
		cfg[1].VIPs = []vip.Address{{Prefix: netip.MustParsePrefix("10.0.0.201/24")}}
		if _, err := a.update(cfg, nil); err != nil {
			t.Fatal(err)
		}
		want := []string{"10.0.0.100/24 eth0", "10.0.0.200/24 eth0", "10.0.0.201/24 eth0"}
		if got := a.vips.list(); !slices.Equal(got, want) {
			t.Errorf("A VIPs %v, want %v", got, want)
		}
	})
}

func TestRunnerSkipCheckAdvAddrOnlyForCurrentMaster(t *testing.T) {
	for _, skip := range []bool{false, true} {
		t.Run(map[bool]string{false: "check", true: "skip_check_adv_addr"}[skip], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t)
				mk := func(prio uint8, vips ...string) []InstanceConfig {
					ic := netModes[0].instance("VI_1", 51, prio, "")
					ic.Machine.SkipCheckAdvAddr = skip
					ic.VIPs = nil
					for _, v := range vips {
						ic.VIPs = append(ic.VIPs, vip.Address{Prefix: netip.MustParsePrefix(v)})
					}
					return []InstanceConfig{ic}
				}
				a := l.addNode("A", addrA4, addrA6, mk(150, "10.0.0.100/24"), nodeOpts{})
				b := l.addNode("B", addrB4, addrB6, mk(100, "10.0.0.100/24"), nodeOpts{})
				l.start()
				l.runUntil(t0.Add(5 * time.Second))
				// The master's list changes: B skips the check for the master it
				// knows (and stays BACKUP) only with skip_check_adv_addr.
				if _, err := a.update(mk(150, "10.0.0.100/24", "10.0.0.101/24"), nil); err != nil {
					t.Fatal(err)
				}
				l.runFor(5 * time.Second)
				sb := b.inst("VI_1")
				if got := sb.State == vrrp.StateBackup; got != skip {
					t.Errorf("B is %v with skip=%v (rejected %d)", sb.State, skip, sb.RxErrors[vrrp.ReasonAddressList])
				}
				if !skip && sb.RxErrors[vrrp.ReasonAddressList] == 0 {
					t.Error("B did not reject the mismatched adverts")
				}
			})
		})
	}
	// A source other than the known master is checked even with
	// skip_check_adv_addr: before any master is known, B rejects a
	// mismatched list (and takes over when its timer runs out).
	t.Run("unknown_master", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := newLab(t)
			ia := netModes[0].instance("VI_1", 51, 150, "")
			ia.VIPs = append(ia.VIPs, vip.Address{Prefix: netip.MustParsePrefix("10.0.0.101/24")})
			ib := netModes[0].instance("VI_1", 51, 100, "")
			ib.Machine.SkipCheckAdvAddr = true
			l.addNode("A", addrA4, addrA6, []InstanceConfig{ia}, nodeOpts{})
			b := l.addNode("B", addrB4, addrB6, []InstanceConfig{ib}, nodeOpts{})
			l.start()
			l.runUntil(t0.Add(10 * time.Second))
			if sb := b.inst("VI_1"); sb.RxErrors[vrrp.ReasonAddressList] == 0 || sb.State != vrrp.StateMaster {
				t.Errorf("B with skip_check_adv_addr and an unknown master: %v, rejected %d", sb.State, sb.RxErrors[vrrp.ReasonAddressList])
			}
		})
	})
}

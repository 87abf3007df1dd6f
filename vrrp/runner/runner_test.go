package runner

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvs-ha/lvs-ha/garp"
	"github.com/lvs-ha/lvs-ha/internal/script"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
	"github.com/lvs-ha/lvs-ha/vrrp/vrrpsock"
)

// skewAt is VRRP's Skew_Time for priority p with a 1 s interval.
func skewAt(p int) time.Duration { return time.Duration(256-p) * time.Second / 256 }

type netMode struct {
	name    string
	ipv6    bool
	version int
	unicast bool
}

var netModes = []netMode{
	{name: "v2_multicast_ipv4", version: 2},
	{name: "v3_unicast_ipv4", version: 3, unicast: true},
	{name: "v3_multicast_ipv6", version: 3, ipv6: true},
}

var (
	addrA4, addrB4 = "10.0.0.1", "10.0.0.2"
	addrA6, addrB6 = "fe80::1", "fe80::2"
)

func notifyScripts(dir string) NotifyScripts {
	cmd := func(s ...string) *Command { return &Command{Argv: s} }
	return NotifyScripts{
		Master: cmd(dir + "/master"),
		Backup: cmd(dir + "/backup"),
		Fault:  cmd(dir + "/fault"),
		Stop:   cmd(dir + "/stop"),
		Any:    cmd(dir+"/notify", "arg one"),
	}
}

// instance returns VI_1 for mode m on eth0 with priority prio; peer is the
// other node's address for unicast.
func (m netMode) instance(name string, vrid, prio uint8, peer string) InstanceConfig {
	ic := InstanceConfig{
		Machine:   vrrp.Options{Name: name, VRID: vrid, Priority: prio, Version: m.version},
		Interface: "eth0",
		Notify:    notifyScripts("/n"),
	}
	v := "10.0.0.100/24"
	if m.ipv6 {
		v = "2001:db8::100/64"
		ic.Machine.Family = vrrp.FamilyIPv6
	}
	ic.VIPs = []vip.Address{{Prefix: netip.MustParsePrefix(v)}}
	if m.unicast {
		ic.Machine.UnicastPeers = []netip.Addr{netip.MustParseAddr(peer)}
	}
	return ic
}

func (m netMode) addrs() (a, b string) {
	if m.ipv6 {
		return addrA6, addrB6
	}
	return addrA4, addrB4
}

func TestRunnerElectionAndFailover(t *testing.T) {
	for _, m := range netModes {
		t.Run(m.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t)
				srcA, srcB := m.addrs()
				a := l.addNode("A", addrA4, addrA6, []InstanceConfig{m.instance("VI_1", 51, 150, srcB)}, nodeOpts{})
				b := l.addNode("B", addrB4, addrB6, []InstanceConfig{m.instance("VI_1", 51, 100, srcA)}, nodeOpts{})
				vipKey := a.r.insts[0].cfg.VIPs[0].Prefix.String() + " eth0"
				l.start()

				// Election: A's down timer (3 s + skew) expires first.
				l.runUntil(t0.Add(10 * time.Second))
				sa, sb := a.inst("VI_1"), b.inst("VI_1")
				if sa.State != vrrp.StateMaster || sb.State != vrrp.StateBackup {
					t.Fatalf("states A=%v B=%v, want MASTER BACKUP", sa.State, sb.State)
				}
				becameMaster := t0.Add(3*time.Second + skewAt(150))
				if !sa.LastTransition.Equal(becameMaster) {
					t.Errorf("A became master at %v, want %v", sa.LastTransition.Sub(t0), becameMaster.Sub(t0))
				}
				if sb.MasterAddr != netip.MustParseAddr(srcA) || sb.MasterPriority != 150 {
					t.Errorf("B sees master %v prio %d, want %s 150", sb.MasterAddr, sb.MasterPriority, srcA)
				}
				if sa.SrcAddr != netip.MustParseAddr(srcA) {
					t.Errorf("A source %v, want %s", sa.SrcAddr, srcA)
				}
				// Adverts at 3.41 s, 4.41 s, ..., 9.41 s.
				if sa.AdvertsSent != 7 || sb.AdvertsReceived != 7 || sb.AdvertsSent != 0 {
					t.Errorf("A sent %d, B received %d and sent %d adverts, want 7 7 0", sa.AdvertsSent, sb.AdvertsReceived, sb.AdvertsSent)
				}
				if sa.BecomeMaster != 1 || sa.ReleaseMaster != 0 {
					t.Errorf("A become/release master %d/%d, want 1/0", sa.BecomeMaster, sa.ReleaseMaster)
				}
				if got := a.vips.list(); !slices.Equal(got, []string{vipKey}) {
					t.Errorf("A VIPs %v, want [%s]", got, vipKey)
				}
				if got := b.vips.list(); len(got) != 0 {
					t.Errorf("B VIPs %v, want none", got)
				}
				// garp defaults: 5 at once and 5 more garp_master_delay (5 s) later.
				if n := a.garps.count(); n != 10 || sa.GARPsSent != 10 {
					t.Errorf("A sent %d GARPs (stats %d), want 10", n, sa.GARPsSent)
				}
				for _, g := range a.garps.list() {
					if g.Interface != "eth0" || g.Addr != a.r.insts[0].cfg.VIPs[0].Prefix.Addr() {
						t.Errorf("GARP %+v", g)
					}
				}
				if n := b.garps.count(); n != 0 {
					t.Errorf("B sent %d GARPs", n)
				}
				wantNotify := func(n *node, want ...string) {
					t.Helper()
					for i := range want {
						want[i] = "/n/notify arg one INSTANCE VI_1 " + want[i]
					}
					if got := n.scripts.argvs("/n/notify"); !slices.Equal(got, want) {
						t.Errorf("%s: notify calls\n%q\nwant\n%q", n.name, got, want)
					}
				}
				wantNotify(a, "BACKUP 150", "MASTER 150")
				wantNotify(b, "BACKUP 100")
				if got := a.scripts.argvs("/n/master"); !slices.Equal(got, []string{"/n/master"}) {
					t.Errorf("A notify_master calls %q", got)
				}
				if sp, _ := a.scripts.spec("/n/master"); sp.Timeout != DefaultNotifyTimeout {
					t.Errorf("notify_master timeout %v", sp.Timeout)
				}

				// Failover: A stops, sending priority 0; B takes over after its skew.
				stopped := time.Now()
				if err := a.stop(); err != nil {
					t.Fatalf("A Run: %v", err)
				}
				sa = a.inst("VI_1")
				if sa.State != vrrp.StateInitialize || sa.PriorityZeroSent != 1 || sa.ReleaseMaster != 1 {
					t.Errorf("A after stop: %v, prio 0 sent %d, release %d", sa.State, sa.PriorityZeroSent, sa.ReleaseMaster)
				}
				if got := a.vips.list(); len(got) != 0 {
					t.Errorf("A VIPs after Run returned: %v", got)
				}
				sent := l.sentBy("A")
				last, err := vrrp.Parse(sent[len(sent)-1].payload, vrrp.RxInfo{Src: netip.MustParseAddr(srcA), Dst: sent[len(sent)-1].dst})
				if err != nil || last.Priority != 0 {
					t.Errorf("A's last packet: prio %d, err %v", last.Priority, err)
				}
				wantNotify(a, "BACKUP 150", "MASTER 150", "STOP 150")
				if sp, ok := a.scripts.spec("/n/stop"); !ok || sp.Timeout != script.StopNotifyTimeout {
					t.Errorf("notify_stop run %v, timeout %v", ok, sp.Timeout)
				}

				l.runFor(2 * time.Second)
				sb = b.inst("VI_1")
				if sb.State != vrrp.StateMaster {
					t.Fatalf("B is %v after A stopped, want MASTER", sb.State)
				}
				if want := stopped.Add(skewAt(100)); !sb.LastTransition.Equal(want) {
					t.Errorf("B became master %v after A stopped, want its skew %v", sb.LastTransition.Sub(stopped), skewAt(100))
				}
				if sb.PriorityZeroReceived != 1 || sb.BecomeMaster != 1 {
					t.Errorf("B prio 0 received %d, become master %d", sb.PriorityZeroReceived, sb.BecomeMaster)
				}
				if got := b.vips.list(); !slices.Equal(got, []string{vipKey}) {
					t.Errorf("B VIPs %v", got)
				}
				if n := b.garps.count(); n != 5 {
					t.Errorf("B sent %d GARPs, want the first burst of 5", n)
				}
				wantNotify(b, "BACKUP 100", "MASTER 100")

				if err := b.stop(); err != nil {
					t.Fatalf("B Run: %v", err)
				}
				if got := b.vips.list(); len(got) != 0 {
					t.Errorf("B VIPs after Run returned: %v", got)
				}
			})
		})
	}
}

func TestRunnerRejectsBadPackets(t *testing.T) {
	intruder := netip.MustParseAddr("10.0.0.9")
	advert := func(version int, vrid uint8) []byte {
		a := vrrp.Advertisement{Version: version, VRID: vrid, Priority: 200, Interval: time.Second,
			Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
		b, err := a.Marshal(vrrp.EncodeOptions{Src: intruder, Dst: vrrp.MulticastGroup4})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name     string
		pkt      func() vrrpsock.Packet
		accepted bool
		reason   vrrp.Reason
		unknown  uint64 // RxUnknownVRID
		tooShort uint64
	}{
		{name: "valid", accepted: true, pkt: func() vrrpsock.Packet {
			return vrrpsock.Packet{Payload: advert(2, 51), TTL: 255}
		}},
		{name: "checksum", reason: vrrp.ReasonChecksum, pkt: func() vrrpsock.Packet {
			p := advert(2, 51)
			p[6] ^= 0xff
			return vrrpsock.Packet{Payload: p, TTL: 255}
		}},
		{name: "ttl", reason: vrrp.ReasonInvalidTTL, pkt: func() vrrpsock.Packet {
			return vrrpsock.Packet{Payload: advert(2, 51), TTL: 254}
		}},
		{name: "version", reason: vrrp.ReasonVersion, pkt: func() vrrpsock.Packet {
			return vrrpsock.Packet{Payload: advert(3, 51), TTL: 255}
		}},
		{name: "unknown_vrid", unknown: 1, pkt: func() vrrpsock.Packet {
			return vrrpsock.Packet{Payload: advert(2, 99), TTL: 255}
		}},
		{name: "too_short", tooShort: 1, pkt: func() vrrpsock.Packet {
			return vrrpsock.Packet{Payload: []byte{0x21}, TTL: 255}
		}},
	}
	m := netModes[0]
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t)
				a := l.addNode("A", addrA4, addrA6, []InstanceConfig{m.instance("VI_1", 51, 150, "")}, nodeOpts{})
				b := l.addNode("B", addrB4, addrB6, []InstanceConfig{m.instance("VI_1", 51, 100, "")}, nodeOpts{})
				l.start()
				l.runUntil(t0.Add(5 * time.Second))
				before := b.inst("VI_1")

				p := tc.pkt()
				p.Src, p.Dst, p.IfIndex = intruder, vrrp.MulticastGroup4, 1
				l.inject(b, "eth0", p)
				l.settle()

				st := b.r.Snapshot()
				after := st.Instances[0]
				if after.State != vrrp.StateBackup {
					t.Errorf("B is %v", after.State)
				}
				if tc.accepted {
					if after.MasterAddr != intruder || after.AdvertsReceived != before.AdvertsReceived+1 {
						t.Errorf("valid advert not accepted: master %v, received %d -> %d", after.MasterAddr, before.AdvertsReceived, after.AdvertsReceived)
					}
					if len(after.RxErrors) != 0 {
						t.Errorf("rx errors %v", after.RxErrors)
					}
					return
				}
				if after.MasterAddr != netip.MustParseAddr(addrA4) || after.AdvertsReceived != before.AdvertsReceived {
					t.Errorf("rejected packet changed B: master %v, received %d -> %d", after.MasterAddr, before.AdvertsReceived, after.AdvertsReceived)
				}
				var wantErrs map[vrrp.Reason]uint64
				if tc.reason != vrrp.ReasonNone {
					wantErrs = map[vrrp.Reason]uint64{tc.reason: 1}
				}
				if !mapsEqual(after.RxErrors, wantErrs) {
					t.Errorf("rx errors %v, want %v", after.RxErrors, wantErrs)
				}
				if st.RxUnknownVRID != tc.unknown || st.RxTooShort != tc.tooShort {
					t.Errorf("unknown VRID %d, too short %d; want %d %d", st.RxUnknownVRID, st.RxTooShort, tc.unknown, tc.tooShort)
				}
				// The rejected packet did not reset B's master down timer: with A
				// silenced, B takes over 3 s + skew after A's last advert.
				l.net.mu.Lock()
				l.net.tamper = func(from, _ *fakeConn, _ *vrrpsock.Packet) bool { return from.n != a }
				l.net.mu.Unlock()
				lastAdvert := t0.Add(4*time.Second + skewAt(150))
				l.runUntil(t0.Add(10 * time.Second))
				if got := b.inst("VI_1"); got.State != vrrp.StateMaster || !got.LastTransition.Equal(lastAdvert.Add(3*time.Second+skewAt(100))) {
					t.Errorf("B: %v at %v, want MASTER at %v", got.State, got.LastTransition.Sub(t0), lastAdvert.Add(3*time.Second+skewAt(100)).Sub(t0))
				}
			})
		})
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestRunnerSyncGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		group := func(prio uint8) ([]InstanceConfig, []SyncGroupConfig) {
			vi1 := netModes[0].instance("VI_1", 51, prio, "")
			vi2 := netModes[0].instance("VI_2", 52, prio, "")
			vi2.Interface = "eth1"
			vi2.VIPs = []vip.Address{{Prefix: netip.MustParsePrefix("10.0.1.100/24")}}
			vi1.Notify, vi2.Notify = NotifyScripts{}, NotifyScripts{}
			return []InstanceConfig{vi1, vi2}, []SyncGroupConfig{{Name: "G", Members: []string{"VI_1", "VI_2"}, Notify: notifyScripts("/g")}}
		}
		ia, ga := group(150)
		ib, gb := group(100)
		a := l.addNode("A", addrA4, addrA6, ia, nodeOpts{syncGroups: ga, links: true, ifaces: []string{"eth0", "eth1"}})
		b := l.addNode("B", addrB4, addrB6, ib, nodeOpts{syncGroups: gb})
		l.start()

		states := func(n *node) [3]vrrp.State {
			st := n.r.Snapshot()
			return [3]vrrp.State{st.Instances[0].State, st.Instances[1].State, st.SyncGroups[0].State}
		}
		check := func(when string, wantA, wantB vrrp.State, vipsA, vipsB int) {
			t.Helper()
			if got := states(a); got != [3]vrrp.State{wantA, wantA, wantA} {
				t.Errorf("%s: A VI_1, VI_2, group = %v, want all %v", when, got, wantA)
			}
			if got := states(b); got != [3]vrrp.State{wantB, wantB, wantB} {
				t.Errorf("%s: B VI_1, VI_2, group = %v, want all %v", when, got, wantB)
			}
			if n := len(a.vips.list()); n != vipsA {
				t.Errorf("%s: A has %d VIPs, want %d", when, n, vipsA)
			}
			if n := len(b.vips.list()); n != vipsB {
				t.Errorf("%s: B has %d VIPs, want %d", when, n, vipsB)
			}
		}

		l.runUntil(t0.Add(5 * time.Second))
		check("after election", vrrp.StateMaster, vrrp.StateBackup, 2, 0)

		// eth1 goes down on A: VI_2 enters FAULT and takes VI_1 with it; B's
		// members both get priority 0 and take over together.
		a.links.set("eth1", false)
		l.settle()
		if got := a.inst("VI_1").LastTransitionReason; !strings.Contains(got, "sync group G") {
			t.Errorf("A VI_1 reason %q, want the sync group", got)
		}
		l.runFor(time.Second)
		check("after eth1 down on A", vrrp.StateFault, vrrp.StateMaster, 0, 2)
		if got := b.inst("VI_2").PriorityZeroReceived; got != 1 {
			t.Errorf("B VI_2 received %d priority 0 adverts", got)
		}

		// eth1 back: A's members return to BACKUP together, then preempt B.
		a.links.set("eth1", true)
		l.settle()
		check("right after eth1 up on A", vrrp.StateBackup, vrrp.StateMaster, 0, 2)
		l.runFor(5 * time.Second)
		check("after A preempted", vrrp.StateMaster, vrrp.StateBackup, 2, 0)

		wantGroup := []string{
			"/g/notify arg one GROUP G BACKUP 0",
			"/g/notify arg one GROUP G MASTER 0",
			"/g/notify arg one GROUP G FAULT 0",
			"/g/notify arg one GROUP G BACKUP 0",
			"/g/notify arg one GROUP G MASTER 0",
		}
		if got := a.scripts.argvs("/g/notify"); !slices.Equal(got, wantGroup) {
			t.Errorf("A group notify calls\n%q\nwant\n%q", got, wantGroup)
		}
		if got := a.scripts.argvs("/g/fault"); len(got) != 1 {
			t.Errorf("A notify_fault for the group ran %d times", len(got))
		}
		if got := b.scripts.argvs("/g/master"); len(got) != 1 {
			t.Errorf("B notify_master for the group ran %d times", len(got))
		}
	})
}

func TestRunnerTrackerMovesMastership(t *testing.T) {
	tests := []struct {
		name      string
		weight    int
		wantA     vrrp.State
		wantPrioA uint8
	}{
		{name: "weight_-60", weight: -60, wantA: vrrp.StateBackup, wantPrioA: 90},
		{name: "weight_0", weight: 0, wantA: vrrp.StateFault, wantPrioA: 150},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t)
				ia := netModes[0].instance("VI_1", 51, 150, "")
				ia.TrackScripts = []TrackScript{{
					Script:  track.ScriptConfig{Name: "chk", Interval: time.Second, Fall: 2},
					Command: Command{Argv: []string{"/chk", "--quick"}, User: "checker"},
					Weight:  tc.weight,
				}}
				a := l.addNode("A", addrA4, addrA6, []InstanceConfig{ia}, nodeOpts{})
				b := l.addNode("B", addrB4, addrB6, []InstanceConfig{netModes[0].instance("VI_1", 51, 100, "")}, nodeOpts{})
				l.start()
				l.runUntil(t0.Add(5500 * time.Millisecond))
				if got := a.inst("VI_1"); got.State != vrrp.StateMaster || got.EffectivePriority != 150 {
					t.Fatalf("A %v prio %d, want MASTER 150", got.State, got.EffectivePriority)
				}
				if sp, ok := a.scripts.spec("/chk"); !ok || sp.User != "checker" || sp.Timeout != time.Second {
					t.Errorf("tracking script spec %+v", sp)
				}

				// Two failures in a row (fall 2), at 6 s and 7 s.
				a.scripts.set("/chk", false)
				l.runUntil(t0.Add(6500 * time.Millisecond))
				if got := a.inst("VI_1"); got.State != vrrp.StateMaster {
					t.Fatalf("A %v after one failure, want still MASTER", got.State)
				}
				l.runUntil(t0.Add(12 * time.Second))
				sa, sb := a.inst("VI_1"), b.inst("VI_1")
				if sa.State != tc.wantA || sa.EffectivePriority != tc.wantPrioA || sb.State != vrrp.StateMaster {
					t.Fatalf("A %v prio %d, B %v; want A %v prio %d, B MASTER", sa.State, sa.EffectivePriority, sb.State, tc.wantA, tc.wantPrioA)
				}
				if len(sa.Trackers) != 1 || sa.Trackers[0].State != track.StateFail || sa.Trackers[0].Weight != tc.weight {
					t.Errorf("A trackers %+v", sa.Trackers)
				}
				if got := a.vips.list(); len(got) != 0 {
					t.Errorf("A VIPs %v", got)
				}
				if got := b.vips.list(); len(got) != 1 {
					t.Errorf("B VIPs %v", got)
				}

				// Recovery: A preempts B again.
				a.scripts.set("/chk", true)
				l.runUntil(t0.Add(20 * time.Second))
				sa, sb = a.inst("VI_1"), b.inst("VI_1")
				if sa.State != vrrp.StateMaster || sa.EffectivePriority != 150 || sb.State != vrrp.StateBackup {
					t.Fatalf("after recovery A %v prio %d, B %v", sa.State, sa.EffectivePriority, sb.State)
				}
				if got := a.vips.list(); len(got) != 1 {
					t.Errorf("A VIPs %v", got)
				}
			})
		})
	}
}

func TestRunnerVIPErrorsAreNotFatal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{netModes[0].instance("VI_1", 51, 150, "")}, nodeOpts{})
		a.vips.failAdd = errFake
		l.start()
		l.runUntil(t0.Add(5 * time.Second))
		st := a.inst("VI_1")
		if st.State != vrrp.StateMaster || st.VIPErrors != 1 {
			t.Errorf("A %v with %d VIP errors, want MASTER with 1", st.State, st.VIPErrors)
		}
		if err := a.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
		if a.inst("VI_1").State != vrrp.StateInitialize {
			t.Error("not stopped")
		}
	})
}

func TestRunnerSharedSocketAndMasterRxLowerPri(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Two instances with the same socket settings share one Conn and are
		// told apart by VRID; a master hearing a lower priority runs
		// notify_master_rx_lower_pri and re-announces (garp_lower_prio_repeat).
		l := newLab(t)
		mk := func(prio uint8) []InstanceConfig {
			x := netModes[0].instance("VI_1", 51, prio, "")
			y := netModes[0].instance("VI_2", 52, prio, "")
			y.VIPs = []vip.Address{{Prefix: netip.MustParsePrefix("10.0.0.200/24")}}
			for _, ic := range []*InstanceConfig{&x, &y} {
				ic.Notify = NotifyScripts{MasterRxLowerPri: &Command{Argv: []string{"/lower"}}}
				g := garp.DefaultOptions()
				g.MasterDelay = 0
				ic.GARP = &g
			}
			return []InstanceConfig{x, y}
		}
		a := l.addNode("A", addrA4, addrA6, mk(150), nodeOpts{})
		b := l.addNode("B", addrB4, addrB6, mk(100), nodeOpts{})
		l.start()
		l.runUntil(t0.Add(5 * time.Second))
		if n := len(a.r.conns); n != 1 {
			t.Errorf("A opened %d sockets, want 1", n)
		}
		for _, name := range []string{"VI_1", "VI_2"} {
			if a.inst(name).State != vrrp.StateMaster || b.inst(name).State != vrrp.StateBackup {
				t.Fatalf("%s: A %v B %v", name, a.inst(name).State, b.inst(name).State)
			}
		}
		if n := a.garps.count(); n != 10 {
			t.Errorf("A sent %d GARPs, want 5 per instance", n)
		}
		// B's VI_2 advertises its lower priority (as after a restart with
		// nopreempt tweaks): A answers, re-announces and runs the script.
		adv := vrrp.Advertisement{Version: 2, VRID: 52, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.200")}}
		pb, _ := adv.Marshal(vrrp.EncodeOptions{})
		l.inject(a, "eth0", vrrpsock.Packet{Payload: pb, Src: netip.MustParseAddr(addrB4), Dst: vrrp.MulticastGroup4, TTL: 255, IfIndex: 1})
		l.settle()
		if got := a.scripts.argvs("/lower"); len(got) != 1 {
			t.Errorf("notify_master_rx_lower_pri ran %d times", len(got))
		}
		if n := a.garps.count(); n != 15 {
			t.Errorf("A sent %d GARPs, want 5 more for VI_2", n)
		}
		if a.inst("VI_2").State != vrrp.StateMaster {
			t.Error("A VI_2 lost mastership")
		}
	})
}

func TestNewErrors(t *testing.T) {
	base := func() InstanceConfig { return netModes[0].instance("VI_1", 51, 100, "") }
	tests := []struct {
		name   string
		insts  func() []InstanceConfig
		groups []SyncGroupConfig
		want   string
	}{
		{name: "no name", want: "without a name", insts: func() []InstanceConfig {
			c := base()
			c.Machine.Name = ""
			return []InstanceConfig{c}
		}},
		{name: "no interface", want: "no interface", insts: func() []InstanceConfig {
			c := base()
			c.Interface = ""
			return []InstanceConfig{c}
		}},
		{name: "bad vrid", want: "virtual_router_id", insts: func() []InstanceConfig {
			c := base()
			c.Machine.VRID = 0
			return []InstanceConfig{c}
		}},
		{name: "duplicate name", want: "defined twice", insts: func() []InstanceConfig {
			c, d := base(), base()
			d.Machine.VRID = 52
			return []InstanceConfig{c, d}
		}},
		{name: "duplicate vrid", want: "VRID 51 is already used", insts: func() []InstanceConfig {
			c, d := base(), base()
			d.Machine.Name = "VI_2"
			return []InstanceConfig{c, d}
		}},
		{name: "vip family", want: "is not inet", insts: func() []InstanceConfig {
			c := base()
			c.VIPs = append(c.VIPs, vip.Address{Prefix: netip.MustParsePrefix("2001:db8::1/64")})
			return []InstanceConfig{c}
		}},
		{name: "bad vip", want: "label", insts: func() []InstanceConfig {
			c := base()
			c.VIPs[0].Label = "other:1"
			return []InstanceConfig{c}
		}},
		{name: "src and primary differ", want: "differ", insts: func() []InstanceConfig {
			c := base()
			c.SrcAddr = netip.MustParseAddr("10.0.0.1")
			c.Machine.PrimaryAddr = netip.MustParseAddr("10.0.0.2")
			return []InstanceConfig{c}
		}},
		{name: "script redefined", want: "defined differently", insts: func() []InstanceConfig {
			c, d := base(), base()
			d.Machine.Name, d.Machine.VRID = "VI_2", 52
			c.TrackScripts = []TrackScript{{Script: track.ScriptConfig{Name: "chk"}, Command: Command{Argv: []string{"/a"}}}}
			d.TrackScripts = []TrackScript{{Script: track.ScriptConfig{Name: "chk"}, Command: Command{Argv: []string{"/b"}}}}
			return []InstanceConfig{c, d}
		}},
		{name: "empty notify", want: "notify_master: empty command", insts: func() []InstanceConfig {
			c := base()
			c.Notify.Master = &Command{}
			return []InstanceConfig{c}
		}},
		{name: "unknown member", want: "no instance VI_9", groups: []SyncGroupConfig{{Name: "G", Members: []string{"VI_9"}}},
			insts: func() []InstanceConfig { return []InstanceConfig{base()} }},
		{name: "member twice", want: "already in sync group", groups: []SyncGroupConfig{{Name: "G", Members: []string{"VI_1"}}, {Name: "H", Members: []string{"VI_1"}}},
			insts: func() []InstanceConfig { return []InstanceConfig{base()} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Options{
				Instances: tc.insts(), SyncGroups: tc.groups,
				Conns: &fakeConns{}, VIPs: &fakeVIPs{}, Announcer: &fakeAnnouncer{},
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New without I/O: no error")
	}
}

type failingConns struct{}

func (failingConns) Open(vrrpsock.Config) (Conn, error) { return nil, errFake }

func TestRunnerOpenFailureAndRunTwice(t *testing.T) {
	r, err := New(Options{
		Instances: []InstanceConfig{netModes[0].instance("VI_1", 51, 100, "")},
		Conns:     failingConns{}, VIPs: &fakeVIPs{}, Announcer: &fakeAnnouncer{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(t.Context()); !errors.Is(err, errFake) {
		t.Errorf("Run: %v, want the open error", err)
	}
	select {
	case <-r.Ready():
		t.Error("Ready closed although Run failed")
	default:
	}
	if err := r.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("second Run: %v", err)
	}
	if st := r.Snapshot(); st.Instances[0].State != vrrp.StateInitialize || st.Instances[0].Name != "VI_1" {
		t.Errorf("snapshot %+v", st.Instances[0])
	}
}

type failingLinks struct{}

func (failingLinks) WatchLinks(context.Context, func([]track.LinkEvent), func(track.LinkEvent)) error {
	return errFake
}

func TestRunnerLinkWatcherFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		n := &node{lab: l, name: "A", addr4: netip.MustParseAddr(addrA4)}
		vips := &fakeVIPs{present: map[string]bool{}}
		r, err := New(Options{
			Instances: []InstanceConfig{netModes[0].instance("VI_1", 51, 100, "")},
			Conns:     &fakeConns{n: n}, VIPs: vips, Announcer: &fakeAnnouncer{},
			Links: failingLinks{},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Run(t.Context()); !errors.Is(err, errFake) || !strings.Contains(err.Error(), "watching links") {
			t.Errorf("Run: %v, want the link watcher's error", err)
		}
		select {
		case <-r.Ready():
			t.Error("Ready closed although the instances never started")
		default:
		}
		if len(l.net.conns) != 0 {
			t.Error("socket left open")
		}
	})
}

// TestRunnerRemovesStaleVIPsAtStartup: a daemon killed while master leaves its
// VIPs on the interface; when it comes back as a backup (or an owner elsewhere is
// master) it must not keep answering for them.
func TestRunnerRemovesStaleVIPsAtStartup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{netModes[0].instance("VI_1", 51, 200, "")}, nodeOpts{})
		b := l.addNode("B", addrB4, addrB6, []InstanceConfig{netModes[0].instance("VI_1", 51, 100, "")}, nodeOpts{})
		stale := b.vips
		stale.mu.Lock()
		stale.present["10.0.0.100/24 eth0"] = true // left by a killed daemon
		stale.mu.Unlock()
		l.start()
		l.runUntil(t0.Add(5 * time.Second))
		if got := b.vips.list(); len(got) != 0 {
			t.Errorf("backup B still holds %v", got)
		}
		if st := a.inst("VI_1"); st.State != vrrp.StateMaster {
			t.Errorf("A is %v, want MASTER", st.State)
		}
	})
}

// TestRunnerReady: Ready is closed once the sockets are open and the
// instances started, which with a link watcher waits for the first dump.
func TestRunnerReady(t *testing.T) {
	isReady := func(n *node) bool {
		select {
		case <-n.r.Ready():
			return true
		default:
			return false
		}
	}
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		a := l.addNode("A", addrA4, addrA6, []InstanceConfig{netModes[0].instance("VI_1", 51, 100, "")}, nodeOpts{})
		b := l.addNode("B", addrB4, addrB6, []InstanceConfig{netModes[0].instance("VI_1", 51, 100, "")},
			nodeOpts{links: true, ifaces: []string{"eth0"}})
		b.links.hold = make(chan struct{})
		if isReady(a) || isReady(b) {
			t.Fatal("ready before Run")
		}
		l.start()
		l.net.mu.Lock()
		socks := len(l.net.conns)
		l.net.mu.Unlock()
		if !isReady(a) || a.inst("VI_1").State != vrrp.StateBackup || socks != 2 {
			t.Errorf("A: ready %v in %v with %d sockets open, want ready in BACKUP with both nodes' sockets", isReady(a), a.inst("VI_1").State, socks)
		}
		if isReady(b) || b.inst("VI_1").State != vrrp.StateInitialize {
			t.Errorf("B: ready %v in %v before the first link dump", isReady(b), b.inst("VI_1").State)
		}
		close(b.links.hold)
		l.settle()
		if !isReady(b) || b.inst("VI_1").State != vrrp.StateBackup {
			t.Errorf("B: ready %v in %v after the first link dump", isReady(b), b.inst("VI_1").State)
		}
	})
}

// TestRunnerOnTransition: OnTransition is called after each state change,
// when Snapshot already shows the new state (the daemon's sync daemons
// follow an instance this way), and not otherwise.
func TestRunnerOnTransition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t)
		var a *node
		var seen []string
		a = l.addNode("A", addrA4, addrA6, []InstanceConfig{netModes[0].instance("VI_1", 51, 150, "")}, nodeOpts{
			onTransition: func() {
				in := a.r.Snapshot().Instances[0]
				seen = append(seen, fmt.Sprintf("%v@%v", in.State, in.LastTransition.Sub(t0)))
			},
		})
		l.start()
		l.runUntil(t0.Add(20 * time.Second))
		want := []string{"BACKUP@0s", fmt.Sprintf("MASTER@%v", 3*time.Second+skewAt(150))}
		if !slices.Equal(seen, want) {
			t.Errorf("OnTransition saw %v, want %v", seen, want)
		}
	})
}

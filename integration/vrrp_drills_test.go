package integration

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// A drill is one VRRP failover scenario, written against [director] so that it runs
// with keepalived, with lvs-ha and with mixed pairs. impls[i] runs on lvs(i+1).
type drill struct {
	name      string
	directors int
	mixed     bool // also run with mixed implementations
	run       func(t *testing.T, impls []impl)
}

var drills = []drill{
	{"ElectionByPriority", 3, true, drillElection},
	{"EqualPriorityHigherAddressWins", 2, true, drillEqualPriority},
	{"Preemption", 2, true, drillPreemption},
	{"NoPreempt", 2, true, drillNoPreempt},
	{"PreemptDelay", 2, false, drillPreemptDelay},
	{"KillMaster", 2, true, drillKillMaster},
	{"StopMasterV2", 2, true, drillStopMasterV2},
	{"StopMasterV3", 2, false, drillStopMasterV3},
	{"LinkDown", 2, true, drillLinkDown},
	{"PartitionHeal", 2, true, drillPartition},
	{"TrackScript", 2, false, drillTrackScript},
	{"UnicastWithoutMulticast", 2, true, drillUnicast},
	{"IPv6", 2, true, drillIPv6},
}

// TestVRRPDrills runs every drill with keepalived directors (the reference), with
// lvs-ha directors, and (for most drills) with mixed pairs (lvs1 lvs-ha, lvs2
// keepalived, lvs3 lvs-ha; TestVRRPInterop has both roles of each).
func TestVRRPDrills(t *testing.T) {
	for _, variant := range []struct {
		name  string
		mixed bool
		pick  func(i int) impl
	}{
		{"keepalived", false, func(int) impl { return implKeepalived }},
		{"lvs-ha", false, func(int) impl { return implLVSHA }},
		{"mixed", true, func(i int) impl { return []impl{implLVSHA, implKeepalived}[i%2] }},
	} {
		t.Run(variant.name, func(t *testing.T) {
			for _, d := range drills {
				if variant.mixed && !d.mixed {
					continue
				}
				t.Run(d.name, func(t *testing.T) {
					impls := make([]impl, d.directors)
					for i := range impls {
						impls[i] = variant.pick(i)
					}
					requireImpls(t, impls...)
					d.run(t, impls)
				})
			}
		})
	}
}

// v3 with a 100 ms advert interval keeps the logic drills fast (master down
// interval ≈ 0.35 s); the drills about v2 timing use advert_int 1.
func fastInst(prio int) vrrpInst {
	return vrrpInst{Version: 3, AdvertInt: 100 * time.Millisecond, Priority: prio, VIPs: []netip.Prefix{vip4}}
}

// drillElection: three directors with priorities 150, 100, 50: lvs1 wins and stays.
func drillElection(t *testing.T, impls []impl) {
	v := newVRRPLab(t, 3)
	a := v.director(0, impls[0], fastInst(150))
	b := v.director(1, impls[1], fastInst(100))
	c := v.director(2, impls[2], fastInst(50))
	// Start the lowest first, so that the election is not just "first one up".
	startAll(c, b, a)
	waitSoleMaster(t, a, a, b, c)
	b.mustState("BACKUP", 0)
	c.mustState("BACKUP", 0)
	assertStable(t, v.cap, v.cap.mark(), 10, a, b, c)
	waitSoleMaster(t, a, a, b, c)
}

// drillEqualPriority: both at priority 100 become master apart from each other,
// then meet: the higher primary address (lvs2, 192.0.2.12) stays master, whichever
// side was cut off. (A backup accepts an equal-priority master whatever its address,
// so the tie-break only shows between two masters.)
func drillEqualPriority(t *testing.T, impls []impl) {
	v := newVRRPLab(t, 2)
	a := v.director(0, impls[0], fastInst(100))
	b := v.director(1, impls[1], fastInst(100))
	v.lab.Isolate(a.node)
	startAll(a, b)
	a.mustState("MASTER", 0)
	b.mustState("MASTER", 0)
	ma := a.mark()
	v.lab.Heal(a.node)
	a.mustState("BACKUP", ma)
	waitSoleMaster(t, b, a, b)
	assertStable(t, v.cap, v.cap.mark(), 10, b, a)

	// Now cut off lvs2: lvs1 takes over, and yields again when lvs2 is back.
	ma = a.mark()
	v.lab.Isolate(b.node)
	a.mustState("MASTER", ma)
	ma = a.mark()
	v.lab.Heal(b.node)
	a.mustState("BACKUP", ma)
	waitSoleMaster(t, b, a, b)
	assertStable(t, v.cap, v.cap.mark(), 10, b, a)
}

// drillPreemption: the higher priority director comes back and takes over again.
func drillPreemption(t *testing.T, impls []impl) {
	v := newVRRPLab(t, 2)
	a := v.director(0, impls[0], fastInst(150))
	b := v.director(1, impls[1], fastInst(100))
	startAll(a, b)
	waitSoleMaster(t, a, a, b)
	a.stop()
	waitSoleMaster(t, b, a, b)
	mb := b.mark()
	a.start()
	waitSoleMaster(t, a, a, b)
	b.mustState("BACKUP", mb)
	assertStable(t, v.cap, v.cap.mark(), 10, a, b)
}

// drillNoPreempt: with nopreempt the returning higher priority director stays
// backup.
func drillNoPreempt(t *testing.T, impls []impl) {
	v := newVRRPLab(t, 2)
	ia, ib := fastInst(150), fastInst(100)
	ia.NoPreempt, ib.NoPreempt = true, true
	a := v.director(0, impls[0], ia)
	b := v.director(1, impls[1], ib)
	startAll(a, b)
	waitSoleMaster(t, a, a, b)
	a.stop()
	waitSoleMaster(t, b, a, b)
	ma := a.mark()
	a.start()
	a.mustState("BACKUP", ma)
	// 15 adverts (1.5 s) span four master down intervals of lvs1.
	assertStable(t, v.cap, v.cap.mark(), 15, b, a)
	waitSoleMaster(t, b, a, b)
	if got := a.states(ma); len(got) != 1 {
		t.Errorf("%v went through states %v, want only BACKUP", a, got)
	}
}

// drillPreemptDelay: the returning higher priority director preempts no earlier
// than preempt_delay after its start.
func drillPreemptDelay(t *testing.T, impls []impl) {
	const delay = 2 * time.Second
	v := newVRRPLab(t, 2)
	ia := fastInst(150)
	ia.PreemptDelay = delay
	a := v.director(0, impls[0], ia)
	b := v.director(1, impls[1], fastInst(100))
	startAll(a, b)
	waitSoleMaster(t, a, a, b)
	a.stop()
	waitSoleMaster(t, b, a, b)
	mark := v.cap.mark()
	started := time.Now()
	a.start()
	first, err := v.cap.wait(mark, delay+eventTimeout, "first advert of lvs1", isVRRPFrom(a.node, ia.withDefaults().VRID))
	if err != nil {
		t.Fatal(err)
	}
	took := first.At.Sub(started)
	t.Logf("%v preempted %v after its start (preempt_delay %v)", a, took, delay)
	if took < delay {
		t.Errorf("%v preempted after %v, before preempt_delay %v", a, took, delay)
	}
	// lvs2 kept advertising while lvs1 waited.
	var lastB time.Time
	for _, f := range v.cap.since(mark) {
		if isVRRPFrom(b.node, 51)(f) && f.At.Before(first.At) {
			lastB = f.At
		}
	}
	if lastB.Sub(started) < delay-200*time.Millisecond {
		t.Errorf("lvs2's last advert before the preemption was %v after lvs1's start; lvs2 stopped being master early", lastB.Sub(started))
	}
	waitSoleMaster(t, a, a, b)
}

// drillKillMaster: SIGKILL on the master: the backup takes over and the client's
// neighbour entry for the VIP moves to the backup's MAC.
func drillKillMaster(t *testing.T, impls []impl) {
	v := newVRRPLab(t, 2)
	a := v.director(0, impls[0], fastInst(150))
	b := v.director(1, impls[1], fastInst(100))
	startAll(a, b)
	waitSoleMaster(t, a, a, b)
	touchVIP(t, v.client, vip4.Addr(), a.node.MAC())
	mark := v.cap.mark()
	a.crash()
	waitSoleMaster(t, b, a, b)
	if _, err := v.cap.wait(mark, eventTimeout, "gratuitous ARP from lvs2", isAnnounceFrom(b.node, vip4.Addr())); err != nil {
		t.Fatal(err)
	}
	waitNeigh(t, v.client, vip4.Addr(), b.node.MAC())
}

// stopMaster: SIGTERM on the master; the backup announces itself within its
// Skew_Time (+50 ms) of the signal, measured from the signal to the backup's first
// advert or gratuitous ARP seen by the client.
func stopMaster(t *testing.T, impls []impl, ia, ib vrrpInst) {
	v := newVRRPLab(t, 2)
	a := v.director(0, impls[0], ia)
	b := v.director(1, impls[1], ib)
	startAll(a, b)
	waitSoleMaster(t, a, a, b)
	b.mustState("BACKUP", 0)
	// lvs2 has heard the settled master.
	assertStable(t, v.cap, v.cap.mark(), 1, a, b)
	mark := v.cap.mark()
	sent := a.stop()
	vrid := ib.withDefaults().VRID
	first, err := v.cap.wait(mark, eventTimeout, "lvs2 taking over", either(isVRRPFrom(b.node, vrid), isAnnounceFrom(b.node, vip4.Addr())))
	if err != nil {
		t.Fatal(err)
	}
	took := first.At.Sub(sent)
	limit := ib.skew() + 50*time.Millisecond
	t.Logf("%v took over %v after SIGTERM to %v (Skew_Time %v, limit %v): %v", b, took, a, ib.skew(), limit, first)
	if took > limit {
		t.Errorf("%v took over %v after SIGTERM, want ≤ Skew_Time + 50 ms = %v; captured:\n%s", b, took, limit, v.cap.dump(mark))
	}
	// The stopped master announced priority 0 on its way out.
	var prio0 bool
	for _, f := range v.cap.since(mark) {
		if isVRRPFrom(a.node, vrid)(f) && f.Priority == 0 {
			prio0 = true
		}
	}
	if !prio0 {
		t.Errorf("%v sent no priority 0 advert on SIGTERM; captured:\n%s", a, v.cap.dump(mark))
	}
	waitSoleMaster(t, b, a, b)
	if a.anyVIP() {
		t.Errorf("%v left its VIP after SIGTERM", a)
	}
}

func drillStopMasterV2(t *testing.T, impls []impl) {
	ia, ib := fastInst(150), fastInst(100)
	ia.Version, ib.Version = 2, 2
	ia.AdvertInt, ib.AdvertInt = time.Second, time.Second
	stopMaster(t, impls, ia, ib)
}

func drillStopMasterV3(t *testing.T, impls []impl) {
	stopMaster(t, impls, fastInst(150), fastInst(100))
}

// drillLinkDown: the master's link goes down: it enters FAULT and drops the VIP, the
// backup takes over; link up: it preempts again.
func drillLinkDown(t *testing.T, impls []impl) {
	v := newVRRPLab(t, 2)
	a := v.director(0, impls[0], fastInst(150))
	b := v.director(1, impls[1], fastInst(100))
	startAll(a, b)
	waitSoleMaster(t, a, a, b)
	ma := a.mark()
	a.node.LinkDown()
	a.mustState("FAULT", ma)
	waitSoleMaster(t, b, a, b)
	mb := b.mark()
	a.node.LinkUp()
	waitSoleMaster(t, a, a, b)
	b.mustState("BACKUP", mb)
	assertStable(t, v.cap, v.cap.mark(), 10, a, b)
}

// drillPartition: the master is cut off (both sides keep carrier), the backup takes
// over, so there are two masters; after the heal exactly one (the higher priority)
// remains within one advert interval: the loser's last advert is at most one
// interval (+50 ms) after the heal.
func drillPartition(t *testing.T, impls []impl) {
	v := newVRRPLab(t, 2)
	ia, ib := fastInst(150), fastInst(100)
	a := v.director(0, impls[0], ia)
	b := v.director(1, impls[1], ib)
	startAll(a, b)
	waitSoleMaster(t, a, a, b)
	mb := b.mark()
	v.lab.Isolate(a.node)
	b.mustState("MASTER", mb)
	if err := netlab.WaitFor(eventTimeout, func() (bool, error) { return a.hasVIP() && b.hasVIP(), nil }, nil); err != nil {
		t.Fatalf("both sides should hold the VIP while partitioned: %v (%s)", err, vipReport([]*director{a, b}))
	}
	mark := v.cap.mark()
	mb = b.mark()
	healed := time.Now()
	v.lab.Heal(a.node)
	backup := b.mustState("BACKUP", mb)
	waitSoleMaster(t, a, a, b)
	assertStable(t, v.cap, v.cap.mark(), 5, a, b)
	vrid := ib.withDefaults().VRID
	var last *frame
	for _, f := range v.cap.since(mark) {
		if isVRRPFrom(b.node, vrid)(f) {
			last = f
		}
	}
	limit := ib.withDefaults().AdvertInt + 50*time.Millisecond
	if after := lineTime(b.impl, backup).Sub(healed); after > limit {
		t.Errorf("%v went back to BACKUP %v after the heal, want ≤ %v", b, after, limit)
	} else {
		t.Logf("%v went back to BACKUP %v after the heal (limit %v)", b, after, limit)
	}
	if last != nil {
		after := last.At.Sub(healed)
		t.Logf("last advert of %v came %v after the heal (limit %v)", b, after, limit)
		if after > limit {
			t.Errorf("%v still advertised %v after the heal, want ≤ %v; captured:\n%s", b, after, limit, v.cap.dump(mark))
		}
	}
}

// drillTrackScript: a failing track_script lowers the master's priority below the
// backup's, which takes over; when the script succeeds again the master preempts.
func drillTrackScript(t *testing.T, impls []impl) {
	v := newVRRPLab(t, 2)
	dir := t.TempDir()
	flag := filepath.Join(dir, "healthy")
	script := filepath.Join(dir, "check.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec test -f "+flag+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ia := fastInst(150)
	ia.TrackScript = "chk_flag"
	a := newDirector(t, impls[0], v.nodes[0], vrrpConfig{
		Scripts:   []vrrpScript{{Name: "chk_flag", Path: script, Interval: time.Second, Weight: -60}},
		Instances: []vrrpInst{ia},
	})
	b := v.director(1, impls[1], fastInst(100))
	startAll(a, b)
	waitSoleMaster(t, a, a, b)
	mark := v.cap.mark()
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	waitSoleMaster(t, b, a, b)
	// lvs1 advertised its lowered priority (150-60) before giving up.
	if _, err := v.cap.wait(mark, eventTimeout, "advert with priority 90 from lvs1", func(f *frame) bool {
		return isVRRPFrom(a.node, 51)(f) && f.Priority == 90
	}); err != nil {
		t.Error(err)
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitSoleMaster(t, a, a, b)
}

// drillUnicast: with VRRP multicast dropped on the bridge, unicast peers still elect
// one master and fail over.
func drillUnicast(t *testing.T, impls []impl) {
	v := newVRRPLab(t, 2)
	v.dropVRRPMulticast()
	ia, ib := fastInst(150), fastInst(100)
	ia.UnicastSrc, ia.UnicastPeers = v.nodes[0].Addr4(), []netip.Addr{v.nodes[1].Addr4()}
	ib.UnicastSrc, ib.UnicastPeers = v.nodes[1].Addr4(), []netip.Addr{v.nodes[0].Addr4()}
	a := v.director(0, impls[0], ia)
	b := v.director(1, impls[1], ib)
	onB := startCapture(t, b.node)
	startAll(a, b)
	waitSoleMaster(t, a, a, b)
	b.mustState("BACKUP", 0)
	// lvs2 receives lvs1's unicast adverts and sends none of its own.
	assertStable(t, onB, onB.mark(), 10, a, b)
	mb := b.mark()
	a.crash()
	b.mustState("MASTER", mb)
	waitSoleMaster(t, b, a, b)
}

// drillIPv6: a native IPv6 VRRPv3 instance (link-local source, VIP
// 2001:db8::100/64) fails over; the new master sends an unsolicited NA and the
// client's neighbour entry moves.
func drillIPv6(t *testing.T, impls []impl) {
	v := newVRRPLab(t, 2)
	ia, ib := fastInst(150), fastInst(100)
	ia.VIPs, ib.VIPs = []netip.Prefix{vip6}, []netip.Prefix{vip6}
	a := v.director(0, impls[0], ia)
	b := v.director(1, impls[1], ib)
	startAll(a, b)
	waitSoleMaster(t, a, a, b)
	// The adverts are IPv6 from a link-local address to ff02::12.
	f, err := v.cap.wait(0, eventTimeout, "IPv6 advert from lvs1", isVRRPFrom(a.node, 51))
	if err != nil {
		t.Fatal(err)
	}
	if !f.IPSrc.Is6() || !f.IPSrc.IsLinkLocalUnicast() || f.IPDst != netip.MustParseAddr("ff02::12") || f.Version != 3 {
		t.Errorf("advert %v: want VRRPv3 from a link-local address to ff02::12", f)
	}
	touchVIP(t, v.client, vip6.Addr(), a.node.MAC())
	mark := v.cap.mark()
	a.crash()
	waitSoleMaster(t, b, a, b)
	if _, err := v.cap.wait(mark, eventTimeout, "unsolicited NA from lvs2", isAnnounceFrom(b.node, vip6.Addr())); err != nil {
		t.Fatal(err)
	}
	waitNeigh(t, v.client, vip6.Addr(), b.node.MAC())
}

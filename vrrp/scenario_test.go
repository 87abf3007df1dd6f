package vrrp

import (
	"net/netip"
	"testing"
	"time"
)

// Multi-node scenarios on the simulator (sim_test.go). Times are exact: the
// fake clock only ever jumps to a deadline or a delivery.

func TestElectionAmongThree(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "VI_1", opts4(1, 100))
	b := s.add("b", "VI_1", opts4(2, 150))
	c := s.add("c", "VI_1", opts4(3, 200))
	s.startAll()
	s.run(10 * time.Second)
	s.wantMaster(c)
	// The highest priority has the shortest skew, so it times out first.
	s.wantTime("c master", c.lastTo(StateMaster), t0.Add(mdi2(200)))
	for _, in := range []*inst{a, b} {
		if len(in.log) != 1 {
			t.Errorf("%v transitions %v, want only INIT->BACKUP", in, in.log)
		}
	}
}

func TestEqualPriorityGreaterAddressWins(t *testing.T) {
	for _, order := range []string{"low first", "high first"} {
		t.Run(order, func(t *testing.T) {
			s := newSim(t)
			s.latency = 10 * time.Millisecond // both time out before hearing the other
			var low, high *inst
			if order == "low first" {
				low = s.add("a", "VI_1", opts4(1, 100))
				high = s.add("b", "VI_1", opts4(2, 100))
			} else {
				high = s.add("b", "VI_1", opts4(2, 100))
				low = s.add("a", "VI_1", opts4(1, 100))
			}
			s.startAll()
			s.run(mdi2(100))
			if len(s.masters()) != 2 {
				t.Fatalf("want both masters at MDI, got %v\n%s", s.masters(), s.dump())
			}
			s.run(s.latency)
			s.wantMaster(high)
			if r := low.log[len(low.log)-1].reason; r != "equal priority 100 from greater address 192.0.2.2" {
				t.Errorf("reason %q", r)
			}
			s.run(time.Minute)
			s.wantMaster(high)
		})
	}
}

func TestEqualPriorityIPv6AddressOrder(t *testing.T) {
	s := newSim(t)
	s.latency = 10 * time.Millisecond
	mk := func(addr string) Options {
		return Options{VRID: 5, PrimaryAddr: netip.MustParseAddr(addr), VIPs: addrs("2001:db8::100"), AdvertInterval: 100 * time.Millisecond}
	}
	lo := s.add("a", "VI_6", mk("fe80::ff"))
	hi := s.add("b", "VI_6", mk("fe80::1:0")) // greater as a 128-bit unsigned integer
	s.startAll()
	s.run(5 * time.Second)
	s.wantMaster(hi)
	if lo.m.Options().Version != 3 {
		t.Fatal("IPv6 instance not VRRPv3")
	}
}

func TestPreemptionWhenHigherReturns(t *testing.T) {
	s := newSim(t)
	hi := s.add("a", "VI_1", opts4(1, 200))
	lo := s.add("b", "VI_1", opts4(2, 100))
	s.startAll()
	s.run(10 * time.Second)
	s.wantMaster(hi)

	s.crash(hi)
	s.run(10 * time.Second)
	s.wantMaster(lo)

	back := s.now.Add(300 * time.Millisecond)
	s.runUntil(back)
	s.restart(hi)
	s.run(10 * time.Second)
	s.wantMaster(hi)
	// The returning higher priority ignores the lower master's adverts and
	// takes over when its own master down timer expires.
	s.wantTime("a master again", hi.lastTo(StateMaster), back.Add(mdi2(200)))
	s.wantTime("b back to backup", lo.lastTo(StateBackup), back.Add(mdi2(200)))
}

func TestNoPreemptKeepsMaster(t *testing.T) {
	s := newSim(t)
	o := opts4(1, 200)
	o.NoPreempt = true
	hi := s.add("a", "VI_1", o)
	lo := s.add("b", "VI_1", opts4(2, 100))
	s.startAll()
	s.run(10 * time.Second)
	s.wantMaster(hi) // nopreempt does not stop an election without master

	s.crash(hi)
	s.run(10 * time.Second)
	s.restart(hi)
	s.run(time.Minute)
	s.wantMaster(lo)
	s.wantState(hi, StateBackup)
}

func TestPreemptDelay(t *testing.T) {
	s := newSim(t)
	o := opts4(1, 200)
	o.PreemptDelay = 10 * time.Second
	hi := s.add("a", "VI_1", o)
	lo := s.add("b", "VI_1", opts4(2, 100))
	s.step(lo, Startup{})
	s.run(10 * time.Second)
	s.wantMaster(lo)

	back := s.now.Add(250 * time.Millisecond)
	s.runUntil(back)
	s.step(hi, Startup{})
	s.run(5 * time.Second)
	s.wantMaster(lo) // without the delay hi would have taken over at back+MDI

	s.run(30 * time.Second)
	s.wantMaster(hi)
	// b advertises every second from when it became master. The first advert
	// a hears starts the delay; adverts are accepted while it runs (the 10th
	// one after the first arrives exactly at its end and is not), so a takes
	// over MDI after the last accepted one.
	lb := lo.lastTo(StateMaster)
	first := lb
	for first.Before(back) {
		first = first.Add(time.Second)
	}
	s.wantTime("a preempts", hi.lastTo(StateMaster), first.Add(9*time.Second+mdi2(200)))
	if !hi.lastTo(StateMaster).After(back.Add(o.PreemptDelay)) {
		t.Error("preempted before preempt_delay")
	}
}

func TestMasterDiesSilently(t *testing.T) {
	s := newSim(t)
	hi := s.add("a", "VI_1", opts4(1, 200))
	lo := s.add("b", "VI_1", opts4(2, 100))
	s.startAll()
	s.run(10*time.Second + 400*time.Millisecond)
	s.wantMaster(hi)
	lastAdvert := hi.lastSent().at
	s.crash(hi)
	s.run(10 * time.Second)
	s.wantMaster(lo)
	s.wantTime("b master", lo.lastTo(StateMaster), lastAdvert.Add(mdi2(100)))
	if r := lo.log[len(lo.log)-1].reason; r != "master down timer expired" {
		t.Errorf("reason %q", r)
	}
}

func TestMasterShutdownSkewTime(t *testing.T) {
	s := newSim(t)
	hi := s.add("a", "VI_1", opts4(1, 200))
	lo := s.add("b", "VI_1", opts4(2, 100))
	s.startAll()
	s.run(10*time.Second + 400*time.Millisecond)
	s.wantMaster(hi)
	stop := s.now
	s.step(hi, Shutdown{})
	if p := hi.lastSent(); p.prio != 0 || !p.at.Equal(stop) {
		t.Fatalf("last advert %+v, want priority 0 at shutdown", p)
	}
	s.run(5 * time.Second)
	s.wantMaster(lo)
	s.wantTime("b master", lo.lastTo(StateMaster), stop.Add(156*time.Second/256))
	s.wantState(hi, StateInitialize)
}

func TestPartitionHeal(t *testing.T) {
	for _, heal := range []time.Duration{0, 100 * time.Millisecond, 500 * time.Millisecond, 999 * time.Millisecond} {
		t.Run(heal.String(), func(t *testing.T) {
			s := newSim(t)
			hi := s.add("a", "VI_1", opts4(1, 200))
			lo := s.add("b", "VI_1", opts4(2, 100))
			mid := s.add("c", "VI_1", opts4(3, 150))
			s.startAll()
			s.run(10 * time.Second)
			s.wantMaster(hi)

			s.partition([]string{"a"}, []string{"b", "c"}, true)
			s.run(20 * time.Second)
			if len(s.masters()) != 2 || hi.m.State() != StateMaster || mid.m.State() != StateMaster {
				t.Fatalf("during partition masters %v, want a and c\n%s", s.masters(), s.dump())
			}
			s.wantState(lo, StateBackup)

			s.run(heal)
			s.partition([]string{"a"}, []string{"b", "c"}, false)
			healed := s.now
			s.run(time.Second) // one advert interval
			s.wantMaster(hi)
			if at := mid.lastTo(StateBackup); at.Before(healed) || at.After(healed.Add(time.Second)) {
				t.Errorf("c stepped down at %v, heal at %v", at.Sub(t0), healed.Sub(t0))
			}
			s.run(time.Minute)
			s.wantMaster(hi)
		})
	}
}

func TestTrackerWeightMovesMastership(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "VI_1", opts4(1, 100))
	b := s.add("b", "VI_1", opts4(2, 80))
	s.step(a, TrackerChanged{Tracker{Name: "chk_http", Weight: -30, OK: true}})
	s.startAll()
	s.run(10 * time.Second)
	s.wantMaster(a)

	s.run(200 * time.Millisecond)
	lastHigh := a.lastSent().at
	s.step(a, TrackerChanged{Tracker{Name: "chk_http", Weight: -30, OK: false}})
	if a.m.Priority() != 70 || len(a.prios) != 1 || a.prios[0] != (PriorityChanged{100, 70}) {
		t.Fatalf("priority %d, changes %v", a.m.Priority(), a.prios)
	}
	s.run(10 * time.Second)
	s.wantMaster(b)
	// b ignores a's priority 70 adverts and times out MDI after the last
	// priority 100 one.
	s.wantTime("b master", b.lastTo(StateMaster), lastHigh.Add(mdi2(80)))
	s.wantTime("a backup", a.lastTo(StateBackup), lastHigh.Add(mdi2(80)))

	// On recovery a's running down timer (armed by b's last priority 80
	// advert, which a accepted at priority 70) moves by the change of
	// Master_Down_Interval, like keepalived; b's next adverts are then lower
	// and ignored.
	s.run(300 * time.Millisecond)
	lastB := b.lastSent().at
	s.step(a, TrackerChanged{Tracker{Name: "chk_http", Weight: -30, OK: true}})
	if got, want := a.m.NextDeadline(), lastB.Add(mdi2(100)); !got.Equal(want) {
		t.Fatalf("down timer %v, want %v", got.Sub(t0), want.Sub(t0))
	}
	s.run(10 * time.Second)
	s.wantMaster(a)
	s.wantTime("a master again", a.lastTo(StateMaster), lastB.Add(mdi2(100)))
}

func TestFaultOnLinkDownAndRecovery(t *testing.T) {
	s := newSim(t)
	hi := s.add("a", "VI_1", opts4(1, 200))
	lo := s.add("b", "VI_1", opts4(2, 100))
	s.startAll()
	s.run(10*time.Second + 100*time.Millisecond)
	s.wantMaster(hi)

	down := s.now
	s.step(hi, LinkDown{})
	s.wantState(hi, StateFault)
	if p := hi.lastSent(); p.prio != 0 || !p.at.Equal(down) {
		t.Errorf("entering fault sent %+v, want priority 0", p)
	}
	s.run(20 * time.Second)
	s.wantMaster(lo)
	s.wantState(hi, StateFault)
	s.wantTime("b master", lo.lastTo(StateMaster), down.Add(156*time.Second/256))
	if n := len(hi.sent); hi.sent[n-1].at != down {
		t.Error("advert sent while in fault")
	}

	up := s.now
	s.step(hi, LinkUp{})
	s.wantState(hi, StateBackup)
	s.run(10 * time.Second)
	s.wantMaster(hi)
	s.wantTime("a master", hi.lastTo(StateMaster), up.Add(mdi2(200)))
}

func TestUnweightedTrackerFault(t *testing.T) {
	s := newSim(t)
	hi := s.add("a", "VI_1", opts4(1, 200))
	lo := s.add("b", "VI_1", opts4(2, 100))
	s.startAll()
	s.run(10 * time.Second)
	s.step(hi, TrackerChanged{Tracker{Name: "chk_disk"}})
	s.wantState(hi, StateFault)
	s.run(time.Second)
	s.wantMaster(lo)
	// A fault from a second source keeps it down until both clear.
	s.step(hi, LinkDown{})
	s.step(hi, TrackerChanged{Tracker{Name: "chk_disk", OK: true}})
	s.wantState(hi, StateFault)
	s.step(hi, LinkUp{})
	s.wantState(hi, StateBackup)
}

func TestV3IntervalAdoption(t *testing.T) {
	s := newSim(t)
	v3 := func(host byte, prio uint8, intv time.Duration) Options {
		o := opts4(host, prio)
		o.Version, o.AdvertInterval = 3, intv
		return o
	}
	hi := s.add("a", "VI_1", v3(1, 200, 500*time.Millisecond))
	lo := s.add("b", "VI_1", v3(2, 100, 2*time.Second))
	s.startAll()
	s.run(10 * time.Second)
	s.wantMaster(hi)
	if got := lo.m.MasterAdverInterval(); got != 500*time.Millisecond {
		t.Fatalf("backup Master_Adver_Interval %v, want the master's 500ms", got)
	}
	// Skew_Time = ((256-100) * 50cs) / 256 = 30.46875cs.
	wantMDI := 1500*time.Millisecond + 304687500*time.Nanosecond
	if got := lo.m.MasterDownInterval(); got != wantMDI {
		t.Fatalf("backup Master_Down_Interval %v, want %v", got, wantMDI)
	}
	s.run(200 * time.Millisecond)
	last := hi.lastSent().at
	s.crash(hi)
	s.run(10 * time.Second)
	s.wantMaster(lo)
	s.wantTime("b master", lo.lastTo(StateMaster), last.Add(wantMDI))
	// As master, b advertises at its own interval.
	n := len(lo.sent)
	if d := lo.sent[n-1].at.Sub(lo.sent[n-2].at); d != 2*time.Second || lo.m.MasterAdverInterval() != 2*time.Second {
		t.Errorf("master advert spacing %v", d)
	}
	if s.rejects[ReasonAdvertInterval] != 0 {
		t.Error("VRRPv3 interval mismatch must not reject")
	}
}

func TestV2IntervalMismatchDropped(t *testing.T) {
	// keepalived drops VRRPv2 adverts with another interval, so both nodes
	// end up master: this documents the compatible behaviour.
	s := newSim(t)
	o := opts4(1, 200)
	o.AdvertInterval = 2 * time.Second
	s.add("a", "VI_1", o)
	s.add("b", "VI_1", opts4(2, 100))
	s.startAll()
	s.run(20 * time.Second)
	if len(s.masters()) != 2 || s.rejects[ReasonAdvertInterval] == 0 {
		t.Fatalf("masters %v, rejects %v", s.masters(), s.rejects)
	}
}

func TestOwnerPreemptsImmediately(t *testing.T) {
	s := newSim(t)
	lo := s.add("b", "VI_1", opts4(2, 100))
	owner := s.add("a", "VI_1", opts4(1, 255))
	s.step(lo, Startup{})
	s.run(10 * time.Second)
	s.wantMaster(lo)
	start := s.now
	s.step(owner, Startup{})
	s.run(0)
	s.wantMaster(owner) // lo has stepped down on the owner's first advert
	s.wantTime("b backup", lo.lastTo(StateBackup), start)
	s.run(time.Minute)
	s.wantMaster(owner)
}

func TestMultipleVRIDsIndependent(t *testing.T) {
	s := newSim(t)
	o1a, o1b := opts4(1, 200), opts4(2, 100)
	o2a, o2b := opts4(1, 100), opts4(2, 200)
	o2a.VRID, o2b.VRID = 52, 52
	a1 := s.add("a", "VI_1", o1a)
	s.add("b", "VI_1", o1b)
	s.add("a", "VI_2", o2a)
	b2 := s.add("b", "VI_2", o2b)
	s.startAll()
	s.run(20 * time.Second)
	s.wantMaster(a1)
	s.wantMaster(b2)
	if s.rejects[ReasonVRID] == 0 {
		t.Error("no cross-VRID packets seen")
	}
}

func TestLossyNetworkStillConverges(t *testing.T) {
	s := newSim(t)
	hi := s.add("a", "VI_1", opts4(1, 200))
	s.add("b", "VI_1", opts4(2, 100))
	n := 0
	s.drop = func(d delivery) bool { n++; return n%3 == 0 } // drop every third packet
	s.startAll()
	s.run(time.Minute)
	s.wantMaster(hi)
}

func TestSyncGroupFault(t *testing.T) {
	s := newSim(t)
	mk := func(host byte, prio uint8, vrid uint8, vip string) Options {
		o := opts4(host, prio)
		o.VRID, o.VIPs = vrid, addrs(vip)
		return o
	}
	a1 := s.add("a", "VI_1", mk(1, 200, 51, "192.0.2.100"))
	a2 := s.add("a", "VI_2", mk(1, 200, 52, "192.0.2.101"))
	b1 := s.add("b", "VI_1", mk(2, 100, 51, "192.0.2.100"))
	b2 := s.add("b", "VI_2", mk(2, 100, 52, "192.0.2.101"))
	ga := s.group("G_a", a1, a2)
	gb := s.group("G_b", b1, b2)
	s.startAll()
	s.run(10 * time.Second)
	s.wantMaster(a1)
	s.wantMaster(a2)
	if ga.State() != StateMaster || gb.State() != StateBackup {
		t.Fatalf("group states %v %v", ga.State(), gb.State())
	}

	// VI_1's link fails on a: the whole group goes to fault, both send
	// priority 0, and b takes over both after Skew_Time.
	down := s.now
	s.step(a1, LinkDown{})
	s.wantState(a1, StateFault)
	s.wantState(a2, StateFault)
	if r := a2.log[len(a2.log)-1].reason; r != "sync group G_a: VI_1 is FAULT" {
		t.Errorf("reason %q", r)
	}
	if p := a2.lastSent(); p.prio != 0 || !p.at.Equal(down) {
		t.Errorf("VI_2 did not send priority 0: %+v", p)
	}
	s.run(5 * time.Second)
	s.wantMaster(b1)
	s.wantMaster(b2)
	s.wantTime("b VI_1 master", b1.lastTo(StateMaster), down.Add(156*time.Second/256))

	// VI_2 has no fault of its own but stays in fault with its group.
	s.step(a2, LinkUp{})
	s.wantState(a2, StateFault)

	up := s.now
	s.step(a1, LinkUp{})
	s.wantState(a1, StateBackup)
	s.wantState(a2, StateBackup)
	s.run(10 * time.Second)
	s.wantMaster(a1)
	s.wantMaster(a2)
	s.wantTime("a VI_1 master", a1.lastTo(StateMaster), up.Add(mdi2(200)))
	s.wantTime("a VI_2 master", a2.lastTo(StateMaster), up.Add(mdi2(200)))
}

func TestSyncGroupMastersTogether(t *testing.T) {
	s := newSim(t)
	mk := func(host byte, prio uint8, vrid uint8) Options {
		o := opts4(host, prio)
		o.VRID = vrid
		o.VIPs = []netip.Addr{netip.AddrFrom4([4]byte{192, 0, 2, vrid})}
		return o
	}
	a1 := s.add("a", "VI_1", mk(1, 200, 51))
	a2 := s.add("a", "VI_2", mk(1, 200, 52))
	b1 := s.add("b", "VI_1", mk(2, 100, 51))
	b2 := s.add("b", "VI_2", mk(2, 150, 52))
	s.group("G_b", b1, b2)
	s.startAll()
	s.run(10 * time.Second)
	s.wantMaster(a1)
	s.wantMaster(a2)

	// Only a's VI_2 dies: b's VI_2 wants MASTER but VI_1 still hears a, so
	// the group keeps both in BACKUP (keepalived prefers backup).
	s.crash(a2)
	s.run(20 * time.Second)
	s.wantState(b1, StateBackup)
	s.wantState(b2, StateBackup)
	if b2.m.want != StateMaster {
		t.Fatalf("b VI_2 want %v", b2.m.want)
	}

	// Now VI_1 dies too: when b's VI_1 times out, both become master at once.
	s.run(100 * time.Millisecond)
	last := a1.lastSent().at
	s.crash(a1)
	s.run(10 * time.Second)
	s.wantMaster(b1)
	s.wantMaster(b2)
	s.wantTime("b VI_1 master", b1.lastTo(StateMaster), last.Add(mdi2(100)))
	s.wantTime("b VI_2 master", b2.lastTo(StateMaster), last.Add(mdi2(100)))

	// a's VI_1 returns and preempts: b's group steps down together.
	s.run(300 * time.Millisecond)
	back := s.now
	s.restart(a1)
	s.run(10 * time.Second)
	s.wantMaster(a1)
	s.wantState(b2, StateBackup)
	s.wantTime("b VI_2 backup", b2.lastTo(StateBackup), back.Add(mdi2(200)))
	if r := b2.log[len(b2.log)-1].reason; r != "sync group G_b: VI_1 is BACKUP" {
		t.Errorf("reason %q", r)
	}
}

func TestSyncGroupValidation(t *testing.T) {
	m1 := newMachine(t, opts4(1, 100))
	m2 := newMachine(t, opts4(1, 100))
	if _, err := NewSyncGroup("g"); err == nil {
		t.Error("empty group accepted")
	}
	if _, err := NewSyncGroup("g", m1, m1); err == nil {
		t.Error("duplicate member accepted")
	}
	if _, err := NewSyncGroup("g", m1, m2); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSyncGroup("h", m1); err == nil {
		t.Error("member of two groups accepted")
	}
	m3 := newMachine(t, opts4(1, 100))
	m3.Step(t0, Startup{})
	if _, err := NewSyncGroup("i", m3); err == nil {
		t.Error("started member accepted")
	}
}

// TestScenarioReconfigureConverges: random priority reloads on three nodes
// (VRRPv3, 100 ms adverts). After each one the pair settles within a few
// Master_Down_Intervals on exactly one master, the node with the highest
// priority (ties to the greater address), and a node whose priority did not
// change and that keeps being the right master never transitions.
func TestScenarioReconfigureConverges(t *testing.T) {
	s := newSim(t)
	opts := func(host byte, prio uint8) Options {
		o := opts4(host, prio)
		o.Version, o.AdvertInterval = 3, 100*time.Millisecond
		return o
	}
	prios := []uint8{100, 150, 50}
	var ins []*inst
	for i, p := range prios {
		ins = append(ins, s.add("n"+string(rune('1'+i)), "VI_1", opts(byte(i+1), p)))
	}
	for _, in := range ins {
		s.step(in, Startup{})
	}
	s.run(2 * time.Second)
	seed := uint64(1)
	rnd := func(n int) int { // xorshift: deterministic, no math/rand state
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return int(seed % uint64(n))
	}
	for round := 0; round < 200; round++ {
		best := func() int {
			b := 0
			for i := range ins {
				if prios[i] > prios[b] || prios[i] == prios[b] && i > b { // greater address wins a tie
					b = i
				}
			}
			return b
		}
		before := best()
		masterBefore := ins[before].m.State() == StateMaster
		transitionsBefore := len(ins[before].log)
		i := rnd(len(ins))
		prios[i] = uint8(1 + rnd(254))
		s.step(ins[i], Reconfigure{Options: opts(byte(i+1), prios[i])})
		s.run(2 * time.Second)
		want := best()
		for j, in := range ins {
			if st := in.m.State(); (j == want) != (st == StateMaster) {
				t.Fatalf("round %d: n%d priority %d is %v; priorities %v\n%s", round, j+1, prios[j], st, prios, s.dump())
			}
		}
		if want == before && i != before && masterBefore && len(ins[before].log) != transitionsBefore {
			t.Fatalf("round %d: master n%d transitioned after n%d's reload\n%s", round, before+1, i+1, s.dump())
		}
	}
}

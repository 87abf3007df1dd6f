package vrrp

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// The simulator drives machines with a fake clock that jumps to the earliest
// pending event (a packet delivery or a machine deadline) and a fake network
// that carries SendAdvert actions, encoded and decoded with the real codec,
// to the instances of the other nodes. Nothing sleeps.

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

type transition struct {
	at       time.Time
	from, to State
	reason   string
}

type sentAdvert struct {
	at   time.Time
	prio uint8
}

// inst is one VRRP instance on one simulated node.
type inst struct {
	node   string
	name   string
	m      *Machine
	g      *SyncGroup
	dead   bool // crashed: not stepped, sends and receives nothing
	vipsUp bool
	log    []transition
	sent   []sentAdvert
	garps  []GARPReason
	prios  []PriorityChanged
}

func (in *inst) String() string { return in.node + "/" + in.name }

// lastTo is when in last entered state st (zero if never).
func (in *inst) lastTo(st State) time.Time {
	for i := len(in.log) - 1; i >= 0; i-- {
		if in.log[i].to == st {
			return in.log[i].at
		}
	}
	return time.Time{}
}

func (in *inst) lastSent() sentAdvert {
	if len(in.sent) == 0 {
		return sentAdvert{}
	}
	return in.sent[len(in.sent)-1]
}

type delivery struct {
	at       time.Time
	seq      int
	from, to *inst
	payload  []byte
}

type sim struct {
	t       *testing.T
	now     time.Time
	insts   []*inst
	latency time.Duration
	queue   []delivery
	seq     int
	blocked map[[2]string]bool
	drop    func(d delivery) bool
	rejects map[Reason]int
	trace   []string
}

func newSim(t *testing.T) *sim {
	return &sim{t: t, now: t0, blocked: map[[2]string]bool{}, rejects: map[Reason]int{}}
}

// add creates an instance named name on node.
func (s *sim) add(node, name string, o Options) *inst {
	s.t.Helper()
	if o.Name == "" {
		o.Name = name
	}
	m, err := NewMachine(o)
	if err != nil {
		s.t.Fatal(err)
	}
	in := &inst{node: node, name: name, m: m}
	s.insts = append(s.insts, in)
	return in
}

// group puts instances (of one node) in a sync group.
func (s *sim) group(name string, members ...*inst) *SyncGroup {
	s.t.Helper()
	var ms []*Machine
	for _, in := range members {
		ms = append(ms, in.m)
	}
	g, err := NewSyncGroup(name, ms...)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, in := range members {
		in.g = g
	}
	return g
}

func (s *sim) byMachine(m *Machine) *inst {
	for _, in := range s.insts {
		if in.m == m {
			return in
		}
	}
	s.t.Fatalf("unknown machine %p", m)
	return nil
}

// step delivers ev to in now and carries out the resulting actions.
func (s *sim) step(in *inst, ev Event) {
	s.t.Helper()
	if in.dead {
		return
	}
	if in.g != nil {
		for _, ga := range in.g.Step(s.now, in.m, ev) {
			s.apply(s.byMachine(ga.Member), ga.Action)
		}
	} else {
		for _, a := range in.m.Step(s.now, ev) {
			s.apply(in, a)
		}
	}
	s.check()
}

func (s *sim) logf(format string, args ...any) {
	s.trace = append(s.trace, fmt.Sprintf("%s ", s.now.Sub(t0))+fmt.Sprintf(format, args...))
}

func (s *sim) apply(in *inst, a Action) {
	switch a := a.(type) {
	case SendAdvert:
		in.sent = append(in.sent, sentAdvert{s.now, a.Priority})
		s.logf("%v sends prio %d", in, a.Priority)
		o := in.m.Options()
		b, err := a.Marshal(EncodeOptions{Src: o.PrimaryAddr, Dst: mcast(o.Family), V3ChecksumAsV2: o.V3ChecksumAsV2})
		if err != nil {
			s.t.Fatalf("%v: marshal %+v: %v", in, a, err)
		}
		for _, to := range s.insts {
			if to.node == in.node {
				continue
			}
			s.seq++
			d := delivery{at: s.now.Add(s.latency), seq: s.seq, from: in, to: to, payload: b}
			s.queue = append(s.queue, d)
		}
	case AddVIPs:
		if in.vipsUp {
			s.t.Errorf("%v: AddVIPs while VIPs are up", in)
		}
		in.vipsUp = true
	case RemoveVIPs:
		if !in.vipsUp {
			s.t.Errorf("%v: RemoveVIPs while VIPs are down", in)
		}
		in.vipsUp = false
	case SendGARP:
		if !in.vipsUp {
			s.t.Errorf("%v: GARP without VIPs", in)
		}
		in.garps = append(in.garps, a.Reason)
	case Notify:
		in.log = append(in.log, transition{s.now, a.From, a.To, a.Reason})
		s.logf("%v %v", in, a)
	case PriorityChanged:
		in.prios = append(in.prios, a)
		s.logf("%v priority %d -> %d", in, a.From, a.To)
	case RxLowerPriority:
		if in.m.State() != StateMaster {
			s.t.Errorf("%v: lower priority advert reported while %v", in, in.m.State())
		}
	default:
		s.t.Fatalf("unknown action %T", a)
	}
}

func mcast(f Family) netip.Addr {
	if f == FamilyIPv6 {
		return MulticastGroup6
	}
	return MulticastGroup4
}

// check asserts invariants after every step.
func (s *sim) check() {
	s.t.Helper()
	for _, in := range s.insts {
		if in.dead {
			continue
		}
		if in.vipsUp != (in.m.State() == StateMaster) {
			s.t.Fatalf("%v: state %v but VIPs up=%v\n%s", in, in.m.State(), in.vipsUp, s.dump())
		}
		if len(in.log) > 0 && in.log[len(in.log)-1].to != in.m.State() {
			s.t.Fatalf("%v: last Notify to %v but state %v", in, in.log[len(in.log)-1].to, in.m.State())
		}
	}
}

func (s *sim) dump() string { return strings.Join(s.trace, "\n") }

// next returns the earliest pending event time.
func (s *sim) next() (time.Time, bool) {
	var e time.Time
	for _, d := range s.queue {
		e = earliest(e, d.at)
	}
	for _, in := range s.insts {
		if !in.dead {
			e = earliest(e, in.m.NextDeadline())
		}
	}
	return e, !e.IsZero()
}

// runUntil processes events up to and including time end, then sets the
// clock to end. Deliveries due at the same instant go before timers.
func (s *sim) runUntil(end time.Time) {
	s.t.Helper()
	for n := 0; ; n++ {
		if n > 1_000_000 {
			s.t.Fatalf("simulation does not settle\n%s", s.dump())
		}
		at, ok := s.next()
		if !ok || at.After(end) {
			break
		}
		if at.Before(s.now) {
			s.t.Fatalf("deadline %v in the past (now %v)", at, s.now)
		}
		s.now = at
		if i := s.dueDelivery(); i >= 0 {
			d := s.queue[i]
			s.queue = slices.Delete(s.queue, i, i+1)
			s.deliver(d)
			continue
		}
		for _, in := range s.insts {
			if !in.dead && due(in.m.NextDeadline(), s.now) {
				s.step(in, Tick{})
				break
			}
		}
	}
	s.now = end
}

func (s *sim) run(d time.Duration) { s.runUntil(s.now.Add(d)) }

func (s *sim) dueDelivery() int {
	best := -1
	for i, d := range s.queue {
		if d.at.After(s.now) {
			continue
		}
		if best < 0 || d.seq < s.queue[best].seq {
			best = i
		}
	}
	return best
}

func (s *sim) deliver(d delivery) {
	if d.from.dead || d.to.dead || s.blocked[[2]string{d.from.node, d.to.node}] || (s.drop != nil && s.drop(d)) {
		return
	}
	o := d.from.m.Options()
	rx := RxInfo{Src: o.PrimaryAddr, Dst: mcast(o.Family), TTL: TTL}
	dec, err := Decode(d.payload, rx, d.to.m.Expect(rx.Src))
	if err != nil {
		r := ReasonOf(err)
		s.rejects[r]++
		if r != ReasonVRID {
			s.logf("%v rejects packet from %v: %v", d.to, d.from, err)
		}
		return
	}
	s.step(d.to, AdvertReceived{Advertisement: dec.Advertisement, From: rx.Src})
}

// partition blocks traffic both ways between every node of a and of b.
func (s *sim) partition(a, b []string, blocked bool) {
	for _, x := range a {
		for _, y := range b {
			s.blocked[[2]string{x, y}] = blocked
			s.blocked[[2]string{y, x}] = blocked
		}
	}
}

// crash stops in silently; restart brings it back in Initialize.
func (s *sim) crash(in *inst) {
	in.dead = true
	in.vipsUp = false
	s.logf("%v crashes", in)
}

func (s *sim) restart(in *inst) {
	s.t.Helper()
	o := in.m.Options()
	m, err := NewMachine(o)
	if err != nil {
		s.t.Fatal(err)
	}
	in.m, in.dead = m, false
	s.logf("%v restarts", in)
	s.step(in, Startup{})
}

func (s *sim) startAll() {
	for _, in := range s.insts {
		s.step(in, Startup{})
	}
}

func (s *sim) masters() []*inst {
	var ms []*inst
	for _, in := range s.insts {
		if !in.dead && in.m.State() == StateMaster {
			ms = append(ms, in)
		}
	}
	return ms
}

// wantMaster asserts in is the only live master among insts of its VRID.
func (s *sim) wantMaster(in *inst) {
	s.t.Helper()
	for _, o := range s.insts {
		if o.dead || o.m.Options().VRID != in.m.Options().VRID {
			continue
		}
		if (o == in) != (o.m.State() == StateMaster) {
			s.t.Fatalf("at %v: %v is %v, want %v as the only master\n%s", s.now.Sub(t0), o, o.m.State(), in, s.dump())
		}
	}
}

func (s *sim) wantState(in *inst, st State) {
	s.t.Helper()
	if in.m.State() != st {
		s.t.Fatalf("at %v: %v is %v, want %v\n%s", s.now.Sub(t0), in, in.m.State(), st, s.dump())
	}
}

func (s *sim) wantTime(what string, got, want time.Time) {
	s.t.Helper()
	if !got.Equal(want) {
		s.t.Fatalf("%s at %v, want %v\n%s", what, got.Sub(t0), want.Sub(t0), s.dump())
	}
}

// opts4 is a VRRPv2 IPv4 instance with VRID 51 on host 192.0.2.<host>.
func opts4(host byte, prio uint8) Options {
	return Options{
		VRID:        51,
		Priority:    prio,
		PrimaryAddr: netip.AddrFrom4([4]byte{192, 0, 2, host}),
		VIPs:        addrs("192.0.2.100"),
	}
}

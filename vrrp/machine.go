package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// State is a VRRP instance state.
type State uint8

// VRRP states (RFC 5798 §6.4, plus keepalived's Fault).
const (
	StateInitialize State = iota
	StateBackup
	StateMaster
	StateFault
)

// String returns keepalived's name of the state (INIT, BACKUP, MASTER, FAULT).
func (s State) String() string {
	switch s {
	case StateInitialize:
		return "INIT"
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	case StateFault:
		return "FAULT"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Options configures one VRRP instance. Zero values take keepalived's
// defaults where it has one (noted per field).
type Options struct {
	// Name is used in Notify reasons of sync groups; default "VRID <n>".
	Name string
	// VRID is the virtual router id, 1..255. Required.
	VRID uint8
	// Version is 2 or 3; 0 means 2 for IPv4 and 3 for IPv6 (VRRPv2 is IPv4 only).
	Version int
	// Family is the instance's address family; 0 means PrimaryAddr's.
	Family Family
	// Priority is the base priority, 1..255 (255 = address owner); 0 means 100.
	Priority uint8
	// AdvertInterval: whole seconds 1..255 for VRRPv2, centiseconds
	// 10ms..40.95s for VRRPv3; 0 means 1s.
	AdvertInterval time.Duration
	// NoPreempt disables preemption of a lower priority master
	// (keepalived nopreempt). Preemption is the default.
	NoPreempt bool
	// PreemptDelay: after entering Backup, a backup that hears a lower
	// priority master keeps accepting its adverts for this long before
	// preempting (keepalived preempt_delay). Ignored with NoPreempt.
	PreemptDelay time.Duration
	// Accept is RFC 5798 Accept_Mode; carried for the runner, the machine
	// does not use it.
	Accept bool
	// InitialState is StateBackup (default) or StateMaster: a non-owner that
	// starts as MASTER waits only one advert interval (plus minimal skew) for
	// a master to show up, like keepalived's "state MASTER".
	InitialState State
	// PrimaryAddr is this node's source address for adverts; it breaks
	// priority ties (greater address wins). Required.
	PrimaryAddr netip.Addr
	// VIPs are the advertised virtual addresses, of Family.
	VIPs []netip.Addr
	// UnicastPeers, if any, make the instance unicast (runner sends an advert
	// to each; TTL is not checked on reception).
	UnicastPeers []netip.Addr
	// CheckUnicastSource rejects adverts from sources that are not peers.
	CheckUnicastSource bool
	// UnicastPeerTTLs restrict the TTL / hop limit accepted from some
	// peers (keepalived unicast_peer min_ttl/max_ttl); checked only with
	// CheckUnicastSource, as keepalived does. Each Peer must be in
	// UnicastPeers.
	UnicastPeerTTLs []PeerTTL
	// AuthType and AuthPass: VRRPv2 authentication (none or PASS).
	AuthType AuthType
	AuthPass string
	// DownTimerAdverts is how many adverts may be missed before the master is
	// declared down (keepalived down_timer_adverts); 0 means 3 (RFC).
	DownTimerAdverts int
	// LowerPrioNoAdvert: a master hearing a lower priority advert does not
	// answer with an advert at once (keepalived lower_prio_no_advert).
	LowerPrioNoAdvert bool
	// HigherPrioSendAdvert: a master hearing a higher priority advert sends
	// one more advert before stepping down (keepalived higher_prio_send_advert).
	HigherPrioSendAdvert bool
	// GARPLowerPrio: a master hearing a lower priority advert re-announces
	// its VIPs (keepalived garp_lower_prio_repeat > 0). Becoming master
	// always announces them; the timing of the announcements is the
	// runner's (garp.Scheduler).
	GARPLowerPrio bool
	// SkipCheckAdvAddr: don't compare the address lists of adverts from the
	// master already followed with VIPs (keepalived skip_check_adv_addr):
	// Expect turns the check off for that source only.
	SkipCheckAdvAddr bool
	// OwnerIgnoreAdverts: while its effective priority is 255 (address
	// owner), the instance drops every advert it receives (keepalived 2.3.4
	// owner_ignore_adverts), so another router claiming 255 cannot take
	// MASTER from it and lower priorities are not answered.
	OwnerIgnoreAdverts bool
	// V3ChecksumAsV2: VRRPv3 over IPv4 checksum without pseudo-header on
	// send; carried for the runner (reception accepts both forms).
	V3ChecksumAsV2 bool
	// ConfigFault, if not empty, is why the configuration cannot run
	// (keepalived's num_config_faults, e.g. unicast_fault_no_peer without
	// peers): the instance stays in FAULT.
	ConfigFault string
}

// normalize applies defaults and validates.
func (o Options) normalize() (Options, error) {
	if o.VRID == 0 {
		return o, errors.New("vrrp: virtual_router_id must be 1..255")
	}
	if o.Name == "" {
		o.Name = fmt.Sprintf("VRID %d", o.VRID)
	}
	where := func(format string, args ...any) error {
		return fmt.Errorf("vrrp: instance %s: %s", o.Name, fmt.Sprintf(format, args...))
	}
	o.PrimaryAddr = o.PrimaryAddr.Unmap()
	if !o.PrimaryAddr.IsValid() {
		return o, where("no primary (source) address")
	}
	if o.Family == 0 {
		o.Family = FamilyOf(o.PrimaryAddr)
	}
	if o.Family != FamilyIPv4 && o.Family != FamilyIPv6 {
		return o, where("invalid address family %v", o.Family)
	}
	if FamilyOf(o.PrimaryAddr) != o.Family {
		return o, where("primary address %v is not %v", o.PrimaryAddr, o.Family)
	}
	switch o.Version {
	case 0:
		o.Version = 2
		if o.Family == FamilyIPv6 {
			o.Version = 3
		}
	case 2:
		if o.Family == FamilyIPv6 {
			return o, where("VRRP version 2 does not support IPv6")
		}
	case 3:
	default:
		return o, where("VRRP version %d, want 2 or 3", o.Version)
	}
	if o.Priority == 0 {
		o.Priority = 100
	}
	if o.AdvertInterval == 0 {
		o.AdvertInterval = time.Second
	}
	if o.Version == 2 {
		if o.AdvertInterval < time.Second || o.AdvertInterval > MaxV2Interval || o.AdvertInterval%time.Second != 0 {
			return o, where("advert_int %v: VRRPv2 needs whole seconds 1..255", o.AdvertInterval)
		}
	} else if o.AdvertInterval < 10*time.Millisecond || o.AdvertInterval > MaxV3Interval || o.AdvertInterval%(10*time.Millisecond) != 0 {
		return o, where("advert_int %v: VRRPv3 needs whole centiseconds 0.01..40.95s", o.AdvertInterval)
	}
	if o.PreemptDelay < 0 {
		return o, where("negative preempt_delay %v", o.PreemptDelay)
	}
	if o.NoPreempt {
		o.PreemptDelay = 0
	}
	switch o.InitialState {
	case StateInitialize:
		o.InitialState = StateBackup
	case StateBackup, StateMaster:
	default:
		return o, where("initial state %v, want BACKUP or MASTER", o.InitialState)
	}
	if len(o.VIPs) > 255 {
		return o, where("%d virtual addresses, at most 255 can be advertised", len(o.VIPs))
	}
	o.VIPs = slices.Clone(o.VIPs)
	for i, v := range o.VIPs {
		v = v.Unmap()
		if FamilyOf(v) != o.Family {
			return o, where("virtual address %v is not %v", v, o.Family)
		}
		if slices.Contains(o.VIPs[:i], v) {
			return o, where("duplicate virtual address %v", v)
		}
		o.VIPs[i] = v
	}
	o.UnicastPeers = slices.Clone(o.UnicastPeers)
	for i, p := range o.UnicastPeers {
		p = p.Unmap()
		if FamilyOf(p) != o.Family {
			return o, where("unicast peer %v is not %v", p, o.Family)
		}
		o.UnicastPeers[i] = p
	}
	o.UnicastPeerTTLs = slices.Clone(o.UnicastPeerTTLs)
	for i, r := range o.UnicastPeerTTLs {
		r.Peer = r.Peer.Unmap()
		if !slices.Contains(o.UnicastPeers, r.Peer) {
			return o, where("TTL range for %v, which is not a unicast peer", r.Peer)
		}
		o.UnicastPeerTTLs[i] = r
	}
	switch o.AuthType {
	case AuthNone:
	case AuthPass:
		if o.Version != 2 {
			return o, where("authentication needs VRRP version 2")
		}
		if _, err := PassAuthData(o.AuthPass); err != nil {
			return o, where("%v", err)
		}
	default:
		return o, where("auth_type %v not supported", o.AuthType)
	}
	if o.DownTimerAdverts == 0 {
		o.DownTimerAdverts = 3
	}
	if o.DownTimerAdverts < 1 || o.DownTimerAdverts > 100 {
		return o, where("down_timer_adverts %d, want 1..100", o.DownTimerAdverts)
	}
	return o, nil
}

// Machine is the VRRP state machine of one instance: RFC 5798 §6.4
// (Initialize, Backup, Master) plus keepalived's Fault state,
// preempt_delay, tracker weights and extra adverts. It is driven only by
// Step and never reads the clock, sleeps, logs or starts goroutines; the
// caller carries out the actions Step returns, in order. It is not safe
// for concurrent use.
type Machine struct {
	o        Options
	authData [AuthDataLen]byte

	state State
	want  State // state the machine itself wants (sync groups)
	prio  uint8 // effective priority

	trackers     map[string]Tracker
	trackerFault bool
	summary      *TrackersUpdated // set once TrackersUpdated is used
	linkDown     bool
	srcMissing   bool // SrcAddr

	masterAdver time.Duration // Master_Adver_Interval
	masterAddr  netip.Addr
	masterPrio  uint8

	adverAt   time.Time // master: Adver_Timer
	downAt    time.Time // backup: Master_Down_Timer
	preemptAt time.Time // backup: end of preempt delay (zero: not started)
	holdUntil time.Time // Startup.HoldUntil (vrrp_startup_delay)

	group *SyncGroup
	out   []Action
	// adv is the last SendAdvert emitted, at priority advPrio, reused while
	// the options are unchanged so that a master's steady adverts do not
	// allocate (nil: none yet, or options changed).
	adv     Action
	advPrio uint8
}

// NewMachine validates opts and returns a machine in Initialize.
func NewMachine(opts Options) (*Machine, error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	m := &Machine{
		o:           o,
		state:       StateInitialize,
		want:        StateInitialize,
		prio:        o.Priority,
		trackers:    map[string]Tracker{},
		masterAdver: o.AdvertInterval,
	}
	if o.AuthType == AuthPass {
		m.authData, _ = PassAuthData(o.AuthPass)
	}
	return m, nil
}

// Options returns the normalized options (defaults applied).
func (m *Machine) Options() Options { return m.o }

// Expect returns the reception checks for Decode of a packet from src.
// The address list is checked, and a mismatch rejects the packet as
// keepalived 2.2.7 does ("received an unexpected ip number count", "ip
// address associated with VRID not present in MASTER advert"), unless
// SkipCheckAdvAddr is set and src is the master already followed.
func (m *Machine) Expect(src netip.Addr) Expect {
	o := &m.o
	check := !o.SkipCheckAdvAddr || src.Unmap() != m.masterAddr
	return Expect{
		VRID:                  o.VRID,
		Version:               o.Version,
		Family:                o.Family,
		AdvertInterval:        o.AdvertInterval,
		AuthType:              o.AuthType,
		AuthData:              m.authData,
		CheckVIPs:             check,
		RejectAddressMismatch: check,
		VIPs:                  o.VIPs,
		Unicast:               len(o.UnicastPeers) > 0,
		CheckUnicastSource:    o.CheckUnicastSource,
		UnicastPeers:          o.UnicastPeers,
		PeerTTLs:              o.UnicastPeerTTLs,
	}
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Priority returns the effective priority (base adjusted by trackers).
func (m *Machine) Priority() uint8 { return m.prio }

// MasterAddr and MasterPriority describe the last master whose advert was
// accepted (ourselves while master).
func (m *Machine) MasterAddr() netip.Addr { return m.masterAddr }

// MasterPriority is the priority of MasterAddr's last accepted advert.
func (m *Machine) MasterPriority() uint8 { return m.masterPrio }

// MasterAdverInterval is Master_Adver_Interval: our interval, or for a
// VRRPv3 backup the interval advertised by the master.
func (m *Machine) MasterAdverInterval() time.Duration { return m.masterAdver }

// SkewTime is Skew_Time: ((256-Priority)*Master_Adver_Interval)/256 for
// VRRPv3, (256-Priority)/256 seconds for VRRPv2.
func (m *Machine) SkewTime() time.Duration { return m.skew(m.skewPrio()) }

// MasterDownInterval is DownTimerAdverts*Master_Adver_Interval + Skew_Time.
func (m *Machine) MasterDownInterval() time.Duration {
	return time.Duration(m.o.DownTimerAdverts)*m.masterAdver + m.SkewTime()
}

// Fault reports whether the instance's own trackers or link are failing.
func (m *Machine) Fault() bool {
	return m.linkDown || m.trackerFault || m.srcMissing || m.o.ConfigFault != ""
}

// NextDeadline is when the runner must call Step(now, Tick{}); the zero
// time means no timer is running.
func (m *Machine) NextDeadline() time.Time {
	switch m.state {
	case StateMaster:
		return m.adverAt
	case StateBackup:
		return m.downAt
	}
	return time.Time{}
}

func earliest(ts ...time.Time) time.Time {
	var e time.Time
	for _, t := range ts {
		if !t.IsZero() && (e.IsZero() || t.Before(e)) {
			e = t
		}
	}
	return e
}

func due(t, now time.Time) bool { return !t.IsZero() && !now.Before(t) }

func (m *Machine) skewPrio() uint8 {
	if m.o.Priority == PriorityOwner {
		return PriorityOwner
	}
	return m.prio
}

func (m *Machine) skew(p uint8) time.Duration {
	if m.o.Version == 2 {
		return time.Duration(256-int(p)) * time.Second / 256
	}
	return time.Duration(256-int(p)) * m.masterAdver / 256
}

// Step applies ev at time now and returns the actions to carry out, in
// order. Members of a SyncGroup must be stepped through SyncGroup.Step.
func (m *Machine) Step(now time.Time, ev Event) []Action {
	return m.AppendStep(nil, now, ev)
}

// AppendStep is Step appending the actions to dst (whose backing array the
// caller may reuse once it has carried them out): a master's advert timer
// and a backup's received advert then step without allocating.
func (m *Machine) AppendStep(dst []Action, now time.Time, ev Event) []Action {
	m.out = dst
	switch e := ev.(type) {
	case Startup:
		m.holdUntil = e.HoldUntil
		m.startup(now)
	case Shutdown:
		m.shutdown()
	case Tick:
		m.tick(now)
	case AdvertReceived:
		m.advert(now, e)
	case TrackerChanged:
		old, had := m.trackers[e.Name]
		m.trackers[e.Name] = e.Tracker
		if !had || old.OK != e.OK || old.Weight != e.Weight || old.Reverse != e.Reverse {
			what := "failed"
			if e.OK {
				what = "recovered"
			}
			m.reevaluate(now, fmt.Sprintf("tracker %s %s", e.Name, what))
		}
	case TrackersUpdated:
		if m.summary == nil || *m.summary != e {
			m.summary = &e
			reason := e.Reason
			if reason == "" {
				reason = "trackers updated"
			}
			m.reevaluate(now, reason)
		}
	case Reconfigure:
		m.reconfigure(now, e)
	case LinkDown:
		m.linkDown = true
		m.reevaluate(now, "link down")
	case LinkUp:
		m.linkDown = false
		m.reevaluate(now, "link up")
	case SrcAddr:
		if e.Missing != m.srcMissing {
			m.srcMissing = e.Missing
			what := "source address " + m.o.PrimaryAddr.String() + " restored"
			if e.Missing {
				what = "source address " + m.o.PrimaryAddr.String() + " missing"
			}
			m.reevaluate(now, what)
		}
	}
	out := m.out
	m.out = nil
	return out
}

func (m *Machine) emit(a Action) { m.out = append(m.out, a) }

func (m *Machine) advertisement(prio uint8) Advertisement {
	a := Advertisement{
		Version:  m.o.Version,
		VRID:     m.o.VRID,
		Priority: prio,
		Interval: m.o.AdvertInterval,
		Addrs:    slices.Clone(m.o.VIPs),
	}
	if m.o.Version == 2 {
		a.AuthType = m.o.AuthType
		a.AuthData = m.authData
	}
	return a
}

func (m *Machine) sendAdvert(prio uint8) {
	if m.adv == nil || m.advPrio != prio {
		m.adv, m.advPrio = SendAdvert{m.advertisement(prio)}, prio
	}
	m.emit(m.adv)
}

func (m *Machine) notify(from State, reason string) {
	m.emit(Notify{From: from, To: m.state, Reason: reason})
}

func (m *Machine) clearTimers() {
	m.adverAt, m.downAt, m.preemptAt = time.Time{}, time.Time{}, time.Time{}
}

// faulty: own fault, or held in fault by a sync group member's fault.
func (m *Machine) faulty() bool {
	return m.Fault() || (m.group != nil && m.group.otherFault(m))
}

func (m *Machine) faultReason() string {
	switch {
	case m.o.ConfigFault != "":
		return m.o.ConfigFault
	case m.linkDown:
		return "link down"
	case m.srcMissing:
		return "source address " + m.o.PrimaryAddr.String() + " missing"
	case m.trackerFault && m.summary != nil:
		if m.summary.Reason != "" {
			return m.summary.Reason
		}
		return "tracker failed"
	case m.trackerFault:
		var names []string
		for n, t := range m.trackers {
			if _, f := t.contribution(); f {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		return fmt.Sprintf("tracker %v failed", names)
	case m.group != nil:
		return m.group.faultReason(m)
	}
	return "fault"
}

func (m *Machine) startup(now time.Time) {
	if m.state != StateInitialize {
		return
	}
	m.masterAdver = m.o.AdvertInterval
	m.recomputePriority()
	switch {
	case m.faulty():
		m.state, m.want = StateFault, StateFault
		m.notify(StateInitialize, "startup: "+m.faultReason())
	case m.o.Priority == PriorityOwner && !now.Before(m.holdUntil):
		m.tryMaster(now, "startup as address owner (priority 255)")
	case m.o.Priority == PriorityOwner:
		// keepalived: an owner goes through Backup with a 1µs down timer.
		m.enterBackup(now, 0, "startup as address owner, delayed (vrrp_startup_delay)")
	case m.o.InitialState == StateMaster:
		m.enterBackup(now, m.masterAdver+m.skew(PriorityOwner), "startup (initial state MASTER)")
		m.want = StateMaster
	default:
		m.enterBackup(now, m.MasterDownInterval(), "startup")
	}
}

func (m *Machine) shutdown() {
	from := m.state
	if from == StateInitialize {
		return
	}
	if from == StateMaster {
		m.sendAdvert(PriorityStop)
		m.emit(RemoveVIPs{slices.Clone(m.o.VIPs)})
	}
	m.state, m.want = StateInitialize, StateInitialize
	m.clearTimers()
	m.masterAddr, m.masterPrio = netip.Addr{}, 0
	m.notify(from, "shutdown")
}

func (m *Machine) tick(now time.Time) {
	switch m.state {
	case StateMaster:
		if due(m.adverAt, now) {
			m.sendAdvert(m.prio)
			m.adverAt = now.Add(m.o.AdvertInterval)
		}
	case StateBackup:
		if due(m.downAt, now) {
			m.tryMaster(now, "master down timer expired")
		}
	}
}

// tryMaster becomes master unless a sync group holds the instance back, in
// which case it stays (or becomes) backup and re-arms the down timer.
func (m *Machine) tryMaster(now time.Time, reason string) {
	if m.group != nil && !m.group.canGotoMaster(m) {
		if m.state != StateBackup {
			m.enterBackup(now, m.MasterDownInterval(), reason+"; sync group "+m.group.name+" not ready for MASTER")
		} else {
			m.setDown(now, m.MasterDownInterval())
		}
		m.want = StateMaster
		return
	}
	m.becomeMaster(now, reason)
}

func (m *Machine) becomeMaster(now time.Time, reason string) {
	from := m.state
	m.clearTimers()
	m.state, m.want = StateMaster, StateMaster
	m.masterAdver = m.o.AdvertInterval
	m.masterAddr, m.masterPrio = m.o.PrimaryAddr, m.prio
	// Advert first so the old master releases the VIPs before our GARPs.
	m.sendAdvert(m.prio)
	m.emit(AddVIPs{slices.Clone(m.o.VIPs)})
	m.emit(SendGARP{Addrs: slices.Clone(m.o.VIPs), Reason: GARPBecomeMaster})
	m.adverAt = now.Add(m.o.AdvertInterval)
	m.notify(from, reason)
}

// setDown starts the master down timer for d from now, or from the end of
// the startup delay while it lasts (keepalived vrrp_init_instance_sands).
func (m *Machine) setDown(now time.Time, d time.Duration) {
	if now.Before(m.holdUntil) {
		m.downAt = m.holdUntil.Add(d)
		return
	}
	m.downAt = now.Add(d)
}

// enterBackup moves to Backup with the master down timer at now+down.
func (m *Machine) enterBackup(now time.Time, down time.Duration, reason string) {
	from := m.state
	if from == StateMaster {
		m.emit(RemoveVIPs{slices.Clone(m.o.VIPs)})
	}
	m.clearTimers()
	m.state, m.want = StateBackup, StateBackup
	m.setDown(now, down)
	if from == StateMaster {
		m.masterAddr, m.masterPrio = netip.Addr{}, 0
	}
	m.notify(from, reason)
}

func (m *Machine) enterFault(reason string) {
	from := m.state
	if from == StateMaster {
		m.sendAdvert(PriorityStop)
		m.emit(RemoveVIPs{slices.Clone(m.o.VIPs)})
	}
	m.clearTimers()
	m.state, m.want = StateFault, StateFault
	m.masterAddr, m.masterPrio = netip.Addr{}, 0
	m.notify(from, reason)
}

func (m *Machine) leaveFault(now time.Time, reason string) {
	m.masterAdver = m.o.AdvertInterval
	if m.o.Priority == PriorityOwner {
		m.tryMaster(now, reason)
		return
	}
	m.enterBackup(now, m.MasterDownInterval(), reason)
}

// recomputePriority updates the effective priority and tracker fault; in
// Backup the master down timer moves by the change of Master_Down_Interval.
func (m *Machine) recomputePriority() {
	var prio uint8
	var fault bool
	if m.summary != nil {
		prio, fault = clampPriority(int(m.summary.Priority)), m.summary.Fault
		if m.o.Priority == PriorityOwner {
			prio = PriorityOwner
		}
	} else {
		ts := make([]Tracker, 0, len(m.trackers))
		for _, t := range m.trackers {
			ts = append(ts, t)
		}
		prio, fault = EffectivePriority(m.o.Priority, ts)
	}
	m.trackerFault = fault
	if prio == m.prio {
		return
	}
	oldDown := m.MasterDownInterval()
	old := m.prio
	m.prio = prio
	if m.state == StateBackup && !m.downAt.IsZero() {
		m.downAt = m.downAt.Add(m.MasterDownInterval() - oldDown)
	}
	m.emit(PriorityChanged{From: old, To: prio})
}

func (m *Machine) reevaluate(now time.Time, reason string) {
	m.recomputePriority()
	switch m.state {
	case StateBackup, StateMaster:
		if m.faulty() {
			m.enterFault(reason)
		}
	case StateFault:
		if !m.faulty() {
			m.leaveFault(now, reason)
		}
	}
}

func (m *Machine) advert(now time.Time, e AdvertReceived) {
	from := e.From.Unmap()
	if e.VRID != m.o.VRID || e.Version != m.o.Version || FamilyOf(from) != m.o.Family || from == m.o.PrimaryAddr {
		return
	}
	if m.o.OwnerIgnoreAdverts && m.prio == PriorityOwner {
		return
	}
	switch m.state {
	case StateBackup:
		m.backupAdvert(now, e, from)
	case StateMaster:
		m.masterAdvert(now, e, from)
	}
}

// backupAdvert is RFC 5798 §6.4.2 with keepalived's preempt_delay.
func (m *Machine) backupAdvert(now time.Time, e AdvertReceived, from netip.Addr) {
	if e.Priority == PriorityStop {
		m.setDown(now, m.SkewTime())
		return
	}
	accept := m.o.NoPreempt || e.Priority >= m.prio ||
		(m.o.PreemptDelay > 0 && (m.preemptAt.IsZero() || m.preemptAt.After(now)))
	if !accept {
		return // lower priority and we preempt: let the down timer run
	}
	if m.o.Version == 3 && e.Interval > 0 {
		m.masterAdver = e.Interval
	}
	m.setDown(now, m.MasterDownInterval())
	m.masterAddr, m.masterPrio = from, e.Priority
	m.want = StateBackup
	if m.o.PreemptDelay > 0 {
		if e.Priority >= m.prio {
			m.preemptAt = time.Time{}
		} else if m.preemptAt.IsZero() {
			m.preemptAt = now.Add(m.o.PreemptDelay)
		}
	}
}

// masterAdvert is RFC 5798 §6.4.3 with keepalived's extra adverts.
func (m *Machine) masterAdvert(now time.Time, e AdvertReceived, from netip.Addr) {
	if e.Priority == PriorityStop {
		m.sendAdvert(m.prio)
		m.adverAt = now.Add(m.o.AdvertInterval)
		return
	}
	cmp := from.Compare(m.o.PrimaryAddr)
	switch {
	case e.Priority > m.prio || (e.Priority == m.prio && cmp > 0):
		if m.o.HigherPrioSendAdvert {
			m.sendAdvert(m.prio)
		}
		if m.o.Version == 3 && e.Interval > 0 {
			m.masterAdver = e.Interval
		}
		reason := fmt.Sprintf("higher priority %d from %v", e.Priority, from)
		if e.Priority == m.prio {
			reason = fmt.Sprintf("equal priority %d from greater address %v", e.Priority, from)
		}
		m.enterBackup(now, m.MasterDownInterval(), reason)
		m.masterAddr, m.masterPrio = from, e.Priority
	case e.Priority < m.prio || cmp < 0:
		m.emit(RxLowerPriority{From: from, Priority: e.Priority})
		if !m.o.LowerPrioNoAdvert {
			m.sendAdvert(m.prio)
		}
		if m.o.GARPLowerPrio {
			m.emit(SendGARP{Addrs: slices.Clone(m.o.VIPs), Reason: GARPLowerPrio})
		}
	}
}

// reconfigure is Step(Reconfigure): new options, same state.
func (m *Machine) reconfigure(now time.Time, e Reconfigure) {
	o, err := e.Options.normalize()
	if err != nil {
		return
	}
	old := m.o
	oldAdvert := m.advertisement(m.prio)
	oldDown := m.MasterDownInterval()
	m.o = o
	m.adv = nil
	m.authData = [AuthDataLen]byte{}
	if o.AuthType == AuthPass {
		m.authData, _ = PassAuthData(o.AuthPass)
	}
	if e.Trackers != nil {
		t := *e.Trackers
		m.summary = &t
	} else {
		m.summary = nil
	}
	// Master_Adver_Interval: a VRRPv3 backup keeps the interval its master
	// advertises; otherwise it is ours.
	if m.state != StateBackup || o.Version != 3 || old.Version != 3 {
		m.masterAdver = o.AdvertInterval
	}
	if m.state == StateInitialize {
		m.prio = o.Priority
		return
	}
	if m.state == StateBackup && !m.downAt.IsZero() {
		m.downAt = m.downAt.Add(m.MasterDownInterval() - oldDown)
	}
	if o.NoPreempt || o.PreemptDelay == 0 {
		m.preemptAt = time.Time{}
	}
	m.recomputePriority()
	const reason = "configuration reloaded"
	switch m.state {
	case StateMaster:
		if m.faulty() {
			m.enterFault(reason)
			return
		}
		m.masterAddr, m.masterPrio = o.PrimaryAddr, m.prio
		if !m.advertisement(m.prio).equal(oldAdvert) {
			// Tell the peers at once: a lower priority lets a better backup
			// preempt now, a changed address list or interval is theirs to check.
			m.sendAdvert(m.prio)
			m.adverAt = now.Add(o.AdvertInterval)
		}
	case StateBackup:
		switch {
		case m.faulty():
			m.enterFault(reason)
		case o.Priority == PriorityOwner:
			m.tryMaster(now, reason+": address owner (priority 255)")
		}
	case StateFault:
		if !m.faulty() {
			m.leaveFault(now, reason)
		}
	}
}

func (a Advertisement) equal(b Advertisement) bool {
	return a.Version == b.Version && a.VRID == b.VRID && a.Priority == b.Priority &&
		a.Interval == b.Interval && a.AuthType == b.AuthType && a.AuthData == b.AuthData &&
		slices.Equal(a.Addrs, b.Addrs)
}

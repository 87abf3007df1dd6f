package runner

import (
	"maps"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
)

// Stats is a snapshot of a Runner, for metrics and status commands.
type Stats struct {
	Instances  []InstanceStats  // in configuration order
	SyncGroups []SyncGroupStats // in configuration order
	// RxUnknownVRID counts packets whose VRID no instance on that interface
	// and family uses; RxTooShort packets too short to carry a VRID.
	RxUnknownVRID uint64
	RxTooShort    uint64
	// RecvErrors counts socket receive errors.
	RecvErrors uint64

	hot []*hotCounters // the instances' hot counters (published Stats only)
	rx  *rxCounters    // the Runner's (published Stats only)
}

// InstanceStats describes one VRRP instance.
type InstanceStats struct {
	Name      string
	VRID      uint8
	Interface string
	Family    vrrp.Family
	SyncGroup string // empty if none

	State             vrrp.State
	BasePriority      uint8
	EffectivePriority uint8
	Fault             bool       // own trackers or link failing
	SrcAddr           netip.Addr // zero before Run opened the socket
	// MasterAddr and MasterPriority: the current master as last heard (our
	// own address while master; zero when unknown).
	MasterAddr     netip.Addr
	MasterPriority uint8

	LastTransition       time.Time // zero: never
	LastTransitionReason string
	// TakeoverAdvert and TakeoverGARP: at the last transition to MASTER,
	// how long after the decision the first advert and the first GARP
	// were sent (0: none sent then).
	TakeoverAdvert, TakeoverGARP time.Duration

	AdvertsSent          uint64
	AdvertsReceived      uint64 // accepted adverts
	BecomeMaster         uint64
	ReleaseMaster        uint64
	PriorityZeroSent     uint64
	PriorityZeroReceived uint64
	// RxErrors counts rejected packets by reason (only non-zero entries).
	RxErrors map[vrrp.Reason]uint64
	// AddressListMismatch counts accepted adverts whose address list
	// differs from ours (keepalived addr_list_err).
	AddressListMismatch uint64
	SendErrors          uint64 // adverts that could not be encoded or sent (per destination)
	VIPErrors           uint64 // failed VIP, virtual route or virtual rule additions or removals
	GARPsSent           uint64 // gratuitous ARPs and unsolicited NAs sent
	GARPErrors          uint64

	// Trackers are the instance's trackers with its weights (scripts, then
	// track_interface entries, then track_file and track_process entries).
	Trackers []track.Status
}

// SyncGroupStats describes one sync group.
type SyncGroupStats struct {
	Name    string
	Members []string
	State   vrrp.State
}

func (s Stats) clone() Stats {
	s.Instances = slices.Clone(s.Instances)
	for i := range s.Instances {
		s.Instances[i].RxErrors = maps.Clone(s.Instances[i].RxErrors)
		s.Instances[i].Trackers = slices.Clone(s.Instances[i].Trackers)
		if i < len(s.hot) {
			s.Instances[i].AdvertsSent = s.hot[i].sent.Load()
			s.Instances[i].AdvertsReceived = s.hot[i].received.Load()
		}
	}
	s.hot = nil
	if s.rx != nil {
		s.RxUnknownVRID = s.rx.unknownVRID.Load()
		s.RxTooShort = s.rx.tooShort.Load()
		s.RecvErrors = s.rx.recvErrors.Load()
		s.rx = nil
	}
	s.SyncGroups = slices.Clone(s.SyncGroups)
	for i := range s.SyncGroups {
		s.SyncGroups[i].Members = slices.Clone(s.SyncGroups[i].Members)
	}
	return s
}

// hotCounters are the counters every advert moves (InstanceStats'
// AdvertsSent and AdvertsReceived), written by the loop and read by
// Snapshot, so that the loop need not publish a new Stats for them: a
// steady master or backup then publishes nothing and allocates nothing.
type hotCounters struct {
	sent, received atomic.Uint64
}

// rxCounters are the Runner's receive counters (Stats' RxUnknownVRID,
// RxTooShort and RecvErrors), hot like hotCounters: on a segment shared
// with other VRRP routers (keepalived's or another pair's), every advert
// of theirs is an unknown VRID, and publishing a new Stats for each would
// allocate on the advert path.
type rxCounters struct {
	unknownVRID, tooShort, recvErrors atomic.Uint64
}

// Snapshot returns the latest statistics published by the Runner's loop.
// It is safe to call from any goroutine, before, during and after Run.
func (r *Runner) Snapshot() Stats {
	return r.published.Load().clone()
}

// publish makes a copy of the loop's state visible to Snapshot, unless
// only the hot counters changed since the last one.
func (r *Runner) publish() {
	if p := r.published.Load(); p != nil && r.unchanged(p) {
		return
	}
	st := Stats{rx: &r.rx}
	for _, in := range r.insts {
		is := r.instStats(in)
		is.RxErrors = maps.Clone(in.stats.RxErrors)
		is.Trackers = slices.Clone(is.Trackers)
		st.Instances = append(st.Instances, is)
		st.hot = append(st.hot, in.hot)
	}
	for _, g := range r.groups {
		st.SyncGroups = append(st.SyncGroups, SyncGroupStats{
			Name:    g.cfg.Name,
			Members: slices.Clone(g.cfg.Members),
			State:   g.g.State(),
		})
	}
	r.published.Store(&st)
}

// instStats is in's statistics as published, its RxErrors and Trackers
// those of the loop (not to be kept: publish clones them).
func (r *Runner) instStats(in *instance) InstanceStats {
	is := in.stats
	is.State = in.m.State()
	is.EffectivePriority = in.m.Priority()
	is.Fault = in.m.Fault()
	is.MasterAddr = in.m.MasterAddr()
	is.MasterPriority = in.m.MasterPriority()
	r.trackers = in.appendTrackerStatuses(r.trackers[:0])
	is.Trackers = r.trackers
	if in.conn != nil {
		is.SrcAddr = in.conn.src
	}
	return is
}

// unchanged reports whether p is what publish would publish now, but for
// the hot counters. It does not allocate.
func (r *Runner) unchanged(p *Stats) bool {
	if len(p.Instances) != len(r.insts) || len(p.hot) != len(r.insts) || len(p.SyncGroups) != len(r.groups) {
		return false
	}
	for i, in := range r.insts {
		is := r.instStats(in)
		if p.hot[i] != in.hot || !sameInstanceStats(&is, &p.Instances[i]) {
			return false
		}
	}
	for i, g := range r.groups {
		gs := &p.SyncGroups[i]
		if gs.Name != g.cfg.Name || gs.State != g.g.State() || !slices.Equal(gs.Members, g.cfg.Members) {
			return false
		}
	}
	return true
}

// sameInstanceStats compares every field of a and b but the hot counters
// (TestSameInstanceStatsFields keeps the list complete).
func sameInstanceStats(a, b *InstanceStats) bool {
	return a.Name == b.Name && a.VRID == b.VRID && a.Interface == b.Interface && a.Family == b.Family &&
		a.SyncGroup == b.SyncGroup && a.State == b.State && a.BasePriority == b.BasePriority &&
		a.EffectivePriority == b.EffectivePriority && a.Fault == b.Fault && a.SrcAddr == b.SrcAddr &&
		a.MasterAddr == b.MasterAddr && a.MasterPriority == b.MasterPriority &&
		a.LastTransition == b.LastTransition && a.LastTransitionReason == b.LastTransitionReason &&
		a.TakeoverAdvert == b.TakeoverAdvert && a.TakeoverGARP == b.TakeoverGARP &&
		a.BecomeMaster == b.BecomeMaster && a.ReleaseMaster == b.ReleaseMaster &&
		a.PriorityZeroSent == b.PriorityZeroSent && a.PriorityZeroReceived == b.PriorityZeroReceived &&
		maps.Equal(a.RxErrors, b.RxErrors) && a.AddressListMismatch == b.AddressListMismatch &&
		a.SendErrors == b.SendErrors && a.VIPErrors == b.VIPErrors && a.GARPsSent == b.GARPsSent &&
		a.GARPErrors == b.GARPErrors && slices.Equal(a.Trackers, b.Trackers)
}

package runner

import (
	"maps"
	"net/netip"
	"slices"
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
	}
	s.SyncGroups = slices.Clone(s.SyncGroups)
	for i := range s.SyncGroups {
		s.SyncGroups[i].Members = slices.Clone(s.SyncGroups[i].Members)
	}
	return s
}

// Snapshot returns the latest statistics published by the Runner's loop.
// It is safe to call from any goroutine, before, during and after Run.
func (r *Runner) Snapshot() Stats {
	return r.published.Load().clone()
}

// publish makes a copy of the loop's state visible to Snapshot.
func (r *Runner) publish() {
	st := Stats{
		RxUnknownVRID: r.rxUnknownVRID,
		RxTooShort:    r.rxTooShort,
		RecvErrors:    r.recvErrors.Load(),
	}
	for _, in := range r.insts {
		is := in.stats
		is.RxErrors = maps.Clone(in.stats.RxErrors)
		is.State = in.m.State()
		is.EffectivePriority = in.m.Priority()
		is.Fault = in.m.Fault()
		is.MasterAddr = in.m.MasterAddr()
		is.MasterPriority = in.m.MasterPriority()
		is.Trackers = in.trackerStatuses()
		if in.conn != nil {
			is.SrcAddr = in.conn.src
		}
		st.Instances = append(st.Instances, is)
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

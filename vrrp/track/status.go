package track

import "fmt"

// State is a tracker's current verdict.
type State uint8

// Tracker states.
const (
	// StateInit: no result yet (a tracking script that has not completed a run, an
	// interface before the first link dump).
	StateInit State = iota
	// StateOK: the script succeeds / the interface is up.
	StateOK
	// StateFail: the script fails / the interface is down or absent.
	StateFail
)

func (s State) String() string {
	switch s {
	case StateInit:
		return "init"
	case StateOK:
		return "ok"
	case StateFail:
		return "fail"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Kind says what a Status describes.
type Kind uint8

// Tracker kinds.
const (
	KindScript Kind = iota + 1
	KindInterface
	KindFile
	KindProcess
)

func (k Kind) String() string {
	switch k {
	case KindScript:
		return "script"
	case KindInterface:
		return "interface"
	case KindFile:
		return "file"
	case KindProcess:
		return "process"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Weight limits accepted by the trackers (keepalived: -253..253 for track_script and
// track_interface).
const (
	MinWeight = -253
	MaxWeight = 253
)

// PriorityOwner is the priority of the IP address owner, which trackers never change.
const PriorityOwner = 255

// Status is a snapshot of one tracker as seen by one VRRP instance.
type Status struct {
	Kind    Kind
	Name    string
	State   State
	Weight  int  // 0 = unweighted: failure means FAULT
	Reverse bool // keepalived "reverse": invert the direction of the effect
	// Value is a tracked file's number (KindFile), which is multiplied by
	// Weight (see FileStatus).
	Value int64
}

// WithWeight returns s with the tracking instance's own weight, for keepalived's
// "track_script { NAME weight W [reverse] }" which overrides the vrrp_script's weight.
func (s Status) WithWeight(weight int, reverse bool) Status {
	s.Weight, s.Reverse = weight, reverse
	return s
}

// Fault reports whether s forces FAULT: an unweighted tracker that fails (or, with
// Reverse, succeeds). StateInit never faults.
func (s Status) Fault() bool {
	if s.Kind == KindFile {
		_, f := s.fileEffect()
		return f
	}
	if s.Weight != 0 || s.State == StateInit {
		return false
	}
	return (s.State == StateFail) != s.Reverse
}

// Delta is s's contribution to the priority of a non-owner instance: +Weight while OK
// for a positive weight, +Weight (a decrease) while failing for a negative weight,
// both negated by Reverse, and 0 for StateInit or an unweighted tracker.
func (s Status) Delta() int {
	if s.Kind == KindFile {
		d, _ := s.fileEffect()
		return d
	}
	m := 1
	if s.Reverse {
		m = -1
	}
	switch {
	case s.Weight > 0 && s.State == StateOK:
		return s.Weight * m
	case s.Weight < 0 && s.State == StateFail:
		return s.Weight * m
	}
	return 0
}

func (s Status) String() string {
	r := ""
	if s.Reverse {
		r = " reverse"
	}
	if s.Kind == KindFile {
		return fmt.Sprintf("%s %s %s value %d (weight %d%s)", s.Kind, s.Name, s.State, s.Value, s.Weight, r)
	}
	return fmt.Sprintf("%s %s %s (weight %d%s)", s.Kind, s.Name, s.State, s.Weight, r)
}

// Effective computes an instance's effective priority and fault state from its
// configured (base) priority and its trackers' statuses, following keepalived: the
// deltas are summed onto base and the result clamped to 1..254, except that an
// address owner (base 255) ignores weighted trackers and stays at 255. fault is true
// if any unweighted tracker faults. (keepalived forces weights to 0 in sync groups
// without sync_group_tracking_weight; the caller does that, not this function.)
func Effective(base int, trackers ...Status) (prio int, fault bool) {
	sum := 0
	for _, s := range trackers {
		if s.Fault() {
			fault = true
		}
		sum += s.Delta()
	}
	if base == PriorityOwner {
		return PriorityOwner, fault
	}
	return clamp(base+sum, 1, PriorityOwner-1), fault
}

func clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func checkWeight(what, name string, w int) error {
	if w < MinWeight || w > MaxWeight {
		return fmt.Errorf("%s %q: weight %d out of range %d..%d", what, name, w, MinWeight, MaxWeight)
	}
	return nil
}

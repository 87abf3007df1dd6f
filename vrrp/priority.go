package vrrp

// PriorityOwner is the priority of the address owner; PriorityStop is sent
// by a master that stops (RFC 5798 §5.2.4).
const (
	PriorityOwner = 255
	PriorityStop  = 0
)

// Tracker is the state of one tracked object with its keepalived weight.
type Tracker struct {
	Name string
	// Weight 0: a failing tracker puts the instance in Fault. Otherwise a
	// positive weight is added while the tracker is OK and a negative weight
	// while it fails.
	Weight int
	// Reverse inverts the direction (keepalived "weight W reverse"): the
	// weight is subtracted while OK (positive) or while failing (negative);
	// with weight 0 the instance is in Fault while the tracker is OK.
	Reverse bool
	OK      bool
}

// contribution returns the priority adjustment and fault flag of t, as in
// keepalived's process_script_update_priority.
func (t Tracker) contribution() (delta int, fault bool) {
	mult := 1
	if t.Reverse {
		mult = -1
	}
	if t.Weight == 0 {
		return 0, t.OK != (mult == 1)
	}
	if (t.OK && t.Weight > 0) || (!t.OK && t.Weight < 0) {
		return t.Weight * mult, false
	}
	return 0, false
}

// EffectivePriority combines a base priority with trackers like keepalived:
// base plus the contributions of weighted trackers, clamped to 1..254; an
// address owner (255) keeps 255 whatever the weights. fault is true if any
// unweighted tracker is failing.
func EffectivePriority(base uint8, trackers []Tracker) (prio uint8, fault bool) {
	total := int(base)
	for _, t := range trackers {
		d, f := t.contribution()
		total += d
		fault = fault || f
	}
	if base == PriorityOwner {
		return PriorityOwner, fault
	}
	return clampPriority(total), fault
}

func clampPriority(total int) uint8 {
	switch {
	case total < 1:
		return 1
	case total >= PriorityOwner:
		return PriorityOwner - 1
	}
	return uint8(total)
}

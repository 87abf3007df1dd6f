package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// Event is an input to Machine.Step.
type Event interface{ isEvent() }

// Startup starts the instance (RFC 5798 §6.4.1 Startup event).
type Startup struct {
	// HoldUntil is the end of keepalived's vrrp_startup_delay: until then
	// the instance (even an address owner) stays in Backup, and every master
	// down timer started before it runs from HoldUntil instead of from now.
	// Zero (or past) means no delay.
	HoldUntil time.Time
}

// SrcAddr tells whether the configured source address is assigned
// (keepalived track_src_ip): while Missing, the instance is in FAULT.
type SrcAddr struct{ Missing bool }

// Shutdown stops the instance: a master sends priority 0 and releases its
// VIPs; every state goes back to Initialize.
type Shutdown struct{}

// Tick tells the machine that time has advanced to now; the runner sends it
// when NextDeadline is reached. Extra ticks are harmless.
type Tick struct{}

// AdvertReceived is a validated advertisement (see Decode) from the IP source
// address From.
type AdvertReceived struct {
	Advertisement
	From netip.Addr
}

// TrackerChanged reports the current state of one tracked object (script,
// interface, process, file, ...). The machine keeps the latest report per
// Name and derives its effective priority and fault state from all of them
// (see EffectivePriority).
type TrackerChanged struct{ Tracker }

// TrackersUpdated reports a combined tracker result computed by the runner
// (e.g. with vrrp/track.Effective): the effective priority and whether some
// tracker puts the instance in Fault. Once sent, it replaces what
// per-tracker TrackerChanged events contribute; use one style or the other.
// Priority is clamped to 1..254, and ignored for an address owner (255).
type TrackersUpdated struct {
	Priority uint8
	Fault    bool
	Reason   string // for Notify, e.g. "tracker chk_http failed"
}

// Reconfigure replaces the machine's options while it runs (a configuration
// reload), keeping its state: a master stays master and announces a changed
// priority, address list or interval at once; a backup keeps its master down
// timer, moved by the change of Master_Down_Interval, and becomes master at
// once if it is now the address owner; a Fault instance stays in Fault while
// a tracker or its link still fails. Options that do not validate are
// ignored (the runner validates them first). Trackers is the combined
// tracker result under the new options (as TrackersUpdated); nil drops a
// previous TrackersUpdated summary.
type Reconfigure struct {
	Options  Options
	Trackers *TrackersUpdated
}

// LinkDown puts the instance in Fault (its interface lost carrier or went down).
type LinkDown struct{}

// LinkUp clears a LinkDown.
type LinkUp struct{}

func (Startup) isEvent()         {}
func (SrcAddr) isEvent()         {}
func (Shutdown) isEvent()        {}
func (Tick) isEvent()            {}
func (AdvertReceived) isEvent()  {}
func (TrackerChanged) isEvent()  {}
func (TrackersUpdated) isEvent() {}
func (Reconfigure) isEvent()     {}
func (LinkDown) isEvent()        {}
func (LinkUp) isEvent()          {}

// Action is an output of Machine.Step, for the runner to carry out in order.
type Action interface{ isAction() }

// SendAdvert asks for an advertisement to be sent: to the multicast group,
// or to each unicast peer. The runner encodes it with its source address.
//
// A master emits the same SendAdvert value while its options and priority
// are unchanged: its Addrs are shared and must not be modified.
type SendAdvert struct{ Advertisement }

// AddVIPs asks for the virtual addresses to be configured (becoming master).
// Addrs are the advertised VIPs; the runner also handles any non-advertised
// (excluded) addresses, routes and rules it manages for the instance.
type AddVIPs struct{ Addrs []netip.Addr }

// RemoveVIPs asks for the virtual addresses to be removed (leaving master).
type RemoveVIPs struct{ Addrs []netip.Addr }

// SendGARP asks for gratuitous ARPs / unsolicited neighbour advertisements
// for the VIPs.
type SendGARP struct {
	Addrs  []netip.Addr
	Reason GARPReason
}

// GARPReason says why a SendGARP was emitted.
type GARPReason uint8

// Reasons for SendGARP.
const (
	GARPBecomeMaster GARPReason = iota // just became master (garp_master_repeat)
	GARPLowerPrio                      // master heard a lower priority advert (garp_lower_prio_repeat)
)

func (r GARPReason) String() string {
	switch r {
	case GARPBecomeMaster:
		return "master"
	case GARPLowerPrio:
		return "lower_prio"
	}
	return fmt.Sprintf("garp_reason(%d)", uint8(r))
}

// Notify reports a state transition, with a human-readable reason.
type Notify struct {
	From, To State
	Reason   string
}

// PriorityChanged reports a change of the effective priority.
type PriorityChanged struct{ From, To uint8 }

// RxLowerPriority reports that the master received an advert of lower
// priority (or of equal priority from a lower address) from From, before
// answering it (keepalived notify_master_rx_lower_pri).
type RxLowerPriority struct {
	From     netip.Addr
	Priority uint8
}

func (SendAdvert) isAction()      {}
func (AddVIPs) isAction()         {}
func (RemoveVIPs) isAction()      {}
func (SendGARP) isAction()        {}
func (Notify) isAction()          {}
func (PriorityChanged) isAction() {}
func (RxLowerPriority) isAction() {}

func (n Notify) String() string {
	return fmt.Sprintf("%v -> %v (%s)", n.From, n.To, n.Reason)
}

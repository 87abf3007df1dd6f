package bgp

import (
	"net/netip"
	"time"
)

// GateInput is one prefix's eligibility at a Step.
type GateInput struct {
	Prefix netip.Prefix
	// Eligible: programmed in IPVS and enough healthy real servers.
	Eligible bool
	// Reason explains Eligible; it becomes the Decision's reason.
	Reason string
}

// Decision is one announce or withdraw the gate asks for.
type Decision struct {
	Prefix netip.Prefix
	Reason string
}

// Gate decides when prefixes are announced: a prefix is announced after it
// has been Eligible continuously for the announce delay, and withdrawn at once
// when it is not Eligible or absent from the input. It is pure: the caller
// passes the time and performs the decisions.
type Gate struct {
	delay time.Duration
	state map[netip.Prefix]*gateEntry
}

type gateEntry struct {
	since     time.Time // start of the current eligible run; zero when not eligible
	announced bool
}

// NewGate returns a gate with the given announce delay (<= 0: at once).
func NewGate(announceDelay time.Duration) *Gate {
	return &Gate{delay: max(announceDelay, 0), state: map[netip.Prefix]*gateEntry{}}
}

// Step feeds the current eligibility of every prefix at now and returns the
// prefixes to announce and to withdraw (each sorted by prefix) and when to
// call Step again at the latest (zero: nothing pending).
func (g *Gate) Step(now time.Time, in []GateInput) (announce, withdraw []Decision, next time.Time) {
	return nil, nil, time.Time{}
}

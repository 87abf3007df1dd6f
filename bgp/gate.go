package bgp

import (
	"net/netip"
	"slices"
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
//
// A prefix listed more than once is Eligible only if every entry is (the
// reason is that of the first entry that is not). An announced prefix is
// withdrawn with the Reason of its input, or "not configured" when it is
// absent.
func (g *Gate) Step(now time.Time, in []GateInput) (announce, withdraw []Decision, next time.Time) {
	type agg struct {
		eligible bool
		reason   string
	}
	cur := map[netip.Prefix]agg{}
	for _, x := range in {
		a, seen := cur[x.Prefix]
		switch {
		case !seen:
			a = agg{x.Eligible, x.Reason}
		case a.eligible && !x.Eligible:
			a = agg{false, x.Reason}
		}
		cur[x.Prefix] = a
	}
	for p, e := range g.state {
		if _, ok := cur[p]; !ok {
			if e.announced {
				withdraw = append(withdraw, Decision{p, "not configured"})
			}
			delete(g.state, p)
		}
	}
	for p, a := range cur {
		e := g.state[p]
		if e == nil {
			e = &gateEntry{}
			g.state[p] = e
		}
		if !a.eligible {
			e.since = time.Time{}
			if e.announced {
				e.announced = false
				withdraw = append(withdraw, Decision{p, a.reason})
			}
			continue
		}
		if e.since.IsZero() {
			e.since = now
		}
		if e.announced {
			continue
		}
		if due := e.since.Add(g.delay); !now.Before(due) {
			e.announced = true
			announce = append(announce, Decision{p, a.reason})
		} else if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	sortDecisions(announce)
	sortDecisions(withdraw)
	return announce, withdraw, next
}

func sortDecisions(d []Decision) {
	slices.SortFunc(d, func(a, b Decision) int { return comparePrefix(a.Prefix, b.Prefix) })
}

// Announced reports whether the gate has p announced.
func (g *Gate) Announced(p netip.Prefix) bool {
	e := g.state[p]
	return e != nil && e.announced
}

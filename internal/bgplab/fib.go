package bgplab

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
)

// FIBPoll is how often a [FIBWatch] reads the route: the resolution of every
// fault-to-FIB figure the drills print.
const FIBPoll = 5 * time.Millisecond

// FIBChange is one state of a route in the router's FIB and when it was first seen.
type FIBChange struct {
	At       time.Time
	Nexthops []netip.Addr // sorted; empty when the route is gone
}

func (c FIBChange) String() string {
	if len(c.Nexthops) == 0 {
		return "no route"
	}
	var s []string
	for _, a := range c.Nexthops {
		s = append(s, a.String())
	}
	return strings.Join(s, ",")
}

// FIBWatch records every change of one prefix's next hops in a namespace,
// polling over netlink every [FIBPoll].
type FIBWatch struct {
	h      *netlink.Handle
	prefix netip.Prefix
	stop   chan struct{}
	done   chan struct{}

	mu      sync.Mutex
	changes []FIBChange // the first entry is the state when the watch started
	err     error
	notify  chan struct{} // closed and replaced at each change
}

// Watch starts watching p in the router's FIB. Stop it with [FIBWatch.Stop].
func (r *Router) Watch(p netip.Prefix) *FIBWatch { return NewFIBWatch(r.Node.Handle(), p) }

// NewFIBWatch starts watching p in the namespace h belongs to.
func NewFIBWatch(h *netlink.Handle, p netip.Prefix) *FIBWatch {
	w := &FIBWatch{h: h, prefix: p, stop: make(chan struct{}), done: make(chan struct{}), notify: make(chan struct{})}
	w.poll()
	go w.run()
	return w
}

func (w *FIBWatch) run() {
	defer close(w.done)
	tk := time.NewTicker(FIBPoll)
	defer tk.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tk.C:
			w.poll()
		}
	}
}

func (w *FIBWatch) poll() {
	hops, err := Nexthops(w.h, w.prefix)
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.err = err
		return
	}
	if n := len(w.changes); n > 0 && slices.Equal(w.changes[n-1].Nexthops, hops) {
		return
	}
	w.changes = append(w.changes, FIBChange{At: now, Nexthops: hops})
	close(w.notify)
	w.notify = make(chan struct{})
}

// Stop ends the watch and returns the changes seen.
func (w *FIBWatch) Stop() []FIBChange {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	return w.Changes()
}

// Changes returns the states seen so far, oldest first.
func (w *FIBWatch) Changes() []FIBChange {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.changes)
}

// Current returns the latest state.
func (w *FIBWatch) Current() FIBChange {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.changes) == 0 {
		return FIBChange{}
	}
	return w.changes[len(w.changes)-1]
}

// WaitFor waits until the route's state satisfies cond and returns the change
// that first did (its At is when the watch saw it, at most FIBPoll late). Only
// changes at or after since count, so a caller can note the time of a fault and
// ask for the first matching state after it.
func (w *FIBWatch) WaitFor(since time.Time, timeout time.Duration, cond func([]netip.Addr) bool) (FIBChange, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		for i, c := range w.changes {
			// The state in force at since counts too, stamped with since.
			if c.At.Before(since) && (i+1 < len(w.changes) && !w.changes[i+1].At.After(since)) {
				continue
			}
			if cond(c.Nexthops) {
				if c.At.Before(since) {
					c.At = since
				}
				w.mu.Unlock()
				return c, nil
			}
		}
		notify, err := w.notify, w.err
		cur := FIBChange{}
		if n := len(w.changes); n > 0 {
			cur = w.changes[n-1]
		}
		w.mu.Unlock()
		if err != nil {
			return FIBChange{}, err
		}
		select {
		case <-notify:
		case <-deadline.C:
			return FIBChange{}, fmt.Errorf("bgplab: %v: timed out after %v (now %v)", w.prefix, timeout, cur)
		}
	}
}

// WaitNexthops waits until the route's next hops are exactly want (in any order;
// none: the route is gone), counting changes from since.
func (w *FIBWatch) WaitNexthops(since time.Time, timeout time.Duration, want ...netip.Addr) (FIBChange, error) {
	want = slices.Clone(want)
	slices.SortFunc(want, func(a, b netip.Addr) int { return a.Compare(b) })
	return w.WaitFor(since, timeout, func(h []netip.Addr) bool { return slices.Equal(h, want) })
}

// Timeline formats the changes relative to t0, one per line.
func Timeline(t0 time.Time, changes []FIBChange) string {
	var b strings.Builder
	for _, c := range changes {
		fmt.Fprintf(&b, "%+9.3fs  %v\n", c.At.Sub(t0).Seconds(), c)
	}
	return b.String()
}

func prefixIPNet(p netip.Prefix) *net.IPNet {
	p = p.Masked()
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

package clock

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Fake is a manually driven Clock for tests. The zero value is not usable; use NewFake.
// It is safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	seq     uint64
	timers  []*fakeTimer  // armed timers
	changed chan struct{} // closed and replaced whenever the armed set changes
}

var _ Clock = (*Fake)(nil)

// NewFake returns a Fake clock reading start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

// Now implements Clock.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// After implements Clock.
func (f *Fake) After(d time.Duration) <-chan time.Time { return f.NewTimer(d).C() }

// NewTimer implements Clock. A timer with d <= 0 fires immediately.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armLocked(t, d)
	return t
}

// Advance moves the clock forward by d, firing due timers in deadline order. While a
// timer fires, Now reads its deadline; afterwards Now reads the old time plus d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	target := f.now.Add(d)
	f.mu.Unlock()
	f.Set(target)
}

// Set moves the clock to t (never backwards), firing due timers in deadline order.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		i := f.earliestLocked()
		if i < 0 || f.timers[i].when.After(t) {
			break
		}
		ft := f.timers[i]
		if ft.when.After(f.now) {
			f.now = ft.when
		}
		f.removeLocked(i)
		f.fireLocked(ft)
	}
	if t.After(f.now) {
		f.now = t
	}
}

// Pending returns the number of armed timers.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// NextDeadline returns the earliest armed deadline, and false if no timer is armed.
func (f *Fake) NextDeadline() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.earliestLocked()
	if i < 0 {
		return time.Time{}, false
	}
	return f.timers[i].when, true
}

// BlockUntil waits until at least n timers are armed, or ctx is done.
func (f *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		if len(f.timers) >= n {
			f.mu.Unlock()
			return nil
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (f *Fake) armLocked(t *fakeTimer, d time.Duration) {
	t.when = f.now.Add(d)
	if d <= 0 {
		f.fireLocked(t)
		return
	}
	f.seq++
	t.seq = f.seq
	t.armed = true
	f.timers = append(f.timers, t)
	f.notifyLocked()
}

func (f *Fake) fireLocked(t *fakeTimer) {
	t.armed = false
	select {
	case t.c <- t.when:
	default: // like time.Timer: an undrained value is not duplicated
	}
}

// earliestLocked returns the index of the earliest timer (ties: first armed), or -1.
func (f *Fake) earliestLocked() int {
	best := -1
	for i, t := range f.timers {
		if best < 0 || t.when.Before(f.timers[best].when) ||
			(t.when.Equal(f.timers[best].when) && t.seq < f.timers[best].seq) {
			best = i
		}
	}
	return best
}

func (f *Fake) removeLocked(i int) {
	f.timers = append(f.timers[:i], f.timers[i+1:]...)
	f.notifyLocked()
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// stopLocked disarms t; it reports whether t was armed.
func (f *Fake) stopLocked(t *fakeTimer) bool {
	if !t.armed {
		return false
	}
	for i, x := range f.timers {
		if x == t {
			f.removeLocked(i)
			break
		}
	}
	t.armed = false
	return true
}

// Deadlines returns the armed deadlines in firing order (for test diagnostics).
func (f *Fake) Deadlines() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	ts := append([]*fakeTimer(nil), f.timers...)
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].when.Equal(ts[j].when) {
			return ts[i].seq < ts[j].seq
		}
		return ts[i].when.Before(ts[j].when)
	})
	out := make([]time.Time, len(ts))
	for i, t := range ts {
		out[i] = t.when
	}
	return out
}

type fakeTimer struct {
	f     *Fake
	c     chan time.Time
	when  time.Time
	seq   uint64
	armed bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.f.stopLocked(t)
}

// Reset re-arms the timer. Like time.Timer since Go 1.23, a stale undelivered value is
// discarded so the channel only ever yields the new firing.
func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.f.stopLocked(t)
	select {
	case <-t.c:
	default:
	}
	t.f.armLocked(t, d)
	return was
}

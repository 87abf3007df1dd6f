package healthcheck

import (
	"container/heap"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"time"
)

// Checker kinds for DefaultTiming.
const (
	KindTCP  = "TCP_CHECK"
	KindHTTP = "HTTP_GET"
	KindSSL  = "SSL_GET"
	KindMisc = "MISC_CHECK"
	KindDNS  = "DNS_CHECK"
	KindUDP  = "UDP_CHECK"
	KindPing = "PING_CHECK"
	KindSMTP = "SMTP_CHECK"
)

// DefaultDelayLoop is keepalived's default delay_loop.
const DefaultDelayLoop = 60 * time.Second

// Timing holds a check's scheduling options. The daemon fills it from the checker,
// real server and virtual server blocks; zero values are taken literally except
// DelayLoop (0 = DefaultDelayLoop). Use DefaultTiming for keepalived's defaults.
type Timing struct {
	// DelayLoop is the interval between checks (delay_loop).
	DelayLoop time.Duration
	// Retry is how many extra checks a failure of an up check gets before the check
	// is declared down (retry); DelayBeforeRetry spaces them (delay_before_retry).
	Retry            int
	DelayBeforeRetry time.Duration
	// Warmup: the first check runs at a random offset in [0, Warmup) (warmup).
	Warmup time.Duration
	// Alpha: the check starts down and comes up on its first success. Without
	// alpha it starts up.
	Alpha bool
	// Omega: when the check is removed (reload) or the daemon stops while the
	// check is up, the transitions returned by Update/Shutdown carry Omega so the
	// daemon runs notify_down and quorum_down scripts for them, as keepalived does
	// only in omega mode.
	Omega bool
	// Timeout bounds one run of the check in the Runner (measured with the
	// Runner's clock); 0 means the checker's Budget plus a small margin, or no
	// bound if it has none.
	Timeout time.Duration
}

// DefaultTiming returns keepalived's defaults for a checker kind (Kind*):
// delay_loop 60 s, warmup = delay_loop, retry 1 (DNS 3, MISC 0),
// delay_before_retry 3 s for HTTP/SSL, delay_loop for DNS, 1 s otherwise.
func DefaultTiming(kind string) Timing {
	t := Timing{DelayLoop: DefaultDelayLoop, Retry: 1, DelayBeforeRetry: time.Second, Warmup: DefaultDelayLoop}
	switch kind {
	case KindHTTP, KindSSL:
		t.DelayBeforeRetry = 3 * time.Second
	case KindDNS:
		t.Retry, t.DelayBeforeRetry = 3, t.DelayLoop
	case KindMisc:
		t.Retry = 0
	}
	return t
}

func (t Timing) delayLoop() time.Duration {
	if t.DelayLoop > 0 {
		return t.DelayLoop
	}
	return DefaultDelayLoop
}

func (t Timing) validate() error {
	switch {
	case t.DelayLoop < 0:
		return fmt.Errorf("delay_loop %v: negative", t.DelayLoop)
	case t.Retry < 0:
		return fmt.Errorf("retry %d: negative", t.Retry)
	case t.DelayBeforeRetry < 0:
		return fmt.Errorf("delay_before_retry %v: negative", t.DelayBeforeRetry)
	case t.Warmup < 0:
		return fmt.Errorf("warmup %v: negative", t.Warmup)
	case t.Timeout < 0:
		return fmt.Errorf("timeout %v: negative", t.Timeout)
	}
	return nil
}

// Check is one scheduled check.
type Check struct {
	// ID identifies the check across reloads (e.g. "vs 10.0.0.1:80/rs 10.0.1.1:80/HTTP_GET#0").
	ID      string
	Checker Checker
	Timing  Timing
}

// sameDefinition reports whether a and b define the same check.
func sameDefinition(a, b Check) bool {
	if a.ID != b.ID || a.Timing != b.Timing || reflect.TypeOf(a.Checker) != reflect.TypeOf(b.Checker) {
		return false
	}
	da, aok := a.Checker.(Definer)
	db, bok := b.Checker.(Definer)
	if aok && bok {
		return reflect.DeepEqual(da.Definition(), db.Definition())
	}
	return reflect.DeepEqual(a.Checker, b.Checker)
}

// State is the scheduler's view of one check.
type State struct {
	Up bool
	// HasRun is set once a result was recorded.
	HasRun bool
	// Retries is the number of consecutive failures absorbed while up.
	Retries int
	// Weight is the last dynamic weight (misc_dynamic), nil for configured.
	Weight *int
	// Last is the last result, LastAt when it was recorded.
	Last   Result
	LastAt time.Time
	// Next is when the check is due next (zero while it runs).
	Next    time.Time
	Running bool
}

// Transition reports a change of a check's state.
type Transition struct {
	ID string
	// Up is the new state. A transition with Up unchanged reports a new Weight.
	Up     bool
	Weight *int
	// Reason and Detail come from the result that caused it, or are "removed" /
	// "shutdown" for transitions returned by Update and Shutdown.
	Reason, Detail string
	At             time.Time
	// Omega is copied from the check's Timing (see Timing.Omega).
	Omega bool
}

func (t Transition) String() string {
	s := "down"
	if t.Up {
		s = "up"
	}
	if t.Weight != nil {
		s += fmt.Sprintf(" weight %d", *t.Weight)
	}
	return fmt.Sprintf("%s: %s (%s)", t.ID, s, Result{Reason: t.Reason, Detail: t.Detail})
}

// Reasons of transitions not caused by a check result.
const (
	ReasonRemoved  = "removed"
	ReasonShutdown = "shutdown"
)

// Job is a check run handed out by Due; give it back to Result.
type Job struct {
	ID      string
	Checker Checker
	// Timeout is the job's bound (Timing.Timeout or Budget + margin); 0 = none.
	Timeout time.Duration
	// Due is when the job was scheduled to run.
	Due time.Time
	gen uint64
}

// entry is one check's scheduling state. Its Timing is shared with the
// check added before it when equal (a virtual server's checks have one):
// 192 bytes a check, not 240 (see TestEntrySize).
type entry struct {
	id        string
	checker   Checker
	timing    *Timing
	gen       uint64
	st        State
	index     int32 // heap index, -1 when not queued (running)
	suspended bool  // see Suspend
}

// check is e's definition.
func (e *entry) check() Check { return Check{ID: e.id, Checker: e.checker, Timing: *e.timing} }

// SchedulerOptions configure a Scheduler.
type SchedulerOptions struct {
	// Rand returns a uniform random number in [0, n); nil means math/rand/v2.Int64N.
	Rand func(n int64) int64
}

// Scheduler is the pure scheduling core: no goroutines, no clock; every call takes
// the current time. It is not safe for concurrent use.
type Scheduler struct {
	rand    func(int64) int64
	entries map[string]*entry
	queue   entryHeap
	gen     uint64
	timing  *Timing // the last added check's, shared by the next if equal
}

// NewScheduler returns a scheduler with checks added at now.
func NewScheduler(now time.Time, checks []Check, opts SchedulerOptions) (*Scheduler, error) {
	s := &Scheduler{rand: opts.Rand, entries: map[string]*entry{}}
	if s.rand == nil {
		s.rand = rand.Int64N
	}
	if _, err := s.Update(now, checks); err != nil {
		return nil, err
	}
	return s, nil
}

// Update replaces the set of checks. Checks whose ID and definition (Timing and
// checker options) are unchanged keep their state, schedule and running job; others
// start afresh (alpha, warmup) and results of their old running jobs are ignored.
// It returns a down transition (Reason "removed") for each removed check that was
// up. On error nothing changes.
func (s *Scheduler) Update(now time.Time, checks []Check) ([]Transition, error) {
	seen := make(map[string]bool, len(checks))
	if err := validateChecks(checks, seen); err != nil {
		return nil, err
	}
	var removed []Transition
	for _, id := range sortedIDs(s.entries) {
		e := s.entries[id]
		if !seen[id] {
			if e.st.Up {
				removed = append(removed, Transition{ID: id, Up: false, Reason: ReasonRemoved, At: now, Omega: e.timing.Omega})
			}
			s.drop(e)
		}
	}
	for _, c := range checks {
		if old, ok := s.entries[c.ID]; ok {
			if sameDefinition(old.check(), c) {
				old.checker = c.Checker // new instance, same definition
				continue
			}
			s.drop(old)
		}
		s.add(now, c)
	}
	return removed, nil
}

// ValidateChecks returns the error NewScheduler and Update would return for
// checks (the same checks, the same text), without building a scheduler: a
// configuration's checks can be refused at load without the memory of a
// throwaway scheduler.
func ValidateChecks(checks []Check) error {
	return validateChecks(checks, make(map[string]bool, len(checks)))
}

// validateChecks validates checks, recording their IDs in seen.
func validateChecks(checks []Check, seen map[string]bool) error {
	for i, c := range checks {
		switch {
		case c.ID == "":
			return fmt.Errorf("check %d: empty ID", i)
		case seen[c.ID]:
			return fmt.Errorf("check %q: duplicate ID", c.ID)
		case c.Checker == nil:
			return fmt.Errorf("check %q: no checker", c.ID)
		}
		if err := c.Timing.validate(); err != nil {
			return fmt.Errorf("check %q: %w", c.ID, err)
		}
		seen[c.ID] = true
	}
	return nil
}

// Shutdown returns a down transition (Reason "shutdown") for every check that is
// up, in ID order, and forgets all checks.
func (s *Scheduler) Shutdown(now time.Time) []Transition {
	var out []Transition
	for _, id := range sortedIDs(s.entries) {
		e := s.entries[id]
		if e.st.Up {
			out = append(out, Transition{ID: id, Up: false, Reason: ReasonShutdown, At: now, Omega: e.timing.Omega})
		}
		s.drop(e)
	}
	return out
}

func sortedIDs(m map[string]*entry) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (s *Scheduler) add(now time.Time, c Check) {
	s.gen++
	if s.timing == nil || *s.timing != c.Timing {
		t := c.Timing
		s.timing = &t
	}
	e := &entry{id: c.ID, checker: c.Checker, timing: s.timing, gen: s.gen, index: -1}
	e.st.Up = !c.Timing.Alpha
	next := now
	if w := c.Timing.Warmup; w > 0 {
		next = now.Add(time.Duration(s.rand(int64(w))))
	}
	e.st.Next = next
	s.entries[c.ID] = e
	heap.Push(&s.queue, e)
}

func (s *Scheduler) drop(e *entry) {
	if e.index >= 0 {
		heap.Remove(&s.queue, int(e.index))
	}
	delete(s.entries, e.id)
}

// Due returns the jobs due at now (ordered by due time, then ID) and marks them
// running; they are not handed out again until their Result is recorded.
func (s *Scheduler) Due(now time.Time) []Job { return s.AppendDue(nil, now) }

// AppendDue is Due appending to jobs: the Runner's steady state allocates no
// slice per scheduling step.
func (s *Scheduler) AppendDue(jobs []Job, now time.Time) []Job {
	var skipped []*entry
	defer func() {
		for _, e := range skipped {
			heap.Push(&s.queue, e)
		}
	}()
	for len(s.queue) > 0 && !s.queue[0].st.Next.After(now) {
		e := heap.Pop(&s.queue).(*entry)
		if e.suspended {
			e.st.Next = now.Add(e.timing.delayLoop())
			skipped = append(skipped, e)
			continue
		}
		jobs = append(jobs, Job{ID: e.id, Checker: e.checker, Timeout: jobTimeout(e.check()), Due: e.st.Next, gen: e.gen})
		e.st.Running = true
		e.st.Next = time.Time{}
	}
	return jobs
}

// Suspend suspends check id (on) or resumes it, as keepalived's ha_suspend
// disables and enables checkers: a suspended check is not run and keeps its
// state (a run in progress is still recorded); a resumed one is due at once.
// Update keeps the suspension of a check it keeps; new checks start resumed.
// It reports whether the check exists and changed.
func (s *Scheduler) Suspend(now time.Time, id string, on bool) bool {
	e, ok := s.entries[id]
	if !ok || e.suspended == on {
		return false
	}
	e.suspended = on
	if !on && e.index >= 0 {
		e.st.Next = now
		heap.Fix(&s.queue, int(e.index))
	}
	return true
}

// jobMargin is added to a checker's Budget so that its own timeout fires first.
func jobMargin(b time.Duration) time.Duration { return max(b/10, 100*time.Millisecond) }

func jobTimeout(c Check) time.Duration {
	if c.Timing.Timeout > 0 {
		return c.Timing.Timeout
	}
	if b, ok := c.Checker.(Budgeter); ok && b.Budget() > 0 {
		return b.Budget() + jobMargin(b.Budget())
	}
	return 0
}

// NextDeadline returns when the earliest queued check is due; false if none is
// queued (all running, or no checks).
func (s *Scheduler) NextDeadline() (time.Time, bool) {
	if len(s.queue) == 0 {
		return time.Time{}, false
	}
	return s.queue[0].st.Next, true
}

// ErrStaleJob is returned by Result for a job whose check was removed or redefined.
var ErrStaleJob = errors.New("healthcheck: stale job")

// Result records the outcome of job at now, reschedules the check and returns the
// transition it causes, if any: a failure while up is retried Retry times,
// DelayBeforeRetry apart, before the check goes down; a success while down brings
// it up at once; a success with a new dynamic weight while up reports the weight.
// Results of stale jobs (check removed or redefined since Due) return ErrStaleJob.
func (s *Scheduler) Result(now time.Time, job Job, res Result) (*Transition, error) {
	e, ok := s.entries[job.ID]
	if !ok || e.gen != job.gen || !e.st.Running {
		return nil, ErrStaleJob
	}
	t := *e.timing
	st := &e.st
	st.Running = false
	st.HasRun = true
	st.Last, st.LastAt = res, now
	next := now.Add(t.delayLoop())
	var tr *Transition
	mk := func(up bool) *Transition {
		return &Transition{ID: job.ID, Up: up, Weight: st.Weight, Reason: res.Reason, Detail: res.Detail, At: now, Omega: t.Omega}
	}
	if res.OK {
		st.Retries = 0
		weightChanged := !sameWeight(st.Weight, res.Weight)
		st.Weight = res.Weight
		if !st.Up {
			st.Up = true
			tr = mk(true)
		} else if weightChanged {
			tr = mk(true)
		}
	} else if st.Up {
		if st.Retries < t.Retry {
			st.Retries++
			next = now.Add(t.DelayBeforeRetry)
		} else {
			st.Retries = 0
			st.Up = false
			tr = mk(false)
		}
	}
	st.Next = next
	heap.Push(&s.queue, e)
	return tr, nil
}

// Abort gives back a job that ran without a usable outcome (its run was cut short by
// the caller, not by a timeout): the check is queued again at the job's due time
// with its state unchanged. Stale jobs are ignored.
func (s *Scheduler) Abort(job Job) {
	e, ok := s.entries[job.ID]
	if !ok || e.gen != job.gen || !e.st.Running {
		return
	}
	e.st.Running = false
	e.st.Next = job.Due
	heap.Push(&s.queue, e)
}

func sameWeight(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// State returns the state of check id.
func (s *Scheduler) State(id string) (State, bool) {
	e, ok := s.entries[id]
	if !ok {
		return State{}, false
	}
	return e.st, true
}

// IDs returns the IDs of all checks, sorted.
func (s *Scheduler) IDs() []string { return sortedIDs(s.entries) }

// Len returns the number of checks.
func (s *Scheduler) Len() int { return len(s.entries) }

type entryHeap []*entry

func (h entryHeap) Len() int { return len(h) }
func (h entryHeap) Less(i, j int) bool {
	if !h[i].st.Next.Equal(h[j].st.Next) {
		return h[i].st.Next.Before(h[j].st.Next)
	}
	return h[i].id < h[j].id
}
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = int32(i), int32(j)
}
func (h *entryHeap) Push(x any) {
	e := x.(*entry)
	e.index = int32(len(*h))
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

package healthcheck

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/clock"
)

// DefaultConcurrency is the Runner's default bound on simultaneous checks.
const DefaultConcurrency = 256

// maxKeptPending bounds the due jobs' backing array the Runner keeps between
// scheduling steps (72 bytes a job).
const maxKeptPending = 1024

// Event describes one finished job (for metrics and lateness measurements).
type Event struct {
	Job Job
	// Start and End are measured with the Runner's clock; Start.Sub(Job.Due) is the
	// job's lateness.
	Start, End time.Time
	Result     Result
	// WasUp is the check's state before this result: a failure with WasUp
	// set was absorbed by retry or took the check down (keepalived logs
	// those with log_all_failures).
	WasUp bool
}

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	// Clock drives scheduling and job timeouts; nil means the real clock.
	Clock clock.Clock
	// Concurrency bounds how many checks run at once; 0 means DefaultConcurrency.
	Concurrency int
	// OnTransition receives state changes. It is called from worker goroutines:
	// concurrently for different checks, in order for one check. It must not call
	// the Runner.
	OnTransition func(Transition)
	// OnResult, if set, is called after every job (same rules as OnTransition).
	OnResult func(Event)
}

// Runner runs a Scheduler's jobs.
type Runner struct {
	opts RunnerOptions
	clk  clock.Clock

	mu      sync.Mutex
	s       *Scheduler
	pending []Job // due, waiting for a worker: pending[head:]
	head    int
	active  int
	wg      sync.WaitGroup
	wake    chan struct{}
	armed   time.Time // deadline of the loop's timer; zero if none

	// The event loop (loop.go) runs TCP_CHECK and HTTP_GET jobs with the real
	// clock; nil until Run needs it, and again after Run returned.
	runCtx context.Context
	loop   *evloop
	toLoop []*loopJob // picked under mu, submitted by flushLocked
	noLoop bool       // the loop could not be created: goroutines for all

	// Used by deliver only (on the loop's goroutine).
	evs []Event
	trs []*Transition
}

// NewRunner returns a Runner for s. The scheduler must not be used directly while
// the Runner runs; use the Runner's methods.
func NewRunner(s *Scheduler, opts RunnerOptions) *Runner {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	return &Runner{opts: opts, clk: clock.OrReal(opts.Clock), s: s, wake: make(chan struct{}, 1)}
}

// Update replaces the checks (see Scheduler.Update) at the clock's now.
func (r *Runner) Update(checks []Check) ([]Transition, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tr, err := r.s.Update(r.clk.Now(), checks)
	r.kick()
	return tr, err
}

// Suspend is Scheduler.Suspend at the clock's now.
func (r *Runner) Suspend(id string, on bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := r.s.Suspend(r.clk.Now(), id, on)
	if changed {
		r.kick()
	}
	return changed
}

// State returns the state of check id.
func (r *Runner) State(id string) (State, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s.State(id)
}

// Shutdown returns Scheduler.Shutdown's transitions; call it after Run returned.
func (r *Runner) Shutdown() []Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s.Shutdown(r.clk.Now())
}

func (r *Runner) kick() {
	if r.loop != nil {
		r.loop.poke()
		return
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run schedules and runs checks until ctx ends; it then cancels running checks,
// waits for them (their cut-short runs are not recorded: the checks are queued
// again unchanged, so Run may be called again) and returns ctx.Err(). Run must not
// be called concurrently with itself.
func (r *Runner) Run(ctx context.Context) error {
	var timer clock.Timer
	r.mu.Lock()
	r.runCtx = ctx
	r.mu.Unlock()
	defer func() {
		if timer != nil {
			timer.Stop()
		}
		r.mu.Lock()
		l := r.loop
		r.loop = nil
		r.mu.Unlock()
		if l != nil {
			l.stop()
		}
		r.wg.Wait()
	}()
	for {
		r.mu.Lock()
		now := r.clk.Now()
		if ctx.Err() == nil {
			r.dueLocked(now)
			r.dispatchLocked(ctx)
		}
		next, ok := r.s.NextDeadline()
		if r.loop != nil {
			// The event loop schedules (tick); kick pokes it.
			ok = false
		} else {
			r.armed = time.Time{}
			if ok {
				r.armed = next
			}
		}
		r.mu.Unlock()

		var tc <-chan time.Time
		if ok {
			d := next.Sub(now)
			if timer == nil {
				timer = r.clk.NewTimer(d)
			} else {
				timer.Stop()
				timer.Reset(d)
			}
			tc = timer.C()
		}
		select {
		case <-ctx.Done():
			r.mu.Lock()
			for _, j := range r.pending[r.head:] {
				r.s.Abort(j)
			}
			r.pending, r.head = nil, 0
			r.mu.Unlock()
			return ctx.Err()
		case <-tc:
		case <-r.wake:
			if timer != nil && !timer.Stop() {
				select { // drain a value that fired concurrently
				case <-timer.C():
				default:
				}
			}
		}
	}
}

// dueLocked adds the Scheduler's due jobs to pending, in its backing array
// (the jobs already taken are dropped from its front first).
func (r *Runner) dueLocked(now time.Time) {
	if r.head > 0 {
		n := copy(r.pending, r.pending[r.head:])
		clear(r.pending[n:])
		r.pending, r.head = r.pending[:n], 0
	}
	r.pending = r.s.AppendDue(r.pending, now)
}

func (r *Runner) dispatchLocked(ctx context.Context) {
	for {
		job, ok := r.nextLocked()
		if !ok {
			break
		}
		r.wg.Add(1)
		go r.work(ctx, job)
	}
	r.flushLocked()
}

// nextLocked takes pending jobs while the concurrency bound allows: those the
// event loop runs go to r.toLoop (see flushLocked), the first other one is
// returned for a goroutine. Either way it counts as active.
func (r *Runner) nextLocked() (Job, bool) {
	for r.active < r.opts.Concurrency && r.head < len(r.pending) {
		job := r.pending[r.head]
		r.pending[r.head] = Job{}
		r.head++
		r.active++
		if lj := r.loopJobLocked(job); lj != nil {
			r.toLoop = append(r.toLoop, lj)
			continue
		}
		return job, true
	}
	if r.head == len(r.pending) {
		// Keep a small backing array for the next step's jobs; let a
		// large one (all checks due at once) go.
		if cap(r.pending) > maxKeptPending {
			r.pending = nil
		}
		r.pending, r.head = r.pending[:0], 0
	}
	return Job{}, false
}

// flushLocked hands the jobs nextLocked picked to the event loop.
func (r *Runner) flushLocked() {
	if len(r.toLoop) > 0 {
		r.loop.submit(r.toLoop...)
		clear(r.toLoop)
		r.toLoop = r.toLoop[:0]
	}
}

// loopJobLocked returns job as an event-loop job, starting the loop if
// needed, or nil when job runs on a goroutine.
func (r *Runner) loopJobLocked(job Job) *loopJob {
	if r.noLoop {
		return nil
	}
	if _, real := r.clk.(clock.Real); !real {
		return nil
	}
	pc, ok := job.Checker.(pollChecker)
	if !ok {
		return nil
	}
	p := pc.newProbe()
	if p == nil {
		return nil
	}
	if r.loop == nil {
		l, err := newEvloop(r.tick, r.deliver)
		if err != nil {
			r.noLoop = true // e.g. out of descriptors: the goroutine path still works
			return nil
		}
		r.loop = l
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			l.run()
		}()
	}
	return newLoopJob(job, p)
}

// tick is the event loop's scheduling step: it dispatches the due jobs and
// returns the Scheduler's next deadline (the loop waits until then).
func (r *Runner) tick(now time.Time) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx := r.runCtx; ctx.Err() == nil {
		r.dueLocked(now)
		r.dispatchLocked(ctx)
	}
	next, ok := r.s.NextDeadline()
	r.armed = time.Time{}
	if ok {
		r.armed = next
	}
	return next, ok
}

// deliver records the event loop's finished jobs (one lock for the batch),
// dispatches more and then runs the callbacks, as work does for one job.
func (r *Runner) deliver(batch []loopDone) {
	r.mu.Lock()
	ctx := r.runCtx
	for _, d := range batch {
		r.active--
		if d.aborted || ctx.Err() != nil { // a run cut short by Run's end is not a result
			r.s.Abort(d.job)
			continue
		}
		res := d.res
		if d.jobTimeout {
			res = timedOutResult(res, d.job)
		}
		ev := Event{Job: d.job, Start: d.start, End: d.end, Result: res}
		tr, err := r.recordLocked(&ev)
		if err != nil {
			continue
		}
		r.evs = append(r.evs, ev)
		r.trs = append(r.trs, tr)
	}
	if ctx.Err() == nil && r.loop != nil {
		r.dispatchLocked(ctx)
	}
	r.mu.Unlock()
	for i, ev := range r.evs {
		if r.opts.OnResult != nil {
			r.opts.OnResult(ev)
		}
		if tr := r.trs[i]; tr != nil && r.opts.OnTransition != nil {
			r.opts.OnTransition(*tr)
		}
	}
	clear(r.evs)
	clear(r.trs)
	r.evs, r.trs = r.evs[:0], r.trs[:0]
}

// recordLocked records ev's result in the Scheduler, with ev.WasUp the
// check's state before it, and wakes the scheduling if the check is now due
// before the armed deadline (r.mu held; the goroutine and event-loop paths).
func (r *Runner) recordLocked(ev *Event) (*Transition, error) {
	if st, ok := r.s.State(ev.Job.ID); ok {
		ev.WasUp = st.Up
	}
	tr, err := r.s.Result(ev.End, ev.Job, ev.Result)
	if err != nil {
		return nil, err
	}
	if st, ok := r.s.State(ev.Job.ID); ok && (r.armed.IsZero() || st.Next.Before(r.armed)) {
		r.kick()
	}
	return tr, nil
}

// timedOutResult is res of a job its own timeout cut short: a failure is a
// timeout.
func timedOutResult(res Result, job Job) Result {
	if !res.OK {
		res.Reason = ReasonTimeout
		if res.Detail == "" {
			res.Detail = "check timed out after " + job.Timeout.String()
		}
	}
	return res
}

func (r *Runner) work(ctx context.Context, job Job) {
	defer r.wg.Done()
	for {
		ev := r.runJob(ctx, job)
		r.mu.Lock()
		var tr *Transition
		err := ctx.Err() // a run cut short by Run's end is not a result
		if err == nil {
			tr, err = r.recordLocked(&ev)
		} else {
			r.s.Abort(job)
		}
		r.active--
		var more bool
		if ctx.Err() == nil {
			job, more = r.nextLocked()
			r.flushLocked()
		}
		r.mu.Unlock()
		if err == nil {
			if r.opts.OnResult != nil {
				r.opts.OnResult(ev)
			}
			if tr != nil && r.opts.OnTransition != nil {
				r.opts.OnTransition(*tr)
			}
		}
		if !more {
			return
		}
	}
}

// runJob runs one job under its own timeout, measured with the Runner's clock.
func (r *Runner) runJob(ctx context.Context, job Job) Event {
	ev := Event{Job: job, Start: r.clk.Now()}
	var jctx context.Context
	var cancel context.CancelCauseFunc
	var timer clock.Timer
	if _, real := r.clk.(clock.Real); real && job.Timeout > 0 {
		var c context.CancelFunc
		jctx, c = context.WithTimeoutCause(ctx, job.Timeout, ErrJobTimeout)
		cancel = func(error) { c() }
	} else {
		jctx, cancel = context.WithCancelCause(ctx)
		if job.Timeout > 0 {
			timer = r.clk.NewTimer(job.Timeout)
			go func() {
				select {
				case <-timer.C():
					cancel(ErrJobTimeout)
				case <-jctx.Done():
				}
			}()
		}
	}
	res := job.Checker.Check(jctx)
	timedOut := errors.Is(context.Cause(jctx), ErrJobTimeout)
	if timer != nil {
		timer.Stop()
	}
	cancel(nil)
	if timedOut {
		res = timedOutResult(res, job)
	}
	ev.End = r.clk.Now()
	ev.Result = res
	return ev
}

package healthcheck

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/clock"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeChecker returns queued results; its definition is def.
type fakeChecker struct{ def string }

func (f *fakeChecker) Check(context.Context) Result { return Result{OK: true, Reason: ReasonOK} }
func (f *fakeChecker) Definition() any              { return f.def }

var (
	pass = Result{OK: true, Reason: ReasonOK}
	fail = Result{Reason: ReasonRefused, Detail: "connect: connection refused"}
)

func noRand(int64) int64 { return 0 }

func mustSched(t *testing.T, checks ...Check) *Scheduler {
	t.Helper()
	s, err := NewScheduler(t0, checks, SchedulerOptions{Rand: noRand})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// step runs the single due job of s at now with res and returns the transition.
func step(t *testing.T, s *Scheduler, now time.Time, res Result) *Transition {
	t.Helper()
	jobs := s.Due(now)
	if len(jobs) != 1 {
		t.Fatalf("at +%v: %d jobs due, want 1", now.Sub(t0), len(jobs))
	}
	tr, err := s.Result(now, jobs[0], res)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestSchedulerRetryBeforeDown(t *testing.T) {
	tim := Timing{DelayLoop: 10 * time.Second, Retry: 2, DelayBeforeRetry: 3 * time.Second}
	s := mustSched(t, Check{ID: "a", Checker: &fakeChecker{}, Timing: tim})
	if st, _ := s.State("a"); !st.Up {
		t.Fatal("without alpha a check starts up")
	}
	type ev struct {
		at    time.Duration
		res   Result
		trans string // "", "up", "down"
		next  time.Duration
	}
	seq := []ev{
		{0, pass, "", 10 * time.Second},
		{10 * time.Second, fail, "", 13 * time.Second}, // retry 1
		{13 * time.Second, fail, "", 16 * time.Second}, // retry 2
		{16 * time.Second, fail, "down", 26 * time.Second},
		{26 * time.Second, fail, "", 36 * time.Second}, // down: delay_loop, no retries
		{36 * time.Second, pass, "up", 46 * time.Second},
		{46 * time.Second, fail, "", 49 * time.Second}, // retries start again
		{49 * time.Second, pass, "", 59 * time.Second}, // success resets retries
		{59 * time.Second, fail, "", 62 * time.Second},
		{62 * time.Second, fail, "", 65 * time.Second},
		{65 * time.Second, fail, "down", 75 * time.Second},
	}
	for i, e := range seq {
		now := t0.Add(e.at)
		if d, ok := s.NextDeadline(); !ok || !d.Equal(now) {
			t.Fatalf("step %d: NextDeadline %v, want +%v", i, d.Sub(t0), e.at)
		}
		if jobs := s.Due(now.Add(-time.Nanosecond)); len(jobs) != 0 {
			t.Fatalf("step %d: due early", i)
		}
		tr := step(t, s, now, e.res)
		got := ""
		if tr != nil {
			got = map[bool]string{true: "up", false: "down"}[tr.Up]
			if tr.Reason != e.res.Reason || tr.Detail != e.res.Detail || !tr.At.Equal(now) || tr.ID != "a" {
				t.Fatalf("step %d: transition %+v", i, tr)
			}
		}
		if got != e.trans {
			t.Fatalf("step %d: transition %q, want %q", i, got, e.trans)
		}
		if d, _ := s.NextDeadline(); !d.Equal(t0.Add(e.next)) {
			t.Fatalf("step %d: next +%v, want +%v", i, d.Sub(t0), e.next)
		}
	}
}

func TestSchedulerRetryZero(t *testing.T) {
	s := mustSched(t, Check{ID: "m", Checker: &fakeChecker{}, Timing: Timing{DelayLoop: time.Second}})
	if tr := step(t, s, t0, fail); tr == nil || tr.Up {
		t.Fatalf("retry 0: first failure must go down, got %v", tr)
	}
}

func TestSchedulerAlpha(t *testing.T) {
	tim := Timing{DelayLoop: 5 * time.Second, Retry: 3, DelayBeforeRetry: time.Second, Alpha: true}
	s := mustSched(t, Check{ID: "a", Checker: &fakeChecker{}, Timing: tim})
	if st, _ := s.State("a"); st.Up || st.HasRun {
		t.Fatalf("alpha check starts %+v", st)
	}
	if tr := step(t, s, t0, fail); tr != nil {
		t.Fatalf("failure while down: %v", tr)
	}
	if d, _ := s.NextDeadline(); !d.Equal(t0.Add(5 * time.Second)) {
		t.Fatalf("down check not at delay_loop: +%v", d.Sub(t0))
	}
	if tr := step(t, s, t0.Add(5*time.Second), pass); tr == nil || !tr.Up {
		t.Fatalf("first success must bring it up: %v", tr)
	}
}

func TestSchedulerWarmupSpread(t *testing.T) {
	var checks []Check
	for i := range 100 {
		checks = append(checks, Check{ID: fmt.Sprintf("c%03d", i), Checker: &fakeChecker{}, Timing: Timing{DelayLoop: time.Minute, Warmup: 10 * time.Second}})
	}
	var calls []int64
	r := func(n int64) int64 {
		calls = append(calls, n)
		return int64(len(calls)-1) * n / 100 // 0, n/100, ... spread evenly
	}
	s, err := NewScheduler(t0, checks, SchedulerOptions{Rand: r})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 100 || calls[0] != int64(10*time.Second) {
		t.Fatalf("rand calls %d (%v)", len(calls), calls[:1])
	}
	for i := range 100 {
		st, _ := s.State(fmt.Sprintf("c%03d", i))
		if want := t0.Add(time.Duration(i) * 100 * time.Millisecond); !st.Next.Equal(want) {
			t.Fatalf("c%03d first due +%v, want +%v", i, st.Next.Sub(t0), want.Sub(t0))
		}
	}
	// Jobs come out as they become due, never early.
	for i := range 10 {
		now := t0.Add(time.Duration(i)*time.Second + 950*time.Millisecond)
		jobs := s.Due(now)
		if len(jobs) != 10 {
			t.Fatalf("window %d: %d jobs", i, len(jobs))
		}
		for _, j := range jobs {
			if j.Due.After(now) {
				t.Fatalf("job %s due %v handed out at %v", j.ID, j.Due, now)
			}
		}
	}
}

func TestSchedulerDynamicWeight(t *testing.T) {
	s := mustSched(t, Check{ID: "m", Checker: &fakeChecker{}, Timing: Timing{DelayLoop: time.Second}})
	w := func(n int) *int { return &n }
	at := t0
	next := func(res Result) *Transition {
		tr := step(t, s, at, res)
		at = at.Add(time.Second)
		return tr
	}
	if tr := next(pass); tr != nil {
		t.Fatalf("unchanged: %v", tr)
	}
	if tr := next(Result{OK: true, Reason: ReasonOK, Weight: w(10)}); tr == nil || !tr.Up || *tr.Weight != 10 {
		t.Fatalf("weight 10: %v", tr)
	}
	if tr := next(Result{OK: true, Reason: ReasonOK, Weight: w(10)}); tr != nil {
		t.Fatalf("same weight: %v", tr)
	}
	if tr := next(Result{OK: true, Reason: ReasonOK}); tr == nil || tr.Weight != nil {
		t.Fatalf("back to configured: %v", tr)
	}
}

func TestSchedulerUpdateKeepsState(t *testing.T) {
	tim := Timing{DelayLoop: 10 * time.Second, Alpha: true}
	s := mustSched(t,
		Check{ID: "keep", Checker: &fakeChecker{def: "x"}, Timing: tim},
		Check{ID: "change", Checker: &fakeChecker{def: "x"}, Timing: tim},
		Check{ID: "retime", Checker: &fakeChecker{def: "x"}, Timing: tim},
		Check{ID: "gone", Checker: &fakeChecker{def: "x"}, Timing: Timing{DelayLoop: 10 * time.Second, Omega: true}},
	)
	jobs := s.Due(t0)
	if len(jobs) != 4 {
		t.Fatalf("%d jobs", len(jobs))
	}
	for _, j := range jobs {
		if j.ID == "keep" {
			continue // keep's job is still running across the update
		}
		if _, err := s.Result(t0, j, pass); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(time.Second)
	removed, err := s.Update(now, []Check{
		{ID: "keep", Checker: &fakeChecker{def: "x"}, Timing: tim},
		{ID: "change", Checker: &fakeChecker{def: "y"}, Timing: tim},
		{ID: "retime", Checker: &fakeChecker{def: "x"}, Timing: Timing{DelayLoop: 20 * time.Second, Alpha: true}},
		{ID: "new", Checker: &fakeChecker{def: "x"}, Timing: tim},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0].ID != "gone" || removed[0].Up || !removed[0].Omega || removed[0].Reason != ReasonRemoved {
		t.Fatalf("removed %+v", removed)
	}
	for id, wantUp := range map[string]bool{"change": false, "retime": false, "new": false} {
		if st, ok := s.State(id); !ok || st.Up != wantUp || st.HasRun {
			t.Errorf("%s: %+v", id, st)
		}
	}
	// keep's running job is still accepted and its state goes on.
	var keepJob Job
	for _, j := range jobs {
		if j.ID == "keep" {
			keepJob = j
		}
	}
	if tr, err := s.Result(now, keepJob, pass); err != nil || tr == nil || !tr.Up {
		t.Fatalf("kept job: %v %v", tr, err)
	}
	// A job of a redefined check is stale.
	for _, j := range jobs {
		if j.ID == "change" {
			if _, err := s.Result(now, j, pass); err != ErrStaleJob {
				t.Fatalf("stale job: %v", err)
			}
		}
	}
	if _, err := s.Update(now, []Check{{ID: "a", Checker: &fakeChecker{}}, {ID: "a", Checker: &fakeChecker{}}}); err == nil {
		t.Fatal("duplicate IDs accepted")
	}
	if _, err := s.Update(now, []Check{{ID: "a", Checker: &fakeChecker{}, Timing: Timing{Retry: -1}}}); err == nil {
		t.Fatal("negative retry accepted")
	}
	if s.Len() != 4 {
		t.Fatal("failed Update changed the scheduler")
	}
	sh := s.Shutdown(now)
	if len(sh) != 1 || sh[0].ID != "keep" || sh[0].Reason != ReasonShutdown {
		t.Fatalf("shutdown %+v", sh)
	}
}

func TestDefaultTiming(t *testing.T) {
	if d := DefaultTiming(KindHTTP); d.DelayBeforeRetry != 3*time.Second || d.Retry != 1 || d.Warmup != d.DelayLoop {
		t.Errorf("HTTP %+v", d)
	}
	if d := DefaultTiming(KindDNS); d.Retry != 3 || d.DelayBeforeRetry != d.DelayLoop {
		t.Errorf("DNS %+v", d)
	}
	if d := DefaultTiming(KindMisc); d.Retry != 0 {
		t.Errorf("MISC %+v", d)
	}
	if d := DefaultTiming(KindTCP); d.DelayBeforeRetry != time.Second || d.DelayLoop != 60*time.Second {
		t.Errorf("TCP %+v", d)
	}
}

// ---- Runner ----

// blockingChecker records calls and either returns res or blocks until ctx ends.
type blockingChecker struct {
	hang   bool
	calls  chan time.Time
	clk    clock.Clock
	active *atomic.Int32
	peak   *atomic.Int32
}

func (b *blockingChecker) Check(ctx context.Context) Result {
	if b.active != nil {
		n := b.active.Add(1)
		defer b.active.Add(-1)
		for {
			p := b.peak.Load()
			if n <= p || b.peak.CompareAndSwap(p, n) {
				break
			}
		}
	}
	if b.calls != nil {
		b.calls <- b.clk.Now()
	}
	if b.hang {
		<-ctx.Done()
		return Result{Reason: ReasonCanceled, Detail: context.Cause(ctx).Error()}
	}
	return pass
}

func waitFor[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestRunnerHungTargetsDoNotDelayHealthy(t *testing.T) {
	fc := clock.NewFake(t0)
	const hung = 6
	var checks []Check
	for i := range hung {
		checks = append(checks, Check{ID: fmt.Sprintf("hung%d", i), Checker: &blockingChecker{hang: true},
			Timing: Timing{DelayLoop: time.Minute, Timeout: 10 * time.Second}})
	}
	healthyCalls := make(chan time.Time, 100)
	checks = append(checks, Check{ID: "healthy", Checker: &blockingChecker{calls: healthyCalls, clk: fc},
		Timing: Timing{DelayLoop: time.Second, Timeout: 10 * time.Second}})
	s, err := NewScheduler(t0, checks, SchedulerOptions{Rand: noRand})
	if err != nil {
		t.Fatal(err)
	}
	transitions := make(chan Transition, 100)
	results := make(chan Event, 100)
	r := NewRunner(s, RunnerOptions{Clock: fc, Concurrency: hung + 2,
		OnTransition: func(tr Transition) { transitions <- tr },
		OnResult:     func(e Event) { results <- e },
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()

	bctx, bcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer bcancel()
	for sec := range 5 {
		at := waitFor(t, healthyCalls, "healthy check")
		if want := t0.Add(time.Duration(sec) * time.Second); !at.Equal(want) {
			t.Fatalf("healthy ran at +%v, want +%v (late)", at.Sub(t0), want.Sub(t0))
		}
		ev := waitFor(t, results, "healthy result")
		if ev.Job.ID != "healthy" || ev.Start.Sub(ev.Job.Due) != 0 {
			t.Fatalf("event %+v", ev)
		}
		// hung job timers + the loop's timer
		if err := fc.BlockUntil(bctx, hung+1); err != nil {
			t.Fatal(err)
		}
		fc.Advance(time.Second)
	}
	// At +5 s the hung checks are still within their 10 s timeout; at +10 s each
	// fails once with a timeout (no retries configured: retry 0) and goes down.
	for i := 5; i < 10; i++ {
		waitFor(t, healthyCalls, "healthy check")
		waitFor(t, results, "healthy result")
		if err := fc.BlockUntil(bctx, hung+1); err != nil {
			t.Fatal(err)
		}
		fc.Advance(time.Second)
	}
	downs := map[string]bool{}
	for len(downs) < hung {
		tr := waitFor(t, transitions, "down transitions")
		if tr.Up || tr.Reason != ReasonTimeout || !tr.At.Equal(t0.Add(10*time.Second)) {
			t.Fatalf("transition %+v", tr)
		}
		downs[tr.ID] = true
	}
	cancel()
	if err := waitFor(t, done, "Run to return"); err != context.Canceled {
		t.Fatalf("Run: %v", err)
	}
	if st, _ := r.State("healthy"); !st.Up {
		t.Fatal("healthy went down")
	}
}

func TestRunnerConcurrencyBound(t *testing.T) {
	fc := clock.NewFake(t0)
	var active, peak atomic.Int32
	const n, limit = 40, 5
	var checks []Check
	for i := range n {
		checks = append(checks, Check{ID: fmt.Sprintf("c%02d", i),
			Checker: &blockingChecker{hang: true, active: &active, peak: &peak},
			Timing:  Timing{DelayLoop: time.Minute, Timeout: time.Second}})
	}
	s, _ := NewScheduler(t0, checks, SchedulerOptions{Rand: noRand})
	var mu sync.Mutex
	var downs []time.Time
	downc := make(chan struct{}, n)
	r := NewRunner(s, RunnerOptions{Clock: fc, Concurrency: limit, OnTransition: func(tr Transition) {
		mu.Lock()
		downs = append(downs, tr.At)
		mu.Unlock()
		downc <- struct{}{}
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	bctx, bcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer bcancel()
	// Each wave of `limit` hung checks costs exactly one timeout.
	for wave := range n / limit {
		want := limit + 1 // job timers + the loop's timer
		if wave == 0 {
			want = limit // nothing queued yet: no loop timer
		}
		if err := fc.BlockUntil(bctx, want); err != nil {
			t.Fatal(err)
		}
		fc.Advance(time.Second)
		for range limit {
			waitFor(t, downc, fmt.Sprintf("wave %d", wave))
		}
	}
	cancel()
	<-done
	if p := peak.Load(); p > limit {
		t.Fatalf("peak concurrency %d > %d", p, limit)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, at := range downs {
		if want := t0.Add(time.Duration(i/limit+1) * time.Second); !at.Equal(want) {
			t.Fatalf("down %d at +%v, want +%v", i, at.Sub(t0), want.Sub(t0))
		}
	}
}

func TestRunnerUpdate(t *testing.T) {
	fc := clock.NewFake(t0)
	calls := make(chan time.Time, 10)
	c := &blockingChecker{calls: calls, clk: fc}
	s, _ := NewScheduler(t0, nil, SchedulerOptions{})
	r := NewRunner(s, RunnerOptions{Clock: fc})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	if _, err := r.Update([]Check{{ID: "x", Checker: c, Timing: Timing{DelayLoop: time.Second, Alpha: true}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, calls, "check after Update")
	cancel()
	<-done
	if sh := r.Shutdown(); len(sh) > 1 {
		t.Fatalf("shutdown %v", sh)
	}
}

func TestSchedulerAbort(t *testing.T) {
	s := mustSched(t, Check{ID: "a", Checker: &fakeChecker{}, Timing: Timing{DelayLoop: time.Second}})
	jobs := s.Due(t0.Add(time.Second))
	if len(jobs) != 1 {
		t.Fatal(len(jobs))
	}
	s.Abort(jobs[0])
	if d, ok := s.NextDeadline(); !ok || !d.Equal(t0) {
		t.Fatalf("after Abort: %v %v", d, ok)
	}
	if st, _ := s.State("a"); st.Running || st.HasRun || !st.Up {
		t.Fatalf("state %+v", st)
	}
	s.Abort(jobs[0]) // second Abort is ignored
	if len(s.Due(t0)) != 1 {
		t.Fatal("aborted job not due again")
	}
}

// A suspended check (ha_suspend) is not handed out and keeps its state; it
// is looked at again every delay_loop, and resuming makes it due at once.
func TestSchedulerSuspend(t *testing.T) {
	tim := Timing{DelayLoop: 10 * time.Second, Retry: 0}
	s := mustSched(t, Check{ID: "a", Checker: &fakeChecker{}, Timing: tim})
	if !s.Suspend(t0, "a", true) || s.Suspend(t0, "a", true) || s.Suspend(t0, "nope", true) {
		t.Fatal("Suspend: want changed once, and false for a missing check")
	}
	for _, at := range []time.Duration{0, 10 * time.Second, 20 * time.Second} {
		if jobs := s.Due(t0.Add(at)); len(jobs) != 0 {
			t.Fatalf("at +%v: %d jobs of a suspended check", at, len(jobs))
		}
		if next, _ := s.NextDeadline(); !next.Equal(t0.Add(at + 10*time.Second)) {
			t.Fatalf("at +%v: next deadline +%v, want a delay_loop later", at, next.Sub(t0))
		}
	}
	if st, _ := s.State("a"); !st.Up || st.HasRun {
		t.Fatalf("suspended check's state changed: %+v", st)
	}
	if !s.Suspend(t0.Add(25*time.Second), "a", false) {
		t.Fatal("resume: not changed")
	}
	if tr := step(t, s, t0.Add(25*time.Second), fail); tr == nil || tr.Up {
		t.Fatalf("resumed check: transition %+v, want down", tr)
	}
}

// TestValidateChecksIsNewSchedulers: ValidateChecks refuses what NewScheduler
// refuses, with the same text, and accepts what it accepts.
func TestValidateChecksIsNewSchedulers(t *testing.T) {
	ok := Check{ID: "a", Checker: &fakeChecker{}}
	for _, tc := range []struct {
		name   string
		checks []Check
	}{
		{"good", []Check{ok, {ID: "b", Checker: &fakeChecker{}}}},
		{"none", nil},
		{"empty ID", []Check{ok, {Checker: &fakeChecker{}}}},
		{"duplicate ID", []Check{ok, ok}},
		{"no checker", []Check{ok, {ID: "b"}}},
		{"negative delay_loop", []Check{{ID: "b", Checker: &fakeChecker{}, Timing: Timing{DelayLoop: -1}}}},
		{"negative retry", []Check{{ID: "b", Checker: &fakeChecker{}, Timing: Timing{Retry: -1}}}},
		{"negative delay_before_retry", []Check{{ID: "b", Checker: &fakeChecker{}, Timing: Timing{DelayBeforeRetry: -1}}}},
		{"negative warmup", []Check{{ID: "b", Checker: &fakeChecker{}, Timing: Timing{Warmup: -1}}}},
		{"negative timeout", []Check{{ID: "b", Checker: &fakeChecker{}, Timing: Timing{Timeout: -1}}}},
	} {
		_, serr := NewScheduler(time.Time{}, tc.checks, SchedulerOptions{})
		verr := ValidateChecks(tc.checks)
		if (serr == nil) != (tc.name == "good" || tc.name == "none") {
			t.Errorf("%s: NewScheduler: %v", tc.name, serr)
		}
		if fmt.Sprint(verr) != fmt.Sprint(serr) {
			t.Errorf("%s: ValidateChecks: %v, NewScheduler: %v", tc.name, verr, serr)
		}
	}
}

package healthcheck

import (
	"container/heap"
	"context"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/lvs-ha/lvs-ha/internal/rawsys"
	"golang.org/x/sys/unix"
)

// The event loop runs TCP_CHECK and HTTP_GET the way keepalived's checker
// thread does: one goroutine owns an epoll set of non-blocking sockets (connect
// in progress, request write, response read) and a heap of their deadlines,
// and hands finished probes to the Runner in batches. A goroutine, a runtime
// poller registration and a context timer per check were half of a check's
// user-space CPU (see integration/bench/healthcheck.sh).
//
// Only the Runner with the real clock uses it (a fake clock's job timeouts are
// not wall time); Checker.Check stays the blocking path for everything else.

// pollChecker is implemented by checkers that can run on the event loop.
type pollChecker interface {
	// newProbe returns a probe for one check, or nil when this checker must
	// run on the goroutine path (e.g. SSL_GET).
	newProbe() probe
}

// probe is one non-blocking check. Its methods are called on the loop's
// goroutine only; each returns the next step.
type probe interface {
	// start begins the check at now.
	start(now time.Time) pstep
	// ready is called when the step's fd has events (epoll event bits).
	ready(now time.Time, events uint32) pstep
	// expire is called when the step's deadline passed; jobTimeout tells the
	// Runner's job deadline (and not the checker's own) was the earlier.
	expire(now time.Time, jobTimeout bool) pstep
	// abort closes whatever the probe holds (the Runner stops).
	abort()
	// free gives the probe back for reuse once the loop is done with it
	// (after its last step or abort): its checker's next check takes it, so
	// a check allocates no probe in the steady state.
	free()
}

// pstep is what a probe waits for next, or its result.
type pstep struct {
	done bool
	res  Result
	// fd is the socket to wait on, with events (EPOLLIN/EPOLLOUT); fresh is
	// set when fd is a new socket (not yet in the epoll set).
	fd       int
	events   uint32
	fresh    bool
	deadline time.Time // the checker's own deadline
}

func doneStep(res Result) pstep { return pstep{done: true, res: res, fd: -1} }

// loopJobs are the loop's jobs given back (free) for the next ones: a check
// allocates none in the steady state (a new one per check was ~200 bytes of
// garbage, which with the probe's made the collector's cycles and the heap's
// growth between them; see integration/bench/healthcheck.sh).
var loopJobs = sync.Pool{New: func() any { return new(loopJob) }}

// newLoopJob returns a job for p, from loopJobs.
func newLoopJob(job Job, p probe) *loopJob {
	j := loopJobs.Get().(*loopJob)
	*j = loopJob{job: job, p: p, fd: -1, index: -1}
	return j
}

// free gives j and its probe back; j must be in no queue, heap or map.
func (j *loopJob) free() {
	j.p.free()
	*j = loopJob{}
	loopJobs.Put(j)
}

// loopJob is a job in flight on the loop.
type loopJob struct {
	job      Job
	p        probe
	start    time.Time
	jobDL    time.Time // zero: no job timeout
	deadline time.Time // min(pstep deadline, jobDL)
	fd       int       // registered fd, -1 if none
	events   uint32
	index    int // in the deadline heap, -1 if not queued
}

// loopDone is a finished (or aborted) job.
type loopDone struct {
	job        Job
	start, end time.Time
	res        Result
	jobTimeout bool
	aborted    bool
}

type evloop struct {
	epfd, evfd int
	tfd        int             // timerfd armed at the loop's next deadline
	ep         *os.File        // epfd on the runtime's poller
	eprc       syscall.RawConn // its raw access
	armed      time.Time       // tfd's expiry; zero: disarmed (loop goroutine)
	wakes      int             // waits that returned (loop goroutine; tests)
	emptyReads int             // reads of the epoll set that found nothing (idem)
	// tick runs the Scheduler's due jobs (they come back through submit) and
	// returns its next deadline; deliver records finished jobs. Both run on
	// the loop's goroutine.
	tick    func(now time.Time) (time.Time, bool)
	deliver func([]loopDone)

	mu      sync.Mutex
	queue   []*loopJob // submitted, not started
	stopped bool
	busy    bool // the loop is not waiting: submit and poke need not wake it
	poked   bool // poke while busy: tick again before waiting

	// owned by the loop goroutine
	byFd  map[int]*loopJob
	dl    deadlineHeap
	batch []loopDone
}

func newEvloop(tick func(time.Time) (time.Time, bool), deliver func([]loopDone)) (*evloop, error) {
	// The loop's goroutine waits on the runtime's poller for the epoll set to
	// become readable, with no deadline: its next deadline is the timerfd's
	// expiry, in the epoll set. No thread blocks in epoll_wait (a blocking
	// system call keeps the runtime's sysmon thread awake), and there is no
	// runtime timer: one expired would wake sysmon, and the goroutine it
	// readies another thread. A wait costs one thread waking from the
	// runtime's own epoll_wait, as keepalived's checker wakes from its.
	epfd, ep, rc, err := rawsys.EpollOnPoller("epoll")
	if err != nil {
		return nil, err
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = ep.Close()
		return nil, os.NewSyscallError("eventfd", err)
	}
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC|unix.TFD_NONBLOCK)
	if err != nil {
		_ = ep.Close()
		_ = unix.Close(evfd)
		return nil, os.NewSyscallError("timerfd_create", err)
	}
	// The timerfd is edge-triggered: an expiry wakes the loop once and need
	// not be read (a read(2) per expiry, ~0.3 per check at 100 checks/s);
	// timerfd_settime, which re-arms it, zeroes its count.
	for _, r := range []struct {
		fd     int
		events uint32
	}{{evfd, unix.EPOLLIN}, {tfd, unix.EPOLLIN | unix.EPOLLET}} {
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, r.fd, &unix.EpollEvent{Events: r.events, Fd: int32(r.fd)}); err != nil {
			_ = ep.Close()
			_ = unix.Close(evfd)
			_ = unix.Close(tfd)
			return nil, os.NewSyscallError("epoll_ctl", err)
		}
	}
	return &evloop{epfd: epfd, evfd: evfd, tfd: tfd, ep: ep, eprc: rc, tick: tick, deliver: deliver, byFd: map[int]*loopJob{}, busy: true}, nil
}

// arm sets the timerfd to expire at dl (zero: never), if it is not already.
func (l *evloop) arm(dl time.Time) {
	if dl.Equal(l.armed) {
		return
	}
	var its unix.ItimerSpec
	if !dl.IsZero() {
		// The timerfd counts on CLOCK_MONOTONIC; dl is wall time with the
		// runtime's monotonic reading, so arm it relative (at least 1ns: a
		// zero value disarms).
		its.Value = unix.NsecToTimespec(max(int64(time.Until(dl)), 1))
	}
	if _, _, e := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(l.tfd), 0, uintptr(unsafe.Pointer(&its)), 0, 0, 0); e != 0 {
		// Cannot happen with a valid timerfd; wake now rather than never.
		its.Value = unix.NsecToTimespec(1)
		_, _, _ = unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(l.tfd), 0, uintptr(unsafe.Pointer(&its)), 0, 0, 0)
	}
	l.armed = dl
}

var eventfdOne = [8]byte{1}

func (l *evloop) wakeLocked() {
	if l.busy {
		l.poked = true
		return
	}
	l.busy = true // one wake-up is enough
	_, _ = rawsys.Write(uintptr(l.evfd), eventfdOne[:])
}

// submit queues jobs; the loop starts them. Safe from any goroutine.
func (l *evloop) submit(jobs ...*loopJob) {
	l.mu.Lock()
	l.queue = append(l.queue, jobs...)
	l.wakeLocked()
	l.mu.Unlock()
}

// poke makes the loop tick (the Scheduler changed). Safe from any goroutine.
func (l *evloop) poke() {
	l.mu.Lock()
	l.wakeLocked()
	l.mu.Unlock()
}

// stop makes run abort what is in flight and return.
func (l *evloop) stop() {
	l.mu.Lock()
	l.stopped = true
	l.wakeLocked()
	l.mu.Unlock()
}

// take returns the submitted jobs. When there are none and nothing poked the
// loop, it marks the loop as waiting (wait): from then on submit and poke
// wake it through the eventfd.
func (l *evloop) take(q []*loopJob) (_ []*loopJob, stopped, wait bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	q, l.queue = l.queue, q[:0]
	if len(q) == 0 && !l.poked && !l.stopped {
		l.busy = false
		return q, false, true
	}
	l.poked = false
	return q, l.stopped, false
}

// run is the loop; it returns after stop, with every job delivered (aborted
// ones with aborted set) and its descriptors closed.
//
// The whole loop runs inside one RawConn.Read of the epoll set: step is
// called once at the start and again each time the runtime's poller reports
// the set readable, and returns false to wait. Read clears the poller's
// pending readiness only when it begins, so each wait needs no try of its
// own: a wake-up used to be two epoll_pwait of the loop (the one that found
// the events and, before the next wait, a non-blocking one that found
// none), it is now one. No wake-up is lost: step waits only after reading
// the epoll set until it returned fewer events than asked for (so its ready
// list was empty), and a socket, the eventfd or the timerfd becoming ready
// after that adds to the ready list and wakes the runtime's poller (the set
// is on it edge-triggered), which readies the waiting Read or, if the loop
// is running, marks it ready so the next wait returns at once. The sockets
// the loop keeps level-triggered (TCP_CHECK's connect) are done when they
// report: none stays ready unserved (it would have made the loop spin
// before). The one read of the set that may find nothing is the one right
// after starting checks (see step).
func (l *evloop) run() {
	defer func() {
		_ = l.ep.Close()
		_ = unix.Close(l.evfd)
		_ = unix.Close(l.tfd)
	}()
	events := make([]unix.EpollEvent, 128)
	var queue []*loopJob
	first := true
	// scan reads the epoll set until its ready list is empty and serves
	// the events.
	scan := func(fd uintptr) {
		for {
			n, e := rawsys.EpollWait(fd, events)
			if e != 0 {
				n = 0
			}
			if n == 0 {
				l.emptyReads++
			}
			l.serve(events[:n], time.Now())
			if n < len(events) {
				return
			}
		}
	}
	// step is one wake-up: the epoll set's events, the expired deadlines,
	// then ticks and started jobs until the loop waits (false) or stopped
	// (true). Made once (a closure per wait was two allocations).
	step := func(fd uintptr) bool {
		if !first {
			l.wakes++
		}
		first = false
		l.mu.Lock()
		l.busy = true
		l.mu.Unlock()
		scan(fd)
		for {
			now := time.Now()
			next, hasNext := l.tick(now)
			var stopped, wait bool
			queue, stopped, wait = l.take(queue)
			if stopped {
				for _, j := range queue {
					l.batch = append(l.batch, loopDone{job: j.job, aborted: true})
				}
				l.abortAll()
				return true
			}
			if !wait {
				for _, j := range queue {
					j.start = now
					if j.job.Timeout > 0 {
						j.jobDL = now.Add(j.job.Timeout)
					}
					l.apply(j, j.p.start(now), now)
				}
				clear(queue)
				l.flush()
				// A connect to a local server completes inside
				// connect(2): serve it now rather than after parking
				// (the runtime would find the set ready at once, at
				// the cost of a park, a poll of its own and a wake).
				scan(fd)
				continue // tick again: results, pokes, more jobs
			}
			var dl time.Time
			if len(l.dl) > 0 {
				dl = l.dl[0].deadline
			}
			if hasNext && (dl.IsZero() || next.Before(dl)) {
				dl = next
			}
			if dl.IsZero() || dl.After(now) {
				l.arm(dl)
				return false
			}
			l.mu.Lock()
			l.busy = true
			l.mu.Unlock()
			l.serve(nil, time.Now())
		}
	}
	if err := l.eprc.Read(step); err != nil {
		// Cannot happen (the set is closed only after run): wait in
		// poll(2) instead of the runtime's poller.
		pfd := []unix.PollFd{{Fd: int32(l.epfd), Events: unix.POLLIN}}
		for !step(uintptr(l.epfd)) {
			_, _ = unix.Poll(pfd, -1)
		}
	}
}

// serve hands events to their jobs, then expires the jobs whose deadline
// passed, and delivers the finished ones.
func (l *evloop) serve(events []unix.EpollEvent, now time.Time) {
	for i := range events {
		fd := int(events[i].Fd)
		if fd == l.evfd {
			var b [8]byte
			_, _ = rawsys.Read(uintptr(l.evfd), b[:])
			continue
		}
		if fd == l.tfd {
			l.armed = time.Time{} // expired (left unread: edge-triggered): arm again
			continue
		}
		if j := l.byFd[fd]; j != nil {
			l.apply(j, j.p.ready(now, events[i].Events), now)
		}
	}
	for len(l.dl) > 0 && !l.dl[0].deadline.After(now) {
		j := l.dl[0]
		jobTimeout := !j.jobDL.IsZero() && !j.jobDL.After(now)
		l.apply(j, j.p.expire(now, jobTimeout), now)
	}
	l.flush()
}

// flush delivers the finished jobs.
func (l *evloop) flush() {
	if len(l.batch) > 0 {
		l.deliver(l.batch)
		clear(l.batch)
		l.batch = l.batch[:0]
	}
}

// apply moves j to step s.
func (l *evloop) apply(j *loopJob, s pstep, now time.Time) {
	if j.fd >= 0 && (s.done || s.fresh || s.fd != j.fd) {
		delete(l.byFd, j.fd) // the probe closed it: epoll forgot it
		j.fd = -1
	}
	if s.done {
		if j.index >= 0 {
			heap.Remove(&l.dl, j.index)
		}
		l.batch = append(l.batch, loopDone{job: j.job, start: j.start, end: now, res: s.res,
			jobTimeout: !j.jobDL.IsZero() && !j.jobDL.After(now)})
		j.free()
		return
	}
	var err error
	switch {
	case j.fd < 0:
		err = rawEpollCtl(l.epfd, unix.EPOLL_CTL_ADD, s.fd, &unix.EpollEvent{Events: s.events, Fd: int32(s.fd)})
		l.byFd[s.fd] = j
	case s.events != j.events:
		err = rawEpollCtl(l.epfd, unix.EPOLL_CTL_MOD, s.fd, &unix.EpollEvent{Events: s.events, Fd: int32(s.fd)})
	}
	j.fd, j.events = s.fd, s.events
	if err != nil { // cannot happen for a fresh socket; fail the check rather than hang
		delete(l.byFd, j.fd)
		j.fd = -1
		j.p.abort()
		if j.index >= 0 {
			heap.Remove(&l.dl, j.index)
		}
		l.batch = append(l.batch, loopDone{job: j.job, start: j.start, end: now,
			res: failResult(j.start, ReasonError, "epoll_ctl: %v", err)})
		j.free()
		return
	}
	dl := s.deadline
	if !j.jobDL.IsZero() && (dl.IsZero() || j.jobDL.Before(dl)) {
		dl = j.jobDL
	}
	j.deadline = dl
	if j.index >= 0 {
		heap.Fix(&l.dl, j.index)
	} else {
		heap.Push(&l.dl, j)
	}
}

func (l *evloop) abortAll() {
	for _, j := range l.dl {
		j.p.abort()
		l.batch = append(l.batch, loopDone{job: j.job, aborted: true})
	}
	l.dl = nil
	clear(l.byFd)
	if len(l.batch) > 0 {
		l.deliver(l.batch)
		l.batch = nil
	}
}

type deadlineHeap []*loopJob

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *deadlineHeap) Push(x any) {
	j := x.(*loopJob)
	j.index = len(*h)
	*h = append(*h, j)
}
func (h *deadlineHeap) Pop() any {
	old := *h
	j := old[len(old)-1]
	old[len(old)-1] = nil
	j.index = -1
	*h = old[:len(old)-1]
	return j
}

// Expired contexts give the loop's errors the same text and reasons as the
// blocking path's: there a deadline's error is read through the check's
// context (ioErr, classify).
var (
	ctxDeadline, _   = context.WithDeadline(context.Background(), time.Unix(1, 0))                     //nolint:govet // never canceled: already expired
	ctxJobTimeout, _ = context.WithDeadlineCause(context.Background(), time.Unix(1, 0), ErrJobTimeout) //nolint:govet // idem
)

// expiredCtx is the context a blocking check would have seen at its deadline.
func expiredCtx(jobTimeout bool) context.Context {
	if jobTimeout {
		return ctxJobTimeout
	}
	return ctxDeadline
}

package runner

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/rawsys"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/vrrpsock"
)

// The advert path. With real sockets (SocketFactory) the loop is one
// goroutine (on a locked OS thread only for realtime scheduling, see
// locksThread) that owns receive, timers and send for VRRP: it waits in
// ppoll(2) on the VRRP sockets, an eventfd and a timerfd armed for the next
// timer deadline (timer slack 1 ns on a locked thread),
// reads the sockets itself and steps the machines on the same thread. A
// received advert or an expired master down timer therefore costs one
// thread wake-up, where the channel loop (kept for the unit tests' fake
// sockets and clock) needs three hand-offs: the runtime's netpoller wakes a
// reader goroutine, which hands the packet to the loop goroutine; a timer
// fires on the runtime's timer heap (checked at scheduling points, not on
// the deadline) and wakes the loop goroutine. Under CPU contention every
// hand-off is a run-queue wait, which is how a 10 ms advert became a
// missed one. Two things keep the wake-up's own latency (an idle vCPU
// halts; waking it pays the host's latency) out of a takeover: a packet is
// stepped at the kernel's receive time (rxAt), so the master down timer
// runs from when the advert arrived, and the timerfd of a backup's master
// down deadline fires spinLead early, the rest waited on the clock
// (spinUntil); a deadline further off is approached first (approachLead),
// so that the Go runtime's sysmon, woken by the end of a long wait, has
// preempted the loop and slowed its polling before the takeover, not
// during it. A wait with no deadline within parkHorizon (default adverts;
// a backup's until parkLead before its master down deadline) parks in the
// Go runtime's poller instead of ppoll (parker), its P idle: sysmon then
// sleeps through it instead of polling every 10 ms and every 20 us after
// it. Everything else (link and address events, script results,
// Update) still arrives on r.in and r.updates and is relayed to the
// eventfd by one goroutine; none of it is on the advert path.

// pollConn is a Conn the loop can wait on itself (*vrrpsock.Conn).
type pollConn interface {
	Conn
	PollFd() int
	TryRecv(buf []byte) (vrrpsock.Packet, bool, error)
}

var _ pollConn = (*vrrpsock.Conn)(nil)

// maxDrain bounds the packets read from one socket per wake-up, so that a
// flood on one interface does not starve the others or the timers.
const maxDrain = 64

// waker is the loop's mailbox in poll mode: work queued by the relay and an
// eventfd that makes ppoll return.
type waker struct {
	fd int
	mu sync.Mutex
	q  []func()
}

func newWaker() (*waker, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &waker{fd: fd}, nil
}

func (w *waker) push(f func()) {
	if f != nil {
		w.mu.Lock()
		w.q = append(w.q, f)
		w.mu.Unlock()
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(w.fd, one[:]) // EAGAIN only when the counter is full: already readable
}

// take resets the eventfd, then returns the queued work: work pushed after
// the reset wakes the next ppoll.
func (w *waker) take() []func() {
	var b [8]byte
	_, _ = unix.Read(w.fd, b[:])
	w.mu.Lock()
	q := w.q
	w.q = nil
	w.mu.Unlock()
	return q
}

func (w *waker) close() { unix.Close(w.fd) }

// polls reports whether the loop runs in poll mode: real sockets only; the
// fakes of the unit tests keep the channel loop (and its fake clock).
func (r *Runner) polls() bool {
	_, ok := r.opts.Conns.(SocketFactory)
	return ok
}

// pollLoop is loop in poll mode (see above). It falls back to the channel
// loop if it cannot create its eventfd.
func (r *Runner) pollLoop() {
	w, err := newWaker()
	if err != nil {
		r.log.Warn("VRRP: no eventfd, using the channel loop", "err", err)
		r.startReaders()
		r.chanLoop()
		return
	}
	defer w.close()
	// The deadline is a timerfd, not ppoll's timeout: poll and select add
	// 0.1% of the timeout as slack for tasks that are not realtime (3.6 ms
	// on a 3.6 s master down timer); a timerfd fires on time.
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		r.log.Warn("VRRP: no timerfd, using the channel loop", "err", err)
		r.startReaders()
		r.chanLoop()
		return
	}
	defer unix.Close(tfd)
	locked := locksThread(r.opts)
	var wait *unix.Timespec // ppoll's timeout: none on a locked thread, else maxWait when a deadline is near (capWait)
	var pk *parker          // an unlocked loop's uncapped wait (nil: ppoll)
	if locked {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if r.rtPrio > 0 {
			// Threads created since setProcess (SCHED_RESET_ON_FORK) are not
			// realtime: make sure this one, the advert path, is.
			if err := r.opts.Process.SetRealtime(r.rtPrio); err != nil {
				r.log.Warn("VRRP: cannot set realtime priority", "priority", r.rtPrio, "err", err)
			}
		}
		// The default timer slack (50 us) would be added to every deadline.
		if err := unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0); err == nil {
			defer unix.Prctl(unix.PR_SET_TIMERSLACK, 0, 0, 0, 0) // back to the default
		}
	} else {
		wait = new(unix.Timespec)
		if pk, err = newParker(); err != nil {
			r.log.Warn("VRRP: cannot wait in the runtime's poller, waiting in ppoll", "err", err)
			pk = nil
		} else {
			defer pk.close()
		}
	}
	relayed := make(chan struct{})
	go func() {
		defer close(relayed)
		for {
			select {
			case <-r.gctx.Done():
				w.push(nil)
				return
			case f := <-r.in:
				w.push(f)
			case f := <-r.updates:
				w.push(f)
			}
		}
	}()
	defer func() {
		// Work the relay took before Run ended still runs (an Update waits
		// for its result), as the channel loop would have run it.
		<-relayed
		r.now = time.Now()
		for _, f := range w.take() {
			f()
		}
	}()

	buf := make([]byte, 1<<16)
	var (
		fds    []unix.PollFd
		polled []*connState
		armed  timerArm
	)
	const nfixed = 2 // the eventfd and the timerfd come first
	for {
		next := r.iterate()
		if r.gctx.Err() != nil {
			return
		}
		now := time.Now()
		takeover := r.takeoverDeadline(next)
		lead := leadFor(next, now, takeover, wait != nil, pk != nil)
		if armed.stale(next, lead) {
			var its unix.ItimerSpec // zero: disarmed
			if !next.IsZero() {
				its.Value = unix.NsecToTimespec(armIn(next, now, lead).Nanoseconds())
			}
			if err := unix.TimerfdSettime(tfd, 0, &its, nil); err != nil {
				r.log.Error("VRRP: timerfd failed, using the channel loop", "err", err)
				r.startReaders()
				r.chanLoop()
				return
			}
			armed = timerArm{next: next, lead: lead, set: true}
		}
		fds = append(fds[:0], unix.PollFd{Fd: int32(w.fd), Events: unix.POLLIN}, unix.PollFd{Fd: int32(tfd), Events: unix.POLLIN})
		polled = polled[:0]
		for _, cs := range r.conns {
			if cs.polled {
				fds = append(fds, unix.PollFd{Fd: int32(cs.c.(pollConn).PollFd()), Events: unix.POLLIN})
				polled = append(polled, cs)
			}
		}
		before := time.Now()
		capped := capWait(wait, next, before)
		parks := parksFor(next, before, takeover, lead, capped == nil && pk != nil)
		if !locked && !parks {
			// Through the scheduler once per round, before the wait: see
			// locksThread and yield (a park goes through it anyway). The
			// timerfd is armed, so the deadline holds whatever runs
			// meanwhile.
			yield()
		}
		var err error
		if parks {
			err = pk.wait(fds)
		} else {
			err = ppoll(fds, capped)
		}
		r.stepped, r.now = r.now, time.Now() // rxAt's floor: the machines' time so far
		if r.waited != nil {
			r.waited(capped != nil, parks, r.now)
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			r.log.Error("VRRP: ppoll failed, using the channel loop", "err", err)
			r.startReaders()
			r.chanLoop()
			return
		}
		if fds[1].Revents != 0 {
			// Fired: the next round arms it again (timerArm), which also
			// resets its expiry count, so it is not read here.
			armed.set = false
			// An approach wake-up is not a deadline: the next round arms
			// the timerfd spinLead early and waits capped (capWait). Nor
			// is a backup's park ending parkLead early: the next round
			// arms it approachLead early and waits in a system call.
			if armed.lead != approachLead && armed.lead != parkLead {
				if armed.lead == spinLead {
					r.now = spinUntil(next, r.now, time.Now)
				}
				if !next.IsZero() {
					r.late(r.now.Sub(next))
				}
			}
		}
		// Packets first: they (and the timers, next round) are the advert
		// path; the queued work is not.
		for i, cs := range polled {
			if ev := fds[i+nfixed].Revents; ev != 0 {
				r.drain(cs, buf, ev)
			}
		}
		if fds[0].Revents != 0 {
			for _, f := range w.take() {
				r.now = time.Now()
				f()
			}
		}
	}
}

// timerArm is what the loop's timerfd is armed for. A round whose next
// deadline is the one already armed (a wake-up by the maxWait cap, the
// eventfd or a packet that changed no timer) skips timerfd_settime; once
// the timerfd has fired (a one-shot: it stays readable until read or set
// again) the next round sets it again, which also resets its expiry count
// (timerfd_setup), so the loop does not read it either: per advert one
// system call less for the read and one for each round that changed
// nothing.
type timerArm struct {
	next time.Time     // zero: disarmed
	lead time.Duration // how early before next it fires (leadFor)
	set  bool          // next and lead describe the timerfd: false before the first arming and once it fired
}

// stale reports whether the timerfd must be set for the deadline next,
// lead early (leadFor).
func (a timerArm) stale(next time.Time, lead time.Duration) bool {
	return !a.set || a.lead != lead || !a.next.Equal(next)
}

// locksThread reports whether the poll loop locks its OS thread: only when
// realtime scheduling is configured (RTPriority, MaxAutoPriority), which a
// thread the runtime creates later would not have (SCHED_RESET_ON_FORK).
// Nothing else needs the thread: the process never changes namespace
// (setns) and the sockets are bound to theirs when opened.
//
// Locked, the loop waits in ppoll without ever passing through the Go
// scheduler, so its P's schedtick never moves and sysmon (runtime/proc.go
// retake) treats it as running for more than forcePreemptNS (10 ms): from
// then on it takes the P in every wait (the exemption for system calls
// shorter than 10 ms is skipped) and preempts the goroutine when it
// catches it running, and a preempted locked goroutine is handed to
// another thread and back (stoplockedm, startlockedm): futex wake-ups on
// the advert path. Unlocked, the loop yields (yield) before each wait,
// which moves schedtick, and waits at most maxWait, so that every round
// (yield, wait, work) stays under sysmon's 10 ms, and a capped wait keeps
// its P (see ppoll); a yield on a locked goroutine would itself be such a
// hand-off.
func locksThread(o Options) bool {
	return o.RTPriority > 0 || o.MaxAutoPriority > 0
}

// yield is the unlocked loop's yield before each wait (see locksThread):
// the runtime's goyield (runtime/proc.go), which puts the goroutine at the
// back of its P's local run queue and schedules, so that whatever is
// queued on that P runs first and the loop then resumes on the same
// thread (unless a thread already looking for work steals it) with
// schedtick moved (a goroutine taken from the local queue does not
// inherit its time slice). runtime.Gosched, used until session
// 16, puts it on the global queue instead and wakes an idle P's thread
// (wakep), which finds nothing and sleeps again, or takes the loop and
// leaves the first thread to sleep: ~2.9 context switches an advert,
// 29-41% of an idle master's perf samples (session 10). goyield is among
// the runtime functions the Go project keeps for linkname by other
// modules (gVisor's; go.dev/issue/67401: "Do not remove or change the
// type signature"). TestYieldWakesNoThread and TestYieldMovesSchedtick
// hold it to both properties.
func yield() { goyield() }

//go:linkname goyield runtime.goyield
func goyield()

// maxWait caps an unlocked loop's ppoll below the runtime's 10 ms
// (forcePreemptNS and the system call exemption of sysmon's retake); the
// timerfd, not this timeout, carries the deadlines.
const maxWait = 9 * time.Millisecond

// capHorizon is how near the next deadline must be for the cap to apply.
// With fast adverts (the loop's next deadline is a 10-50 ms advert or
// master down timer) a wait is about sysmon's 10 ms and the cap keeps it
// under; with the default 1 s adverts a capped loop would wake ~111 times
// a second for nothing, while a long wait parks (parker).
const capHorizon = 50 * time.Millisecond

// parkHorizon is how far off the next deadline must be for a wait to
// park (parker): a master parks only with adverts at least this far apart,
// so that its backups' master down interval (three adverts and the skew)
// is at least 750 ms, against the longest stall of a parked loop seen,
// 170 ms (parker). A wait between capHorizon and parkHorizon (adverts of
// 0.05-0.25 s) stays a ppoll system call.
const parkHorizon = 250 * time.Millisecond

// capWait returns wait (an unlocked loop's timeout storage) when the next
// deadline is within capHorizon of now, else nil (no timeout: the timerfd
// ends the wait). A locked loop (wait nil) is never capped.
func capWait(wait *unix.Timespec, next, now time.Time) *unix.Timespec {
	if wait == nil || next.IsZero() || next.Sub(now) > capHorizon {
		return nil
	}
	return wait
}

// ppoll waits in ppoll(2) for fds, at most maxWait if wait is not nil
// (its storage: ppoll writes back the time left, which the next call
// would otherwise reuse).
//
// A capped wait (fast adverts, unlocked loop) does not enter the runtime's
// system call state when the process has more than one P (rawPpoll): the
// loop keeps its P through the wait. Entered as a system call, a wait
// lets sysmon retake the P whenever the other Ps are busy (under busy
// loops at nice -10 their threads often are, descheduled by the kernel
// with a P), and every retake resets sysmon to its 20 us polling: perf on
// that load showed sysmon's nanosleep wake-ups at about half of the
// master's context switches. Holding the P costs the rest of the process
// at most maxWait of one P (the loop yields each round, and a runtime
// preemption request, for a GC or a goroutine running too long, interrupts
// the wait with its signal: EINTR). With a single P the rest of the
// process would wait for the loop, so the wait stays a system call.
func ppoll(fds []unix.PollFd, wait *unix.Timespec) error {
	if wait == nil {
		_, err := unix.Ppoll(fds, nil, nil)
		return err
	}
	*wait = unix.NsecToTimespec(maxWait.Nanoseconds())
	if runtime.GOMAXPROCS(0) < 2 {
		_, err := unix.Ppoll(fds, wait, nil)
		return err
	}
	return rawPpoll(fds, wait)
}

// rawPpoll is ppoll(2) without the runtime's system call bookkeeping
// (entersyscall, exitsyscall): only for waits bounded by maxWait.
func rawPpoll(fds []unix.PollFd, wait *unix.Timespec) error {
	var p unsafe.Pointer
	if len(fds) > 0 {
		p = unsafe.Pointer(&fds[0])
	}
	_, _, e := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(p), uintptr(len(fds)), uintptr(unsafe.Pointer(wait)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// parker is an unlocked loop's wait when no deadline is near (parksFor:
// none within parkHorizon, or a backup's master down deadline more than
// parkLead away): its descriptors (the eventfd and the timerfd, then the
// polled sockets) are put in an epoll instance, itself registered with the Go
// runtime's poller through an *os.File, and wait parks the goroutine
// until that instance is readable (RawConn.Read). Its P is then idle;
// with every P idle sysmon sleeps until something needs it, and the
// runtime's thread sleeping in epoll_wait wakes for the event, takes an
// idle P and runs the loop itself (findRunnable): one thread wake-up per
// event. The ppoll it replaces was a system call: sysmon, polling every
// 10 ms while a P is held, retook the P after 10 ms and slept, and the
// wait's exitsyscall woke it again with its polling reset to 20 us for
// ~50 rounds, then doubling: 70-90 context switches per advert at
// advert_int 1 (session 17). The loop's own system calls are raw
// (sendmsg, recvmsg, timerfd_settime, this epoll_wait), so they do not
// wake sysmon either; entersyscall does.
//
// A backup waiting for its master down deadline parks until parkLead
// before it, then waits the 20 ms to approachLead in ppoll as a system
// call, so that its approach and takeover begin from the same runtime
// state as with the ppoll wait (the P retaken during that wait, sysmon
// woken by its end). Session 17 parked straight into the approach (which
// woke sysmon with a getpid through the system call state) and measured
// takeovers at advert_int 1 and 0.2 ~45 us slower, advert->GARP p50 0.251
// -> 0.293 ms, but against a binary without the parker, as was its variant
// whose backups never parked, slower by as much (0.256 -> 0.301 ms): a
// difference between two binaries, not between two waits. Session 18,
// one binary choosing the wait (kill takeovers at advert_int 1, 12-20 runs
// per arm, alternating): advert->GARP p50 with the backup parked -32%,
// +26%, +8% and -24% (decision->GARP +8%, -19%); against the binary before
// it +34% and +20%. A parked backup that stalls (below) does not take
// over while adverts come: it steps them at their kernel receive time
// (rxAt) before its timers; a stall only delays a takeover that is due.
// Any other wait parks only with no deadline within parkHorizon: a
// master's with adverts at least that far apart, a faulted instance's, an
// idle runner's.
//
// Capped waits (a deadline within capHorizon: fast adverts, a takeover's
// approach) do not park. A parked loop needs a P to run when it wakes, and
// the garbage collector's idle mark workers take idle Ps: under busy loops
// at nice -10, with a collection every 3 s, a loop parked for every wait
// stalled up to 170 ms near every collection (30 false transitions in 2
// minutes, against 2 waiting in ppoll; session 17, the cause of session
// 12's ~100 ms stalls). A master down interval of a few hundred ms or
// more absorbs that; one of ~35 ms (10 ms adverts) does not.
type parker struct {
	epfd    int
	file    *os.File // owns epfd
	rc      syscall.RawConn
	evs     []unix.EpollEvent
	n       int   // events in evs after a ready
	err     error // ready's error
	readyFn func(uintptr) bool
}

func newParker() (*parker, error) {
	epfd, file, rc, err := rawsys.EpollOnPoller("vrrp-epoll")
	if err != nil {
		return nil, err
	}
	p := &parker{epfd: epfd, file: file, rc: rc, evs: make([]unix.EpollEvent, 16)}
	p.readyFn = p.ready
	return p, nil
}

func (p *parker) close() { p.file.Close() }

// ready reads the events pending (without waiting): RawConn.Read's
// function, which parks the goroutine while it returns false. The read is
// a raw system call (see parker).
func (p *parker) ready(uintptr) bool {
	n, e := rawsys.EpollWait(uintptr(p.epfd), p.evs)
	p.n = 0
	switch e {
	case 0:
		p.n = n
		return n > 0
	case unix.EINTR: // not expected without a timeout; the poller's edge still holds
		return false
	default:
		p.err = fmt.Errorf("epoll_wait: %w", e)
		return true
	}
}

// wait parks until one of fds is readable and sets their Revents. The
// descriptors are in the epoll instance only for the park (epoll_ctl, raw
// system calls): one left in it would make the instance readable, and so
// wake the runtime's thread that sleeps in epoll_wait, at every event of a
// capped wait that follows (two threads woken per advert where ppoll wakes
// one), and a socket closed and replaced on the same number between two
// parks would be missed.
func (p *parker) wait(fds []unix.PollFd) error {
	var err error
	added := 0
	for i, pf := range fds {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: pf.Fd, Pad: int32(i)}
		if err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(pf.Fd), &ev); err != nil {
			err = fmt.Errorf("epoll_ctl add fd %d: %w", pf.Fd, err)
			break
		}
		added++
	}
	if err == nil {
		p.err = nil
		if err = p.rc.Read(p.readyFn); err == nil {
			err = p.err
		}
	}
	for _, pf := range fds[:added] {
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(pf.Fd), nil)
	}
	if err != nil {
		return err
	}
	for i := range fds {
		fds[i].Revents = 0
	}
	for _, ev := range p.evs[:p.n] {
		if i := int(ev.Pad); i >= 0 && i < len(fds) && fds[i].Fd == ev.Fd {
			fds[i].Revents = int16(ev.Events)
		}
	}
	return nil
}

// drain reads the packets queued on a polled socket and steps the machines.
func (r *Runner) drain(cs *connState, buf []byte, ev int16) {
	if cs.retired.Load() {
		return
	}
	if ev&unix.POLLNVAL != 0 {
		// Closed behind the loop's back: a reader reports it and fails Run.
		r.readOn(cs)
		return
	}
	pc := cs.c.(pollConn)
	for range maxDrain {
		p, ok, err := pc.TryRecv(buf)
		if err != nil {
			r.rx.recvErrors.Add(1)
			r.log.Warn("VRRP receive failed", "interface", cs.cfg.Interface, "err", err)
			return
		}
		if !ok {
			return
		}
		r.onPacketAt(cs, p) // keeps nothing of buf: Decode copies what it returns
	}
}

// onPacketAt steps the machines with p at the time the kernel received it
// (rxAt), then puts r.now back to the wake-up time.
func (r *Runner) onPacketAt(cs *connState, p vrrpsock.Packet) {
	wake := r.now
	r.now = rxAt(p.Received, wake, r.stepped)
	r.stepped = r.now
	r.onPacket(cs, p)
	r.now = wake
}

// rxAt is the time to step a packet received at received (the kernel's
// timestamp, on the wall clock; zero if none) at, read by a loop that woke
// at wake: RFC 5798 restarts the master down timer when an advert is
// received, which is the kernel's receive time, not when the loop got to
// it (under a late wake-up the difference would be added to every
// takeover). The result keeps wake's monotonic reading, is never after
// wake, and never before floor, the time the previous packet was stepped
// at: the machines never see time go backwards, and a wall clock step
// between receive and wake moves it by no more than since that packet.
func rxAt(received, wake, floor time.Time) time.Time {
	if received.IsZero() {
		return wake
	}
	age := wake.Sub(received) // wall clock: received has no monotonic reading
	if age <= 0 {
		return wake
	}
	t := wake.Add(-age)
	if t.Before(floor) {
		// also when floor is after wake (not expected): never back in time
		return floor
	}
	return t
}

// spinLead is how long before a master down deadline the loop wakes up, to
// wait out the rest on the clock (spinUntil): the wake-up of an idle CPU
// (a halted vCPU pays the host's latency) and of the thread are then paid
// before the deadline, not after it. It costs at most spinLead of CPU per
// takeover: a backup's deadline is reached only when it takes over, or
// when an advert arrives in the last spinLead before it.
const spinLead = time.Millisecond

// takeoverDeadline reports whether next (the loop's next deadline) is the
// master down timer of a backup instance, which spinUntil waits for.
func (r *Runner) takeoverDeadline(next time.Time) bool {
	if next.IsZero() {
		return false
	}
	for _, in := range r.insts {
		if in.m.State() == vrrp.StateBackup && in.m.NextDeadline().Equal(next) {
			return true
		}
	}
	return false
}

// approachLead is how long before a takeover deadline that is further
// off the loop wakes up first, in a round of its own, to wait out the rest
// capped (capWait: no system call state), as fast adverts do. The wait
// that ends there is a system call (a backup's park ends parkLead before
// the deadline, see parker); sysmon retakes its P and, every P idle,
// sleeps (runtime/proc.go sysmon). The wait's exitsyscall wakes it: it then
// polls every 20 us (plus the timer slack) for about 50 rounds before its
// sleeps double towards 10 ms, and its first look finds the P's
// schedtick as recorded before the wait and preempts the loop (SIGURG; see
// locksThread). Ending the long wait approachLead early puts both before
// the takeover instead of on it: a perf trace of takeovers (advert_int
// 0.2) showed the preemption 2-10 us after the first advert and sysmon's
// 20 us wake-ups, each a timer interrupt and a context switch on the
// takeover's CPU, inside the address add and between it and the first
// GARP. A backup's master down deadline is reached only when no advert
// came for approachLead less than the master down interval, so this costs
// a few capped rounds per takeover and nothing otherwise.
const approachLead = capHorizon

// parkLead is how long before a takeover deadline a backup's parked wait
// ends (parker): the loop then waits the parkLead-approachLead (20 ms) to
// the approach in ppoll as a system call, long enough for sysmon, which
// its entersyscall wakes, to retake the P (10 ms) and sleep again, so that
// the approach begins as it did before backups parked (session 18): the
// wait's exitsyscall wakes sysmon, whose 20 us polling and preemption of
// the loop are over before the takeover.
const parkLead = approachLead + 20*time.Millisecond

// leadFor is how early the timerfd is armed for the deadline next: for a
// takeover deadline (spin) parkLead early while it is further off than
// parkLead and parkHorizon and the loop can park (parkable: a parker, see
// parksFor), then approachLead early while it is further off than that
// and the loop caps its waits (capped: unlocked, see locksThread; a
// locked loop's waits are all system calls), then spinLead early; any
// other deadline on time.
func leadFor(next, now time.Time, spin, capped, parkable bool) time.Duration {
	switch {
	case !spin:
		return 0
	case capped && parkable && next.Sub(now)-parkLead > parkHorizon:
		return parkLead
	case capped && next.Sub(now) > approachLead:
		return approachLead
	default:
		return spinLead
	}
}

// parksFor reports whether the wait for the deadline next (from now; the
// timerfd armed lead early, leadFor) parks (parker), where it can (an
// unlocked loop with a parker and no cap): a takeover deadline's wait
// until parkLead, any other only with no deadline within parkHorizon.
func parksFor(next, now time.Time, takeover bool, lead time.Duration, can bool) bool {
	switch {
	case !can:
		return false
	case takeover:
		return lead == parkLead
	default:
		return next.IsZero() || next.Sub(now) > parkHorizon
	}
}

// armIn is how long from now to arm the timerfd for the deadline next,
// lead early (leadFor); at least 1 ns (0 would disarm the timerfd).
func armIn(next, now time.Time, lead time.Duration) time.Duration {
	return max(1, next.Sub(now)-lead)
}

// spinUntil waits on the clock (clock, from now) until the deadline and
// returns the first reading not before it. It never returns earlier (the
// master down interval is a lower bound: taking over before it is a
// protocol violation), except that it does not spin at all when the
// deadline is more than spinLead away (a timerfd that fired early or a
// clock step): it returns now, and the caller, whose timers run only once
// due, goes back to waiting.
func spinUntil(deadline, now time.Time, clock func() time.Time) time.Time {
	if deadline.Sub(now) > spinLead {
		return now
	}
	for now.Before(deadline) {
		now = clock()
	}
	return now
}

package runner

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// parkWaiter waits for the poll loop's file descriptors through the Go
// runtime's netpoller instead of in a blocking ppoll: the descriptors are
// registered in an epoll set of its own, whose descriptor the runtime
// polls, and the loop's goroutine parks on it. A goroutine that waits in
// blocking syscalls never passes through the scheduler, so sysmon takes
// its P in every wait and preempts it as running for more than 10 ms
// (see locksThread); a parked goroutine is rescheduled at every wake-up,
// and it is woken by the thread that polls the network, as any goroutine
// waiting for a socket is. Used when the loop does not lock its thread (a
// locked goroutine that parks is handed between threads at every wait).
type parkWaiter struct {
	ep   *os.File // the epoll set, non-blocking, in the runtime's poller
	rc   syscall.RawConn
	epfd int
	regd []int32       // the descriptors in the set, as last synced
	regc []*connState  // the sockets they belong to
	fds  []unix.PollFd // the current wait's, for check
	evs  [8]unix.EpollEvent
	n    int   // check's result
	err  error // check's error
	chk  func(uintptr) bool
}

func newParkWaiter() (*parkWaiter, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("epoll set non-blocking: %w", err)
	}
	ep := os.NewFile(uintptr(epfd), "vrrp-epoll") // non-blocking: in the runtime's poller
	rc, err := ep.SyscallConn()
	if err != nil {
		ep.Close()
		return nil, err
	}
	w := &parkWaiter{ep: ep, rc: rc, epfd: epfd}
	w.chk = w.check
	return w, nil
}

func (w *parkWaiter) close() { w.ep.Close() }

// sync makes the epoll set hold exactly the descriptors of fds, those of
// the sockets of conns after the loop's own (they change only when the
// loop's sockets do). A socket closed and another opened under the same
// number is a different file to epoll: conns tells them apart.
func (w *parkWaiter) sync(fds []unix.PollFd, conns []*connState) error {
	same := len(fds) == len(w.regd) && len(conns) == len(w.regc)
	for i := 0; same && i < len(fds); i++ {
		same = fds[i].Fd == w.regd[i]
	}
	for i := 0; same && i < len(conns); i++ {
		same = conns[i] == w.regc[i]
	}
	if same {
		return nil
	}
	for _, fd := range w.regd {
		// ENOENT, EBADF: closed meanwhile, which took it out of the set
		_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
	}
	w.regd, w.regc = w.regd[:0], append(w.regc[:0], conns...)
	for _, p := range fds {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: p.Fd} // level-triggered
		if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, int(p.Fd), &ev); err != nil {
			w.regd, w.regc = w.regd[:0], w.regc[:0]
			return fmt.Errorf("epoll_ctl add %d: %w", p.Fd, err)
		}
		w.regd = append(w.regd, p.Fd)
	}
	return nil
}

// wait returns once one of fds is ready (their Revents set, as ppoll
// sets them), the goroutine parked in the runtime's poller meanwhile.
func (w *parkWaiter) wait(fds []unix.PollFd, conns []*connState) error {
	if err := w.sync(fds, conns); err != nil {
		return err
	}
	w.fds, w.n, w.err = fds, 0, nil
	if err := w.rc.Read(w.chk); err != nil {
		return err
	}
	w.fds = nil
	return w.err
}

var zeroTimeout unix.Timespec

// check is rc.Read's callback: whether a descriptor is ready (done) or the
// goroutine parks until the epoll set is readable. It empties the set's
// ready list first (a level-triggered entry still ready goes back on it),
// so that the next event on any descriptor makes the set readable anew.
func (w *parkWaiter) check(uintptr) bool {
	for {
		n, err := unix.EpollWait(w.epfd, w.evs[:], 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			w.err = fmt.Errorf("epoll_wait: %w", err)
			return true
		}
		if n < len(w.evs) {
			break
		}
	}
	n, err := unix.Ppoll(w.fds, &zeroTimeout, nil)
	if err != nil && err != unix.EINTR {
		w.err = err
		return true
	}
	w.n = n
	return n > 0
}

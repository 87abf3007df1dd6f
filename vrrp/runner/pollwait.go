package runner

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// parkWaiter is the unlocked poll loop's wait: the loop's descriptors (the
// eventfd, the timerfd and the detached VRRP sockets) are in an epoll set
// of its own (level-triggered), whose descriptor is itself registered in
// the Go runtime's netpoller (epoll sets nest), and the loop's goroutine
// parks on it. While it waits no P is held and no thread is in a system
// call: the thread that polls the network (one of the runtime's, blocked
// in its epoll_wait with every P idle) wakes on the first descriptor ready
// and runs the goroutine itself, one context switch per wake-up. With
// every P idle sysmon sleeps until the next runtime timer (runtime/proc.go
// sysmon: npidle == gomaxprocs), and nothing on the advert path wakes it:
// the loop's system calls there (sendmsg, recvmsg, timerfd_settime and
// this epoll_wait with no timeout) are raw ones, which do not pass through
// entersyscall (that one wakes a sleeping sysmon and resets it to 20 us
// polling). So there is no yield per round (runtime.Gosched, a spinning
// thread woken each time), no 9 ms cap on the wait (about two rounds per
// 10 ms advert) and no sysmon polling every 10 ms: the three costs of the
// ppoll loop (see locksThread, ppoll).
//
// A locked loop (realtime priority) does not use it: a locked goroutine
// that parks hands its P to another thread and is handed back at every
// wake-up (stoplockedm, startlockedm).
type parkWaiter struct {
	ep   *os.File // the epoll set, non-blocking, in the runtime's poller
	rc   syscall.RawConn
	epfd int
	regd []int32       // the descriptors in the set, as last synced
	regc []*connState  // the sockets they belong to
	fds  []unix.PollFd // the current wait's, whose Revents check sets
	evs  [16]unix.EpollEvent
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
	ep := os.NewFile(uintptr(epfd), "vrrp-epoll") // non-blocking: registered in the runtime's poller
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
		ev := unix.EpollEvent{Events: uint32(p.Events), Fd: p.Fd} // level-triggered
		if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, int(p.Fd), &ev); err != nil {
			w.regd, w.regc = w.regd[:0], w.regc[:0]
			return fmt.Errorf("epoll_ctl add %d: %w", p.Fd, err)
		}
		w.regd = append(w.regd, p.Fd)
	}
	return nil
}

// wait returns once one of fds is ready, with their Revents set as ppoll
// sets them (POLLIN, POLLERR, POLLHUP; a descriptor closed behind the
// loop's back leaves the set silently, where ppoll reports POLLNVAL), the
// goroutine parked in the runtime's poller meanwhile.
func (w *parkWaiter) wait(fds []unix.PollFd, conns []*connState) error {
	if err := w.sync(fds, conns); err != nil {
		return err
	}
	for i := range fds {
		fds[i].Revents = 0
	}
	w.fds, w.err = fds, nil
	err := w.rc.Read(w.chk)
	w.fds = nil
	if err != nil {
		return err
	}
	return w.err
}

// check is rc.Read's callback: whether a descriptor is ready (done: their
// Revents set) or the goroutine parks until the epoll set is readable. The
// runtime registers the set edge-triggered: it signals when an event is
// added to the set's ready list, so the goroutine parks only once
// epoll_wait found the list empty (a level-triggered entry still ready
// stays on it and is returned again), and any later event on any
// descriptor is a new edge.
func (w *parkWaiter) check(uintptr) bool {
	n, err := epollWaitNow(w.epfd, w.evs[:])
	for err == unix.EINTR {
		n, err = epollWaitNow(w.epfd, w.evs[:])
	}
	if err != nil {
		w.err = fmt.Errorf("epoll_wait: %w", err)
		return true
	}
	for _, ev := range w.evs[:n] {
		for i := range w.fds {
			if w.fds[i].Fd == ev.Fd {
				w.fds[i].Revents |= int16(ev.Events)
				break
			}
		}
	}
	return n > 0
}

// epollWaitNow is epoll_wait(2) with no timeout as a raw system call (see
// parkWaiter: a system call through entersyscall wakes a sleeping sysmon).
// epoll_pwait with no signal mask is epoll_wait, and exists on every
// architecture.
func epollWaitNow(epfd int, evs []unix.EpollEvent) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&evs[0])), uintptr(len(evs)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

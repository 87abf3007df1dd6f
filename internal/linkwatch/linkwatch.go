package linkwatch

import (
	"github.com/lvs-ha/lvs-ha/internal/rawsys"
	"golang.org/x/sys/unix"
)

// Watch is a non-blocking rtnetlink socket joined to RTNLGRP_LINK, in the
// namespace of the thread that opened it: the kernel queues a message on
// it, before the system call making the change returns, for every change
// of a link (a link created, deleted or renamed, its flags or hardware
// address). An empty socket therefore means that no link changed since it
// was last read.
type Watch struct {
	fd  int
	buf []byte
}

// Open opens a watch in the calling thread's network namespace.
func Open() (*Watch, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &Watch{fd: fd, buf: rawsys.Prefaulted(8192)}, nil
}

// Changed reads every queued message and reports whether there was one,
// or an overrun (ENOBUFS: some were lost). An error other than these
// means the socket is unusable (Changed then also reports true).
func (w *Watch) Changed() (bool, error) {
	changed := false
	for {
		// A raw read: the socket is non-blocking, so the read never waits,
		// and the runtime's system call bookkeeping (which lets sysmon hand
		// the caller's P to another thread, and wakes sysmon if it slept) is
		// left out of a VRRP takeover's path to its first GARP.
		_, e := rawsys.Read(uintptr(w.fd), w.buf)
		switch e {
		case 0, unix.ENOBUFS:
			changed = true
		case unix.EAGAIN:
			return changed, nil
		case unix.EINTR:
		default:
			return true, e
		}
	}
}

// Close closes the socket.
func (w *Watch) Close() error { return unix.Close(w.fd) }

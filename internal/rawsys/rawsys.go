package rawsys

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Read is read(2) on fd without the runtime's bookkeeping; fd must be
// non-blocking. The Errno is 0 on success.
func Read(fd uintptr, p []byte) (int, unix.Errno) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(ptr), uintptr(len(p)))
	return int(n), e
}

// Write is write(2) on fd without the runtime's bookkeeping; fd must be
// non-blocking. The Errno is 0 on success.
func Write(fd uintptr, p []byte) (int, unix.Errno) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(ptr), uintptr(len(p)))
	return int(n), e
}

// Prefaulted returns a zeroed buffer of n bytes whose pages are all mapped:
// it writes each once. Go takes fresh heap pages from the kernel unwritten
// (they are zero already), so a buffer kept for later takes a page fault at
// each page's first write, inside the system call that first fills it: on
// a VRRP takeover that was the netlink ack of the VIP's address add, on the
// path from the first advert to the first GARP: the read of a queued ack
// took 22-49 us instead of ~2 on the project's test machines
// (exceptions:page_fault_kernel at _copy_to_iter, in every traced
// takeover). Buffers such a path fills are made with it.
func Prefaulted(n int) []byte {
	b := make([]byte, n)
	step := unix.Getpagesize()
	for i := 0; i < n; i += step {
		b[i] = 0
	}
	if n > 0 {
		b[n-1] = 0
	}
	return b
}

// Resident reports how many of the pages b spans are in memory (mincore),
// of all it spans; for tests of Prefaulted's users.
func Resident(b []byte) (in, all int, err error) {
	if len(b) == 0 {
		return 0, 0, nil
	}
	page := uintptr(unix.Getpagesize())
	start := uintptr(unsafe.Pointer(&b[0])) &^ (page - 1)
	end := uintptr(unsafe.Pointer(&b[len(b)-1])) + 1
	vec := make([]byte, (end-start+page-1)/page)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, start, end-start, uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return 0, len(vec), e
	}
	for _, v := range vec {
		in += int(v & 1)
	}
	return in, len(vec), nil
}

// EpollOnPoller creates a non-blocking epoll instance registered with the
// Go runtime's poller: a goroutine waits for it to become readable with
// rc.Read, parked with its P idle (no thread blocks in epoll_wait, and
// sysmon may sleep), and reads its events with EpollWait inside the
// callback. f owns epfd: closing f closes it. The health-check loop and the
// VRRP loop's parked waits wait this way.
func EpollOnPoller(name string) (epfd int, f *os.File, rc syscall.RawConn, err error) {
	epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return -1, nil, nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		_ = unix.Close(epfd)
		return -1, nil, nil, os.NewSyscallError("fcntl", err)
	}
	f = os.NewFile(uintptr(epfd), name)
	if rc, err = f.SyscallConn(); err != nil {
		_ = f.Close()
		return -1, nil, nil, err
	}
	return epfd, f, rc, nil
}

// EpollWait is epoll_wait(2) on epfd with a zero timeout (epoll_pwait with
// no signal mask), without the runtime's bookkeeping: the events ready now.
// The Errno is 0 on success.
func EpollWait(epfd uintptr, events []unix.EpollEvent) (int, unix.Errno) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, epfd, uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	return int(n), e
}

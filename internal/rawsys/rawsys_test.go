package rawsys

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// Write then Read through a non-blocking pipe; an empty pipe is EAGAIN.
func TestReadWrite(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	buf := make([]byte, 8)
	if _, e := Read(uintptr(p[0]), buf); e != unix.EAGAIN {
		t.Fatalf("Read of an empty pipe: %v, want EAGAIN", e)
	}
	if n, e := Write(uintptr(p[1]), []byte("abc")); n != 3 || e != 0 {
		t.Fatalf("Write: %d, %v", n, e)
	}
	if n, e := Read(uintptr(p[0]), buf); n != 3 || e != 0 || string(buf[:n]) != "abc" {
		t.Fatalf("Read: %d, %v, %q", n, e, buf[:n])
	}
}

// Every page of a Prefaulted buffer is resident (mincore) before anything
// is written to it; a fresh allocation of this size is mostly not.
func TestPrefaulted(t *testing.T) {
	const n = 4 << 20
	fresh := make([]byte, n)
	in, all, err := Resident(fresh)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("make: %d of %d pages resident", in, all)
	if in, all, err := Resident(Prefaulted(n)); err != nil || in != all {
		t.Fatalf("Prefaulted: %d of %d pages resident (%v)", in, all, err)
	}
	runtime.KeepAlive(fresh)
}

// TestEpollOnPoller: a goroutine waiting on the instance with rc.Read
// wakes when a descriptor in it becomes readable, and EpollWait reads the
// event.
func TestEpollOnPoller(t *testing.T) {
	epfd, f, rc, err := EpollOnPoller("test-epoll")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(evfd)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}); err != nil {
		t.Fatal(err)
	}
	events := make([]unix.EpollEvent, 4)
	if n, e := EpollWait(uintptr(epfd), events); e != 0 || n != 0 {
		t.Fatalf("EpollWait before any event = %d, %v; want 0, 0", n, e)
	}
	go func() { _, _ = unix.Write(evfd, []byte{1, 0, 0, 0, 0, 0, 0, 0}) }()
	var n int
	if err := rc.Read(func(fd uintptr) bool {
		var e unix.Errno
		n, e = EpollWait(fd, events)
		return e != 0 || n > 0
	}); err != nil {
		t.Fatal(err)
	}
	if n != 1 || events[0].Fd != int32(evfd) || events[0].Events&unix.EPOLLIN == 0 {
		t.Fatalf("after the eventfd's write: %d events %+v, want its EPOLLIN", n, events[:n])
	}
}

//go:build linux

package runner

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/lvs-ha/lvs-ha/vrrp"
)

func newEventfd(t *testing.T) int {
	t.Helper()
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func signal(t *testing.T, fd int) {
	t.Helper()
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	if _, err := unix.Write(fd, one[:]); err != nil {
		t.Fatal(err)
	}
}

func consume(t *testing.T, fd int) {
	t.Helper()
	var b [8]byte
	if _, err := unix.Read(fd, b[:]); err != nil {
		t.Fatal(err)
	}
}

// goroutineState returns the scheduler state ("IO wait", "syscall",
// "running"...) of the first goroutine whose stack mentions fn, "" if none.
func goroutineState(fn string) string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if !bytes.Contains(g, []byte(fn)) {
			continue
		}
		head, _, _ := bytes.Cut(g, []byte("\n"))
		_, st, _ := bytes.Cut(head, []byte("["))
		st, _, _ = bytes.Cut(st, []byte("]"))
		state, _, _ := strings.Cut(string(st), ",") // "IO wait, locked to thread", "IO wait, 2 minutes"
		return state
	}
	return ""
}

// awaitState samples fn's goroutine until it is in state want (sampling
// a wait that does not end by itself, not a tolerance) and returns the
// last state seen.
func awaitState(fn, want string) string {
	var st string
	for range 2000 {
		if st = goroutineState(fn); st == want {
			return st
		}
		time.Sleep(time.Millisecond)
	}
	return st
}

// TestParkWaiter: a wait reports the descriptors ready as ppoll does,
// again while one stays ready (level-triggered inside), and otherwise
// parks its goroutine in the runtime's poller (not in a system call) until
// one becomes ready; the set follows the descriptors the loop passes.
func TestParkWaiter(t *testing.T) {
	w, err := newParkWaiter()
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	a, b, c := newEventfd(t), newEventfd(t), newEventfd(t)
	fds := []unix.PollFd{{Fd: int32(a), Events: unix.POLLIN}, {Fd: int32(b), Events: unix.POLLIN}}
	revents := func() [2]int16 { return [2]int16{fds[0].Revents, fds[1].Revents} }

	signal(t, a)
	for i := range 2 { // still readable: reported again
		if err := w.wait(fds, nil); err != nil {
			t.Fatal(err)
		}
		if got := revents(); got != [2]int16{unix.POLLIN, 0} {
			t.Fatalf("wait %d with a readable: revents %v", i, got)
		}
	}
	signal(t, b)
	if err := w.wait(fds, nil); err != nil {
		t.Fatal(err)
	}
	if got := revents(); got != [2]int16{unix.POLLIN, unix.POLLIN} {
		t.Fatalf("both readable: revents %v", got)
	}
	consume(t, a)
	consume(t, b)

	done := make(chan error)
	go func() { done <- w.wait(fds, nil) }()
	if st := awaitState("(*parkWaiter).wait", "IO wait"); st != "IO wait" {
		t.Fatalf("a wait with nothing ready is in state %q, want it parked in the poller (IO wait)", st)
	}
	signal(t, b)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := revents(); got != [2]int16{0, unix.POLLIN} {
		t.Fatalf("woken by b: revents %v", got)
	}
	consume(t, b)

	// b leaves the set, c joins: b no longer wakes the wait, c does.
	fds[1].Fd = int32(c)
	signal(t, b)
	go func() { done <- w.wait(fds, nil) }()
	if st := awaitState("(*parkWaiter).wait", "IO wait"); st != "IO wait" {
		t.Fatalf("woken by a descriptor taken out of the set (state %q)", st)
	}
	signal(t, c)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := revents(); got != [2]int16{0, unix.POLLIN} {
		t.Fatalf("woken by c: revents %v", got)
	}
}

// TestPollLoopParks: the unlocked poll loop, idle with real sockets and
// the scheduler slice in effect, waits parked in the runtime's poller (IO
// wait), holding no P and no thread in a system call; on a kernel that
// takes no slice it keeps the ppoll loop, whose wait (uncapped: the next
// deadline is seconds away) is a system call. Root only (a raw socket in
// a namespace); about 0.2 s.
func TestPollLoopParks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sliceErr error
		want     string
	}{
		{"slice", nil, "IO wait"},
		{"no slice", fmt.Errorf("sched_setattr: %w", errors.ErrUnsupported), "syscall"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st := idleLoopState(t, &fakeProcess{sliceErr: tc.sliceErr}, tc.want); st != tc.want {
				t.Errorf("the idle poll loop is in state %q, want %q", st, tc.want)
			}
		})
	}
}

// idleLoopState starts a runner with one instance on a veth in a new
// namespace, its Slice 100 us applied through p, and returns the state of
// its idle poll loop's goroutine (once want, or the last sampled).
func idleLoopState(t *testing.T, p Process, want string) string {
	t.Helper()
	ns := netns.New(t)
	h := ns.Netlink(t)
	link := netns.AddVethUp(t, h, "pk0", "pk1", nil)
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(192, 0, 2, 1), Mask: net.CIDRMask(24, 32)}}); err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{
		Instances: []InstanceConfig{{
			Machine:   vrrp.Options{Name: "VI_1", VRID: 51, Priority: 100, Version: 3, AdvertInterval: time.Second},
			Interface: "pk0",
		}},
		Conns:     SocketFactory{},
		VIPs:      &fakeVIPs{},
		Announcer: &fakeAnnouncer{},
		Logger:    slog.New(slog.DiscardHandler),
		Process:   p,
		Slice:     100 * time.Microsecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error)
	// Run opens the socket in the namespace, on the locked thread of
	// ns.Do; the loop's wait does not depend on the thread being locked
	// (locksThread looks at the options only).
	go func() { ran <- ns.Do(func() error { return r.Run(ctx) }) }()
	select {
	case <-r.Ready():
	case err := <-ran:
		t.Fatalf("Run: %v", err)
	}
	st := awaitState("(*Runner).pollLoop", want)
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	return st
}

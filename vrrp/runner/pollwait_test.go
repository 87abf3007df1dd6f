package runner

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func testPipe(t *testing.T) (r, w int) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return p[0], p[1]
}

// waitAsync runs pw.wait in a goroutine and returns its result channel.
func waitAsync(pw *parkWaiter, fds []unix.PollFd, conns []*connState) <-chan error {
	done := make(chan error, 1)
	go func() { done <- pw.wait(fds, conns) }()
	return done
}

func waitDone(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: wait: %v", what, err)
		}
	case <-time.After(10 * time.Second): // a failure bound, not a timing
		t.Fatalf("%s: wait did not return", what)
	}
}

// goroutineState is the state runtime.Stack shows for the goroutine whose
// stack holds fn ("IO wait", "syscall"...).
func goroutineState(fn string) string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte(fn)) {
			line, _, _ := bytes.Cut(g, []byte("\n"))
			if i, j := bytes.IndexByte(line, '['), bytes.IndexByte(line, ']'); i >= 0 && j > i {
				return string(line[i+1 : j])
			}
		}
	}
	return ""
}

// parked waits until the goroutine in parkWaiter.wait is parked in the
// runtime's poller ([IO wait]), not in a syscall.
func parked(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for st := goroutineState("(*parkWaiter).wait"); st != "IO wait"; st = goroutineState("(*parkWaiter).wait") {
		if time.Now().After(deadline) {
			t.Fatalf("waiting goroutine is [%s], want [IO wait] (parked in the poller)", st)
		}
		runtime.Gosched()
	}
}

// TestParkWaiter: the poll loop's wait (without a locked thread) parks the
// goroutine in the runtime's poller, where the scheduler sees it (a
// goroutine blocked in ppoll shows as [syscall] and is retaken and
// preempted by sysmon every 10 ms), and returns with ppoll's Revents once
// a descriptor is readable, also one that joined the set, also a new
// socket that took a closed one's number.
func TestParkWaiter(t *testing.T) {
	pw, err := newParkWaiter()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.close()
	ar, aw := testPipe(t)
	br, bw := testPipe(t)
	ca, cb := &connState{}, &connState{}
	fds := []unix.PollFd{{Fd: int32(ar), Events: unix.POLLIN}, {Fd: int32(br), Events: unix.POLLIN}}

	done := waitAsync(pw, fds, []*connState{ca, cb})
	parked(t)
	unix.Write(bw, []byte{1})
	waitDone(t, done, "write to b")
	if fds[0].Revents != 0 || fds[1].Revents&unix.POLLIN == 0 {
		t.Fatalf("Revents a %#x b %#x, want b readable only", fds[0].Revents, fds[1].Revents)
	}
	// Still readable (level): returns at once.
	waitDone(t, waitAsync(pw, fds, []*connState{ca, cb}), "b still readable")
	var buf [8]byte
	unix.Read(br, buf[:])

	// c joins the set.
	cr, cw := testPipe(t)
	cc := &connState{}
	fds = append(fds, unix.PollFd{Fd: int32(cr), Events: unix.POLLIN})
	done = waitAsync(pw, fds, []*connState{ca, cb, cc})
	parked(t)
	unix.Write(cw, []byte{1})
	waitDone(t, done, "write to c (joined)")
	if fds[2].Revents&unix.POLLIN == 0 {
		t.Fatalf("Revents c %#x, want readable", fds[2].Revents)
	}
	unix.Read(cr, buf[:])

	// a's socket is closed and another takes its number: a new file.
	unix.Close(ar)
	nr, nw := testPipe(t)
	if nr != ar {
		if err := unix.Dup2(nr, ar); err != nil {
			t.Fatal(err)
		}
		unix.Close(nr)
		nr = ar
	}
	done = waitAsync(pw, fds, []*connState{&connState{}, cb, cc})
	parked(t)
	unix.Write(nw, []byte{1})
	waitDone(t, done, "write to a's successor")
	if fds[0].Revents&unix.POLLIN == 0 {
		t.Fatalf("Revents a' %#x, want readable", fds[0].Revents)
	}
	_ = aw
}

// TestLocksThread: the loop locks its thread only for realtime
// scheduling, which later threads would not inherit.
func TestLocksThread(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want bool
	}{
		{Options{}, false},
		{Options{Nice: -10}, false},
		{Options{RTPriority: 10}, true},
		{Options{MaxAutoPriority: 5}, true},
	} {
		if got := locksThread(tc.o); got != tc.want {
			t.Errorf("locksThread(rt %d, auto %d, nice %d) = %v, want %v", tc.o.RTPriority, tc.o.MaxAutoPriority, tc.o.Nice, got, tc.want)
		}
	}
}

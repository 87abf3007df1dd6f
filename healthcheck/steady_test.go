package healthcheck

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// raceEnabled is set in race builds (race_test.go).
var raceEnabled bool

// quietServer listens on loopback and serves each connection with raw system
// calls on one goroutine: resp written after the request's first read, or
// closed at once when resp is empty. It allocates nothing per connection, so
// the process's allocations are the checker's.
func quietServer(t *testing.T, resp string) netip.AddrPort {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 1024); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = unix.Shutdown(fd, unix.SHUT_RDWR) // accept returns
		<-done
		_ = unix.Close(fd)
	})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		out := []byte(resp)
		for {
			r, _, e := syscall.Syscall6(unix.SYS_ACCEPT4, uintptr(fd), 0, 0, unix.SOCK_CLOEXEC, 0, 0)
			if e == unix.EINTR || e == unix.ECONNABORTED {
				continue
			}
			if e != 0 {
				return
			}
			c := int(r)
			if len(out) > 0 {
				_, _ = unix.Read(c, buf) // the request comes in one segment
				_, _ = unix.Write(c, out)
			}
			_ = unix.Close(c)
		}
	}()
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*unix.SockaddrInet4).Port))
}

// TestRunnerSteadyStateAllocs: once running, the Runner's TCP_CHECK and
// HTTP_GET checks on the event loop allocate nothing (the loop's jobs and
// probes are reused and the due jobs appended into a kept array; before,
// ~2-3 allocations and ~540-900 bytes a check, garbage that made the heap
// grow to the collector's goal between cycles). Counted over the whole
// process (runtime.MemStats.Mallocs) across ~1,000 checks; the bound leaves
// room for the runtime's own.
func TestRunnerSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops sync.Pool items")
	}
	for _, kind := range []string{KindTCP, KindHTTP} {
		t.Run(kind, func(t *testing.T) {
			var c Checker
			var err error
			if kind == KindTCP {
				ap := quietServer(t, "")
				c, err = NewTCP(TCPOptions{Conn: Conn{ConnectIP: ap.Addr(), ConnectPort: ap.Port(), ConnectTimeout: 3 * time.Second}})
			} else {
				ap := quietServer(t, benchHTTPResp)
				c, err = NewHTTP(HTTPOptions{Conn: Conn{ConnectIP: ap.Addr(), ConnectPort: ap.Port(), ConnectTimeout: 3 * time.Second},
					URLs: []URL{{Path: "/"}}})
			}
			if err != nil {
				t.Fatal(err)
			}
			const n = 20
			checks := make([]Check, n)
			for i := range checks {
				checks[i] = Check{ID: fmt.Sprint("c", i), Checker: c, Timing: Timing{DelayLoop: 10 * time.Millisecond, Retry: 1, DelayBeforeRetry: 10 * time.Millisecond}}
			}
			s, err := NewScheduler(time.Now(), checks, SchedulerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var results, failed atomic.Int64
			r := NewRunner(s, RunnerOptions{OnResult: func(ev Event) {
				if !ev.Result.OK {
					failed.Add(1)
				}
				results.Add(1)
			}})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			defer func() { cancel(); <-done }()
			waitFor := func(k int64) {
				for deadline := time.Now().Add(30 * time.Second); results.Load() < k; time.Sleep(5 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("%d results in 30 s, want %d", results.Load(), k)
					}
				}
			}
			waitFor(10 * n) // warm up: slices grown, pools filled
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			r0 := results.Load()
			waitFor(r0 + 50*n)
			runtime.ReadMemStats(&m1)
			checked := results.Load() - r0
			if f := failed.Load(); f > 0 {
				t.Fatalf("%d checks failed", f)
			}
			per := float64(m1.Mallocs-m0.Mallocs) / float64(checked)
			bytes := float64(m1.TotalAlloc-m0.TotalAlloc) / float64(checked)
			t.Logf("%d checks: %.3f allocations, %.1f bytes a check", checked, per, bytes)
			if per > 0.05 || bytes > 64 {
				t.Errorf("%.3f allocations and %.1f bytes a check in the steady state, want ~0", per, bytes)
			}
		})
	}
}

// TestCheckerSizes: a TCP_CHECK and an HTTP_GET checker, one per check and
// kept for the daemon's life, stay in their size classes (144 and 384 bytes;
// 224 and 480 when each kept a 112-byte sockaddr_storage for its target).
func TestCheckerSizes(t *testing.T) {
	if n := unsafe.Sizeof(TCPChecker{}); n > 144 {
		t.Errorf("TCPChecker is %d bytes, want <= 144", n)
	}
	if n := unsafe.Sizeof(HTTPChecker{}); n > 384 {
		t.Errorf("HTTPChecker is %d bytes, want <= 384", n)
	}
}

// TestEntrySize: the Scheduler's state of a check stays in the 192-byte size
// class (240 when each entry held its own copy of the check's Timing).
func TestEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n > 192 {
		t.Errorf("entry is %d bytes, want <= 192", n)
	}
	s, err := NewScheduler(time.Now(), []Check{
		{ID: "a", Checker: &TCPChecker{}, Timing: DefaultTiming(KindTCP)},
		{ID: "b", Checker: &TCPChecker{}, Timing: DefaultTiming(KindTCP)},
		{ID: "c", Checker: &TCPChecker{}, Timing: DefaultTiming(KindHTTP)},
	}, SchedulerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a, b, c := s.entries["a"], s.entries["b"], s.entries["c"]; a.timing != b.timing || b.timing == c.timing || *c.timing != DefaultTiming(KindHTTP) {
		t.Errorf("timings: a %p b %p c %p (%+v): want a's shared by b, c's own", a.timing, b.timing, c.timing, *c.timing)
	}
}

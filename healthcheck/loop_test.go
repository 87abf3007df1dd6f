package healthcheck

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// rawServer serves every connection with serve (then closes it).
func rawServer(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return l.Addr().String()
}

// answer reads the request's head, then writes resp; keepOpen holds the
// connection open afterwards until the client closes it.
func answer(resp string, keepOpen bool) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, 4096)
		var got []byte
		for !strings.Contains(string(got), "\r\n\r\n") {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			got = append(got, buf[:n]...)
		}
		_, _ = io.WriteString(c, resp)
		if keepOpen {
			_, _ = io.Copy(io.Discard, c)
		}
	}
}

// runOnRunner runs c once through a Runner with the real clock (the event
// loop for TCP_CHECK and HTTP_GET) and returns its result.
func runOnRunner(t *testing.T, c Checker, timeout time.Duration) Result {
	t.Helper()
	s, err := NewScheduler(time.Now(), []Check{{ID: "c", Checker: c, Timing: Timing{DelayLoop: time.Hour, Timeout: timeout}}}, SchedulerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan Event, 1)
	r := NewRunner(s, RunnerOptions{OnResult: func(e Event) { got <- e }})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	var ev Event
	select {
	case ev = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no result")
	}
	r.mu.Lock()
	onLoop := r.loop != nil
	r.mu.Unlock()
	cancel()
	<-done
	if _, ok := c.(pollChecker); ok && c.(pollChecker).newProbe() != nil && !onLoop {
		t.Error("the check did not run on the event loop")
	}
	return ev.Result
}

// checkDirect runs c.Check as the goroutine path does, with the job timeout.
func checkDirect(c Checker, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeoutCause(context.Background(), timeout, ErrJobTimeout)
	defer cancel()
	res := c.Check(ctx)
	if errors.Is(context.Cause(ctx), ErrJobTimeout) && !res.OK {
		res.Reason = ReasonTimeout
	}
	return res
}

// The event loop's TCP_CHECK and HTTP_GET give the same results (reason and
// detail) as Check, the blocking path, for each way a check ends.
func TestEventLoopSameResults(t *testing.T) {
	body := strings.Repeat("0123456789abcdef", 20000) // 320 KB: many reads
	big := "HTTP/1.0 200 OK\r\nContent-Length: 320000\r\n\r\n" + body
	ok := rawServer(t, answer("HTTP/1.0 200 OK\r\n\r\nhello\n", false))
	keep := rawServer(t, answer("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n", true))
	bigAddr := rawServer(t, answer(big, false))
	status := rawServer(t, answer("HTTP/1.0 503 Busy\r\n\r\n", false))
	garbage := rawServer(t, answer("SMTP ready\r\n\r\n", false))
	short := rawServer(t, answer("HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nabc", false))
	silent := rawServer(t, answer("", false))
	hung := newHungServer(t).l.Addr().String()
	closed := closedPort(t)

	tcp := func(addr string, d time.Duration) Checker {
		c, err := NewTCP(TCPOptions{Conn: connTo(t, addr, d)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	httpc := func(addr string, d time.Duration, urls ...URL) Checker {
		c, err := NewHTTP(HTTPOptions{Conn: connTo(t, addr, d), URLs: urls})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	const sec = time.Second
	for _, tc := range []struct {
		name    string
		c       Checker
		timeout time.Duration // job timeout
		reason  string
	}{
		{"tcp ok", tcp(ok, sec), 2 * sec, ReasonOK},
		{"tcp refused", tcp(closed, sec), 2 * sec, ReasonRefused},
		{"http ok", httpc(ok, sec, URL{Path: "/", Digest: md5hex("hello\n"), Regex: "hel+o"}), 2 * sec, ReasonOK},
		{"http kept open", httpc(keep, sec, URL{Path: "/", Digest: md5hex("hello\n")}), 2 * sec, ReasonOK},
		{"http big body", httpc(bigAddr, sec, URL{Path: "/", Digest: md5hex(body)}), 2 * sec, ReasonOK},
		{"http digest mismatch", httpc(ok, sec, URL{Path: "/", Digest: md5hex("x")}), 2 * sec, ReasonDigest},
		{"http regex", httpc(ok, sec, URL{Path: "/", Regex: "hel+o", RegexNoMatch: true}), 2 * sec, ReasonRegex},
		{"http status", httpc(status, sec, URL{Path: "/"}), 2 * sec, ReasonStatus},
		{"http second url", httpc(ok, sec, URL{Path: "/a"}, URL{Path: "/b", StatusCodes: []StatusRange{{300, 399}}}), 3 * sec, ReasonStatus},
		{"http protocol", httpc(garbage, sec, URL{Path: "/"}), 2 * sec, ReasonProtocol},
		{"http no reply", httpc(silent, sec, URL{Path: "/"}), 2 * sec, ReasonNoReply},
		{"http short body", httpc(short, sec, URL{Path: "/", Digest: md5hex("abc")}), 2 * sec, ReasonError},
		{"http refused", httpc(closed, sec, URL{Path: "/"}), 2 * sec, ReasonRefused},
		{"http read timeout", httpc(hung, 100*time.Millisecond, URL{Path: "/"}), 2 * sec, ReasonTimeout},
		{"http job timeout", httpc(hung, sec, URL{Path: "/"}), 100 * time.Millisecond, ReasonTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := checkDirect(tc.c, tc.timeout)
			got := runOnRunner(t, tc.c, tc.timeout)
			if want.Reason != tc.reason {
				t.Fatalf("Check: %v, want reason %s", want, tc.reason)
			}
			t.Log(got)
			if got.OK != want.OK || got.Reason != want.Reason || got.Detail != want.Detail {
				t.Errorf("event loop: %v\nCheck:      %v", got, want)
			}
		})
	}
}

// When Run ends, checks in flight on the event loop are cut short and not
// recorded (as on the goroutine path), and Run can run again.
func TestEventLoopRunEnds(t *testing.T) {
	hung := newHungServer(t)
	c, err := NewHTTP(HTTPOptions{Conn: connTo(t, hung.l.Addr().String(), 10*time.Second), URLs: []URL{{Path: "/"}}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewScheduler(time.Now(), []Check{{ID: "c", Checker: c, Timing: Timing{DelayLoop: time.Hour}}}, SchedulerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(s, RunnerOptions{OnResult: func(e Event) { t.Errorf("result recorded: %v", e.Result) }})
	for range 2 {
		before := hung.count()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		start := time.Now()
		go func() { _ = r.Run(ctx); close(done) }()
		for hung.count() == before {
			time.Sleep(time.Millisecond)
		}
		r.mu.Lock()
		onLoop := r.loop != nil
		r.mu.Unlock()
		if !onLoop {
			t.Fatal("the check did not run on the event loop")
		}
		cancel()
		<-done
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Run took %v to end", d)
		}
		if st, _ := r.State("c"); st.HasRun {
			t.Fatalf("state %+v: the cut-short check was recorded", st)
		}
	}
}

// TestEventLoopWakesAtDeadlines: the loop sleeps until the deadline its tick
// returns and wakes once for it, never before it (the timerfd in its epoll
// set is its only clock: an expiry not consumed would make it spin, one not
// armed would make it sleep forever).
func TestEventLoopWakesAtDeadlines(t *testing.T) {
	const n = 5
	var ticks []time.Time // the now of each tick
	var dls []time.Time   // the deadline each tick returned
	wakes := -1           // the loop's wakes at the last tick
	ended := make(chan struct{})
	var l *evloop
	l, err := newEvloop(func(now time.Time) (time.Time, bool) {
		ticks = append(ticks, now)
		if len(dls) == n {
			if len(ticks) == n+1 {
				wakes = l.wakes
				close(ended)
			}
			return time.Time{}, false
		}
		dl := time.Now().Add(3 * time.Millisecond)
		dls = append(dls, dl)
		return dl, true
	}, func([]loopDone) {})
	if err != nil {
		t.Fatal(err)
	}
	runUntil(l, ended)
	for i, dl := range dls {
		if ticks[i+1].Before(dl) {
			t.Errorf("tick %d at %v, before its deadline %v", i+1, ticks[i+1].Format(time.StampMicro), dl.Format(time.StampMicro))
		}
	}
	if wakes != n {
		t.Errorf("%d wakes for %d deadlines, want one each", wakes, n)
	}
}

// TestEventLoopOneReadPerWake: a wake-up reads the epoll set once and
// finds its event there; the loop no longer tries the set before each wait
// (a read that found nothing, one per wake-up, before it ran inside one
// RawConn.Read).
func TestEventLoopOneReadPerWake(t *testing.T) {
	const n = 5
	dls := 0
	wakes, empty := -1, -1 // at the last tick
	ended := make(chan struct{})
	var l *evloop
	l, err := newEvloop(func(now time.Time) (time.Time, bool) {
		if dls == n {
			if wakes < 0 {
				wakes, empty = l.wakes, l.emptyReads
				close(ended)
			}
			return time.Time{}, false
		}
		dls++
		return time.Now().Add(2 * time.Millisecond), true
	}, func([]loopDone) {})
	if err != nil {
		t.Fatal(err)
	}
	runUntil(l, ended)
	if wakes != n {
		t.Fatalf("%d wakes for %d deadlines", wakes, n)
	}
	// The first read, before any wait, finds nothing.
	if empty > 1 {
		t.Errorf("%d reads of the epoll set found nothing in %d wakes, want at most the first", empty, wakes)
	}
}

// TestEventLoopArmsTimerfd: waiting for a deadline arms the loop's timerfd
// for it (the loop has no runtime timer: one firing wakes the runtime's
// sysmon thread and readies the loop on another thread).
func TestEventLoopArmsTimerfd(t *testing.T) {
	waiting := make(chan struct{})
	var l *evloop
	l, err := newEvloop(func(now time.Time) (time.Time, bool) {
		select {
		case <-waiting:
		default:
			close(waiting)
		}
		return now.Add(time.Hour), true
	}, func([]loopDone) {})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { l.run(); close(done) }()
	<-waiting
	var its unix.ItimerSpec
	for its.Value.Nano() == 0 { // until the loop armed it
		if err := unix.TimerfdGettime(l.tfd, &its); err != nil {
			t.Fatal(err)
		}
		runtime.Gosched()
	}
	l.stop()
	<-done
	if left := time.Duration(its.Value.Nano()); left <= 59*time.Minute || left > time.Hour {
		t.Errorf("timerfd expires in %v, want the tick's deadline in an hour", left)
	}
}

// runUntil runs l until ended is closed, then stops it and waits for run
// to return.
func runUntil(l *evloop, ended <-chan struct{}) {
	done := make(chan struct{})
	go func() { l.run(); close(done) }()
	<-ended
	l.stop()
	<-done
}

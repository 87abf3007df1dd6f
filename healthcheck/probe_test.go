package healthcheck

import (
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The HTTP probe's edge-triggered registration loses no input: a server that
// answers before the request is written is read as Check reads it, on the
// event loop as well as on the blocking path. Without httpProbe.pending the
// kept-open cases wait for the timeout. (A server closing before it reads
// the request is not compared: it resets the connection or not depending on
// whether the request arrived first, on either path.)
func TestEventLoopHTTPEarlyInput(t *testing.T) {
	early := func(resp string, after func(net.Conn)) func(net.Conn) {
		return func(c net.Conn) {
			_, _ = io.WriteString(c, resp)
			if after != nil {
				after(c)
			}
		}
	}
	keepOpen := func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n"
	for _, tc := range []struct {
		name   string
		serve  func(net.Conn)
		reason string
	}{
		{"answer kept open", early(resp, keepOpen), ReasonOK},
		{"answer then close", early(resp, nil), ReasonOK},
		{"partial kept open", early(resp[:20], keepOpen), ReasonTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := rawServer(t, tc.serve)
			c, err := NewHTTP(HTTPOptions{Conn: connTo(t, addr, 200*time.Millisecond), URLs: []URL{{Path: "/", Digest: md5hex("hello\n")}}})
			if err != nil {
				t.Fatal(err)
			}
			for range 3 { // timing varies: the answer may come before or after the write
				want := checkDirect(c, 2*time.Second)
				got := runOnRunner(t, c, 2*time.Second)
				if want.Reason != tc.reason {
					t.Fatalf("Check: %v, want reason %s", want, tc.reason)
				}
				if got.OK != want.OK || got.Reason != want.Reason || got.Detail != want.Detail {
					t.Fatalf("event loop: %v\nCheck:      %v", got, want)
				}
			}
		})
	}
}

// driveProbe runs p as the event loop does with one socket (ADD when fresh,
// MOD when the events change, counted in mods), calling before ahead of each
// wait; it returns the result and the steps waited for.
func driveProbe(t *testing.T, p probe, before func(pstep)) (res Result, steps []pstep, mods int) {
	t.Helper()
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(epfd)
	var cur uint32
	ev := make([]unix.EpollEvent, 1)
	for s := p.start(time.Now()); !s.done; {
		steps = append(steps, s)
		if len(steps) > 100 {
			t.Fatal("no end")
		}
		op := 0
		switch {
		case s.fresh:
			op = unix.EPOLL_CTL_ADD
		case s.events != cur:
			op = unix.EPOLL_CTL_MOD
			mods++
		}
		if op != 0 {
			if err := unix.EpollCtl(epfd, op, s.fd, &unix.EpollEvent{Events: s.events, Fd: int32(s.fd)}); err != nil {
				t.Fatal(err)
			}
		}
		cur = s.events
		if before != nil {
			before(s)
		}
		n, err := unix.EpollWait(epfd, ev, 2000)
		for err == unix.EINTR {
			n, err = unix.EpollWait(epfd, ev, 2000)
		}
		if err != nil || n != 1 {
			p.abort()
			t.Fatalf("epoll_wait at step %d (%+v): %d, %v", len(steps), s, n, err)
		}
		s = p.ready(time.Now(), ev[0].Events)
		if s.done {
			return s.res, steps, mods
		}
	}
	t.Fatal("done at start")
	return
}

// The answer is in the socket when epoll reports it writable (the harness
// waits for it with poll(2) first): that edge is the only one, so the probe
// reads after writing without waiting for another.
func TestHTTPProbeInputBeforeWrite(t *testing.T) {
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n"
	addr := rawServer(t, func(c net.Conn) {
		_, _ = io.WriteString(c, resp)
		_, _ = io.Copy(io.Discard, c)
	})
	c, err := NewHTTP(HTTPOptions{Conn: connTo(t, addr, 5*time.Second), URLs: []URL{{Path: "/", Digest: md5hex("hello\n")}}})
	if err != nil {
		t.Fatal(err)
	}
	res, steps, _ := driveProbe(t, c.newProbe(), func(s pstep) {
		if !s.fresh {
			return
		}
		pfd := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(pfd, 2000); n != 1 || err != nil {
			t.Fatalf("poll: %d, %v", n, err)
		}
	})
	if !res.OK {
		t.Fatalf("result %v", res)
	}
	if len(steps) != 1 {
		t.Errorf("%d waits, want 1: %+v", len(steps), steps)
	}
}

// An HTTP probe registers its socket once: every step waits for the same
// events, so the loop makes no EPOLL_CTL_MOD (one was made per check when
// it went from writable to readable).
func TestHTTPProbeOneRegistration(t *testing.T) {
	addr := rawServer(t, answer("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n", true))
	c, err := NewHTTP(HTTPOptions{Conn: connTo(t, addr, time.Second), URLs: []URL{{Path: "/"}, {Path: "/b"}}})
	if err != nil {
		t.Fatal(err)
	}
	res, steps, mods := driveProbe(t, c.newProbe(), nil)
	if !res.OK {
		t.Fatalf("result %v", res)
	}
	fresh := 0
	for _, s := range steps {
		if s.events != evHTTP {
			t.Errorf("step %+v waits for %#x, want %#x", s, s.events, evHTTP)
		}
		if s.fresh {
			fresh++
		}
	}
	if fresh != 2 {
		t.Errorf("%d fresh sockets, want 2 (one per URL)", fresh)
	}
	if mods != 0 {
		t.Errorf("%d EPOLL_CTL_MODs, want 0", mods)
	}
}

// Writable alone shows a connect completed (no second connect(2)); with an
// error or hang-up, or not writable, the probe asks connect(2) as before.
func TestConnectedBy(t *testing.T) {
	for _, tc := range []struct {
		events uint32
		want   bool
	}{
		{unix.EPOLLOUT, true},
		{unix.EPOLLOUT | unix.EPOLLIN | unix.EPOLLRDHUP, true}, // answered and half-closed: connected
		{unix.EPOLLOUT | unix.EPOLLERR, false},
		{unix.EPOLLOUT | unix.EPOLLHUP, false},
		{unix.EPOLLERR | unix.EPOLLHUP, false},
		{unix.EPOLLIN, false},
		{0, false},
	} {
		if got := connectedBy(tc.events); got != tc.want {
			t.Errorf("connectedBy(%#x) = %v, want %v", tc.events, got, tc.want)
		}
	}
}

// The loop's timerfd is edge-triggered: an expiry wakes the loop once and is
// left unread (no read(2) per expiry), without the loop spinning on it.
func TestEventLoopLeavesExpiryUnread(t *testing.T) {
	woke := make(chan int, 1)
	var l *evloop
	var dl time.Time
	ticks := 0
	l, err := newEvloop(func(now time.Time) (time.Time, bool) {
		ticks++
		switch ticks {
		case 1:
			dl = time.Now().Add(2 * time.Millisecond)
			return dl, true
		case 2:
			woke <- l.wakes
		}
		return time.Time{}, false
	}, func([]loopDone) {})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { l.run(); close(done) }()
	wakes := <-woke
	// The loop now waits with nothing to do; the expiry is still readable.
	pfd := []unix.PollFd{{Fd: int32(l.tfd), Events: unix.POLLIN}}
	n, perr := unix.Poll(pfd, 0)
	l.stop()
	<-done
	if wakes != 1 {
		t.Errorf("%d wakes for one deadline", wakes)
	}
	if perr != nil || n != 1 {
		t.Errorf("timerfd after its expiry: poll %d, %v; want it unread (readable)", n, perr)
	}
	if ticks > 3 { // start, the deadline, and the stop's unless it came before the wait
		t.Errorf("%d ticks, want at most 3 (no spin on the unread expiry)", ticks)
	}
}

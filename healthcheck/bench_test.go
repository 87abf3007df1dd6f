package healthcheck

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// acceptCloser listens on 127.0.0.1 and closes every accepted connection.
func acceptCloser(tb testing.TB) string {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().String()
}

func BenchmarkTCPCheck(b *testing.B) {
	c, err := NewTCP(TCPOptions{Conn: connTo(b, acceptCloser(b), time.Second)})
	if err != nil {
		b.Fatal(err)
	}
	benchCheck(b, c)
}

// benchCheck runs c once per iteration and fails on a failed check.
func benchCheck(b *testing.B, c Checker) {
	b.Helper()
	ctx := context.Background()
	if res := c.Check(ctx); !res.OK { // warm up, and fail early
		b.Fatal(res)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if res := c.Check(ctx); !res.OK {
			b.Fatal(res)
		}
	}
}

// httpServer answers every request with a short 200 and closes.
func httpServer(tb testing.TB, tlsOn bool) string {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	}))
	if tlsOn {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	tb.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func BenchmarkHTTPCheck(b *testing.B) {
	c, err := NewHTTP(HTTPOptions{Conn: connTo(b, httpServer(b, false), time.Second), URLs: []URL{{Path: "/"}}})
	if err != nil {
		b.Fatal(err)
	}
	benchCheck(b, c)
}

func BenchmarkHTTPCheckDigest(b *testing.B) {
	c, err := NewHTTP(HTTPOptions{Conn: connTo(b, httpServer(b, false), time.Second), URLs: []URL{{Path: "/", Digest: md5hex("ok\n")}}})
	if err != nil {
		b.Fatal(err)
	}
	benchCheck(b, c)
}

func BenchmarkHTTPSCheck(b *testing.B) {
	c, err := NewHTTP(HTTPOptions{Conn: connTo(b, httpServer(b, true), time.Second), SSL: true, URLs: []URL{{Path: "/"}}})
	if err != nil {
		b.Fatal(err)
	}
	benchCheck(b, c)
}

func BenchmarkUDPCheck(b *testing.B) {
	echo := udpServer(b, func(p []byte) []byte { return append([]byte(nil), p...) })
	c, err := NewUDP(UDPOptions{Conn: connTo(b, echo, time.Second), RequireReply: true})
	if err != nil {
		b.Fatal(err)
	}
	benchCheck(b, c)
}

func BenchmarkDNSCheck(b *testing.B) {
	c, err := NewDNS(DNSOptions{Conn: connTo(b, dnsServer(b, "udp4", "127.0.0.1:0"), time.Second), Type: "A", Name: "example.test"})
	if err != nil {
		b.Fatal(err)
	}
	benchCheck(b, c)
}

// BenchmarkPingCheck needs ICMP datagram sockets (net.ipv4.ping_group_range) or
// root; it is skipped without them.
func BenchmarkPingCheck(b *testing.B) {
	pc, _, err := listenICMP(true, "")
	if err != nil {
		b.Skip(err)
	}
	pc.Close()
	c, err := NewPing(PingOptions{Conn: Conn{ConnectIP: netip.MustParseAddr("127.0.0.1"), ConnectTimeout: time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	benchCheck(b, c)
}

func BenchmarkMiscCheck(b *testing.B) {
	c, err := NewMisc(MiscOptions{Argv: []string{"/bin/true"}, Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	benchCheck(b, c)
}

// smtpGreeter is an SMTP server that greets, accepts HELO and QUIT.
func smtpGreeter(tb testing.TB) string {
	return rawServer(tb, func(c net.Conn) {
		io.WriteString(c, "220 mx.test ESMTP\r\n")
		br := bufio.NewReader(c)
		if _, err := br.ReadString('\n'); err != nil {
			return
		}
		io.WriteString(c, "250 hello\r\n")
		if line, _ := br.ReadString('\n'); strings.HasPrefix(line, "QUIT") {
			io.WriteString(c, "221 bye\r\n")
		}
	})
}

func BenchmarkSMTPCheck(b *testing.B) {
	c, err := NewSMTP(SMTPOptions{Conn: connTo(b, smtpGreeter(b), time.Second), HeloName: "checker.test"})
	if err != nil {
		b.Fatal(err)
	}
	benchCheck(b, c)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func maxRSS() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss // KiB on Linux
}

// TestTCPChecksLoad runs 10,000 TCP checks per second (10,000 checks with a 1 s
// delay_loop, spread by warmup) against local listeners for 5 s through the real
// Runner, and reports CPU per 1,000 checks, peak RSS and lateness. Enable with
// LVSHA_BENCH=1. CPU and RSS include the in-process listeners.
func TestTCPChecksLoad(t *testing.T) {
	if os.Getenv("LVSHA_BENCH") != "1" {
		t.Skip("set LVSHA_BENCH=1 to run the load test")
	}
	const (
		nChecks   = 10000
		listeners = 20
		runFor    = 5 * time.Second
	)
	addrs := make([]string, listeners)
	for i := range addrs {
		addrs[i] = acceptCloser(t)
	}
	checks := make([]Check, nChecks)
	for i := range checks {
		c, err := NewTCP(TCPOptions{Conn: connTo(t, addrs[i%listeners], time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		checks[i] = Check{ID: fmt.Sprintf("rs%05d", i), Checker: c,
			Timing: Timing{DelayLoop: time.Second, Retry: 1, DelayBeforeRetry: time.Second, Warmup: time.Second}}
	}
	start := time.Now()
	s, err := NewScheduler(start, checks, SchedulerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	late := make([]time.Duration, 0, nChecks*6)
	var failed, transitions int
	var firstFail string
	r := NewRunner(s, RunnerOptions{Concurrency: 256,
		OnResult: func(e Event) {
			mu.Lock()
			late = append(late, e.Start.Sub(e.Job.Due))
			if !e.Result.OK {
				if failed == 0 {
					firstFail = e.Result.String()
				}
				failed++
			}
			mu.Unlock()
		},
		OnTransition: func(Transition) { mu.Lock(); transitions++; mu.Unlock() },
	})
	ctx, cancel := context.WithTimeout(context.Background(), runFor)
	defer cancel()
	cpu0 := cpuTime()
	_ = r.Run(ctx)
	cpu := cpuTime() - cpu0
	wall := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(late)
	pct := func(p float64) time.Duration {
		if len(late) == 0 {
			return 0
		}
		return late[min(len(late)-1, int(float64(len(late))*p))]
	}
	n := len(late)
	t.Logf("checks: %d in %v (%.0f/s), failed %d, transitions %d", n, wall.Round(time.Millisecond), float64(n)/wall.Seconds(), failed, transitions)
	t.Logf("CPU: %v total, %.3f CPU-seconds per 1,000 checks", cpu.Round(time.Millisecond), cpu.Seconds()/float64(n)*1000)
	t.Logf("peak RSS: %d MiB", maxRSS()/1024)
	t.Logf("lateness vs schedule: p50 %v, p99 %v, max %v", pct(0.50), pct(0.99), pct(1))
	if failed > 0 {
		t.Errorf("%d checks failed against healthy listeners; the first: %s", failed, firstFail)
	}
}

// BenchmarkLoopTCPCheck and BenchmarkLoopHTTPCheck run checks on the event
// loop, the Runner's path for TCP_CHECK and HTTP_GET: 64 at a time, so a
// figure includes the loop's share of waiting and delivering.
func BenchmarkLoopTCPCheck(b *testing.B) {
	c, err := NewTCP(TCPOptions{Conn: connTo(b, acceptCloser(b), time.Second)})
	if err != nil {
		b.Fatal(err)
	}
	benchLoop(b, c)
}

func BenchmarkLoopHTTPCheck(b *testing.B) {
	c, err := NewHTTP(HTTPOptions{Conn: connTo(b, httpServer(b, false), time.Second), URLs: []URL{{Path: "/"}}})
	if err != nil {
		b.Fatal(err)
	}
	benchLoop(b, c)
}

func benchLoop(b *testing.B, c pollChecker) {
	b.Helper()
	results := make(chan bool, 64)
	l, err := newEvloop(func(time.Time) (time.Time, bool) { return time.Time{}, false }, func(ds []loopDone) {
		for _, d := range ds {
			results <- d.res.OK
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { l.run(); close(done) }()
	defer func() { l.stop(); <-done }()
	batch := func(n int) {
		for range n {
			l.submit(&loopJob{p: c.newProbe(), fd: -1, index: -1})
		}
		for range n {
			if !<-results {
				b.Fatal("check failed")
			}
		}
	}
	batch(1) // warm up, and fail early
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n++
		if n == 64 {
			batch(n)
			n = 0
		}
	}
	batch(n)
}

// rawHTTPServer answers every connection with resp from one goroutine, with
// few allocations of its own, so that a benchmark's allocations are the
// checker's.
func rawHTTPServer(tb testing.TB, resp string) string {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Read(buf) // the request comes in one segment
			_, _ = io.WriteString(c, resp)
			c.Close()
		}
	}()
	return l.Addr().String()
}

// benchHTTPResp is a typical short answer (nginx's default headers).
const benchHTTPResp = "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Sun, 06 Dec 2026 07:00:00 GMT\r\n" +
	"Content-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"

// BenchmarkLoopHTTPCheckRaw and BenchmarkLoopHTTPCheckRawDigest are
// BenchmarkLoopHTTPCheck against a server of few allocations.
func BenchmarkLoopHTTPCheckRaw(b *testing.B) {
	c, err := NewHTTP(HTTPOptions{Conn: connTo(b, rawHTTPServer(b, benchHTTPResp), time.Second), URLs: []URL{{Path: "/"}}})
	if err != nil {
		b.Fatal(err)
	}
	benchLoop(b, c)
}

func BenchmarkLoopHTTPCheckRawDigest(b *testing.B) {
	c, err := NewHTTP(HTTPOptions{Conn: connTo(b, rawHTTPServer(b, benchHTTPResp), time.Second), URLs: []URL{{Path: "/", Digest: md5hex("ok\n")}}})
	if err != nil {
		b.Fatal(err)
	}
	benchLoop(b, c)
}

// Package healthcheck implements keepalived's real-server health checkers and the
// scheduler that runs them.
//
// Checkers (TCP_CHECK, HTTP_GET/SSL_GET, MISC_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK,
// SMTP_CHECK) implement [Checker]: one Check call is one probe bounded by the
// checker's own connect_timeout (or misc_timeout) and by the context. Each checker
// takes its own option struct; the daemon translates keepalived.conf into those
// options, and feeds scheduler transitions into IPVS. This package imports neither
// conf nor ipvs.
//
// [Scheduler] is the pure core: it keeps per-check state (up/down, retry counter,
// next due time) keyed by check ID and is driven with an explicit now: Due(now)
// hands out the jobs to run, Result(now, job, res) records an outcome and returns a
// [Transition] when the check's up/down state (or dynamic weight) changes, and
// NextDeadline tells when to wake up next. Its semantics follow keepalived: a
// failure while up is retried `retry` times, delay_before_retry apart, before the
// check is declared down; a success while down declares it up at once; alpha checks
// start down, others start up; warmup spreads first runs randomly over [0, warmup).
//
// [Runner] is the thin I/O shell: it runs due jobs on a bounded set of goroutines
// with an injected clock, gives each job its own timeout so that a hung target costs
// one timeout and never delays other checks, and delivers transitions through a
// callback. With the real clock, TCP_CHECK and HTTP_GET jobs run instead on
// one event loop, as keepalived's checker thread does: one goroutine owns an
// epoll set of their non-blocking sockets and a heap of their deadlines, times
// its next deadline with a timerfd in that epoll set (no runtime timer, so no
// sysmon or spare-thread wake-up per wait), and delivers results in batches
// (loop.go, probe.go). HTTP_GET's response head is parsed in place and its body
// streamed into the digest (httpparse.go; net/http only for chunked or unusual
// heads). Once running, a check on the loop allocates nothing: its job and
// probe are reused (sync.Pool) and the Runner takes the Scheduler's due jobs
// into a kept array (Scheduler.AppendDue), so the heap does not grow towards
// the collector's goal between cycles (TestRunnerSteadyStateAllocs). SSL_GET
// and the other checkers keep a goroutine per running check.
//
// TCP_CHECK and HTTP_GET/SSL_GET connect the way keepalived does, without
// net.Dialer: a raw non-blocking socket, one connect, a wait for writability on
// the runtime poller (through os.File), raw reads and writes, and the check's
// context timer as the only deadline. For a check to a literal address the
// dialer's resolver path, dial racing, extra getsockname/getpeername/setsockopt
// calls and their allocations were most of the user-space cost (see
// integration/bench/healthcheck.sh, which measures a check's CPU and memory side
// by side with keepalived's checker).
//
// [Genhash] is the library side of keepalived's genhash tool: it fetches a URL
// and returns the MD5 digest of the body as HTTP_GET's `digest` expects.
package healthcheck

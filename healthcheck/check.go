package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Checker is one configured health check of one real server.
type Checker interface {
	// Check runs one probe. It returns when the probe has an outcome, when the
	// checker's own timeout expires, or when ctx ends, whichever is first.
	Check(ctx context.Context) Result
}

// Definer is implemented by checkers whose definition (their option struct) can be
// compared to decide whether a reloaded check is unchanged. Checkers that do not
// implement it are compared with reflect.DeepEqual.
type Definer interface {
	Definition() any
}

// Budgeter is implemented by checkers that know the longest a Check call should
// take (e.g. connect_timeout times the number of URLs). The Runner uses it as the
// job timeout when a Check has no explicit Timeout.
type Budgeter interface {
	Budget() time.Duration
}

// Reasons are short, stable labels for Result.Reason (usable as metric labels).
const (
	ReasonOK         = "ok"
	ReasonTimeout    = "timeout" // connect_timeout / misc_timeout / job timeout expired
	ReasonRefused    = "refused" // TCP RST or ICMP port unreachable
	ReasonUnreach    = "unreachable"
	ReasonReset      = "reset"     // connection reset after it was established
	ReasonError      = "error"     // any other local or network error
	ReasonCanceled   = "canceled"  // the caller's context ended (not a timeout)
	ReasonStatus     = "status"    // unexpected HTTP status or SMTP reply code
	ReasonDigest     = "digest"    // HTTP body MD5 mismatch
	ReasonRegex      = "regex"     // HTTP body regex (non-)match
	ReasonProtocol   = "protocol"  // malformed reply
	ReasonExitCode   = "exit_code" // MISC_CHECK script exit status
	ReasonSignal     = "signal"    // MISC_CHECK script killed by a signal
	ReasonNoReply    = "no_reply"  // UDP/DNS/PING: nothing came back
	ReasonNoAnswer   = "no_answer" // DNS reply without an answer of the queried type
	ReasonRcode      = "rcode"     // DNS reply with an error RCODE
	ReasonReply      = "reply"     // UDP reply did not match require_reply / lengths
	ReasonTLS        = "tls"       // TLS handshake or verification failed
	ReasonPermission = "permission"
)

// Result is the outcome of one Check.
type Result struct {
	OK bool
	// Reason is a short stable label (Reason* constants); ReasonOK when OK.
	Reason string
	// Detail is for humans: "status 503", "connect: connection refused", ...
	Detail string
	// Weight is set by MISC_CHECK with misc_dynamic when the exit status (2..255)
	// asks for a specific weight (exit status - 2). Nil means "configured weight".
	Weight *int
	// Duration is how long the probe took.
	Duration time.Duration
}

func (r Result) String() string {
	if r.Detail == "" {
		return r.Reason
	}
	return r.Reason + ": " + r.Detail
}

func okResult(start time.Time) Result {
	return Result{OK: true, Reason: ReasonOK, Duration: time.Since(start)}
}

func failResult(start time.Time, reason, format string, args ...any) Result {
	return Result{Reason: reason, Detail: fmt.Sprintf(format, args...), Duration: time.Since(start)}
}

// errResult classifies err (seen while doing what) into a failed Result.
func errResult(ctx context.Context, start time.Time, what string, err error) Result {
	return failResult(start, classify(ctx, err), "%s: %v", what, err)
}

// classify maps an error to a Reason.
func classify(ctx context.Context, err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(context.Cause(ctx), ErrJobTimeout):
		return ReasonTimeout
	case errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return ReasonRefused
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return ReasonUnreach
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ReasonReset
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return ReasonPermission
	case errors.Is(err, context.Canceled):
		return ReasonCanceled
	}
	if ctx.Err() != nil {
		return ReasonCanceled
	}
	return ReasonError
}

// ErrJobTimeout is the context cause the Runner uses when a job's timeout expires.
var ErrJobTimeout = errors.New("healthcheck: check timed out")

// Conn holds keepalived's generic connection options of a checker.
type Conn struct {
	// ConnectIP and ConnectPort are the target (connect_ip / connect_port; the daemon
	// defaults them to the real server's address and port).
	ConnectIP   netip.Addr
	ConnectPort uint16
	// BindTo and BindPort are the source (bindto / bind_port); zero means any.
	BindTo   netip.Addr
	BindPort uint16
	// BindIf is bind_if: the interface to bind to (needed for IPv6 link-local).
	BindIf string
	// Fwmark marks outgoing checker packets (SO_MARK); 0 means none.
	Fwmark uint32
	// ConnectTimeout bounds one probe (connect_timeout); 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
}

// DefaultConnectTimeout is keepalived's default connect_timeout.
const DefaultConnectTimeout = 5 * time.Second

func (c Conn) timeout() time.Duration {
	if c.ConnectTimeout > 0 {
		return c.ConnectTimeout
	}
	return DefaultConnectTimeout
}

func (c Conn) validate() error {
	if !c.ConnectIP.IsValid() {
		return errors.New("connect_ip: no address")
	}
	if c.BindTo.IsValid() && c.BindTo.Unmap().Is4() != c.ConnectIP.Unmap().Is4() {
		return fmt.Errorf("bindto %v: address family differs from connect_ip %v", c.BindTo, c.ConnectIP)
	}
	return nil
}

// target is host:port of the connection target.
func (c Conn) target() string {
	ip := c.ConnectIP
	if c.BindIf != "" && ip.Is6() && ip.IsLinkLocalUnicast() && ip.Zone() == "" {
		ip = ip.WithZone(c.BindIf)
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(int(c.ConnectPort)))
}

func (c Conn) network(base string) string {
	if c.ConnectIP.Unmap().Is4() {
		return base + "4"
	}
	return base + "6"
}

// dialer returns a net.Dialer honouring bindto, bind_port, bind_if and fwmark.
func (c Conn) dialer(udp bool) *net.Dialer {
	// No TCP keepalive: a check's connection lives for one probe, and Go's
	// default keepalive setup costs several setsockopt calls per connect
	// (about a quarter of a TCP check's CPU in the load test).
	d := &net.Dialer{KeepAlive: -1}
	if c.BindTo.IsValid() || c.BindPort != 0 {
		var ip net.IP
		if c.BindTo.IsValid() {
			ip = c.BindTo.AsSlice()
		}
		if udp {
			d.LocalAddr = &net.UDPAddr{IP: ip, Port: int(c.BindPort), Zone: c.BindTo.Zone()}
		} else {
			d.LocalAddr = &net.TCPAddr{IP: ip, Port: int(c.BindPort), Zone: c.BindTo.Zone()}
		}
	}
	if c.BindIf != "" || c.Fwmark != 0 || c.BindPort != 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				if c.BindPort != 0 {
					_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
				}
				if c.BindIf != "" {
					if e := unix.BindToDevice(int(fd), c.BindIf); e != nil {
						serr = fmt.Errorf("bind_if %s: %w", c.BindIf, e)
						return
					}
				}
				if c.Fwmark != 0 {
					if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, int(c.Fwmark)); e != nil {
						serr = fmt.Errorf("fwmark %d: %w", c.Fwmark, e)
					}
				}
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	return d
}

// withTimeout bounds ctx by d. When ctx already ends no later (the Runner
// gives every job its checker's budget), ctx is returned as is: a second
// context and timer per check would change nothing but the cost.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && !dl.After(time.Now().Add(d)) {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// bindConn makes blocked reads/writes on conn return when ctx ends (deadline or
// cancellation). The returned stop function must be called when done. It uses
// ctx's own timer: a connection deadline as well would be a second timer per
// check (two, read and write) for the same instant.
func bindConn(ctx context.Context, conn net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
}

// ioErr reports err, or the context's error if ctx ended (the deadline we forced
// onto the connection is then the symptom, not the cause).
func ioErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(err, c) {
			return fmt.Errorf("%w (%v)", c, err)
		}
	}
	return err
}

package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
	"unsafe"

	"github.com/lvs-ha/lvs-ha/internal/rawsys"
	"golang.org/x/sys/unix"
)

// The event loop's probes for TCP_CHECK and HTTP_GET (see loop.go). They make
// the same system calls as the blocking path (dialTCP, sockConn) and build
// their results with the same functions, so results, reasons and details are
// the same.

var (
	_ pollChecker = (*TCPChecker)(nil)
	_ pollChecker = (*HTTPChecker)(nil)
)

const (
	evIn  = unix.EPOLLIN | unix.EPOLLRDHUP
	evOut = unix.EPOLLOUT
	// evHTTP is an HTTP probe's registration for its socket's whole life:
	// edge-triggered, so one registration serves the connect, the request's
	// write and the response's read (a level-triggered one was an
	// EPOLL_CTL_MOD per check from writable to readable). Edges are not
	// lost: a write or read goes on until EAGAIN (or the end), and input
	// reported while connecting or writing is read right after the write
	// (httpProbe.pending).
	evHTTP = evIn | evOut | unix.EPOLLET
	// evGone are the events of a socket with an error or closed both ways.
	evGone = unix.EPOLLERR | unix.EPOLLHUP
)

// connectedBy tells whether epoll's events show a connect in progress
// completed: a TCP socket polls writable only once established (tcp_poll
// reports nothing in SYN_SENT), so writable without an error or hang-up is
// what a second connect(2) would confirm with 0 or EISCONN, and that system
// call is saved. Anything else is probed with connectState, as before.
func connectedBy(events uint32) bool {
	return events&evOut != 0 && events&evGone == 0
}

// tcpProbes and httpProbes are the probes given back (probe.free).
var (
	tcpProbes  = sync.Pool{New: func() any { return new(tcpProbe) }}
	httpProbes = sync.Pool{New: func() any { return new(httpProbe) }}
)

func (c *TCPChecker) newProbe() probe {
	p := tcpProbes.Get().(*tcpProbe)
	*p = tcpProbe{c: &c.opts.Conn, t: &c.target, fd: -1}
	return p
}

type tcpProbe struct {
	c        *Conn
	t        *rawTarget
	t0       time.Time
	deadline time.Time
	fd       int
	rsa      unsafe.Pointer
	rlen     uint32
}

func (p *tcpProbe) start(now time.Time) pstep {
	p.t0 = time.Now()
	fd, rsa, rlen, done, err := p.c.startConnect(false, p.t)
	if err != nil {
		return doneStep(errResult(context.Background(), p.t0, "connect", err))
	}
	if done {
		rawClose(fd)
		return doneStep(okResult(p.t0))
	}
	p.fd, p.rsa, p.rlen, p.deadline = fd, rsa, rlen, now.Add(p.c.timeout())
	return pstep{fd: fd, events: evOut, fresh: true, deadline: p.deadline}
}

func (p *tcpProbe) ready(_ time.Time, events uint32) pstep {
	if connectedBy(events) {
		p.abort()
		return doneStep(okResult(p.t0))
	}
	ok, err := connectState(p.fd, p.rsa, p.rlen)
	if !ok && err == nil {
		return pstep{fd: p.fd, events: evOut, deadline: p.deadline}
	}
	p.abort()
	if err != nil {
		return doneStep(errResult(context.Background(), p.t0, "connect", p.c.opErr(err)))
	}
	return doneStep(okResult(p.t0))
}

func (p *tcpProbe) expire(_ time.Time, jobTimeout bool) pstep {
	p.abort()
	ctx := expiredCtx(jobTimeout)
	return doneStep(errResult(ctx, p.t0, "connect", ioErr(ctx, p.c.opErr(ctx.Err()))))
}

func (p *tcpProbe) abort() {
	if p.fd >= 0 {
		rawClose(p.fd)
		p.fd = -1
	}
}

func (p *tcpProbe) free() {
	p.abort()
	*p = tcpProbe{}
	tcpProbes.Put(p)
}

func (c *HTTPChecker) newProbe() probe {
	if c.tls != nil {
		return nil // SSL_GET: crypto/tls wants a blocking net.Conn
	}
	p := httpProbes.Get().(*httpProbe)
	*p = httpProbe{c: c, fd: -1}
	return p
}

// respBufs hold responses being read by the loop's HTTP probes.
var respBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// errNeedMore is bufSrc's error when the response read so far is incomplete.
var errNeedMore = errors.New("healthcheck: response incomplete")

// bufSrc reads buffered bytes, then returns err (io.EOF at the end of the
// response, the read error, or errNeedMore).
type bufSrc struct {
	b   []byte
	err error
	// more is set when errNeedMore was returned: whatever the reader made of
	// the bytes so far may change with more (bufio's ReadLine takes a partial
	// line for a line), so only a result that did not need more stands.
	more bool
}

func (s *bufSrc) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		s.more = s.err == errNeedMore
		return 0, s.err
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

const (
	httpConnecting = iota
	httpWriting
	httpReading
)

type httpProbe struct {
	c     *HTTPChecker
	t0    time.Time
	i     int // URL
	state int
	fd    int
	fresh bool
	// pending is set when epoll reported input (or an error or hang-up)
	// before the response's read began: with the edge-triggered
	// registration no further edge may come for it, so it is read at once.
	// (Next to fresh: the struct stays in its 448-byte size class.)
	pending  bool
	rsa      unsafe.Pointer
	rlen     uint32
	wrote    int
	req      fetchReq // URL i's, for rr
	rr       respReader
	deadline time.Time
}

func (p *httpProbe) start(now time.Time) pstep {
	p.t0 = time.Now()
	return p.connect(now)
}

// connect starts URL p.i's fetch.
func (p *httpProbe) connect(now time.Time) pstep {
	p.deadline = now.Add(p.c.opts.timeout())
	fd, rsa, rlen, done, err := p.c.opts.startConnect(false, &p.c.target)
	if err != nil {
		return p.fetched(fetchResp{}, fmt.Errorf("connect: %w", err), context.Background())
	}
	p.fd, p.rsa, p.rlen, p.fresh, p.wrote, p.pending = fd, rsa, rlen, true, 0, false
	if !done {
		p.state = httpConnecting
		return p.wait()
	}
	p.state = httpWriting
	return p.write()
}

// wait waits for the socket's next edge (see evHTTP).
func (p *httpProbe) wait() pstep {
	s := pstep{fd: p.fd, events: evHTTP, fresh: p.fresh, deadline: p.deadline}
	p.fresh = false
	return s
}

func (p *httpProbe) ready(_ time.Time, events uint32) pstep {
	if p.state != httpReading && events&(evIn|evGone) != 0 {
		p.pending = true
	}
	switch p.state {
	case httpConnecting:
		if !connectedBy(events) {
			ok, err := connectState(p.fd, p.rsa, p.rlen)
			if err != nil {
				return p.fetched(fetchResp{}, fmt.Errorf("connect: %w", p.c.opts.opErr(err)), context.Background())
			}
			if !ok {
				return p.wait()
			}
		}
		p.state = httpWriting
		return p.write()
	case httpWriting:
		return p.write()
	}
	return p.read()
}

func (p *httpProbe) write() pstep {
	req := p.c.reqs[p.i]
	for p.wrote < len(req) {
		n, e := rawsys.Write(uintptr(p.fd), req[p.wrote:])
		switch e {
		case 0:
			p.wrote += n
			continue
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return p.wait()
		}
		return p.fetched(fetchResp{}, fmt.Errorf("send request: %w", sockErr("write", e)), context.Background())
	}
	p.state = httpReading
	p.req = p.c.fetchReq(p.i)
	p.rr.reset(&p.req)
	if p.pending {
		return p.read()
	}
	return p.wait()
}

func (p *httpProbe) read() pstep {
	ctx := context.Background()
	for {
		n, e := rawsys.Read(uintptr(p.fd), p.rr.space())
		switch {
		case e == unix.EINTR:
			continue
		case e == unix.EAGAIN:
			return p.wait()
		case e != 0:
			return p.end(sockErr("read", e), ctx)
		case n == 0:
			return p.end(io.EOF, ctx)
		}
		if resp, err, done := p.rr.advance(n, ctx); done {
			return p.fetched(resp, err, ctx)
		}
		// Read on: a short response is likely complete, a long one streams.
	}
}

// end finishes the response with the read's error.
func (p *httpProbe) end(final error, ctx context.Context) pstep {
	resp, err := p.rr.end(final, ctx)
	return p.fetched(resp, err, ctx)
}

// fetched ends URL p.i's fetch: the check fails, or goes on with the next URL
// or succeeds.
func (p *httpProbe) fetched(resp fetchResp, err error, ctx context.Context) pstep {
	p.closeFd()
	if res, failed := p.c.judge(ctx, p.t0, p.i, resp, err); failed {
		p.release()
		return doneStep(res)
	}
	p.i++
	if p.i == len(p.c.opts.URLs) {
		p.release()
		return doneStep(okResult(p.t0))
	}
	return p.connect(time.Now())
}

func (p *httpProbe) expire(_ time.Time, jobTimeout bool) pstep {
	ctx := expiredCtx(jobTimeout)
	switch p.state {
	case httpConnecting:
		return p.fetched(fetchResp{}, fmt.Errorf("connect: %w", ioErr(ctx, p.c.opts.opErr(ctx.Err()))), ctx)
	case httpWriting:
		return p.fetched(fetchResp{}, fmt.Errorf("send request: %w", ioErr(ctx, sockErr("write", os.ErrDeadlineExceeded))), ctx)
	}
	return p.end(sockErr("read", os.ErrDeadlineExceeded), ctx)
}

func (p *httpProbe) closeFd() {
	if p.fd >= 0 {
		rawClose(p.fd)
		p.fd = -1
	}
}

func (p *httpProbe) release() { p.rr.release() }

func (p *httpProbe) abort() {
	p.closeFd()
	p.release()
}

func (p *httpProbe) free() {
	p.abort()
	*p = httpProbe{}
	httpProbes.Put(p)
}

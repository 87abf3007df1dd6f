package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"github.com/lvs-ha/lvs-ha/internal/rawsys"
	"golang.org/x/sys/unix"
)

// dialTCP connects to c's target the way keepalived does: one non-blocking
// socket, connect, wait for writability on the runtime poller, done. It
// replaces net.Dialer for the TCP checkers because a check is one connection to
// a literal address: the dialer's resolver path, dial racing, address
// conversions, per-connection setsockopt/getsockname/getpeername calls and
// their allocations were most of a TCP_CHECK's user-space cost. Errors read as
// net.Dialer's ("dial tcp4 10.0.0.1:80: connect: connection refused") and wrap
// the same errnos, so classify gives the same reasons.
//
// noDelay sets TCP_NODELAY as net.Dialer does (TLS handshakes need it: their
// small writes would wait on delayed ACKs); a bare connect does not need it.
func (c Conn) dialTCP(ctx context.Context, noDelay bool) (*sockConn, error) {
	if err := ctx.Err(); err != nil {
		return nil, c.opErr(err)
	}
	fd, rsa, rlen, done, err := c.startConnect(noDelay, nil)
	if err != nil {
		return nil, err
	}
	if done {
		return &sockConn{f: os.NewFile(uintptr(fd), "tcp"), c: c}, nil
	}
	// os.NewFile puts the non-blocking socket on the runtime poller.
	sc := &sockConn{f: os.NewFile(uintptr(fd), "tcp"), c: c}
	if err := sc.waitConnected(ctx, rsa, rlen); err != nil {
		_ = sc.Close()
		return nil, c.opErr(err)
	}
	return sc, nil
}

// rawTarget is a Conn's target in the kernel's sockaddr layout, built once
// when a checker is made so that the event loop's connects allocate nothing
// for it (building it per check took two allocations: the unix.Sockaddr and
// its raw form). rlen 0 means not kept: a target whose zone is an interface
// name is resolved at every connect, as before, so a re-created interface's
// new index is seen; so is a target sockaddr refuses (its error is the
// connect's).
//
// It holds the sockaddr_in or sockaddr_in6 only (28 bytes, not the 112 of a
// sockaddr_storage): one is kept per TCP_CHECK and HTTP_GET, so at 10,000
// checks that is 0.8 MB less live heap, which the collector doubles.
type rawTarget struct {
	rsa  unix.RawSockaddrInet6 // or a RawSockaddrInet4 at its start (rlen)
	rlen uint32
}

// keepTarget builds c's rawTarget.
func (c Conn) keepTarget() rawTarget {
	var t rawTarget
	if z := c.targetIP().Zone(); z != "" {
		if _, err := strconv.ParseUint(z, 10, 32); err != nil {
			return t
		}
	}
	sa, _, err := c.sockaddr(c.ConnectIP, c.ConnectPort, true)
	if err != nil {
		return t
	}
	rsa, rlen := rawSockaddr(sa)
	if rlen > unix.SizeofSockaddrInet6 {
		return t
	}
	t.rsa, t.rlen = *(*unix.RawSockaddrInet6)(unsafe.Pointer(rsa)), rlen
	return t
}

// startConnect opens a non-blocking socket to c's target and starts connecting:
// done reports a connection already established; otherwise it is in progress
// (wait for writability, then probe with rawConnect). Errors are c.opErr's.
// t, when not nil, is c's kept target (keepTarget), used when it holds one.
// rsa points to the sockaddr, rlen bytes of it, for rawConnect.
func (c Conn) startConnect(noDelay bool, t *rawTarget) (fd int, rsa unsafe.Pointer, rlen uint32, done bool, err error) {
	var family int
	if t != nil && t.rlen != 0 {
		rsa, rlen, family = unsafe.Pointer(&t.rsa), t.rlen, int(t.rsa.Family)
	} else {
		var sa unix.Sockaddr
		sa, family, err = c.sockaddr(c.ConnectIP, c.ConnectPort, true)
		if err != nil {
			return -1, nil, 0, false, c.opErr(err)
		}
		var raw *unix.RawSockaddrAny
		raw, rlen = rawSockaddr(sa)
		rsa = unsafe.Pointer(raw)
	}
	fd, err = rawSocket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	if err != nil {
		return -1, nil, 0, false, c.opErr(os.NewSyscallError("socket", err))
	}
	if noDelay {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	if err := c.prepare(fd); err != nil {
		rawClose(fd)
		return -1, nil, 0, false, c.opErr(err)
	}
	switch e := rawConnect(fd, rsa, rlen); e {
	case nil, unix.EISCONN:
		return fd, rsa, rlen, true, nil
	case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
		return fd, rsa, rlen, false, nil
	default:
		rawClose(fd)
		return -1, nil, 0, false, c.opErr(os.NewSyscallError("connect", e))
	}
}

// connectState probes a connect in progress: connected (true, nil), still in
// progress (false, nil) or failed (the connection's error).
func connectState(fd int, rsa unsafe.Pointer, rlen uint32) (bool, error) {
	switch e := rawConnect(fd, rsa, rlen); e {
	case nil, unix.EISCONN:
		return true, nil
	case unix.EALREADY, unix.EINPROGRESS, unix.EINTR:
		return false, nil
	default:
		return false, os.NewSyscallError("connect", e)
	}
}

// waitConnected waits until the connect in progress completes, fails, or ctx
// ends. Each probe is a second connect(2): 0 or EISCONN means connected,
// EALREADY still in progress, anything else is the connection's error (Linux
// reports a failed non-blocking connect that way). Probing inside RawConn.Write
// also covers a writability event that arrived before the wait began.
func (sc *sockConn) waitConnected(ctx context.Context, rsa unsafe.Pointer, rlen uint32) error {
	rc, err := sc.raw()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = sc.f.SetWriteDeadline(time.Unix(1, 0)) })
	var cerr error
	werr := rc.Write(func(fd uintptr) bool {
		switch e := rawConnect(int(fd), rsa, rlen); e {
		case nil, unix.EISCONN:
			cerr = nil
			return true
		case unix.EALREADY, unix.EINPROGRESS, unix.EINTR:
			return false
		default:
			cerr = os.NewSyscallError("connect", e)
			return true
		}
	})
	stop()
	if werr != nil {
		if ce := ctx.Err(); ce != nil {
			return ce
		}
		if errors.Is(werr, os.ErrDeadlineExceeded) {
			return context.DeadlineExceeded
		}
		return werr
	}
	return cerr
}

func (c Conn) opErr(err error) error {
	return &net.OpError{Op: "dial", Net: c.network("tcp"), Addr: c.tcpAddr(), Err: err}
}

func (c Conn) tcpAddr() *net.TCPAddr {
	ip := c.targetIP()
	return &net.TCPAddr{IP: ip.AsSlice(), Port: int(c.ConnectPort), Zone: ip.Zone()}
}

// targetIP is ConnectIP with bind_if as the zone of a link-local IPv6 target.
func (c Conn) targetIP() netip.Addr {
	ip := c.ConnectIP
	if ip.Is4In6() {
		return ip.Unmap()
	}
	if c.BindIf != "" && ip.Is6() && ip.IsLinkLocalUnicast() && ip.Zone() == "" {
		ip = ip.WithZone(c.BindIf)
	}
	return ip
}

// sockaddr converts ip:port (ConnectIP's family decides) to a Sockaddr.
func (c Conn) sockaddr(ip netip.Addr, port uint16, target bool) (unix.Sockaddr, int, error) {
	if c.ConnectIP.Unmap().Is4() {
		if ip.IsValid() && !ip.Unmap().Is4() {
			return nil, 0, fmt.Errorf("address %v: not IPv4", ip)
		}
		sa := &unix.SockaddrInet4{Port: int(port)}
		if ip.IsValid() {
			sa.Addr = ip.Unmap().As4()
		}
		return sa, unix.AF_INET, nil
	}
	if target {
		ip = c.targetIP()
	}
	sa := &unix.SockaddrInet6{Port: int(port)}
	if ip.IsValid() {
		sa.Addr = ip.As16()
		if z := ip.Zone(); z != "" {
			id, err := zoneIndex(z)
			if err != nil {
				return nil, 0, err
			}
			sa.ZoneId = id
		}
	}
	return sa, unix.AF_INET6, nil
}

func zoneIndex(z string) (uint32, error) {
	if n, err := strconv.ParseUint(z, 10, 32); err == nil {
		return uint32(n), nil
	}
	ifi, err := net.InterfaceByName(z)
	if err != nil {
		return 0, fmt.Errorf("zone %s: %w", z, err)
	}
	return uint32(ifi.Index), nil
}

// prepare applies bind_port (SO_REUSEADDR), bind_if, fwmark and bindto/bind_port
// to a new socket, as Conn.dialer does for net.Dialer.
func (c Conn) prepare(fd int) error {
	if c.BindPort != 0 {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	}
	if c.BindIf != "" {
		if e := unix.BindToDevice(fd, c.BindIf); e != nil {
			return fmt.Errorf("bind_if %s: %w", c.BindIf, e)
		}
	}
	if c.Fwmark != 0 {
		if e := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(c.Fwmark)); e != nil {
			return fmt.Errorf("fwmark %d: %w", c.Fwmark, e)
		}
	}
	if c.BindTo.IsValid() || c.BindPort != 0 {
		sa, _, err := c.sockaddr(c.BindTo, c.BindPort, false)
		if err != nil {
			return err
		}
		if e := unix.Bind(fd, sa); e != nil {
			return os.NewSyscallError("bind", e)
		}
	}
	return nil
}

// rawSockaddr is sa in the kernel's layout, for rawConnect.
func rawSockaddr(sa unix.Sockaddr) (*unix.RawSockaddrAny, uint32) {
	var rsa unix.RawSockaddrAny
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		r := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		r.Family = unix.AF_INET
		p := (*[2]byte)(unsafe.Pointer(&r.Port))
		p[0], p[1] = byte(a.Port>>8), byte(a.Port)
		r.Addr = a.Addr
		return &rsa, unix.SizeofSockaddrInet4
	case *unix.SockaddrInet6:
		r := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		r.Family = unix.AF_INET6
		p := (*[2]byte)(unsafe.Pointer(&r.Port))
		p[0], p[1] = byte(a.Port>>8), byte(a.Port)
		r.Addr = a.Addr
		r.Scope_id = a.ZoneId
		return &rsa, unix.SizeofSockaddrInet6
	}
	panic("healthcheck: unexpected sockaddr type")
}

// The socket calls below are raw system calls: on a non-blocking socket they
// never block, and a raw call skips the scheduler's syscall bookkeeping, which
// wakes the runtime's sysmon thread whenever it sleeps (that is, at every
// check of a mostly idle daemon: about a tenth of a check's CPU).

func rawConnect(fd int, rsa unsafe.Pointer, n uint32) error {
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(rsa), uintptr(n))
	if e != 0 {
		return e
	}
	return nil
}

func rawSocket(family, typ int) (int, error) {
	fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(family), uintptr(typ), 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// rawClose closes a socket without lingering (no SO_LINGER), which does
// not block.
func rawClose(fd int) {
	_, _, _ = unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

// rawEpollCtl is epoll_ctl, which does not block.
func rawEpollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// sockConn is a connected TCP socket on the runtime poller (an *os.File),
// usable as a net.Conn (HTTP_GET, SSL_GET). Reads and writes are raw
// system calls that wait on the poller for readiness, honouring deadlines.
type sockConn struct {
	f  *os.File
	c  Conn
	rc syscall.RawConn
}

var _ net.Conn = (*sockConn)(nil)

func (s *sockConn) raw() (syscall.RawConn, error) {
	if s.rc == nil {
		rc, err := s.f.SyscallConn()
		if err != nil {
			return nil, err
		}
		s.rc = rc
	}
	return s.rc, nil
}

func (s *sockConn) Read(p []byte) (int, error) {
	rc, err := s.raw()
	if err != nil {
		return 0, err
	}
	var n int
	var e unix.Errno
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, e = rawsys.Read(fd, p)
			if e != unix.EINTR {
				return e != unix.EAGAIN
			}
		}
	})
	switch {
	case err != nil:
		return 0, sockErr("read", err)
	case e != 0:
		return 0, sockErr("read", e)
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}

func (s *sockConn) Write(p []byte) (int, error) {
	rc, err := s.raw()
	if err != nil {
		return 0, err
	}
	done := 0
	for done < len(p) {
		var n int
		var e unix.Errno
		err = rc.Write(func(fd uintptr) bool {
			for {
				n, e = rawsys.Write(fd, p[done:])
				if e != unix.EINTR {
					return e != unix.EAGAIN
				}
			}
		})
		if err == nil && e != 0 {
			err = e
		}
		if err != nil {
			return done, sockErr("write", err)
		}
		done += n
	}
	return done, nil
}

// sockErr makes errors look like net.Conn's (io.EOF stays as is); a
// deadline's error stays os.ErrDeadlineExceeded.
func sockErr(op string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if err == nil || err == io.EOF {
		return err
	}
	return &net.OpError{Op: op, Net: "tcp", Err: err}
}

func (s *sockConn) Close() error                       { return s.f.Close() }
func (s *sockConn) RemoteAddr() net.Addr               { return s.c.tcpAddr() }
func (s *sockConn) SetDeadline(t time.Time) error      { return s.f.SetDeadline(t) }
func (s *sockConn) SetReadDeadline(t time.Time) error  { return s.f.SetReadDeadline(t) }
func (s *sockConn) SetWriteDeadline(t time.Time) error { return s.f.SetWriteDeadline(t) }

func (s *sockConn) LocalAddr() net.Addr {
	rc, err := s.raw()
	if err != nil {
		return &net.TCPAddr{}
	}
	var sa unix.Sockaddr
	_ = rc.Control(func(fd uintptr) { sa, _ = unix.Getsockname(int(fd)) })
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	}
	return &net.TCPAddr{}
}

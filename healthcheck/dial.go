package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

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
	sa, family, err := c.sockaddr(c.ConnectIP, c.ConnectPort, true)
	if err != nil {
		return nil, c.opErr(err)
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, c.opErr(os.NewSyscallError("socket", err))
	}
	if noDelay {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	if err := c.prepare(fd); err != nil {
		_ = unix.Close(fd)
		return nil, c.opErr(err)
	}
	err = unix.Connect(fd, sa)
	switch err {
	case nil, unix.EISCONN:
		return &sockConn{f: os.NewFile(uintptr(fd), "tcp"), c: c}, nil
	case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
	default:
		_ = unix.Close(fd)
		return nil, c.opErr(os.NewSyscallError("connect", err))
	}
	// os.NewFile puts the non-blocking socket on the runtime poller.
	sc := &sockConn{f: os.NewFile(uintptr(fd), "tcp"), c: c}
	if err := sc.waitConnected(ctx, sa); err != nil {
		_ = sc.Close()
		return nil, c.opErr(err)
	}
	return sc, nil
}

// waitConnected waits until the connect in progress completes, fails, or ctx
// ends. Each probe is a second connect(2): 0 or EISCONN means connected,
// EALREADY still in progress, anything else is the connection's error (Linux
// reports a failed non-blocking connect that way). Probing inside RawConn.Write
// also covers a writability event that arrived before the wait began.
func (sc *sockConn) waitConnected(ctx context.Context, sa unix.Sockaddr) error {
	rc, err := sc.f.SyscallConn()
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = sc.f.SetWriteDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = sc.f.SetWriteDeadline(time.Unix(1, 0)) })
	var cerr error
	werr := rc.Write(func(fd uintptr) bool {
		switch e := unix.Connect(int(fd), sa); e {
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
	_ = sc.f.SetWriteDeadline(time.Time{})
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

// sockConn is a connected TCP socket on the runtime poller (an *os.File),
// usable as a net.Conn (HTTP_GET, SSL_GET).
type sockConn struct {
	f *os.File
	c Conn
}

var _ net.Conn = (*sockConn)(nil)

func (s *sockConn) Read(p []byte) (int, error) {
	n, err := s.f.Read(p)
	return n, sockErr("read", err)
}

func (s *sockConn) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	return n, sockErr("write", err)
}

// sockErr makes os.File errors look like net.Conn's: io.EOF stays as is.
func sockErr(op string, err error) error {
	var pe *os.PathError
	if err == nil || !errors.As(err, &pe) {
		return err
	}
	return &net.OpError{Op: op, Net: "tcp", Err: pe.Err}
}

func (s *sockConn) Close() error                       { return s.f.Close() }
func (s *sockConn) RemoteAddr() net.Addr               { return s.c.tcpAddr() }
func (s *sockConn) SetDeadline(t time.Time) error      { return s.f.SetDeadline(t) }
func (s *sockConn) SetReadDeadline(t time.Time) error  { return s.f.SetReadDeadline(t) }
func (s *sockConn) SetWriteDeadline(t time.Time) error { return s.f.SetWriteDeadline(t) }

func (s *sockConn) LocalAddr() net.Addr {
	rc, err := s.f.SyscallConn()
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

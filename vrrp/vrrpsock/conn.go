package vrrpsock

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// Packet is one received VRRP packet.
type Packet struct {
	// Payload is the VRRP message without the IP header. It aliases the buffer given
	// to Recv.
	Payload []byte
	// Src and Dst are the IP source and destination addresses (no zone).
	Src, Dst netip.Addr
	// TTL is the IPv4 TTL or IPv6 hop limit the packet arrived with (0 if the kernel
	// did not report it).
	TTL int
	// IfIndex is the index of the interface the packet arrived on.
	IfIndex int
	// Received is when the kernel received the packet (SO_TIMESTAMPNS, on
	// the CLOCK_REALTIME clock, so without a monotonic reading); zero if
	// it did not say.
	Received time.Time
}

// Conn is a raw VRRP socket serving one VRRP instance on one interface:
//
//   - it is bound to the interface (SO_BINDTODEVICE) and drops packets the kernel
//     reports as arriving on another, so instances on different interfaces never see
//     each other's traffic;
//   - in multicast mode it joins the group (224.0.0.18 / ff02::12 unless configured,
//     keepalived's vrrp_mcast_group4/6) on that interface, with multicast loopback
//     and IP_MULTICAST_ALL / IPV6_MULTICAST_ALL off, so it sees only groups it
//     joined; in unicast mode (keepalived's unicast_peer) it joins nothing and
//     [Conn.Destinations] lists the peers instead of the group;
//   - everything it sends has TTL / hop limit 255 (unicast: [Config.UnicastTTL]) and traffic class CS6 (0xc0), like
//     keepalived, from the source address fixed at [Open]; the kernel never computes
//     or verifies the VRRP checksum (IPV6_CHECKSUM is left unset).
//
// After Open it may be used from any goroutine: Send may run concurrently with
// Recv; Recv is meant for a single reader. Close unblocks a pending Recv, which then
// returns an error matching net.ErrClosed.
type Conn struct {
	cfg     Config
	ifindex int
	src     netip.Addr
	group   netip.Addr
	dsts    []netip.Addr
	ipc     *net.IPConn
	rc      syscall.RawConn
	sendOOB []byte // IP_PKTINFO / IPV6_PKTINFO pinning source and interface
	oobLen  int
	oob     []byte        // TryRecv's control buffer (single reader)
	dropped atomic.Uint64 // packets Recv discarded

	// After Detach: the socket is fd, a duplicate outside the Go runtime's
	// netpoller (ipc is closed); efd is an eventfd Close makes readable
	// for good, waking a Recv or Send waiting in ppoll; fdMu is held
	// shared while fd is in use and exclusively by Close to close it.
	detached bool
	fd, efd  int
	fdMu     sync.RWMutex
	closed   atomic.Bool

	// Send's and TryRecv's sendmsg / recvmsg arguments, kept here so that
	// the VRRP loop's advert path does not allocate (see sendRaw, recvRaw).
	sendMu        sync.Mutex
	tx            rawMsg
	txSa4         unix.RawSockaddrInet4
	txSa6         unix.RawSockaddrInet6
	txFn          func(fd uintptr) bool
	rx            rawMsg
	rxSa          unix.RawSockaddrAny
	rxFn          func(fd uintptr)
	rxFlags       int
	txErr, rxErr  error
	rxN, rxOOBLen int
}

// rawMsg is one sendmsg / recvmsg call's header and its one buffer.
type rawMsg struct {
	hdr unix.Msghdr
	iov unix.Iovec
}

// Open validates cfg, looks up the interface and its source address and opens the
// socket, all in the calling thread's network namespace. The source address is the
// configured one (mcast_src_ip / unicast_src_ip), else the interface's primary IPv4
// address (a macvlan's parent's: keepalived's use_vmac) or its IPv6 link-local
// address (RFC 5798 section 5.1.2.1; a tentative one
// only if there is no other, in which case sends fail until DAD completes; with
// none, Open fails with [ErrNoSource] and may be retried).
func Open(cfg Config) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	link, err := netlink.LinkByName(cfg.Interface)
	if errors.As(err, &netlink.LinkNotFoundError{}) {
		return nil, fmt.Errorf("vrrpsock: interface %q: %w", cfg.Interface, ErrNoInterface)
	}
	if err != nil {
		return nil, fmt.Errorf("vrrpsock: interface %q: %w", cfg.Interface, err)
	}
	c := &Conn{
		cfg:     cfg,
		ifindex: link.Attrs().Index,
		group:   cfg.group(),
		dsts:    cfg.destinations(),
	}
	srcLink := link
	if mv, ok := link.(*netlink.Macvlan); ok && !cfg.IPv6 {
		// A VMAC (keepalived use_vmac): the IPv4 source is the parent's
		// primary address, as keepalived's, not a VIP on the VMAC.
		if p, err := netlink.LinkByIndex(mv.Attrs().ParentIndex); err == nil {
			srcLink = p
		}
	}
	if cfg.Src.IsValid() {
		c.src = cfg.Src.Unmap().WithZone("")
	} else if c.src, err = defaultSource(srcLink, cfg.IPv6); err != nil {
		return nil, err
	}
	if err := c.open(); err != nil {
		return nil, fmt.Errorf("vrrpsock: %s socket on %s: %w", cfg.family(), cfg.Interface, err)
	}
	return c, nil
}

func (c *Conn) open() error {
	network, laddr := "ip4:112", "0.0.0.0"
	if c.cfg.IPv6 {
		network, laddr = "ip6:112", "::"
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		return control(rc, func(fd int) error {
			if err := unix.BindToDevice(fd, c.cfg.Interface); err != nil {
				return fmt.Errorf("SO_BINDTODEVICE: %w", err)
			}
			return nil
		})
	}}
	pc, err := lc.ListenPacket(context.Background(), network, laddr)
	if err != nil {
		return err
	}
	c.ipc = pc.(*net.IPConn)
	if c.rc, err = c.ipc.SyscallConn(); err == nil {
		if c.cfg.IPv6 {
			err = c.setup6()
		} else {
			err = c.setup4()
		}
	}
	if err != nil {
		c.ipc.Close()
		return err
	}
	return nil
}

func (c *Conn) iface() *net.Interface {
	return &net.Interface{Index: c.ifindex, Name: c.cfg.Interface}
}

func (c *Conn) groupAddr() net.Addr { return &net.IPAddr{IP: c.group.AsSlice()} }

func (c *Conn) setup4() error {
	p := ipv4.NewPacketConn(c.ipc)
	steps := []struct {
		what string
		do   func() error
	}{
		{"IP_MULTICAST_LOOP", func() error { return p.SetMulticastLoopback(false) }},
		{"IP_MULTICAST_TTL", func() error { return p.SetMulticastTTL(TTL) }},
		{"IP_TTL", func() error { return p.SetTTL(c.cfg.unicastTTL()) }},
		{"IP_TOS", func() error { return p.SetTOS(trafficClass) }},
		{"IP_MULTICAST_IF", func() error { return p.SetMulticastInterface(c.iface()) }},
		{"IP_MULTICAST_ALL", func() error { return c.setInt(unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0) }},
		{"IP_PKTINFO", func() error { return p.SetControlMessage(ipv4.FlagInterface|ipv4.FlagDst, true) }},
	}
	if !c.Unicast() {
		steps = append(steps, struct {
			what string
			do   func() error
		}{"join " + c.group.String(), func() error { return p.JoinGroup(c.iface(), c.groupAddr()) }})
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	c.sendOOB = (&ipv4.ControlMessage{Src: c.src.AsSlice(), IfIndex: c.ifindex}).Marshal()
	c.oobLen = len(ipv4.NewControlMessage(ipv4.FlagInterface|ipv4.FlagDst)) + c.stamp()
	return nil
}

func (c *Conn) setup6() error {
	p := ipv6.NewPacketConn(c.ipc)
	// IPV6_CHECKSUM is deliberately left unset (offset -1 for protocols other than
	// ICMPv6): the VRRPv3 checksum is computed and verified by the codec.
	steps := []struct {
		what string
		do   func() error
	}{
		{"IPV6_MULTICAST_LOOP", func() error { return p.SetMulticastLoopback(false) }},
		{"IPV6_MULTICAST_HOPS", func() error { return p.SetMulticastHopLimit(TTL) }},
		{"IPV6_UNICAST_HOPS", func() error { return p.SetHopLimit(c.cfg.unicastTTL()) }},
		{"IPV6_TCLASS", func() error { return p.SetTrafficClass(trafficClass) }},
		{"IPV6_MULTICAST_IF", func() error { return p.SetMulticastInterface(c.iface()) }},
		{"IPV6_MULTICAST_ALL", func() error { return c.setInt(unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0) }},
		{"IPV6_RECVPKTINFO/IPV6_RECVHOPLIMIT", func() error {
			return p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true)
		}},
	}
	if !c.Unicast() {
		steps = append(steps, struct {
			what string
			do   func() error
		}{"join " + c.group.String(), func() error { return p.JoinGroup(c.iface(), c.groupAddr()) }})
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	c.sendOOB = (&ipv6.ControlMessage{Src: c.src.AsSlice(), IfIndex: c.ifindex}).Marshal()
	c.oobLen = len(ipv6.NewControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface)) + c.stamp()
	return nil
}

// stamp asks the kernel for each packet's receive time (SO_TIMESTAMPNS:
// the master down timer restarts when an advert is received, which is
// then, not when the reader got to it) and returns the control message
// space it needs; 0 if the kernel refuses (Packet.Received stays zero).
func (c *Conn) stamp() int {
	if err := c.setInt(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return 0
	}
	return unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{})))
}

// rxTime returns the SCM_TIMESTAMPNS time among the control messages in
// oob (zero if there is none or oob is malformed): parseCmsgs's, which
// reads it with the rest on the receive path, without allocating.
func rxTime(oob []byte) time.Time {
	cm, ok := parseCmsgs(oob, false)
	if !ok {
		return time.Time{}
	}
	return cm.received
}

func (c *Conn) setInt(level, opt, value int) error {
	return control(c.rc, func(fd int) error { return unix.SetsockoptInt(fd, level, opt, value) })
}

// control runs f on the socket's file descriptor.
func control(rc syscall.RawConn, f func(fd int) error) error {
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// SrcAddr returns the source address of every packet sent, without zone.
func (c *Conn) SrcAddr() netip.Addr { return c.src }

// Destinations returns the multicast group, or the unicast peers in unicast mode.
func (c *Conn) Destinations() []netip.Addr { return append([]netip.Addr(nil), c.dsts...) }

// Unicast reports whether unicast peers were configured.
func (c *Conn) Unicast() bool { return len(c.cfg.Peers) > 0 }

// Close closes the socket (which leaves the group) and unblocks a pending Recv.
func (c *Conn) Close() error {
	if !c.detached {
		return c.ipc.Close()
	}
	if c.closed.Swap(true) {
		return fmt.Errorf("vrrpsock: close %s socket on %s: %w", c.cfg.family(), c.cfg.Interface, net.ErrClosed)
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(c.efd, one[:]) // wakes a waiting Recv or Send, which then lets go of fdMu
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
	err := unix.Close(c.fd)
	unix.Close(c.efd)
	if err != nil {
		return fmt.Errorf("vrrpsock: close %s socket on %s: %w", c.cfg.family(), c.cfg.Interface, err)
	}
	return nil
}

// Detach takes the socket out of the Go runtime's netpoller, for a caller
// that polls [Conn.PollFd] itself: the runtime registers every socket it
// opens in its epoll set (edge-triggered, for reading and writing), so
// each advert sent or received would otherwise also wake the runtime's
// poller, one more thread made runnable per advert. Detach duplicates the
// descriptor and closes the original (the socket, its device binding,
// options and group memberships live on in the duplicate, which only this
// Conn's raw system calls use). Everything keeps working afterwards: Send
// waits for room with poll(2) (see sendWait), Recv waits in ppoll(2) and
// Close still unblocks it; only the deadlines of the runtime's poller are
// gone. Detach must not run concurrently with any other method; a second
// call does nothing. On error the Conn is unchanged, unless it was closed.
func (c *Conn) Detach() error {
	if c.detached {
		return nil
	}
	fd := -1
	err := control(c.rc, func(f int) error {
		var err error
		fd, err = unix.FcntlInt(uintptr(f), unix.F_DUPFD_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("vrrpsock: detach %s socket on %s: %w", c.cfg.family(), c.cfg.Interface, err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(fd)
		return fmt.Errorf("vrrpsock: detach %s socket on %s: eventfd: %w", c.cfg.family(), c.cfg.Interface, err)
	}
	if err := c.ipc.Close(); err != nil { // the runtime's EPOLL_CTL_DEL and close(2) of the original
		unix.Close(fd)
		unix.Close(efd)
		return fmt.Errorf("vrrpsock: detach %s socket on %s: %w", c.cfg.family(), c.cfg.Interface, err)
	}
	c.fd, c.efd, c.detached = fd, efd, true
	return nil
}

// sendWait bounds how long Send on a detached Conn waits for room in a
// full send buffer before it reports EAGAIN (the runtime's poller, before
// Detach, waits without bound).
const sendWait = time.Second

// waitFd waits until fd has one of events or Close was called (efd), at
// most d (forever if d < 0); it returns the events of fd, 0 on a time-out.
func (c *Conn) waitFd(events int16, d time.Duration) (int16, error) {
	var deadline time.Time
	if d >= 0 {
		deadline = time.Now().Add(d)
	}
	for {
		fds := [2]unix.PollFd{{Fd: int32(c.fd), Events: events}, {Fd: int32(c.efd), Events: unix.POLLIN}}
		var ts *unix.Timespec
		if d >= 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return 0, nil
			}
			t := unix.NsecToTimespec(left.Nanoseconds())
			ts = &t
		}
		_, err := unix.Ppoll(fds[:], ts, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if c.closed.Load() {
			return 0, net.ErrClosed
		}
		if fds[0].Revents != 0 {
			return fds[0].Revents, nil
		}
	}
}

// Send sends one VRRP payload to dst (normally one of [Conn.Destinations]) from
// [Conn.SrcAddr] out of the Conn's interface, with TTL / hop limit 255 (to a
// unicast dst: [Config.UnicastTTL]).
func (c *Conn) Send(payload []byte, dst netip.Addr) error {
	dst = dst.Unmap().WithZone("")
	if !dst.IsValid() || dst.Is6() != c.cfg.IPv6 {
		return fmt.Errorf("vrrpsock: send on %s: destination %v is not an %s address", c.cfg.Interface, dst, c.cfg.family())
	}
	err := c.sendRaw(payload, dst)
	if err != nil {
		return fmt.Errorf("vrrpsock: send %d bytes from %s to %s on %s: %w", len(payload), c.src, dst, c.cfg.Interface, err)
	}
	return nil
}

// Recv waits for the next VRRP packet on the interface and returns it; the payload
// is stored in buf (which should hold at least the interface MTU; larger packets are
// dropped), without the IP header (parsed from the raw IPv4 packet; the kernel strips
// it for IPv6), with the addresses, TTL / hop limit and incoming interface from the
// IPv4 header and the IP_PKTINFO / IPV6_PKTINFO and IPV6_HOPLIMIT control messages. Packets that are truncated, malformed or from another interface are
// dropped (and counted in c.dropped). Recv is meant for one reader at a time.
func (c *Conn) Recv(buf []byte) (Packet, error) {
	oob := make([]byte, c.oobLen)
	if c.detached {
		return c.recvDetached(buf, oob)
	}
	for {
		var (
			n, oobn, flags int
			from           unix.Sockaddr
			rerr           error
		)
		err := c.rc.Read(func(fd uintptr) bool {
			n, oobn, flags, from, rerr = unix.Recvmsg(int(fd), buf, oob, 0)
			return !errors.Is(rerr, unix.EAGAIN)
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			return Packet{}, fmt.Errorf("vrrpsock: receive on %s: %w", c.cfg.Interface, err)
		}
		if p, ok := c.parse(buf[:n], oob[:oobn], flags, from); ok {
			return p, nil
		}
		c.dropped.Add(1)
	}
}

// recvDetached is Recv on a detached Conn: recvmsg, and ppoll while there
// is nothing to read, until Close.
func (c *Conn) recvDetached(buf, oob []byte) (Packet, error) {
	c.fdMu.RLock()
	defer c.fdMu.RUnlock()
	for {
		if c.closed.Load() {
			return Packet{}, fmt.Errorf("vrrpsock: receive on %s: %w", c.cfg.Interface, net.ErrClosed)
		}
		n, oobn, flags, src, err := c.recvRaw(buf, oob)
		if errors.Is(err, unix.EAGAIN) {
			_, err = c.waitFd(unix.POLLIN, -1)
			if err == nil {
				continue
			}
		}
		if err != nil {
			return Packet{}, fmt.Errorf("vrrpsock: receive on %s: %w", c.cfg.Interface, err)
		}
		if p, ok := c.parseFrom(buf[:n], oob[:oobn], flags, src); ok {
			return p, nil
		}
		c.dropped.Add(1)
	}
}

// PollFd returns the socket's file descriptor, for a caller that waits for it to
// become readable itself (poll(2)) and then reads with [Conn.TryRecv], instead of
// blocking in [Conn.Recv] through the Go runtime's poller (see also
// [Conn.Detach]). It stays valid until Close, which must not run while the
// caller polls it.
func (c *Conn) PollFd() int {
	if c.detached {
		return c.fd
	}
	fd := -1
	_ = c.rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}

// TryRecv returns the next VRRP packet already queued on the socket without
// waiting (ok false when there is none), filtered and parsed as by [Conn.Recv].
// It is meant for the single reader that polls [Conn.PollFd]; it must not run
// concurrently with Recv.
func (c *Conn) TryRecv(buf []byte) (p Packet, ok bool, err error) {
	if len(c.oob) < c.oobLen {
		c.oob = make([]byte, c.oobLen)
	}
	oob := c.oob[:c.oobLen]
	if c.detached {
		c.fdMu.RLock()
		defer c.fdMu.RUnlock()
		if c.closed.Load() {
			return Packet{}, false, fmt.Errorf("vrrpsock: receive on %s: %w", c.cfg.Interface, net.ErrClosed)
		}
	}
	for {
		n, oobn, flags, src, err := c.recvRaw(buf, oob)
		if errors.Is(err, unix.EAGAIN) {
			return Packet{}, false, nil
		}
		if err != nil {
			return Packet{}, false, fmt.Errorf("vrrpsock: receive on %s: %w", c.cfg.Interface, err)
		}
		if p, ok := c.parseFrom(buf[:n], oob[:oobn], flags, src); ok {
			return p, true, nil
		}
		c.dropped.Add(1)
	}
}

// sendRaw is sendmsg(2) of payload to dst with c.sendOOB, on arguments kept
// in c: unlike unix.Sendmsg (a Sockaddr, a closure and their results per
// call), it does not allocate.
func (c *Conn) sendRaw(payload []byte, dst netip.Addr) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	m := &c.tx
	m.hdr = unix.Msghdr{}
	if c.cfg.IPv6 {
		c.txSa6 = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: dst.As16()}
		if dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast() || dst.IsInterfaceLocalMulticast() {
			c.txSa6.Scope_id = uint32(c.ifindex)
		}
		m.hdr.Name = (*byte)(unsafe.Pointer(&c.txSa6))
		m.hdr.Namelen = unix.SizeofSockaddrInet6
	} else {
		c.txSa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: dst.As4()}
		m.hdr.Name = (*byte)(unsafe.Pointer(&c.txSa4))
		m.hdr.Namelen = unix.SizeofSockaddrInet4
	}
	if len(payload) > 0 {
		m.iov.Base = &payload[0]
	}
	m.iov.SetLen(len(payload))
	m.hdr.Iov, m.hdr.Iovlen = &m.iov, 1
	if len(c.sendOOB) > 0 {
		m.hdr.Control = &c.sendOOB[0]
		m.hdr.SetControllen(len(c.sendOOB))
	}
	if c.txFn == nil {
		c.txFn = c.sendmsg
	}
	c.txErr = nil
	var err error
	if c.detached {
		err = c.writeDetached()
	} else {
		err = c.rc.Write(c.txFn)
	}
	m.iov.Base = nil // do not keep the caller's payload
	if err == nil {
		err = c.txErr
	}
	return err
}

// writeDetached is rc.Write's part for a detached Conn: sendmsg, and on
// EAGAIN (a full send buffer) a wait for room of at most sendWait.
func (c *Conn) writeDetached() error {
	c.fdMu.RLock()
	defer c.fdMu.RUnlock()
	if c.closed.Load() {
		return net.ErrClosed
	}
	var deadline time.Time
	for !c.sendmsg(uintptr(c.fd)) {
		if deadline.IsZero() {
			deadline = time.Now().Add(sendWait)
		}
		left := time.Until(deadline)
		if left <= 0 {
			break // still EAGAIN: c.txErr
		}
		if _, err := c.waitFd(unix.POLLOUT, left); err != nil {
			return err
		}
	}
	return nil
}

// sendmsg is the rc.Write callback of sendRaw. The socket does not block
// (EAGAIN: rc.Write waits for room), so this is a raw system call: with
// Syscall the runtime may hand the thread's P to another while the kernel
// delivers the advert and then, taking one back, wake sysmon (a futex
// call and a thread wake-up on the advert path: perf showed 14% of the
// VRRP thread's futex calls there under CPU oversubscription).
func (c *Conn) sendmsg(fd uintptr) bool {
	_, _, e := unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&c.tx.hdr)), 0)
	c.txErr = nil
	if e != 0 {
		c.txErr = e
	}
	return e != unix.EAGAIN
}

// recvRaw is recvmsg(2) with MSG_DONTWAIT into buf and oob on arguments
// kept in c (single reader): it does not allocate. src is the sender's
// address from the socket address (invalid if not IPv6: an IPv4 source is
// read from the IP header).
func (c *Conn) recvRaw(buf, oob []byte) (n, oobn, flags int, src netip.Addr, err error) {
	m := &c.rx
	m.hdr = unix.Msghdr{Name: (*byte)(unsafe.Pointer(&c.rxSa)), Namelen: unix.SizeofSockaddrAny}
	if len(buf) > 0 {
		m.iov.Base = &buf[0]
	}
	m.iov.SetLen(len(buf))
	m.hdr.Iov, m.hdr.Iovlen = &m.iov, 1
	if len(oob) > 0 {
		m.hdr.Control = &oob[0]
		m.hdr.SetControllen(len(oob))
	}
	if c.rxFn == nil {
		c.rxFn = c.recvmsg
	}
	c.rxErr = nil
	if c.detached { // the caller holds fdMu
		c.rxFn(uintptr(c.fd))
	} else {
		err = c.rc.Control(c.rxFn)
	}
	m.iov.Base, m.hdr.Control = nil, nil
	if err == nil {
		err = c.rxErr
	}
	if err != nil {
		return 0, 0, 0, netip.Addr{}, err
	}
	if c.rxSa.Addr.Family == unix.AF_INET6 {
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&c.rxSa))
		src = netip.AddrFrom16(sa.Addr)
	}
	return c.rxN, int(m.hdr.Controllen), int(m.hdr.Flags), src, nil
}

// recvmsg is the rc.Control callback of recvRaw: MSG_DONTWAIT, so a raw
// system call, as sendmsg.
func (c *Conn) recvmsg(fd uintptr) {
	r, _, e := unix.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&c.rx.hdr)), unix.MSG_DONTWAIT)
	c.rxN, c.rxErr = int(r), nil
	if e != 0 {
		c.rxN, c.rxErr = 0, e
	}
}

// parse turns one datagram as returned by recvmsg into a Packet; false means drop it.
func (c *Conn) parse(b, oob []byte, flags int, from unix.Sockaddr) (Packet, bool) {
	var src netip.Addr
	if sa, ok := from.(*unix.SockaddrInet6); ok {
		src = netip.AddrFrom16(sa.Addr)
	}
	return c.parseFrom(b, oob, flags, src)
}

// parseFrom is parse with the sender's IPv6 address (invalid: not IPv6).
// It does not allocate.
func (c *Conn) parseFrom(b, oob []byte, flags int, src6 netip.Addr) (Packet, bool) {
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		return Packet{}, false
	}
	cm, ok := parseCmsgs(oob, c.cfg.IPv6)
	if !ok {
		return Packet{}, false
	}
	var p Packet
	if c.cfg.IPv6 {
		if !src6.IsValid() {
			return Packet{}, false
		}
		p.Src = src6
		if cm.dst.IsValid() {
			p.Dst = cm.dst.Unmap()
			if p.Dst.Is4() { // a malformed control message; IPv6 sockets see IPv6 only
				return Packet{}, false
			}
		}
		p.TTL, p.IfIndex, p.Payload = cm.hopLimit, cm.ifIndex, b
	} else {
		h, ok := parseIPv4Header(b)
		if !ok || h.Protocol != Protocol {
			return Packet{}, false
		}
		p.Src, p.Dst, p.TTL, p.IfIndex = h.Src, h.Dst, int(h.TTL), cm.ifIndex
		p.Payload = b[h.Len:h.TotalLen]
	}
	p.Received = cm.received
	if p.IfIndex == 0 {
		p.IfIndex = c.ifindex // bound to the device: nothing else can arrive
	} else if p.IfIndex != c.ifindex {
		return Packet{}, false
	}
	return p, true
}

// cmsgs is what the receive path reads from the control messages.
type cmsgs struct {
	ifIndex, hopLimit int
	dst               netip.Addr // IPv6 only (IPv4's is in the IP header)
	received          time.Time  // SCM_TIMESTAMPNS (see stamp); zero if none
}

// parseCmsgs reads IP_PKTINFO (IPv4) or IPV6_PKTINFO and IPV6_HOPLIMIT
// (IPv6), and the kernel's receive time, from oob, as golang.org/x/net's ControlMessage.Parse does but
// without allocating; false if a message is malformed. Bytes too few for a
// header are ignored, as there.
func parseCmsgs(oob []byte, ipv6 bool) (cmsgs, bool) {
	var cm cmsgs
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			return cmsgs{}, false
		}
		data := oob[unix.CmsgLen(0):l]
		switch {
		case !ipv6 && h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
			cm.ifIndex = int(pi.Ifindex)
		case ipv6 && h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&data[0]))
			cm.dst, cm.ifIndex = netip.AddrFrom16(pi.Addr), int(pi.Ifindex)
		case ipv6 && h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_HOPLIMIT && len(data) >= 4:
			cm.hopLimit = int(binary.NativeEndian.Uint32(data))
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= int(unsafe.Sizeof(unix.Timespec{})):
			var ts unix.Timespec
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts)), data)
			cm.received = time.Unix(ts.Unix())
		}
		next := unix.CmsgSpace(l - unix.CmsgLen(0))
		if next >= len(oob) {
			break
		}
		oob = oob[next:]
	}
	return cm, true
}

package vip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"unsafe"

	"github.com/lvs-ha/lvs-ha/internal/linkwatch"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// The address add of a VRRP takeover, between its first advert and its first
// gratuitous ARP, goes over a bare rtnetlink socket kept per namespace: one
// write(2) of the request, which adds the address inside the kernel, after
// one read of a link notification socket that finds nothing; the read(2) of
// its ack comes after the first GARP (StartAdd, FinishAdd; keepalived waits
// for each address's ack, and reads its netlink socket, before its GARPs). The request, built with the device's
// index, is kept while no link changed; before, each add looked the index up
// with an ioctl and built the request anew (some 20 allocations), and with
// link's socket, ioctl and close and AddrAdd's getsockname and 64 KiB
// receive buffer per request, that was seven system calls, each 20-60 us on
// a CPU that was idle (the takeover comes after Master_Down_Interval of
// silence). The message is the one AddrAdd builds from toNetlink's Addr.

// maxKeptRequests bounds rawConn.reqs (a VRRP daemon adds its configured
// addresses; a reload may bring others).
const maxKeptRequests = 1024

// rawConn is a bound NETLINK_ROUTE socket used for requests and their acks
// only (it joins no group).
type rawConn struct {
	mu  sync.Mutex
	fd  int
	seq uint32
	buf []byte

	// started are the requests written by start whose results finish has
	// not yet returned, oldest first; an ack read for one of them by
	// another request's wait is kept in it.
	started []startedReq

	// links reports link changes in the socket's namespace (nil: it could
	// not be opened, and nothing is kept). While it reports none, indexes
	// (by device name) and reqs (add requests by address) stay valid: a
	// device deleted, re-created or renamed brings a notification.
	links   *linkwatch.Watch
	indexes map[string]int
	reqs    map[reqKey][]byte
}

// reqKey is an Address as a map key: its preferred lifetime by value, so
// that a change behind the pointer is a new key.
type reqKey struct {
	a      Address // PreferredLft nil
	lft    uint32
	hasLft bool
}

func keyOf(a Address) reqKey {
	k := reqKey{a: a}
	if a.PreferredLft != nil {
		k.a.PreferredLft, k.lft, k.hasLft = nil, *a.PreferredLft, true
	}
	return k
}

// openRaw opens the request socket and its link watch in the calling
// thread's namespace.
func openRaw() (*rawConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	c := &rawConn{fd: fd, buf: make([]byte, 4096)}
	if w, err := linkwatch.Open(); err == nil {
		c.links, c.indexes, c.reqs = w, map[string]int{}, map[reqKey][]byte{}
	}
	return c, nil
}

// add adds a: the request kept for it, else one built with its device's
// index (an ioctl on the socket itself, so in the socket's namespace, which
// is the request's).
func (c *rawConn) add(a Address) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	req, err := c.addRequestLocked(a)
	if err != nil {
		return err
	}
	if err := c.writeLocked(req); err != nil {
		return err
	}
	return c.waitLocked(c.seq)
}

// addRequestLocked returns the add request of a, kept or built (see add);
// c.mu held.
func (c *rawConn) addRequestLocked(a Address) ([]byte, error) {
	c.pollLinksLocked()
	k := keyOf(a)
	req := c.reqs[k]
	if req == nil {
		idx, err := c.indexLocked(a.Dev)
		if errors.Is(err, unix.ENODEV) {
			return nil, ErrNoDevice
		} else if err != nil {
			return nil, fmt.Errorf("look up device: %w", err)
		}
		req = addRequest(a, idx)
		if c.links != nil {
			if len(c.reqs) >= maxKeptRequests {
				clear(c.reqs)
			}
			c.reqs[k] = req
		}
	}
	return req, nil
}

// startedReq is a request written by start: its sequence number and, once
// its ack was read, its result.
type startedReq struct {
	seq   uint32
	acked bool
	err   error
}

// maxStarted bounds the requests started and not finished: past it, start
// reads the oldest one's ack first (and keeps its result), so that the
// acks queued on the socket stay far below its receive buffer (an ack lost
// to an overrun could not be waited for).
const maxStarted = 64

// start writes a's add request without reading its ack: the kernel
// handles an rtnetlink request inside the write, so when start returns the
// address is on its device (or the request failed) and only the result
// remains to be read, by finish with the sequence number returned. An
// error means the request was not written (nothing to finish).
func (c *rawConn) start(a Address) (uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	req, err := c.addRequestLocked(a)
	if err != nil {
		return 0, err
	}
	if len(c.started) >= maxStarted {
		for i := range c.started {
			if !c.started[i].acked {
				c.started[i].err, c.started[i].acked = c.waitLocked(c.started[i].seq), true
				break
			}
		}
	}
	if err := c.writeLocked(req); err != nil {
		return 0, err
	}
	c.started = append(c.started, startedReq{seq: c.seq})
	return c.seq, nil
}

// finish returns the result of start's request seq, reading its ack if no
// wait read it before: nil, or the kernel's errno.
func (c *rawConn) finish(seq uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.IndexFunc(c.started, func(s startedReq) bool { return s.seq == seq })
	if i < 0 {
		return errors.New("netlink request not started")
	}
	s := c.started[i]
	c.started = slices.Delete(c.started, i, i+1)
	if s.acked {
		return s.err
	}
	return c.waitLocked(seq)
}

// index returns dev's interface index in the socket's namespace.
func (c *rawConn) index(dev string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pollLinksLocked()
	return c.indexLocked(dev)
}

// indexLocked returns dev's kept index, else reads it with an ioctl on the
// socket (so in the socket's namespace) and keeps it; c.mu held, links
// polled.
func (c *rawConn) indexLocked(dev string) (int, error) {
	if idx, ok := c.indexes[dev]; ok {
		return idx, nil
	}
	ifr, err := unix.NewIfreq(dev)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(c.fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, err
	}
	idx := int(ifr.Uint32())
	if c.links != nil {
		c.indexes[dev] = idx
	}
	return idx, nil
}

// pollLinksLocked forgets the kept indexes and requests if a link changed
// (or may have: an overrun, a failed read) since the last call; c.mu held.
// A watch that failed is closed, and nothing is kept from then on.
func (c *rawConn) pollLinksLocked() {
	if c.links == nil {
		return
	}
	changed, err := c.links.Changed()
	if err != nil {
		_ = c.links.Close()
		c.links = nil
	}
	if changed || err != nil {
		clear(c.indexes)
		clear(c.reqs)
	}
}

// writeLocked sends one request (its header's sequence number is set
// here, and left in c.seq); c.mu held. The socket is bound and
// unconnected, so a plain write goes to the kernel, without Sendto's
// sockaddr.
func (c *rawConn) writeLocked(req []byte) error {
	c.seq++
	binary.NativeEndian.PutUint32(req[8:], c.seq)
	for {
		_, err := unix.Write(c.fd, req)
		if err != unix.EINTR {
			return err
		}
	}
}

// waitLocked reads acks until request seq's: nil, or the kernel's errno;
// c.mu held. An ack of a started request read on the way is kept for its
// finish. A failed read fails the started requests not yet acked too
// (their acks may be lost with it), and a plain read takes the next
// message, without Recvfrom's sockaddr.
func (c *rawConn) waitLocked(seq uint32) error {
	for {
		n, err := c.readLocked()
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			for i := range c.started {
				if s := &c.started[i]; !s.acked {
					s.err, s.acked = err, true
				}
			}
			return err
		}
		for b := c.buf[:n]; ; {
			a, rest, ok, bad := nextAck(b)
			if bad != nil {
				return bad
			}
			if !ok {
				break
			}
			if a.seq == seq {
				return a.err
			}
			for i := range c.started {
				if s := &c.started[i]; s.seq == a.seq && !s.acked {
					s.err, s.acked = a.err, true
				}
			}
			b = rest
		}
	}
}

// readLocked reads the next message into c.buf. The kernel has queued a
// request's ack before the write returns, so the read is first tried raw
// and non-blocking (without the runtime's system call bookkeeping, which
// lets sysmon hand the caller's P to another thread, on a VRRP takeover's
// path to its first GARP), and waits only if nothing was queued.
func (c *rawConn) readLocked() (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(c.fd), uintptr(unsafe.Pointer(&c.buf[0])), uintptr(len(c.buf)), unix.MSG_DONTWAIT, 0, 0)
	switch e {
	case 0:
		return int(n), nil
	case unix.EAGAIN:
		return unix.Read(c.fd, c.buf)
	}
	return 0, e
}

// ack is the kernel's answer to request seq: nil or its errno.
type ack struct {
	seq uint32
	err error
}

// nextAck returns the first ack in b, the messages of one read, and the
// messages after it: ok false if there is none, bad if a message is
// malformed (never a panic).
func nextAck(b []byte) (a ack, rest []byte, ok bool, bad error) {
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(b[0:]))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return ack{}, nil, false, errors.New("malformed netlink reply")
		}
		typ, mseq := binary.NativeEndian.Uint16(b[4:]), binary.NativeEndian.Uint32(b[8:])
		msg := b[:l]
		b = b[min(len(b), (l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1)):]
		if typ != unix.NLMSG_ERROR {
			continue
		}
		if l < unix.NLMSG_HDRLEN+4 {
			return ack{}, nil, false, errors.New("short netlink ack")
		}
		a = ack{seq: mseq}
		if e := int32(binary.NativeEndian.Uint32(msg[unix.NLMSG_HDRLEN:])); e != 0 {
			a.err = unix.Errno(-e)
		}
		return a, b, true, nil
	}
	return ack{}, nil, false, nil
}

// addRequest is the RTM_NEWADDR request (NLM_F_CREATE|NLM_F_EXCL, with an
// ack) for a on the device with index idx, built with the netlink library's
// own message types from toNetlink's Addr, as netlink.Handle.AddrAdd builds
// it (addrHandle in vishvananda/netlink's addr_linux.go): only the socket
// and the ack are this file's.
func addRequest(a Address, idx int) []byte {
	na := toNetlink(a)
	req := nl.NewNetlinkRequest(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
	family := nl.GetIPFamily(na.IP)
	msg := nl.NewIfAddrmsg(family)
	msg.Scope = uint8(na.Scope)
	msg.Index = uint32(idx)
	mask := na.Mask
	if na.Peer != nil {
		mask = na.Peer.Mask
	}
	prefixlen, _ := mask.Size()
	msg.Prefixlen = uint8(prefixlen)
	req.AddData(msg)
	local := na.IP.To4()
	if family == netlink.FAMILY_V6 {
		local = na.IP.To16()
	}
	req.AddData(nl.NewRtAttr(unix.IFA_LOCAL, local))
	peer := local
	if na.Peer != nil {
		if peer = na.Peer.IP.To4(); family == netlink.FAMILY_V6 {
			peer = na.Peer.IP.To16()
		}
	}
	req.AddData(nl.NewRtAttr(unix.IFA_ADDRESS, peer))
	if na.Flags != 0 {
		if na.Flags <= 0xff {
			msg.IfAddrmsg.Flags = uint8(na.Flags)
		} else {
			req.AddData(nl.NewRtAttr(unix.IFA_FLAGS, nl.Uint32Attr(uint32(na.Flags))))
		}
	}
	if family == netlink.FAMILY_V4 {
		// toNetlink always sets a broadcast: 0.0.0.0 (none, as keepalived) or
		// the configured one, so AddrAdd's "brd +" derivation never applies.
		if na.Broadcast != nil && !net.IPv4zero.Equal(na.Broadcast) {
			req.AddData(nl.NewRtAttr(unix.IFA_BROADCAST, na.Broadcast))
		}
		if na.Label != "" {
			req.AddData(nl.NewRtAttr(unix.IFA_LABEL, nl.ZeroTerminated(na.Label)))
		}
	}
	if na.ValidLft > 0 || na.PreferedLft > 0 {
		ci := nl.IfaCacheInfo{IfaCacheinfo: unix.IfaCacheinfo{Valid: uint32(na.ValidLft), Prefered: uint32(na.PreferedLft)}}
		req.AddData(nl.NewRtAttr(unix.IFA_CACHEINFO, ci.Serialize()))
	}
	return req.Serialize()
}

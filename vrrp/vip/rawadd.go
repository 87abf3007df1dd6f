package vip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"unsafe"

	"github.com/lvs-ha/lvs-ha/internal/linkwatch"
	"github.com/lvs-ha/lvs-ha/internal/rawsys"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// The address add of a VRRP takeover, between its first advert and its first
// gratuitous ARP, goes over a bare rtnetlink socket kept per namespace: one
// write(2) of the request, which adds the address inside the kernel, and one
// read(2) of the ack, after one read of a link notification socket that
// finds nothing (keepalived too waits for each address's ack, and reads its
// netlink socket before its GARPs). The request, built with the device's
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
	// The ack buffer is prefaulted: a takeover's first address add would
	// otherwise map its page while reading the ack (rawsys.Prefaulted).
	c := &rawConn{fd: fd, buf: rawsys.Prefaulted(4096)}
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
	c.pollLinksLocked()
	k := keyOf(a)
	req := c.reqs[k]
	if req == nil {
		idx, err := c.indexLocked(a.Dev)
		if errors.Is(err, unix.ENODEV) {
			return ErrNoDevice
		} else if err != nil {
			return fmt.Errorf("look up device: %w", err)
		}
		req = addRequest(a, idx)
		if c.links != nil {
			if len(c.reqs) >= maxKeptRequests {
				clear(c.reqs)
			}
			c.reqs[k] = req
		}
	}
	return c.doLocked(req)
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

// doLocked sends one request (its header's sequence number is set here)
// and waits for its ack: nil, or the kernel's errno; c.mu held. The socket
// is bound and unconnected, so a plain write goes to the kernel and a read
// takes the next message, without Sendto's and Recvfrom's sockaddrs.
func (c *rawConn) doLocked(req []byte) error {
	c.seq++
	binary.NativeEndian.PutUint32(req[8:], c.seq)
	for {
		_, err := unix.Write(c.fd, req)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	for {
		n, err := c.readLocked()
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if ours, err := ackOf(c.buf[:n], c.seq); ours {
			return err
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

// ackOf looks in b, the messages of one read, for the ack of request seq:
// ours false if it is not there (an earlier request's late ack).
func ackOf(b []byte, seq uint32) (ours bool, err error) {
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(b[0:]))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return true, errors.New("malformed netlink reply")
		}
		typ, mseq := binary.NativeEndian.Uint16(b[4:]), binary.NativeEndian.Uint32(b[8:])
		if typ == unix.NLMSG_ERROR && mseq == seq {
			if l < unix.NLMSG_HDRLEN+4 {
				return true, errors.New("short netlink ack")
			}
			if e := int32(binary.NativeEndian.Uint32(b[unix.NLMSG_HDRLEN:])); e != 0 {
				return true, unix.Errno(-e)
			}
			return true, nil
		}
		b = b[min(len(b), (l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1)):]
	}
	return false, nil
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

package vip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"
)

// The address add of a VRRP takeover, between its first advert and its first
// gratuitous ARP, goes over a bare rtnetlink socket kept per namespace: an
// ioctl on it for the device's index, one sendto(2), which adds the address
// inside the kernel, and one recvfrom(2) for the ack; with link's socket, ioctl
// and close and AddrAdd's getsockname and 64 KiB receive buffer per request,
// that was seven system calls, each 20-60 us on a CPU that was idle (the
// takeover comes after Master_Down_Interval of silence). The message is the
// one AddrAdd builds from toNetlink's Addr.

// rawConn is a bound NETLINK_ROUTE socket used for requests and their acks
// only (it joins no group).
type rawConn struct {
	mu  sync.Mutex
	fd  int
	seq uint32
	buf []byte
}

func openRaw() (*rawConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &rawConn{fd: fd, buf: make([]byte, 4096)}, nil
}

// add adds a: its device's index (an ioctl on the socket itself, so in
// the socket's namespace, which is the request's), then the request.
func (c *rawConn) add(a Address) error {
	ifr, err := unix.NewIfreq(a.Dev)
	if err != nil {
		return fmt.Errorf("look up device: %w", err)
	}
	if err := unix.IoctlIfreq(c.fd, unix.SIOCGIFINDEX, ifr); errors.Is(err, unix.ENODEV) {
		return ErrNoDevice
	} else if err != nil {
		return fmt.Errorf("look up device: %w", err)
	}
	return c.do(addRequest(a, int(ifr.Uint32())))
}

// do sends one request (its header's sequence number is set here) and
// waits for its ack: nil, or the kernel's errno.
func (c *rawConn) do(req []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	binary.NativeEndian.PutUint32(req[8:], c.seq)
	if err := unix.Sendto(c.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	for {
		n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
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
// ack) for a on the device with index idx: netlink.Handle.AddrAdd's
// message for toNetlink(a), attribute by attribute.
func addRequest(a Address, idx int) []byte {
	ip := a.Prefix.Addr()
	bits := a.Prefix.Bits()
	family, scope, flags := unix.AF_INET, uint8(a.Scope), uint32(0)
	if ip.Is6() {
		family = unix.AF_INET6
		if !a.DAD {
			flags |= unix.IFA_F_NODAD
		}
	}
	for _, f := range []struct {
		on   bool
		flag uint32
	}{
		{a.Home, unix.IFA_F_HOMEADDRESS}, {a.MngTmpAddr, unix.IFA_F_MANAGETEMPADDR},
		{a.NoPrefixRoute, unix.IFA_F_NOPREFIXROUTE}, {a.AutoJoin, unix.IFA_F_MCAUTOJOIN},
	} {
		if f.on {
			flags |= f.flag
		}
	}
	b := make([]byte, unix.NLMSG_HDRLEN, 128)
	binary.NativeEndian.PutUint16(b[4:], unix.RTM_NEWADDR)
	binary.NativeEndian.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	// struct ifaddrmsg
	var msgFlags uint8
	if flags <= 0xff {
		msgFlags = uint8(flags)
	}
	b = append(b, uint8(family), uint8(bits), msgFlags, scope, 0, 0, 0, 0)
	binary.NativeEndian.PutUint32(b[len(b)-4:], uint32(idx))
	b = appendAttr(b, unix.IFA_LOCAL, ip.AsSlice())
	if a.Peer.IsValid() {
		b = appendAttr(b, unix.IFA_ADDRESS, a.Peer.AsSlice())
	} else {
		b = appendAttr(b, unix.IFA_ADDRESS, ip.AsSlice())
	}
	if flags > 0xff {
		b = appendAttr(b, unix.IFA_FLAGS, binary.NativeEndian.AppendUint32(nil, flags))
	}
	if ip.Is4() {
		// toNetlink sets 0.0.0.0 without a broadcast, which AddrAdd sends as none.
		if a.Broadcast.IsValid() && a.Broadcast != netip.IPv4Unspecified() {
			b = appendAttr(b, unix.IFA_BROADCAST, a.Broadcast.AsSlice())
		}
		if a.Label != "" {
			b = appendAttr(b, unix.IFA_LABEL, append([]byte(a.Label), 0))
		}
	}
	forever := Forever
	switch {
	case a.PreferredLft != nil:
		b = appendCacheInfo(b, *a.PreferredLft, forever)
	case ip.Is6() && bits == 128:
		b = appendCacheInfo(b, 0, forever)
	}
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	return b
}

func appendCacheInfo(b []byte, preferred, valid uint32) []byte {
	ci := make([]byte, unix.SizeofIfaCacheinfo)
	binary.NativeEndian.PutUint32(ci[0:], preferred) // ifa_prefered
	binary.NativeEndian.PutUint32(ci[4:], valid)     // ifa_valid
	return appendAttr(b, unix.IFA_CACHEINFO, ci)
}

// appendAttr appends one rtattr, padded to 4 bytes.
func appendAttr(b []byte, typ uint16, data []byte) []byte {
	l := unix.SizeofRtAttr + len(data)
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

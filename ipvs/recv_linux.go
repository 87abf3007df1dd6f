package ipvs

import (
	"os"
	"syscall"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// receiver is netlink.Conn.Receive without its per-call allocations: the
// library peeks each datagram into a fresh page, reads it into another, and
// parses it into a fresh slice (~17 KB and dozens of objects per dump of a
// service's destinations, one dump per service on every table read).
// receiver peeks into a buffer it keeps and parses in place.
//
// It reads in place only datagrams the library would accept as they are:
// data messages, ACKs and a clean end of dump. A datagram carrying an
// error (or one it cannot parse) is left queued and read by the library's
// Receive, which reports it as ever; so is a failed wait (deadline, closed
// socket). Only a failed recvmsg is reported here, as the library reports
// it. The messages returned alias the buffer until the next receive. The
// buffer grows to hold the largest reply (the service dump: ~250 KB at
// 1,000 services), and is kept.
type receiver struct {
	rc   syscall.RawConn // nil: Receive only (nltest connections have no fd)
	buf  []byte
	msgs []netlink.Message
}

const (
	recvBufSize = 32 << 10 // the kernel fills dump datagrams up to the reader's buffer (capped at 32 KiB)
	nlmsgHdrLen = syscall.NLMSG_HDRLEN
)

func newReceiver(c *netlink.Conn) receiver {
	rc, err := c.SyscallConn()
	if err != nil {
		return receiver{}
	}
	return receiver{rc: rc}
}

// receive returns what c.Receive would: every message up to the end of a
// multi-part reply, without its NLMSG_DONE.
func (r *receiver) receive(c *netlink.Conn) ([]netlink.Message, error) {
	if r.rc == nil {
		return c.Receive()
	}
	res := r.msgs[:0]
	off := 0 // datagrams are stacked in buf: res aliases the earlier ones
	for {
		if len(r.buf)-off < recvBufSize {
			// A new array: the messages already parsed keep the old one.
			r.buf, off = make([]byte, max(2*len(r.buf), 2*recvBufSize)), 0
		}
		n, waited, err := r.recv(r.buf[off:], unix.MSG_PEEK|unix.MSG_TRUNC)
		if err != nil {
			return nil, err
		}
		if n > len(r.buf)-off { // truncated: make room and peek again
			r.buf, off = make([]byte, max(2*len(r.buf), 2*n)), 0
			continue
		}
		var multi, ok bool
		if waited {
			res, multi, ok = parseClean(r.buf[off:off+n], res)
		}
		if !ok { // the library reads this datagram and the rest of the reply
			rest, err := c.Receive()
			if err != nil {
				return nil, err
			}
			r.msgs = res[:0]
			return append(res, rest...), nil
		}
		if _, waited, err := r.recv(nil, unix.MSG_TRUNC); err != nil { // dequeue it
			return nil, err
		} else if !waited { // closed meanwhile
			return nil, &netlink.OpError{Op: "receive", Err: os.NewSyscallError("recvmsg", unix.EBADF)}
		}
		off += nlmsgAlign(n)
		if !multi {
			break
		}
	}
	r.msgs = res[:0]
	if len(res) > 0 {
		if m := res[len(res)-1]; m.Header.Flags&netlink.Multi != 0 && m.Header.Type == netlink.Done {
			res = res[:len(res)-1]
		}
	}
	return res, nil
}

// recv runs recvfrom(2) with flags into b once the socket is readable.
// waited is false if the wait failed (deadline, closed socket): nothing
// was read. err is a failed recvfrom, as netlink.Conn reports a failed
// recvmsg.
func (r *receiver) recv(b []byte, flags int) (n int, waited bool, err error) {
	var errno syscall.Errno
	werr := r.rc.Read(func(fd uintptr) bool {
		var p unsafe.Pointer
		if len(b) > 0 {
			p = unsafe.Pointer(&b[0])
		}
		r1, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(p), uintptr(len(b)),
			uintptr(flags|unix.MSG_DONTWAIT), 0, 0)
		n, errno = int(r1), e
		return errno != unix.EAGAIN && errno != unix.EINTR && errno != unix.EINPROGRESS
	})
	if werr != nil {
		return 0, false, nil
	}
	if errno != 0 {
		return 0, true, &netlink.OpError{Op: "receive", Err: os.NewSyscallError("recvmsg", errno)}
	}
	return n, true, nil
}

func nlmsgAlign(n int) int { return (n + syscall.NLMSG_ALIGNTO - 1) &^ (syscall.NLMSG_ALIGNTO - 1) }

// parseClean appends the messages of datagram b to msgs as
// syscall.ParseNetlinkMessage would parse them, and reports whether the
// reply goes on (a multi-part message other than NLMSG_DONE came last); ok
// is false if b does not parse or carries an error (the library's
// checkMessage would fail it).
func parseClean(b []byte, msgs []netlink.Message) (_ []netlink.Message, multi, ok bool) {
	start := len(msgs)
	for len(b) >= nlmsgHdrLen {
		h := netlink.Header{
			Length:   ne.Uint32(b),
			Type:     netlink.HeaderType(ne.Uint16(b[4:])),
			Flags:    netlink.HeaderFlags(ne.Uint16(b[6:])),
			Sequence: ne.Uint32(b[8:]),
			PID:      ne.Uint32(b[12:]),
		}
		l := nlmsgAlign(int(h.Length))
		if int(h.Length) < nlmsgHdrLen || l > len(b) {
			return msgs[:start], false, false
		}
		m := netlink.Message{Header: h, Data: b[nlmsgHdrLen:h.Length]}
		if !clean(m) {
			return msgs[:start], false, false
		}
		if h.Flags&netlink.Multi != 0 {
			multi = h.Type != netlink.Done
		}
		msgs = append(msgs, m)
		b = b[l:]
	}
	return msgs, multi, true
}

// clean reports whether the library's checkMessage passes m: not an
// error, an ACK (errno 0), or an NLMSG_DONE without an errno.
func clean(m netlink.Message) bool {
	switch {
	case m.Header.Type == netlink.Error:
	case m.Header.Type == netlink.Done && m.Header.Flags&netlink.Multi != 0:
		if len(m.Data) == 0 {
			return true
		}
	default:
		return true
	}
	return len(m.Data) >= 4 && ne.Uint32(m.Data) == 0
}

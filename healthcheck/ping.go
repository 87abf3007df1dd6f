package healthcheck

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// PingOptions configure a PING_CHECK (ICMP / ICMPv6 echo). Only ConnectIP, BindTo
// and ConnectTimeout of Conn are used.
type PingOptions struct {
	Conn
}

// PingChecker is PING_CHECK. It uses an unprivileged ICMP datagram socket when
// net.ipv4.ping_group_range allows it and a raw socket otherwise (root or
// CAP_NET_RAW).
type PingChecker struct{ opts PingOptions }

var (
	_ Checker  = (*PingChecker)(nil)
	_ Definer  = (*PingChecker)(nil)
	_ Budgeter = (*PingChecker)(nil)
)

var pingSeq atomic.Uint32

// NewPing validates opts and returns a PING_CHECK checker.
func NewPing(opts PingOptions) (*PingChecker, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("PING_CHECK: %w", err)
	}
	return &PingChecker{opts: opts}, nil
}

// Definition returns the options.
func (c *PingChecker) Definition() any { return c.opts }

// Budget is connect_timeout.
func (c *PingChecker) Budget() time.Duration { return c.opts.timeout() }

// ErrNoICMPSocket is returned (wrapped) when neither an unprivileged nor a raw ICMP
// socket can be opened.
var ErrNoICMPSocket = errors.New("no ICMP socket permitted")

// listenICMP opens an ICMP socket for the family of dst; raw reports whether it
// is a raw socket (then the kernel does not filter replies by echo ID).
func listenICMP(v4 bool, bind string) (pc *icmp.PacketConn, raw bool, err error) {
	dgram, rawNet, any := "udp6", "ip6:ipv6-icmp", "::"
	if v4 {
		dgram, rawNet, any = "udp4", "ip4:icmp", "0.0.0.0"
	}
	if bind == "" {
		bind = any
	}
	pc, err1 := icmp.ListenPacket(dgram, bind)
	if err1 == nil {
		return pc, false, nil
	}
	pc, err2 := icmp.ListenPacket(rawNet, bind)
	if err2 == nil {
		return pc, true, nil
	}
	return nil, false, fmt.Errorf("%w: %s: %v; %s: %v", ErrNoICMPSocket, dgram, err1, rawNet, err2)
}

// Check sends one echo request and waits for the matching reply.
func (c *PingChecker) Check(ctx context.Context) Result {
	start := time.Now()
	ctx, cancel := withTimeout(ctx, c.opts.timeout())
	defer cancel()
	dst := c.opts.ConnectIP.Unmap()
	v4 := dst.Is4()
	bind := ""
	if c.opts.BindTo.IsValid() {
		bind = c.opts.BindTo.Unmap().String()
	}
	pc, raw, err := listenICMP(v4, bind)
	if err != nil {
		return failResult(start, ReasonPermission, "%v", err)
	}
	defer func() { _ = pc.Close() }()
	if dl, ok := ctx.Deadline(); ok {
		_ = pc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = pc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var idb [2]byte
	_, _ = rand.Read(idb[:])
	id := int(binary.BigEndian.Uint16(idb[:]))
	seq := int(pingSeq.Add(1) & 0xffff)
	data := make([]byte, 16)
	_, _ = rand.Read(data)
	var typ icmp.Type = ipv4.ICMPTypeEcho
	var replyType icmp.Type = ipv4.ICMPTypeEchoReply
	proto := 1
	if !v4 {
		typ, replyType, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	}
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: data}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return failResult(start, ReasonError, "marshal echo: %v", err)
	}
	var to net.Addr = &net.UDPAddr{IP: dst.AsSlice(), Zone: c.opts.ConnectIP.Zone()}
	if raw {
		to = &net.IPAddr{IP: dst.AsSlice(), Zone: c.opts.ConnectIP.Zone()}
	}
	if _, err := pc.WriteTo(b, to); err != nil {
		return errResult(ctx, start, "send echo", ioErr(ctx, err))
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			r := errResult(ctx, start, "receive", ioErr(ctx, err))
			if r.Reason == ReasonTimeout {
				r.Reason, r.Detail = ReasonNoReply, fmt.Sprintf("no echo reply within %v", c.opts.timeout())
			}
			return r
		}
		if raw && !sameIP(from, dst.AsSlice()) {
			continue
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != replyType {
			if m != nil && (m.Type == ipv4.ICMPTypeDestinationUnreachable || m.Type == ipv6.ICMPTypeDestinationUnreachable) && !raw {
				return failResult(start, ReasonUnreach, "destination unreachable")
			}
			continue
		}
		e, ok := m.Body.(*icmp.Echo)
		// Datagram sockets get their ID rewritten by the kernel; match seq + data.
		if !ok || e.Seq != seq || (raw && e.ID != id) || !bytes.Equal(e.Data, data) {
			continue
		}
		return okResult(start)
	}
}

func sameIP(a net.Addr, ip net.IP) bool {
	switch a := a.(type) {
	case *net.IPAddr:
		return a.IP.Equal(ip)
	case *net.UDPAddr:
		return a.IP.Equal(ip)
	}
	return false
}

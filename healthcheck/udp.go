package healthcheck

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// HexPattern is a parsed keepalived HEX_STR: Data with a per-bit Mask (a mask bit of
// 0 means "ignore", from an x/X nibble).
type HexPattern struct {
	Data []byte
	Mask []byte
}

// ParseHex parses keepalived's free-format HEX_STR: whitespace-separated groups,
// each read two digits per byte with a trailing odd digit forming a byte of its own
// ("Ab12f 3 456" = AB 12 0F 03 45 06). If wildcard, x or X stands for an ignored
// nibble (require_reply); otherwise it is an error.
func ParseHex(s string, wildcard bool) (HexPattern, error) {
	var p HexPattern
	nib := func(c byte) (v, m byte, err error) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', 0xf, nil
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, 0xf, nil
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, 0xf, nil
		case (c == 'x' || c == 'X') && wildcard:
			return 0, 0, nil
		}
		return 0, 0, fmt.Errorf("hex string %q: bad character %q", s, c)
	}
	for _, tok := range strings.Fields(s) {
		for i := 0; i < len(tok); i += 2 {
			hv, hm, err := nib(tok[i])
			if err != nil {
				return HexPattern{}, err
			}
			if i+1 == len(tok) { // odd digit out: a byte of its own
				p.Data = append(p.Data, hv)
				p.Mask = append(p.Mask, 0xf0|hm) // the implied high nibble is 0
				break
			}
			lv, lm, err := nib(tok[i+1])
			if err != nil {
				return HexPattern{}, err
			}
			p.Data = append(p.Data, hv<<4|lv)
			p.Mask = append(p.Mask, hm<<4|lm)
		}
	}
	if len(p.Data) == 0 {
		return HexPattern{}, fmt.Errorf("hex string %q: empty", s)
	}
	return p, nil
}

// Match reports whether b matches p up to the shorter of the two lengths, as
// keepalived compares require_reply.
func (p HexPattern) Match(b []byte) bool {
	n := min(len(b), len(p.Data))
	for i := 0; i < n; i++ {
		if (b[i]^p.Data[i])&p.Mask[i] != 0 {
			return false
		}
	}
	return true
}

// UDPOptions configure a UDP_CHECK.
type UDPOptions struct {
	Conn
	// Payload is sent as the datagram; nil means 16 random bytes.
	Payload []byte
	// RequireReply requires a reply; ReplyPattern (optional, from require_reply
	// HEX_STR) must then match the reply.
	RequireReply bool
	ReplyPattern *HexPattern
	// MinReplyLength and MaxReplyLength bound the reply length when a reply is
	// required (defaults 0 and 255; MaxReplyLength 0 means 255).
	MinReplyLength, MaxReplyLength int
}

// udpBufs are UDP_CHECK's receive buffers (a datagram can be 64 KiB; a
// buffer per check was most of its allocation).
var udpBufs = sync.Pool{New: func() any { b := make([]byte, 65536); return &b }}

// UDPChecker is UDP_CHECK. Without RequireReply the check fails only on an ICMP
// error (port/host unreachable) within connect_timeout.
type UDPChecker struct{ opts UDPOptions }

var (
	_ Checker  = (*UDPChecker)(nil)
	_ Definer  = (*UDPChecker)(nil)
	_ Budgeter = (*UDPChecker)(nil)
)

// NewUDP validates opts and returns a UDP_CHECK checker.
func NewUDP(opts UDPOptions) (*UDPChecker, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("UDP_CHECK: %w", err)
	}
	if opts.ConnectPort == 0 {
		return nil, errors.New("UDP_CHECK: connect_port: no port")
	}
	if opts.MaxReplyLength == 0 {
		opts.MaxReplyLength = 255
	}
	if opts.MinReplyLength < 0 || opts.MinReplyLength > opts.MaxReplyLength {
		return nil, fmt.Errorf("UDP_CHECK: min_reply_length %d / max_reply_length %d: bad range",
			opts.MinReplyLength, opts.MaxReplyLength)
	}
	if p := opts.ReplyPattern; p != nil && len(p.Mask) != len(p.Data) {
		return nil, errors.New("UDP_CHECK: require_reply: pattern mask length differs from data")
	}
	return &UDPChecker{opts: opts}, nil
}

// Definition returns the options.
func (c *UDPChecker) Definition() any { return c.opts }

// Budget is connect_timeout.
func (c *UDPChecker) Budget() time.Duration { return c.opts.timeout() }

// Check sends the payload and waits for a reply or an ICMP error.
func (c *UDPChecker) Check(ctx context.Context) Result {
	start := time.Now()
	ctx, cancel := withTimeout(ctx, c.opts.timeout())
	defer cancel()
	conn, err := c.opts.dialer(true).DialContext(ctx, c.opts.network("udp"), c.opts.target())
	if err != nil {
		return errResult(ctx, start, "connect", ioErr(ctx, err))
	}
	defer func() { _ = conn.Close() }()
	stop := bindConn(ctx, conn)
	defer stop()
	payload := c.opts.Payload
	if payload == nil {
		payload = make([]byte, 16)
		_, _ = rand.Read(payload)
	}
	if _, err := conn.Write(payload); err != nil {
		return errResult(ctx, start, "send", ioErr(ctx, err))
	}
	bp := udpBufs.Get().(*[]byte)
	defer udpBufs.Put(bp)
	buf := *bp
	n, err := conn.Read(buf)
	if err != nil {
		err = ioErr(ctx, err)
		r := errResult(ctx, start, "receive", err)
		if r.Reason != ReasonTimeout || errors.Is(context.Cause(ctx), ErrJobTimeout) {
			return r
		}
		if c.opts.RequireReply {
			return failResult(start, ReasonNoReply, "no reply within %v", c.opts.timeout())
		}
		return okResult(start) // no ICMP error within connect_timeout
	}
	if !c.opts.RequireReply {
		return okResult(start)
	}
	if n < c.opts.MinReplyLength || n > c.opts.MaxReplyLength {
		return failResult(start, ReasonReply, "reply length %d outside %d-%d", n, c.opts.MinReplyLength, c.opts.MaxReplyLength)
	}
	if p := c.opts.ReplyPattern; p != nil && !p.Match(buf[:n]) {
		return failResult(start, ReasonReply, "reply %x does not match %x", buf[:n], p.Data)
	}
	return okResult(start)
}

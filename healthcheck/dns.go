package healthcheck

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSTypes are DNS_CHECK's query types.
var DNSTypes = map[string]dnsmessage.Type{
	"A": dnsmessage.TypeA, "NS": dnsmessage.TypeNS, "CNAME": dnsmessage.TypeCNAME,
	"SOA": dnsmessage.TypeSOA, "MX": dnsmessage.TypeMX, "TXT": dnsmessage.TypeTXT,
	"AAAA": dnsmessage.TypeAAAA,
}

// DNSOptions configure a DNS_CHECK (UDP).
type DNSOptions struct {
	Conn
	// Type is the query type name (A, NS, CNAME, SOA, MX, TXT, AAAA); default SOA.
	Type string
	// Name is the query name; default "." (the root).
	Name string
}

// DNSChecker is DNS_CHECK: one query; OK when the reply has the query's ID, no
// error RCODE and at least one answer of the queried type.
type DNSChecker struct {
	opts  DNSOptions
	qtype dnsmessage.Type
	qname dnsmessage.Name
}

var (
	_ Checker  = (*DNSChecker)(nil)
	_ Definer  = (*DNSChecker)(nil)
	_ Budgeter = (*DNSChecker)(nil)
)

// NewDNS validates opts and returns a DNS_CHECK checker.
func NewDNS(opts DNSOptions) (*DNSChecker, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("DNS_CHECK: %w", err)
	}
	if opts.ConnectPort == 0 {
		return nil, fmt.Errorf("DNS_CHECK: connect_port: no port")
	}
	t := opts.Type
	if t == "" {
		t = "SOA"
	}
	qt, ok := DNSTypes[strings.ToUpper(t)]
	if !ok {
		return nil, fmt.Errorf("DNS_CHECK: type %q: want one of A, NS, CNAME, SOA, MX, TXT, AAAA", opts.Type)
	}
	name := opts.Name
	if name == "" {
		name = "."
	}
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	qn, err := dnsmessage.NewName(name)
	if err != nil {
		return nil, fmt.Errorf("DNS_CHECK: name %q: %w", opts.Name, err)
	}
	return &DNSChecker{opts: opts, qtype: qt, qname: qn}, nil
}

// Definition returns the options.
func (c *DNSChecker) Definition() any { return c.opts }

// Budget is connect_timeout.
func (c *DNSChecker) Budget() time.Duration { return c.opts.timeout() }

// Check sends one query and waits for its reply.
func (c *DNSChecker) Check(ctx context.Context) Result {
	start := time.Now()
	ctx, cancel := withTimeout(ctx, c.opts.timeout())
	defer cancel()
	var idb [2]byte
	_, _ = rand.Read(idb[:])
	id := binary.BigEndian.Uint16(idb[:])
	q := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: c.qname, Type: c.qtype, Class: dnsmessage.ClassINET}},
	}
	pkt, err := q.Pack()
	if err != nil {
		return failResult(start, ReasonError, "pack query: %v", err)
	}
	conn, err := c.opts.dialer(true).DialContext(ctx, c.opts.network("udp"), c.opts.target())
	if err != nil {
		return errResult(ctx, start, "connect", ioErr(ctx, err))
	}
	defer func() { _ = conn.Close() }()
	stop := bindConn(ctx, conn)
	defer stop()
	if _, err := conn.Write(pkt); err != nil {
		return errResult(ctx, start, "send", ioErr(ctx, err))
	}
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			err = ioErr(ctx, err)
			r := errResult(ctx, start, "receive", err)
			if r.Reason == ReasonTimeout {
				r.Reason = ReasonNoReply
				r.Detail = "no reply within " + c.opts.timeout().String()
			}
			return r
		}
		res, done := c.verify(start, id, buf[:n])
		if done {
			return res
		}
	}
}

// verify checks a reply; done is false for datagrams to ignore (another ID).
func (c *DNSChecker) verify(start time.Time, id uint16, pkt []byte) (Result, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(pkt)
	if err != nil {
		return Result{}, false
	}
	if h.ID != id || !h.Response {
		return Result{}, false
	}
	if h.RCode != dnsmessage.RCodeSuccess {
		return failResult(start, ReasonRcode, "rcode %v", h.RCode), true
	}
	qs, err := p.AllQuestions()
	if err != nil {
		return failResult(start, ReasonProtocol, "question section: %v", err), true
	}
	if len(qs) != 1 || qs[0].Type != c.qtype || !strings.EqualFold(qs[0].Name.String(), c.qname.String()) {
		return failResult(start, ReasonProtocol, "reply question does not match the query"), true
	}
	for {
		ah, err := p.AnswerHeader()
		if err != nil {
			break // ErrSectionDone or malformed: stop looking
		}
		if ah.Type == c.qtype {
			return okResult(start), true
		}
		if err := p.SkipAnswer(); err != nil {
			break
		}
	}
	return failResult(start, ReasonNoAnswer, "no %v answer for %s", c.qtype, c.qname), true
}

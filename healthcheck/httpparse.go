package healthcheck

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
)

// The event loop's HTTP_GET response reader. It parses the response head in
// place and streams the body into the MD5 digest (and, for a regex, into a
// copy of the body) as it arrives, the way keepalived does: nothing but the
// head is buffered, and a check makes no allocation of its own.
//
// It gives the results net/http's http.ReadResponse gives (readResp, the
// blocking path), because it only takes the responses it is sure of: a status
// line "HTTP/1.0" or "HTTP/1.1", three digits, header lines of a token, a
// colon and printable bytes, the length from Content-Length or the end of the
// connection. Anything else (a malformed head, folded or odd header lines,
// differing Content-Lengths, Transfer-Encoding on HTTP/1.1, a head cut short by
// the end of the connection or an error) is handed to readResp over the
// buffered bytes, as before: the rare case pays, and its result and error text
// are net/http's. FuzzHTTPResponse checks the two agree.

// maxFastHead is the longest head parsed in place; a longer one goes to readResp.
const maxFastHead = 64 << 10

// headState is what parseHead found.
type headState int

const (
	headMore  headState = iota // no complete head yet
	headOK                     // a head parseHead takes
	headOther                  // a head for readResp (malformed or unusual)
)

// respHead is a parsed response head.
type respHead struct {
	status int
	// bodyLen is the body's length: -1 means up to the end of the connection.
	bodyLen int64
}

// parseHead parses the response head at the start of b; n is its length,
// blank line included.
func parseHead(b []byte) (h respHead, n int, st headState) {
	// The status line: "HTTP/1.x", spaces, three digits, then a space or the end.
	eol := bytes.IndexByte(b, '\n')
	if eol < 0 {
		if len(b) >= 9 && !isFastProto(b[:9]) {
			return h, 0, headOther
		}
		return h, 0, headMore
	}
	line := trimCR(b[:eol])
	if len(line) < 9 || !isFastProto(line[:9]) || bytes.IndexByte(line, '\r') >= 0 {
		return h, 0, headOther
	}
	http11 := line[7] == '1'
	rest := line[9:]
	for len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	if len(rest) < 3 || !isDigit(rest[0]) || !isDigit(rest[1]) || !isDigit(rest[2]) || len(rest) > 3 && rest[3] != ' ' {
		return h, 0, headOther
	}
	h.status = int(rest[0]-'0')*100 + int(rest[1]-'0')*10 + int(rest[2]-'0')
	h.bodyLen = -1
	// Header lines up to a blank line.
	var cl []byte
	haveCL := false
	for off := eol + 1; ; {
		eol = bytes.IndexByte(b[off:], '\n')
		if eol < 0 {
			return h, 0, headMore
		}
		line = trimCR(b[off : off+eol])
		off += eol + 1
		if len(line) == 0 {
			n = off
			break
		}
		key, val, ok := headerLine(line)
		if !ok {
			return h, 0, headOther
		}
		switch {
		case asciiEqualFold(key, "Content-Length"):
			if haveCL && !bytes.Equal(cl, val) {
				return h, 0, headOther
			}
			cl, haveCL = val, true
		case asciiEqualFold(key, "Transfer-Encoding") && http11:
			return h, 0, headOther // chunked (or an error): readResp
		}
	}
	if haveCL {
		// 1 to 18 digits: strconv.ParseUint(cl, 10, 63) takes them all.
		if len(cl) == 0 || len(cl) > 18 {
			return h, 0, headOther
		}
		var v int64
		for _, c := range cl {
			if !isDigit(c) {
				return h, 0, headOther
			}
			v = v*10 + int64(c-'0')
		}
		h.bodyLen = v
	}
	if h.status/100 == 1 || h.status == 204 || h.status == 304 {
		h.bodyLen = 0
	}
	return h, n, headOK
}

func isFastProto(b []byte) bool {
	return string(b) == "HTTP/1.0 " || string(b) == "HTTP/1.1 "
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// trimCR drops the '\r' of a line's "\r\n".
func trimCR(line []byte) []byte {
	if len(line) > 0 && line[len(line)-1] == '\r' {
		return line[:len(line)-1]
	}
	return line
}

// headerLine splits a header line the way net/textproto takes it without
// question: a token, a colon, then bytes that are printable, space, tab or
// above 0x7f; the value without the spaces and tabs around it.
func headerLine(line []byte) (key, val []byte, ok bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return nil, nil, false
	}
	key, val = line[:i], line[i+1:]
	for _, c := range key {
		if !isTokenByte(c) {
			return nil, nil, false
		}
	}
	for _, c := range val {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return nil, nil, false
		}
	}
	for len(val) > 0 && (val[0] == ' ' || val[0] == '\t') {
		val = val[1:]
	}
	for len(val) > 0 && (val[len(val)-1] == ' ' || val[len(val)-1] == '\t') {
		val = val[:len(val)-1]
	}
	return key, val, true
}

// isTokenByte reports an RFC 7230 tchar.
func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c < 0x80 && bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// md5s are the digests of the loop's HTTP reads.
var md5s = sync.Pool{New: func() any { return md5.New() }}

const (
	rrHead = iota // reading the head
	rrBody        // streaming the body
	rrSlow        // buffering the whole response for readResp
)

// respReader reads one response from successive reads: the caller reads into
// space(), then calls advance with the count, or end with the read's error
// (io.EOF at the end of the connection). Either may finish the response
// (done); then release returns the buffers.
type respReader struct {
	r      *fetchReq
	buf    *[]byte // the head, then the last read; everything in rrSlow
	phase  int
	scan   int   // where to look for the head's end
	parsed int   // rrSlow: the length at the last parse
	left   int64 // rrBody: body bytes still wanted
	toEOF  bool  // rrBody: the body ends with the connection
	h      hash.Hash
	body   []byte
	sum    [md5.Size]byte
	status int
}

func (rr *respReader) reset(r *fetchReq) {
	if rr.buf == nil {
		rr.buf = respBufs.Get().(*[]byte)
	}
	*rr.buf = (*rr.buf)[:0]
	rr.r, rr.phase, rr.scan, rr.parsed, rr.body = r, rrHead, 0, 0, nil
}

// space is where the next read goes (never empty).
func (rr *respReader) space() []byte {
	b := *rr.buf
	if len(b) == cap(b) {
		b = append(b, 0)[:len(b)]
		*rr.buf = b
	}
	return b[len(b):cap(b)]
}

// advance takes n bytes read into space().
func (rr *respReader) advance(n int, ctx context.Context) (resp fetchResp, err error, done bool) {
	b := (*rr.buf)[:len(*rr.buf)+n]
	*rr.buf = b
	switch rr.phase {
	case rrBody:
		*rr.buf = b[:0]
		return rr.feed(b)
	case rrSlow:
		// Parse after every read of a short response; of a long one only when
		// it doubled, so that a large body costs linear time.
		if len(b) > 64<<10 && len(b) < 2*rr.parsed {
			return fetchResp{}, nil, false
		}
		return rr.slow(errNeedMore, ctx)
	}
	// The head ends at the first "\n\n" or "\n\r\n".
	i := rr.scan
	for ; i < len(b); i++ {
		if b[i] == '\n' && i > 0 && (b[i-1] == '\n' || b[i-1] == '\r' && i > 1 && b[i-2] == '\n') {
			break
		}
	}
	if i == len(b) {
		rr.scan = max(0, len(b)-2)
		if len(b) > maxFastHead {
			rr.phase = rrSlow
			return rr.slow(errNeedMore, ctx)
		}
		// A response that is not HTTP/1.x is readResp's at once.
		if _, _, st := parseHead(b); st == headOther {
			rr.phase = rrSlow
			return rr.slow(errNeedMore, ctx)
		}
		return fetchResp{}, nil, false
	}
	h, hn, st := parseHead(b)
	if st != headOK {
		// headMore: the blank line ends the status line, not a head
		rr.phase = rrSlow
		return rr.slow(errNeedMore, ctx)
	}
	rr.phase, rr.status = rrBody, h.status
	maxBody := rr.r.maxBody
	if maxBody <= 0 {
		maxBody = 16 << 20
	}
	rr.left, rr.toEOF = maxBody, h.bodyLen < 0
	if h.bodyLen >= 0 && h.bodyLen < maxBody {
		rr.left = h.bodyLen
	}
	if rr.r.digest {
		rr.h = md5s.Get().(hash.Hash)
		rr.h.Reset()
	}
	*rr.buf = b[:0]
	return rr.feed(b[hn:])
}

// feed takes body bytes.
func (rr *respReader) feed(p []byte) (fetchResp, error, bool) {
	if int64(len(p)) > rr.left {
		p = p[:rr.left]
	}
	rr.left -= int64(len(p))
	if rr.h != nil {
		_, _ = rr.h.Write(p)
	}
	if rr.r.keepBody {
		rr.body = append(rr.body, p...)
	}
	if rr.left > 0 {
		return fetchResp{}, nil, false
	}
	return rr.finish(), nil, true
}

func (rr *respReader) finish() fetchResp {
	out := fetchResp{status: rr.status, body: rr.body}
	if rr.h != nil {
		rr.h.Sum(rr.sum[:0])
		out.sum, out.hasSum = rr.sum, true
		md5s.Put(rr.h)
		rr.h = nil
	}
	return out
}

// end finishes the response with the read's error (io.EOF: the connection's end).
func (rr *respReader) end(final error, ctx context.Context) (fetchResp, error) {
	switch rr.phase {
	case rrBody:
		if final == io.EOF && rr.toEOF {
			return rr.finish(), nil
		}
		if final == io.EOF {
			final = io.ErrUnexpectedEOF // a Content-Length body cut short
		}
		rr.dropHash()
		return fetchResp{}, fmt.Errorf("read body: %w", ioErr(ctx, final))
	}
	resp, err, _ := rr.slow(final, ctx)
	return resp, err
}

// slow reads the buffered response with readResp (net/http), followed by final.
func (rr *respReader) slow(final error, ctx context.Context) (fetchResp, error, bool) {
	rr.phase = rrSlow
	rr.parsed = len(*rr.buf)
	br := readers.Get().(*bufio.Reader)
	src := bufSrc{b: *rr.buf, err: final}
	br.Reset(&src)
	resp, err := readResp(ctx, br, *rr.r)
	br.Reset(nil)
	readers.Put(br)
	if src.more || errors.Is(err, errNeedMore) {
		return fetchResp{}, nil, false
	}
	return resp, err, true
}

func (rr *respReader) dropHash() {
	if rr.h != nil {
		md5s.Put(rr.h)
		rr.h = nil
	}
}

// release returns the buffers.
func (rr *respReader) release() {
	rr.dropHash()
	rr.body = nil
	if rr.buf != nil {
		if cap(*rr.buf) <= 64<<10 {
			respBufs.Put(rr.buf)
		}
		rr.buf = nil
	}
}

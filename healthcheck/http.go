package healthcheck

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HTTP protocol versions of http_protocol.
const (
	HTTP10      = "1.0"  // keepalived's default
	HTTP10Close = "1.0C" // 1.0 plus "Connection: close"
	HTTP11      = "1.1"  // 1.1, always with "Connection: close"
)

// StatusRange is an inclusive range of HTTP status codes (status_code 200-299).
type StatusRange struct{ Lo, Hi int }

// DefaultStatusCodes is status_code's default, 200-299.
var DefaultStatusCodes = []StatusRange{{200, 299}}

// ParseStatusCodes parses status_code arguments such as "200", "200-299".
func ParseStatusCodes(args []string) ([]StatusRange, error) {
	var out []StatusRange
	for _, a := range args {
		lo, hi, isRange := strings.Cut(a, "-")
		l, err := strconv.Atoi(lo)
		if err != nil || l < 100 || l > 999 {
			return nil, fmt.Errorf("status_code %q: not a status code or range", a)
		}
		h := l
		if isRange {
			h, err = strconv.Atoi(hi)
			if err != nil || h < l || h > 999 {
				return nil, fmt.Errorf("status_code %q: bad range", a)
			}
		}
		out = append(out, StatusRange{l, h})
	}
	return out, nil
}

func statusOK(ranges []StatusRange, code int) bool {
	if len(ranges) == 0 {
		ranges = DefaultStatusCodes
	}
	for _, r := range ranges {
		if code >= r.Lo && code <= r.Hi {
			return true
		}
	}
	return false
}

// URL is one `url` block of HTTP_GET/SSL_GET.
type URL struct {
	Path string
	// Digest is the expected MD5 (hex) of the response body, as genhash prints it;
	// empty means not checked.
	Digest string
	// StatusCodes accepted; empty means DefaultStatusCodes.
	StatusCodes []StatusRange
	// VirtualHost overrides HTTPOptions.VirtualHost for the Host header (and SNI).
	VirtualHost string
	// Regex must match the body (RE2 syntax; keepalived uses PCRE2). With
	// RegexNoMatch a match fails the check instead.
	Regex        string
	RegexNoMatch bool
	// RegexOptions are keepalived's regex_options (PCRE2 option names, see
	// CompileRegex); RegexMinOffset and RegexMaxOffset bound where a match may
	// start (regex_min_offset, regex_max_offset; 0: not set).
	RegexOptions                   []string
	RegexMinOffset, RegexMaxOffset int
}

// HTTPOptions configure HTTP_GET (SSL false) and SSL_GET (SSL true).
type HTTPOptions struct {
	Conn
	SSL bool
	// EnableSNI sends the virtual host as TLS server name (enable_sni).
	EnableSNI bool
	// SNIName, with EnableSNI, is the TLS server name sent instead of the
	// virtual host (keepalived 2.4's sni_name).
	SNIName string
	// VerifyCert verifies the server certificate (keepalived does not). The name
	// checked is the virtual host or else connect_ip.
	VerifyCert bool
	// CAFile, CertFile and KeyFile are the global SSL block (ca, certificate, key).
	CAFile, CertFile, KeyFile string
	// KeyPassword is the SSL block's password: it decrypts an encrypted
	// private key (see loadKeyPair for the formats).
	KeyPassword string
	// Protocol is http_protocol: HTTP10 (default), HTTP10Close or HTTP11.
	Protocol string
	// VirtualHost is the default Host header (from the checker, real or virtual
	// server); empty means the connect address.
	VirtualHost string
	URLs        []URL
	// MaxBody bounds how much of a body is read (digest and regex); 0 means 16 MiB.
	MaxBody int64
}

// HTTPChecker is HTTP_GET / SSL_GET.
type HTTPChecker struct {
	opts  HTTPOptions
	tls   *tls.Config
	regex []*Regex
	reqs  [][]byte         // each URL's request, built once
	sums  [][md5.Size]byte // each URL's digest, decoded
	// target is the event loop's connect target (keepTarget).
	target rawTarget
}

var (
	_ Checker  = (*HTTPChecker)(nil)
	_ Definer  = (*HTTPChecker)(nil)
	_ Budgeter = (*HTTPChecker)(nil)
)

// NewHTTP validates opts and returns an HTTP_GET/SSL_GET checker.
func NewHTTP(opts HTTPOptions) (*HTTPChecker, error) {
	name := "HTTP_GET"
	if opts.SSL {
		name = "SSL_GET"
	}
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if opts.ConnectPort == 0 {
		return nil, fmt.Errorf("%s: connect_port: no port", name)
	}
	switch opts.Protocol {
	case "", HTTP10, HTTP10Close, HTTP11:
	default:
		return nil, fmt.Errorf("%s: http_protocol %q: want 1.0, 1.0C or 1.1", name, opts.Protocol)
	}
	if len(opts.URLs) == 0 {
		return nil, fmt.Errorf("%s: no url", name)
	}
	c := &HTTPChecker{opts: opts, regex: make([]*Regex, len(opts.URLs)), reqs: make([][]byte, len(opts.URLs)), sums: make([][md5.Size]byte, len(opts.URLs))}
	for i, u := range opts.URLs {
		if !strings.HasPrefix(u.Path, "/") {
			return nil, fmt.Errorf("%s: url %d: path %q must start with /", name, i+1, u.Path)
		}
		if u.Digest != "" {
			b, err := hex.DecodeString(u.Digest)
			if err != nil || len(b) != md5.Size {
				return nil, fmt.Errorf("%s: url %s: digest %q is not an MD5 hex string", name, u.Path, u.Digest)
			}
			c.sums[i] = [md5.Size]byte(b)
		}
		for _, r := range u.StatusCodes {
			if r.Lo > r.Hi {
				return nil, fmt.Errorf("%s: url %s: bad status_code range %d-%d", name, u.Path, r.Lo, r.Hi)
			}
		}
		if u.Regex != "" {
			re, err := CompileRegex(u.Regex, u.RegexOptions, u.RegexMinOffset, u.RegexMaxOffset)
			if err != nil {
				return nil, fmt.Errorf("%s: url %s: regex: %w", name, u.Path, err)
			}
			c.regex[i] = re
		}
	}
	if opts.SSL {
		cfg, err := tlsConfig(opts.VerifyCert, opts.CAFile, opts.CertFile, opts.KeyFile, opts.KeyPassword)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		c.tls = cfg
	}
	for i := range opts.URLs {
		c.reqs[i] = requestBytes(c.fetchReq(i))
	}
	c.target = opts.keepTarget()
	return c, nil
}

func tlsConfig(verify bool, caFile, certFile, keyFile, password string) (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: !verify} //nolint:gosec // keepalived semantics
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca %s: no PEM certificate", caFile)
		}
		cfg.RootCAs = pool
	}
	if certFile != "" || keyFile != "" {
		if keyFile == "" {
			keyFile = certFile
		}
		cert, err := loadKeyPair(certFile, keyFile, password)
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Definition returns the options.
func (c *HTTPChecker) Definition() any { return c.opts }

// Budget is connect_timeout for each URL.
func (c *HTTPChecker) Budget() time.Duration {
	return c.opts.timeout() * time.Duration(len(c.opts.URLs))
}

// Check fetches every URL (each on its own connection, each bounded by
// connect_timeout as a whole); it is OK only if all of them pass.
func (c *HTTPChecker) Check(ctx context.Context) Result {
	start := time.Now()
	for i := range c.opts.URLs {
		r := c.fetchReq(i)
		r.req = c.reqs[i]
		resp, err := fetch(ctx, r)
		if res, failed := c.judge(ctx, start, i, resp, err); failed {
			return res
		}
	}
	return okResult(start)
}

// judge checks URL i's fetch outcome; failed reports a failed check (res).
func (c *HTTPChecker) judge(ctx context.Context, start time.Time, i int, resp fetchResp, err error) (res Result, failed bool) {
	u := &c.opts.URLs[i]
	if err != nil {
		var fe *fetchError
		if errors.As(err, &fe) {
			return failResult(start, fe.reason, "%s: %v", u.Path, fe.err), true
		}
		return failResult(start, classify(ctx, err), "%s: %v", u.Path, err), true
	}
	if !statusOK(u.StatusCodes, resp.status) {
		return failResult(start, ReasonStatus, "%s: status %d", u.Path, resp.status), true
	}
	if u.Digest != "" {
		if ok, got := resp.digestIs(u.Digest, &c.sums[i]); !ok {
			return failResult(start, ReasonDigest, "%s: digest mismatch: got %s want %s", u.Path, got, strings.ToLower(u.Digest)), true
		}
	}
	if re := c.regex[i]; re != nil {
		if m := re.Match(resp.body); m == u.RegexNoMatch {
			if m {
				return failResult(start, ReasonRegex, "%s: body matches regex %q", u.Path, u.Regex), true
			}
			return failResult(start, ReasonRegex, "%s: body does not match regex %q", u.Path, u.Regex), true
		}
	}
	return Result{}, false
}

// fetchReq is URL i's request.
func (c *HTTPChecker) fetchReq(i int) fetchReq {
	u := c.opts.URLs[i]
	vhost := u.VirtualHost
	if vhost == "" {
		vhost = c.opts.VirtualHost
	}
	return fetchReq{
		conn: c.opts.Conn, tls: c.tls, sni: c.opts.EnableSNI, sniName: c.opts.SNIName, proto: c.opts.Protocol,
		vhost: vhost, path: u.Path, keepBody: c.regex[i] != nil, digest: u.Digest != "", maxBody: c.opts.MaxBody,
	}
}

type fetchReq struct {
	conn     Conn
	tls      *tls.Config // nil: plain HTTP
	sni      bool
	sniName  string // explicit SNI (genhash); overrides vhost when sni
	proto    string
	vhost    string
	path     string
	keepBody bool   // keep the body (for a regex)
	digest   bool   // compute the body's MD5
	req      []byte // the request; nil: built from the fields above
	maxBody  int64
}

type fetchResp struct {
	status int
	digest string // the body's MD5 (hex), from readResp
	body   []byte
	// sum is the body's MD5 when hasSum (from respReader: no string made
	// unless the digest differs).
	sum    [md5.Size]byte
	hasSum bool
}

// digestIs reports whether the body's MD5 is want (hex, any case), and the
// body's MD5 in hex when it is not.
func (r *fetchResp) digestIs(want string, wantSum *[md5.Size]byte) (bool, string) {
	if r.hasSum {
		if r.sum == *wantSum {
			return true, ""
		}
		return false, hex.EncodeToString(r.sum[:])
	}
	return strings.EqualFold(want, r.digest), r.digest
}

type fetchError struct {
	reason string
	err    error
}

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// requestBytes builds the request the way keepalived does.
func requestBytes(r fetchReq) []byte {
	var b strings.Builder
	proto := "HTTP/1.0"
	if r.proto == HTTP11 {
		proto = "HTTP/1.1"
	}
	fmt.Fprintf(&b, "GET %s %s\r\nUser-Agent: KeepAliveClient\r\n", r.path, proto)
	host := r.vhost
	if host == "" {
		ip := r.conn.ConnectIP.WithZone("")
		host = ip.String()
		if ip.Is6() && !ip.Is4In6() {
			host = "[" + host + "]"
		}
		defPort := uint16(80)
		if r.tls != nil {
			defPort = 443
		}
		if r.conn.ConnectPort != defPort {
			host += ":" + strconv.Itoa(int(r.conn.ConnectPort))
		}
	}
	fmt.Fprintf(&b, "Host: %s\r\n", host)
	if r.proto == HTTP10Close || r.proto == HTTP11 {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// getRequest tells http.ReadResponse the response answers a GET (it only reads it).
var getRequest = &http.Request{Method: http.MethodGet}

// readers are the response readers of finished fetches (4 KiB each).
var readers = sync.Pool{New: func() any { return bufio.NewReader(nil) }}

// copyBufs are body copy buffers (io.Copy would allocate 32 KiB per fetch).
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }}

// fetch performs one GET bounded by connect_timeout as a whole.
func fetch(ctx context.Context, r fetchReq) (fetchResp, error) {
	ctx, cancel := withTimeout(ctx, r.conn.timeout())
	defer cancel()
	var conn net.Conn
	sc, err := r.conn.dialTCP(ctx, r.tls != nil)
	if err != nil {
		return fetchResp{}, fmt.Errorf("connect: %w", ioErr(ctx, err))
	}
	conn = sc
	defer func() { _ = conn.Close() }()
	stop := bindConn(ctx, conn)
	defer stop()
	if r.tls != nil {
		cfg := r.tls.Clone()
		switch {
		case r.sni && r.sniName != "":
			cfg.ServerName = r.sniName
		case r.sni && r.vhost != "":
			cfg.ServerName = hostOnly(r.vhost)
		}
		if !cfg.InsecureSkipVerify && cfg.ServerName == "" {
			if r.vhost != "" {
				cfg.ServerName = hostOnly(r.vhost)
			} else {
				cfg.ServerName = r.conn.ConnectIP.WithZone("").String()
			}
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			err = ioErr(ctx, err)
			reason := classify(ctx, err)
			if reason == ReasonError {
				reason = ReasonTLS
			}
			return fetchResp{}, &fetchError{reason, fmt.Errorf("tls handshake: %w", err)}
		}
		conn = tc
	}
	req := r.req
	if req == nil {
		req = requestBytes(r)
	}
	if _, err := conn.Write(req); err != nil {
		return fetchResp{}, fmt.Errorf("send request: %w", ioErr(ctx, err))
	}
	br := readers.Get().(*bufio.Reader)
	br.Reset(conn)
	defer func() { br.Reset(nil); readers.Put(br) }()
	return readResp(ctx, br, r)
}

// readResp reads and checks a response (status line, headers, body) from br.
// ctx gives errors their cause (see ioErr).
func readResp(ctx context.Context, br *bufio.Reader, r fetchReq) (fetchResp, error) {
	resp, err := http.ReadResponse(br, getRequest)
	if err != nil {
		err = ioErr(ctx, err)
		reason := classify(ctx, err)
		if reason == ReasonError {
			reason = ReasonProtocol
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				reason = ReasonNoReply
			}
		}
		return fetchResp{}, &fetchError{reason, fmt.Errorf("read response: %w", err)}
	}
	defer func() { _ = resp.Body.Close() }()
	maxBody := r.maxBody
	if maxBody <= 0 {
		maxBody = 16 << 20
	}
	// The body is always read to its end (as keepalived does); it is hashed
	// only when a digest is wanted and kept only for a regex.
	var w io.Writer = io.Discard
	var h hash.Hash
	if r.digest {
		h = md5.New()
		w = h
	}
	var buf *bytes.Buffer
	if r.keepBody {
		buf = &bytes.Buffer{}
		w = buf
		if h != nil {
			w = io.MultiWriter(h, buf)
		}
	}
	bp := copyBufs.Get().(*[]byte)
	_, err = io.CopyBuffer(w, io.LimitReader(resp.Body, maxBody), *bp)
	copyBufs.Put(bp)
	if err != nil {
		return fetchResp{}, fmt.Errorf("read body: %w", ioErr(ctx, err))
	}
	out := fetchResp{status: resp.StatusCode}
	if h != nil {
		out.digest = hexSum(h)
	}
	if buf != nil {
		out.body = buf.Bytes()
	}
	return out, nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// GenhashOptions are genhash's command-line options.
type GenhashOptions struct {
	// Server and Port are the target (-s, -p); Port 0 means 80, or 443 with SSL.
	Server netip.Addr
	Port   uint16
	// SSL uses TLS (-S); SNI is the TLS server name to send (-I), empty for none.
	SSL bool
	SNI string
	// VirtualHost is the Host header (-V); empty means the server address.
	VirtualHost string
	// Protocol is the HTTP version (-P): HTTP10 (default), HTTP10Close, HTTP11.
	Protocol string
	// BindTo is the source address; Timeout bounds the request (default 5 s).
	BindTo  netip.Addr
	Timeout time.Duration
}

// Genhash fetches path (genhash -u) and returns the MD5 digest (hex) of the
// response body, as HTTP_GET's digest expects, and the HTTP status code.
func Genhash(ctx context.Context, path string, o GenhashOptions) (digest string, status int, err error) {
	if !o.Server.IsValid() {
		return "", 0, errors.New("genhash: no server address")
	}
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") {
		return "", 0, fmt.Errorf("genhash: url %q must start with /", path)
	}
	switch o.Protocol {
	case "", HTTP10, HTTP10Close, HTTP11:
	default:
		return "", 0, fmt.Errorf("genhash: protocol %q: want 1.0, 1.0C or 1.1", o.Protocol)
	}
	port := o.Port
	if port == 0 {
		port = 80
		if o.SSL {
			port = 443
		}
	}
	r := fetchReq{
		conn:  Conn{ConnectIP: o.Server, ConnectPort: port, BindTo: o.BindTo, ConnectTimeout: o.Timeout},
		proto: o.Protocol, vhost: o.VirtualHost, path: path, sni: o.SNI != "", sniName: o.SNI,
		digest: true,
	}
	if err := r.conn.validate(); err != nil {
		return "", 0, fmt.Errorf("genhash: %w", err)
	}
	if o.SSL {
		r.tls = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // genhash does not verify
	}
	resp, err := fetch(ctx, r)
	if err != nil {
		return "", 0, fmt.Errorf("genhash: %w", err)
	}
	return resp.digest, resp.status, nil
}

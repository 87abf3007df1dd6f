package healthcheck

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func mustAddrPort(t testing.TB, s string) (netip.Addr, uint16) {
	t.Helper()
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return ap.Addr(), ap.Port()
}

func connTo(t testing.TB, addr string, timeout time.Duration) Conn {
	ip, port := mustAddrPort(t, addr)
	return Conn{ConnectIP: ip, ConnectPort: port, ConnectTimeout: timeout}
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// closedPort returns a loopback TCP address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// hungServer accepts connections and never answers; it counts them.
type hungServer struct {
	l     net.Listener
	mu    sync.Mutex
	n     int
	conns []net.Conn
}

func newHungServer(t *testing.T) *hungServer {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hungServer{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.n++
			h.conns = append(h.conns, c)
			h.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		h.mu.Lock()
		for _, c := range h.conns {
			c.Close()
		}
		h.mu.Unlock()
	})
	return h
}

func (h *hungServer) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// checkOneTimeout asserts that res is a timeout that cost one timeout: not less
// than d, and well under two.
func checkOneTimeout(t *testing.T, res Result, d time.Duration) {
	t.Helper()
	if res.OK || res.Reason != ReasonTimeout {
		t.Fatalf("result %+v, want timeout", res)
	}
	if res.Duration < d || res.Duration >= 2*d {
		t.Fatalf("duration %v, want one timeout of %v", res.Duration, d)
	}
}

func TestTCPCheck(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	tests := []struct {
		name   string
		opts   TCPOptions
		reason string
	}{
		{"open", TCPOptions{Conn: connTo(t, l.Addr().String(), time.Second)}, ReasonOK},
		{"bound", TCPOptions{Conn: func() Conn {
			c := connTo(t, l.Addr().String(), time.Second)
			c.BindTo = netip.MustParseAddr("127.0.0.1")
			return c
		}()}, ReasonOK},
		{"closed", TCPOptions{Conn: connTo(t, closedPort(t), time.Second)}, ReasonRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewTCP(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			res := c.Check(context.Background())
			if res.Reason != tc.reason || res.OK != (tc.reason == ReasonOK) {
				t.Fatalf("got %+v, want %s", res, tc.reason)
			}
		})
	}
}

func TestNewCheckerErrors(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	for name, err := range map[string]error{
		"tcp no ip":   func() error { _, e := NewTCP(TCPOptions{}); return e }(),
		"tcp no port": func() error { _, e := NewTCP(TCPOptions{Conn: Conn{ConnectIP: ip}}); return e }(),
		"tcp family": func() error {
			_, e := NewTCP(TCPOptions{Conn: Conn{ConnectIP: ip, ConnectPort: 1, BindTo: netip.MustParseAddr("::1")}})
			return e
		}(),
		"http no url": func() error { _, e := NewHTTP(HTTPOptions{Conn: Conn{ConnectIP: ip, ConnectPort: 80}}); return e }(),
		"http bad proto": func() error {
			_, e := NewHTTP(HTTPOptions{Conn: Conn{ConnectIP: ip, ConnectPort: 80}, Protocol: "2", URLs: []URL{{Path: "/"}}})
			return e
		}(),
		"http bad digest": func() error {
			_, e := NewHTTP(HTTPOptions{Conn: Conn{ConnectIP: ip, ConnectPort: 80}, URLs: []URL{{Path: "/", Digest: "xyz"}}})
			return e
		}(),
		"http bad regex": func() error {
			_, e := NewHTTP(HTTPOptions{Conn: Conn{ConnectIP: ip, ConnectPort: 80}, URLs: []URL{{Path: "/", Regex: "("}}})
			return e
		}(),
		"http bad path": func() error {
			_, e := NewHTTP(HTTPOptions{Conn: Conn{ConnectIP: ip, ConnectPort: 80}, URLs: []URL{{Path: "x"}}})
			return e
		}(),
		"misc empty": func() error { _, e := NewMisc(MiscOptions{}); return e }(),
		"dns bad type": func() error {
			_, e := NewDNS(DNSOptions{Conn: Conn{ConnectIP: ip, ConnectPort: 53}, Type: "PTRX"})
			return e
		}(),
		"udp bad range": func() error {
			_, e := NewUDP(UDPOptions{Conn: Conn{ConnectIP: ip, ConnectPort: 1}, MinReplyLength: 10, MaxReplyLength: 5})
			return e
		}(),
		"smtp helo crlf": func() error {
			_, e := NewSMTP(SMTPOptions{Conn: Conn{ConnectIP: ip, ConnectPort: 25}, HeloName: "a\r\nb"})
			return e
		}(),
		"ping no ip": func() error { _, e := NewPing(PingOptions{}); return e }(),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestHTTPCheck(t *testing.T) {
	var mu sync.Mutex
	var lastHost string
	var lastReq string
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		lastHost = r.Host
		lastReq = fmt.Sprintf("%s %s close=%v", r.Proto, r.Header.Get("User-Agent"), r.Close)
		mu.Unlock()
		io.WriteString(w, "hello world")
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "part1")
		w.(http.Flusher).Flush()
		io.WriteString(w, "part2")
	})
	mux.HandleFunc("/503", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		io.WriteString(w, "down")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	tests := []struct {
		name     string
		opts     HTTPOptions
		reason   string
		wantHost string
		wantReq  string
	}{
		{name: "status default", opts: HTTPOptions{URLs: []URL{{Path: "/ok"}}}, reason: ReasonOK, wantHost: addr, wantReq: "HTTP/1.0 KeepAliveClient close=true"},
		{name: "digest ok", opts: HTTPOptions{URLs: []URL{{Path: "/ok", Digest: md5hex("hello world")}}}, reason: ReasonOK},
		{name: "digest upper", opts: HTTPOptions{URLs: []URL{{Path: "/ok", Digest: strings.ToUpper(md5hex("hello world"))}}}, reason: ReasonOK},
		{name: "digest mismatch", opts: HTTPOptions{URLs: []URL{{Path: "/ok", Digest: md5hex("other")}}}, reason: ReasonDigest},
		{name: "chunked digest is over decoded body", opts: HTTPOptions{URLs: []URL{{Path: "/chunked", Digest: md5hex("part1part2")}}, Protocol: HTTP11}, reason: ReasonOK},
		{name: "503 default", opts: HTTPOptions{URLs: []URL{{Path: "/503"}}}, reason: ReasonStatus},
		{name: "503 accepted", opts: HTTPOptions{URLs: []URL{{Path: "/503", StatusCodes: []StatusRange{{200, 299}, {503, 503}}}}}, reason: ReasonOK},
		{name: "404", opts: HTTPOptions{URLs: []URL{{Path: "/nope"}}}, reason: ReasonStatus},
		{name: "regex match", opts: HTTPOptions{URLs: []URL{{Path: "/ok", Regex: "wor.d"}}}, reason: ReasonOK},
		{name: "regex no match", opts: HTTPOptions{URLs: []URL{{Path: "/ok", Regex: "^bye"}}}, reason: ReasonRegex},
		{name: "regex_no_match matched", opts: HTTPOptions{URLs: []URL{{Path: "/ok", Regex: "hello", RegexNoMatch: true}}}, reason: ReasonRegex},
		{name: "regex_no_match ok", opts: HTTPOptions{URLs: []URL{{Path: "/ok", Regex: "bye", RegexNoMatch: true}}}, reason: ReasonOK},
		{name: "regex_options caseless", opts: HTTPOptions{URLs: []URL{{Path: "/ok", Regex: "HELLO", RegexOptions: []string{"caseless"}}}}, reason: ReasonOK},
		{name: "regex without caseless", opts: HTTPOptions{URLs: []URL{{Path: "/ok", Regex: "HELLO"}}}, reason: ReasonRegex},
		{name: "regex_min_offset past the match", opts: HTTPOptions{URLs: []URL{{Path: "/ok", Regex: "hello", RegexMinOffset: 1}}}, reason: ReasonRegex},
		{name: "regex_min_offset at the match", opts: HTTPOptions{URLs: []URL{{Path: "/ok", Regex: "world", RegexMinOffset: 6}}}, reason: ReasonOK},
		{name: "regex_max_offset before the match", opts: HTTPOptions{URLs: []URL{{Path: "/ok", Regex: "world", RegexMaxOffset: 5}}}, reason: ReasonRegex},
		{name: "regex_max_offset at the match", opts: HTTPOptions{URLs: []URL{{Path: "/ok", Regex: "world", RegexMaxOffset: 6}}}, reason: ReasonOK},
		{name: "all urls must pass", opts: HTTPOptions{URLs: []URL{{Path: "/ok"}, {Path: "/503"}}}, reason: ReasonStatus},
		{name: "vhost checker", opts: HTTPOptions{VirtualHost: "www.example.test", URLs: []URL{{Path: "/ok"}}}, reason: ReasonOK, wantHost: "www.example.test"},
		{name: "vhost url overrides", opts: HTTPOptions{VirtualHost: "a.test", URLs: []URL{{Path: "/ok", VirtualHost: "b.test"}}}, reason: ReasonOK, wantHost: "b.test"},
		{name: "http 1.0C", opts: HTTPOptions{Protocol: HTTP10Close, URLs: []URL{{Path: "/ok"}}}, reason: ReasonOK, wantReq: "HTTP/1.0 KeepAliveClient close=true"},
		{name: "http 1.1", opts: HTTPOptions{Protocol: HTTP11, URLs: []URL{{Path: "/ok"}}}, reason: ReasonOK, wantReq: "HTTP/1.1 KeepAliveClient close=true"},
		{name: "refused", opts: HTTPOptions{Conn: connTo(t, closedPort(t), time.Second), URLs: []URL{{Path: "/"}}}, reason: ReasonRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.opts.ConnectIP.IsValid() {
				tc.opts.Conn = connTo(t, addr, 2*time.Second)
			}
			c, err := NewHTTP(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			res := c.Check(context.Background())
			if res.Reason != tc.reason || res.OK != (tc.reason == ReasonOK) {
				t.Fatalf("got %+v, want %s", res, tc.reason)
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.wantHost != "" && lastHost != tc.wantHost {
				t.Errorf("Host = %q, want %q", lastHost, tc.wantHost)
			}
			if tc.wantReq != "" && lastReq != tc.wantReq {
				t.Errorf("request %q, want %q", lastReq, tc.wantReq)
			}
		})
	}
	t.Run("detail", func(t *testing.T) {
		c, _ := NewHTTP(HTTPOptions{Conn: connTo(t, addr, time.Second), URLs: []URL{{Path: "/ok", Digest: md5hex("x")}}})
		res := c.Check(context.Background())
		want := fmt.Sprintf("/ok: digest mismatch: got %s want %s", md5hex("hello world"), md5hex("x"))
		if res.Detail != want {
			t.Fatalf("detail %q, want %q", res.Detail, want)
		}
		c, _ = NewHTTP(HTTPOptions{Conn: connTo(t, addr, time.Second), URLs: []URL{{Path: "/503"}}})
		if res := c.Check(context.Background()); res.Detail != "/503: status 503" {
			t.Fatalf("detail %q", res.Detail)
		}
	})
}

func TestHTTPHungTargetCostsOneTimeout(t *testing.T) {
	h := newHungServer(t)
	const d = 150 * time.Millisecond
	c, err := NewHTTP(HTTPOptions{Conn: connTo(t, h.l.Addr().String(), d), URLs: []URL{{Path: "/"}}})
	if err != nil {
		t.Fatal(err)
	}
	res := c.Check(context.Background())
	checkOneTimeout(t, res, d)
	if n := h.count(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
	// The caller's context also bounds the check.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res := c.Check(ctx); res.OK || res.Reason != ReasonCanceled {
		t.Fatalf("cancelled: %+v", res)
	}
}

func TestSSLCheck(t *testing.T) {
	var mu sync.Mutex
	var sni string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secure")
	}))
	srv.TLS = &tls.Config{GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		mu.Lock()
		sni = hi.ServerName
		mu.Unlock()
		return nil, nil
	}}
	srv.StartTLS()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	tests := []struct {
		name    string
		opts    HTTPOptions
		reason  string
		wantSNI string
	}{
		{"no sni", HTTPOptions{VirtualHost: "www.example.test", URLs: []URL{{Path: "/", Digest: md5hex("secure")}}}, ReasonOK, ""},
		{"sni", HTTPOptions{EnableSNI: true, VirtualHost: "www.example.test", URLs: []URL{{Path: "/"}}}, ReasonOK, "www.example.test"},
		{"sni_name", HTTPOptions{EnableSNI: true, SNIName: "sni.example.test", VirtualHost: "www.example.test", URLs: []URL{{Path: "/"}}}, ReasonOK, "sni.example.test"},
		{"verify fails", HTTPOptions{VerifyCert: true, URLs: []URL{{Path: "/"}}}, ReasonTLS, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Conn = connTo(t, addr, 2*time.Second)
			tc.opts.SSL = true
			c, err := NewHTTP(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			res := c.Check(context.Background())
			if res.Reason != tc.reason {
				t.Fatalf("got %+v, want %s", res, tc.reason)
			}
			mu.Lock()
			defer mu.Unlock()
			if sni != tc.wantSNI {
				t.Fatalf("SNI %q, want %q", sni, tc.wantSNI)
			}
		})
	}
	t.Run("plain server, ssl check", func(t *testing.T) {
		plain := httptest.NewServer(http.NotFoundHandler())
		defer plain.Close()
		c, _ := NewHTTP(HTTPOptions{SSL: true, Conn: connTo(t, strings.TrimPrefix(plain.URL, "http://"), time.Second), URLs: []URL{{Path: "/"}}})
		if res := c.Check(context.Background()); res.OK || res.Reason != ReasonTLS {
			t.Fatalf("got %+v", res)
		}
	})
}

func TestGenhash(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "vh.test" {
			w.WriteHeader(404)
		}
		io.WriteString(w, "body of "+r.URL.Path)
	}))
	defer srv.Close()
	ip, port := mustAddrPort(t, strings.TrimPrefix(srv.URL, "http://"))
	d, st, err := Genhash(context.Background(), "/x", GenhashOptions{Server: ip, Port: port, VirtualHost: "vh.test"})
	if err != nil || st != 200 || d != md5hex("body of /x") {
		t.Fatalf("got %s %d %v", d, st, err)
	}
	_, st, err = Genhash(context.Background(), "/x", GenhashOptions{Server: ip, Port: port, Protocol: HTTP11})
	if err != nil || st != 404 {
		t.Fatalf("got %d %v", st, err)
	}
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "tls") }))
	defer tls.Close()
	ip, port = mustAddrPort(t, strings.TrimPrefix(tls.URL, "https://"))
	d, st, err = Genhash(context.Background(), "/", GenhashOptions{Server: ip, Port: port, SSL: true, SNI: "x.test"})
	if err != nil || st != 200 || d != md5hex("tls") {
		t.Fatalf("tls: got %s %d %v", d, st, err)
	}
	if _, _, err := Genhash(context.Background(), "nopath", GenhashOptions{Server: ip}); err == nil {
		t.Fatal("bad path accepted")
	}
}

func TestParseStatusCodes(t *testing.T) {
	got, err := ParseStatusCodes([]string{"200", "200-299", "503"})
	if err != nil || len(got) != 3 || got[1] != (StatusRange{200, 299}) || got[2] != (StatusRange{503, 503}) {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"x", "99", "300-200", "200-", "1000"} {
		if _, err := ParseStatusCodes([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMiscCheck(t *testing.T) {
	w := func(n int) *int { return &n }
	tests := []struct {
		cmd     string
		dynamic bool
		reason  string
		weight  *int
	}{
		{"exit 0", false, ReasonOK, nil},
		{"exit 1", false, ReasonExitCode, nil},
		{"exit 3", false, ReasonExitCode, nil},
		{"exit 0", true, ReasonOK, nil},
		{"exit 1", true, ReasonExitCode, nil},
		{"exit 2", true, ReasonOK, w(0)},
		{"exit 12", true, ReasonOK, w(10)},
		{"exit 255", true, ReasonOK, w(253)},
		{"kill -9 $$", false, ReasonSignal, nil},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s dyn=%v", tc.cmd, tc.dynamic), func(t *testing.T) {
			c, err := NewMisc(MiscOptions{Argv: []string{"/bin/sh", "-c", tc.cmd}, Timeout: 5 * time.Second, Dynamic: tc.dynamic})
			if err != nil {
				t.Fatal(err)
			}
			res := c.Check(context.Background())
			if res.Reason != tc.reason || res.OK != (tc.reason == ReasonOK) || !sameWeight(res.Weight, tc.weight) {
				t.Fatalf("got %+v (weight %v), want %s %v", res, res.Weight, tc.reason, tc.weight)
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		c, _ := NewMisc(MiscOptions{Argv: []string{"/bin/sh", "-c", "sleep 30"}, Timeout: 100 * time.Millisecond, Grace: 100 * time.Millisecond})
		if res := c.Check(context.Background()); res.Reason != ReasonTimeout {
			t.Fatalf("got %+v", res)
		}
	})
	t.Run("missing", func(t *testing.T) {
		c, _ := NewMisc(MiscOptions{Argv: []string{"/nonexistent/script"}})
		if res := c.Check(context.Background()); res.OK || res.Reason != ReasonError {
			t.Fatalf("got %+v", res)
		}
	})
}

// dnsServer answers A queries for example.test., NXDOMAIN for nx.test., nothing
// for silent.test. and an empty answer otherwise. With wrongID it first sends a
// reply with another ID.
func dnsServer(t testing.TB, network, addr string) string {
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Skipf("listen %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var q dnsmessage.Message
			if q.Unpack(buf[:n]) != nil || len(q.Questions) != 1 {
				continue
			}
			qq := q.Questions[0]
			if qq.Name.String() == "silent.test." {
				continue
			}
			r := dnsmessage.Message{Header: dnsmessage.Header{ID: q.ID, Response: true, Authoritative: true}, Questions: q.Questions}
			switch {
			case qq.Name.String() == "nx.test.":
				r.RCode = dnsmessage.RCodeNameError
			case qq.Type == dnsmessage.TypeA && qq.Name.String() == "example.test.":
				r.Answers = []dnsmessage.Resource{{
					Header: dnsmessage.ResourceHeader{Name: qq.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60},
					Body:   &dnsmessage.AResource{A: [4]byte{192, 0, 2, 1}},
				}}
			}
			// A stray reply with another ID first: it must be ignored.
			stray := r
			stray.ID = q.ID + 1
			stray.RCode = dnsmessage.RCodeServerFailure
			if b, err := stray.Pack(); err == nil {
				pc.WriteTo(b, from)
			}
			if b, err := r.Pack(); err == nil {
				pc.WriteTo(b, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func TestDNSCheck(t *testing.T) {
	addr := dnsServer(t, "udp4", "127.0.0.1:0")
	tests := []struct {
		typ, name, reason string
	}{
		{"A", "example.test", ReasonOK},
		{"a", "example.test.", ReasonOK},
		{"AAAA", "example.test", ReasonNoAnswer},
		{"", "", ReasonNoAnswer}, // SOA .
		{"A", "nx.test", ReasonRcode},
		{"A", "silent.test", ReasonNoReply},
	}
	for _, tc := range tests {
		t.Run(tc.typ+" "+tc.name, func(t *testing.T) {
			c, err := NewDNS(DNSOptions{Conn: connTo(t, addr, 300*time.Millisecond), Type: tc.typ, Name: tc.name})
			if err != nil {
				t.Fatal(err)
			}
			res := c.Check(context.Background())
			if res.Reason != tc.reason || res.OK != (tc.reason == ReasonOK) {
				t.Fatalf("got %+v, want %s", res, tc.reason)
			}
		})
	}
	t.Run("ipv6", func(t *testing.T) {
		addr6 := dnsServer(t, "udp6", "[::1]:0")
		c, _ := NewDNS(DNSOptions{Conn: connTo(t, addr6, time.Second), Type: "A", Name: "example.test"})
		if res := c.Check(context.Background()); !res.OK {
			t.Fatalf("got %+v", res)
		}
	})
}

func udpServer(t testing.TB, reply func([]byte) []byte) string {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if r := reply(buf[:n]); r != nil {
				pc.WriteTo(r, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func TestUDPCheck(t *testing.T) {
	echo := udpServer(t, func(b []byte) []byte { return append([]byte(nil), b...) })
	silent := udpServer(t, func([]byte) []byte { return nil })
	counter := udpServer(t, func([]byte) []byte { return []byte{0xAB, 0x17, 0x0F} })
	pat := func(s string) *HexPattern {
		p, err := ParseHex(s, true)
		if err != nil {
			t.Fatal(err)
		}
		return &p
	}
	tests := []struct {
		name   string
		addr   string
		opts   UDPOptions
		reason string
	}{
		{"echo no reply required", echo, UDPOptions{}, ReasonOK},
		{"silent no reply required", silent, UDPOptions{}, ReasonOK},
		{"closed port", closedUDPPort(t), UDPOptions{}, ReasonRefused},
		{"silent reply required", silent, UDPOptions{RequireReply: true}, ReasonNoReply},
		{"echo reply required", echo, UDPOptions{RequireReply: true, Payload: []byte("ping")}, ReasonOK},
		{"echo pattern", echo, UDPOptions{RequireReply: true, Payload: []byte{1, 2, 3}, ReplyPattern: pat("0102")}, ReasonOK},
		{"echo pattern mismatch", echo, UDPOptions{RequireReply: true, Payload: []byte{1, 2, 3}, ReplyPattern: pat("0103")}, ReasonReply},
		{"wildcard nibbles", counter, UDPOptions{RequireReply: true, ReplyPattern: pat("Ab1x xF")}, ReasonOK},
		{"too short", echo, UDPOptions{RequireReply: true, Payload: []byte{1}, MinReplyLength: 2}, ReasonReply},
		{"too long", echo, UDPOptions{RequireReply: true, Payload: make([]byte, 300)}, ReasonReply},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Conn = connTo(t, tc.addr, 200*time.Millisecond)
			c, err := NewUDP(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			res := c.Check(context.Background())
			if res.Reason != tc.reason || res.OK != (tc.reason == ReasonOK) {
				t.Fatalf("got %+v, want %s", res, tc.reason)
			}
		})
	}
}

func closedUDPPort(t *testing.T) string {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

func TestParseHex(t *testing.T) {
	tests := []struct {
		in       string
		wildcard bool
		data     string
		mask     string
		err      bool
	}{
		{"Ab12f 3 456 546443123", false, "ab120f034506546443 1203", "ffffffffffffffffffffff", false},
		{"0102", false, "0102", "ffff", false},
		{"x1 Xx", true, "0100", "0f00", false},
		{"x", true, "00", "f0", false},
		{"x1", false, "", "", true},
		{"", false, "", "", true},
		{"zz", true, "", "", true},
	}
	for _, tc := range tests {
		p, err := ParseHex(tc.in, tc.wildcard)
		if tc.err {
			if err == nil {
				t.Errorf("%q: no error", tc.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		want := strings.ReplaceAll(tc.data, " ", "")
		if hex.EncodeToString(p.Data) != want || hex.EncodeToString(p.Mask) != tc.mask {
			t.Errorf("%q: got %x/%x, want %s/%s", tc.in, p.Data, p.Mask, want, tc.mask)
		}
	}
}

func FuzzParseHex(f *testing.F) {
	for _, s := range []string{"Ab12f 3 456", "xX 0", "", "\t1\n2"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, wildcard bool) {
		p, err := ParseHex(s, wildcard)
		if err != nil {
			return
		}
		if len(p.Data) != len(p.Mask) || len(p.Data) == 0 {
			t.Fatalf("%q: data %x mask %x", s, p.Data, p.Mask)
		}
		if !p.Match(p.Data) {
			t.Fatalf("%q: pattern does not match its own data", s)
		}
	})
}

func TestPingCheck(t *testing.T) {
	for _, addr := range []string{"127.0.0.1", "::1"} {
		t.Run(addr, func(t *testing.T) {
			c, err := NewPing(PingOptions{Conn: Conn{ConnectIP: netip.MustParseAddr(addr), ConnectTimeout: 2 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			v4 := !strings.Contains(addr, ":")
			pc, _, err := listenICMP(v4, "")
			if err != nil {
				if errors.Is(err, ErrNoICMPSocket) {
					t.Skip(err)
				}
				t.Fatal(err)
			}
			pc.Close()
			res := c.Check(context.Background())
			if !res.OK {
				t.Fatalf("got %+v", res)
			}
		})
	}
}

// smtpServer runs a fake SMTP server; greeting and heloReply are the lines it sends.
func smtpServer(t *testing.T, greeting, heloReply string) (addr string, helos chan string) {
	helos = make(chan string, 10)
	addr = rawServer(t, func(c net.Conn) {
		io.WriteString(c, greeting)
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		helos <- strings.TrimRight(line, "\r\n")
		io.WriteString(c, heloReply)
		line, _ = br.ReadString('\n')
		if strings.HasPrefix(line, "QUIT") {
			io.WriteString(c, "221 bye\r\n")
		}
	})
	return addr, helos
}

func TestSMTPCheck(t *testing.T) {
	tests := []struct {
		name, greeting, helo, reason string
	}{
		{"ok", "220 mx.test ESMTP\r\n", "250 hello\r\n", ReasonOK},
		{"multiline", "220-mx.test\r\n220 ESMTP\r\n", "250-mx.test\r\n250 8BITMIME\r\n", ReasonOK},
		{"busy", "421 busy\r\n", "", ReasonStatus},
		{"helo rejected", "220 mx.test\r\n", "550 no\r\n", ReasonStatus},
		{"garbage", "hi\r\n", "", ReasonProtocol},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, helos := smtpServer(t, tc.greeting, tc.helo)
			c, err := NewSMTP(SMTPOptions{Conn: connTo(t, addr, 2*time.Second), HeloName: "checker.test"})
			if err != nil {
				t.Fatal(err)
			}
			res := c.Check(context.Background())
			if res.Reason != tc.reason || res.OK != (tc.reason == ReasonOK) {
				t.Fatalf("got %+v, want %s", res, tc.reason)
			}
			if tc.reason == ReasonOK {
				if h := <-helos; h != "HELO checker.test" {
					t.Fatalf("sent %q", h)
				}
			}
		})
	}
	t.Run("hung", func(t *testing.T) {
		h := newHungServer(t)
		const d = 150 * time.Millisecond
		c, _ := NewSMTP(SMTPOptions{Conn: connTo(t, h.l.Addr().String(), d)})
		checkOneTimeout(t, c.Check(context.Background()), d)
		if h.count() != 1 {
			t.Fatalf("%d connections", h.count())
		}
	})
}

// TestDialerSkipsKeepalive: a check's connection lives for one probe; Go's default
// TCP keepalive setup would cost setsockopt calls on every connect.
func TestDialerSkipsKeepalive(t *testing.T) {
	for _, udp := range []bool{false, true} {
		if d := (Conn{}).dialer(udp); d.KeepAlive >= 0 {
			t.Errorf("udp=%v: KeepAlive %v, want negative (disabled)", udp, d.KeepAlive)
		}
	}
}

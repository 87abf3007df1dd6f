package healthcheck

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
)

// streamResp reads data through a respReader, step bytes a read, then ends
// with final, as the event loop's HTTP probe does.
func streamResp(data []byte, step int, final error, r fetchReq) (fetchResp, error) {
	ctx := context.Background()
	var rr respReader
	rr.reset(&r)
	defer rr.release()
	for len(data) > 0 {
		n := copy(rr.space(), data[:min(step, len(data))])
		data = data[n:]
		if resp, err, done := rr.advance(n, ctx); done {
			return resp, err
		}
	}
	return rr.end(final, ctx)
}

// bufferedResp reads data with readResp (net/http), as the blocking path does.
func bufferedResp(data []byte, final error, r fetchReq) (fetchResp, error) {
	return readResp(context.Background(), bufio.NewReader(&bufSrc{b: data, err: final}), r)
}

// respString is what a check sees of a response: status, digest, body, or error.
func respString(resp fetchResp, err error) string {
	if err != nil {
		var fe *fetchError
		if errors.As(err, &fe) {
			return "error " + fe.reason + ": " + err.Error()
		}
		return "error: " + err.Error()
	}
	d := resp.digest
	if resp.hasSum {
		d = hex.EncodeToString(resp.sum[:])
	}
	return strings.Join([]string{itoa(resp.status), d, string(resp.body)}, " | ")
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestRespReader(t *testing.T) {
	readErr := sockErr("read", syscall.ECONNRESET)
	for _, tc := range []struct {
		name  string
		resp  string
		final error
		fast  bool   // parsed in place (not by readResp)
		want  string // respString with digest and body kept
	}{
		{"close delimited", "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nhello\n", io.EOF, true, "200 | " + md5hex("hello\n") + " | hello\n"},
		{"content length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA", io.EOF, true, "200 | " + md5hex("hello") + " | hello"},
		{"content length lower case, spaces", "HTTP/1.1 200 OK\r\ncontent-length:  5 \r\n\r\nhello", nil, true, "200 | " + md5hex("hello") + " | hello"},
		{"same content lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi", nil, true, "200 | " + md5hex("hi") + " | hi"},
		{"bare LF", "HTTP/1.0 404 Not Found\nA: b\n\nno", io.EOF, true, "404 | " + md5hex("no") + " | no"},
		{"no reason", "HTTP/1.0 200\r\n\r\n", io.EOF, true, "200 | " + md5hex("") + " | "},
		{"204 has no body", "HTTP/1.1 204 No Content\r\n\r\nignored", nil, true, "204 | " + md5hex("") + " | "},
		{"100 has no body", "HTTP/1.1 100 Continue\r\n\r\n", nil, true, "100 | " + md5hex("") + " | "},
		{"empty body", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", nil, true, "200 | " + md5hex("") + " | "},
		{"TE on 1.0 ignored", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc", io.EOF, true, "200 | " + md5hex("3\r\nabc") + " | 3\r\nabc"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", io.EOF, false, "200 | " + md5hex("abcde") + " | abcde"},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", io.EOF, true, "error: read body: unexpected EOF"},
		{"body read error", "HTTP/1.0 200 OK\r\n\r\nabc", readErr, true, "error: read body: read tcp: connection reset by peer"},
		{"no reply", "", io.EOF, false, "error no_reply: read response: unexpected EOF"},
		{"head cut", "HTTP/1.0 200 OK\r\nA: b\r\n", io.EOF, false, "error no_reply: read response: unexpected EOF"},
		{"head read error", "HTTP/1.0 200 OK\r\n", readErr, false, "error reset: read response: read tcp: connection reset by peer"},
		{"not http", "SMTP ready\r\n\r\n", io.EOF, false, `error protocol: read response: malformed HTTP status code "ready"`},
		{"bad status", "HTTP/1.0 2x0 OK\r\n\r\n", io.EOF, false, `error protocol: read response: malformed HTTP status code "2x0"`},
		{"long status", "HTTP/1.0 2000 OK\r\n\r\n", io.EOF, false, `error protocol: read response: malformed HTTP status code "2000"`},
		{"bad version", "HTTP/9.99 200 OK\r\n\r\n", io.EOF, false, `error protocol: read response: malformed HTTP version "HTTP/9.99"`},
		{"HTTP/2.0 by readResp", "HTTP/2.0 200 OK\r\n\r\nx", io.EOF, false, "200 | " + md5hex("x") + " | x"},
		{"no colon", "HTTP/1.0 200 OK\r\nbad line\r\n\r\n", io.EOF, false, `error protocol: read response: malformed MIME header: missing colon: "bad line"`},
		{"control byte", "HTTP/1.0 200 OK\r\nA: b\x01c\r\n\r\n", io.EOF, false, `error protocol: read response: malformed MIME header line: "A: b\x01c"`},
		{"folded header", "HTTP/1.0 200 OK\r\nA: b\r\n c\r\n\r\nx", io.EOF, false, "200 | " + md5hex("x") + " | x"},
		{"two content lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", io.EOF, false, `error protocol: read response: http: message cannot contain multiple Content-Length headers; got ["1" "2"]`},
		{"bad content length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", io.EOF, false, `error protocol: read response: bad Content-Length "-1"`},
		{"empty content length", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", io.EOF, false, `error protocol: read response: invalid empty Content-Length ""`},
		{"unsupported TE", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", io.EOF, false, `error protocol: read response: unsupported transfer encoding: "gzip"`},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", io.EOF, false, "error: read body: invalid byte in chunk length"},
		{"leading blank line", "\r\nHTTP/1.0 200 OK\r\n\r\n", io.EOF, false, `error protocol: read response: malformed HTTP response ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fetchReq{digest: true, keepBody: true}
			want := respString(bufferedResp([]byte(tc.resp), tc.final, r))
			if want != tc.want {
				t.Errorf("readResp: %q\n      want %q", want, tc.want)
			}
			for _, step := range []int{1, 3, 4096} {
				if got := respString(streamResp([]byte(tc.resp), step, tc.final, r)); got != want {
					t.Errorf("respReader, %d bytes a read: %q\n                         readResp: %q", step, got, want)
				}
			}
			var rr respReader
			rr.reset(&r)
			n := copy(rr.space(), tc.resp)
			_, _, _ = rr.advance(n, context.Background())
			if fast := rr.phase == rrBody; fast != tc.fast {
				t.Errorf("parsed in place: %v, want %v", fast, tc.fast)
			}
			rr.release()
		})
	}
}

// A body longer than MaxBody is read up to MaxBody, as readResp's LimitReader does.
func TestRespReaderMaxBody(t *testing.T) {
	r := fetchReq{digest: true, maxBody: 4}
	for _, resp := range []string{"HTTP/1.0 200 OK\r\n\r\nabcdefgh", "HTTP/1.0 200 OK\r\nContent-Length: 8\r\n\r\nabcdefgh", "HTTP/1.0 200 OK\r\nContent-Length: 8\r\n\r\nab"} {
		want := respString(bufferedResp([]byte(resp), io.EOF, r))
		if got := respString(streamResp([]byte(resp), 2, io.EOF, r)); got != want {
			t.Errorf("%q: %q, readResp %q", resp, got, want)
		}
	}
}

// The loop reads a normal response without allocating (the probe and its
// result aside).
func TestRespReaderAllocs(t *testing.T) {
	data := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nDate: Sun, 06 Dec 2026 07:00:00 GMT\r\n\r\nhello world\n")
	r := fetchReq{digest: true}
	var rr respReader
	allocs := testing.AllocsPerRun(100, func() {
		rr.reset(&r)
		n := copy(rr.space(), data)
		if _, err, done := rr.advance(n, context.Background()); !done || err != nil {
			t.Fatal(done, err)
		}
		rr.release()
	})
	if allocs > 0 {
		t.Errorf("%v allocations a response", allocs)
	}
}

// FuzzHTTPResponse: the event loop's reader (respReader, any read sizes) gives
// what readResp (net/http) gives for the whole response, and never panics.
func FuzzHTTPResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.0 200 OK\r\n\r\nhello\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 301 Moved\r\nLocation: /x\r\ncontent-length: 0\r\n\r\n",
		"HTTP/1.0 200 OK\nA: b\n c\n\nbody",
		"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1 \r\n\r\nab",
		"SMTP ready\r\n\r\n",
		"",
	} {
		f.Add([]byte(s), uint8(0), true)
		f.Add([]byte(s), uint8(3), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, step uint8, eof bool) {
		var final error = io.EOF
		if !eof {
			final = sockErr("read", syscall.ECONNRESET)
		}
		r := fetchReq{digest: true, keepBody: true, maxBody: 1 << 16}
		want := respString(bufferedResp(data, final, r))
		got := respString(streamResp(data, int(step)+1, final, r))
		if got != want {
			t.Fatalf("respReader %q\nreadResp   %q", got, want)
		}
	})
}

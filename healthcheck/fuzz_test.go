package healthcheck

import (
	"bufio"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func FuzzDNSReply(f *testing.F) {
	c, err := NewDNS(DNSOptions{Conn: Conn{ConnectIP: netip.MustParseAddr("127.0.0.1"), ConnectPort: 53}, Type: "A", Name: "example.test"})
	if err != nil {
		f.Fatal(err)
	}
	name := dnsmessage.MustNewName("example.test.")
	ok := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: 7, Response: true},
		Questions: []dnsmessage.Question{{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}},
		Answers: []dnsmessage.Resource{{
			Header: dnsmessage.ResourceHeader{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET},
			Body:   &dnsmessage.AResource{A: [4]byte{1, 2, 3, 4}},
		}},
	}
	b, _ := ok.Pack()
	f.Add(b)
	f.Add(b[:20])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		res, done := c.verify(time.Now(), 7, pkt)
		if res.OK && !done {
			t.Fatal("OK result for an ignored datagram")
		}
		if done && !res.OK && res.Reason == "" {
			t.Fatal("failure without reason")
		}
	})
}

func FuzzSMTPReply(f *testing.F) {
	for _, s := range []string{"220 ok\r\n", "250-a\r\n250 b\r\n", "2\r\n", "abc def\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, _, err := readSMTPReply(bufio.NewReader(strings.NewReader(s)))
		if err == nil && (code < 0 || code > 999) {
			t.Fatalf("code %d", code)
		}
	})
}

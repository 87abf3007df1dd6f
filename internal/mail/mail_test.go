package mail

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The subjects and bodies of keepalived 2.2.7's smtp_alert callers
// (vrrp_smtp_notifier, vrrp_sync_group_smtp_notifier, the checkers).
func TestFormats(t *testing.T) {
	for _, tc := range []struct {
		got  Alert
		want Alert
	}{
		{must(Instance("lb1", "VI_1", Master)), Alert{"[lb1] VRRP Instance VI_1 - Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="}},
		{must(Instance("lb1", "VI_1", Backup)), Alert{"[lb1] VRRP Instance VI_1 - Entering BACKUP state", "=> VRRP Instance is nolonger owning VRRP VIPs <="}},
		{must(Instance("lb1", "VI_1", Fault)), Alert{"[lb1] VRRP Instance VI_1 - Entering FAULT state", "=> VRRP Instance is nolonger owning VRRP VIPs <="}},
		{must(Group("lb1", "VG", Master)), Alert{"[lb1] VRRP Group VG - Entering MASTER state", "=> All VRRP group instances are now in MASTER state <="}},
		{must(Group("lb1", "VG", Fault)), Alert{"[lb1] VRRP Group VG - Entering FAULT state", "=> All VRRP group instances are now in FAULT state <="}},
		{RealServer("lb1", "[10.0.0.1]:tcp:80", "[192.168.1.2]:tcp:80", false, CheckerBody("TCP_CHECK", false, false)),
			Alert{"[lb1] Realserver [10.0.0.1]:tcp:80 of virtual server [192.168.1.2]:tcp:80 - DOWN", "=> TCP CHECK failed on service <="}},
		{RealServer("lb1", "[10.0.0.1]:tcp:80", "FWM 7", true, CheckerBody("HTTP_GET", true, false)),
			Alert{"[lb1] Realserver [10.0.0.1]:tcp:80 of virtual server FWM 7 - UP", "=> CHECK succeed on service <="}},
		// a check coming up while another keeps the real server down
		{RealServer("lb1", "[10.0.0.1]:udp:53", "[192.168.1.2]:udp:53", false, CheckerBody("MISC_CHECK", true, false)),
			Alert{"[lb1] Realserver [10.0.0.1]:udp:53 of virtual server [192.168.1.2]:udp:53 - DOWN", "=> MISC CHECK succeeded on service <="}},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if _, ok := Instance("lb1", "VI_1", "INIT"); ok {
		t.Error("INIT has an alert")
	}
}

// TestCheckerBody: each checker's body, as keepalived 2.2.7's check_*.c
// words it.
func TestCheckerBody(t *testing.T) {
	for _, tc := range []struct {
		kind         string
		up, timedOut bool
		want         string
	}{
		{"TCP_CHECK", true, false, "=> TCP CHECK succeed on service <="},
		{"TCP_CHECK", false, false, "=> TCP CHECK failed on service <="},
		{"UDP_CHECK", false, false, "=> UDP CHECK failed on service <="},
		{"PING_CHECK", true, false, "=> ICMP CHECK succeed on service <="},
		{"DNS_CHECK", false, false, "=> DNS_CHECK: failed on service <="},
		{"DNS_CHECK", true, false, "=> DNS_CHECK: succeed on service <="},
		{"MISC_CHECK", true, false, "=> MISC CHECK succeeded on service <="},
		{"MISC_CHECK", false, false, "=> MISC CHECK failed on service <="},
		{"MISC_CHECK", false, true, "=> MISC CHECK timed out on service <="},
		{"HTTP_GET", false, false, "=> CHECK failed on service : HTTP request failed <="},
		{"SSL_GET", true, false, "=> CHECK succeed on service <="},
		{"SMTP_CHECK", false, false, "=> CHECK failed on service <="},
		{"SMTP_CHECK", true, false, "=> CHECK succeed on service <="},
	} {
		if got := CheckerBody(tc.kind, tc.up, tc.timedOut); got != tc.want {
			t.Errorf("%s up=%v timedOut=%v: %q, want %q", tc.kind, tc.up, tc.timedOut, got, tc.want)
		}
	}
}

func must(a Alert, ok bool) Alert {
	if !ok {
		panic("no alert")
	}
	return a
}

// Message is keepalived's body_cmd: its headers in its order, CRLF, the
// final dot; a body line starting with a dot is stuffed.
func TestMessage(t *testing.T) {
	now := time.Date(2026, 12, 6, 0, 30, 0, 0, time.FixedZone("", 3600))
	got := Message(Config{From: "lvs@example.org", To: []string{"a@x", "b@x"}},
		Alert{"[lb1] VRRP Instance VI_1 - Entering MASTER state", "=> x <=\n.dot"}, now)
	want := "Date: Sun, 06 Dec 2026 00:30:00 +0100\r\nFrom: lvs@example.org\r\n" +
		"Subject: [lb1] VRRP Instance VI_1 - Entering MASTER state\r\nX-Mailer: Keepalived\r\n" +
		"To: a@x, b@x\r\n\r\n=> x <=\r\n..dot\r\n\r\n.\r\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// fakeServer is a loopback SMTP server that records the commands it gets
// and answers as OpenSMTPD would (code per command).
func fakeServer(t *testing.T, replies map[string]string) (string, chan string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	cmds := make(chan string, 100)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				c.Write([]byte("220 fake ESMTP\r\n"))
				data := false
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					for _, line := range strings.SplitAfter(string(buf[:n]), "\r\n") {
						if line == "" {
							continue
						}
						cmds <- strings.TrimSuffix(line, "\r\n")
						if data {
							if line == ".\r\n" {
								data = false
								c.Write([]byte("250 queued\r\n"))
							}
							continue
						}
						verb, _, _ := strings.Cut(strings.TrimSuffix(line, "\r\n"), " ")
						r, ok := replies[verb]
						if !ok {
							r = "250 ok"
						}
						if verb == "DATA" && r == "" {
							r, data = "354 go on", true
						}
						c.Write([]byte(r + "\r\n"))
					}
				}
			}()
		}
	}()
	return l.Addr().String(), cmds
}

// The dialogue is keepalived's: HELO (not EHLO) with smtp_helo_name, MAIL
// FROM, one RCPT TO per notification_email address, DATA, QUIT.
func TestDialogue(t *testing.T) {
	addr, cmds := fakeServer(t, map[string]string{"DATA": "", "QUIT": "221 bye"})
	count, cf := testCounter()
	s := Start(Config{Server: addr, From: "lvs@example.org", To: []string{"a@x", "b@x"}, Timeout: 5 * time.Second}, nil, cf)
	defer s.Close()
	s.Send(Alert{"subj", "body"})
	var got []string
	for c := range cmds {
		got = append(got, c)
		if c == "QUIT" {
			break
		}
	}
	head := []string{"HELO localhost", "MAIL FROM:<lvs@example.org>", "RCPT TO:<a@x>", "RCPT TO:<b@x>", "DATA"}
	if len(got) < len(head)+2 || strings.Join(got[:len(head)], "|") != strings.Join(head, "|") || got[len(got)-1] != "QUIT" || got[len(got)-2] != "." {
		t.Fatalf("dialogue %q", got)
	}
	waitCount(t, count.WithLabelValues(ResultSent), 1)
}

// A server that refuses a recipient: the alert is failed and counted.
func TestRefusedCounted(t *testing.T) {
	addr, _ := fakeServer(t, map[string]string{"RCPT": "550 no such user"})
	count, cf := testCounter()
	s := Start(Config{Server: addr, From: "f@x", To: []string{"a@x"}, Timeout: 5 * time.Second}, nil, cf)
	defer s.Close()
	s.Send(Alert{"subj", "body"})
	waitCount(t, count.WithLabelValues(ResultFailed), 1)
}

// TestBlackholeNeverBlocks: a server that accepts and never answers. Send
// returns at once however many alerts come (the queue is bounded: the
// excess is dropped and counted), the one in flight fails after
// smtp_connect_timeout and is counted, and Close does not wait for it.
func TestBlackholeNeverBlocks(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var held []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // never answers, never closes
		}
	}()
	count, cf := testCounter()
	s := Start(Config{Server: l.Addr().String(), From: "f@x", To: []string{"a@x"}, Timeout: 300 * time.Millisecond}, nil, cf)
	start := time.Now()
	for range QueueLen + 10 {
		s.Send(Alert{"subj", "body"})
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Send blocked %v", d)
	}
	if n := testutil.ToFloat64(count.WithLabelValues(ResultDropped)); n < 9 {
		t.Errorf("dropped = %v, want >= 9", n)
	}
	waitCount(t, count.WithLabelValues(ResultFailed), 1)
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked on the blackhole server")
	}
}

// waitCount waits until c reaches want (the sender's goroutine counts).
func waitCount(t *testing.T, c prometheus.Counter, want float64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); testutil.ToFloat64(c) < want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("counter %v, want %v", testutil.ToFloat64(c), want)
		}
	}
}

// testCounter is a CounterVec the sender's Count feeds.
func testCounter() (*prometheus.CounterVec, Count) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smtp_alerts_total"}, []string{"result"})
	return c, func(r string) { c.WithLabelValues(r).Inc() }
}

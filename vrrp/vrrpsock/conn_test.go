package vrrpsock

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// recvTimeout only bounds a broken test; passing tests never wait for it.
const recvTimeout = 5 * time.Second

func recv(t *testing.T, c *Conn) Packet {
	t.Helper()
	if err := c.ipc.SetReadDeadline(time.Now().Add(recvTimeout)); err != nil {
		t.Fatal(err)
	}
	p, err := c.Recv(make([]byte, 2048))
	if err != nil {
		t.Fatalf("Recv on %s: %v", c.cfg.Interface, err)
	}
	return p
}

func send(t *testing.T, c *Conn, payload string, dst netip.Addr) {
	t.Helper()
	if err := c.Send([]byte(payload), dst); err != nil {
		t.Fatal(err)
	}
}

func check(t *testing.T, who string, got Packet, payload string, src, dst netip.Addr, ifindex int) {
	t.Helper()
	if string(got.Payload) != payload {
		t.Errorf("%s: payload %q, want %q (c.dropped says whether others were discarded)", who, got.Payload, payload)
	}
	if got.Src != src || got.Dst != dst {
		t.Errorf("%s: %s -> %s, want %s -> %s", who, got.Src, got.Dst, src, dst)
	}
	if got.TTL != TTL {
		t.Errorf("%s: TTL/hop limit %d, want %d", who, got.TTL, TTL)
	}
	if got.IfIndex != ifindex {
		t.Errorf("%s: ifindex %d, want %d", who, got.IfIndex, ifindex)
	}
}

// topology: A(a1) <-> (b1)B(b2) <-> (c1)C. B has an instance on each interface.
type topo struct {
	a, b, c *testNS
}

func newTopo(t *testing.T) topo {
	tp := topo{a: newNS(t), b: newNS(t), c: newNS(t)}
	tp.a.veth("a1", tp.b, "b1")
	tp.c.veth("c1", tp.b, "b2")
	for _, x := range []struct {
		ns     *testNS
		dev    string
		prefix []string
	}{
		{tp.a, "a1", []string{"192.0.2.1/24", "192.0.2.11/24", "fe80::a/64", "2001:db8::1/64"}},
		{tp.b, "b1", []string{"192.0.2.2/24", "fe80::b/64", "2001:db8::2/64"}},
		{tp.b, "b2", []string{"198.51.100.2/24", "fe80::b2/64"}},
		{tp.c, "c1", []string{"198.51.100.3/24", "fe80::c/64"}},
	} {
		for _, p := range x.prefix {
			x.ns.addr(x.dev, p)
		}
	}
	return tp
}

var (
	a4  = netip.MustParseAddr("192.0.2.1")
	a4s = netip.MustParseAddr("192.0.2.11") // secondary on a1
	b4  = netip.MustParseAddr("192.0.2.2")
	c4  = netip.MustParseAddr("198.51.100.3")
	a6  = netip.MustParseAddr("fe80::a")
	b6  = netip.MustParseAddr("fe80::b")
	c6  = netip.MustParseAddr("fe80::c")
	a6g = netip.MustParseAddr("2001:db8::1")
	b6g = netip.MustParseAddr("2001:db8::2")
)

func TestMulticast(t *testing.T) {
	tp := newTopo(t)
	for _, tc := range []struct {
		name    string
		ipv6    bool
		a, b, c netip.Addr // default source addresses
		group   netip.Addr
	}{
		{name: "IPv4", a: a4, b: b4, c: c4, group: DefaultGroup4},
		{name: "IPv6", ipv6: true, a: a6, b: b6, c: c6, group: DefaultGroup6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open := func(ns *testNS, dev string) *Conn {
				return ns.open(Config{Interface: dev, IPv6: tc.ipv6})
			}
			ca, cb1, cb2, cc := open(tp.a, "a1"), open(tp.b, "b1"), open(tp.b, "b2"), open(tp.c, "c1")
			for _, x := range []struct {
				c    *Conn
				want netip.Addr
			}{{ca, tc.a}, {cb1, tc.b}, {cc, tc.c}} {
				if x.c.SrcAddr() != x.want {
					t.Errorf("%s: SrcAddr %s, want %s (primary / link-local)", x.c.cfg.Interface, x.c.SrcAddr(), x.want)
				}
				if d := x.c.Destinations(); len(d) != 1 || d[0] != tc.group {
					t.Errorf("%s: Destinations %v, want [%s]", x.c.cfg.Interface, d, tc.group)
				}
			}
			// Payloads that start like VRRPv3 headers with a wrong checksum must arrive
			// untouched: the kernel neither fills in nor verifies VRRP checksums.
			pa, pb, pc := "\x31\x07\x64\x01\x00\x64\xde\xad from A", "\x31\x07\x64\x01\x00\x64\xbe\xef from B", "from C"

			send(t, ca, pa, tc.group)
			check(t, "b1 gets A's advert", recv(t, cb1), pa, tc.a, tc.group, tp.b.ifindex("b1"))

			// B answers; A's first packet must be B's: its own was not looped back.
			send(t, cb1, pb, tc.group)
			check(t, "a1 gets B's advert, not its own", recv(t, ca), pb, tc.b, tc.group, tp.a.ifindex("a1"))

			// C sends on the other segment; b2's first packet must be C's: A's advert
			// (delivered to b1 above) never reached the instance bound to b2.
			send(t, cc, pc, tc.group)
			check(t, "b2 gets C's advert, not A's", recv(t, cb2), pc, tc.c, tc.group, tp.b.ifindex("b2"))

			for _, c := range []*Conn{ca, cb1, cb2, cc} {
				if n := c.dropped.Load(); n != 0 {
					t.Errorf("%s dropped %d packets", c.cfg.Interface, n)
				}
			}
		})
	}
}

func TestMulticastConfiguredSourceAndGroup(t *testing.T) {
	tp := newTopo(t)
	group := netip.MustParseAddr("224.0.0.88")
	ca := tp.a.open(Config{Interface: "a1", Src: a4s, Group: group})
	cb := tp.b.open(Config{Interface: "b1", Group: group})
	cbDefault := tp.b.open(Config{Interface: "b1"})
	caDefault := tp.a.open(Config{Interface: "a1"})
	if ca.SrcAddr() != a4s {
		t.Fatalf("SrcAddr %s, want configured %s", ca.SrcAddr(), a4s)
	}
	send(t, ca, "custom group", group)
	check(t, "custom group", recv(t, cb), "custom group", a4s, group, tp.b.ifindex("b1"))
	// The instance on the default group did not join 224.0.0.88: its first packet is
	// the one sent to 224.0.0.18 afterwards.
	send(t, caDefault, "default group", DefaultGroup4)
	check(t, "default group", recv(t, cbDefault), "default group", a4, DefaultGroup4, tp.b.ifindex("b1"))
}

func TestUnicast(t *testing.T) {
	tp := newTopo(t)
	for _, tc := range []struct {
		name       string
		ipv6       bool
		srcA, srcB netip.Addr // configured (unicast_src_ip); zero = default
		a, b       netip.Addr // addresses used on the wire
	}{
		{name: "IPv4", a: a4, b: b4},
		{name: "IPv6 link-local", ipv6: true, a: a6, b: b6},
		{name: "IPv6 global src", ipv6: true, srcA: a6g, srcB: b6g, a: a6g, b: b6g},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca := tp.a.open(Config{Interface: "a1", IPv6: tc.ipv6, Src: tc.srcA, Peers: []netip.Addr{tc.b}})
			cb := tp.b.open(Config{Interface: "b1", IPv6: tc.ipv6, Src: tc.srcB, Peers: []netip.Addr{tc.a}})
			if !ca.Unicast() {
				t.Error("Unicast() = false")
			}
			if d := ca.Destinations(); len(d) != 1 || d[0] != tc.b {
				t.Fatalf("Destinations %v, want [%s]", d, tc.b)
			}
			send(t, ca, "unicast from A", ca.Destinations()[0])
			check(t, "B", recv(t, cb), "unicast from A", tc.a, tc.b, tp.b.ifindex("b1"))
			send(t, cb, "unicast from B", tc.a)
			check(t, "A", recv(t, ca), "unicast from B", tc.b, tc.a, tp.a.ifindex("a1"))
		})
	}
}

// TestUnicastTTL: unicast packets leave with Config.UnicastTTL (keepalived's
// unicast_ttl) as TTL / hop limit.
func TestUnicastTTL(t *testing.T) {
	tp := newTopo(t)
	for _, tc := range []struct {
		name string
		ipv6 bool
		a, b netip.Addr
	}{
		{name: "IPv4", a: a4, b: b4},
		{name: "IPv6", ipv6: true, a: a6, b: b6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca := tp.a.open(Config{Interface: "a1", IPv6: tc.ipv6, Peers: []netip.Addr{tc.b}, UnicastTTL: 7})
			cb := tp.b.open(Config{Interface: "b1", IPv6: tc.ipv6, Peers: []netip.Addr{tc.a}})
			send(t, ca, "ttl 7", tc.b)
			if p := recv(t, cb); string(p.Payload) != "ttl 7" || p.TTL != 7 {
				t.Errorf("B got %q with TTL/hop limit %d, want %q with 7", p.Payload, p.TTL, "ttl 7")
			}
			send(t, cb, "default", tc.a)
			if p := recv(t, ca); p.TTL != TTL {
				t.Errorf("A got TTL/hop limit %d, want %d", p.TTL, TTL)
			}
		})
	}
}

func TestCloseAndDeadline(t *testing.T) {
	ns := newNS(t)
	ns.addr("lo", "192.0.2.1/32")
	c := ns.open(Config{Interface: "lo"})

	if err := c.ipc.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Recv(make([]byte, 1500)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Recv after deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	if err := c.ipc.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	closeUnblocksRecv(t, c, DefaultGroup4, 0)
}

// closeUnblocksRecv starts a Recv on c, waits settle, closes c and checks
// that the Recv ends with net.ErrClosed and that a Send to dst afterwards
// fails with it too.
func closeUnblocksRecv(t *testing.T, c *Conn, dst netip.Addr, settle time.Duration) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, err := c.Recv(make([]byte, 2048))
		errc <- err
	}()
	time.Sleep(settle)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Recv after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(recvTimeout):
		t.Fatal("Close did not unblock Recv")
	}
	if err := c.Send([]byte("x"), dst); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Send after Close: %v, want net.ErrClosed", err)
	}
}

func TestOpenErrors(t *testing.T) {
	// No root needed: validation and interface lookup come before the socket.
	for _, tc := range []struct {
		name string
		cfg  Config
		want error
	}{
		{"invalid config", Config{}, ErrConfig},
		{"missing interface", Config{Interface: "vsnonexist0"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Open(tc.cfg)
			if err == nil {
				c.Close()
				t.Fatal("Open succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if tc.cfg.Interface != "" && !bytes.Contains([]byte(err.Error()), []byte(tc.cfg.Interface)) {
				t.Fatalf("error %q does not name the interface", err)
			}
		})
	}
}

func TestOpenNoSource(t *testing.T) {
	ns := newNS(t)
	for _, ipv6 := range []bool{false, true} {
		err := ns.Do(func() error {
			c, err := Open(Config{Interface: "lo", IPv6: ipv6})
			if err == nil {
				c.Close()
			}
			return err
		})
		// lo has 127.0.0.1 but never a link-local address.
		if ipv6 && !errors.Is(err, ErrNoSource) {
			t.Errorf("IPv6 on lo: %v, want ErrNoSource", err)
		}
		if !ipv6 && err != nil {
			t.Errorf("IPv4 on lo: %v", err)
		}
	}
}

// TestPollAndTryRecv: TryRecv never waits (ok false on an empty socket), and a
// packet sent to the socket makes PollFd readable and is then returned by
// TryRecv, parsed as Recv parses it, for both families.
func TestPollAndTryRecv(t *testing.T) {
	tp := newTopo(t)
	for _, tc := range []struct {
		name  string
		ipv6  bool
		a     netip.Addr
		group netip.Addr
	}{
		{name: "IPv4", a: a4, group: DefaultGroup4},
		{name: "IPv6", ipv6: true, a: a6, group: DefaultGroup6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca := tp.a.open(Config{Interface: "a1", IPv6: tc.ipv6})
			cb := tp.b.open(Config{Interface: "b1", IPv6: tc.ipv6})
			buf := make([]byte, 2048)
			if _, ok, err := cb.TryRecv(buf); ok || err != nil {
				t.Fatalf("TryRecv on an empty socket: ok %v err %v, want false, nil", ok, err)
			}
			sent := time.Now().Round(0) // wall clock, as the kernel's timestamp
			send(t, ca, "polled", tc.group)
			fds := []unix.PollFd{{Fd: int32(cb.PollFd()), Events: unix.POLLIN}}
			n, err := unix.Ppoll(fds, &unix.Timespec{Sec: int64(recvTimeout / time.Second)}, nil)
			if err != nil || n != 1 || fds[0].Revents&unix.POLLIN == 0 {
				t.Fatalf("ppoll: n %d revents %#x err %v, want readable", n, fds[0].Revents, err)
			}
			p, ok, err := cb.TryRecv(buf)
			if !ok || err != nil {
				t.Fatalf("TryRecv after ppoll: ok %v err %v", ok, err)
			}
			read := time.Now().Round(0)
			check(t, "b1 polls A's advert", p, "polled", tc.a, tc.group, tp.b.ifindex("b1"))
			// The kernel's receive time (SO_TIMESTAMPNS), on the wall clock.
			if p.Received.Before(sent) || p.Received.After(read) {
				t.Errorf("received at %v, want between the send (%v) and the read (%v)", p.Received, sent, read)
			}
			if _, ok, _ := cb.TryRecv(buf); ok {
				t.Error("TryRecv returned a second packet; one was sent")
			}
		})
	}
}

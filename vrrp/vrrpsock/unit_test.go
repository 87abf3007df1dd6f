package vrrpsock

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	ip := netip.MustParseAddr
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // substring of the error; "" = valid
	}{
		{"minimal v4", Config{Interface: "eth0"}, ""},
		{"minimal v6", Config{Interface: "eth0", IPv6: true}, ""},
		{"full v4", Config{Interface: "eth0", Group: ip("224.0.0.19"), Src: ip("192.0.2.1"), Peers: addrs("192.0.2.2", "192.0.2.3")}, ""},
		{"full v6", Config{Interface: "eth0", IPv6: true, Group: ip("ff02::13"), Src: ip("fe80::1"), Peers: addrs("fe80::2")}, ""},
		{"v4-mapped src", Config{Interface: "eth0", Src: ip("::ffff:192.0.2.1")}, ""},
		{"no interface", Config{}, "no interface"},
		{"long interface", Config{Interface: "abcdefghijklmnop"}, "longer than 15"},
		{"v6 group on v4", Config{Interface: "eth0", Group: ip("ff02::12")}, "group ff02::12 is not an IPv4"},
		{"unicast group", Config{Interface: "eth0", Group: ip("192.0.2.1")}, "not a multicast"},
		{"v4 src on v6", Config{Interface: "eth0", IPv6: true, Src: ip("192.0.2.1")}, "source 192.0.2.1 is not an IPv6"},
		{"multicast src", Config{Interface: "eth0", Src: ip("224.0.0.18")}, "not a unicast"},
		{"unspecified src", Config{Interface: "eth0", IPv6: true, Src: ip("::")}, "not a unicast"},
		{"broadcast src", Config{Interface: "eth0", Src: ip("255.255.255.255")}, "not a unicast"},
		{"v6 peer on v4", Config{Interface: "eth0", Peers: addrs("2001:db8::1")}, "peer 2001:db8::1 is not an IPv4"},
		{"multicast peer", Config{Interface: "eth0", Peers: addrs("224.0.0.18")}, "not a unicast"},
		{"zero peer", Config{Interface: "eth0", Peers: []netip.Addr{{}}}, "empty unicast peer"},
		{"duplicate peer", Config{Interface: "eth0", Peers: addrs("192.0.2.2", "192.0.2.2")}, "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate: %v, want ErrConfig containing %q", err, tc.want)
			}
		})
	}
}

func TestConfigDestinations(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want []netip.Addr
	}{
		{Config{}, addrs("224.0.0.18")},
		{Config{IPv6: true}, addrs("ff02::12")},
		{Config{Group: netip.MustParseAddr("224.0.0.19")}, addrs("224.0.0.19")},
		{Config{Group: netip.MustParseAddr("224.0.0.19"), Peers: addrs("192.0.2.2", "::ffff:192.0.2.3")}, addrs("192.0.2.2", "192.0.2.3")},
		{Config{IPv6: true, Peers: addrs("fe80::2%eth0")}, addrs("fe80::2")},
	} {
		got := tc.cfg.destinations()
		if len(got) != len(tc.want) {
			t.Errorf("%+v: destinations %v, want %v", tc.cfg, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%+v: destinations %v, want %v", tc.cfg, got, tc.want)
			}
		}
	}
}

func TestPickSource(t *testing.T) {
	a := func(s string, flags int) ifAddr { return ifAddr{Addr: netip.MustParseAddr(s), Flags: flags} }
	for _, tc := range []struct {
		name  string
		ipv6  bool
		addrs []ifAddr
		want  string // "" = none
	}{
		{"v4 none", false, nil, ""},
		{"v4 first primary", false, []ifAddr{a("192.0.2.1", 0), a("198.51.100.1", 0)}, "192.0.2.1"},
		{"v4 skips secondary", false, []ifAddr{a("192.0.2.9", unix.IFA_F_SECONDARY), a("198.51.100.1", 0)}, "198.51.100.1"},
		{"v4 only secondary", false, []ifAddr{a("192.0.2.9", unix.IFA_F_SECONDARY)}, ""},
		{"v6 none", true, []ifAddr{a("2001:db8::1", 0)}, ""},
		{"v6 link-local", true, []ifAddr{a("2001:db8::1", 0), a("fe80::1", 0)}, "fe80::1"},
		{"v6 prefers non-tentative", true, []ifAddr{a("fe80::1", unix.IFA_F_TENTATIVE), a("fe80::2", 0)}, "fe80::2"},
		{"v6 tentative fallback", true, []ifAddr{a("fe80::1", unix.IFA_F_TENTATIVE)}, "fe80::1"},
		{"v6 skips dadfailed", true, []ifAddr{a("fe80::1", unix.IFA_F_DADFAILED|unix.IFA_F_TENTATIVE)}, ""},
		{"v6 ignores v4", true, []ifAddr{a("192.0.2.1", 0)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := pickSource(tc.addrs, tc.ipv6)
			if tc.want == "" {
				if ok {
					t.Fatalf("picked %s, want none", got)
				}
				return
			}
			if !ok || got != netip.MustParseAddr(tc.want) {
				t.Fatalf("picked %v (%v), want %s", got, ok, tc.want)
			}
		})
	}
}

// ipv4Packet builds an IPv4 datagram (header length hl, protocol 112) around payload.
func ipv4Packet(hl int, ttl uint8, src, dst string, payload []byte) []byte {
	b := make([]byte, hl+len(payload))
	b[0] = 0x40 | byte(hl/4)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8], b[9] = ttl, Protocol
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	copy(b[hl:], payload)
	return b
}

func TestParseIPv4Header(t *testing.T) {
	pkt := ipv4Packet(24, 255, "192.0.2.1", "224.0.0.18", []byte("vrrp"))
	h, ok := parseIPv4Header(pkt)
	if !ok || h.Len != 24 || h.TotalLen != 28 || h.TTL != 255 || h.Protocol != Protocol ||
		h.Src != netip.MustParseAddr("192.0.2.1") || h.Dst != netip.MustParseAddr("224.0.0.18") {
		t.Fatalf("parse: %+v %v", h, ok)
	}
	bad := map[string][]byte{
		"short":          pkt[:19],
		"version 6":      append([]byte{0x65}, pkt[1:]...),
		"ihl too small":  append([]byte{0x44}, pkt[1:]...),
		"ihl past end":   append([]byte{0x4f}, pkt[1:]...),
		"total past end": pkt[:27],
	}
	small := append([]byte(nil), pkt...)
	binary.BigEndian.PutUint16(small[2:], 20) // less than the header length
	bad["total < ihl"] = small
	for name, b := range bad {
		if h, ok := parseIPv4Header(b); ok {
			t.Errorf("%s: parsed %+v", name, h)
		}
	}
}

func FuzzParseIPv4Header(f *testing.F) {
	f.Add(ipv4Packet(20, 255, "192.0.2.1", "224.0.0.18", []byte{0x21, 1, 100, 1, 0, 1, 0, 0, 192, 0, 2, 9}))
	f.Add(ipv4Packet(60, 1, "0.0.0.0", "255.255.255.255", nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := parseIPv4Header(b)
		if !ok {
			return
		}
		if h.Len < 20 || h.Len > h.TotalLen || h.TotalLen > len(b) {
			t.Fatalf("inconsistent header %+v for %d bytes", h, len(b))
		}
		_ = b[h.Len:h.TotalLen]
	})
}

// TestParse covers Conn.parse with hand-made datagrams and control messages.
func TestParse(t *testing.T) {
	c4 := &Conn{cfg: Config{Interface: "eth0"}, ifindex: 3}
	c6 := &Conn{cfg: Config{Interface: "eth0", IPv6: true}, ifindex: 3}
	oob4 := func(ifindex int) []byte { return (&ipv4.ControlMessage{IfIndex: ifindex}).Marshal() }
	// On receive, IPV6_PKTINFO's address is the destination; Marshal calls it Src.
	oob6 := func(ifindex, hops int, dst string) []byte {
		return (&ipv6.ControlMessage{IfIndex: ifindex, HopLimit: hops, Src: netip.MustParseAddr(dst).AsSlice()}).Marshal()
	}
	sa6 := &unix.SockaddrInet6{Addr: netip.MustParseAddr("fe80::1").As16()}
	sa4 := &unix.SockaddrInet4{Addr: [4]byte{192, 0, 2, 1}}
	pkt := ipv4Packet(20, 255, "192.0.2.1", "224.0.0.18", []byte("payload"))
	padded := append(append([]byte(nil), pkt...), 0, 0) // trailing bytes beyond total length

	// SCM_TIMESTAMPNS (SO_TIMESTAMPNS) ahead of IP_PKTINFO, as the kernel puts it.
	stamp := time.Unix(1700000000, 123456789)
	stamped := stampCmsg(stamp)
	stamped4 := append(slices.Clone(stamped), oob4(3)...)
	stamped6 := append(slices.Clone(stamped), oob6(3, 255, "ff02::12")...)

	for _, tc := range []struct {
		name  string
		c     *Conn
		b     []byte
		oob   []byte
		flags int
		from  unix.Sockaddr
		want  *Packet
	}{
		{name: "v4", c: c4, b: pkt, oob: oob4(3), from: sa4,
			want: &Packet{Payload: []byte("payload"), Src: netip.MustParseAddr("192.0.2.1"), Dst: DefaultGroup4, TTL: 255, IfIndex: 3}},
		{name: "v4 trailing bytes", c: c4, b: padded, oob: oob4(3), from: sa4,
			want: &Packet{Payload: []byte("payload"), Src: netip.MustParseAddr("192.0.2.1"), Dst: DefaultGroup4, TTL: 255, IfIndex: 3}},
		{name: "v4 no cmsg uses bound ifindex", c: c4, b: ipv4Packet(20, 254, "192.0.2.1", "192.0.2.2", nil), from: sa4,
			want: &Packet{Payload: []byte{}, Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2"), TTL: 254, IfIndex: 3}},
		{name: "v4 timestamp", c: c4, b: pkt, oob: stamped4, from: sa4,
			want: &Packet{Payload: []byte("payload"), Src: netip.MustParseAddr("192.0.2.1"), Dst: DefaultGroup4, TTL: 255, IfIndex: 3, Received: stamp}},
		{name: "v6 timestamp", c: c6, b: []byte("v3"), oob: stamped6, from: sa6,
			want: &Packet{Payload: []byte("v3"), Src: netip.MustParseAddr("fe80::1"), Dst: DefaultGroup6, TTL: 255, IfIndex: 3, Received: stamp}},
		{name: "v4 other interface", c: c4, b: pkt, oob: oob4(4), from: sa4},
		{name: "v4 truncated", c: c4, b: pkt, oob: oob4(3), flags: unix.MSG_TRUNC, from: sa4},
		{name: "v4 malformed", c: c4, b: pkt[:10], oob: oob4(3), from: sa4},
		{name: "v4 other protocol", c: c4, b: func() []byte { b := append([]byte(nil), pkt...); b[9] = 17; return b }(), oob: oob4(3), from: sa4},
		{name: "v6", c: c6, b: []byte("v3"), oob: oob6(3, 255, "ff02::12"), from: sa6,
			want: &Packet{Payload: []byte("v3"), Src: netip.MustParseAddr("fe80::1"), Dst: DefaultGroup6, TTL: 255, IfIndex: 3}},
		{name: "v6 other interface", c: c6, b: []byte("v3"), oob: oob6(5, 255, "ff02::12"), from: sa6},
		// Without control messages the hop limit is unknown (0), which the caller rejects.
		{name: "v6 no cmsg", c: c6, b: []byte("v3"), oob: []byte{1, 2, 3}, from: sa6,
			want: &Packet{Payload: []byte("v3"), Src: netip.MustParseAddr("fe80::1"), IfIndex: 3}},
		{name: "v6 wrong sockaddr", c: c6, b: []byte("v3"), oob: oob6(3, 255, "ff02::12"), from: sa4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.c.parse(tc.b, tc.oob, tc.flags, tc.from)
			if tc.want == nil {
				if ok {
					t.Fatalf("accepted %+v, want drop", got)
				}
				return
			}
			if !ok {
				t.Fatal("dropped")
			}
			if string(got.Payload) != string(tc.want.Payload) || got.Src != tc.want.Src || got.Dst != tc.want.Dst ||
				got.TTL != tc.want.TTL || got.IfIndex != tc.want.IfIndex || !got.Received.Equal(tc.want.Received) {
				t.Fatalf("got %+v, want %+v", got, *tc.want)
			}
		})
	}
}

// stampCmsg is an SCM_TIMESTAMPNS control message for t.
func stampCmsg(t time.Time) []byte {
	ts := unix.NsecToTimespec(t.UnixNano())
	tsb := unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts))
	b := make([]byte, unix.CmsgSpace(len(tsb)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS
	h.SetLen(unix.CmsgLen(len(tsb)))
	copy(b[unix.CmsgLen(0):], tsb)
	return b
}

// TestRxTime: the timestamp is found after other control messages, a
// malformed buffer gives none, and the lookup (on every packet of the
// advert path) does not allocate.
func TestRxTime(t *testing.T) {
	stamp := time.Unix(1700000000, 5)
	oob := append((&ipv4.ControlMessage{IfIndex: 3}).Marshal(), stampCmsg(stamp)...)
	if got := rxTime(oob); !got.Equal(stamp) {
		t.Fatalf("rxTime = %v, want %v", got, stamp)
	}
	bad := slices.Clone(oob)
	(*unix.Cmsghdr)(unsafe.Pointer(&bad[0])).SetLen(1 << 20)
	if got := rxTime(bad); !got.IsZero() {
		t.Fatalf("rxTime of a malformed buffer = %v, want zero", got)
	}
	if got := rxTime(nil); !got.IsZero() {
		t.Fatalf("rxTime(nil) = %v", got)
	}
	if n := testing.AllocsPerRun(100, func() { rxTime(oob) }); n != 0 {
		t.Fatalf("rxTime allocates %v times", n)
	}
}

func FuzzRxTime(f *testing.F) {
	f.Add(stampCmsg(time.Unix(1, 2)))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		// An aligned copy, as the kernel's buffers are.
		oob := make([]byte, len(b), len(b)+8)
		copy(oob, b)
		rxTime(oob)
	})
}

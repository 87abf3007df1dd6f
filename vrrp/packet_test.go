package vrrp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

var (
	src4  = netip.MustParseAddr("192.0.2.1")
	peer4 = netip.MustParseAddr("192.0.2.2")
	src6  = netip.MustParseAddr("fe80::1")
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// refChecksum is an independent RFC 1071 checksum: the one's complement of
// the one's complement sum, computed with end-around carry on every add.
func refChecksum(parts ...[]byte) uint16 {
	var all []byte
	for _, p := range parts {
		all = append(all, p...)
	}
	if len(all)%2 == 1 {
		all = append(all, 0)
	}
	var s uint16
	for i := 0; i < len(all); i += 2 {
		w := binary.BigEndian.Uint16(all[i:])
		sum := uint32(s) + uint32(w)
		s = uint16(sum) + uint16(sum>>16)
	}
	return ^s
}

func pseudo4(src, dst netip.Addr, n int) []byte {
	b := append(src.AsSlice(), dst.AsSlice()...)
	return append(b, 0, IPProtocol, byte(n>>8), byte(n))
}

func pseudo6(src, dst netip.Addr, n int) []byte {
	b := append(src.AsSlice(), dst.AsSlice()...)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	return append(b, 0, 0, 0, IPProtocol)
}

// withZeroChecksum returns msg with the checksum field zeroed.
func withZeroChecksum(msg []byte) []byte {
	c := bytes.Clone(msg)
	c[6], c[7] = 0, 0
	return c
}

func TestGolden(t *testing.T) {
	pass, _ := PassAuthData("1111")
	tests := []struct {
		name string
		adv  Advertisement
		enc  EncodeOptions
		hex  string
		form ChecksumForm
		ref  func(msg []byte) uint16 // independent checksum of the zero-checksum message
	}{
		{
			// Worked by hand: 0x2133+0x6401+0x0001+0xc0a8+0xc810 = 0x20ded,
			// folded 0x0def, complemented 0xf210.
			name: "v2 keepalived sample",
			adv:  Advertisement{Version: 2, VRID: 51, Priority: 100, Interval: time.Second, Addrs: addrs("192.168.200.16")},
			enc:  EncodeOptions{Src: src4, Dst: MulticastGroup4},
			hex:  "213364010001f210c0a8c8100000000000000000",
			form: ChecksumV2,
			ref:  func(msg []byte) uint16 { return refChecksum(msg) },
		},
		{
			name: "v2 PASS two VIPs",
			adv:  Advertisement{Version: 2, VRID: 51, Priority: 150, Interval: time.Second, Addrs: addrs("192.168.200.16", "192.168.200.17"), AuthType: AuthPass, AuthData: pass},
			enc:  EncodeOptions{Src: src4, Dst: MulticastGroup4},
			hex:  "213396020101d3f2c0a8c810c0a8c8113131313100000000",
			form: ChecksumV2,
			ref:  func(msg []byte) uint16 { return refChecksum(msg) },
		},
		{
			name: "v3 IPv4 pseudo-header",
			adv:  Advertisement{Version: 3, VRID: 1, Priority: 100, Interval: time.Second, Addrs: addrs("192.0.2.100")},
			enc:  EncodeOptions{Src: src4, Dst: MulticastGroup4},
			hex:  "31016401006405a4c0000264",
			form: ChecksumPseudoHeader,
			ref:  func(msg []byte) uint16 { return refChecksum(pseudo4(src4, MulticastGroup4, len(msg)), msg) },
		},
		{
			name: "v3 IPv4 v3_checksum_as_v2",
			adv:  Advertisement{Version: 3, VRID: 1, Priority: 100, Interval: time.Second, Addrs: addrs("192.0.2.100")},
			enc:  EncodeOptions{Src: src4, Dst: MulticastGroup4, V3ChecksumAsV2: true},
			hex:  "310164010064a834c0000264",
			form: ChecksumNoPseudoHeader,
			ref:  func(msg []byte) uint16 { return refChecksum(msg) },
		},
		{
			name: "v3 IPv4 unicast",
			adv:  Advertisement{Version: 3, VRID: 1, Priority: 100, Interval: time.Second, Addrs: addrs("192.0.2.100")},
			enc:  EncodeOptions{Src: src4, Dst: peer4},
			hex:  "31016401006423b4c0000264",
			form: ChecksumPseudoHeader,
			ref:  func(msg []byte) uint16 { return refChecksum(pseudo4(src4, peer4, len(msg)), msg) },
		},
		{
			name: "v3 IPv6",
			adv:  Advertisement{Version: 3, VRID: 7, Priority: 200, Interval: 500 * time.Millisecond, Addrs: addrs("2001:db8::100", "2001:db8::101")},
			enc:  EncodeOptions{Src: src6, Dst: MulticastGroup6},
			hex:  "3107c8020032ab2120010db800000000000000000000010020010db8000000000000000000000101",
			form: ChecksumPseudoHeader,
			ref:  func(msg []byte) uint16 { return refChecksum(pseudo6(src6, MulticastGroup6, len(msg)), msg) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := mustHex(t, tt.hex)
			got, err := tt.adv.Marshal(tt.enc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Marshal = %x, want %x", got, want)
			}
			if c, r := binary.BigEndian.Uint16(got[6:]), tt.ref(withZeroChecksum(got)); c != r {
				t.Fatalf("checksum 0x%04x, independent computation 0x%04x", c, r)
			}
			if n := tt.adv.Len(FamilyOf(tt.enc.Src)); n != len(got) {
				t.Errorf("Len = %d, encoded %d", n, len(got))
			}
			d, err := Parse(want, RxInfo{Src: tt.enc.Src, Dst: tt.enc.Dst, TTL: 255})
			if err != nil {
				t.Fatal(err)
			}
			if d.Checksum != tt.form {
				t.Errorf("checksum form %v, want %v", d.Checksum, tt.form)
			}
			if !reflect.DeepEqual(d.Advertisement, tt.adv) {
				t.Errorf("Parse = %+v, want %+v", d.Advertisement, tt.adv)
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		adv  Advertisement
		enc  EncodeOptions
	}{
		{"bad version", Advertisement{Version: 4, VRID: 1}, EncodeOptions{Src: src4, Dst: MulticastGroup4}},
		{"v2 over IPv6", Advertisement{Version: 2, VRID: 1, Interval: time.Second}, EncodeOptions{Src: src6, Dst: MulticastGroup6}},
		{"v2 fractional interval", Advertisement{Version: 2, VRID: 1, Interval: 1500 * time.Millisecond}, EncodeOptions{Src: src4}},
		{"v2 interval too long", Advertisement{Version: 2, VRID: 1, Interval: 256 * time.Second}, EncodeOptions{Src: src4}},
		{"v3 interval not centiseconds", Advertisement{Version: 3, VRID: 1, Interval: 15 * time.Millisecond}, EncodeOptions{Src: src4, Dst: MulticastGroup4}},
		{"v3 interval too long", Advertisement{Version: 3, VRID: 1, Interval: 41 * time.Second}, EncodeOptions{Src: src4, Dst: MulticastGroup4}},
		{"v3 with auth", Advertisement{Version: 3, VRID: 1, Interval: time.Second, AuthType: AuthPass}, EncodeOptions{Src: src4, Dst: MulticastGroup4}},
		{"v2 AH", Advertisement{Version: 2, VRID: 1, Interval: time.Second, AuthType: AuthAH}, EncodeOptions{Src: src4}},
		{"mixed family", Advertisement{Version: 3, VRID: 1, Interval: time.Second, Addrs: addrs("2001:db8::1")}, EncodeOptions{Src: src4, Dst: MulticastGroup4}},
		{"v3 without dst", Advertisement{Version: 3, VRID: 1, Interval: time.Second}, EncodeOptions{Src: src4}},
		{"v3 without family", Advertisement{Version: 3, VRID: 1, Interval: time.Second}, EncodeOptions{}},
		{"too many addrs", Advertisement{Version: 3, VRID: 1, Interval: time.Second, Addrs: make([]netip.Addr, 256)}, EncodeOptions{Src: src4, Dst: MulticastGroup4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := tt.adv.Marshal(tt.enc); err == nil {
				t.Fatalf("Marshal = %x, want error", b)
			}
		})
	}
}

// baseExpect matches the "v2 keepalived sample" golden packet.
func v2Expect() Expect {
	return Expect{VRID: 51, Version: 2, Family: FamilyIPv4, AdvertInterval: time.Second, CheckVIPs: true, VIPs: addrs("192.168.200.16")}
}

func v2Packet(t testing.TB, mut func(a *Advertisement)) []byte {
	t.Helper()
	a := Advertisement{Version: 2, VRID: 51, Priority: 100, Interval: time.Second, Addrs: addrs("192.168.200.16")}
	if mut != nil {
		mut(&a)
	}
	b, err := a.Marshal(EncodeOptions{Src: src4, Dst: MulticastGroup4})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixChecksum recomputes a v2 checksum after raw edits.
func fixChecksum(b []byte) []byte {
	binary.BigEndian.PutUint16(b[6:], refChecksum(withZeroChecksum(b)))
	return b
}

func TestDecodeRejects(t *testing.T) {
	rx := RxInfo{Src: peer4, Dst: MulticastGroup4, TTL: 255}
	pass, _ := PassAuthData("secret")
	other, _ := PassAuthData("other")
	v3 := func(mut func(a *Advertisement)) []byte {
		a := Advertisement{Version: 3, VRID: 51, Priority: 100, Interval: time.Second, Addrs: addrs("192.168.200.16")}
		if mut != nil {
			mut(&a)
		}
		b, err := a.Marshal(EncodeOptions{Src: peer4, Dst: MulticastGroup4})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	v3Expect := v2Expect()
	v3Expect.Version = 3

	tests := []struct {
		name    string
		payload []byte
		rx      RxInfo
		exp     Expect
		want    Reason
	}{
		{"short header", []byte{0x21, 51, 100}, rx, v2Expect(), ReasonPacketLength},
		{"wrong vrid", v2Packet(t, func(a *Advertisement) { a.VRID = 52 }), rx, v2Expect(), ReasonVRID},
		{"truncated addresses", v2Packet(t, nil)[:12], rx, v2Expect(), ReasonPacketLength},
		{"count too large", fixChecksum(func() []byte { b := v2Packet(t, nil); b[3] = 2; return b }()), rx, v2Expect(), ReasonPacketLength},
		{"trailing garbage", append(v2Packet(t, nil), 1, 2, 3, 4), rx, v2Expect(), ReasonPacketLength},
		{"ttl 64", v2Packet(t, nil), RxInfo{Src: peer4, Dst: MulticastGroup4, TTL: 64}, v2Expect(), ReasonInvalidTTL},
		{"version 3 for v2 instance", v3(nil), rx, v2Expect(), ReasonVersion},
		{"version 2 for v3 instance", v2Packet(t, nil), rx, v3Expect, ReasonVersion},
		{"version 5", fixChecksum(func() []byte { b := v2Packet(t, nil)[:12]; b[0] = 0x51; return b }()), rx, v2Expect(), ReasonVersion},
		{"version 5 with v2 length", fixChecksum(func() []byte { b := v2Packet(t, nil); b[0] = 0x51; return b }()), rx, v2Expect(), ReasonPacketLength},
		{"invalid auth type", fixChecksum(func() []byte { b := v2Packet(t, nil); b[4] = 9; return b }()), rx, v2Expect(), ReasonAuthType},
		{"auth type mismatch", v2Packet(t, func(a *Advertisement) { a.AuthType, a.AuthData = AuthPass, pass }), rx, v2Expect(), ReasonAuthTypeMismatch},
		{"AH mismatch", fixChecksum(func() []byte { b := v2Packet(t, nil); b[4] = 2; return b }()), rx, v2Expect(), ReasonAuthTypeMismatch},
		{"wrong password", v2Packet(t, func(a *Advertisement) { a.AuthType, a.AuthData = AuthPass, other }), rx,
			func() Expect { e := v2Expect(); e.AuthType, e.AuthData = AuthPass, pass; return e }(), ReasonAuthFailure},
		{"v2 interval mismatch", v2Packet(t, func(a *Advertisement) { a.Interval = 2 * time.Second }), rx, v2Expect(), ReasonAdvertInterval},
		{"type 2", fixChecksum(func() []byte { b := v2Packet(t, nil); b[0] = 0x22; return b }()), rx, v2Expect(), ReasonInvalidType},
		{"v2 bad checksum", func() []byte { b := v2Packet(t, nil); b[7]++; return b }(), rx, v2Expect(), ReasonChecksum},
		{"v3 bad checksum", func() []byte { b := v3(nil); b[6]++; return b }(), rx, v3Expect, ReasonChecksum},
		{"v3 checksum for other source", v3(nil), RxInfo{Src: src4, Dst: MulticastGroup4, TTL: 255}, v3Expect, ReasonChecksum},
		{"unicast to multicast instance", v2Packet(t, nil), RxInfo{Src: peer4, Dst: src4, TTL: 255}, v2Expect(), ReasonAddressList},
		{"multicast to unicast instance", v2Packet(t, nil), rx,
			func() Expect { e := v2Expect(); e.Unicast = true; return e }(), ReasonAddressList},
		{"unknown unicast source", v2Packet(t, nil), RxInfo{Src: peer4, Dst: src4, TTL: 64},
			func() Expect {
				e := v2Expect()
				e.Unicast, e.CheckUnicastSource, e.UnicastPeers = true, true, addrs("192.0.2.3")
				return e
			}(), ReasonUnicastSource},
		{"unicast TTL below peer min_ttl", v2Packet(t, nil), RxInfo{Src: peer4, Dst: src4, TTL: 63},
			func() Expect {
				e := v2Expect()
				e.Unicast, e.CheckUnicastSource, e.UnicastPeers = true, true, []netip.Addr{peer4}
				e.PeerTTLs = []PeerTTL{{Peer: peer4, Min: 64, Max: 255}}
				return e
			}(), ReasonInvalidTTL},
		{"unicast TTL above peer max_ttl", v2Packet(t, nil), RxInfo{Src: peer4, Dst: src4, TTL: 255},
			func() Expect {
				e := v2Expect()
				e.Unicast, e.CheckUnicastSource, e.UnicastPeers = true, true, []netip.Addr{peer4}
				e.PeerTTLs = []PeerTTL{{Peer: peer4, Min: 0, Max: 254}}
				return e
			}(), ReasonInvalidTTL},
		{"address list mismatch rejected", v2Packet(t, func(a *Advertisement) { a.Addrs = addrs("192.168.200.99") }), rx,
			func() Expect { e := v2Expect(); e.RejectAddressMismatch = true; return e }(), ReasonAddressList},
		{"family mismatch", v3(nil), RxInfo{Src: src6, Dst: MulticastGroup6, TTL: 255},
			func() Expect { e := v3Expect; e.Family = FamilyIPv4; return e }(), ReasonAddressFamily},
		{"no addresses", v2Packet(t, nil), RxInfo{TTL: 255}, v2Expect(), ReasonAddressFamily},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decode(tt.payload, tt.rx, tt.exp)
			if err == nil {
				t.Fatalf("Decode = %+v, want %v", d, tt.want)
			}
			if got := ReasonOf(err); got != tt.want {
				t.Fatalf("reason %v (%v), want %v", got, err, tt.want)
			}
			if !errors.Is(err, &Error{Reason: tt.want}) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.want)
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	rx := RxInfo{Src: peer4, Dst: MulticastGroup4, TTL: 255}
	pass, _ := PassAuthData("secret")
	v3exp := Expect{VRID: 9, Version: 3, AdvertInterval: time.Second, CheckVIPs: true, VIPs: addrs("192.0.2.100")}
	v3pkt := func(intv time.Duration, enc EncodeOptions, vips ...string) []byte {
		a := Advertisement{Version: 3, VRID: 9, Priority: 50, Interval: intv, Addrs: addrs(vips...)}
		b, err := a.Marshal(enc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mcastEnc := EncodeOptions{Src: peer4, Dst: MulticastGroup4}
	tests := []struct {
		name    string
		payload []byte
		rx      RxInfo
		exp     Expect
		form    ChecksumForm
		intv    bool
		addr    bool
	}{
		{"v2 plain", v2Packet(t, nil), rx, v2Expect(), ChecksumV2, false, false},
		{"v2 TTL unknown", v2Packet(t, nil), RxInfo{Src: peer4, Dst: MulticastGroup4, TTL: -1}, v2Expect(), ChecksumV2, false, false},
		{"v2 dst unknown", v2Packet(t, nil), RxInfo{Src: peer4, TTL: 255}, v2Expect(), ChecksumV2, false, false},
		{"v2 ethernet padding", append(v2Packet(t, nil), 0, 0, 0, 0, 0, 0), rx, v2Expect(), ChecksumV2, false, false},
		{"v2 password", v2Packet(t, func(a *Advertisement) { a.AuthType, a.AuthData = AuthPass, pass }), rx,
			func() Expect { e := v2Expect(); e.AuthType, e.AuthData = AuthPass, pass; return e }(), ChecksumV2, false, false},
		{"v2 address mismatch counted", v2Packet(t, func(a *Advertisement) { a.Addrs = addrs("192.168.200.16", "192.168.200.17") }), rx, v2Expect(), ChecksumV2, false, true},
		{"v2 address mismatch unchecked", v2Packet(t, func(a *Advertisement) { a.Addrs = nil }), rx,
			func() Expect { e := v2Expect(); e.CheckVIPs = false; return e }(), ChecksumV2, false, false},
		{"v2 unicast any TTL", v2Packet(t, nil), RxInfo{Src: peer4, Dst: src4, TTL: 3},
			func() Expect {
				e := v2Expect()
				e.Unicast, e.CheckUnicastSource, e.UnicastPeers = true, true, []netip.Addr{peer4}
				return e
			}(), ChecksumV2, false, false},
		{"v2 unicast TTL in peer range", v2Packet(t, nil), RxInfo{Src: peer4, Dst: src4, TTL: 64},
			func() Expect {
				e := v2Expect()
				e.Unicast, e.CheckUnicastSource, e.UnicastPeers = true, true, []netip.Addr{peer4}
				e.PeerTTLs = []PeerTTL{{Peer: peer4, Min: 64, Max: 64}, {Peer: src4, Min: 255, Max: 255}}
				return e
			}(), ChecksumV2, false, false},
		{"v3 pseudo-header", v3pkt(time.Second, mcastEnc, "192.0.2.100"), rx, v3exp, ChecksumPseudoHeader, false, false},
		{"v3 as v2", v3pkt(time.Second, EncodeOptions{Src: peer4, Dst: MulticastGroup4, V3ChecksumAsV2: true}, "192.0.2.100"), rx, v3exp, ChecksumNoPseudoHeader, false, false},
		{"v3 old unicast compat", v3pkt(time.Second, mcastEnc, "192.0.2.100"), RxInfo{Src: peer4, Dst: src4, TTL: 255},
			func() Expect { e := v3exp; e.Unicast = true; return e }(), ChecksumPseudoHeaderMcast, false, false},
		{"v3 interval mismatch accepted", v3pkt(2*time.Second, mcastEnc, "192.0.2.100"), rx, v3exp, ChecksumPseudoHeader, true, false},
		{"v3 IPv6", v3pkt(time.Second, EncodeOptions{Src: src6, Dst: MulticastGroup6}, "2001:db8::1"),
			RxInfo{Src: src6, Dst: MulticastGroup6, TTL: 255},
			Expect{VRID: 9, Version: 3, Family: FamilyIPv6, AdvertInterval: time.Second, CheckVIPs: true, VIPs: addrs("2001:db8::1")},
			ChecksumPseudoHeader, false, false},
		{"v3 IPv6 unknown dst", v3pkt(time.Second, EncodeOptions{Src: src6, Dst: MulticastGroup6}, "2001:db8::1"),
			RxInfo{Src: src6, TTL: 255},
			Expect{VRID: 9, Version: 3, AdvertInterval: time.Second},
			ChecksumUnverified, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decode(tt.payload, tt.rx, tt.exp)
			if err != nil {
				t.Fatal(err)
			}
			if d.Checksum != tt.form || d.IntervalMismatch != tt.intv || d.AddressListMismatch != tt.addr {
				t.Errorf("got form %v interval mismatch %v address mismatch %v, want %v %v %v",
					d.Checksum, d.IntervalMismatch, d.AddressListMismatch, tt.form, tt.intv, tt.addr)
			}
		})
	}
}

func TestReasonNamesStable(t *testing.T) {
	want := map[Reason]string{
		ReasonPacketLength: "packet_length", ReasonInvalidTTL: "invalid_ttl", ReasonVersion: "version",
		ReasonInvalidType: "invalid_type", ReasonChecksum: "checksum", ReasonVRID: "vrid",
		ReasonAdvertInterval: "advert_interval", ReasonAddressList: "address_list", ReasonAuthType: "auth_type",
		ReasonAuthTypeMismatch: "auth_type_mismatch", ReasonAuthFailure: "auth_failure",
		ReasonAddressFamily: "address_family", ReasonUnicastSource: "unicast_source",
	}
	rs := Reasons()
	if len(rs) != len(want) {
		t.Fatalf("Reasons() has %d entries, want %d", len(rs), len(want))
	}
	for _, r := range rs {
		if r.String() != want[r] {
			t.Errorf("%d.String() = %q, want %q", r, r.String(), want[r])
		}
	}
	if ReasonOf(errors.New("x")) != ReasonNone {
		t.Error("ReasonOf(plain error) != ReasonNone")
	}
}

func TestParseRejectsV2OverIPv6(t *testing.T) {
	b := v2Packet(t, nil)
	if _, err := Parse(b, RxInfo{Src: src6, Dst: MulticastGroup6}); ReasonOf(err) != ReasonVersion {
		t.Fatalf("err = %v, want version", err)
	}
}

func TestPassAuthData(t *testing.T) {
	if _, err := PassAuthData(""); err == nil {
		t.Error("empty password accepted")
	}
	if _, err := PassAuthData("123456789"); err == nil {
		t.Error("9-byte password accepted")
	}
	d, err := PassAuthData("12345678")
	if err != nil || string(d[:]) != "12345678" {
		t.Errorf("PassAuthData(12345678) = %q, %v", d, err)
	}
}

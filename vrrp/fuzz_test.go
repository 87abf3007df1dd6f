package vrrp

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"
	"time"
)

// fuzzRx picks IP header addresses from a selector byte.
func fuzzRx(sel uint8) RxInfo {
	switch sel % 4 {
	case 0:
		return RxInfo{Src: peer4, Dst: MulticastGroup4, TTL: 255}
	case 1:
		return RxInfo{Src: peer4, Dst: src4, TTL: 255}
	case 2:
		return RxInfo{Src: src6, Dst: MulticastGroup6, TTL: 255}
	default:
		return RxInfo{Src: peer4, TTL: int(sel)}
	}
}

func addFuzzSeeds(f *testing.F) {
	for _, h := range []string{
		"213364010001f210c0a8c8100000000000000000",
		"213396020101d3f2c0a8c810c0a8c8113131313100000000",
		"31016401006405a4c0000264",
		"310164010064a834c0000264",
		"31016401006423b4c0000264",
		"3107c8020032ab2120010db800000000000000000000010020010db8000000000000000000000101",
	} {
		b := mustHex(f, h)
		for sel := uint8(0); sel < 4; sel++ {
			f.Add(b, sel)
		}
	}
	f.Add([]byte{}, uint8(0))
	f.Add([]byte{0x31, 0, 0, 0xff, 0, 0, 0, 0}, uint8(2))
}

// FuzzDecode: Decode and Parse never panic and accepted packets are sane.
func FuzzDecode(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, payload []byte, sel uint8) {
		rx := fuzzRx(sel)
		for _, exp := range []Expect{
			{VRID: 51, Version: 2, AdvertInterval: time.Second, CheckVIPs: true, VIPs: addrs("192.168.200.16")},
			{VRID: 1, Version: 3, AdvertInterval: time.Second, CheckVIPs: true, Unicast: sel&4 != 0},
			{VRID: 7, Version: 3, AdvertInterval: 500 * time.Millisecond, AuthType: AuthPass},
		} {
			d, err := Decode(payload, rx, exp)
			if err != nil {
				if ReasonOf(err) == ReasonNone {
					t.Fatalf("Decode error without reason: %v", err)
				}
				continue
			}
			if d.VRID != exp.VRID || d.Version != exp.Version || len(payload) < d.Len(FamilyOf(rx.Src)) {
				t.Fatalf("accepted inconsistent packet %+v from %x", d, payload)
			}
		}
		if d, err := Parse(payload, rx); err == nil && len(payload) < d.Len(FamilyOf(rx.Src)) {
			t.Fatalf("Parse accepted %d bytes for %+v", len(payload), d)
		} else if err != nil && ReasonOf(err) == ReasonNone {
			t.Fatalf("Parse error without reason: %v", err)
		}
	})
}

// FuzzRoundTrip: for every packet Parse accepts, encoding the result with
// the matching checksum form gives back the packet (up to padding, the
// reserved bits and the two encodings of a zero checksum), and decoding that
// gives the same advertisement.
func FuzzRoundTrip(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, payload []byte, sel uint8) {
		rx := fuzzRx(sel)
		d, err := Parse(payload, rx)
		if err != nil {
			return
		}
		enc := EncodeOptions{Src: rx.Src, Dst: rx.Dst}
		if !enc.Dst.IsValid() {
			enc.Dst = mcast(FamilyOf(rx.Src)) // what Parse assumes
		}
		switch d.Checksum {
		case ChecksumNoPseudoHeader:
			enc.V3ChecksumAsV2 = true
		case ChecksumPseudoHeaderMcast:
			enc.Dst = MulticastGroup4
		}
		b, err := d.Marshal(enc)
		if err != nil {
			t.Fatalf("Marshal(Parse(%x)) = %v", payload, err)
		}
		orig := bytes.Clone(payload[:len(b)])
		if d.Version == 3 {
			orig[4] &= 0x0f // reserved bits are not kept
		}
		if d.Checksum == ChecksumUnverified || d.Version == 3 && payload[4]&0xf0 != 0 {
			copy(orig[6:8], b[6:8]) // checksum not comparable
		}
		if c1, c2 := binary.BigEndian.Uint16(orig[6:]), binary.BigEndian.Uint16(b[6:]); c1 != c2 && c1^c2 == 0xffff && (c1 == 0 || c2 == 0) {
			copy(orig[6:8], b[6:8]) // 0x0000 and 0xffff are the same one's complement zero
		}
		if !bytes.Equal(orig, b) {
			t.Fatalf("Marshal(Parse(x)) = %x, x = %x", b, payload)
		}
		d2, err := Parse(b, RxInfo{Src: enc.Src, Dst: enc.Dst, TTL: 255})
		if err != nil {
			t.Fatalf("Parse(Marshal(Parse(x))) = %v", err)
		}
		if !reflect.DeepEqual(d.Advertisement, d2.Advertisement) {
			t.Fatalf("round trip changed %+v to %+v", d.Advertisement, d2.Advertisement)
		}
		b2, err := d2.Marshal(enc)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("second encoding %x (%v) differs from %x", b2, err, b)
		}
	})
}

package vrrp_test

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/lvs-ha/lvs-ha/vrrp"
)

// Differential fuzzing against gopacket's VRRPv2 decoder, written independently of
// ours: where both accept a packet they must read the same fields, and every advert
// we marshal must read back in gopacket as what we meant.

var gpRx = vrrp.RxInfo{Src: netip.MustParseAddr("192.0.2.1"), Dst: vrrp.MulticastGroup4, TTL: 255}

// gopacketVRRP decodes payload with gopacket; nil when gopacket rejects it (its
// decoder panics on short input, which NewPacket turns into a decode failure).
func gopacketVRRP(payload []byte) *layers.VRRPv2 {
	p := gopacket.NewPacket(payload, layers.LayerTypeVRRP, gopacket.Default)
	if p.ErrorLayer() != nil {
		return nil
	}
	v, _ := p.Layer(layers.LayerTypeVRRP).(*layers.VRRPv2)
	return v
}

// inetChecksum is RFC 1071's sum over b, written here so that the checksum is
// checked by code that shares nothing with the encoder.
func inetChecksum(b []byte) uint16 {
	var sum uint32
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// sameAdvert fails t unless gopacket's view g of a VRRPv2 message msg agrees with a.
func sameAdvert(t *testing.T, msg []byte, a vrrp.Advertisement, g *layers.VRRPv2) {
	t.Helper()
	if int(g.Version) != a.Version || g.Type != layers.VRRPv2Advertisement || g.VirtualRtrID != a.VRID ||
		g.Priority != a.Priority || int(g.CountIPAddr) != len(a.Addrs) || uint8(g.AuthType) != uint8(a.AuthType) ||
		time.Duration(g.AdverInt)*time.Second != a.Interval || len(g.IPAddress) != len(a.Addrs) {
		t.Fatalf("gopacket reads %x as %+v, we as %+v", msg, g, a)
	}
	for i, ip := range g.IPAddress {
		if got, ok := netip.AddrFromSlice(ip); !ok || got != a.Addrs[i] {
			t.Fatalf("address %d: gopacket %v, we %v (%x)", i, ip, a.Addrs[i], msg)
		}
	}
	if g.Checksum != binary.BigEndian.Uint16(msg[6:8]) {
		t.Fatalf("checksum: gopacket %#04x, message %x", g.Checksum, msg)
	}
}

// FuzzGopacketParse: for any bytes, if Parse accepts a VRRPv2 advert with at least
// one address gopacket accepts it too, reading the same fields; and a checksum we
// accept verifies with an independent RFC 1071 sum.
func FuzzGopacketParse(f *testing.F) {
	for _, a := range []vrrp.Advertisement{
		{Version: 2, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("192.168.200.16")}},
		{Version: 2, VRID: 1, Priority: 255, Interval: 3 * time.Second, AuthType: vrrp.AuthPass, AuthData: [vrrp.AuthDataLen]byte{'s', 'e', 'c'},
			Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")}},
		{Version: 2, VRID: 255, Priority: 0, Interval: 255 * time.Second},
	} {
		b, err := a.Marshal(vrrp.EncodeOptions{Src: gpRx.Src, Dst: gpRx.Dst})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x21, 1, 100, 3, 0, 1, 0, 0, 10, 0, 0, 1}) // count larger than the packet
	f.Fuzz(func(t *testing.T, payload []byte) {
		checkParse(t, payload)
		// Random bytes rarely carry a valid checksum: try them once more with the
		// checksum of the VRRPv2 message their header describes filled in.
		if len(payload) >= vrrp.HeaderLen {
			if n := vrrp.HeaderLen + 4*int(payload[3]) + vrrp.AuthDataLen; len(payload) >= n {
				fixed := append([]byte(nil), payload...)
				fixed[6], fixed[7] = 0, 0
				binary.BigEndian.PutUint16(fixed[6:], inetChecksum(fixed[:n]))
				checkParse(t, fixed)
			}
		}
	})
}

func checkParse(t *testing.T, payload []byte) {
	t.Helper()
	d, err := vrrp.Parse(payload, gpRx)
	if err != nil || d.Version != 2 {
		return // gopacket decodes VRRPv2 only; where we reject, it may accept
	}
	msg := payload[:d.Len(vrrp.FamilyIPv4)]
	if inetChecksum(msg) != 0 {
		t.Fatalf("accepted %x whose checksum does not verify", msg)
	}
	g := gopacketVRRP(payload)
	if g == nil {
		if len(d.Addrs) == 0 {
			return // gopacket rejects an empty address list
		}
		t.Fatalf("we accept %x (%+v), gopacket rejects it", payload, d.Advertisement)
	}
	sameAdvert(t, msg, d.Advertisement, g)
}

// FuzzGopacketMarshal: every VRRPv2 advert we marshal reads back in gopacket as the
// advert we meant, with a checksum that verifies.
func FuzzGopacketMarshal(f *testing.F) {
	f.Add(uint8(51), uint8(100), uint8(1), false, "", []byte{192, 168, 200, 16})
	f.Add(uint8(1), uint8(255), uint8(3), true, "secret", []byte{10, 0, 0, 1, 10, 0, 0, 2, 10, 0, 0, 3})
	f.Add(uint8(255), uint8(0), uint8(255), false, "", []byte{192, 0, 2})
	f.Fuzz(func(t *testing.T, vrid, prio, intv uint8, pass bool, password string, addrs []byte) {
		a := vrrp.Advertisement{Version: 2, VRID: vrid, Priority: prio, Interval: time.Duration(intv) * time.Second}
		for ; len(addrs) >= 4 && len(a.Addrs) < 255; addrs = addrs[4:] {
			a.Addrs = append(a.Addrs, netip.AddrFrom4([4]byte(addrs[:4])))
		}
		if len(a.Addrs) == 0 {
			return // gopacket rejects an empty address list
		}
		if pass {
			d, err := vrrp.PassAuthData(password)
			if err != nil {
				return
			}
			a.AuthType, a.AuthData = vrrp.AuthPass, d
		}
		msg, err := a.Marshal(vrrp.EncodeOptions{Src: gpRx.Src, Dst: gpRx.Dst})
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", a, err)
		}
		if inetChecksum(msg) != 0 {
			t.Fatalf("checksum of %x does not verify", msg)
		}
		g := gopacketVRRP(msg)
		if g == nil {
			t.Fatalf("gopacket rejects %x (%+v)", msg, a)
		}
		sameAdvert(t, msg, a, g)
	})
}

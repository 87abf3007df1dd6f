package garp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

var testMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x01, 0x33}

// decodedARP is a received gratuitous ARP, decoded independently of ARPFrame.
type decodedARP struct {
	eth *ethernet.Frame
	arp *arp.Packet
}

func decodeARP(b []byte) (decodedARP, error) {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(b); err != nil {
		return decodedARP{}, err
	}
	if f.EtherType != ethernet.EtherTypeARP {
		return decodedARP{}, fmt.Errorf("ethertype %v, not ARP", f.EtherType)
	}
	var p arp.Packet
	if err := p.UnmarshalBinary(f.Payload); err != nil {
		return decodedARP{}, err
	}
	return decodedARP{&f, &p}, nil
}

func (d decodedARP) check(mac net.HardwareAddr, vip netip.Addr) error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if !bytes.Equal(d.eth.Destination, ethernet.Broadcast) {
		bad("eth dst %v, want broadcast", d.eth.Destination)
	}
	if !bytes.Equal(d.eth.Source, mac) {
		bad("eth src %v, want %v", d.eth.Source, mac)
	}
	p := d.arp
	if p.HardwareType != 1 || p.ProtocolType != uint16(ethernet.EtherTypeIPv4) || p.HardwareAddrLength != 6 || p.IPLength != 4 {
		bad("htype/ptype/hlen/plen %d/%#x/%d/%d", p.HardwareType, p.ProtocolType, p.HardwareAddrLength, p.IPLength)
	}
	if p.Operation != arp.OperationRequest {
		bad("opcode %v, want request (keepalived's)", p.Operation)
	}
	if !bytes.Equal(p.SenderHardwareAddr, mac) {
		bad("sha %v, want %v", p.SenderHardwareAddr, mac)
	}
	if p.SenderIP != vip || p.TargetIP != vip {
		bad("sip/tip %v/%v, want %v", p.SenderIP, p.TargetIP, vip)
	}
	if !bytes.Equal(p.TargetHardwareAddr, ethernet.Broadcast) {
		bad("tha %v, want ff:ff:ff:ff:ff:ff", p.TargetHardwareAddr)
	}
	if errs != nil {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// decodedNA is a received unsolicited NA, decoded independently of NAFrame.
type decodedNA struct {
	eth        *ethernet.Frame
	ip         *ipv6.Header
	na         *ndp.NeighborAdvertisement
	checksumOK bool
}

func decodeNA(b []byte) (decodedNA, error) {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(b); err != nil {
		return decodedNA{}, err
	}
	if f.EtherType != ethernet.EtherTypeIPv6 {
		return decodedNA{}, fmt.Errorf("ethertype %v, not IPv6", f.EtherType)
	}
	h, err := ipv6.ParseHeader(f.Payload)
	if err != nil {
		return decodedNA{}, err
	}
	if h.NextHeader != protoICMPv6 {
		return decodedNA{}, fmt.Errorf("next header %d, not ICMPv6", h.NextHeader)
	}
	end := ipv6HeaderLen + h.PayloadLen
	if end > len(f.Payload) {
		return decodedNA{}, fmt.Errorf("payload length %d exceeds frame", h.PayloadLen)
	}
	icmp := f.Payload[ipv6HeaderLen:end]
	m, err := ndp.ParseMessage(icmp)
	if err != nil {
		return decodedNA{}, err
	}
	na, ok := m.(*ndp.NeighborAdvertisement)
	if !ok {
		return decodedNA{}, fmt.Errorf("ICMPv6 %v, not a neighbour advertisement", m.Type())
	}
	return decodedNA{&f, h, na, icmpv6ChecksumOK(h.Src, h.Dst, icmp)}, nil
}

// icmpv6ChecksumOK verifies the RFC 4443 checksum over the pseudo-header.
func icmpv6ChecksumOK(src, dst net.IP, icmp []byte) bool {
	var ph []byte
	ph = append(ph, src.To16()...)
	ph = append(ph, dst.To16()...)
	ph = binary.BigEndian.AppendUint32(ph, uint32(len(icmp)))
	ph = append(ph, 0, 0, 0, protoICMPv6)
	ph = append(ph, icmp...)
	if len(ph)%2 == 1 {
		ph = append(ph, 0)
	}
	var sum uint32
	for i := 0; i < len(ph); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ph[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return sum == 0xffff
}

func (d decodedNA) check(mac net.HardwareAddr, vip netip.Addr, router bool) error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if !bytes.Equal(d.eth.Destination, allNodesMAC) {
		bad("eth dst %v, want 33:33:00:00:00:01", d.eth.Destination)
	}
	if !bytes.Equal(d.eth.Source, mac) {
		bad("eth src %v, want %v", d.eth.Source, mac)
	}
	if d.ip.Version != 6 || d.ip.HopLimit != 255 {
		bad("version %d hop limit %d, want 6 and 255", d.ip.Version, d.ip.HopLimit)
	}
	if !d.ip.Src.Equal(net.IP(vip.AsSlice())) || !d.ip.Dst.Equal(net.ParseIP("ff02::1")) {
		bad("ip %v -> %v, want %v -> ff02::1", d.ip.Src, d.ip.Dst, vip)
	}
	if !d.checksumOK {
		bad("bad ICMPv6 checksum")
	}
	na := d.na
	if !na.Override || na.Solicited || na.Router != router {
		bad("flags R=%v S=%v O=%v, want R=%v S=false O=true", na.Router, na.Solicited, na.Override, router)
	}
	if na.TargetAddress != vip {
		bad("target %v, want %v", na.TargetAddress, vip)
	}
	var tlla net.HardwareAddr
	for _, o := range na.Options {
		if l, ok := o.(*ndp.LinkLayerAddress); ok && l.Direction == ndp.Target {
			tlla = l.Addr
		}
	}
	if len(na.Options) != 1 || !bytes.Equal(tlla, mac) {
		bad("options %v, want only a target link-layer address %v", na.Options, mac)
	}
	if errs != nil {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func TestARPFrame(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.10")
	b, err := ARPFrame(testMAC, vip)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 42 {
		t.Errorf("frame length %d, want 42 (keepalived's)", len(b))
	}
	want := []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x00, 0x01, 0x33, 0x08, 0x06, // ethernet
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, // ARP header, request
		0x02, 0x00, 0x5e, 0x00, 0x01, 0x33, 192, 0, 2, 10, // sender
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 192, 0, 2, 10, // target
	}
	if !bytes.Equal(b[:42], want) {
		t.Errorf("frame\n got  % x\n want % x", b[:42], want)
	}
	d, err := decodeARP(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.check(testMAC, vip); err != nil {
		t.Error(err)
	}
	// An IPv4-mapped address is announced as IPv4.
	if _, err := ARPFrame(testMAC, netip.MustParseAddr("::ffff:192.0.2.10")); err != nil {
		t.Error(err)
	}
}

func TestNAFrame(t *testing.T) {
	vip := netip.MustParseAddr("2001:db8::10")
	for _, router := range []bool{false, true} {
		b, err := NAFrame(testMAC, vip, router)
		if err != nil {
			t.Fatal(err)
		}
		// 14 ethernet + 40 IPv6 + 24 NA + 8 TLLA option, as keepalived.
		if len(b) != 86 {
			t.Errorf("frame length %d, want 86", len(b))
		}
		d, err := decodeNA(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.check(testMAC, vip, router); err != nil {
			t.Errorf("router=%v: %v", router, err)
		}
		// ICMPv6 type 136, code 0, flags byte: R=0x80 S=0x40 O=0x20.
		icmp := b[14+40:]
		flags := byte(0x20)
		if router {
			flags |= 0x80
		}
		if icmp[0] != 136 || icmp[1] != 0 || icmp[4] != flags {
			t.Errorf("router=%v: icmp type/code/flags %d/%d/%#x", router, icmp[0], icmp[1], icmp[4])
		}
	}
}

// TestFramesMatchKeepalived compares with frames keepalived 2.2.7 sent for
// the same VIPs from an interface with MAC 02:00:5e:00:02:0a (captured on
// the peer of a veth pair; IPv6 forwarding off).
func TestFramesMatchKeepalived(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x02, 0x0a}
	const (
		kaARP = "ffffffffffff02005e00020a0806000108000604000102005e00020ac000020affffffffffffc000020a"
		kaNA  = "33330000000102005e00020a86dd6000000000203aff20010db8000000000000000000000010" +
			"ff020000000000000000000000000001880099032000000020010db8000000000000000000000010020102005e00020a"
	)
	arpB, err := ARPFrame(mac, netip.MustParseAddr("192.0.2.10"))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(arpB); got != kaARP {
		t.Errorf("ARP frame\n got  %s\n want %s", got, kaARP)
	}
	naB, err := NAFrame(mac, netip.MustParseAddr("2001:db8::10"), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(naB); got != kaNA {
		t.Errorf("NA frame\n got  %s\n want %s", got, kaNA)
	}
}

func TestFrameErrors(t *testing.T) {
	v4 := netip.MustParseAddr("192.0.2.10")
	v6 := netip.MustParseAddr("2001:db8::10")
	tests := []struct {
		name string
		fn   func() ([]byte, error)
		want string
	}{
		{"arp for v6", func() ([]byte, error) { return ARPFrame(testMAC, v6) }, "not an IPv4 address"},
		{"arp invalid", func() ([]byte, error) { return ARPFrame(testMAC, netip.Addr{}) }, "not an IPv4 address"},
		{"arp short mac", func() ([]byte, error) { return ARPFrame(testMAC[:4], v4) }, "not Ethernet"},
		{"arp infiniband mac", func() ([]byte, error) { return ARPFrame(make(net.HardwareAddr, 20), v4) }, "not Ethernet"},
		{"na for v4", func() ([]byte, error) { return NAFrame(testMAC, v4, false) }, "not an IPv6 address"},
		{"na for mapped v4", func() ([]byte, error) { return NAFrame(testMAC, netip.MustParseAddr("::ffff:1.2.3.4"), false) }, "not an IPv6 address"},
		{"na nil mac", func() ([]byte, error) { return NAFrame(nil, v6, false) }, "not Ethernet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.fn()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %d bytes, err %v; want error containing %q", len(b), err, tc.want)
			}
		})
	}
}

func TestAnnouncerRejectsBadAnnouncement(t *testing.T) {
	a := NewAnnouncer(AnnouncerConfig{})
	defer a.Close()
	err := a.Send(Announcement{Interface: "", Addr: netip.MustParseAddr("192.0.2.1")})
	if err == nil || !strings.Contains(err.Error(), "empty interface name") {
		t.Fatalf("err = %v", err)
	}
	if c := a.Counters(""); c.Errors != 1 || c.ARP != 0 {
		t.Fatalf("counters %+v", c)
	}
	// An unknown interface fails at lookup, before any socket is opened.
	err = a.Send(Announcement{Interface: "gtnonexistent0", Addr: netip.MustParseAddr("192.0.2.1")})
	if err == nil || !strings.Contains(err.Error(), "gtnonexistent0") {
		t.Fatalf("err = %v", err)
	}
}

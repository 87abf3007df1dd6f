package garp

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Differential fuzzing against gopacket's decoders, written independently of the
// libraries ARPFrame and NAFrame build on: every frame we build must decode in
// gopacket to exactly what we meant, checksum included.

// fuzzMAC makes a 6-byte hardware address from a fuzzed integer.
func fuzzMAC(seed uint64) net.HardwareAddr {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seed)
	return net.HardwareAddr(b[2:])
}

func gopacketDecode(t *testing.T, frame []byte) gopacket.Packet {
	t.Helper()
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	if e := p.ErrorLayer(); e != nil {
		t.Fatalf("gopacket cannot decode %x: %v", frame, e.Error())
	}
	return p
}

func checkEthernet(t *testing.T, p gopacket.Packet, dst, src net.HardwareAddr, typ layers.EthernetType) {
	t.Helper()
	eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if eth == nil || !bytes.Equal(eth.DstMAC, dst) || !bytes.Equal(eth.SrcMAC, src) || eth.EthernetType != typ {
		t.Fatalf("ethernet header %+v, want %v -> %v type %v", eth, src, dst, typ)
	}
}

// FuzzGopacketARP: a gratuitous ARP decodes as an Ethernet broadcast ARP request
// with sender and target IP the VIP, sender MAC ours and target MAC broadcast.
func FuzzGopacketARP(f *testing.F) {
	f.Add(uint64(0x02005e00010a), uint32(0xc000020a))
	f.Add(uint64(0), uint32(0))
	f.Add(^uint64(0), ^uint32(0))
	f.Fuzz(func(t *testing.T, macSeed uint64, ip uint32) {
		mac, vip := fuzzMAC(macSeed), netip.AddrFrom4([4]byte(binary.BigEndian.AppendUint32(nil, ip)))
		frame, err := ARPFrame(mac, vip)
		if err != nil {
			t.Fatalf("ARPFrame(%v, %v): %v", mac, vip, err)
		}
		p := gopacketDecode(t, frame)
		checkEthernet(t, p, layers.EthernetBroadcast, mac, layers.EthernetTypeARP)
		a, _ := p.Layer(layers.LayerTypeARP).(*layers.ARP)
		if a == nil || a.AddrType != layers.LinkTypeEthernet || a.Protocol != layers.EthernetTypeIPv4 ||
			a.HwAddressSize != 6 || a.ProtAddressSize != 4 || a.Operation != layers.ARPRequest ||
			!bytes.Equal(a.SourceHwAddress, mac) || !bytes.Equal(a.SourceProtAddress, vip.AsSlice()) ||
			!bytes.Equal(a.DstHwAddress, layers.EthernetBroadcast) || !bytes.Equal(a.DstProtAddress, vip.AsSlice()) {
			t.Fatalf("ARP %+v, want a gratuitous request for %v from %v", a, vip, mac)
		}
		if len(frame) != 14+28 {
			t.Fatalf("frame of %d bytes, want 42 (no padding, as keepalived)", len(frame))
		}
	})
}

// FuzzGopacketNA: an unsolicited NA decodes as IPv6 from the VIP to ff02::1 with hop
// limit 255, ICMPv6 NA with a valid checksum, flags R as asked, S clear, O set,
// target the VIP and one target link-layer address option carrying our MAC.
func FuzzGopacketNA(f *testing.F) {
	f.Add(uint64(0x02005e00010a), uint64(0x20010db800000000), uint64(0x10), false)
	f.Add(uint64(0x02005e00010a), uint64(0xfe80000000000000), uint64(1), true)
	f.Add(^uint64(0), ^uint64(0), ^uint64(0), true)
	f.Fuzz(func(t *testing.T, macSeed, hi, lo uint64, router bool) {
		var a16 [16]byte
		binary.BigEndian.PutUint64(a16[:8], hi)
		binary.BigEndian.PutUint64(a16[8:], lo)
		mac, vip := fuzzMAC(macSeed), netip.AddrFrom16(a16)
		frame, err := NAFrame(mac, vip, router)
		if vip.Is4In6() {
			if err == nil {
				t.Fatalf("NAFrame accepted the IPv4-mapped %v", vip)
			}
			return
		}
		if err != nil {
			t.Fatalf("NAFrame(%v, %v): %v", mac, vip, err)
		}
		p := gopacketDecode(t, frame)
		checkEthernet(t, p, allNodesMAC, mac, layers.EthernetTypeIPv6)
		ip, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		if ip == nil || ip.Version != 6 || ip.NextHeader != layers.IPProtocolICMPv6 || ip.HopLimit != 255 ||
			!ip.SrcIP.Equal(vip.AsSlice()) || !ip.DstIP.Equal(allNodes.AsSlice()) || int(ip.Length) != len(ip.Payload) {
			t.Fatalf("IPv6 header %+v, want %v -> ff02::1, hop limit 255", ip, vip)
		}
		icmp, _ := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
		if icmp == nil || icmp.TypeCode != layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborAdvertisement, 0) {
			t.Fatalf("ICMPv6 %+v, want a neighbour advertisement", icmp)
		}
		// gopacket's own checksum code recomputes the checksum over the
		// pseudo-header and message (overwriting icmp.Checksum).
		got := icmp.Checksum
		if err := icmp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, icmp, gopacket.Payload(icmp.Payload)); err != nil {
			t.Fatal(err)
		}
		if want := binary.BigEndian.Uint16(buf.Bytes()[2:4]); got != want {
			t.Fatalf("ICMPv6 checksum %#04x, gopacket computes %#04x", got, want)
		}
		na, _ := p.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
		if na == nil || na.Router() != router || na.Solicited() || !na.Override() || !na.TargetAddress.Equal(vip.AsSlice()) ||
			len(na.Options) != 1 || na.Options[0].Type != layers.ICMPv6OptTargetAddress || !bytes.Equal(na.Options[0].Data, mac) {
			t.Fatalf("NA %+v, want R=%v S=0 O=1 target %v with target link-layer address %v", na, router, vip, mac)
		}
	})
}

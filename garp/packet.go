package garp

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

// Wire constants of the frames built here.
var (
	// allNodes is ff02::1, the destination of unsolicited NAs.
	allNodes = netip.MustParseAddr("ff02::1")
	// allNodesMAC is 33:33:00:00:00:01, ff02::1 mapped per RFC 2464 §7.
	allNodesMAC = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
)

const (
	etherTypeARP      = 0x0806
	etherTypeIPv6     = 0x86dd
	ethernetHeaderLen = 14
	ipv6HeaderLen     = 40
	protoICMPv6       = 58
	ndpHopLimit       = 255
)

// ARPFrame builds the Ethernet frame keepalived sends as a gratuitous ARP
// for vip (vrrp_arp.c): an ARP *request* (opcode 1) broadcast to
// ff:ff:ff:ff:ff:ff, with sender = target IP = vip, sender hardware address
// mac and target hardware address ff:ff:ff:ff:ff:ff. TestFramesMatchKeepalived
// pins this frame and NAFrame's byte for byte to what keepalived 2.2.7 sends.
func ARPFrame(mac net.HardwareAddr, vip netip.Addr) ([]byte, error) {
	vip = vip.Unmap()
	if !vip.Is4() {
		return nil, fmt.Errorf("garp: gratuitous ARP for %s: not an IPv4 address", vip)
	}
	if len(mac) != 6 {
		return nil, fmt.Errorf("garp: gratuitous ARP for %s: hardware address %q is not Ethernet", vip, mac)
	}
	p, err := arp.NewPacket(arp.OperationRequest, mac, vip, ethernet.Broadcast, vip)
	if err != nil {
		return nil, fmt.Errorf("garp: gratuitous ARP for %s: %w", vip, err)
	}
	pb, err := p.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("garp: gratuitous ARP for %s: %w", vip, err)
	}
	f := ethernet.Frame{
		Destination: ethernet.Broadcast,
		Source:      mac,
		EtherType:   ethernet.EtherTypeARP,
		Payload:     pb,
	}
	b, err := marshalFrame(&f)
	if err != nil {
		return nil, err
	}
	// Drop the encoder's padding to 60 bytes: keepalived sends 42, the
	// NIC pads on the wire.
	return b[:ethernetHeaderLen+len(pb)], nil
}

// NAFrame builds the Ethernet frame keepalived sends as an unsolicited
// neighbour advertisement for vip (vrrp_ndisc.c): IPv6 from vip to ff02::1
// (Ethernet 33:33:00:00:00:01), hop limit 255, ICMPv6 NA with the override
// flag, solicited clear, router as given (keepalived: the interface's
// net.ipv6.conf.IF.forwarding), target vip and a target link-layer address
// option carrying mac.
func NAFrame(mac net.HardwareAddr, vip netip.Addr, router bool) ([]byte, error) {
	if !vip.Is6() || vip.Is4In6() {
		return nil, fmt.Errorf("garp: neighbour advertisement for %s: not an IPv6 address", vip)
	}
	if len(mac) != 6 {
		return nil, fmt.Errorf("garp: neighbour advertisement for %s: hardware address %q is not Ethernet", vip, mac)
	}
	src := vip.WithZone("")
	na := &ndp.NeighborAdvertisement{
		Router:        router,
		Override:      true,
		TargetAddress: src,
		Options: []ndp.Option{&ndp.LinkLayerAddress{
			Direction: ndp.Target,
			Addr:      mac,
		}},
	}
	icmp, err := ndp.MarshalMessageChecksum(na, src, allNodes)
	if err != nil {
		return nil, fmt.Errorf("garp: neighbour advertisement for %s: %w", vip, err)
	}
	ip := make([]byte, ipv6HeaderLen+len(icmp))
	ip[0] = 6 << 4 // version 6, traffic class 0, flow label 0
	binary.BigEndian.PutUint16(ip[4:6], uint16(len(icmp)))
	ip[6] = protoICMPv6
	ip[7] = ndpHopLimit
	s16, d16 := src.As16(), allNodes.As16()
	copy(ip[8:24], s16[:])
	copy(ip[24:40], d16[:])
	copy(ip[ipv6HeaderLen:], icmp)
	f := ethernet.Frame{
		Destination: allNodesMAC,
		Source:      mac,
		EtherType:   ethernet.EtherTypeIPv6,
		Payload:     ip,
	}
	return marshalFrame(&f)
}

func marshalFrame(f *ethernet.Frame) ([]byte, error) {
	b, err := f.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("garp: ethernet frame: %w", err)
	}
	return b, nil
}

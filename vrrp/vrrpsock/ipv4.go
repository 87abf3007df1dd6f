package vrrpsock

import (
	"encoding/binary"
	"net/netip"
)

// ipv4Header is what Recv needs from the IPv4 header that an ip4 raw socket returns
// in front of the payload.
type ipv4Header struct {
	Len      int // header length in bytes, options included
	TotalLen int // total length of the datagram (header + payload)
	TTL      uint8
	Protocol uint8
	Src, Dst netip.Addr
}

// parseIPv4Header parses the IPv4 header at the start of b, which holds the whole
// datagram as received. It reports false when b is not a well-formed, complete IPv4
// datagram (bad version, header length or total length).
func parseIPv4Header(b []byte) (ipv4Header, bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return ipv4Header{}, false
	}
	hl := int(b[0]&0x0f) * 4
	if hl < 20 || hl > len(b) {
		return ipv4Header{}, false
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if total < hl || total > len(b) {
		return ipv4Header{}, false
	}
	return ipv4Header{
		Len:      hl,
		TotalLen: total,
		TTL:      b[8],
		Protocol: b[9],
		Src:      netip.AddrFrom4([4]byte(b[12:16])),
		Dst:      netip.AddrFrom4([4]byte(b[16:20])),
	}, true
}

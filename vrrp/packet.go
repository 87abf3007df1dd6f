package vrrp

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Wire constants.
const (
	IPProtocol  = 112 // IANA protocol number of VRRP
	TTL         = 255 // required IPv4 TTL / IPv6 hop limit of multicast adverts
	TypeAdvert  = 1   // the only VRRP packet type
	HeaderLen   = 8   // fixed header, before the address list
	AuthDataLen = 8   // VRRPv2 authentication data, after the address list

	// MaxV2Interval and MaxV3Interval are the largest encodable intervals.
	MaxV2Interval = 255 * time.Second
	MaxV3Interval = 4095 * 10 * time.Millisecond
)

// Multicast groups VRRP adverts are sent to (RFC 5798 §5.1.1.2, §5.1.2.2).
var (
	MulticastGroup4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	MulticastGroup6 = netip.MustParseAddr("ff02::12")
)

// Family is an IP address family.
type Family uint8

// Address families.
const (
	FamilyIPv4 Family = 4
	FamilyIPv6 Family = 6
)

func (f Family) String() string {
	switch f {
	case FamilyIPv4:
		return "inet"
	case FamilyIPv6:
		return "inet6"
	}
	return fmt.Sprintf("family(%d)", uint8(f))
}

func (f Family) addrLen() int {
	if f == FamilyIPv6 {
		return 16
	}
	return 4
}

// FamilyOf returns the family of a (IPv4-mapped IPv6 counts as IPv4), or 0
// for the zero Addr.
func FamilyOf(a netip.Addr) Family {
	a = a.Unmap()
	switch {
	case a.Is4():
		return FamilyIPv4
	case a.Is6():
		return FamilyIPv6
	}
	return 0
}

// AuthType is the VRRPv2 authentication type (RFC 2338 §5.3.6; RFC 3768
// keeps only 0 and deprecates the others, keepalived still speaks 1 and 2).
type AuthType uint8

// VRRPv2 authentication types.
const (
	AuthNone AuthType = 0
	AuthPass AuthType = 1 // simple text password, 8 bytes zero padded
	AuthAH   AuthType = 2 // IPsec AH; not supported, such packets are rejected
)

func (t AuthType) String() string {
	switch t {
	case AuthNone:
		return "none"
	case AuthPass:
		return "PASS"
	case AuthAH:
		return "AH"
	}
	return fmt.Sprintf("auth(%d)", uint8(t))
}

// PassAuthData turns a keepalived auth_pass into the 8 bytes sent on the wire.
// keepalived silently truncates longer passwords; here it is an error.
func PassAuthData(pass string) ([AuthDataLen]byte, error) {
	var d [AuthDataLen]byte
	if pass == "" || len(pass) > AuthDataLen {
		return d, fmt.Errorf("vrrp: auth_pass must be 1 to %d bytes, got %d", AuthDataLen, len(pass))
	}
	copy(d[:], pass)
	return d, nil
}

// Advertisement is a VRRP advertisement, version 2 or 3, independent of the
// wire layout.
type Advertisement struct {
	Version  int // 2 or 3
	VRID     uint8
	Priority uint8
	// Interval is the advertisement interval: whole seconds in VRRPv2 (8-bit
	// field), centiseconds in VRRPv3 (12-bit Max Adver Int field).
	Interval time.Duration
	// Addrs are the virtual addresses, all of one family.
	Addrs []netip.Addr
	// AuthType and AuthData are VRRPv2 only; zero for VRRPv3.
	AuthType AuthType
	AuthData [AuthDataLen]byte
}

// Len is the length of the encoded advertisement for family f.
func (a *Advertisement) Len(f Family) int {
	n := HeaderLen + len(a.Addrs)*f.addrLen()
	if a.Version == 2 {
		n += AuthDataLen
	}
	return n
}

// EncodeOptions carries the IP header fields the checksum depends on.
type EncodeOptions struct {
	// Src and Dst are the IP source and destination. VRRPv3 needs both for
	// the pseudo-header checksum (unless V3ChecksumAsV2 over IPv4); Src also
	// determines the family, falling back to the family of the addresses.
	Src, Dst netip.Addr
	// V3ChecksumAsV2 computes a VRRPv3-over-IPv4 checksum without the
	// pseudo-header, like keepalived's v3_checksum_as_v2. Ignored for IPv6.
	V3ChecksumAsV2 bool
}

// Marshal encodes a as VRRPv2 (RFC 3768, IPv4, with keepalived's
// simple-password authentication) or VRRPv3 (RFC 5798 / RFC 9568, IPv4 and
// IPv6), computing the checksum.
func (a *Advertisement) Marshal(o EncodeOptions) ([]byte, error) {
	return a.AppendMarshal(nil, o)
}

// AppendMarshal appends the encoding of a to b.
func (a *Advertisement) AppendMarshal(b []byte, o EncodeOptions) ([]byte, error) {
	fam := FamilyOf(o.Src)
	if fam == 0 && len(a.Addrs) > 0 {
		fam = FamilyOf(a.Addrs[0])
	}
	if fam == 0 {
		if a.Version == 3 {
			return b, errors.New("vrrp: encode: VRRPv3 needs a source address or at least one address to know the family")
		}
		fam = FamilyIPv4
	}
	if a.Version != 2 && a.Version != 3 {
		return b, fmt.Errorf("vrrp: encode: version %d, want 2 or 3", a.Version)
	}
	if a.Version == 2 && fam != FamilyIPv4 {
		return b, errors.New("vrrp: encode: VRRPv2 is IPv4 only")
	}
	if len(a.Addrs) > 255 {
		return b, fmt.Errorf("vrrp: encode: %d addresses, at most 255 fit", len(a.Addrs))
	}
	var intv uint16
	switch a.Version {
	case 2:
		if a.Interval < 0 || a.Interval > MaxV2Interval || a.Interval%time.Second != 0 {
			return b, fmt.Errorf("vrrp: encode: VRRPv2 interval %v is not whole seconds in 0..255s", a.Interval)
		}
		intv = uint16(a.Interval / time.Second)
	case 3:
		if a.Interval < 0 || a.Interval > MaxV3Interval || a.Interval%(10*time.Millisecond) != 0 {
			return b, fmt.Errorf("vrrp: encode: VRRPv3 interval %v is not whole centiseconds in 0..40.95s", a.Interval)
		}
		if a.AuthType != AuthNone {
			return b, errors.New("vrrp: encode: VRRPv3 has no authentication")
		}
		intv = uint16(a.Interval / (10 * time.Millisecond))
	}
	if a.Version == 2 && a.AuthType != AuthNone && a.AuthType != AuthPass {
		return b, fmt.Errorf("vrrp: encode: auth type %v not supported", a.AuthType)
	}

	start := len(b)
	b = append(b, byte(a.Version<<4|TypeAdvert), a.VRID, a.Priority, byte(len(a.Addrs)))
	if a.Version == 2 {
		b = append(b, byte(a.AuthType), byte(intv))
	} else {
		b = binary.BigEndian.AppendUint16(b, intv)
	}
	b = append(b, 0, 0) // checksum
	for i, ad := range a.Addrs {
		// An IPv4-mapped address is IPv4 in an IPv4 advert, but kept as the
		// 16 bytes it is in an IPv6 one.
		switch {
		case fam == FamilyIPv4 && ad.Unmap().Is4():
			b = append(b, ad.Unmap().AsSlice()...)
		case fam == FamilyIPv6 && ad.Is6():
			b = append(b, ad.AsSlice()...)
		default:
			return b[:start], fmt.Errorf("vrrp: encode: address %d (%v) is not %v", i, ad, fam)
		}
	}
	if a.Version == 2 {
		b = append(b, a.AuthData[:]...)
	}
	msg := b[start:]

	var acc uint32
	if a.Version == 3 && !(fam == FamilyIPv4 && o.V3ChecksumAsV2) {
		if FamilyOf(o.Src) != fam || FamilyOf(o.Dst) != fam {
			return b[:start], fmt.Errorf("vrrp: encode: VRRPv3 checksum needs %v source and destination, got %v and %v", fam, o.Src, o.Dst)
		}
		acc = pseudoHeaderSum(fam, o.Src, o.Dst, len(msg))
	}
	binary.BigEndian.PutUint16(msg[6:], csumFold(csumAdd(acc, msg)))
	return b, nil
}

// ChecksumForm says how a received checksum was computed.
type ChecksumForm uint8

// Checksum forms accepted on reception.
const (
	ChecksumUnverified ChecksumForm = iota // not checked (IPv6 without a destination address)
	// ChecksumV2 is VRRPv2: over the VRRP message only.
	ChecksumV2
	// ChecksumPseudoHeader is RFC 5798: VRRPv3 message plus IP pseudo-header.
	ChecksumPseudoHeader
	// ChecksumNoPseudoHeader is VRRPv3 over IPv4 without pseudo-header
	// (keepalived v3_checksum_as_v2).
	ChecksumNoPseudoHeader
	// ChecksumPseudoHeaderMcast is VRRPv3 over IPv4 unicast with the
	// multicast group as pseudo-header destination (keepalived <= 1.3.6).
	ChecksumPseudoHeaderMcast
)

func (c ChecksumForm) String() string {
	switch c {
	case ChecksumUnverified:
		return "unverified"
	case ChecksumV2:
		return "v2"
	case ChecksumPseudoHeader:
		return "pseudo_header"
	case ChecksumNoPseudoHeader:
		return "no_pseudo_header"
	case ChecksumPseudoHeaderMcast:
		return "pseudo_header_mcast"
	}
	return fmt.Sprintf("checksum_form(%d)", uint8(c))
}

// RxInfo is what the receiver knows from the IP header.
type RxInfo struct {
	// Dst may be the zero Addr if unknown: an IPv4 VRRPv3 checksum is then
	// verified assuming the multicast group, an IPv6 one not at all.
	Src, Dst netip.Addr
	TTL      int // IPv4 TTL / IPv6 hop limit; negative if unknown (not checked)
}

// Decoded is a received advertisement plus what reception learnt about it.
type Decoded struct {
	Advertisement
	Checksum ChecksumForm
	// IntervalMismatch: VRRPv3 interval differs from Expect.AdvertInterval
	// (keepalived only logs this).
	IntervalMismatch bool
	// AddressListMismatch: address count or entries differ from
	// Expect.VIPs and Expect.RejectAddressMismatch is off (Machine.Expect
	// sets it unless SkipCheckAdvAddr: keepalived drops such packets and
	// counts addr_list_err).
	AddressListMismatch bool
}

// header is the raw fixed header.
type header struct {
	version, typ  int
	vrid, prio    uint8
	count         int
	authType      AuthType // v2
	intervalField uint16   // v2: seconds; v3: centiseconds (rsvd masked)
}

func parseHeader(p []byte) (header, error) {
	if len(p) < HeaderLen {
		return header{}, reject(ReasonPacketLength, "%d bytes, shorter than the %d byte header", len(p), HeaderLen)
	}
	h := header{
		version: int(p[0] >> 4),
		typ:     int(p[0] & 0x0f),
		vrid:    p[1],
		prio:    p[2],
		count:   int(p[3]),
	}
	if h.version == 2 {
		h.authType = AuthType(p[4])
		h.intervalField = uint16(p[5])
	} else {
		h.intervalField = binary.BigEndian.Uint16(p[4:]) & 0x0fff
	}
	return h, nil
}

func (h header) msgLen(f Family) int {
	n := HeaderLen + h.count*f.addrLen()
	if h.version == 2 {
		n += AuthDataLen
	}
	return n
}

func (h header) interval() time.Duration {
	if h.version == 2 {
		return time.Duration(h.intervalField) * time.Second
	}
	return time.Duration(h.intervalField) * 10 * time.Millisecond
}

// checkLength verifies the payload holds exactly the message, allowing
// Ethernet minimum-frame padding like keepalived (only possible for short
// IPv4 packets: the IP packet is under 46 bytes and the excess is 2 mod 4).
func checkLength(p []byte, h header, f Family) (int, error) {
	n := h.msgLen(f)
	if len(p) == n {
		return n, nil
	}
	if f == FamilyIPv4 && len(p) > n && 20+n < 46 && (len(p)-n)%4 == 2 {
		return n, nil
	}
	word := "short"
	if len(p) > n {
		word = "long"
	}
	return 0, reject(ReasonPacketLength, "too %s: %d bytes for %d %v addresses (expect %d)", word, len(p), h.count, f, n)
}

func rxFamily(rx RxInfo) (Family, error) {
	if f := FamilyOf(rx.Src); f != 0 {
		return f, nil
	}
	if f := FamilyOf(rx.Dst); f != 0 {
		return f, nil
	}
	return 0, reject(ReasonAddressFamily, "no source or destination address to tell the family")
}

// verifyChecksum tries the checksum forms valid for the version and family.
func verifyChecksum(msg []byte, h header, f Family, rx RxInfo) (ChecksumForm, error) {
	if h.version == 2 {
		if csumFold(csumAdd(0, msg)) == 0 {
			return ChecksumV2, nil
		}
		return 0, reject(ReasonChecksum, "VRRPv2 checksum 0x%04x does not verify", binary.BigEndian.Uint16(msg[6:]))
	}
	src, dst := rx.Src.Unmap(), rx.Dst.Unmap()
	if f == FamilyIPv6 {
		if FamilyOf(src) != f || FamilyOf(dst) != f {
			return ChecksumUnverified, nil
		}
		if csumFold(csumAdd(pseudoHeaderSum(f, src, dst, len(msg)), msg)) == 0 {
			return ChecksumPseudoHeader, nil
		}
		return 0, reject(ReasonChecksum, "VRRPv3 IPv6 checksum 0x%04x does not verify", binary.BigEndian.Uint16(msg[6:]))
	}
	if FamilyOf(dst) != f {
		dst = MulticastGroup4 // destination unknown: assume multicast
	}
	body := csumAdd(0, msg)
	if FamilyOf(src) == f && csumFold(body+pseudoHeaderSum(f, src, dst, len(msg))) == 0 {
		return ChecksumPseudoHeader, nil
	}
	if csumFold(body) == 0 {
		return ChecksumNoPseudoHeader, nil
	}
	if FamilyOf(src) == f && dst != MulticastGroup4 && csumFold(body+pseudoHeaderSum(f, src, MulticastGroup4, len(msg))) == 0 {
		return ChecksumPseudoHeaderMcast, nil
	}
	return 0, reject(ReasonChecksum, "VRRPv3 IPv4 checksum 0x%04x does not verify with or without pseudo-header", binary.BigEndian.Uint16(msg[6:]))
}

// decodeAdvert decodes msg, storing the addresses in addrs' backing array
// if it has room (nil: a new one).
func decodeAdvert(msg []byte, h header, f Family, addrs []netip.Addr) Advertisement {
	a := Advertisement{
		Version:  h.version,
		VRID:     h.vrid,
		Priority: h.prio,
		Interval: h.interval(),
	}
	if h.count > 0 {
		if cap(addrs) >= int(h.count) {
			a.Addrs = addrs[:h.count]
		} else {
			a.Addrs = make([]netip.Addr, h.count)
		}
		al := f.addrLen()
		for i := range a.Addrs {
			o := HeaderLen + i*al
			if f == FamilyIPv4 {
				a.Addrs[i] = netip.AddrFrom4([4]byte(msg[o : o+4]))
			} else {
				a.Addrs[i] = netip.AddrFrom16([16]byte(msg[o : o+16]))
			}
		}
	}
	if h.version == 2 {
		a.AuthType = h.authType
		copy(a.AuthData[:], msg[len(msg)-AuthDataLen:])
	}
	return a
}

// Parse decodes payload (the bytes after the IP header) without reference to
// any instance: it checks length, version (2 over IPv4, or 3), type, VRRPv2
// auth type and checksum. It does not check TTL; use Decode for reception.
func Parse(payload []byte, rx RxInfo) (Decoded, error) {
	h, err := parseHeader(payload)
	if err != nil {
		return Decoded{}, err
	}
	f, err := rxFamily(rx)
	if err != nil {
		return Decoded{}, err
	}
	if h.version != 3 && !(h.version == 2 && f == FamilyIPv4) {
		return Decoded{}, reject(ReasonVersion, "version %d over %v", h.version, f)
	}
	n, err := checkLength(payload, h, f)
	if err != nil {
		return Decoded{}, err
	}
	if h.typ != TypeAdvert {
		return Decoded{}, reject(ReasonInvalidType, "type %d, want %d", h.typ, TypeAdvert)
	}
	if h.version == 2 && h.authType != AuthNone && h.authType != AuthPass {
		return Decoded{}, reject(ReasonAuthType, "auth type %v not supported", h.authType)
	}
	msg := payload[:n]
	form, err := verifyChecksum(msg, h, f, rx)
	if err != nil {
		return Decoded{}, err
	}
	return Decoded{Advertisement: decodeAdvert(msg, h, f, nil), Checksum: form}, nil
}

// Expect is what a receiving instance validates a packet against.
type Expect struct {
	VRID    uint8
	Version int    // 2 or 3
	Family  Family // zero: taken from the packet's source address
	// AdvertInterval is our configured interval: a VRRPv2 mismatch rejects
	// the packet, a VRRPv3 one only sets Decoded.IntervalMismatch.
	AdvertInterval time.Duration
	// AuthType and AuthData (VRRPv2): the packet's must match.
	AuthType AuthType
	AuthData [AuthDataLen]byte
	// CheckVIPs compares the packet's addresses with VIPs; a mismatch
	// rejects the packet (ReasonAddressList) if RejectAddressMismatch, as
	// keepalived does, and otherwise only sets Decoded.AddressListMismatch.
	CheckVIPs             bool
	VIPs                  []netip.Addr
	RejectAddressMismatch bool
	// Unicast: the instance uses unicast peers, so TTL is not checked and
	// the destination must not be multicast (and vice versa when false).
	Unicast bool
	// CheckUnicastSource rejects sources not in UnicastPeers, and adverts
	// from a peer listed in PeerTTLs whose TTL / hop limit is outside its
	// range (ReasonInvalidTTL, keepalived's ip_ttl_err).
	CheckUnicastSource bool
	UnicastPeers       []netip.Addr
	PeerTTLs           []PeerTTL
}

// PeerTTL is the TTL / hop limit range accepted from one unicast peer
// (keepalived's unicast_peer "IP min_ttl N max_ttl N").
type PeerTTL struct {
	Peer     netip.Addr
	Min, Max uint8
}

// Decode decodes and validates a received packet for an instance, in the
// order keepalived's vrrp_check_packet uses: VRID (keepalived dispatches on
// it), family, length, TTL, version, VRRPv2 auth type/password/interval,
// type, checksum, unicast/multicast destination, unicast source, address
// list. The first failing check is returned as an *Error.
func Decode(payload []byte, rx RxInfo, exp Expect) (Decoded, error) {
	return DecodeBuf(payload, rx, exp, nil)
}

// DecodeBuf is Decode storing the advert's addresses in addrs' backing
// array when it has room (the receive path reuses one, so that a received
// advert does not allocate): the result's Addrs are then valid until addrs
// is reused.
func DecodeBuf(payload []byte, rx RxInfo, exp Expect, addrs []netip.Addr) (Decoded, error) {
	h, err := parseHeader(payload)
	if err != nil {
		return Decoded{}, err
	}
	if h.vrid != exp.VRID {
		return Decoded{}, reject(ReasonVRID, "VRID %d, ours is %d", h.vrid, exp.VRID)
	}
	f, err := rxFamily(rx)
	if err != nil {
		return Decoded{}, err
	}
	if exp.Family != 0 && f != exp.Family {
		return Decoded{}, reject(ReasonAddressFamily, "%v packet for an %v instance", f, exp.Family)
	}
	n, err := checkLength(payload, h, f)
	if err != nil {
		return Decoded{}, err
	}
	if !exp.Unicast && rx.TTL >= 0 && rx.TTL != TTL {
		return Decoded{}, reject(ReasonInvalidTTL, "TTL/hop limit %d from %v, want %d", rx.TTL, rx.Src, TTL)
	}
	if h.version != exp.Version || (h.version == 2 && f != FamilyIPv4) {
		return Decoded{}, reject(ReasonVersion, "version %d from %v, ours is %d", h.version, rx.Src, exp.Version)
	}
	msg := payload[:n]
	if h.version == 2 {
		if h.authType != AuthNone && h.authType != AuthPass && h.authType != AuthAH {
			return Decoded{}, reject(ReasonAuthType, "invalid auth type %d from %v", uint8(h.authType), rx.Src)
		}
		if h.authType != exp.AuthType {
			return Decoded{}, reject(ReasonAuthTypeMismatch, "auth type %v from %v, ours is %v", h.authType, rx.Src, exp.AuthType)
		}
		if h.authType == AuthAH {
			return Decoded{}, reject(ReasonAuthType, "auth type AH from %v is not supported", rx.Src)
		}
		if h.authType == AuthPass && subtle.ConstantTimeCompare(msg[n-AuthDataLen:], exp.AuthData[:]) != 1 {
			return Decoded{}, reject(ReasonAuthFailure, "invalid password from %v", rx.Src)
		}
		if h.interval() != exp.AdvertInterval {
			return Decoded{}, reject(ReasonAdvertInterval, "interval %v from %v, ours is %v", h.interval(), rx.Src, exp.AdvertInterval)
		}
	}
	if h.typ != TypeAdvert {
		return Decoded{}, reject(ReasonInvalidType, "type %d from %v, want %d", h.typ, rx.Src, TypeAdvert)
	}
	d := Decoded{}
	if h.version == 3 && h.interval() != exp.AdvertInterval {
		d.IntervalMismatch = true
	}
	if d.Checksum, err = verifyChecksum(msg, h, f, rx); err != nil {
		return Decoded{}, err
	}
	if dst := rx.Dst.Unmap(); dst.IsValid() && dst.IsMulticast() == exp.Unicast {
		want, got := "multicast", "unicast"
		if exp.Unicast {
			want, got = got, want
		}
		return Decoded{}, reject(ReasonAddressList, "expected %s packet, got %s to %v from %v", want, got, dst, rx.Src)
	}
	if exp.Unicast && exp.CheckUnicastSource {
		if !containsAddr(exp.UnicastPeers, rx.Src.Unmap()) {
			return Decoded{}, reject(ReasonUnicastSource, "source %v is not a unicast peer", rx.Src)
		}
		for _, r := range exp.PeerTTLs {
			if r.Peer.Unmap() == rx.Src.Unmap() && rx.TTL >= 0 && (rx.TTL < int(r.Min) || rx.TTL > int(r.Max)) {
				return Decoded{}, reject(ReasonInvalidTTL, "TTL/hop limit %d from %v not in range %d - %d", rx.TTL, rx.Src, r.Min, r.Max)
			}
		}
	}
	d.Advertisement = decodeAdvert(msg, h, f, addrs)
	if exp.CheckVIPs && !sameAddrSet(d.Addrs, exp.VIPs) {
		d.AddressListMismatch = true
		if exp.RejectAddressMismatch {
			return Decoded{}, reject(ReasonAddressList, "addresses %v from %v differ from ours %v", d.Addrs, rx.Src, exp.VIPs)
		}
	}
	return d, nil
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, x := range list {
		if x.Unmap() == a {
			return true
		}
	}
	return false
}

// sameAddrSet mirrors keepalived: counts must match and every VIP must be
// present in the packet.
func sameAddrSet(pkt, vips []netip.Addr) bool {
	if len(pkt) != len(vips) {
		return false
	}
	for _, v := range vips {
		if !containsAddr(pkt, v.Unmap()) {
			return false
		}
	}
	return true
}

// csumAdd adds b as big-endian 16-bit words to acc (odd tail zero padded).
func csumAdd(acc uint32, b []byte) uint32 {
	for len(b) >= 2 {
		acc += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

// csumFold folds acc to 16 bits and complements it.
func csumFold(acc uint32) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}

// pseudoHeaderSum is the partial sum of the IPv4 (RFC 768) or IPv6
// (RFC 8200 §8.1) pseudo-header for protocol 112.
func pseudoHeaderSum(f Family, src, dst netip.Addr, length int) uint32 {
	var acc uint32
	acc = csumAdd(acc, src.Unmap().AsSlice())
	acc = csumAdd(acc, dst.Unmap().AsSlice())
	if f == FamilyIPv6 {
		acc += uint32(length>>16) + uint32(length&0xffff)
	} else {
		acc += uint32(length & 0xffff)
	}
	acc += IPProtocol
	return acc
}

package ipvs

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// This file holds the IPVS generic-netlink wire format: attribute numbers
// (include/uapi/linux/ip_vs.h), pure encoders over netlink.AttributeEncoder
// and decoders over attrDecoder (attrs.go). The socket side is in
// netlink_linux.go.

// IPVS generic netlink commands.
const (
	cmdNewService = 1
	cmdSetService = 2
	cmdDelService = 3
	cmdGetService = 4
	cmdNewDest    = 5
	cmdSetDest    = 6
	cmdDelDest    = 7
	cmdGetDest    = 8
	cmdNewDaemon  = 9
	cmdDelDaemon  = 10
	cmdGetDaemon  = 11
	cmdSetConfig  = 12
	cmdGetConfig  = 13
	cmdSetInfo    = 14
	cmdGetInfo    = 15
	cmdZero       = 16
	cmdFlush      = 17
)

var cmdNames = map[uint8]string{
	cmdNewService: "NEW_SERVICE", cmdSetService: "SET_SERVICE", cmdDelService: "DEL_SERVICE",
	cmdGetService: "GET_SERVICE", cmdNewDest: "NEW_DEST", cmdSetDest: "SET_DEST",
	cmdDelDest: "DEL_DEST", cmdGetDest: "GET_DEST", cmdNewDaemon: "NEW_DAEMON",
	cmdDelDaemon: "DEL_DAEMON", cmdGetDaemon: "GET_DAEMON", cmdSetConfig: "SET_CONFIG",
	cmdGetConfig: "GET_CONFIG", cmdSetInfo: "SET_INFO", cmdGetInfo: "GET_INFO",
	cmdZero: "ZERO", cmdFlush: "FLUSH",
}

// Top-level command attributes (IPVS_CMD_ATTR_*).
const (
	cmdAttrService       = 1
	cmdAttrDest          = 2
	cmdAttrDaemon        = 3
	cmdAttrTimeoutTCP    = 4
	cmdAttrTimeoutTCPFin = 5
	cmdAttrTimeoutUDP    = 6
)

// Service attributes (IPVS_SVC_ATTR_*).
const (
	svcAttrAF        = 1
	svcAttrProtocol  = 2
	svcAttrAddr      = 3
	svcAttrPort      = 4
	svcAttrFWMark    = 5
	svcAttrSchedName = 6
	svcAttrFlags     = 7
	svcAttrTimeout   = 8
	svcAttrNetmask   = 9
	svcAttrStats     = 10
	svcAttrPEName    = 11
	svcAttrStats64   = 12
)

// Destination attributes (IPVS_DEST_ATTR_*).
const (
	destAttrAddr         = 1
	destAttrPort         = 2
	destAttrFwdMethod    = 3
	destAttrWeight       = 4
	destAttrUThresh      = 5
	destAttrLThresh      = 6
	destAttrActiveConns  = 7
	destAttrInactConns   = 8
	destAttrPersistConns = 9
	destAttrStats        = 10
	destAttrAddrFamily   = 11
	destAttrStats64      = 12
	destAttrTunType      = 13
	destAttrTunPort      = 14
	destAttrTunFlags     = 15
)

// Daemon attributes (IPVS_DAEMON_ATTR_*).
const (
	daemonAttrState       = 1
	daemonAttrMcastIfn    = 2
	daemonAttrSyncID      = 3
	daemonAttrSyncMaxLen  = 4
	daemonAttrMcastGroup  = 5
	daemonAttrMcastGroup6 = 6
	daemonAttrMcastPort   = 7
	daemonAttrMcastTTL    = 8
)

// Stats attributes (IPVS_STATS_ATTR_*), u32/u64 in *_STATS, u64 in *_STATS64.
const (
	statsConns    = 1
	statsInPkts   = 2
	statsOutPkts  = 3
	statsInBytes  = 4
	statsOutBytes = 5
	statsCPS      = 6
	statsInPPS    = 7
	statsOutPPS   = 8
	statsInBPS    = 9
	statsOutBPS   = 10
)

// Info attributes (IPVS_INFO_ATTR_*).
const (
	infoAttrVersion     = 1
	infoAttrConnTabSize = 2
)

var ne = binary.NativeEndian

// decodeNested decodes the nested attribute typ (named what in errors) of
// a reply payload with dec.
func decodeNested[T any](reply []byte, typ uint16, what string, dec func([]byte) (T, error)) (T, error) {
	var v T
	found := false
	ad := newAttrDecoder(reply)
	for ad.Next() {
		if ad.Type() == typ && !found {
			found = true
			var err error
			if v, err = dec(ad.v); err != nil {
				return v, err
			}
		}
	}
	if err := ad.Err(); err != nil {
		return v, err
	}
	if !found {
		return v, fmt.Errorf("reply without %s attribute", what)
	}
	return v, nil
}

// value returns the current attribute's bytes if there are at least n
// (aliasing the reply: no copy).
func value(ad *attrDecoder, n int) []byte { return ad.Bytes(n) }

// netOrder16 reads a network-order u16 attribute (ports).
func netOrder16(ad *attrDecoder) uint16 {
	if v := value(ad, 2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

// counter reads a u32 or u64 attribute by its length (the legacy stats
// attribute mixes both).
func counter(ad *attrDecoder) uint64 {
	if v := value(ad, 4); len(v) >= 8 {
		return ne.Uint64(v)
	} else if v != nil {
		return uint64(ne.Uint32(v))
	}
	return 0
}

func addrFrom(v []byte, f Family) (netip.Addr, error) {
	switch {
	case f == FamilyIPv4 && len(v) >= 4:
		return netip.AddrFrom4([4]byte(v[:4])), nil
	case f == FamilyIPv6 && len(v) >= 16:
		return netip.AddrFrom16([16]byte(v[:16])), nil
	}
	return netip.Addr{}, fmt.Errorf("address of %d bytes for %s", len(v), f)
}

func putNetOrder16(ae *netlink.AttributeEncoder, typ uint16, v uint16) {
	ae.Bytes(typ, binary.BigEndian.AppendUint16(nil, v))
}

// decodeStats decodes a nested IPVS_*_ATTR_STATS or STATS64 attribute.
func decodeStats(b []byte) (Stats, error) {
	var s Stats
	ad := newAttrDecoder(b)
	for ad.Next() {
		if f := statsFields(&s, ad.Type()); f != nil {
			*f = counter(&ad)
		}
	}
	err := ad.Err()
	if err != nil {
		return s, fmt.Errorf("stats: %w", err)
	}
	return s, nil
}

func statsFields(s *Stats, typ uint16) *uint64 {
	switch typ {
	case statsConns:
		return &s.Conns
	case statsInPkts:
		return &s.InPkts
	case statsOutPkts:
		return &s.OutPkts
	case statsInBytes:
		return &s.InBytes
	case statsOutBytes:
		return &s.OutBytes
	case statsCPS:
		return &s.CPS
	case statsInPPS:
		return &s.InPPS
	case statsOutPPS:
		return &s.OutPPS
	case statsInBPS:
		return &s.InBPS
	case statsOutBPS:
		return &s.OutBPS
	}
	return nil // IPVS_STATS_ATTR_PAD
}

// netmaskToKernel converts a prefix length to IPVS_SVC_ATTR_NETMASK: a
// network-order mask for IPv4, the prefix length for IPv6.
func netmaskToKernel(f Family, bitsLen int) []byte {
	if f == FamilyIPv4 {
		m := ^uint32(0) << (32 - bitsLen)
		if bitsLen == 0 {
			m = 0
		}
		return binary.BigEndian.AppendUint32(nil, m)
	}
	return ne.AppendUint32(nil, uint32(bitsLen))
}

func netmaskFromKernel(f Family, v []byte) uint8 {
	if len(v) < 4 {
		return 0
	}
	if f == FamilyIPv4 {
		return uint8(bits.LeadingZeros32(^binary.BigEndian.Uint32(v)))
	}
	n := ne.Uint32(v)
	return uint8(min(n, 128))
}

// encodeService adds a nested IPVS_CMD_ATTR_SERVICE; full adds the
// settings (needed by NEW/SET), otherwise only the key.
func encodeService(ae *netlink.AttributeEncoder, s *Service, full bool) {
	ae.Nested(cmdAttrService, func(ae *netlink.AttributeEncoder) error {
		k := s.Key
		ae.Uint16(svcAttrAF, uint16(k.Family))
		if k.IsFWMark() {
			ae.Uint32(svcAttrFWMark, k.FWMark)
		} else {
			ae.Uint16(svcAttrProtocol, uint16(k.Protocol))
			ae.Bytes(svcAttrAddr, k.Addr.AsSlice())
			putNetOrder16(ae, svcAttrPort, k.Port)
		}
		if !full {
			return nil
		}
		ae.String(svcAttrSchedName, s.SchedulerName())
		if s.PEName != "" {
			ae.String(svcAttrPEName, s.PEName)
		}
		// struct ip_vs_flags: the flags, then the mask of flags to change.
		ae.Bytes(svcAttrFlags, ne.AppendUint32(ne.AppendUint32(nil, uint32(s.Flags&flagsUser)), ^uint32(0)))
		ae.Uint32(svcAttrTimeout, s.Timeout)
		ae.Bytes(svcAttrNetmask, netmaskToKernel(k.Family, s.NetmaskBits()))
		return nil
	})
}

// encodeDest adds a nested IPVS_CMD_ATTR_DEST; full adds the settings.
func encodeDest(ae *netlink.AttributeEncoder, d *Destination, full bool) {
	ae.Nested(cmdAttrDest, func(ae *netlink.AttributeEncoder) error {
		ae.Bytes(destAttrAddr, d.Addr.AsSlice())
		putNetOrder16(ae, destAttrPort, d.Port)
		ae.Uint16(destAttrAddrFamily, uint16(d.Family()))
		if !full {
			return nil
		}
		ae.Uint32(destAttrFwdMethod, uint32(d.Method)&methodMask)
		ae.Uint32(destAttrWeight, uint32(d.Weight))
		ae.Uint32(destAttrUThresh, d.UpperThreshold)
		ae.Uint32(destAttrLThresh, d.LowerThreshold)
		if d.Method == Tunnel {
			ae.Uint8(destAttrTunType, uint8(d.TunType))
			putNetOrder16(ae, destAttrTunPort, d.TunPort)
			ae.Uint16(destAttrTunFlags, uint16(d.TunFlags))
		}
		return nil
	})
}

// decodeService decodes the contents of a nested IPVS_CMD_ATTR_SERVICE,
// with the stats if stats is set (nil when it carries none).
func decodeService(b []byte, stats bool) (Service, error) {
	var s Service
	var addr, netmask []byte
	var stats32, stats64 []byte
	ad := newAttrDecoder(b)
	for ad.Next() {
		switch ad.Type() {
		case svcAttrAF:
			s.Key.Family = Family(ad.Uint16())
		case svcAttrProtocol:
			s.Key.Protocol = Protocol(ad.Uint16())
		case svcAttrAddr:
			addr = value(&ad, 0)
		case svcAttrPort:
			s.Key.Port = netOrder16(&ad)
		case svcAttrFWMark:
			s.Key.FWMark = ad.Uint32()
		case svcAttrSchedName:
			s.Scheduler = ad.String()
		case svcAttrFlags:
			if v := value(&ad, 4); v != nil { // struct ip_vs_flags
				s.Flags = ServiceFlags(ne.Uint32(v))
			}
		case svcAttrTimeout:
			s.Timeout = ad.Uint32()
		case svcAttrNetmask:
			netmask = value(&ad, 4)
		case svcAttrPEName:
			s.PEName = ad.String()
		case svcAttrStats:
			stats32 = value(&ad, 0)
		case svcAttrStats64:
			stats64 = value(&ad, 0)
		}
	}
	err := ad.Err()
	if err != nil {
		return s, fmt.Errorf("service: %w", err)
	}
	if s.Key.Family != FamilyIPv4 && s.Key.Family != FamilyIPv6 {
		return s, fmt.Errorf("service: bad address family %d", s.Key.Family)
	}
	if s.Key.FWMark != 0 {
		s.Key.Protocol, s.Key.Port = 0, 0
	} else if s.Key.Addr, err = addrFrom(addr, s.Key.Family); err != nil {
		return s, fmt.Errorf("service: %w", err)
	}
	s.Netmask = netmaskFromKernel(s.Key.Family, netmask)
	if stats && (stats32 != nil || stats64 != nil) {
		s.Stats = new(Stats)
		if err := decodeStatsPair(s.Stats, stats, stats32, stats64); err != nil {
			return s, fmt.Errorf("service %s: %w", s.Key, err)
		}
	}
	return s, nil
}

// decodeStatsPair prefers the 64-bit stats over the legacy ones; it does
// nothing unless want is set.
func decodeStatsPair(dst *Stats, want bool, s32, s64 []byte) error {
	var err error
	switch {
	case !want:
	case s64 != nil:
		*dst, err = decodeStats(s64)
	case s32 != nil:
		*dst, err = decodeStats(s32)
	}
	return err
}

// decodeDest decodes the contents of a nested IPVS_CMD_ATTR_DEST, with the
// stats if stats is set (nil when it carries none). svcFamily is used when
// the kernel does not send IPVS_DEST_ATTR_ADDR_FAMILY.
func decodeDest(b []byte, svcFamily Family, stats bool) (Destination, error) {
	var d Destination
	var st DestStats
	conns := false // a connection count was sent
	f := svcFamily
	var addr, stats32, stats64 []byte
	ad := newAttrDecoder(b)
	for ad.Next() {
		switch ad.Type() {
		case destAttrAddr:
			addr = value(&ad, 0)
		case destAttrPort:
			d.Port = netOrder16(&ad)
		case destAttrFwdMethod:
			d.Method = Method(ad.Uint32() & methodMask)
		case destAttrWeight:
			d.Weight = int32(ad.Uint32())
		case destAttrUThresh:
			d.UpperThreshold = ad.Uint32()
		case destAttrLThresh:
			d.LowerThreshold = ad.Uint32()
		case destAttrActiveConns:
			st.ActiveConns, conns = ad.Uint32(), true
		case destAttrInactConns:
			st.InactConns, conns = ad.Uint32(), true
		case destAttrPersistConns:
			st.PersistConns, conns = ad.Uint32(), true
		case destAttrStats:
			stats32 = value(&ad, 0)
		case destAttrStats64:
			stats64 = value(&ad, 0)
		case destAttrAddrFamily:
			f = Family(ad.Uint16())
		case destAttrTunType:
			d.TunType = TunnelType(ad.Uint8())
		case destAttrTunPort:
			d.TunPort = netOrder16(&ad)
		case destAttrTunFlags:
			d.TunFlags = TunnelFlags(ad.Uint16())
		}
	}
	err := ad.Err()
	if err != nil {
		return d, fmt.Errorf("destination: %w", err)
	}
	if d.Addr, err = addrFrom(addr, f); err != nil {
		return d, fmt.Errorf("destination: %w", err)
	}
	if stats && (conns || stats32 != nil || stats64 != nil) {
		if err := decodeStatsPair(&st.Stats, stats, stats32, stats64); err != nil {
			return d, fmt.Errorf("destination %s: %w", d.AddrPort(), err)
		}
		d.Stats = new(DestStats) // a copy: st stays on the stack when stats are not wanted
		*d.Stats = st
	}
	return d, nil
}

func encodeDaemon(ae *netlink.AttributeEncoder, d *SyncDaemon, full bool) {
	ae.Nested(cmdAttrDaemon, func(ae *netlink.AttributeEncoder) error {
		ae.Uint32(daemonAttrState, uint32(d.State))
		if !full {
			return nil
		}
		ae.String(daemonAttrMcastIfn, d.Interface)
		ae.Uint32(daemonAttrSyncID, d.SyncID)
		if d.MaxLen != 0 {
			ae.Uint16(daemonAttrSyncMaxLen, d.MaxLen)
		}
		if d.McastGroup.Is4() {
			ae.Bytes(daemonAttrMcastGroup, d.McastGroup.AsSlice())
		} else if d.McastGroup.IsValid() {
			ae.Bytes(daemonAttrMcastGroup6, d.McastGroup.AsSlice())
		}
		if d.McastPort != 0 {
			ae.Uint16(daemonAttrMcastPort, d.McastPort)
		}
		if d.McastTTL != 0 {
			ae.Uint8(daemonAttrMcastTTL, d.McastTTL)
		}
		return nil
	})
}

func decodeDaemon(b []byte) (SyncDaemon, error) {
	var d SyncDaemon
	ad := newAttrDecoder(b)
	for ad.Next() {
		switch ad.Type() {
		case daemonAttrState:
			d.State = SyncState(ad.Uint32())
		case daemonAttrMcastIfn:
			d.Interface = ad.String()
		case daemonAttrSyncID:
			d.SyncID = ad.Uint32()
		case daemonAttrSyncMaxLen:
			d.MaxLen = ad.Uint16()
		case daemonAttrMcastGroup:
			if v := value(&ad, 4); v != nil {
				d.McastGroup = netip.AddrFrom4([4]byte(v[:4]))
			}
		case daemonAttrMcastGroup6:
			if v := value(&ad, 16); v != nil {
				if g := netip.AddrFrom16([16]byte(v[:16])); !g.IsUnspecified() {
					d.McastGroup = g
				}
			}
		case daemonAttrMcastPort:
			d.McastPort = ad.Uint16()
		case daemonAttrMcastTTL:
			d.McastTTL = ad.Uint8()
		}
	}
	err := ad.Err()
	if err != nil {
		return d, fmt.Errorf("daemon: %w", err)
	}
	return d, nil
}

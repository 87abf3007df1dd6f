package ipvs

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
)

// This file holds the IPVS generic-netlink wire format: attribute numbers
// (include/uapi/linux/ip_vs.h) and pure encoders/decoders. The socket side is
// in netlink_linux.go.

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

const nlaFNested = 0x8000 // NLA_F_NESTED
const nlaTypeMask = 0x3fff

var ne = binary.NativeEndian

// attrWriter appends netlink attributes to a buffer.
type attrWriter struct{ b []byte }

func align4(n int) int { return (n + 3) &^ 3 }

func (w *attrWriter) put(typ uint16, v []byte) {
	l := 4 + len(v)
	w.b = ne.AppendUint16(w.b, uint16(l))
	w.b = ne.AppendUint16(w.b, typ)
	w.b = append(w.b, v...)
	for i := l; i < align4(l); i++ {
		w.b = append(w.b, 0)
	}
}

func (w *attrWriter) u8(typ uint16, v uint8)   { w.put(typ, []byte{v}) }
func (w *attrWriter) u16(typ uint16, v uint16) { w.put(typ, ne.AppendUint16(nil, v)) }
func (w *attrWriter) u32(typ uint16, v uint32) { w.put(typ, ne.AppendUint32(nil, v)) }
func (w *attrWriter) be16(typ uint16, v uint16) {
	w.put(typ, binary.BigEndian.AppendUint16(nil, v))
}
func (w *attrWriter) str(typ uint16, s string) { w.put(typ, append([]byte(s), 0)) }

// nest starts a nested attribute; end it with the returned func.
func (w *attrWriter) nest(typ uint16) func() {
	start := len(w.b)
	w.b = append(w.b, 0, 0, 0, 0)
	return func() {
		ne.PutUint16(w.b[start:], uint16(len(w.b)-start))
		ne.PutUint16(w.b[start+2:], typ)
	}
}

// attr is one parsed netlink attribute.
type attr struct {
	typ uint16
	val []byte
}

// parseAttrs splits b into attributes. It never panics on bad input.
func parseAttrs(b []byte) ([]attr, error) {
	var out []attr
	for len(b) >= 4 {
		l := int(ne.Uint16(b))
		typ := ne.Uint16(b[2:]) & nlaTypeMask
		if l < 4 || l > len(b) {
			return out, fmt.Errorf("netlink attribute %d: bad length %d (%d bytes left)", typ, l, len(b))
		}
		out = append(out, attr{typ: typ, val: b[4:l]})
		if align4(l) >= len(b) {
			return out, nil
		}
		b = b[align4(l):]
	}
	return out, nil
}

func attrU8(v []byte) uint8 {
	if len(v) < 1 {
		return 0
	}
	return v[0]
}

func attrU16(v []byte) uint16 {
	if len(v) < 2 {
		return 0
	}
	return ne.Uint16(v)
}

func attrBE16(v []byte) uint16 {
	if len(v) < 2 {
		return 0
	}
	return binary.BigEndian.Uint16(v)
}

func attrU32(v []byte) uint32 {
	if len(v) < 4 {
		return 0
	}
	return ne.Uint32(v)
}

// attrUint reads a u32 or u64 attribute by its length.
func attrUint(v []byte) uint64 {
	switch {
	case len(v) >= 8:
		return ne.Uint64(v)
	case len(v) >= 4:
		return uint64(ne.Uint32(v))
	}
	return 0
}

func attrString(v []byte) string {
	for i, c := range v {
		if c == 0 {
			return string(v[:i])
		}
	}
	return string(v)
}

func attrAddr(v []byte, f Family) (netip.Addr, error) {
	switch {
	case f == FamilyIPv4 && len(v) >= 4:
		return netip.AddrFrom4([4]byte(v[:4])), nil
	case f == FamilyIPv6 && len(v) >= 16:
		return netip.AddrFrom16([16]byte(v[:16])), nil
	}
	return netip.Addr{}, fmt.Errorf("address of %d bytes for %s", len(v), f)
}

func addrBytes(a netip.Addr) []byte {
	if a.Is4() {
		b := a.As4()
		return b[:]
	}
	b := a.As16()
	return b[:]
}

// parseStats decodes a nested IPVS_*_ATTR_STATS or STATS64 attribute.
func parseStats(b []byte) (Stats, error) {
	var s Stats
	attrs, err := parseAttrs(b)
	if err != nil {
		return s, fmt.Errorf("stats: %w", err)
	}
	for _, a := range attrs {
		v := attrUint(a.val)
		switch a.typ {
		case statsConns:
			s.Conns = v
		case statsInPkts:
			s.InPkts = v
		case statsOutPkts:
			s.OutPkts = v
		case statsInBytes:
			s.InBytes = v
		case statsOutBytes:
			s.OutBytes = v
		case statsCPS:
			s.CPS = v
		case statsInPPS:
			s.InPPS = v
		case statsOutPPS:
			s.OutPPS = v
		case statsInBPS:
			s.InBPS = v
		case statsOutBPS:
			s.OutBPS = v
		}
	}
	return s, nil
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

// encodeServiceKey writes the identifying attributes of k.
func encodeServiceKey(w *attrWriter, k ServiceKey) {
	w.u16(svcAttrAF, uint16(k.Family))
	if k.IsFWMark() {
		w.u32(svcAttrFWMark, k.FWMark)
		return
	}
	w.u16(svcAttrProtocol, uint16(k.Protocol))
	w.put(svcAttrAddr, addrBytes(k.Addr))
	w.be16(svcAttrPort, k.Port)
}

// encodeService writes a nested IPVS_CMD_ATTR_SERVICE; full adds the
// settings (needed by NEW/SET), otherwise only the key.
func encodeService(w *attrWriter, s *Service, full bool) {
	end := w.nest(cmdAttrService | nlaFNested)
	encodeServiceKey(w, s.Key)
	if full {
		w.str(svcAttrSchedName, s.SchedulerName())
		if s.PEName != "" {
			w.str(svcAttrPEName, s.PEName)
		}
		fl := ne.AppendUint32(nil, uint32(s.Flags&flagsUser))
		fl = ne.AppendUint32(fl, ^uint32(0))
		w.put(svcAttrFlags, fl)
		w.u32(svcAttrTimeout, s.Timeout)
		w.put(svcAttrNetmask, netmaskToKernel(s.Key.Family, s.NetmaskBits()))
	}
	end()
}

// encodeDest writes a nested IPVS_CMD_ATTR_DEST; full adds the settings.
func encodeDest(w *attrWriter, d *Destination, full bool) {
	end := w.nest(cmdAttrDest | nlaFNested)
	w.put(destAttrAddr, addrBytes(d.Addr))
	w.be16(destAttrPort, d.Port)
	w.u16(destAttrAddrFamily, uint16(d.Family()))
	if full {
		w.u32(destAttrFwdMethod, uint32(d.Method)&methodMask)
		w.u32(destAttrWeight, uint32(d.Weight))
		w.u32(destAttrUThresh, d.UpperThreshold)
		w.u32(destAttrLThresh, d.LowerThreshold)
		if d.Method == Tunnel {
			w.u8(destAttrTunType, uint8(d.TunType))
			w.be16(destAttrTunPort, d.TunPort)
			w.u16(destAttrTunFlags, uint16(d.TunFlags))
		}
	}
	end()
}

// decodeService decodes the contents of a nested IPVS_CMD_ATTR_SERVICE.
func decodeService(b []byte) (Service, error) {
	var s Service
	attrs, err := parseAttrs(b)
	if err != nil {
		return s, fmt.Errorf("service: %w", err)
	}
	var addr, netmask []byte
	var stats32, stats64 []byte
	for _, a := range attrs {
		switch a.typ {
		case svcAttrAF:
			s.Key.Family = Family(attrU16(a.val))
		case svcAttrProtocol:
			s.Key.Protocol = Protocol(attrU16(a.val))
		case svcAttrAddr:
			addr = a.val
		case svcAttrPort:
			s.Key.Port = attrBE16(a.val)
		case svcAttrFWMark:
			s.Key.FWMark = attrU32(a.val)
		case svcAttrSchedName:
			s.Scheduler = attrString(a.val)
		case svcAttrFlags:
			s.Flags = ServiceFlags(attrU32(a.val))
		case svcAttrTimeout:
			s.Timeout = attrU32(a.val)
		case svcAttrNetmask:
			netmask = a.val
		case svcAttrPEName:
			s.PEName = attrString(a.val)
		case svcAttrStats:
			stats32 = a.val
		case svcAttrStats64:
			stats64 = a.val
		}
	}
	if s.Key.Family != FamilyIPv4 && s.Key.Family != FamilyIPv6 {
		return s, fmt.Errorf("service: bad address family %d", s.Key.Family)
	}
	if s.Key.FWMark != 0 {
		s.Key.Protocol, s.Key.Port = 0, 0
	} else {
		if s.Key.Addr, err = attrAddr(addr, s.Key.Family); err != nil {
			return s, fmt.Errorf("service: %w", err)
		}
	}
	s.Netmask = netmaskFromKernel(s.Key.Family, netmask)
	if err := decodeStatsPair(&s.Stats, stats32, stats64); err != nil {
		return s, fmt.Errorf("service %s: %w", s.Key, err)
	}
	return s, nil
}

func decodeStatsPair(dst *Stats, s32, s64 []byte) error {
	var err error
	switch {
	case s64 != nil:
		*dst, err = parseStats(s64)
	case s32 != nil:
		*dst, err = parseStats(s32)
	}
	return err
}

// decodeDest decodes the contents of a nested IPVS_CMD_ATTR_DEST. svcFamily
// is used when the kernel does not send IPVS_DEST_ATTR_ADDR_FAMILY.
func decodeDest(b []byte, svcFamily Family) (Destination, error) {
	var d Destination
	attrs, err := parseAttrs(b)
	if err != nil {
		return d, fmt.Errorf("destination: %w", err)
	}
	f := svcFamily
	var addr, stats32, stats64 []byte
	for _, a := range attrs {
		switch a.typ {
		case destAttrAddr:
			addr = a.val
		case destAttrPort:
			d.Port = attrBE16(a.val)
		case destAttrFwdMethod:
			d.Method = Method(attrU32(a.val) & methodMask)
		case destAttrWeight:
			d.Weight = int32(attrU32(a.val))
		case destAttrUThresh:
			d.UpperThreshold = attrU32(a.val)
		case destAttrLThresh:
			d.LowerThreshold = attrU32(a.val)
		case destAttrActiveConns:
			d.Stats.ActiveConns = attrU32(a.val)
		case destAttrInactConns:
			d.Stats.InactConns = attrU32(a.val)
		case destAttrPersistConns:
			d.Stats.PersistConns = attrU32(a.val)
		case destAttrStats:
			stats32 = a.val
		case destAttrStats64:
			stats64 = a.val
		case destAttrAddrFamily:
			f = Family(attrU16(a.val))
		case destAttrTunType:
			d.TunType = TunnelType(attrU8(a.val))
		case destAttrTunPort:
			d.TunPort = attrBE16(a.val)
		case destAttrTunFlags:
			d.TunFlags = TunnelFlags(attrU16(a.val))
		}
	}
	if d.Addr, err = attrAddr(addr, f); err != nil {
		return d, fmt.Errorf("destination: %w", err)
	}
	if err := decodeStatsPair(&d.Stats.Stats, stats32, stats64); err != nil {
		return d, fmt.Errorf("destination %s: %w", d.AddrPort(), err)
	}
	return d, nil
}

// findNested returns the value of the first attribute typ in b.
func findAttr(b []byte, typ uint16) ([]byte, bool, error) {
	attrs, err := parseAttrs(b)
	if err != nil {
		return nil, false, err
	}
	for _, a := range attrs {
		if a.typ == typ {
			return a.val, true, nil
		}
	}
	return nil, false, nil
}

func encodeDaemon(w *attrWriter, d *SyncDaemon, full bool) {
	end := w.nest(cmdAttrDaemon | nlaFNested)
	w.u32(daemonAttrState, uint32(d.State))
	if full {
		w.str(daemonAttrMcastIfn, d.Interface)
		w.u32(daemonAttrSyncID, d.SyncID)
		if d.MaxLen != 0 {
			w.u16(daemonAttrSyncMaxLen, d.MaxLen)
		}
		if d.McastGroup.Is4() {
			w.put(daemonAttrMcastGroup, addrBytes(d.McastGroup))
		} else if d.McastGroup.IsValid() {
			w.put(daemonAttrMcastGroup6, addrBytes(d.McastGroup))
		}
		if d.McastPort != 0 {
			w.u16(daemonAttrMcastPort, d.McastPort)
		}
		if d.McastTTL != 0 {
			w.u8(daemonAttrMcastTTL, d.McastTTL)
		}
	}
	end()
}

func decodeDaemon(b []byte) (SyncDaemon, error) {
	var d SyncDaemon
	attrs, err := parseAttrs(b)
	if err != nil {
		return d, fmt.Errorf("daemon: %w", err)
	}
	for _, a := range attrs {
		switch a.typ {
		case daemonAttrState:
			d.State = SyncState(attrU32(a.val))
		case daemonAttrMcastIfn:
			d.Interface = attrString(a.val)
		case daemonAttrSyncID:
			d.SyncID = attrU32(a.val)
		case daemonAttrSyncMaxLen:
			d.MaxLen = attrU16(a.val)
		case daemonAttrMcastGroup:
			if len(a.val) >= 4 {
				d.McastGroup = netip.AddrFrom4([4]byte(a.val[:4]))
			}
		case daemonAttrMcastGroup6:
			if len(a.val) >= 16 {
				if g := netip.AddrFrom16([16]byte(a.val[:16])); !g.IsUnspecified() {
					d.McastGroup = g
				}
			}
		case daemonAttrMcastPort:
			d.McastPort = attrU16(a.val)
		case daemonAttrMcastTTL:
			d.McastTTL = attrU8(a.val)
		}
	}
	return d, nil
}

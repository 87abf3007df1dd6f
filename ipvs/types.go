package ipvs

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Family is an address family: FamilyIPv4 (AF_INET) or FamilyIPv6 (AF_INET6).
type Family uint16

const (
	FamilyIPv4 Family = 2  // AF_INET
	FamilyIPv6 Family = 10 // AF_INET6
)

// FamilyOf returns the family of a (IPv4-mapped IPv6 addresses count as IPv6).
func FamilyOf(a netip.Addr) Family {
	if a.Is4() {
		return FamilyIPv4
	}
	return FamilyIPv6
}

func (f Family) String() string {
	switch f {
	case FamilyIPv4:
		return "IPv4"
	case FamilyIPv6:
		return "IPv6"
	}
	return "family(" + strconv.Itoa(int(f)) + ")"
}

// Bits is the address length of the family in bits (0 if unknown).
func (f Family) Bits() int {
	switch f {
	case FamilyIPv4:
		return 32
	case FamilyIPv6:
		return 128
	}
	return 0
}

// Protocol is the IP protocol of a virtual service (IPPROTO_* values).
type Protocol uint16

const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

// String returns "TCP", "UDP", "SCTP" (ipvsadm's spelling).
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	case SCTP:
		return "SCTP"
	}
	return "proto(" + strconv.Itoa(int(p)) + ")"
}

// ParseProtocol accepts tcp, udp, sctp in any case.
func ParseProtocol(s string) (Protocol, error) {
	switch strings.ToLower(s) {
	case "tcp":
		return TCP, nil
	case "udp":
		return UDP, nil
	case "sctp":
		return SCTP, nil
	}
	return 0, fmt.Errorf("unknown protocol %q (want tcp, udp or sctp)", s)
}

// ServiceKey identifies a virtual service. An address service has Family,
// Protocol, Addr and Port (port 0 means all ports; the kernel requires the
// persistent flag for it). A firewall-mark service has Family and FWMark only
// (Protocol, Addr, Port zero).
type ServiceKey struct {
	Family   Family
	Protocol Protocol
	Addr     netip.Addr
	Port     uint16
	FWMark   uint32
}

// AddrKey returns the key of a TCP/UDP/SCTP service on addr:port.
func AddrKey(p Protocol, ap netip.AddrPort) ServiceKey {
	a := ap.Addr().Unmap()
	return ServiceKey{Family: FamilyOf(a), Protocol: p, Addr: a, Port: ap.Port()}
}

// FWMarkKey returns the key of a firewall-mark service.
func FWMarkKey(f Family, mark uint32) ServiceKey {
	return ServiceKey{Family: f, FWMark: mark}
}

// IsFWMark reports whether k is a firewall-mark service.
func (k ServiceKey) IsFWMark() bool { return k.FWMark != 0 }

// String returns "TCP 10.0.0.1:80", "UDP [fd00::1]:53" or "FWM 7 IPv4".
func (k ServiceKey) String() string {
	if k.IsFWMark() {
		return fmt.Sprintf("FWM %d %s", k.FWMark, k.Family)
	}
	return k.Protocol.String() + " " + netip.AddrPortFrom(k.Addr, k.Port).String()
}

// Validate checks that k is a well-formed key.
func (k ServiceKey) Validate() error {
	if k.Family != FamilyIPv4 && k.Family != FamilyIPv6 {
		return fmt.Errorf("service %s: bad address family %d", k, k.Family)
	}
	if k.IsFWMark() {
		if k.Protocol != 0 || k.Addr.IsValid() || k.Port != 0 {
			return fmt.Errorf("service %s: a fwmark service has no protocol, address or port", k)
		}
		return nil
	}
	switch k.Protocol {
	case TCP, UDP, SCTP:
	default:
		return fmt.Errorf("service %s: protocol must be TCP, UDP or SCTP", k)
	}
	if !k.Addr.IsValid() {
		return fmt.Errorf("service %s: no virtual address", k)
	}
	if k.Addr.Is4In6() || FamilyOf(k.Addr) != k.Family {
		return fmt.Errorf("service %s: address %s is not %s", k, k.Addr, k.Family)
	}
	if k.Addr.Zone() != "" {
		return fmt.Errorf("service %s: address has a zone", k)
	}
	return nil
}

// Compare orders keys: address services before fwmark services, then by
// family, address, protocol, port, mark.
func (k ServiceKey) Compare(o ServiceKey) int {
	return cmp.Or(
		cmp.Compare(min(k.FWMark, 1), min(o.FWMark, 1)),
		cmp.Compare(k.Family, o.Family),
		k.Addr.Compare(o.Addr),
		cmp.Compare(k.Protocol, o.Protocol),
		cmp.Compare(k.Port, o.Port),
		cmp.Compare(k.FWMark, o.FWMark),
	)
}

// ServiceFlags are the kernel's IP_VS_SVC_F_* flags.
type ServiceFlags uint32

const (
	FlagPersistent ServiceFlags = 0x0001 // IP_VS_SVC_F_PERSISTENT
	FlagHashed     ServiceFlags = 0x0002 // IP_VS_SVC_F_HASHED (kernel-internal, read only)
	FlagOnePacket  ServiceFlags = 0x0004 // IP_VS_SVC_F_ONEPACKET (ops)
	FlagSched1     ServiceFlags = 0x0008 // IP_VS_SVC_F_SCHED1 (flag-1)
	FlagSched2     ServiceFlags = 0x0010 // IP_VS_SVC_F_SCHED2 (flag-2)
	FlagSched3     ServiceFlags = 0x0020 // IP_VS_SVC_F_SCHED3 (flag-3)

	FlagSHFallback = FlagSched1 // sh scheduler: skip unavailable real servers
	FlagSHPort     = FlagSched2 // sh scheduler: hash the source port too
	FlagMHFallback = FlagSched1 // mh scheduler: skip unavailable real servers
	FlagMHPort     = FlagSched2 // mh scheduler: hash the source port too

	// flagsUser are the flags a user may set (the kernel owns FlagHashed).
	flagsUser = FlagPersistent | FlagOnePacket | FlagSched1 | FlagSched2 | FlagSched3
)

// String lists the flags the way ipvsadm --sched-flags / -o names them,
// comma separated ("persistent,ops,flag-1").
func (f ServiceFlags) String() string {
	var parts []string
	for _, n := range []struct {
		f    ServiceFlags
		name string
	}{
		{FlagPersistent, "persistent"}, {FlagHashed, "hashed"}, {FlagOnePacket, "ops"},
		{FlagSched1, "flag-1"}, {FlagSched2, "flag-2"}, {FlagSched3, "flag-3"},
	} {
		if f&n.f != 0 {
			parts = append(parts, n.name)
			f &^= n.f
		}
	}
	if f != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", uint32(f)))
	}
	return strings.Join(parts, ",")
}

// SchedFlagNames returns ipvsadm's names of the scheduler flags in f for the
// given scheduler ("sh-fallback", "mh-port", else "flag-N").
func SchedFlagNames(sched string, f ServiceFlags) []string {
	var out []string
	for i, fl := range []ServiceFlags{FlagSched1, FlagSched2, FlagSched3} {
		if f&fl == 0 {
			continue
		}
		name := fmt.Sprintf("flag-%d", i+1)
		if (sched == "sh" || sched == "mh") && i < 2 {
			name = sched + []string{"-fallback", "-port"}[i]
		}
		out = append(out, name)
	}
	return out
}

// ParseSchedFlag maps an ipvsadm -b name (flag-1..3, sh-fallback, sh-port,
// mh-fallback, mh-port) to its flag.
func ParseSchedFlag(name string) (ServiceFlags, error) {
	switch name {
	case "flag-1", "sh-fallback", "mh-fallback":
		return FlagSched1, nil
	case "flag-2", "sh-port", "mh-port":
		return FlagSched2, nil
	case "flag-3":
		return FlagSched3, nil
	}
	return 0, fmt.Errorf("unknown scheduler flag %q", name)
}

// Schedulers are the IPVS scheduler names keepalived and ipvsadm accept.
var Schedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"}

// DefaultScheduler is ipvsadm's default scheduler.
const DefaultScheduler = "wlc"

// Service is a virtual service with its real servers. In a desired Table the
// Stats fields are ignored (nil); in a Table read from the kernel with its
// counters (Kernel.Table) they are set. They are pointers so that a table
// without counters (a desired one, the daemon's, Reconcile's read) does not
// carry them: 96 of a Destination's 152 bytes before.
type Service struct {
	Key       ServiceKey
	Scheduler string       // "" means DefaultScheduler
	Flags     ServiceFlags // FlagHashed is ignored on writes and when diffing
	Timeout   uint32       // persistence timeout in seconds (with FlagPersistent)
	// Netmask is the persistence granularity as a prefix length (the kernel
	// takes a dotted IPv4 mask or an IPv6 prefix length; conversion is done
	// by the Netlink implementation). 0 in a desired service means the full
	// address length (32 or 128), ipvsadm's default; read from the kernel it
	// is the exact value.
	Netmask uint8
	PEName  string // persistence engine, e.g. "sip"

	Destinations []Destination
	Stats        *Stats // read only; nil: none read
}

// Counters are s's counters, zero when none were read.
func (s *Service) Counters() Stats {
	if s.Stats == nil {
		return Stats{}
	}
	return *s.Stats
}

// NetmaskBits returns the effective persistence netmask prefix length.
func (s *Service) NetmaskBits() int {
	if s.Netmask == 0 {
		return s.Key.Family.Bits()
	}
	return int(s.Netmask)
}

// SchedulerName returns the effective scheduler name.
func (s *Service) SchedulerName() string {
	if s.Scheduler == "" {
		return DefaultScheduler
	}
	return s.Scheduler
}

// Destination returns the destination addr:port of s, or nil.
func (s *Service) Destination(addr netip.Addr, port uint16) *Destination {
	for i := range s.Destinations {
		if s.Destinations[i].Addr == addr && s.Destinations[i].Port == port {
			return &s.Destinations[i]
		}
	}
	return nil
}

// Method is a destination's forwarding method (IP_VS_CONN_F_* fwd values).
type Method uint32

const (
	Masq   Method = 0 // IP_VS_CONN_F_MASQ: NAT
	Local  Method = 1 // IP_VS_CONN_F_LOCALNODE
	Tunnel Method = 2 // IP_VS_CONN_F_TUNNEL: IP-in-IP / GUE / GRE
	DR     Method = 3 // IP_VS_CONN_F_DROUTE: direct routing (gatewaying)
	Bypass Method = 4 // IP_VS_CONN_F_BYPASS (kernel-internal)

	NAT = Masq

	methodMask = 0x0007 // IP_VS_CONN_F_FWD_MASK
)

// String returns ipvsadm's -L spelling: Masq, Local, Tunnel, Route.
func (m Method) String() string {
	switch m {
	case Masq:
		return "Masq"
	case Local:
		return "Local"
	case Tunnel:
		return "Tunnel"
	case DR:
		return "Route"
	case Bypass:
		return "Bypass"
	}
	return "method(" + strconv.Itoa(int(m)) + ")"
}

// TunnelType is the encapsulation of a Tunnel destination (IP_VS_CONN_F_TUNNEL_TYPE_*).
type TunnelType uint8

const (
	TunnelIPIP TunnelType = 0
	TunnelGUE  TunnelType = 1
	TunnelGRE  TunnelType = 2
)

func (t TunnelType) String() string {
	switch t {
	case TunnelIPIP:
		return "ipip"
	case TunnelGUE:
		return "gue"
	case TunnelGRE:
		return "gre"
	}
	return "tun(" + strconv.Itoa(int(t)) + ")"
}

// TunnelFlags are the checksum flags of a GUE/GRE tunnel (IP_VS_TUNNEL_ENCAP_FLAG_*).
type TunnelFlags uint16

const (
	TunnelNoCsum  TunnelFlags = 0
	TunnelCsum    TunnelFlags = 1 << 0
	TunnelRemCsum TunnelFlags = 1 << 1
)

func (f TunnelFlags) String() string {
	switch {
	case f&TunnelRemCsum != 0:
		return "remcsum"
	case f&TunnelCsum != 0:
		return "csum"
	}
	return "nocsum"
}

// Destination is a real server of a service. Addr and Port identify it within
// the service. For DR and Tunnel destinations of a port service the kernel
// forces Port to the virtual port.
type Destination struct {
	Addr           netip.Addr // may be of another family than the service (tunnel)
	Port           uint16
	Method         Method
	Weight         int32 // 0..65535; 0 quiesces
	UpperThreshold uint32
	LowerThreshold uint32
	TunType        TunnelType  // Tunnel only
	TunPort        uint16      // GUE only
	TunFlags       TunnelFlags // GUE/GRE only

	Stats *DestStats // read only; nil: none read (see Service)
}

// Counters are d's counters and connection counts, zero when none were
// read.
func (d *Destination) Counters() DestStats {
	if d.Stats == nil {
		return DestStats{}
	}
	return *d.Stats
}

// Family returns the destination's address family.
func (d *Destination) Family() Family { return FamilyOf(d.Addr) }

// AddrPort returns the destination's address and port.
func (d *Destination) AddrPort() netip.AddrPort { return netip.AddrPortFrom(d.Addr, d.Port) }

// Stats are IPVS counters and rate estimates (64-bit, from *_STATS64).
type Stats struct {
	Conns    uint64
	InPkts   uint64
	OutPkts  uint64
	InBytes  uint64
	OutBytes uint64
	CPS      uint64
	InPPS    uint64
	OutPPS   uint64
	InBPS    uint64
	OutBPS   uint64
}

// DestStats are the counters of a destination plus its connection counts.
type DestStats struct {
	Stats
	ActiveConns  uint32
	InactConns   uint32
	PersistConns uint32
}

// Table is a set of services with their destinations: the desired state, or
// the actual state read from the kernel.
type Table struct {
	Services []Service
}

// Service returns the service with key k, or nil.
func (t *Table) Service(k ServiceKey) *Service {
	for i := range t.Services {
		if t.Services[i].Key == k {
			return &t.Services[i]
		}
	}
	return nil
}

// Sort orders services by key and destinations by address and port.
func (t *Table) Sort() {
	slices.SortFunc(t.Services, func(a, b Service) int { return a.Key.Compare(b.Key) })
	for i := range t.Services {
		slices.SortFunc(t.Services[i].Destinations, func(a, b Destination) int {
			return a.AddrPort().Compare(b.AddrPort())
		})
	}
}

// Validate checks keys, schedulers, and that no service or destination is
// listed twice.
func (t *Table) Validate() error {
	seen := make(map[ServiceKey]bool, len(t.Services))
	for i := range t.Services {
		s := &t.Services[i]
		if err := s.Key.Validate(); err != nil {
			return err
		}
		if seen[s.Key] {
			return fmt.Errorf("service %s listed twice", s.Key)
		}
		seen[s.Key] = true
		if s.Scheduler != "" && !slices.Contains(Schedulers, s.Scheduler) {
			return fmt.Errorf("service %s: unknown scheduler %q", s.Key, s.Scheduler)
		}
		if s.Flags&^(flagsUser|FlagHashed) != 0 {
			return fmt.Errorf("service %s: unknown flags %s", s.Key, s.Flags&^(flagsUser|FlagHashed))
		}
		if int(s.Netmask) > s.Key.Family.Bits() {
			return fmt.Errorf("service %s: netmask /%d too long for %s", s.Key, s.Netmask, s.Key.Family)
		}
		if !s.Key.IsFWMark() && s.Key.Port == 0 && s.Flags&FlagPersistent == 0 {
			return fmt.Errorf("service %s: port 0 (all ports) needs persistence", s.Key)
		}
		dseen := make(map[netip.AddrPort]bool, len(s.Destinations))
		for j := range s.Destinations {
			d := &s.Destinations[j]
			if !d.Addr.IsValid() || d.Addr.Is4In6() {
				return fmt.Errorf("service %s: destination %d: bad address %v", s.Key, j, d.Addr)
			}
			if d.Method > DR {
				return fmt.Errorf("service %s: destination %s: bad forwarding method %d", s.Key, d.AddrPort(), d.Method)
			}
			if d.Weight < 0 || d.Weight > 65535 {
				return fmt.Errorf("service %s: destination %s: weight %d out of range 0..65535", s.Key, d.AddrPort(), d.Weight)
			}
			if d.Family() != s.Key.Family && d.Method != Tunnel {
				return fmt.Errorf("service %s: destination %s: mixed address families need tunnel forwarding", s.Key, d.AddrPort())
			}
			if dseen[d.AddrPort()] {
				return fmt.Errorf("service %s: destination %s listed twice", s.Key, d.AddrPort())
			}
			dseen[d.AddrPort()] = true
		}
	}
	return nil
}

// Info is what the kernel reports about IPVS itself.
type Info struct {
	Version       uint32 // 0x00MMmmpp, e.g. 0x010201 for 1.2.1
	ConnTableSize uint32
}

// VersionString returns the version as "1.2.1".
func (i Info) VersionString() string {
	return fmt.Sprintf("%d.%d.%d", i.Version>>16&0xff, i.Version>>8&0xff, i.Version&0xff)
}

// Timeouts are the IPVS connection timeouts (ipvsadm --set). On writes a zero
// field leaves that timeout unchanged. The kernel has second granularity.
type Timeouts struct {
	TCP    time.Duration
	TCPFin time.Duration
	UDP    time.Duration
}

// Connection is one IPVS connection entry (ipvsadm -Lc), from /proc/net/ip_vs_conn.
type Connection struct {
	Protocol string // "TCP", "UDP", "SCTP", "IP"
	Client   netip.AddrPort
	Virtual  netip.AddrPort
	Dest     netip.AddrPort
	State    string // e.g. "ESTABLISHED", "FIN_WAIT", "NONE"
	Expires  time.Duration
	PEName   string // persistence engine, if any
	PEData   string
}

// SyncState selects a connection synchronisation daemon (IP_VS_STATE_*).
type SyncState uint32

const (
	SyncMaster SyncState = 1
	SyncBackup SyncState = 2
)

func (s SyncState) String() string {
	switch s {
	case SyncMaster:
		return "master"
	case SyncBackup:
		return "backup"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// SyncDaemon is a connection synchronisation daemon (ipvsadm --start-daemon).
type SyncDaemon struct {
	State      SyncState
	Interface  string
	SyncID     uint32     // 0..255 (one byte in sync messages); a backup with 0 accepts every syncid
	MaxLen     uint16     // sync message max length, 0 = kernel default
	McastGroup netip.Addr // zero = 224.0.0.81
	McastPort  uint16     // 0 = 8848
	McastTTL   uint8      // 0 = 1
}

// The kernel's defaults for a sync daemon's options left zero.
var (
	DefaultSyncGroup = netip.AddrFrom4([4]byte{224, 0, 0, 81})
)

const (
	DefaultSyncPort = 8848
	DefaultSyncTTL  = 1
)

// Validate checks d against what the kernel accepts and what the sync
// protocol can carry, without a kernel: a role, an interface name of at most
// 15 bytes, a syncid of one byte, a multicast group.
func (d SyncDaemon) Validate() error {
	switch {
	case d.State != SyncMaster && d.State != SyncBackup:
		return fmt.Errorf("sync daemon: bad state %v", d.State)
	case d.Interface == "" || len(d.Interface) > 15:
		return fmt.Errorf("sync daemon: bad interface name %q", d.Interface)
	case d.SyncID > 255:
		return fmt.Errorf("sync daemon: syncid %d out of range 0-255", d.SyncID)
	case d.McastGroup.IsValid() && (!d.McastGroup.IsMulticast() || d.McastGroup.Zone() != "" || d.McastGroup.Is4In6()):
		return fmt.Errorf("sync daemon: group %s is not a multicast address", d.McastGroup)
	}
	return nil
}

// Effective returns d as the kernel runs it (and SyncDaemons lists it) on an
// interface of MTU mtu: the defaults filled in, and maxlen bounded. A
// master's default maxlen fits a 1500-byte packet; a backup's fits the MTU
// (at least 1500) and is at least 1024 (start_sync_thread).
func (d SyncDaemon) Effective(mtu int) SyncDaemon {
	if !d.McastGroup.IsValid() {
		d.McastGroup = DefaultSyncGroup
	}
	if d.McastPort == 0 {
		d.McastPort = DefaultSyncPort
	}
	if d.McastTTL == 0 {
		d.McastTTL = DefaultSyncTTL
	}
	hdr := 20 + 8 // IPv4 + UDP
	if d.McastGroup.Is6() {
		hdr = 40 + 8
	}
	size, least := 1500, 1
	if d.State == SyncBackup {
		size, least = min(max(mtu, 1500), 65535), 1024
	}
	if d.MaxLen == 0 {
		d.MaxLen = uint16(size - hdr)
	} else {
		d.MaxLen = uint16(min(max(int(d.MaxLen), least), 65535-hdr))
	}
	return d
}

// Kernel is the access to the kernel's IPVS tables that ipvsadm and the
// reconciler need. *Netlink implements it; tests use fakes.
type Kernel interface {
	Info() (Info, error)
	// Table returns every service with its destinations and 64-bit stats,
	// in the kernel's order (Table.Sort gives a stable one).
	Table() (Table, error)
	// NewService adds s (without its destinations).
	NewService(s Service) error
	// UpdateService changes scheduler, flags, timeout, netmask, PE of s.Key.
	UpdateService(s Service) error
	DelService(k ServiceKey) error
	// Flush deletes every service (ipvsadm -C).
	Flush() error
	NewDestination(k ServiceKey, d Destination) error
	// UpdateDestination changes method, weight, thresholds, tunnel settings
	// of destination d.Addr:d.Port.
	UpdateDestination(k ServiceKey, d Destination) error
	// DelDestination deletes destination d.Addr:d.Port of service k.
	DelDestination(k ServiceKey, d Destination) error
	// Zero resets the counters of service k (ipvsadm -Z -t ...).
	Zero(k ServiceKey) error
	// ZeroAll resets the counters of every service (ipvsadm -Z).
	ZeroAll() error
	Timeouts() (Timeouts, error)
	SetTimeouts(t Timeouts) error
	// Connections lists the connection table (ipvsadm -Lc).
	Connections() ([]Connection, error)
	SyncDaemons() ([]SyncDaemon, error)
	StartSyncDaemon(d SyncDaemon) error
	StopSyncDaemon(s SyncState) error
}

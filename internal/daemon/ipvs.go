package daemon

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/internal/notifyfifo"
	"github.com/lvs-ha/lvs-ha/ipvs"
)

// maxGroupRange bounds the addresses one virtual_server_group entry may
// expand to (an IP/LEN entry with a short prefix would otherwise create
// millions of services).
const maxGroupRange = 65536

// virtualServers translates cfg's virtual_server blocks into the machine's
// virtual servers (lvsstate.go), all real servers up. A virtual_server names
// one service (IP PORT or fwmark N) or a virtual_server_group, which expands
// to one service per address of each address range (with the entry's port)
// and one per fwmark entry, all with the virtual server's settings and real
// servers, as keepalived does. Virtual servers without real servers are left
// out (keepalived ignores them). The table with every real server at its
// configured weight is validated. Errors name the virtual_server's position.
func virtualServers(cfg *conf.Config) ([]*vsState, error) {
	groups := make(map[string]*conf.VirtualServerGroup, len(cfg.VirtualServerGroups))
	for _, g := range cfg.VirtualServerGroups {
		groups[g.Name] = g
	}
	var vss []*vsState
	from := map[ipvs.ServiceKey]*conf.VirtualServer{}
	for _, v := range cfg.VirtualServers {
		if len(v.RealServers) == 0 {
			continue
		}
		vs, err := virtualServer(v, groups)
		if err != nil {
			return nil, at(v.Pos, fmt.Errorf("virtual_server %s (%s): %w", vsName(v), v.Pos, err))
		}
		for _, s := range vs.services {
			if prev := from[s.Key]; prev != nil {
				return nil, at(v.Pos, fmt.Errorf("virtual_server %s (%s): service %s is also defined by virtual_server %s (%s)",
					vsName(v), v.Pos, s.Key, vsName(prev), prev.Pos))
			}
			from[s.Key] = v
		}
		vss = append(vss, vs)
	}
	return vss, nil
}

func virtualServer(v *conf.VirtualServer, groups map[string]*conf.VirtualServerGroup) (*vsState, error) {
	vs := &vsState{v: v, name: vsID(v), fifoName: notifyfifo.VSName(v.Addr, string(v.Protocol), v.Port, v.FWMark, v.IsFWMark, v.Group)}
	for _, r := range v.RealServers {
		d, err := destination(r)
		if err != nil {
			return nil, err
		}
		vs.rss = append(vs.rss, &rsState{r: rsConfOf(r), vs: vs, name: rsID(r), dest: d, up: true})
	}
	var err error
	if vs.services, err = virtualServices(v, groups); err != nil {
		return nil, err
	}
	if _, err := ipvs.Normalize(tableOf([]*vsState{vs}, (*vsState).configured)); err != nil {
		return nil, err
	}
	if s := v.SorryServer; s != nil {
		d, err := destination(&conf.RealServer{Addr: s.Addr, Port: s.Port, Forwarding: s.Forwarding, Pos: s.Pos})
		if err != nil {
			return nil, fmt.Errorf("sorry_server: %w", err)
		}
		vs.sorry = &d
	}
	return vs, nil
}

// desiredTable is cfg's IPVS table with every real server at its configured
// weight (the status page's configured table).
func desiredTable(cfg *conf.Config) (ipvs.Table, error) {
	vss, err := virtualServers(cfg)
	return tableOf(vss, (*vsState).configured), err
}

// vsName is the virtual server as written: "IP PORT", "fwmark N", "group NAME".
func vsName(v *conf.VirtualServer) string {
	switch {
	case v.Group != "":
		return "group " + v.Group
	case v.IsFWMark:
		return "fwmark " + strconv.FormatUint(uint64(v.FWMark), 10)
	}
	return v.Addr.String() + " " + strconv.Itoa(int(v.Port))
}

// virtualServices returns the services of one virtual_server block.
func virtualServices(v *conf.VirtualServer, groups map[string]*conf.VirtualServerGroup) ([]ipvs.Service, error) {
	fam := ipvs.FamilyIPv4
	if v.Family == conf.Inet6 {
		fam = ipvs.FamilyIPv6
	}
	var keys []ipvs.ServiceKey
	addrKey := func(a netip.Addr, port uint16) (ipvs.ServiceKey, error) {
		p, err := protocol(v.Protocol)
		if err != nil {
			return ipvs.ServiceKey{}, err
		}
		return ipvs.AddrKey(p, netip.AddrPortFrom(a, port)), nil
	}
	switch {
	case v.Group != "":
		g := groups[v.Group]
		if g == nil {
			return nil, fmt.Errorf("no virtual_server_group %q", v.Group)
		}
		for _, e := range g.Entries {
			if e.IsFWMark {
				if e.FWMark == 0 {
					return nil, at(e.Pos, fmt.Errorf("virtual_server_group %s (%s): fwmark 0 is not a valid mark", g.Name, e.Pos))
				}
				f := fam
				switch e.FWMFamily {
				case conf.Inet:
					f = ipvs.FamilyIPv4
				case conf.Inet6:
					f = ipvs.FamilyIPv6
				}
				keys = append(keys, ipvs.FWMarkKey(f, e.FWMark))
				continue
			}
			n := 0
			for a := e.First; a.IsValid() && !e.Last.Less(a); a = a.Next() {
				if n++; n > maxGroupRange {
					return nil, fmt.Errorf("virtual_server_group %s (%s): address range %s-%s has more than %d addresses",
						g.Name, e.Pos, e.First, e.Last, maxGroupRange)
				}
				k, err := addrKey(a, e.Port)
				if err != nil {
					return nil, err
				}
				keys = append(keys, k)
			}
		}
	case v.IsFWMark:
		if v.FWMark == 0 {
			return nil, errors.New("fwmark 0 is not a valid mark")
		}
		keys = append(keys, ipvs.FWMarkKey(fam, v.FWMark))
	default:
		k, err := addrKey(v.Addr, v.Port)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}

	base := ipvs.Service{Scheduler: v.Scheduler, PEName: v.PersistenceEngine}
	for _, name := range v.SchedFlags {
		f, err := ipvs.ParseSchedFlag(name)
		if err != nil {
			return nil, err
		}
		base.Flags |= f
	}
	if v.OnePacket {
		base.Flags |= ipvs.FlagOnePacket
	}
	if v.PersistenceTimeout > 0 {
		base.Flags |= ipvs.FlagPersistent
		base.Timeout = uint32(v.PersistenceTimeout.Std() / time.Second)
	}
	out := make([]ipvs.Service, 0, len(keys))
	for _, k := range keys {
		s := base
		s.Key = k
		if v.PersistenceGranularity != "" {
			m, err := granularity(v.PersistenceGranularity, k.Family)
			if err != nil {
				return nil, err
			}
			s.Netmask = m
		}
		out = append(out, s)
	}
	return out, nil
}

func protocol(p conf.Protocol) (ipvs.Protocol, error) {
	switch p {
	case conf.TCP:
		return ipvs.TCP, nil
	case conf.UDP:
		return ipvs.UDP, nil
	case conf.SCTP:
		return ipvs.SCTP, nil
	}
	return 0, fmt.Errorf("protocol %q: want TCP, UDP or SCTP", p)
}

// granularity converts persistence_granularity (a dotted IPv4 netmask, or a
// prefix length) to a prefix length for a service of family f.
func granularity(s string, f ipvs.Family) (uint8, error) {
	if strings.Contains(s, ".") {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return 0, fmt.Errorf("persistence_granularity %q is not an IPv4 netmask", s)
		}
		if f != ipvs.FamilyIPv4 {
			return 0, fmt.Errorf("persistence_granularity %q: an IPv6 service takes a prefix length", s)
		}
		b := a.As4()
		m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		n := bits.LeadingZeros32(^m)
		if m<<n != 0 || n == 0 {
			return 0, fmt.Errorf("persistence_granularity %s is not a contiguous netmask", s)
		}
		return uint8(n), nil
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil || n < 1 || int(n) > f.Bits() {
		return 0, fmt.Errorf("persistence_granularity %q: want a prefix length 1..%d", s, f.Bits())
	}
	return uint8(n), nil
}

// lvsTimeouts translates lvs_timeouts; a value of 0 counts as not given, as
// in keepalived.
func lvsTimeouts(t *conf.LVSTimeouts) *ipvs.Timeouts {
	if t == nil {
		return nil
	}
	d := func(v *conf.Duration) time.Duration {
		if v == nil {
			return 0
		}
		return v.Std()
	}
	out := ipvs.Timeouts{TCP: d(t.TCP), TCPFin: d(t.TCPFin), UDP: d(t.UDP)}
	if out == (ipvs.Timeouts{}) {
		return nil
	}
	return &out
}

// destination translates a real_server.
func destination(r *conf.RealServer) (ipvs.Destination, error) {
	d := ipvs.Destination{
		Addr:           r.Addr.Unmap(),
		Port:           r.Port,
		Weight:         int32(r.Weight),
		UpperThreshold: r.UThreshold,
		LowerThreshold: r.LThreshold,
	}
	f := r.Forwarding
	switch f.Method {
	case "NAT", "":
		d.Method = ipvs.Masq
	case "DR":
		d.Method = ipvs.DR
	case "TUN":
		d.Method = ipvs.Tunnel
		switch f.TunnelType {
		case "ipip", "":
			d.TunType = ipvs.TunnelIPIP
		case "gue":
			d.TunType = ipvs.TunnelGUE
			d.TunPort = f.TunnelPort
		case "gre":
			d.TunType = ipvs.TunnelGRE
		default:
			return d, at(r.Pos, fmt.Errorf("real_server %s (%s): unknown tunnel type %q", r.Addr, r.Pos, f.TunnelType))
		}
		switch f.TunnelCsum {
		case "nocsum", "":
			d.TunFlags = ipvs.TunnelNoCsum
		case "csum":
			d.TunFlags = ipvs.TunnelCsum
		case "remcsum":
			d.TunFlags = ipvs.TunnelRemCsum
		default:
			return d, at(r.Pos, fmt.Errorf("real_server %s (%s): unknown tunnel checksum option %q", r.Addr, r.Pos, f.TunnelCsum))
		}
	default:
		return d, at(r.Pos, fmt.Errorf("real_server %s (%s): unknown forwarding method %q", r.Addr, r.Pos, f.Method))
	}
	return d, nil
}

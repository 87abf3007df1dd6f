package conf

import (
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
)

// ---- bgp_speaker and bgp_announce (lvs-ha extensions) ----------------------

// BGPSpeaker is the bgp_speaker block (an lvs-ha extension): the BGP
// session(s) over which the VIPs of virtual servers with bgp_announce are
// announced as host routes, or, in route-only mode, the interface their
// host routes are put on for the site's own routing daemon.
type BGPSpeaker struct {
	RouterID  netip.Addr     `json:"router_id,omitzero"`
	LocalAS   uint32         `json:"local_as,omitempty"`
	Neighbors []*BGPNeighbor `json:"neighbors,omitempty"`
	// AnnounceDelay is how long a VIP must be programmed and healthy
	// before it is announced.
	AnnounceDelay Duration `json:"announce_delay"`
	// DrainTime is how long lvs-ha keeps forwarding after withdrawing
	// every prefix at SIGTERM.
	DrainTime Duration `json:"drain_time"`
	// RouteOnly is the interface of route-only mode (no BGP session: the
	// host routes are addresses on this interface); "" without it.
	RouteOnly string     `json:"route_only,omitempty"`
	Pos       syntax.Pos `json:"pos"`
}

// BGPNeighbor is one neighbor ADDR { ... } block of bgp_speaker.
type BGPNeighbor struct {
	Addr     netip.Addr `json:"addr"`
	RemoteAS uint32     `json:"remote_as"`
	// HoldTime 0: the speaker's default.
	HoldTime     Duration   `json:"hold_time,omitempty"`
	Port         uint16     `json:"port"`
	Password     string     `json:"-"` // TCP MD5 (kept out of JSON dumps)
	Passive      bool       `json:"passive,omitempty"`
	EBGPMultihop uint8      `json:"ebgp_multihop,omitempty"` // TTL; 0: off
	LocalAddress netip.Addr `json:"local_address,omitzero"`
	BFD          *BGPBFD    `json:"bfd,omitempty"` // nil: off
	Pos          syntax.Pos `json:"pos"`
}

// BGPBFD is a neighbor's bfd line.
type BGPBFD struct {
	MinTx      Duration `json:"min_tx"`
	MinRx      Duration `json:"min_rx"`
	Multiplier uint8    `json:"multiplier"`
}

// BGPAnnounce is a virtual_server's bgp_announce: its VIP is announced
// while the virtual server has at least MinHealthy healthy real servers.
type BGPAnnounce struct {
	MinHealthy int        `json:"min_healthy"`
	Pos        syntax.Pos `json:"pos"`
}

// Defaults of bgp_speaker.
const (
	DefaultBGPAnnounceDelay = 2 * time.Second
	DefaultBGPDrainTime     = 10 * time.Second
	DefaultBGPPort          = 179
	DefaultBFDInterval      = 300 * time.Millisecond
	DefaultBFDMultiplier    = 3
)

var (
	bgpTable      *table[*BGPSpeaker]
	neighborTable *table[*BGPNeighbor]
)

func init() {
	neighborTable = newTable("neighbor", []keyword[*BGPNeighbor]{
		impl("remote_as", "lvs-ha extension: the neighbor's AS number (1..4294967295)", "", func(l *loader, n *syntax.Node, b *BGPNeighbor) {
			if v, ok := l.uintArg(n, 1, math.MaxUint32); ok {
				b.RemoteAS = uint32(v)
			}
		}),
		impl("hold_time", "lvs-ha extension: BGP hold time, whole seconds (0, or 3..65535); keepalives every third of it", "90", func(l *loader, n *syntax.Node, b *BGPNeighbor) {
			v, ok := l.uintArg(n, 0, 65535)
			if !ok {
				return
			}
			if v == 1 || v == 2 {
				l.errf(n.Args[0].Pos, "invalid hold_time %q: want 0 or seconds in [3, 65535] (RFC 4271)", n.Args[0].Text)
				return
			}
			b.HoldTime = seconds(int(v))
		}),
		impl("bfd", "lvs-ha extension: BFD for the session (GoBGP's): [min_tx MS] [min_rx MS] [multiplier N]", "off (300 ms, 300 ms, 3 when on)", (*loader).bgpBFD),
		impl("port", "lvs-ha extension: the neighbor's TCP port", "179", func(l *loader, n *syntax.Node, b *BGPNeighbor) {
			if v, ok := l.portArg(n); ok {
				b.Port = v
			}
		}),
		impl("password", "lvs-ha extension: TCP MD5 signature password (RFC 2385)", "", func(l *loader, n *syntax.Node, b *BGPNeighbor) {
			if v, ok := l.stringArg(n); ok {
				if len(v) > 80 {
					l.errf(n.Args[0].Pos, "bgp neighbor password is longer than 80 bytes (TCP MD5 keys are at most 80)")
					return
				}
				b.Password = v
			}
		}),
		impl("passive", "lvs-ha extension: wait for the neighbor to connect", "off", func(l *loader, n *syntax.Node, b *BGPNeighbor) { b.Passive = l.flag(n) }),
		impl("ebgp_multihop", "lvs-ha extension: eBGP to a neighbor not directly connected: [TTL] (1..255)", "off (TTL 255 without value)", func(l *loader, n *syntax.Node, b *BGPNeighbor) {
			if !l.nargs(n, 0, 1) {
				return
			}
			b.EBGPMultihop = 255
			if len(n.Args) == 1 {
				if v, ok := l.uint(n.Args[0], "ebgp_multihop", 1, 255); ok {
					b.EBGPMultihop = uint8(v)
				}
			}
		}),
		impl("local_address", "lvs-ha extension: source address of the session", "the kernel's choice", func(l *loader, n *syntax.Node, b *BGPNeighbor) {
			if a, ok := l.ipArg(n); ok {
				b.LocalAddress = a
			}
		}),
	})
	bgpTable = newTable("bgp_speaker", []keyword[*BGPSpeaker]{
		impl("router_id", "lvs-ha extension: BGP identifier, an IPv4 address", "", func(l *loader, n *syntax.Node, b *BGPSpeaker) {
			if a, ok := l.ipArg(n); ok {
				if !a.Is4() || a.IsUnspecified() {
					l.errf(n.Args[0].Pos, "invalid router_id %q: want a non-zero IPv4 address", n.Args[0].Text)
					return
				}
				b.RouterID = a
			}
		}),
		impl("local_as", "lvs-ha extension: our AS number (1..4294967295)", "", func(l *loader, n *syntax.Node, b *BGPSpeaker) {
			if v, ok := l.uintArg(n, 1, math.MaxUint32); ok {
				b.LocalAS = uint32(v)
			}
		}),
		implBlock("neighbor", "lvs-ha extension: a BGP peer: neighbor ADDR { ... }", "", (*loader).bgpNeighbor),
		impl("announce_delay", "lvs-ha extension: seconds a VIP must be programmed and healthy before it is announced", "2", func(l *loader, n *syntax.Node, b *BGPSpeaker) {
			if d, ok := l.timerArg(n, 0, Duration(3600*time.Second)); ok {
				b.AnnounceDelay = d
			}
		}),
		impl("drain_time", "lvs-ha extension: at SIGTERM, seconds to keep forwarding after withdrawing every prefix", "10", func(l *loader, n *syntax.Node, b *BGPSpeaker) {
			if d, ok := l.timerArg(n, 0, Duration(3600*time.Second)); ok {
				b.DrainTime = d
			}
		}),
		impl("route_only", "lvs-ha extension: no BGP session; each announced VIP is a host address on interface IFNAME (default lo, warned: use a dummy interface) for the site's routing daemon to redistribute, every configured VIP staying on lo: [IFNAME]", "off", func(l *loader, n *syntax.Node, b *BGPSpeaker) {
			if !l.nargs(n, 0, 1) {
				return
			}
			b.RouteOnly = "lo"
			if len(n.Args) == 1 {
				if name := n.Args[0].Text; len(name) >= 16 || name == "" {
					l.errf(n.Args[0].Pos, "route_only interface name %q too long", name)
					return
				}
				b.RouteOnly = n.Args[0].Text
			}
		}),
	})
}

// bgpSpeakerBlock is the top-level bgp_speaker { ... } block.
func (l *loader) bgpSpeakerBlock(n *syntax.Node, c *Config) {
	l.nargs(n, 0, 0)
	if c.BGPSpeaker != nil {
		l.errf(n.Keyword.Pos, "bgp_speaker already specified at %s", c.BGPSpeaker.Pos)
		return
	}
	b := &BGPSpeaker{Pos: n.Keyword.Pos, AnnounceDelay: Duration(DefaultBGPAnnounceDelay), DrainTime: Duration(DefaultBGPDrainTime)}
	walk(l, bgpTable, n, b)
	if b.RouteOnly == "lo" {
		l.warnf(n.Keyword.Pos, "bgp_speaker: route_only on lo: a withdrawn VIP leaves lo, so IPVS stops receiving the connections the router still sends while it converges (drain_time does not help); put the announced VIPs on a dummy interface (route_only dummy0) and let lvs-ha keep them on lo")
	}
	if b.RouteOnly == "" {
		if !b.RouterID.IsValid() {
			l.errf(n.Keyword.Pos, "bgp_speaker needs router_id (or route_only)")
		}
		if b.LocalAS == 0 {
			l.errf(n.Keyword.Pos, "bgp_speaker needs local_as (or route_only)")
		}
		if len(b.Neighbors) == 0 {
			l.errf(n.Keyword.Pos, "bgp_speaker has no neighbor (or route_only)")
		}
	}
	c.BGPSpeaker = b
}

func (l *loader) bgpNeighbor(n *syntax.Node, b *BGPSpeaker) {
	if !l.nargs(n, 1, 1) {
		return
	}
	a, ok := l.ip(n.Args[0], "neighbor address")
	if !ok {
		return
	}
	for _, prev := range b.Neighbors {
		if prev.Addr == a {
			l.duplicate("neighbor", n.Args[0], prev.Pos)
			return
		}
	}
	nb := &BGPNeighbor{Addr: a, Port: DefaultBGPPort, Pos: n.Args[0].Pos}
	walk(l, neighborTable, n, nb)
	if nb.RemoteAS == 0 {
		l.errf(n.Args[0].Pos, "neighbor %s needs remote_as", a)
		return
	}
	if nb.LocalAddress.IsValid() && nb.LocalAddress.Is4() != a.Is4() {
		l.errf(n.Args[0].Pos, "neighbor %s: local_address %s is of the other address family", a, nb.LocalAddress)
		return
	}
	b.Neighbors = append(b.Neighbors, nb)
}

// bgpBFD reads bfd [min_tx MS] [min_rx MS] [multiplier N].
func (l *loader) bgpBFD(n *syntax.Node, b *BGPNeighbor) {
	f := &BGPBFD{MinTx: Duration(DefaultBFDInterval), MinRx: Duration(DefaultBFDInterval), Multiplier: DefaultBFDMultiplier}
	for i := 0; i < len(n.Args); i += 2 {
		opt := n.Args[i]
		if i+1 >= len(n.Args) {
			l.errf(opt.Pos, "bfd %s needs a value", opt.Text)
			return
		}
		w := n.Args[i+1]
		switch opt.Text {
		case "min_tx", "min_rx":
			v, ok := l.uint(w, "bfd "+opt.Text+" (milliseconds)", 1, 60000)
			if !ok {
				return
			}
			d := Duration(time.Duration(v) * time.Millisecond)
			if opt.Text == "min_tx" {
				f.MinTx = d
			} else {
				f.MinRx = d
			}
		case "multiplier":
			v, ok := l.uint(w, "bfd multiplier", 1, 255)
			if !ok {
				return
			}
			f.Multiplier = uint8(v)
		default:
			l.errf(opt.Pos, "unknown bfd option %q: want min_tx, min_rx or multiplier", opt.Text)
			return
		}
	}
	b.BFD = f
}

// bgpAnnounce reads a virtual_server's bgp_announce [min_healthy N].
func (l *loader) bgpAnnounce(n *syntax.Node, v *VirtualServer) {
	a := &BGPAnnounce{MinHealthy: 1, Pos: n.Keyword.Pos}
	if len(n.Args) > 0 {
		if n.Args[0].Text != "min_healthy" {
			l.errf(n.Args[0].Pos, "unknown bgp_announce option %q: want min_healthy N", n.Args[0].Text)
			return
		}
		if len(n.Args) < 2 {
			l.errf(n.Args[0].Pos, "bgp_announce min_healthy needs a value")
			return
		}
		l.nargs(n, 2, 2)
		x, ok := l.uint(n.Args[1], "bgp_announce min_healthy", 1, 65535)
		if !ok {
			return
		}
		a.MinHealthy = int(x)
	}
	v.BGPAnnounce = a
}

// hashingSchedulers give the same real server for a flow on every director
// holding the same real servers in the same order.
var hashingSchedulers = []string{"mh", "sh", "dh"}

// finishBGP checks bgp_announce against the rest of the configuration, once
// the virtual servers are finished (their real servers' forwarding known).
func (l *loader) finishBGP() {
	sloppyWarned := false
	for _, v := range l.cfg.VirtualServers {
		a := v.BGPAnnounce
		if a == nil {
			continue
		}
		name := v.String()
		if v.IsFWMark {
			l.errf(a.Pos, "virtual_server %s: bgp_announce needs an address to announce (a fwmark virtual server has none)", name)
			continue
		}
		if l.cfg.BGPSpeaker == nil {
			l.errf(a.Pos, "virtual_server %s: bgp_announce without a bgp_speaker block (give one, or bgp_speaker { route_only IFNAME })", name)
		}
		nat := len(v.RealServers) == 0 && v.Forwarding.Method == "NAT"
		for _, r := range v.RealServers {
			nat = nat || r.Forwarding.Method == "NAT"
		}
		if nat {
			l.errf(a.Pos, "virtual_server %s: bgp_announce with lb_kind NAT: the real servers' replies must return through the director that got the request, which ECMP does not ensure; use DR or TUN", name)
		}
		if !slices.Contains(hashingSchedulers, v.Scheduler) && l.cfg.Global.LVSSyncDaemon == nil {
			l.warnf(a.Pos, "virtual_server %s: bgp_announce with lb_algo %s and no lvs_sync_daemon: when the router moves a flow to another director (a director fails, drains or joins), that director picks a real server of its own and the connection breaks; use mh (or sh, dh) or sync the connections", name, v.Scheduler)
		}
		if st := l.cfg.Global.LVSSloppyTCP; !sloppyWarned && v.Protocol == TCP && (st == nil || !*st) {
			sloppyWarned = true
			l.warnf(a.Pos, "virtual_server %s: bgp_announce without lvs_sloppy_tcp on (global_defs): a director that the router hands a connection already established elsewhere (a director fails, drains or joins) drops its packets, as IPVS creates connections only from a SYN; set lvs_sloppy_tcp on", name)
		}
		if n := len(v.RealServers); n > 0 && a.MinHealthy > n {
			l.warnf(a.Pos, "virtual_server %s: bgp_announce min_healthy %d is more than its %d real servers: it is never announced", name, a.MinHealthy, n)
		}
	}
}

package vrrpsock

import (
	"errors"
	"fmt"
	"net/netip"
)

// Protocol is the IP protocol number of VRRP.
const Protocol = 112

// TTL is the IPv4 TTL / IPv6 hop limit of every packet sent, and the only value a
// receiver should accept (RFC 3768 section 7.1, RFC 5798 section 7.1).
const TTL = 255

// trafficClass is the IPv4 TOS / IPv6 traffic class of every packet sent: precedence
// "internetwork control" (DSCP CS6), as keepalived sends.
const trafficClass = 0xc0

// maxIfNameLen is IFNAMSIZ-1, the longest Linux interface name.
const maxIfNameLen = 15

// Default multicast groups (RFC 3768 section 5.2.2, RFC 5798 section 5.1.1.2).
var (
	DefaultGroup4 = netip.MustParseAddr("224.0.0.18")
	DefaultGroup6 = netip.MustParseAddr("ff02::12")
)

// Errors returned by [Open]; match them with errors.Is.
var (
	// ErrConfig marks an invalid [Config]. Retrying does not help.
	ErrConfig = errors.New("invalid vrrpsock config")
	// ErrNoSource means that no source address was configured and the interface has
	// no usable one yet (no primary IPv4 address, no IPv6 link-local address). It may
	// appear later: the caller can retry.
	ErrNoSource = errors.New("no usable source address on interface")
	// ErrNoInterface means that the interface does not exist (yet).
	ErrNoInterface = errors.New("no such interface")
)

// Config describes the socket of one VRRP instance.
type Config struct {
	// Interface is the name of the interface to send and receive on (required).
	Interface string
	// IPv6 selects VRRP over IPv6 (protocol 112 on an ip6 raw socket); IPv4 otherwise.
	IPv6 bool
	// Group is the multicast group (keepalived's vrrp_mcast_group4/6). Default:
	// [DefaultGroup4] or [DefaultGroup6]. Ignored in unicast mode.
	Group netip.Addr
	// Src is the source address of sent packets (mcast_src_ip / unicast_src_ip). It
	// must be assigned to a local interface when sending. Default: the interface's
	// primary IPv4 address, or its IPv6 link-local address.
	Src netip.Addr
	// Peers, when not empty, selects unicast mode: packets go to each peer
	// (unicast_peer) instead of the group, and no group is joined.
	Peers []netip.Addr
	// UnicastTTL is the IPv4 TTL / IPv6 hop limit of unicast packets
	// (keepalived's unicast_ttl), 1..255; 0 means [TTL]. Multicast packets
	// always have [TTL].
	UnicastTTL int
}

// unicastTTL is the TTL / hop limit of unicast packets.
func (c Config) unicastTTL() int {
	if c.UnicastTTL == 0 {
		return TTL
	}
	return c.UnicastTTL
}

func (c Config) family() string {
	if c.IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

// Validate checks the configuration without touching the system. Errors match
// [ErrConfig].
func (c Config) Validate() error {
	if c.Interface == "" {
		return c.errorf("no interface")
	}
	if len(c.Interface) > maxIfNameLen {
		return c.errorf("interface name %q longer than %d bytes", c.Interface, maxIfNameLen)
	}
	if c.Group.IsValid() {
		g := c.Group.Unmap()
		if !c.sameFamily(g) {
			return c.errorf("group %s is not an %s address", c.Group, c.family())
		}
		if !g.IsMulticast() {
			return c.errorf("group %s is not a multicast address", c.Group)
		}
	}
	if c.Src.IsValid() {
		s := c.Src.Unmap()
		if !c.sameFamily(s) {
			return c.errorf("source %s is not an %s address", c.Src, c.family())
		}
		if s.IsMulticast() || s.IsUnspecified() || (s.Is4() && s == netip.AddrFrom4([4]byte{255, 255, 255, 255})) {
			return c.errorf("source %s is not a unicast address", c.Src)
		}
	}
	if c.UnicastTTL < 0 || c.UnicastTTL > 255 {
		return c.errorf("unicast TTL %d out of range 0..255", c.UnicastTTL)
	}
	seen := make(map[netip.Addr]bool, len(c.Peers))
	for _, p := range c.Peers {
		if !p.IsValid() {
			return c.errorf("empty unicast peer address")
		}
		u := p.Unmap().WithZone("")
		if !c.sameFamily(u) {
			return c.errorf("unicast peer %s is not an %s address", p, c.family())
		}
		if u.IsMulticast() || u.IsUnspecified() {
			return c.errorf("unicast peer %s is not a unicast address", p)
		}
		if seen[u] {
			return c.errorf("unicast peer %s listed twice", p)
		}
		seen[u] = true
	}
	return nil
}

func (c Config) sameFamily(a netip.Addr) bool { return a.Is6() == c.IPv6 }

func (c Config) errorf(format string, args ...any) error {
	name := c.Interface
	if name == "" {
		name = "?"
	}
	return fmt.Errorf("vrrpsock: %s on %s: %s: %w", c.family(), name, fmt.Sprintf(format, args...), ErrConfig)
}

// group returns the configured multicast group or the default one.
func (c Config) group() netip.Addr {
	if c.Group.IsValid() {
		return c.Group.Unmap().WithZone("")
	}
	if c.IPv6 {
		return DefaultGroup6
	}
	return DefaultGroup4
}

// destinations returns where advertisements go: the peers in unicast mode, else the
// group.
func (c Config) destinations() []netip.Addr {
	if len(c.Peers) == 0 {
		return []netip.Addr{c.group()}
	}
	out := make([]netip.Addr, len(c.Peers))
	for i, p := range c.Peers {
		out[i] = p.Unmap().WithZone("")
	}
	return out
}

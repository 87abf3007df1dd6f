package realserver

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Mode is the LVS forwarding method the real server is prepared for.
type Mode uint8

// Forwarding methods.
const (
	DR  Mode = iota // direct routing: VIPs on lo
	TUN             // IP-in-IP tunnelling: VIPs on tunl0
)

func (m Mode) String() string {
	if m == TUN {
		return "tun"
	}
	return "dr"
}

// Device names.
const (
	Loopback = "lo"
	Tunnel   = "tunl0"
)

// Config is what to set up (or tear down).
type Config struct {
	VIPs []netip.Addr
	Mode Mode
}

// Device returns the interface that carries the VIPs in this mode.
func (c Config) Device() string {
	if c.Mode == TUN {
		return Tunnel
	}
	return Loopback
}

// ErrBadVIP is wrapped by the errors of [ParseVIPs] and [Config.Validate].
var ErrBadVIP = errors.New("bad VIP")

// ParseVIPs parses VIP arguments: bare IPv4 or IPv6 addresses, or addresses with the
// host prefix length (/32, /128). Duplicates are dropped; the order is kept.
func ParseVIPs(args []string) ([]netip.Addr, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: no VIP given", ErrBadVIP)
	}
	var out []netip.Addr
	for _, s := range args {
		a, err := parseVIP(s)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

func parseVIP(s string) (netip.Addr, error) {
	var a netip.Addr
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return a, fmt.Errorf("%w %q: %v", ErrBadVIP, s, err)
		}
		if p.Bits() != p.Addr().BitLen() {
			return a, fmt.Errorf("%w %q: a VIP is a host address (/%d), not a /%d", ErrBadVIP, s, p.Addr().BitLen(), p.Bits())
		}
		a = p.Addr()
	} else {
		var err error
		if a, err = netip.ParseAddr(s); err != nil {
			return a, fmt.Errorf("%w %q: not an IP address", ErrBadVIP, s)
		}
	}
	if a.Zone() != "" {
		return a, fmt.Errorf("%w %q: zones are not allowed", ErrBadVIP, s)
	}
	a = a.Unmap()
	if err := checkVIP(a); err != nil {
		return a, fmt.Errorf("%w %q: %v", ErrBadVIP, s, err)
	}
	return a, nil
}

func checkVIP(a netip.Addr) error {
	switch {
	case !a.IsValid():
		return errors.New("invalid address")
	case a.IsUnspecified():
		return errors.New("unspecified address")
	case a.IsLoopback():
		return errors.New("loopback address")
	case a.IsMulticast():
		return errors.New("multicast address")
	case a.IsLinkLocalUnicast():
		return errors.New("link-local address")
	case a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return errors.New("broadcast address")
	}
	return nil
}

// Validate checks the configuration: at least one valid VIP, and only IPv4 VIPs with
// TUN (IPVS encapsulates IPv6 in ip6ip6, which this package does not set up).
func (c Config) Validate() error {
	if len(c.VIPs) == 0 {
		return fmt.Errorf("%w: no VIP given", ErrBadVIP)
	}
	if c.Mode != DR && c.Mode != TUN {
		return fmt.Errorf("unknown mode %d", c.Mode)
	}
	for _, a := range c.VIPs {
		if err := checkVIP(a); err != nil {
			return fmt.Errorf("%w %v: %v", ErrBadVIP, a, err)
		}
		if c.Mode == TUN && !a.Is4() {
			return fmt.Errorf("%w %v: TUN real servers are supported for IPv4 VIPs only", ErrBadVIP, a)
		}
	}
	return nil
}

// Sysctl keys, in the dotted form of sysctl(8).
func arpIgnore(dev string) string   { return "net.ipv4.conf." + dev + ".arp_ignore" }
func arpAnnounce(dev string) string { return "net.ipv4.conf." + dev + ".arp_announce" }
func rpFilter(dev string) string    { return "net.ipv4.conf." + dev + ".rp_filter" }

// arpDevices are the conf/<dev> entries whose ARP behaviour the mode manages.
func (c Config) arpDevices() []string {
	if c.Mode == TUN {
		return []string{"all", Loopback, Tunnel}
	}
	return []string{"all", Loopback}
}

// SysctlKeys returns every sysctl [PlanUp] and [PlanDown] look at, so that a
// [System] knows what to read.
func (c Config) SysctlKeys() []string {
	var keys []string
	for _, d := range c.arpDevices() {
		keys = append(keys, arpIgnore(d), arpAnnounce(d))
	}
	if c.Mode == TUN {
		keys = append(keys, rpFilter("all"), rpFilter(Tunnel))
	}
	return keys
}

// State is the part of the kernel state the planner needs.
type State struct {
	// TunnelExists and TunnelUp describe tunl0 (TUN mode only).
	TunnelExists, TunnelUp bool
	// Addrs are the addresses on the VIP device (lo, or tunl0 when it exists).
	Addrs []netip.Prefix
	// Sysctls holds the current values (trimmed) of [Config.SysctlKeys]; a missing
	// key does not exist (e.g. conf/tunl0 before tunl0 exists).
	Sysctls map[string]string
}

// Op is the kind of a [Change].
type Op uint8

// Change operations.
const (
	CreateTunnel Op = iota + 1
	LinkUp
	AddAddr
	DelAddr
	SetSysctl
)

// Change is one modification of the kernel state.
type Change struct {
	Op     Op
	Dev    string       // CreateTunnel, LinkUp, AddAddr, DelAddr
	Prefix netip.Prefix // AddAddr, DelAddr
	Key    string       // SetSysctl
	From   string       // SetSysctl: the value before
	To     string       // SetSysctl
}

func (c Change) String() string {
	switch c.Op {
	case CreateTunnel:
		return "created " + c.Dev
	case LinkUp:
		return "set " + c.Dev + " up"
	case AddAddr:
		return fmt.Sprintf("added %v to %s", c.Prefix, c.Dev)
	case DelAddr:
		return fmt.Sprintf("removed %v from %s", c.Prefix, c.Dev)
	case SetSysctl:
		return fmt.Sprintf("set %s=%s (was %s)", c.Key, c.To, c.From)
	}
	return fmt.Sprintf("change op %d", c.Op)
}

func hostPrefix(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

func findAddr(addrs []netip.Prefix, a netip.Addr) (netip.Prefix, bool) {
	for _, p := range addrs {
		if p.Addr() == a {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// PlanUp returns the changes that bring st to the configured real server, in the
// order to apply them: tunnel device, sysctls (before the VIPs appear, so the host
// never answers ARP for them), then addresses. It returns nothing when st is already
// configured. In TUN mode with no tunl0 yet it plans only CreateTunnel: the caller
// re-reads the state afterwards (conf/tunl0 appears with the device).
//
// DR: every VIP goes on lo as a host address (/32 or /128), and
// net.ipv4.conf.{all,lo}.arp_ignore=1 and arp_announce=2 stop the host from answering
// ARP for the VIP or using it as the source of its own ARP requests, so only the
// director owns the VIP on the segment. IPv6 needs no sysctl: Linux answers neighbour
// solicitations only for addresses of the receiving interface.
//
// TUN (IPv4 VIPs only): the ipip fallback device tunl0 is created if needed (adding a
// link of kind ipip loads the module, which creates tunl0 in every namespace),
// brought up, and carries the VIPs; arp_ignore/arp_announce are also set on tunl0,
// tunl0's rp_filter is set to 0, and all.rp_filter is lowered from 1 (strict) to 2
// (loose), because the kernel applies the larger of the "all" and the device value
// and decapsulated packets arrive on tunl0 from clients routed via another interface.
func PlanUp(c Config, st State) []Change {
	var out []Change
	if c.Mode == TUN {
		if !st.TunnelExists {
			return []Change{{Op: CreateTunnel, Dev: Tunnel}}
		}
	}
	set := func(key, want string) {
		if cur, ok := st.Sysctls[key]; ok && cur != want {
			out = append(out, Change{Op: SetSysctl, Key: key, From: cur, To: want})
		}
	}
	for _, d := range c.arpDevices() {
		set(arpIgnore(d), "1")
		set(arpAnnounce(d), "2")
	}
	if c.Mode == TUN {
		set(rpFilter(Tunnel), "0")
		if st.Sysctls[rpFilter("all")] == "1" {
			set(rpFilter("all"), "2")
		}
	}
	for _, a := range c.VIPs {
		if _, ok := findAddr(st.Addrs, a); !ok {
			out = append(out, Change{Op: AddAddr, Dev: c.Device(), Prefix: hostPrefix(a)})
		}
	}
	// lo is always up; tunl0 goes up last so that it never carries traffic before
	// its sysctls are set.
	if c.Mode == TUN && !st.TunnelUp {
		out = append(out, Change{Op: LinkUp, Dev: Tunnel})
	}
	return out
}

// PlanDown returns the changes that undo [PlanUp]: VIPs removed from the mode's
// device (with whatever prefix length they carry), arp_ignore and arp_announce back
// to 0, the kernel defaults. tunl0 and rp_filter are left alone (their previous
// values are not recorded).
func PlanDown(c Config, st State) []Change {
	var out []Change
	if c.Mode != TUN || st.TunnelExists {
		for _, a := range c.VIPs {
			if p, ok := findAddr(st.Addrs, a); ok {
				out = append(out, Change{Op: DelAddr, Dev: c.Device(), Prefix: p})
			}
		}
	}
	for _, d := range c.arpDevices() {
		for _, k := range []string{arpIgnore(d), arpAnnounce(d)} {
			if cur, ok := st.Sysctls[k]; ok && cur != "0" {
				out = append(out, Change{Op: SetSysctl, Key: k, From: cur, To: "0"})
			}
		}
	}
	return out
}

// System reads and changes the kernel state of one network namespace.
type System interface {
	// State reads the state relevant to c.
	State(c Config) (State, error)
	// Apply makes one change.
	Apply(ch Change) error
}

// Up configures the real server and returns the changes made (none: it already was).
// On error the changes made so far are returned with it.
func Up(sys System, c Config) ([]Change, error) {
	return run(sys, c, PlanUp)
}

// Down undoes [Up] and returns the changes made (none: nothing to undo).
func Down(sys System, c Config) ([]Change, error) {
	return run(sys, c, PlanDown)
}

func run(sys System, c Config, plan func(Config, State) []Change) ([]Change, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var done []Change
	// At most two rounds: creating tunl0 makes its sysctls appear.
	for range 2 {
		st, err := sys.State(c)
		if err != nil {
			return done, err
		}
		chs := plan(c, st)
		if len(chs) == 0 {
			return done, nil
		}
		again := false
		for _, ch := range chs {
			if err := sys.Apply(ch); err != nil {
				return done, fmt.Errorf("%v: %w", ch, err)
			}
			done = append(done, ch)
			again = again || ch.Op == CreateTunnel
		}
		if !again {
			return done, nil
		}
	}
	return done, fmt.Errorf("%s still not ready after creating it", Tunnel)
}

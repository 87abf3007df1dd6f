package iproute

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalid marks a Route or Rule that cannot be applied as given.
var ErrInvalid = errors.New("invalid route or rule")

// Well-known numbers (linux/rtnetlink.h, fib_rules.h).
const (
	TableMain       = 254
	ProtoKeepalived = 18 // RTPROT_KEEPALIVED: keepalived's routes and rules, and lvs-ha's
	ScopeUniverse   = 0
	ScopeNowhere    = 255
)

// Type is a route type (RTN_*).
type Type uint8

// Route types keepalived's routes take.
const (
	Unicast     Type = 1
	Blackhole   Type = 6
	Unreachable Type = 7
	Prohibit    Type = 8
	Throw       Type = 9
)

var typeNames = map[Type]string{Unicast: "unicast", Blackhole: "blackhole", Unreachable: "unreachable", Prohibit: "prohibit", Throw: "throw"}

// ParseType parses a route type name (iproute2's rtntype names this
// package supports).
func ParseType(s string) (Type, bool) {
	for t, n := range typeNames {
		if n == s {
			return t, true
		}
	}
	return 0, false
}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return strconv.Itoa(int(t))
}

// Route is one route. The zero values of the optional fields mean what they
// mean to keepalived: type unicast, table main, scope universe, protocol
// keepalived, metric 0.
type Route struct {
	Dst      netip.Prefix // required, masked
	Type     Type         // 0: unicast
	Src      netip.Addr   // preferred source address (src)
	Via      netip.Addr   // gateway (via, gw)
	Dev      string       // output device (dev, oif)
	Table    uint32       // 0: main
	Metric   uint32       // metric, priority, preference
	Scope    uint8        // scope (0: universe)
	Protocol uint8        // 0: keepalived (18)
	OnLink   bool
	// Nexthops make a multipath route (keepalived's nexthop and "or");
	// Via and Dev are then unset.
	Nexthops []Nexthop
}

// Nexthop is one path of a multipath route.
type Nexthop struct {
	Via    netip.Addr
	Dev    string
	Weight int // 1-256; 0 means 1
	OnLink bool
}

// Equal reports whether r and o are the same route.
func (r Route) Equal(o Route) bool {
	n1, n2 := r.Nexthops, o.Nexthops
	r.Nexthops, o.Nexthops = nil, nil
	return reflect.DeepEqual(r, o) && slices.Equal(n1, n2)
}

// Validate reports whether r can be applied.
func (r Route) Validate() error {
	bad := func(f string, a ...any) error {
		return fmt.Errorf("%w: route %s: %s", ErrInvalid, r, fmt.Sprintf(f, a...))
	}
	if !r.Dst.IsValid() {
		return bad("no destination")
	}
	fam := r.Dst.Addr().Is4()
	addrs := []netip.Addr{r.Src, r.Via}
	for _, nh := range r.Nexthops {
		if !nh.Via.IsValid() && nh.Dev == "" {
			return bad("a nexthop without via or dev")
		}
		if nh.Weight < 0 || nh.Weight > 256 {
			return bad("nexthop weight %d out of [1, 256]", nh.Weight)
		}
		addrs = append(addrs, nh.Via)
	}
	if len(r.Nexthops) > 0 && (r.Via.IsValid() || r.Dev != "") {
		return bad("via or dev with nexthops")
	}
	for _, a := range addrs {
		if a.IsValid() && a.Is4() != fam {
			return bad("mixes IPv4 and IPv6")
		}
	}
	if t := r.typ(); t != Unicast && (r.Via.IsValid() || len(r.Nexthops) > 0) {
		return bad("a %s route has no gateway", t)
	}
	return nil
}

func (r Route) typ() Type {
	if r.Type == 0 {
		return Unicast
	}
	return r.Type
}

func (r Route) table() uint32 {
	if r.Table == 0 {
		return TableMain
	}
	return r.Table
}

func (r Route) protocol() uint8 {
	if r.Protocol == 0 {
		return ProtoKeepalived
	}
	return r.Protocol
}

// String is the route as `ip route` would take it.
func (r Route) String() string {
	var b strings.Builder
	if t := r.typ(); t != Unicast {
		b.WriteString(t.String() + " ")
	}
	b.WriteString(r.Dst.String())
	if r.Via.IsValid() {
		b.WriteString(" via " + r.Via.String())
	}
	if r.Dev != "" {
		b.WriteString(" dev " + r.Dev)
	}
	if r.Src.IsValid() {
		b.WriteString(" src " + r.Src.String())
	}
	if t := r.table(); t != TableMain {
		fmt.Fprintf(&b, " table %d", t)
	}
	if r.Metric != 0 {
		fmt.Fprintf(&b, " metric %d", r.Metric)
	}
	if r.Scope != ScopeUniverse {
		fmt.Fprintf(&b, " scope %d", r.Scope)
	}
	fmt.Fprintf(&b, " proto %d", r.protocol())
	if r.OnLink {
		b.WriteString(" onlink")
	}
	for _, nh := range r.Nexthops {
		b.WriteString(" nexthop")
		if nh.Via.IsValid() {
			b.WriteString(" via " + nh.Via.String())
		}
		if nh.Dev != "" {
			b.WriteString(" dev " + nh.Dev)
		}
		if nh.Weight > 1 {
			fmt.Fprintf(&b, " weight %d", nh.Weight)
		}
		if nh.OnLink {
			b.WriteString(" onlink")
		}
	}
	return b.String()
}

// Action is what a rule does (FR_ACT_*).
type Action uint8

// Rule actions.
const (
	ToTable      Action = 1 // table / lookup
	Goto         Action = 2
	Nop          Action = 3
	BlackholeA   Action = 6
	UnreachableA Action = 7
	ProhibitA    Action = 8
)

var actionNames = map[Action]string{ToTable: "lookup", Goto: "goto", Nop: "nop", BlackholeA: "blackhole", UnreachableA: "unreachable", ProhibitA: "prohibit"}

func (a Action) String() string {
	if n, ok := actionNames[a]; ok {
		return n
	}
	return strconv.Itoa(int(a))
}

// PortRange is a sport or dport selector; Start 0 means none.
type PortRange struct{ Start, End uint16 }

// Rule is one policy routing rule.
type Rule struct {
	IPv6                 bool         // family when From and To are unset (inet6)
	From, To             netip.Prefix // selectors; zero: all
	Invert               bool         // not
	Priority             uint32       // preference, order, priority
	HasPriority          bool         // Priority is set (else the kernel picks one)
	Fwmark               uint32
	Fwmask               uint32
	HasFwmark            bool
	HasFwmask            bool
	Tos                  uint8
	IIf, OIf             string // iif (dev), oif
	IPProto              uint8  // ipproto
	Sport, Dport         PortRange
	SuppressPrefixLen    uint8 // suppress_prefixlength, when HasSuppressPrefixLen
	HasSuppressPrefixLen bool
	Action               Action
	Table                uint32 // ToTable
	GotoTarget           uint32 // Goto
	Protocol             uint8  // 0: keepalived (18)
}

// Family is the rule's address family (unix.AF_INET or AF_INET6).
func (r Rule) Family() int {
	switch {
	case r.From.IsValid():
		return famOf(r.From.Addr())
	case r.To.IsValid():
		return famOf(r.To.Addr())
	case r.IPv6:
		return 10
	}
	return 2
}

func famOf(a netip.Addr) int {
	if a.Is4() {
		return 2
	}
	return 10
}

func (r Rule) protocol() uint8 {
	if r.Protocol == 0 {
		return ProtoKeepalived
	}
	return r.Protocol
}

// Validate reports whether r can be applied.
func (r Rule) Validate() error {
	bad := func(f string, a ...any) error {
		return fmt.Errorf("%w: rule %s: %s", ErrInvalid, r, fmt.Sprintf(f, a...))
	}
	if r.From.IsValid() && r.To.IsValid() && r.From.Addr().Is4() != r.To.Addr().Is4() {
		return bad("mixes IPv4 and IPv6")
	}
	switch r.Action {
	case ToTable:
		if r.Table == 0 {
			return bad("table 0")
		}
	case Goto:
		if !r.HasPriority || r.Priority >= r.GotoTarget {
			return bad("goto needs a preference below its target")
		}
	case Nop, BlackholeA, UnreachableA, ProhibitA:
	default:
		return bad("no action")
	}
	return nil
}

// String is the rule as `ip rule` would take it.
func (r Rule) String() string {
	var b strings.Builder
	if r.Family() == 10 {
		b.WriteString("-6 ")
	}
	if r.HasPriority {
		fmt.Fprintf(&b, "pref %d ", r.Priority)
	}
	if r.Invert {
		b.WriteString("not ")
	}
	from := "all"
	if r.From.IsValid() {
		from = r.From.String()
	}
	b.WriteString("from " + from)
	if r.To.IsValid() {
		b.WriteString(" to " + r.To.String())
	}
	if r.Tos != 0 {
		fmt.Fprintf(&b, " tos %#x", r.Tos)
	}
	if r.HasFwmark {
		fmt.Fprintf(&b, " fwmark %#x", r.Fwmark)
		if r.HasFwmask {
			fmt.Fprintf(&b, "/%#x", r.Fwmask)
		}
	}
	if r.IIf != "" {
		b.WriteString(" iif " + r.IIf)
	}
	if r.OIf != "" {
		b.WriteString(" oif " + r.OIf)
	}
	if r.IPProto != 0 {
		fmt.Fprintf(&b, " ipproto %d", r.IPProto)
	}
	for _, p := range []struct {
		n string
		r PortRange
	}{{"sport", r.Sport}, {"dport", r.Dport}} {
		if p.r.Start != 0 {
			fmt.Fprintf(&b, " %s %d", p.n, p.r.Start)
			if p.r.End != p.r.Start {
				fmt.Fprintf(&b, "-%d", p.r.End)
			}
		}
	}
	switch r.Action {
	case ToTable:
		fmt.Fprintf(&b, " lookup %d", r.Table)
	case Goto:
		fmt.Fprintf(&b, " goto %d", r.GotoTarget)
	default:
		b.WriteString(" " + r.Action.String())
	}
	if r.HasSuppressPrefixLen && r.Action == ToTable {
		fmt.Fprintf(&b, " suppress_prefixlength %d", r.SuppressPrefixLen)
	}
	fmt.Fprintf(&b, " proto %d", r.protocol())
	return b.String()
}

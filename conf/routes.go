package conf

import (
	"maps"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
)

// Route is one static_routes or virtual_routes entry, in keepalived's
// syntax: [src ADDR] [to] [TYPE] PREFIX [via|gw ADDR] [dev IF] [table T]
// [metric N] [scope S] [protocol P] [onlink] [no_track] ... Names are
// resolved: Type is iproute2's name ("" for unicast), Table, Scope and
// Protocol numbers.
type Route struct {
	Dst      netip.Prefix `json:"to"`
	Type     string       `json:"type,omitempty"` // blackhole, unreachable, prohibit, throw; "": unicast
	Src      netip.Addr   `json:"src,omitzero"`
	Via      netip.Addr   `json:"via,omitzero"`
	Dev      string       `json:"dev,omitempty"`
	Table    uint32       `json:"table,omitempty"` // 0: main (254)
	Metric   uint32       `json:"metric,omitempty"`
	Scope    uint8        `json:"scope,omitempty"`    // 0: universe (keepalived's default)
	Protocol uint8        `json:"protocol,omitempty"` // 0: keepalived (18)
	OnLink   bool         `json:"onlink,omitempty"`
	NoTrack  bool         `json:"no_track,omitempty"`
	// Nexthops make a multipath route: nexthop [via ADDR] [dev IF]
	// [weight N] [onlink] ..., or keepalived's older "via A or B".
	Nexthops []Nexthop  `json:"nexthops,omitempty"`
	Pos      syntax.Pos `json:"pos"`
}

// Nexthop is one path of a multipath route.
type Nexthop struct {
	Via    netip.Addr `json:"via,omitzero"`
	Dev    string     `json:"dev,omitempty"`
	Weight int        `json:"weight,omitempty"` // 1-256; 0: 1
	OnLink bool       `json:"onlink,omitempty"`
}

// Rule is one static_rules or virtual_rules entry, in keepalived's syntax:
// [inet|inet6] [from PREFIX] [to PREFIX] [not] [preference N] [fwmark
// M[/MASK]] [tos T] [iif IF] [oif IF] [ipproto P] [sport N[-M]] [dport
// N[-M]] [protocol P] ACTION, ACTION one of table|lookup T
// [suppress_prefixlength N], goto N, nop, blackhole, unreachable, prohibit.
type Rule struct {
	IPv6              bool         `json:"inet6,omitempty"`
	From              netip.Prefix `json:"from,omitzero"`
	To                netip.Prefix `json:"to,omitzero"`
	Not               bool         `json:"not,omitempty"`
	Priority          *uint32      `json:"preference,omitempty"`
	Fwmark            *uint32      `json:"fwmark,omitempty"`
	Fwmask            *uint32      `json:"fwmask,omitempty"`
	Tos               uint8        `json:"tos,omitempty"`
	IIf               string       `json:"iif,omitempty"`
	OIf               string       `json:"oif,omitempty"`
	IPProto           uint8        `json:"ipproto,omitempty"`
	Sport             [2]uint16    `json:"sport,omitzero"`
	Dport             [2]uint16    `json:"dport,omitzero"`
	Action            string       `json:"action"` // table, goto, nop, blackhole, unreachable, prohibit
	Table             uint32       `json:"table,omitempty"`
	Goto              uint32       `json:"goto,omitempty"`
	SuppressPrefixLen *uint8       `json:"suppress_prefixlength,omitempty"`
	Protocol          uint8        `json:"protocol,omitempty"` // 0: keepalived (18)
	NoTrack           bool         `json:"no_track,omitempty"`
	Pos               syntax.Pos   `json:"pos"`
}

// iproute2's names (/etc/iproute2/rt_tables, rt_scopes, rt_protos,
// rtntype), the ones every system has.
var (
	rtTables = map[string]uint32{"default": 253, "main": 254, "local": 255}
	rtScopes = map[string]uint8{"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
	rtProtos = map[string]uint8{
		"unspec": 0, "redirect": 1, "kernel": 2, "boot": 3, "static": 4, "gated": 8, "ra": 9, "mrt": 10,
		"zebra": 11, "bird": 12, "dnrouted": 13, "xorp": 14, "ntk": 15, "dhcp": 16, "keepalived": 18,
		"babel": 42, "bgp": 186, "isis": 187, "ospf": 188, "rip": 189, "eigrp": 192,
	}
	rtTypes = []string{"unicast", "blackhole", "unreachable", "prohibit", "throw"}
	// keepalived route options lvs-ha does not apply, each with its number
	// of arguments (the metrics' optional "lock" is skipped as well).
	routeIgnored = map[string]int{
		"tos": 1, "dsfield": 1, "mtu": 1, "hoplimit": 1, "advmss": 1, "rtt": 1, "rttvar": 1, "reordering": 1,
		"window": 1, "cwnd": 1, "ssthresh": 1, "realms": 1, "rto_min": 1, "initcwnd": 1, "initrwnd": 1,
		"features": 1, "quickack": 1, "congctl": 1, "pref": 1, "ttl-propagate": 1, "fastopen_no_cookie": 1,
		"expires": 1, "track_group": 1, "add": 0, "prepend": 0, "append": 0,
	}
	// ruleIgnored: the same for rules.
	ruleIgnored = map[string]int{
		"realms": 1, "suppress_ifgroup": 1, "sup_group": 1, "tunnel-id": 1, "uidrange": 1, "l3mdev": 0, "track_group": 1,
	}
)

// rtTablesFiles are iproute2's table names files (keepalived reads the
// one in /etc; newer iproute2 ships its defaults in /usr/share), the later
// overriding the earlier.
var rtTablesFiles = []string{"/usr/share/iproute2/rt_tables", "/etc/iproute2/rt_tables"}

// routeTables returns the table names: rtTables and those of
// rtTablesFiles ("NUMBER NAME" lines, # comments) that exist.
func routeTables() map[string]uint32 {
	m := maps.Clone(rtTables)
	for _, f := range rtTablesFiles {
		b, err := os.ReadFile(f)
		if err == nil {
			addTableNames(m, string(b))
		}
	}
	return m
}

func addTableNames(m map[string]uint32, text string) {
	for _, line := range strings.Split(text, "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if id, err := strconv.ParseUint(f[0], 0, 32); err == nil {
			m[f[1]] = uint32(id)
		}
	}
}

// namedNumber parses a name from names or a number up to max (iproute2 also
// takes hex).
func namedNumber[T uint8 | uint32](w syntax.Word, names map[string]T, max uint64) (T, bool) {
	if v, ok := names[w.Text]; ok {
		return v, true
	}
	v, err := strconv.ParseUint(w.Text, 0, 64)
	if err != nil || v > max {
		return 0, false
	}
	return T(v), true
}

// prefix parses ADDR[/LEN]; without a length it is a host route.
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Addr().Zone() != "" {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// words is a route or rule line as a cursor.
type words struct {
	l    *loader
	ws   []syntax.Word
	i    int
	what string // "route", "rule"
}

// bad reports a problem with the entry, which is skipped: keepalived
// reports it and runs without the entry, and so does lvs-ha.
func (w *words) bad(pos syntax.Pos, format string, args ...any) {
	w.l.warnf(pos, format+" - "+w.what+" skipped", args...)
}

func (w *words) uint(v syntax.Word, what string, min, max uint64) (uint64, bool) {
	x, err := strconv.ParseUint(v.Text, 10, 64)
	if err != nil || x < min || x > max {
		w.bad(v.Pos, "invalid %s %q: want an integer in [%d, %d]", what, v.Text, min, max)
		return 0, false
	}
	return x, true
}

func (w *words) next() (syntax.Word, bool) {
	if w.i+1 >= len(w.ws) {
		w.bad(w.ws[w.i].Pos, "%s option %q needs a value", w.what, w.ws[w.i].Text)
		return syntax.Word{}, false
	}
	w.i++
	return w.ws[w.i], true
}

// family checks that a is of the family seen so far (fam: 0 none, 4, 6).
func (w *words) family(fam *int, a netip.Addr, at syntax.Word) bool {
	f := 6
	if a.Is4() {
		f = 4
	}
	if *fam != 0 && *fam != f {
		w.bad(at.Pos, "cannot mix IPv4 and IPv6 addresses in %s (%s)", w.what, at.Text)
		return false
	}
	*fam = f
	return true
}

// inet checks that an explicit inet or inet6 word agrees with the family
// seen so far (fam as in family) and sets it.
func (w *words) inet(fam *int, at syntax.Word) bool {
	f := map[string]int{"inet": 4, "inet6": 6}[at.Text]
	if *fam != 0 && *fam != f {
		w.bad(at.Pos, "%s given for an IPv%d %s", at.Text, *fam, w.what)
		return false
	}
	*fam = f
	return true
}

// route parses one route line (keepalived's alloc_route); nil after an
// error, reported at its word.
func (l *loader) route(c *syntax.Node) *Route {
	w := &words{l: l, ws: append([]syntax.Word{c.Keyword}, c.Args...), what: "route"}
	r := &Route{Pos: c.Keyword.Pos}
	fam := 0
	dflt := false
	addr := func(what string) (netip.Addr, bool) {
		v, ok := w.next()
		if !ok {
			return netip.Addr{}, false
		}
		if v.Text == "inet" || v.Text == "inet6" {
			if v, ok = w.next(); !ok {
				return netip.Addr{}, false
			}
		}
		a, err := netip.ParseAddr(v.Text)
		if err != nil || a.Zone() != "" {
			w.bad(v.Pos, "invalid route %s address %q", what, v.Text)
			return netip.Addr{}, false
		}
		a = a.Unmap()
		return a, w.family(&fam, a, v)
	}
	for ; w.i < len(w.ws); w.i++ {
		cur := w.ws[w.i]
		switch s := cur.Text; s {
		case "inet", "inet6":
			if !w.inet(&fam, cur) {
				return nil
			}
		case "src":
			a, ok := addr("src")
			if !ok {
				return nil
			}
			r.Src = a
		case "via", "gw":
			if s == "gw" {
				l.warnf(cur.Pos, `"gw" for routes is deprecated. Please use "via"`)
			}
			a, ok := addr("via")
			if !ok {
				return nil
			}
			r.Via = a
		case "table":
			v, ok := w.next()
			if !ok {
				return nil
			}
			t, ok := namedNumber(v, routeTables(), 1<<32-1)
			if !ok {
				w.bad(v.Pos, "routing table %q not found for route", v.Text)
				return nil
			}
			r.Table = t
		case "protocol", "proto":
			v, ok := w.next()
			if !ok {
				return nil
			}
			p, ok := namedNumber(v, rtProtos, 255)
			if !ok {
				w.bad(v.Pos, "protocol %q not found or invalid for route", v.Text)
				return nil
			}
			r.Protocol = p
		case "scope":
			v, ok := w.next()
			if !ok {
				return nil
			}
			sc, ok := namedNumber(v, rtScopes, 255)
			if !ok {
				w.bad(v.Pos, "scope %q not found or invalid for route", v.Text)
				return nil
			}
			r.Scope = sc
		case "metric", "priority", "preference":
			v, ok := w.next()
			if !ok {
				return nil
			}
			m, ok := w.uint(v, "route metric", 0, 1<<32-1)
			if !ok {
				return nil
			}
			r.Metric = uint32(m)
		case "dev", "oif":
			v, ok := w.next()
			if !ok {
				return nil
			}
			if len(v.Text) >= 16 || strings.ContainsAny(v.Text, "/ ") {
				w.bad(v.Pos, "invalid interface name %q", v.Text)
				return nil
			}
			r.Dev = v.Text
		case "onlink":
			r.OnLink = true
		case "no_track":
			r.NoTrack = true
		case "or":
			// keepalived's deprecated "via A or B": two nexthops.
			l.warnf(cur.Pos, `"or" for routes is deprecated. Please use "nexthop"`)
			if len(r.Nexthops) > 0 || !r.Via.IsValid() {
				w.bad(cur.Pos, `"or" needs one "via" before it`)
				return nil
			}
			a, ok := addr("or")
			if !ok {
				return nil
			}
			r.Nexthops = []Nexthop{{Via: r.Via}, {Via: a}}
			r.Via = netip.Addr{}
		case "nexthop":
			if len(r.Nexthops) > 0 {
				w.bad(cur.Pos, `cannot specify nexthops with an "or" route`)
				return nil
			}
			if !w.nexthops(r, &fam) {
				return nil
			}
		case "encap", "as", "vrf", "from":
			w.bad(cur.Pos, "route option %q is not supported by lvs-ha", s)
			return nil
		default:
			if n, ok := routeIgnored[s]; ok {
				l.warnf(cur.Pos, "route option %q is not supported by lvs-ha (ignored)", s)
				for range n {
					v, ok := w.next()
					if !ok {
						return nil
					}
					if v.Text == "lock" && w.i+1 < len(w.ws) {
						w.i++
					}
				}
				continue
			}
			if s == "to" {
				if _, ok := w.next(); !ok {
					return nil
				}
				cur = w.ws[w.i]
			}
			if slices.Contains(rtTypes, cur.Text) {
				t := cur.Text
				if _, ok := w.next(); !ok {
					return nil
				}
				cur = w.ws[w.i]
				if t != "unicast" {
					r.Type = t
				}
			}
			p, ok := parsePrefix(cur.Text)
			switch cur.Text {
			case "default", "any", "all", "default6":
				// keepalived's specials: the default route of the
				// route's family (IPv4 unless something says otherwise).
				p, ok = netip.Prefix{}, true
				if cur.Text == "default6" {
					fam = 6
				}
				dflt = true
			}
			if !ok {
				w.bad(cur.Pos, "unknown route option or invalid destination %q", cur.Text)
				return nil
			}
			if p.IsValid() && !w.family(&fam, p.Addr(), cur) {
				return nil
			}
			if r.Dst.IsValid() {
				w.bad(cur.Pos, "route has two destinations (%s and %s)", r.Dst, p)
				return nil
			}
			r.Dst = p
		}
	}
	if dflt && !r.Dst.IsValid() {
		r.Dst = netip.MustParsePrefix("0.0.0.0/0")
		if fam == 6 {
			r.Dst = netip.MustParsePrefix("::/0")
		}
	}
	if !r.Dst.IsValid() {
		w.bad(c.Keyword.Pos, "route must have a destination")
		return nil
	}
	if len(r.Nexthops) > 0 && (r.Via.IsValid() || r.Dev != "") {
		w.bad(c.Keyword.Pos, "a route with nexthops takes via and dev in its nexthops")
		return nil
	}
	if r.Type != "" && (r.Via.IsValid() || len(r.Nexthops) > 0) {
		w.bad(c.Keyword.Pos, "a %s route cannot have a gateway (via)", r.Type)
		return nil
	}
	return r
}

// nexthops parses the nexthop clauses that end a route line (keepalived's
// parse_nexthops), from the first "nexthop" at w.i to the end.
func (w *words) nexthops(r *Route, fam *int) bool {
	for w.i < len(w.ws) {
		if w.ws[w.i].Text != "nexthop" {
			w.bad(w.ws[w.i].Pos, "route has trailing nonsense after nexthops - %s", w.ws[w.i].Text)
			return false
		}
		nh := Nexthop{}
		w.i++
	opts:
		for ; w.i < len(w.ws); w.i++ {
			cur := w.ws[w.i]
			switch cur.Text {
			case "via":
				v, ok := w.next()
				if !ok {
					return false
				}
				if v.Text == "inet" || v.Text == "inet6" {
					if v, ok = w.next(); !ok {
						return false
					}
				}
				a, err := netip.ParseAddr(v.Text)
				if err != nil || a.Zone() != "" {
					w.bad(v.Pos, "invalid nexthop address %q", v.Text)
					return false
				}
				if !w.family(fam, a.Unmap(), v) {
					return false
				}
				nh.Via = a.Unmap()
			case "dev":
				v, ok := w.next()
				if !ok {
					return false
				}
				if len(v.Text) >= 16 || strings.ContainsAny(v.Text, "/ ") {
					w.bad(v.Pos, "invalid interface name %q", v.Text)
					return false
				}
				nh.Dev = v.Text
			case "weight":
				v, ok := w.next()
				if !ok {
					return false
				}
				x, ok := w.uint(v, "nexthop weight", 1, 256)
				if !ok {
					return false
				}
				nh.Weight = int(x)
			case "onlink":
				nh.OnLink = true
			case "realms":
				w.l.warnf(cur.Pos, "nexthop option %q is not supported by lvs-ha (ignored)", cur.Text)
				w.i++
			case "encap", "as":
				w.bad(cur.Pos, "nexthop option %q is not supported by lvs-ha", cur.Text)
				return false
			default:
				break opts
			}
		}
		if !nh.Via.IsValid() && nh.Dev == "" {
			w.bad(w.ws[w.i-1].Pos, "nexthop needs via or dev")
			return false
		}
		r.Nexthops = append(r.Nexthops, nh)
	}
	return true
}

// rule parses one rule line (keepalived's alloc_rule); nil after an error.
func (l *loader) rule(c *syntax.Node) *Rule {
	w := &words{l: l, ws: append([]syntax.Word{c.Keyword}, c.Args...), what: "rule"}
	r := &Rule{Pos: c.Keyword.Pos}
	fam := 0
	action := func(a string, at syntax.Word) bool {
		if r.Action != "" {
			w.bad(at.Pos, "cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule")
			return false
		}
		r.Action = a
		return true
	}
	u32 := func(what string) (uint32, bool) {
		v, ok := w.next()
		if !ok {
			return 0, false
		}
		x, ok := w.uint(v, what, 0, 1<<32-1)
		return uint32(x), ok
	}
	ports := func(what string) ([2]uint16, bool) {
		v, ok := w.next()
		if !ok {
			return [2]uint16{}, false
		}
		a, b, rng := strings.Cut(v.Text, "-")
		lo, err1 := strconv.ParseUint(a, 10, 16)
		hi, err2 := lo, error(nil)
		if rng {
			hi, err2 = strconv.ParseUint(b, 10, 16)
		}
		if err1 != nil || err2 != nil || lo == 0 || hi < lo {
			w.bad(v.Pos, "invalid rule %s %q: want PORT or PORT-PORT", what, v.Text)
			return [2]uint16{}, false
		}
		return [2]uint16{uint16(lo), uint16(hi)}, true
	}
	for ; w.i < len(w.ws); w.i++ {
		cur := w.ws[w.i]
		switch s := cur.Text; s {
		case "inet", "inet6":
			if !w.inet(&fam, cur) {
				return nil
			}
		case "from", "to":
			v, ok := w.next()
			if !ok {
				return nil
			}
			p, ok := parsePrefix(v.Text)
			if v.Text == "all" || v.Text == "any" || v.Text == "default" {
				continue
			}
			if !ok {
				w.bad(v.Pos, "invalid rule %s address %q", s, v.Text)
				return nil
			}
			if !w.family(&fam, p.Addr(), v) {
				return nil
			}
			if s == "from" {
				r.From = p
			} else {
				r.To = p
			}
		case "table", "lookup":
			v, ok := w.next()
			if !ok {
				return nil
			}
			t, ok := namedNumber(v, routeTables(), 1<<32-1)
			if !ok {
				w.bad(v.Pos, "routing table %q not found for rule", v.Text)
				return nil
			}
			if t == 0 {
				w.bad(v.Pos, "table 0 is not valid")
				return nil
			}
			if !action("table", cur) {
				return nil
			}
			r.Table = t
		case "not":
			r.Not = true
		case "preference", "order", "priority", "pref":
			p, ok := u32("rule preference")
			if !ok {
				return nil
			}
			r.Priority = &p
		case "tos", "dsfield":
			v, ok := w.next()
			if !ok {
				return nil
			}
			t, err := strconv.ParseUint(v.Text, 0, 8)
			if err != nil {
				w.bad(v.Pos, "TOS value %q is invalid", v.Text)
				return nil
			}
			r.Tos = uint8(t)
		case "fwmark":
			v, ok := w.next()
			if !ok {
				return nil
			}
			m, mask, hasMask := strings.Cut(v.Text, "/")
			mv, err := strconv.ParseUint(m, 0, 32)
			var kv uint64
			if err == nil && hasMask {
				kv, err = strconv.ParseUint(mask, 0, 32)
			}
			if err != nil {
				w.bad(v.Pos, "invalid rule fwmark %q", v.Text)
				return nil
			}
			mark := uint32(mv)
			r.Fwmark = &mark
			if hasMask {
				k := uint32(kv)
				r.Fwmask = &k
			}
		case "dev", "iif", "oif":
			v, ok := w.next()
			if !ok {
				return nil
			}
			if len(v.Text) >= 16 || strings.ContainsAny(v.Text, "/ ") {
				w.bad(v.Pos, "invalid interface name %q", v.Text)
				return nil
			}
			if s == "oif" {
				r.OIf = v.Text
			} else {
				r.IIf = v.Text
			}
		case "ipproto":
			v, ok := w.next()
			if !ok {
				return nil
			}
			p, ok := namedNumber(v, map[string]uint8{"tcp": 6, "udp": 17, "icmp": 1, "sctp": 132, "ipv6-icmp": 58}, 255)
			if !ok {
				w.bad(v.Pos, "invalid rule ipproto %q", v.Text)
				return nil
			}
			r.IPProto = p
		case "sport", "dport":
			p, ok := ports(s)
			if !ok {
				return nil
			}
			if s == "sport" {
				r.Sport = p
			} else {
				r.Dport = p
			}
		case "suppress_prefixlength", "sup_pl":
			v, ok := w.next()
			if !ok {
				return nil
			}
			x, ok := w.uint(v, "rule suppress_prefixlength", 0, 128)
			if !ok {
				return nil
			}
			n := uint8(x)
			r.SuppressPrefixLen = &n
		case "protocol":
			v, ok := w.next()
			if !ok {
				return nil
			}
			p, ok := namedNumber(v, rtProtos, 255)
			if !ok {
				w.bad(v.Pos, "protocol %q not found or invalid for rule", v.Text)
				return nil
			}
			r.Protocol = p
		case "no_track":
			r.NoTrack = true
		case "type", "goto", "nop", "blackhole", "unreachable", "prohibit":
			if s == "type" {
				if _, ok := w.next(); !ok {
					return nil
				}
				cur = w.ws[w.i]
				s = cur.Text
			}
			switch s {
			case "goto":
				t, ok := u32("rule goto target")
				if !ok {
					return nil
				}
				r.Goto = t
			case "nop", "blackhole", "unreachable", "prohibit":
			default:
				w.bad(cur.Pos, "invalid rule action %q", s)
				return nil
			}
			if !action(s, cur) {
				return nil
			}
		default:
			if n, ok := ruleIgnored[s]; ok {
				l.warnf(cur.Pos, "rule option %q is not supported by lvs-ha (ignored)", s)
				w.i += n
				continue
			}
			w.bad(cur.Pos, "unknown rule option %q", s)
			return nil
		}
	}
	switch {
	case r.Action == "":
		w.bad(c.Keyword.Pos, "no action specified for rule (table, goto, nop, blackhole, unreachable or prohibit)")
		return nil
	case r.Action == "goto" && (r.Priority == nil || *r.Priority >= r.Goto):
		w.bad(c.Keyword.Pos, "invalid rule: goto %d needs a preference below it", r.Goto)
		return nil
	case r.SuppressPrefixLen != nil && r.Action != "table":
		w.bad(c.Keyword.Pos, "suppress_prefixlength given for a rule that is not a table lookup")
		return nil
	}
	r.IPv6 = fam == 6
	if r.Priority == nil {
		// keepalived numbers such rules down from 16384 per family.
		next := &l.nextRulePrio4
		if r.IPv6 {
			next = &l.nextRulePrio6
		}
		if *next == 0 {
			*next = 16384
		}
		p := *next
		*next--
		r.Priority = &p
		l.warnf(c.Keyword.Pos, "rule has no preference specified - setting to %d. This is probably not what you want.", p)
	}
	return r
}

// routeBlock and ruleBlock parse a static_/virtual_ routes or rules block.
func (l *loader) routeBlock(n *syntax.Node) []*Route { return entryBlock(l, n, l.route) }

func (l *loader) ruleBlock(n *syntax.Node) []*Rule { return entryBlock(l, n, l.rule) }

// entryBlock parses a block of one entry per line; entry returns nil for a
// line it skipped (with its located warning).
func entryBlock[T any](l *loader, n *syntax.Node, entry func(*syntax.Node) *T) []*T {
	l.nargs(n, 0, 0)
	var out []*T
	l.valueLines(n, func(c *syntax.Node) {
		if r := entry(c); r != nil {
			out = append(out, r)
		}
	})
	return out
}

package doctor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/lvs-ha/lvs-ha/conf"
)

// ruleset is the part of `nft -j list ruleset` the checks walk.
type ruleset struct {
	chains map[string]*chain // family/table/name
	base   []*chain          // filter/nat base chains on input and prerouting, in order
	ct     bool              // some rule matches on conntrack state
}

type chain struct {
	Family, Table, Name, Hook, Policy string
	Prio                              int
	rules                             []rule
	tool                              string // "iptables-legacy", "ip6tables-legacy"; "" for nft
}

type rule struct {
	Handle int
	Expr   []map[string]json.RawMessage
}

func (c *chain) id() string { return c.Family + "/" + c.Table + "/" + c.Name }

// name is how the messages name the chain: "inet/f/input" for nft,
// "iptables-legacy filter INPUT" for x_tables.
func (c *chain) name() string {
	if c.tool != "" {
		return c.tool + " " + c.Table + " " + c.Name
	}
	return c.id()
}

// ruleName names rule r of c: nft's handle, x_tables' rule number.
func (c *chain) ruleName(r int) string {
	if c.tool != "" {
		return fmt.Sprintf("rule %d", r)
	}
	return fmt.Sprintf("rule handle %d", r)
}

func parseRuleset(b []byte) (*ruleset, error) {
	var doc struct {
		Nftables []struct {
			Chain *chain `json:"chain"`
			Rule  *struct {
				Family, Table, Chain string
				Handle               int
				Expr                 []map[string]json.RawMessage
			} `json:"rule"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("nft -j list ruleset: %w", err)
	}
	rs := newRuleset()
	for _, o := range doc.Nftables {
		switch {
		case o.Chain != nil:
			c := o.Chain
			rs.chains[c.id()] = c
			if (c.Hook == "input" || c.Hook == "prerouting") && c.Family != "netdev" && c.Family != "arp" && c.Family != "bridge" {
				rs.base = append(rs.base, c)
			}
		case o.Rule != nil:
			r := o.Rule
			c := rs.chains[r.Family+"/"+r.Table+"/"+r.Chain]
			if c == nil {
				continue
			}
			c.rules = append(c.rules, rule{Handle: r.Handle, Expr: r.Expr})
			for _, e := range r.Expr {
				if m, ok := e["match"]; ok && bytes.Contains(m, []byte(`"ct"`)) {
					rs.ct = true
				}
			}
		}
	}
	rs.order()
	return rs, nil
}

func newRuleset() *ruleset { return &ruleset{chains: map[string]*chain{}} }

// order sorts the base chains as the kernel runs them: prerouting before
// input, each hook's by priority.
func (rs *ruleset) order() {
	sort.SliceStable(rs.base, func(i, j int) bool {
		if rs.base[i].Hook != rs.base[j].Hook {
			return rs.base[i].Hook == "prerouting"
		}
		return rs.base[i].Prio < rs.base[j].Prio
	})
}

// packet is what a rule is matched against.
type packet struct {
	proto int // 112 VRRP, 6 TCP, 17 UDP, 132 SCTP
	daddr netip.Addr
	dport uint16 // 0: any
}

var protoNames = map[string]int{"vrrp": 112, "tcp": 6, "udp": 17, "sctp": 132, "icmp": 1, "ipv6-icmp": 58}

// verdict is where a packet ends.
type verdict struct {
	what  string // drop, reject, dnat, redirect, policy drop
	chain *chain
	rule  int
}

func (v verdict) String() string {
	if v.what == "policy drop" {
		return fmt.Sprintf("chain %s (hook %s) has policy drop and no rule accepting it", v.chain.name(), v.chain.Hook)
	}
	if v.chain.Hook == "" {
		return fmt.Sprintf("%s in chain %s does %s", v.chain.ruleName(v.rule), v.chain.name(), v.what)
	}
	return fmt.Sprintf("%s in chain %s (hook %s) does %s", v.chain.ruleName(v.rule), v.chain.name(), v.chain.Hook, v.what)
}

// fate runs p through every base chain and returns the first drop, reject or DNAT.
func (rs *ruleset) fate(p packet) (verdict, bool) {
	for _, c := range rs.base {
		if c.Family == "ip" && !p.daddr.Is4() || c.Family == "ip6" && p.daddr.Is4() {
			continue
		}
		v, done := rs.walk(c, p, 0)
		if done && v.what != "accept" && v.what != "return" {
			return v, true
		}
		if !done && c.Policy == "drop" {
			return verdict{what: "policy drop", chain: c}, true
		}
	}
	return verdict{}, false
}

// walk evaluates chain c; done is false when p falls off its end.
func (rs *ruleset) walk(c *chain, p packet, depth int) (verdict, bool) {
	if depth > 16 {
		return verdict{}, false
	}
rules:
	for _, r := range c.rules {
		for _, e := range r.Expr {
			if m, ok := e["match"]; ok {
				if !matches(m, p) {
					continue rules
				}
				continue
			}
			for _, v := range []string{"drop", "reject", "dnat", "redirect", "accept", "return"} {
				if _, ok := e[v]; ok {
					return verdict{what: v, chain: c, rule: r.Handle}, true
				}
			}
			for _, j := range []string{"jump", "goto"} {
				raw, ok := e[j]
				if !ok {
					continue
				}
				var t struct{ Target string }
				json.Unmarshal(raw, &t)
				sub := rs.chains[c.Family+"/"+c.Table+"/"+t.Target]
				if sub == nil {
					break
				}
				v, done := rs.walk(sub, p, depth+1)
				if done && v.what != "return" {
					return v, true
				}
				if j == "goto" {
					return verdict{}, false
				}
			}
		}
	}
	return verdict{}, false
}

// matches evaluates one "match" expression; what it does not understand does
// not match (so only rules that surely apply are reported).
func matches(raw json.RawMessage, p packet) bool {
	var m struct {
		Op    string
		Left  map[string]json.RawMessage
		Right json.RawMessage
	}
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	var val func(json.RawMessage) (bool, bool) // (equal, understood)
	switch {
	case m.Left["payload"] != nil:
		var pl struct{ Protocol, Field string }
		json.Unmarshal(m.Left["payload"], &pl)
		switch {
		case pl.Protocol == "ip" && pl.Field == "protocol", pl.Protocol == "ip6" && pl.Field == "nexthdr":
			val = func(r json.RawMessage) (bool, bool) { return eqProto(r, p.proto) }
		case (pl.Protocol == "ip" || pl.Protocol == "ip6") && pl.Field == "daddr":
			if (pl.Protocol == "ip") != p.daddr.Is4() {
				return false
			}
			val = func(r json.RawMessage) (bool, bool) { return eqAddr(r, p.daddr) }
		case pl.Field == "dport" && (pl.Protocol == "th" || protoNames[pl.Protocol] == p.proto && p.proto != 0):
			if p.dport == 0 || p.proto == 112 {
				return false
			}
			val = func(r json.RawMessage) (bool, bool) { return eqNum(r, int(p.dport)) }
		default:
			return false
		}
	case m.Left["meta"] != nil:
		var mt struct{ Key string }
		json.Unmarshal(m.Left["meta"], &mt)
		switch mt.Key {
		case "l4proto":
			val = func(r json.RawMessage) (bool, bool) { return eqProto(r, p.proto) }
		case "nfproto":
			fam := "ipv6"
			if p.daddr.Is4() {
				fam = "ipv4"
			}
			val = func(r json.RawMessage) (bool, bool) { var s string; json.Unmarshal(r, &s); return s == fam, true }
		default:
			return false
		}
	default:
		return false
	}
	eq, ok := anyOf(m.Right, val)
	if !ok {
		return false
	}
	switch m.Op {
	case "==", "in":
		return eq
	case "!=":
		return !eq
	}
	return false
}

// anyOf applies val to right or, for a set, to each element.
func anyOf(right json.RawMessage, val func(json.RawMessage) (bool, bool)) (bool, bool) {
	var set struct{ Set []json.RawMessage }
	if bytes.HasPrefix(bytes.TrimSpace(right), []byte("{")) && json.Unmarshal(right, &set) == nil && set.Set != nil {
		for _, e := range set.Set {
			if eq, ok := val(e); ok && eq {
				return true, true
			}
		}
		return false, true
	}
	return val(right)
}

func eqNum(r json.RawMessage, n int) (bool, bool) {
	var rg struct{ Range []int }
	if json.Unmarshal(r, &rg) == nil && len(rg.Range) == 2 {
		return rg.Range[0] <= n && n <= rg.Range[1], true
	}
	var x int
	if json.Unmarshal(r, &x) != nil {
		return false, false
	}
	return x == n, true
}

func eqProto(r json.RawMessage, proto int) (bool, bool) {
	var s string
	if json.Unmarshal(r, &s) == nil {
		if n, err := strconv.Atoi(s); err == nil {
			return n == proto, true
		}
		n, ok := protoNames[strings.ToLower(s)]
		return ok && n == proto, ok
	}
	return eqNum(r, proto)
}

func eqAddr(r json.RawMessage, a netip.Addr) (bool, bool) {
	var s string
	if json.Unmarshal(r, &s) == nil {
		b, err := netip.ParseAddr(s)
		return err == nil && b == a, err == nil
	}
	var pf struct {
		Prefix *struct {
			Addr string
			Len  int
		}
		Range []string
	}
	if json.Unmarshal(r, &pf) != nil {
		return false, false
	}
	if pf.Prefix != nil {
		b, err := netip.ParseAddr(pf.Prefix.Addr)
		if err != nil {
			return false, false
		}
		p, err := b.Prefix(pf.Prefix.Len)
		return err == nil && p.Contains(a), err == nil
	}
	if len(pf.Range) == 2 {
		lo, err1 := netip.ParseAddr(pf.Range[0])
		hi, err2 := netip.ParseAddr(pf.Range[1])
		return err1 == nil && err2 == nil && lo.Compare(a) <= 0 && a.Compare(hi) <= 0, err1 == nil && err2 == nil
	}
	return false, false
}

// checkFirewall: the host firewall must let VRRP and virtual server traffic in,
// and with NAT a stateful one must see IPVS connections in conntrack.
func checkFirewall(cfg *conf.Config, sys System, _ Options) ([]Finding, error) {
	b, err := sys.Ruleset()
	if err != nil {
		return nil, err
	}
	l4, l6, err := sys.LegacyRules()
	if err != nil {
		return nil, err
	}
	if len(b) == 0 && len(l4) == 0 && len(l6) == 0 {
		return nil, nil
	}
	rs := newRuleset()
	if len(b) > 0 {
		if rs, err = parseRuleset(b); err != nil {
			return nil, err
		}
	}
	for fam, save := range map[string][]byte{"ip": l4, "ip6": l6} {
		if err := rs.addLegacy(save, fam); err != nil {
			return nil, err
		}
	}
	rs.order()
	var out []Finding
	for _, in := range cfg.VRRPInstances {
		dsts := []netip.Addr{in.McastDstIP}
		if in.Unicast {
			dsts = nil
			if in.SrcIP.IsValid() {
				dsts = []netip.Addr{in.SrcIP}
			}
		}
		for _, d := range dsts {
			if !d.IsValid() {
				continue
			}
			if v, bad := rs.fate(packet{proto: 112, daddr: d}); bad {
				out = append(out, Finding{Check: "firewall-vrrp", Pos: pos(in.Pos),
					Problem: fmt.Sprintf("vrrp_instance %s: VRRP adverts (protocol 112 to %v) are dropped: %v; every director becomes MASTER", in.Name, d, v),
					Fix:     "accept them before that rule, e.g. " + insertAccept(v.chain, packet{proto: 112, daddr: d})})
			}
		}
	}
	for _, vs := range cfg.VirtualServers {
		if !vs.Addr.IsValid() {
			continue
		}
		p := packet{proto: protoNames[strings.ToLower(string(vs.Protocol))], daddr: vs.Addr, dport: vs.Port}
		if v, bad := rs.fate(p); bad {
			out = append(out, Finding{Check: "firewall-vip", Pos: pos(vs.Pos),
				Problem: fmt.Sprintf("virtual server %s: its traffic never reaches IPVS: %v", vsName(vs), v),
				Fix:     "accept it before that rule, e.g. " + insertAccept(v.chain, p)})
		}
	}
	if vs := firstNAT(cfg, conf.Inet); vs != nil && rs.ct {
		v, ok, err := sysctl(sys, "net.ipv4.vs.conntrack")
		if err != nil {
			return nil, err
		}
		if ok && v != "1" {
			out = append(out, Finding{Check: "vs-conntrack", Pos: pos(vs.Pos),
				Problem: fmt.Sprintf("NAT virtual server %s, the firewall matches on conntrack state (ct) but net.ipv4.vs.conntrack=%s: IPVS connections are not in conntrack, so stateful rules drop their packets", vsName(vs), v),
				Fix:     "sysctl -w net.ipv4.vs.conntrack=1"})
		}
	}
	return out, nil
}

// insertAccept is the command accepting p at the top of chain c.
func insertAccept(c *chain, p packet) string {
	if c.tool != "" {
		s := fmt.Sprintf("%s -t %s -I %s -d %v", c.tool, c.Table, c.Name, p.daddr)
		switch {
		case p.proto == 112:
			s += " -p vrrp"
		case p.proto != 0:
			for n, v := range protoNames {
				if v == p.proto {
					s += " -p " + n
					if p.dport != 0 && (n == "tcp" || n == "udp" || n == "sctp") {
						s += fmt.Sprintf(" --dport %d", p.dport)
					}
				}
			}
		}
		return s + " -j ACCEPT"
	}
	if p.proto == 112 {
		return fmt.Sprintf("nft insert rule %s %s %s %s", c.Family, c.Table, c.Name, acceptVRRP(p.daddr))
	}
	return fmt.Sprintf("nft insert rule %s %s %s %s", c.Family, c.Table, c.Name, acceptVS(p))
}

func acceptVRRP(d netip.Addr) string {
	if d.Is4() {
		return fmt.Sprintf("ip daddr %v ip protocol vrrp accept", d)
	}
	return fmt.Sprintf("ip6 daddr %v meta l4proto vrrp accept", d)
}

func acceptVS(p packet) string {
	ip := "ip"
	if !p.daddr.Is4() {
		ip = "ip6"
	}
	s := fmt.Sprintf("%s daddr %v", ip, p.daddr)
	for n, v := range protoNames {
		if v == p.proto && p.dport != 0 && (n == "tcp" || n == "udp" || n == "sctp") {
			s += fmt.Sprintf(" %s dport %d", n, p.dport)
		}
	}
	return s + " accept"
}

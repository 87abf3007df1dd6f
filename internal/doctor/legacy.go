package doctor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// The x_tables base chains that see incoming packets, with the hook and
// priority (NF_IP_PRI_*) nftables would give them.
var legacyHooks = map[string]struct {
	hook string
	prio int
}{
	"raw/PREROUTING":    {"prerouting", -300},
	"mangle/PREROUTING": {"prerouting", -150},
	"nat/PREROUTING":    {"prerouting", -100},
	"mangle/INPUT":      {"input", -150},
	"filter/INPUT":      {"input", 0},
	"security/INPUT":    {"input", 50},
	"nat/INPUT":         {"input", 100},
}

// legacyTargets are the terminal targets the checks report, as nft verdicts.
var legacyTargets = map[string]string{"DROP": "drop", "REJECT": "reject", "DNAT": "dnat", "REDIRECT": "redirect", "ACCEPT": "accept", "RETURN": "return"}

// never is a match the walker does not understand: the rule is taken not to
// match, so only rules that surely apply are reported (as for nft).
var never = map[string]json.RawMessage{"match": json.RawMessage(`{"op":"==","left":{"unknown":null},"right":0}`)}

// addLegacy adds the output of iptables-legacy-save (family "ip") or
// ip6tables-legacy-save ("ip6") to rs, each rule translated to the nft JSON
// expressions the walker reads. Call rs.order afterwards.
func (rs *ruleset) addLegacy(save []byte, family string) error {
	tool := "iptables-legacy"
	if family == "ip6" {
		tool = "ip6tables-legacy"
	}
	table := ""
	sc := bufio.NewScanner(bytes.NewReader(save))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || line == "COMMIT":
		case strings.HasPrefix(line, "*"):
			table = line[1:]
		case strings.HasPrefix(line, ":"):
			f := strings.Fields(line[1:])
			if len(f) < 2 || table == "" {
				return fmt.Errorf("%s-save line %d: bad chain %q", tool, n, line)
			}
			c := &chain{Family: family, Table: table, Name: f[0], tool: tool}
			if f[1] != "-" {
				c.Policy = strings.ToLower(f[1])
			}
			if h, ok := legacyHooks[table+"/"+f[0]]; ok {
				c.Hook, c.Prio = h.hook, h.prio
				rs.base = append(rs.base, c)
			}
			rs.chains[c.id()] = c
		case strings.HasPrefix(line, "-A "):
			args := splitArgs(line)
			if len(args) < 2 {
				return fmt.Errorf("%s-save line %d: bad rule %q", tool, n, line)
			}
			c := rs.chains[family+"/"+table+"/"+args[1]]
			if c == nil {
				return fmt.Errorf("%s-save line %d: rule in undeclared chain %s", tool, n, args[1])
			}
			isChain := func(name string) bool { return rs.chains[family+"/"+table+"/"+name] != nil }
			exprs, ct := legacyRule(args[2:], family, isChain)
			rs.ct = rs.ct || ct
			c.rules = append(c.rules, rule{Handle: len(c.rules) + 1, Expr: exprs})
		default:
			return fmt.Errorf("%s-save line %d: unexpected %q", tool, n, line)
		}
	}
	return sc.Err()
}

// splitArgs splits a rule line on blanks, keeping "quoted strings" whole.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	inQ, any := false, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\' && inQ && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case ch == '"':
			inQ, any = !inQ, true
		case (ch == ' ' || ch == '\t') && !inQ:
			if any {
				out = append(out, cur.String())
				cur.Reset()
				any = false
			}
		default:
			cur.WriteByte(ch)
			any = true
		}
	}
	if any {
		out = append(out, cur.String())
	}
	return out
}

// legacyRule translates a rule's options (after -A CHAIN) to nft JSON
// expressions; ct reports a conntrack or state match.
func legacyRule(args []string, family string, isChain func(string) bool) (exprs []map[string]json.RawMessage, ct bool) {
	match := func(neg bool, left, right string) {
		op := "=="
		if neg {
			op = "!="
		}
		exprs = append(exprs, map[string]json.RawMessage{"match": json.RawMessage(
			fmt.Sprintf(`{"op":%q,"left":%s,"right":%s}`, op, left, right))})
	}
	// value returns the argument after option i, or "" at the end.
	value := func(i int) string {
		if i+1 < len(args) {
			return args[i+1]
		}
		return ""
	}
	neg := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "!" {
			neg = true
			continue
		}
		switch a {
		case "-p", "--protocol":
			p := value(i)
			i++
			right, _ := json.Marshal(p)
			if _, err := strconv.Atoi(p); err == nil {
				right = []byte(p)
			}
			match(neg, `{"meta":{"key":"l4proto"}}`, string(right))
		case "-d", "--destination":
			right, ok := legacyAddr(value(i), family)
			i++
			if !ok {
				exprs = append(exprs, never)
				break
			}
			match(neg, fmt.Sprintf(`{"payload":{"protocol":%q,"field":"daddr"}}`, family), right)
		case "--dport", "--destination-port":
			right, ok := legacyPorts(value(i))
			i++
			if !ok {
				exprs = append(exprs, never)
				break
			}
			match(neg, `{"payload":{"protocol":"th","field":"dport"}}`, right)
		case "--dports", "--destination-ports", "--ports":
			right, ok := legacyPorts(value(i))
			i++
			if !ok || a == "--ports" && neg {
				exprs = append(exprs, never)
				break
			}
			match(neg, `{"payload":{"protocol":"th","field":"dport"}}`, right)
		case "-m", "--match":
			i++ // the module alone matches everything; its options follow
		case "--ctstate", "--state":
			ct = true
			i++
			exprs = append(exprs, never)
		case "--comment":
			i++
		case "-j", "--jump", "-g", "--goto":
			t := value(i)
			switch v, ok := legacyTargets[t]; {
			case ok:
				exprs = append(exprs, map[string]json.RawMessage{v: json.RawMessage("null")})
			case isChain(t):
				verb := "jump"
				if a == "-g" || a == "--goto" {
					verb = "goto"
				}
				target, _ := json.Marshal(map[string]string{"target": t})
				exprs = append(exprs, map[string]json.RawMessage{verb: target})
			} // else an extension that lets the packet go on (LOG, MARK...)
			return exprs, ct // the target's own options follow
		default:
			// -s, -i, -o, -f, unknown modules' options: not understood.
			exprs = append(exprs, never)
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") && args[i+1] != "!" {
				i++
			}
		}
		neg = false
	}
	return exprs, ct
}

// legacyAddr turns "10.0.0.0/24" or "10.0.0.1/32" into nft JSON.
func legacyAddr(s, family string) (string, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return "", false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4() != (family == "ip") {
		return "", false
	}
	if p.IsSingleIP() {
		return strconv.Quote(p.Addr().String()), true
	}
	return fmt.Sprintf(`{"prefix":{"addr":%q,"len":%d}}`, p.Addr().String(), p.Bits()), true
}

// legacyPorts turns "80", "1000:2000" or a multiport list "80,443,8000:8080"
// into nft JSON (a number, a range or a set).
func legacyPorts(s string) (string, bool) {
	var elems []string
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		l, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return "", false
		}
		if !isRange {
			elems = append(elems, strconv.FormatUint(l, 10))
			continue
		}
		h, err := strconv.ParseUint(hi, 10, 16)
		if err != nil {
			return "", false
		}
		elems = append(elems, fmt.Sprintf(`{"range":[%d,%d]}`, l, h))
	}
	if len(elems) == 1 {
		return elems[0], true
	}
	return `{"set":[` + strings.Join(elems, ",") + `]}`, true
}

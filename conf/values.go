package conf

import (
	"encoding/json"
	"fmt"
	"github.com/lvs-ha/lvs-ha/internal/script"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
)

// Duration is a time.Duration that marshals to JSON as a number of seconds
// (a float, microsecond resolution), the unit keepalived.conf uses for every
// timer. Use Std to get the time.Duration.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Seconds returns d in seconds.
func (d Duration) Seconds() float64 { return time.Duration(d).Seconds() }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON renders d as seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, time.Duration(d).Seconds(), 'f', -1, 64), nil
}

// UnmarshalJSON reads seconds (rounded to the nanosecond).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > float64(math.MaxInt64)/1e9 {
		return fmt.Errorf("duration %v out of range", f)
	}
	*d = Duration(math.Round(f * 1e9))
	return nil
}

func seconds(n int) Duration { return Duration(time.Duration(n) * time.Second) }

// Family is an address family: "inet" (IPv4) or "inet6" (IPv6).
type Family string

const (
	Inet  Family = "inet"
	Inet6 Family = "inet6"
)

func familyOf(a netip.Addr) Family {
	if a.Is4() {
		return Inet
	}
	return Inet6
}

// ---- argument access ----------------------------------------------------

// nargs checks that n has between min and max arguments (max < 0: no limit).
// Too few is an error at the keyword; too many is a warning at the first extra word.
// weightReverse parses a block's "weight W [reverse]" line (vrrp_script,
// track_file, vrrp_track_process): W in [-limit, limit] into weight,
// reverse set by the option; errors name what.
func (l *loader) weightReverse(n *syntax.Node, what string, limit int64, weight *int, reverse *bool) {
	if !l.nargs(n, 1, 2) {
		return
	}
	if v, ok := l.int(n.Args[0], what+" weight", -limit, limit); ok {
		*weight = int(v)
	}
	if len(n.Args) > 1 {
		if n.Args[1].Text == "reverse" {
			*reverse = true
		} else {
			l.errf(n.Args[1].Pos, "unknown %s weight option %q: want reverse", what, n.Args[1].Text)
		}
	}
}

func (l *loader) nargs(n *syntax.Node, min, max int) bool {
	if len(n.Args) < min {
		if min == 1 {
			l.errf(n.Keyword.Pos, "%q needs a value", n.Keyword.Text)
		} else {
			l.errf(n.Keyword.Pos, "%q needs %d values", n.Keyword.Text, min)
		}
		return false
	}
	if max >= 0 && len(n.Args) > max {
		l.warnf(n.Args[max].Pos, "extra arguments to %q ignored", n.Keyword.Text)
	}
	return true
}

// ---- scalar parsers: each reports its own error at the word ---------------

func (l *loader) uint(w syntax.Word, what string, min, max uint64) (uint64, bool) {
	v, err := strconv.ParseUint(w.Text, 10, 64)
	if err != nil || v < min || v > max {
		l.errf(w.Pos, "invalid %s %q: want an integer in [%d, %d]", what, w.Text, min, max)
		return 0, false
	}
	return v, true
}

func (l *loader) int(w syntax.Word, what string, min, max int64) (int64, bool) {
	v, err := strconv.ParseInt(w.Text, 10, 64)
	if err != nil || v < min || v > max {
		l.errf(w.Pos, "invalid %s %q: want an integer in [%d, %d]", what, w.Text, min, max)
		return 0, false
	}
	return v, true
}

// uintArg parses the single argument of n.
func (l *loader) uintArg(n *syntax.Node, min, max uint64) (uint64, bool) {
	if !l.nargs(n, 1, 1) {
		return 0, false
	}
	return l.uint(n.Args[0], n.Keyword.Text, min, max)
}

func (l *loader) intArg(n *syntax.Node, min, max int64) (int64, bool) {
	if !l.nargs(n, 1, 1) {
		return 0, false
	}
	return l.int(n.Args[0], n.Keyword.Text, min, max)
}

// parseTimer reads keepalived's <TIMER>: decimal seconds, microsecond resolution.
func parseTimer(s string) (Duration, bool) {
	if s == "" || strings.ContainsAny(s, "eEnNxX+-_") {
		return 0, false // no exponents, signs, NaN/Inf, hex
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e9 {
		return 0, false
	}
	return Duration(math.Round(f*1e6) * 1e3), true
}

// timer parses a <TIMER> word that must lie in [min, max] (max 0: no upper bound).
func (l *loader) timer(w syntax.Word, what string, min, max Duration) (Duration, bool) {
	d, ok := parseTimer(w.Text)
	if !ok || d < min || (max > 0 && d > max) {
		if max > 0 {
			l.errf(w.Pos, "invalid %s %q: want seconds in [%g, %g]", what, w.Text, min.Seconds(), max.Seconds())
		} else {
			l.errf(w.Pos, "invalid %s %q: want seconds >= %g", what, w.Text, min.Seconds())
		}
		return 0, false
	}
	return d, true
}

func (l *loader) timerArg(n *syntax.Node, min, max Duration) (Duration, bool) {
	if !l.nargs(n, 1, 1) {
		return 0, false
	}
	return l.timer(n.Args[0], n.Keyword.Text, min, max)
}

// wholeSecondsArg reads an integer number of seconds.
func (l *loader) wholeSecondsArg(n *syntax.Node, min, max uint64) (Duration, bool) {
	v, ok := l.uintArg(n, min, max)
	return seconds(int(v)), ok
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	return false, false
}

// boolArg reads `keyword [<BOOL>]`: the bare keyword means true.
func (l *loader) boolArg(n *syntax.Node) (bool, bool) {
	if len(n.Args) == 0 {
		return true, true
	}
	l.nargs(n, 0, 1)
	b, ok := parseBool(n.Args[0].Text)
	if !ok {
		l.errf(n.Args[0].Pos, "invalid %s value %q: want on|off|true|false|yes|no", n.Keyword.Text, n.Args[0].Text)
	}
	return b, ok
}

// flag reads a keyword that takes no argument.
func (l *loader) flag(n *syntax.Node) bool {
	l.nargs(n, 0, 0)
	return true
}

func (l *loader) stringArg(n *syntax.Node) (string, bool) {
	if !l.nargs(n, 1, 1) {
		return "", false
	}
	return n.Args[0].Text, true
}

// ip parses an address (no prefix, no zone).
func (l *loader) ip(w syntax.Word, what string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(w.Text)
	if err != nil || a.Zone() != "" {
		l.errf(w.Pos, "invalid %s %q: not an IP address", what, w.Text)
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func (l *loader) ipArg(n *syntax.Node) (netip.Addr, bool) {
	if !l.nargs(n, 1, 1) {
		return netip.Addr{}, false
	}
	return l.ip(n.Args[0], n.Keyword.Text)
}

// port parses a port in [min, 65535].
func (l *loader) port(w syntax.Word, what string, min uint64) (uint16, bool) {
	v, ok := l.uint(w, what, min, 65535)
	return uint16(v), ok
}

func (l *loader) portArg(n *syntax.Node) (uint16, bool) {
	if !l.nargs(n, 1, 1) {
		return 0, false
	}
	return l.port(n.Args[0], n.Keyword.Text, 1)
}

// script reads `keyword SCRIPT [username [groupname]]`.
func (l *loader) script(n *syntax.Node) *Script {
	if !l.nargs(n, 1, 3) {
		return nil
	}
	argv, ok := l.splitCommand(n.Args[0], n.Keyword.Text+" script")
	if !ok {
		return nil
	}
	s := &Script{Cmd: n.Args[0].Text, Argv: argv, Pos: n.Keyword.Pos}
	if len(n.Args) > 1 {
		s.User = n.Args[1].Text
	}
	if len(n.Args) > 2 {
		s.Group = n.Args[2].Text
	}
	return s
}

// setCommand reads `keyword "COMMAND"` into *dst, keeping the user and group a
// separate keyword (misc_user, user) may have set before.
func (l *loader) setCommand(n *syntax.Node, dst **Script) {
	if !l.nargs(n, 1, 1) {
		return
	}
	argv, ok := l.splitCommand(n.Args[0], n.Keyword.Text)
	if !ok {
		return
	}
	s := &Script{Cmd: n.Args[0].Text, Argv: argv, Pos: n.Keyword.Pos}
	if *dst != nil {
		s.User, s.Group = (*dst).User, (*dst).Group
	}
	*dst = s
}

// splitCommand splits a script string into argv exactly as keepalived does
// (internal/script.SplitCommand); a malformed string is an error at w.
// It reports false when it has reported an error.
func (l *loader) splitCommand(w syntax.Word, what string) ([]string, bool) {
	argv, err := script.SplitCommand(w.Text)
	if err != nil {
		l.errf(w.Pos, "%v", err)
		return nil, false
	}
	if len(argv) == 0 {
		l.errf(w.Pos, "empty %s", what)
		return nil, false
	}
	return argv, true
}

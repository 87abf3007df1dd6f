package syntax

import (
	"math"
	"strconv"
	"strings"
)

// seqSource yields the text of a ~SEQ block once per value of its variable.
type seqSource struct {
	name            string
	cur, step, last int64
	hex             bool
	text            line
	pos             Pos
	done            bool
}

func (s *seqSource) next(p *parser) (unit, status) {
	if s.done {
		return unit{}, stDone
	}
	var v string
	if s.hex {
		v = strconv.FormatUint(uint64(s.cur), 16)
	} else {
		v = strconv.FormatInt(s.cur, 10)
	}
	p.setVar(s.name, v, s.pos)
	// Advance without overflowing: stop when the distance left is less than a step.
	if s.step > 0 {
		if uint64(s.last)-uint64(s.cur) < uint64(s.step) || s.cur > s.last {
			s.done = true
		} else {
			s.cur += s.step
		}
	} else {
		mag := uint64(-(s.step + 1)) + 1
		if uint64(s.cur)-uint64(s.last) < mag || s.cur < s.last {
			s.done = true
		} else {
			s.cur += s.step
		}
	}
	return unit{l: s.text}, stUnit
}

func (s *seqSource) exhausted() bool { return s.done }

// lstSource yields the text of a ~LST block once per set of values.
type lstSource struct {
	vars []string
	sets [][]string
	i    int
	text line
	pos  Pos
}

func (s *lstSource) next(p *parser) (unit, status) {
	if s.i >= len(s.sets) {
		return unit{}, stDone
	}
	for k, v := range s.vars {
		p.setVar(v, s.sets[s.i][k], s.pos)
	}
	s.i++
	return unit{l: s.text}, stUnit
}

func (s *lstSource) exhausted() bool { return s.i >= len(s.sets) }

func skipBlanks(t string, i int) int {
	for i < len(t) && isBlank(t[i]) {
		i++
	}
	return i
}

func isName(s string) bool {
	if s == "" || !isNameStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}

// strtol parses an integer at t[i:] like C's strtol(…, 0): optional blanks
// and sign, then a decimal, 0x hexadecimal or 0 octal number. It returns the
// offset after the number (i itself when there is none) and whether the
// value was in range.
func strtol(t string, i int) (v int64, next int, inRange bool) {
	start := i
	for i < len(t) && isSpace(t[i]) {
		i++
	}
	neg := false
	if i < len(t) && (t[i] == '+' || t[i] == '-') {
		neg = t[i] == '-'
		i++
	}
	base := uint64(10)
	if i+2 < len(t) && t[i] == '0' && (t[i+1] == 'x' || t[i+1] == 'X') && isHex(t[i+2]) {
		base = 16
		i += 2
	} else if i < len(t) && t[i] == '0' {
		base = 8
	}
	digits := i
	var u uint64
	inRange = true
	for i < len(t) {
		c := t[i]
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			d = 99
		}
		if d >= base {
			break
		}
		if u > (math.MaxUint64-d)/base {
			inRange = false
			u = math.MaxUint64
		} else {
			u = u*base + d
		}
		i++
	}
	if i == digits {
		return 0, start, true
	}
	if neg {
		if u > 1<<63 {
			return math.MinInt64, i, false
		}
		return -int64(u), i, inRange
	}
	if u > math.MaxInt64 {
		return math.MaxInt64, i, false
	}
	return int64(u), i, inRange
}

// addSeq handles a line "~SEQ(VAR, [START, [STEP,]] END) TEXT" (or ~SEQx,
// formatting VAR in hexadecimal): TEXT is processed once for each value of
// $VAR from START, adding STEP, while not past END. START defaults to 1 (or
// -1 if END < 0), STEP to 1 or -1 towards END. The parameters may use
// definitions.
func (p *parser) addSeq(l line) {
	t := l.text
	pos := l.posAt(0)
	usage := "expected ~SEQ(VAR, [START, [STEP,]] END)"
	i := 4
	hex := false
	if i < len(t) && t[i] == 'x' {
		hex = true
		i++
	}
	i = skipBlanks(t, i)
	if i >= len(t) || t[i] != '(' {
		p.errorf(pos, "invalid ~SEQ specification: %s", usage)
		return
	}
	i = skipBlanks(t, i+1)
	vs := i
	for i < len(t) && !isBlank(t[i]) && t[i] != ',' && t[i] != ')' {
		i++
	}
	name := t[vs:i]
	i = skipBlanks(t, i)
	if i >= len(t) || t[i] != ',' || name == "" {
		p.errorf(pos, "invalid ~SEQ specification: %s", usage)
		return
	}
	if !isName(name) {
		p.errorf(l.posAt(vs), "invalid ~SEQ variable name %q", name)
		return
	}
	i = skipBlanks(t, i+1)
	closing := strings.IndexByte(t[i:], ')')
	if closing < 0 {
		p.errorf(pos, "invalid ~SEQ specification: missing ')'")
		return
	}
	text := l.slice(i+closing+1, len(t)).trimLeftBlank()
	args := l.slice(i, i+closing+1)
	subs := 0
	args, _, failed := p.substitute(args, &subs, false)
	if failed {
		return
	}
	a := args.text
	bad := func() { p.errorf(pos, "invalid ~SEQ specification %q: %s", strings.TrimSpace(t[:i+closing+1]), usage) }
	var start, step, end int64
	var ok [3]bool
	one, q, ok0 := strtol(a, 0)
	ok[0] = ok0
	q = skipBlanks(a, q)
	switch {
	case q < len(a) && a[q] == ')':
		end = one
		step, start = 1, 1
		if end < 1 {
			step = -1
		}
		if end < 0 {
			start = -1
		}
		ok[1], ok[2] = true, true
	case q < len(a) && a[q] == ',':
		two, q2, ok1 := strtol(a, q+1)
		ok[1] = ok1
		q2 = skipBlanks(a, q2)
		switch {
		case q2 < len(a) && a[q2] == ')':
			start, end = one, two
			step = 1
			if start > end {
				step = -1
			}
			ok[2] = true
		case q2 < len(a) && a[q2] == ',':
			three, q3, ok2 := strtol(a, q2+1)
			ok[2] = ok2
			q3 = skipBlanks(a, q3)
			if q3 >= len(a) || a[q3] != ')' {
				bad()
				return
			}
			start, step, end = one, two, three
			if step == 0 || start < end && step < 0 || start > end && step > 0 {
				p.errorf(pos, "invalid ~SEQ values: cannot go from %d to %d in steps of %d", start, end, step)
				return
			}
		default:
			bad()
			return
		}
	default:
		bad()
		return
	}
	if !ok[0] || !ok[1] || !ok[2] {
		p.errorf(pos, "invalid ~SEQ values: number out of range")
		return
	}
	if hex && (start < 0 || end < 0) {
		p.errorf(pos, "~SEQx is only valid for non-negative numbers")
		return
	}
	s := &seqSource{name: name, cur: start, step: step, last: end, hex: hex, text: text, pos: pos}
	if !p.push(s) {
		p.errorf(pos, "~SEQ/~LST blocks and multi-line definitions nested too deeply (limit %d)", p.lim.MaxExpansionDepth)
	}
}

// addLst handles a line "~LST(VAR, V1, V2, ...) TEXT" or
// "~LST({VAR1, VAR2}, {V11, V12}, {V21, V22}, ...) TEXT": TEXT is processed
// once per value (set), with the variables set to it. Missing values in a
// set are empty.
func (p *parser) addLst(l line) {
	t := l.text
	pos := l.posAt(0)
	fail := func(why string) {
		p.errorf(pos, "invalid ~LST specification: %s", why)
	}
	i := skipBlanks(t, 4)
	if i >= len(t) || t[i] != '(' {
		fail("expected ~LST(VAR, VALUE, ...) or ~LST({VAR, ...}, {VALUE, ...}, ...)")
		return
	}
	i = skipBlanks(t, i+1)
	endChar := byte(',')
	if i < len(t) && t[i] == '{' {
		endChar = '}'
		i = skipBlanks(t, i+1)
	}
	var vars []string
	for {
		vs := i
		for i < len(t) && !isBlank(t[i]) && t[i] != ',' && t[i] != '}' {
			i++
		}
		if !isName(t[vs:i]) {
			p.errorf(l.posAt(vs), "invalid ~LST variable name %q", t[vs:i])
			return
		}
		vars = append(vars, t[vs:i])
		i = skipBlanks(t, i)
		if i >= len(t) {
			fail("missing ')'")
			return
		}
		if t[i] == endChar {
			break
		}
		if t[i] != ',' {
			fail("unexpected " + strconv.QuoteRune(rune(t[i])) + " in variable list")
			return
		}
		i = skipBlanks(t, i+1)
	}
	if t[i] == '}' {
		i = skipBlanks(t, i+1)
	}
	if i >= len(t) || t[i] != ',' {
		fail("no values")
		return
	}
	i = skipBlanks(t, i+1)
	var sets [][]string
	for {
		endChar = ','
		if i < len(t) && t[i] == '{' {
			endChar = '}'
			i = skipBlanks(t, i+1)
		}
		var vals []string
		for {
			vs := i
			for i < len(t) && !isBlank(t[i]) && t[i] != ',' && t[i] != '}' && t[i] != ')' {
				i++
			}
			vals = append(vals, t[vs:i])
			i = skipBlanks(t, i)
			if i >= len(t) {
				fail("missing ')'")
				return
			}
			if t[i] == endChar || t[i] == ')' && endChar == ',' {
				break
			}
			if t[i] != ',' {
				fail("unexpected " + strconv.QuoteRune(rune(t[i])) + " in values")
				return
			}
			i = skipBlanks(t, i+1)
			if len(vals) >= len(vars) {
				fail("too many values in a set")
				return
			}
		}
		for len(vals) < len(vars) {
			vals = append(vals, "")
		}
		sets = append(sets, vals)
		if t[i] == '}' && endChar == '}' {
			i = skipBlanks(t, i+1)
		}
		if i >= len(t) {
			fail("missing ')'")
			return
		}
		if t[i] == ')' {
			break
		}
		if t[i] != ',' {
			fail("unexpected " + strconv.QuoteRune(rune(t[i])) + " after values")
			return
		}
		i = skipBlanks(t, i+1)
	}
	text := l.slice(i+1, len(t)).trimLeftBlank()
	s := &lstSource{vars: vars, sets: sets, text: text, pos: pos}
	if !p.push(s) {
		p.errorf(pos, "~SEQ/~LST blocks and multi-line definitions nested too deeply (limit %d)", p.lim.MaxExpansionDepth)
	}
}

package syntax

import (
	"path/filepath"
	"strconv"
	"strings"
)

// A def is a parameter definition ($NAME=VALUE) or a pre-defined one.
type def struct {
	name      string
	lines     []line // the value: one line, or the lines of a multi-line definition
	multiline bool
	// fn computes the value of a pre-defined definition; params are the
	// digits and spaces after the name in ${NAME params}.
	fn        func(p *parser, params string, pos Pos) (string, bool)
	maxParams int
}

// stdDefinitions returns keepalived's pre-defined definitions.
func stdDefinitions() map[string]*def {
	defs := map[string]*def{
		"_PWD":      {name: "_PWD", fn: (*parser).pwd},
		"_INSTANCE": {name: "_INSTANCE", fn: func(p *parser, _ string, _ Pos) (string, bool) { return p.configID, true }},
		"_RANDOM":   {name: "_RANDOM", fn: (*parser).randomValue, maxParams: 2},
		"_HASH":     {name: "_HASH", lines: []line{literalLine("#", Pos{})}},
		"_BANG":     {name: "_BANG", lines: []line{literalLine("!", Pos{})}},
	}
	return defs
}

// pwd is ${_PWD}: the directory of the configuration file being read.
func (p *parser) pwd(_ string, _ Pos) (string, bool) {
	dir := p.mainDir
	if f := p.currentFile(); f != nil {
		dir = filepath.Dir(f.name)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return dir, true
}

// randomValue is ${_RANDOM [MIN [MAX]]}.
func (p *parser) randomValue(params string, pos Pos) (string, bool) {
	lo, hi := uint64(0), uint64(32767)
	f := strings.Fields(params)
	if len(f) > 2 {
		p.warnf(pos, "too many parameters for ${_RANDOM MIN MAX}: %q ignored", strings.Join(f[2:], " "))
	}
	for i, s := range f {
		if i > 1 {
			break
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			p.errorf(pos, "${_RANDOM}: parameter %q out of range", s)
			return "", false
		}
		if i == 0 {
			lo = v
		} else {
			hi = v
		}
	}
	if lo > hi {
		p.errorf(pos, "${_RANDOM %d %d}: MIN is greater than MAX", lo, hi)
		return "", false
	}
	return strconv.FormatUint(p.random(lo, hi), 10), true
}

// definitionHead splits a line "$NAME=VALUE" into NAME and VALUE (without
// leading blanks).
func definitionHead(l line) (string, line, bool) {
	name, ok := definitionName(l.text)
	if !ok {
		return "", line{}, false
	}
	return name, l.slice(len(name)+2, len(l.text)).trimLeftBlank(), true
}

// define records $NAME=VALUE. For a multi-line definition read from a file,
// u carries the further lines. As in keepalived, a multi-line definition
// whose first line is empty and which has only one further line is a
// single-line definition.
func (p *parser) define(name string, val line, u unit) {
	d := &def{name: name}
	if u.defBlock {
		if val.text != "" {
			d.lines = append(d.lines, val)
		}
		d.lines = append(d.lines, u.body...)
		d.multiline = !(val.text == "" && (len(u.body) == 0 || len(u.body) == 1 && u.terminal))
	}
	if len(d.lines) == 0 {
		d.lines = []line{val}
	}
	p.defs[name] = d
}

// setVar defines NAME=value for a ~SEQ or ~LST variable.
func (p *parser) setVar(name, value string, pos Pos) {
	p.defs[name] = &def{name: name, lines: []line{fixedLine(value, pos)}}
}

// pieces is the text still to scan during substitution: a stack of lines,
// the top (last) one first. Replacement text is pushed on top, so that it is
// scanned again (substitution is recursive) without copying what follows.
type pieces []line

// at returns the byte k bytes ahead, or -1 past the end.
func (ps pieces) at(k int) int {
	for i := len(ps) - 1; i >= 0; i-- {
		if k < len(ps[i].text) {
			return int(ps[i].text[k])
		}
		k -= len(ps[i].text)
	}
	return -1
}

// drop removes n bytes from the front.
func (ps *pieces) drop(n int) {
	for n > 0 && len(*ps) > 0 {
		top := &(*ps)[len(*ps)-1]
		if n < len(top.text) {
			*top = top.slice(n, len(top.text))
			return
		}
		n -= len(top.text)
		*ps = (*ps)[:len(*ps)-1]
	}
}

func isDigit(c int) bool { return c >= '0' && c <= '9' }

// lookup finds a reference to a definition at the front of ps ('$'): $NAME
// followed by a blank, ',', ')' or the end of the line, or ${NAME} (with
// ${NAME params} for pre-defined definitions taking parameters). It returns
// the definition, the length of the reference and the parameters.
func (p *parser) lookup(ps pieces, pos Pos) (*def, int, string, bool) {
	j := 1
	braces := ps.at(j) == '{'
	if braces {
		j++
	}
	if c := ps.at(j); c < 0 || !isNameStart(byte(c)) {
		return nil, 0, "", false
	}
	var name []byte
	k := j
	for c := ps.at(k); c >= 0 && isNameChar(byte(c)); c = ps.at(k) {
		name = append(name, byte(c))
		k++
	}
	var params []byte
	end := k
	if braces {
		m := k
		for c := ps.at(m); c == ' ' || isDigit(c); c = ps.at(m) {
			params = append(params, byte(c))
			m++
		}
		if ps.at(m) != '}' {
			return nil, 0, "", false
		}
		if len(params) > 0 && (params[0] != ' ' || params[len(params)-1] == ' ' || strings.TrimLeft(string(params), " ") == "") {
			return nil, 0, "", false // only blanks, or blanks before '}'
		}
		end = m + 1
	} else if c := ps.at(k); c >= 0 && c != ' ' && c != '\t' && c != ',' && c != ')' {
		return nil, 0, "", false
	}
	d := p.defs[string(name)]
	if d == nil {
		return nil, 0, "", false
	}
	if len(params) > 0 && d.maxParams == 0 {
		return nil, 0, "", false
	}
	if d.multiline && ps.at(end) >= 0 {
		p.warnf(pos, "multi-line definition $%s is only substituted at the end of a line; left as is", d.name)
		return nil, 0, "", false
	}
	return d, end, strings.TrimLeft(string(params), " "), true
}

// substitute is keepalived's replace_param(): it replaces every reference to
// a definition, scanning replaced text again, so that replacement is
// recursive; text before a replacement is not scanned again. A multi-line
// definition replaces its reference with its first line and queues the
// others (only when push is set). Replaced text is reported at the place of
// the reference, except lines of multi-line definitions, which keep the place
// where they were defined. subs counts substitutions in the line; failed
// means the line must be dropped (an error was reported). The work is linear
// in the size of the result.
func (p *parser) substitute(l line, subs *int, push bool) (out line, changed, failed bool) {
	if strings.IndexByte(l.text, '$') < 0 {
		return l, false, false
	}
	var b lineBuilder
	ps := pieces{l}
	size := len(l.text)
	for len(ps) > 0 {
		top := &ps[len(ps)-1]
		i := strings.IndexByte(top.text, '$')
		if i < 0 {
			b.add(*top)
			ps = ps[:len(ps)-1]
			continue
		}
		b.add(top.slice(0, i))
		*top = top.slice(i, len(top.text))
		pos := top.posAt(0)
		d, n, params, ok := p.lookup(ps, pos)
		if !ok || d.multiline && !push {
			b.add(top.slice(0, 1))
			ps.drop(1)
			continue
		}
		*subs++
		if *subs > p.lim.MaxSubstitutions {
			p.errorf(pos, "more than %d parameter substitutions in one line (is $%s defined recursively?); line ignored", p.lim.MaxSubstitutions, d.name)
			return l, changed, true
		}
		var val line
		switch {
		case d.fn != nil:
			s, ok := d.fn(p, params, pos)
			if !ok {
				return l, changed, true
			}
			val = fixedLine(s, pos)
		case d.multiline:
			val = d.lines[0]
			if len(d.lines) > 1 && !p.push(&linesSource{lines: d.lines[1:]}) {
				p.errorf(pos, "multi-line definitions and ~SEQ/~LST blocks nested too deeply (limit %d; is $%s defined recursively?); line ignored", p.lim.MaxExpansionDepth, d.name)
				return l, changed, true
			}
		default:
			val = fixedLine(d.lines[0].text, pos)
		}
		ps.drop(n)
		changed = true
		size += len(val.text) - n
		if size > p.lim.MaxLineLength {
			p.errorf(pos, "line longer than %d bytes after parameter substitution; line ignored", p.lim.MaxLineLength)
			return l, changed, true
		}
		p.expanded += len(val.text)
		if p.expanded > p.lim.MaxExpandedBytes {
			p.fatalf(pos, "parameter substitution produces more than %d bytes in total (limit)", p.lim.MaxExpandedBytes)
			return l, changed, true
		}
		if len(val.text) > 0 {
			ps = append(ps, val)
		}
		if v := strings.TrimLeft(val.text, " \t"); v != "" && v[0] == '~' {
			// keepalived stops substituting here.
			for k := len(ps) - 1; k >= 0; k-- {
				b.add(ps[k])
			}
			break
		}
	}
	return b.line(l.posAt(0)), changed, false
}

package syntax

import "strings"

// A unit is a line ready for processing. Units read from a file that start a
// multi-line definition ("$NAME=... \") carry the definition's further lines.
type unit struct {
	l           line
	substituted bool // no reference in l can be substituted
	defBlock    bool
	body        []line // lines after the head of a multi-line definition
	terminal    bool   // the last body line did not end in '\'
}

type status int

const (
	stUnit  status = iota // a unit was returned
	stAgain               // nothing to process, but ask again
	stDone                // the source is finished
)

// A source yields the lines to process. The parser keeps a stack of them:
// files, ~SEQ/~LST blocks, the remaining lines of a multi-line definition
// expansion and the files matched by an include. (The rest of a line split
// at a brace is kept apart: it always comes next.)
type source interface {
	next(p *parser) (unit, status)
}

func isExpansion(s source) bool {
	switch s.(type) {
	case *seqSource, *lstSource, *linesSource:
		return true
	}
	return false
}

// fileSource reads the lines of one file.
type fileSource struct {
	name       string
	key        string // absolute cleaned path, for include cycles
	data       string
	off        int
	lineNo     int
	savedCheck includeFlags
}

// physical returns the next physical line without its line ending, with its
// number, or ok=false at the end of the file.
func (f *fileSource) physical(p *parser) (text string, lineNo int, ok bool) {
	if f.off >= len(f.data) {
		return "", 0, false
	}
	rest := f.data[f.off:]
	i := strings.IndexByte(rest, '\n')
	if i < 0 {
		i = len(rest)
		f.off = len(f.data)
	} else {
		f.off += i + 1
	}
	f.lineNo++
	t := rest[:i]
	for len(t) > 0 && t[len(t)-1] == '\r' {
		t = t[:len(t)-1]
	}
	if len(t) > p.lim.MaxLineLength {
		p.errorf(Pos{File: f.name, Line: f.lineNo, Col: 1}, "line too long (%d bytes, limit %d); line ignored", len(t), p.lim.MaxLineLength)
		t = ""
	} else if k := strings.IndexByte(t, 0); k >= 0 {
		p.errorf(Pos{File: f.name, Line: f.lineNo, Col: k + 1}, "NUL byte in line; line ignored")
		t = ""
	}
	return t, f.lineNo, true
}

func (f *fileSource) next(p *parser) (unit, status) {
	for {
		raw, n, ok := f.physical(p)
		if !ok {
			return unit{}, stDone
		}
		if raw == "" {
			continue
		}
		l, cont, quote := decomment(p.literalLine(raw, Pos{File: f.name, Line: n, Col: 1}), 0)
		if l.text == "" && !cont {
			continue // blank or comment-only line
		}
		if !cont {
			return unit{l: l}, stUnit
		}
		if isDefinitionStart(l.text) {
			return f.definitionBlock(p, l), stUnit
		}
		// Line continuation (an extension: keepalived only continues
		// definitions): the lines are joined with a single space.
		var b lineBuilder
		b.add(l)
		for cont {
			raw, n, ok = f.physical(p)
			if !ok || raw == "" {
				break
			}
			var nl line
			nl, cont, quote = decomment(p.literalLine(raw, Pos{File: f.name, Line: n, Col: 1}), quote)
			if nl.text == "" {
				continue
			}
			if b.len() > 0 {
				b.add(fixedLine(" ", nl.posAt(0)))
			}
			b.add(nl)
			if b.len() > p.lim.MaxLineLength {
				p.errorf(l.posAt(0), "continued line too long (limit %d bytes); line ignored", p.lim.MaxLineLength)
				for cont {
					if raw, _, ok = f.physical(p); !ok || raw == "" {
						break
					}
					_, cont, _ = decomment(literalLine(raw, Pos{}), 0)
				}
				b = lineBuilder{}
				break
			}
		}
		l = b.line(l.posAt(0))
		if l.text == "" {
			continue
		}
		return unit{l: l}, stUnit
	}
}

// definitionBlock collects the lines of a multi-line definition whose head
// is l, as keepalived does: each following line ending in '\' continues it,
// the first line not ending in '\' is its last, lines that are blank or only
// a comment are skipped, and an empty line ends it.
func (f *fileSource) definitionBlock(p *parser, head line) unit {
	u := unit{l: head, defBlock: true}
	for {
		raw, n, ok := f.physical(p)
		if !ok || raw == "" {
			return u
		}
		l, cont, _ := decomment(p.literalLine(raw, Pos{File: f.name, Line: n, Col: 1}), 0)
		if l.text == "" {
			continue // blank, comment-only or a lone '\'
		}
		u.body = append(u.body, l)
		if !cont {
			u.terminal = true
			return u
		}
	}
}

// isDefinitionStart reports whether t, possibly after an @ID prefix, starts
// with "$NAME=".
func isDefinitionStart(t string) bool {
	if len(t) > 0 && t[0] == '@' {
		sp := strings.IndexAny(t, " \t")
		if sp < 0 {
			return false
		}
		t = strings.TrimLeft(t[sp:], " \t")
	}
	_, ok := definitionName(t)
	return ok
}

// definitionName returns the NAME of a line starting "$NAME=".
func definitionName(t string) (string, bool) {
	if len(t) < 3 || t[0] != '$' || !isNameStart(t[1]) {
		return "", false
	}
	i := 2
	for i < len(t) && isNameChar(t[i]) {
		i++
	}
	if i >= len(t) || t[i] != '=' {
		return "", false
	}
	return t[1:i], true
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

// linesSource yields the remaining lines of a multi-line definition
// expansion.
type linesSource struct {
	lines []line
	i     int
}

func (s *linesSource) next(*parser) (unit, status) {
	if s.i >= len(s.lines) {
		return unit{}, stDone
	}
	s.i++
	return unit{l: s.lines[s.i-1]}, stUnit
}

func (s *linesSource) exhausted() bool { return s.i >= len(s.lines) }

package syntax

// A span says where the bytes of a line, from off up to the next span, came
// from. Literal spans map byte off+k to column Col+k of pos; fixed spans map
// every byte to pos (used for text produced by parameter substitution, which
// is reported at the place of the reference).
type span struct {
	off   int
	pos   Pos
	fixed bool
}

// A line is a piece of configuration text being preprocessed, together with
// the source position of each of its bytes. Lines are immutable values: every
// operation returns a new line. Slicing is O(1): the spans are shared and
// text[k] is described by the span covering offset shift+k.
type line struct {
	text  string
	spans []span // sorted by off; spans[0].off <= shift; never empty; never modified
	shift int
}

func literalLine(text string, pos Pos) line {
	return line{text: text, spans: []span{{off: 0, pos: pos}}}
}

func fixedLine(text string, pos Pos) line {
	return line{text: text, spans: []span{{off: 0, pos: pos, fixed: true}}}
}

// spanIndex returns the index of the span covering text offset off.
func (l line) spanIndex(off int) int {
	o := off + l.shift
	if len(l.spans) == 1 || l.spans[1].off > o {
		return 0
	}
	lo, hi := 1, len(l.spans) // spans[lo-1].off <= o; find last k with spans[k].off <= o
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if l.spans[m].off <= o {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// posAt returns the source position of byte off (off may be len(text)).
func (l line) posAt(off int) Pos {
	s := l.spans[l.spanIndex(off)]
	if s.fixed {
		return s.pos
	}
	p := s.pos
	p.Col += off + l.shift - s.off
	return p
}

// slice returns l.text[i:j] with its positions.
func (l line) slice(i, j int) line {
	return line{text: l.text[i:j], spans: l.spans, shift: l.shift + i}
}

// concat returns the lines joined.
func concat(ls ...line) line {
	var b lineBuilder
	for _, l := range ls {
		b.add(l)
	}
	if len(ls) == 0 {
		return b.line(Pos{})
	}
	return b.line(ls[0].posAt(0))
}

// lineBuilder builds a line by appending lines, in time linear in the
// result.
type lineBuilder struct {
	buf   []byte
	spans []span
}

func (b *lineBuilder) len() int { return len(b.buf) }

func (b *lineBuilder) add(l line) {
	if len(l.text) == 0 {
		return
	}
	base := len(b.buf)
	b.buf = append(b.buf, l.text...)
	end := l.shift + len(l.text)
	for k := l.spanIndex(0); k < len(l.spans) && l.spans[k].off < end; k++ {
		s := l.spans[k]
		if s.off < l.shift {
			if !s.fixed {
				s.pos.Col += l.shift - s.off
			}
			s.off = l.shift
		}
		s.off += base - l.shift
		if m := len(b.spans); m > 0 && continues(b.spans[m-1], s) {
			continue
		}
		b.spans = append(b.spans, s)
	}
}

// line returns the line built; empty lines are placed at pos. The builder
// must not be used afterwards.
func (b *lineBuilder) line(pos Pos) line {
	if len(b.spans) == 0 {
		return line{spans: []span{{pos: pos}}}
	}
	return line{text: string(b.buf), spans: b.spans}
}

// continues reports whether span s adds nothing to the span before it.
func continues(prev, s span) bool {
	if prev.fixed != s.fixed || prev.pos.File != s.pos.File || prev.pos.Line != s.pos.Line {
		return false
	}
	if s.fixed {
		return prev.pos.Col == s.pos.Col
	}
	return prev.pos.Col+(s.off-prev.off) == s.pos.Col
}

// replace returns l with text[i:j] replaced by r.
func (l line) replace(i, j int, r line) line {
	return concat(l.slice(0, i), r, l.slice(j, len(l.text)))
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// isSpace is C's isspace in the "C" locale, used for words.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func (l line) trimLeftBlank() line {
	i := 0
	for i < len(l.text) && isBlank(l.text[i]) {
		i++
	}
	return l.slice(i, len(l.text))
}

func (l line) trimRightBlank() line {
	j := len(l.text)
	for j > 0 && isBlank(l.text[j-1]) {
		j--
	}
	return l.slice(0, j)
}

// decomment is keepalived's decomment(): it removes leading blanks, a
// comment ('#' or '!' outside quotes, to the end of the line), trailing
// blanks and a final unescaped '\' (reporting it as cont). quote is the quote
// character open at the start of the line (for continuation lines) and the
// returned endQuote is the one still open at its end. Unlike keepalived, both
// " and ' quote (keepalived only honours " here), and an escaped comment
// character keeps its backslash (the tokenizer removes it later).
func decomment(l line, quote byte) (out line, cont bool, endQuote byte) {
	l = l.trimLeftBlank()
	t := l.text
	cut := -1
	end := len(t)
	for i := 0; i < len(t); {
		c := t[i]
		switch {
		case c == '\\':
			if i+1 < len(t) {
				i += 2
				continue
			}
			cont = true
			end = i
			i++
		case cut >= 0:
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
			i++
		case c == '"' || c == '\'':
			quote = c
			i++
		case c == '#' || c == '!':
			cut = i
			i++
		default:
			i++
		}
	}
	if cut >= 0 && cut < end {
		end = cut
	}
	return l.slice(0, end).trimRightBlank(), cont, quote
}

// redecomment is decomment applied again after substitution: as in
// keepalived, a final backslash then stays.
func redecomment(l line) line {
	out, cont, _ := decomment(l, 0)
	if cont {
		out = concat(out, l.slice(len(l.text)-1, len(l.text)))
	}
	return out
}

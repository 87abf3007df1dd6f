package syntax

import (
	"github.com/lvs-ha/lvs-ha/internal/script"
)

// findBrace returns the offset of the first '{' or '}' in t that is neither
// quoted nor escaped, or -1. An unquoted "${NAME}" before it, left as is by
// substitution, is not a brace: ref is called with its offset and length.
func findBrace(t string, ref func(off, n int)) int {
	var quote byte
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '$':
			// An undefined ${NAME} is left as is; its braces are not a block.
			if n := refLen(t[i:]); n > 0 {
				ref(i, n)
				i += n - 1
			}
		case c == '{' || c == '}':
			return i
		}
	}
	return -1
}

// refLen returns the length of a "${NAME}" or "${NAME params}" at the start
// of t, or 0.
func refLen(t string) int {
	if len(t) < 4 || t[1] != '{' || !isNameStart(t[2]) {
		return 0
	}
	for i := 3; i < len(t); i++ {
		c := t[i]
		if c == '}' {
			return i + 1
		}
		if !isNameChar(c) && c != ' ' {
			return 0
		}
	}
	return 0
}

// wordScanner splits text into words following the rules of the man page
// section "Quoted strings" (keepalived's alloc_strvec_quoted_escaped): text
// between " or ' is kept together with its whitespace and the quotes are
// removed, even in the middle of a word; backslash escapes are decoded by
// [script.Unescape]. An unterminated quote is an error at its opening quote.
type wordScanner struct {
	t   string
	i   int
	buf []byte
}

// next returns the next word: its text, byte offset, whether any part was
// quoted, and the offset of a quote left open at the end of the text (-1 if
// none). ok is false when no words remain.
func (s *wordScanner) next() (text string, start int, quoted bool, openQuote int, ok bool) {
	t := s.t
	for s.i < len(t) && isSpace(t[s.i]) {
		s.i++
	}
	if s.i >= len(t) {
		return "", 0, false, -1, false
	}
	start = s.i
	openQuote = -1
	// Fast path: a plain word without quotes or escapes.
	j := s.i
	for j < len(t) && !isSpace(t[j]) && t[j] != '"' && t[j] != '\'' && t[j] != '\\' {
		j++
	}
	if j == len(t) || isSpace(t[j]) {
		s.i = j
		return t[start:j], start, false, -1, true
	}
	s.buf = append(s.buf[:0], t[start:j]...)
	var quote byte
	i := j
loop:
	for i < len(t) {
		c := t[i]
		switch {
		case c == '\\':
			var b byte
			b, i = unescape(t, i+1)
			s.buf = append(s.buf, b)
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				s.buf = append(s.buf, c)
			}
			i++
		case isSpace(c):
			break loop
		case c == '"' || c == '\'':
			quote = c
			quoted = true
			openQuote = i
			i++
		default:
			s.buf = append(s.buf, c)
			i++
		}
	}
	if quote == 0 {
		openQuote = -1
	}
	s.i = i
	return string(s.buf), start, quoted, openQuote, true
}

// unescape decodes the escape sequence whose first character (after the
// backslash) is at t[i] (see [script.Unescape]). It returns the byte produced and
// the offset after the sequence. A backslash at the very end of t stands for itself.
func unescape(t string, i int) (byte, int) {
	if i >= len(t) {
		return '\\', i
	}
	b, n := script.Unescape(t[i:])
	return b, i + n
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

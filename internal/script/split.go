package script

import (
	"errors"
	"fmt"
	"strings"
)

// ErrEmptyCommand is returned by SplitCommand for a string with no words.
var ErrEmptyCommand = errors.New("empty script command")

// SplitError reports a malformed script string.
type SplitError struct {
	Command string // the input
	Reason  string
}

func (e *SplitError) Error() string {
	return fmt.Sprintf("script %q: %s", e.Command, e.Reason)
}

// whiteSpace matches keepalived's WHITE_SPACE_STR.
const whiteSpace = " \t\f\n\r\v"

// SplitCommand splits a keepalived script string (the text after "script", "notify",
// "notify_master", ... with the config parser's outer quotes already removed) into argv,
// following keepalived's alloc_strvec_quoted_escaped:
//
//   - words are separated by unquoted spaces, tabs, newlines, CR, FF and VT;
//   - '...' and "..." group text including whitespace; quotes are removed and quoted
//     parts concatenate with adjacent text (a"b c"d is one word `ab cd`); an empty
//     pair of quotes is an empty word;
//   - a backslash escapes the next character, inside or outside quotes: \a \b \E \f \n
//     \r \t \v, \NNN (1-3 octal digits), \xHH (1-2 hex digits), \cC (control-C); any
//     other \C is C itself, so \\ is \ and \' is a literal quote.
//
// An unterminated quote, a trailing backslash, an escaped NUL (which exec cannot pass)
// or a string without words is an error.
func SplitCommand(s string) ([]string, error) {
	var (
		args  []string
		word  strings.Builder
		quote byte
		in    bool // inside a word
	)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case quote == 0 && strings.IndexByte(whiteSpace, c) >= 0:
			if in {
				args = append(args, word.String())
				word.Reset()
				in = false
			}
			i++
		case c == '\\':
			in = true
			if i+1 >= len(s) {
				return nil, &SplitError{Command: s, Reason: "trailing backslash"}
			}
			b, n := Unescape(s[i+1:])
			word.WriteByte(b)
			i += 1 + n
		case quote != 0 && c == quote:
			quote = 0
			i++
		case quote == 0 && (c == '\'' || c == '"'):
			in = true
			quote = c
			i++
		default:
			in = true
			word.WriteByte(c)
			i++
		}
	}
	if quote != 0 {
		return nil, &SplitError{Command: s, Reason: fmt.Sprintf("missing terminating %c", quote)}
	}
	if in {
		args = append(args, word.String())
	}
	for _, a := range args {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, &SplitError{Command: s, Reason: "NUL byte in argument"}
		}
	}
	if len(args) == 0 {
		return nil, ErrEmptyCommand
	}
	return args, nil
}

// Unescape decodes the keepalived escape sequence at the start of s (the text after a
// backslash, non-empty), for SplitCommand and the config parser alike. It returns the
// byte and how many bytes of s it consumed. \xHH takes up to two hex digits
// (keepalived >= 2.3.2; 2.2.x consumed any number but kept only the last byte).
func Unescape(s string) (byte, int) {
	c := s[0]
	switch {
	case c == 'x' && len(s) > 1 && isHex(s[1]):
		var v byte
		n := 1
		for ; n <= 2 && n < len(s) && isHex(s[n]); n++ {
			v = v<<4 | hexVal(s[n])
		}
		return v, n
	case c == 'c' && len(s) > 1:
		return s[1] & 0x1f, 2
	case c >= '0' && c <= '7':
		v := c - '0'
		n := 1
		for ; n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7'; n++ {
			v = v<<3 + (s[n] - '0') // wraps like keepalived's char arithmetic
		}
		return v, n
	}
	switch c {
	case 'a':
		return '\a', 1
	case 'b':
		return '\b', 1
	case 'E':
		return 0x1b, 1
	case 'f':
		return '\f', 1
	case 'n':
		return '\n', 1
	case 'r':
		return '\r', 1
	case 't':
		return '\t', 1
	case 'v':
		return '\v', 1
	}
	return c, 1
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// QuoteCommand renders argv as a /bin/sh command line, for logging and for the shell
// fallback: each word is wrapped in single quotes (an embedded quote becomes quote,
// backslash, quote, quote), except that a first word starting with < or > is left
// bare, as keepalived's cmd_str does, so that a script like "</dev/tcp/host/port" is
// a shell redirection.
func QuoteCommand(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 0 && a != "" && (a[0] == '<' || a[0] == '>') {
			b.WriteString(a)
			continue
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(a, "'", `'\''`))
		b.WriteByte('\'')
	}
	return b.String()
}

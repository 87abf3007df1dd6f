package healthcheck

import (
	"bytes"
	"fmt"
	"regexp"
)

// pcre2Options maps keepalived's regex_options names (PCRE2 compile options)
// to what RE2 needs for the same meaning: an inline flag, "" when RE2 already
// behaves so or the option changes no match result (optimisations, captures,
// syntax RE2 refuses anyway), or refuse when RE2 cannot express it.
var pcre2Options = map[string]struct {
	flag   string
	refuse string // why RE2 cannot express it
}{
	"caseless":  {flag: "i"},
	"multiline": {flag: "m"},
	"dotall":    {flag: "s"},
	"ungreedy":  {flag: "U"},
	// RE2's $ (without multiline) matches only at the very end.
	"dollar_endonly": {},
	// Enforced when matching (the start of the match is on the first line).
	"firstline": {},
	// RE2 is UTF-8 aware and its \w, \d, \b are ASCII-only (PCRE2 without UCP).
	"utf": {}, "never_utf": {}, "never_ucp": {},
	// No effect on whether the body matches.
	"no_auto_capture": {}, "no_auto_possess": {}, "no_dotstar_anchor": {},
	"no_start_optimize": {}, "dupnames": {}, "auto_callout": {},
	"use_offset_limit": {},
	// Only about syntax RE2 does not accept at all (\C, backreferences, verbs).
	"never_backslash_c": {}, "match_unset_backref": {}, "alt_verbnames": {},

	"extended":          {refuse: "RE2 has no extended mode (whitespace and # comments in the pattern)"},
	"ucp":               {refuse: "RE2's \\w, \\d and \\b are ASCII-only"},
	"allow_empty_class": {refuse: "RE2 has no empty character class []"},
	"alt_bsux":          {refuse: "RE2 has no JavaScript \\u, \\U and \\x escapes"},
	"alt_circumflex":    {refuse: "RE2 cannot change where ^ matches after a final newline"},
}

// Regex is an HTTP_GET/SSL_GET url's regex as keepalived applies it: the
// pattern compiled with regex_options, searched from regex_min_offset, and a
// match counts only when it starts at or before regex_max_offset.
type Regex struct {
	re        *regexp.Regexp
	firstLine bool
	min, max  int
}

// CompileRegex compiles pattern (RE2 syntax; keepalived uses PCRE2) with
// keepalived's regex_options. An option RE2 cannot express is an error, an
// unknown one too (keepalived ignores it silently). minOff and maxOff are
// regex_min_offset and regex_max_offset (0: not set); as in keepalived, both
// are ignored when min is beyond max.
func CompileRegex(pattern string, options []string, minOff, maxOff int) (*Regex, error) {
	flags := ""
	r := &Regex{min: minOff, max: maxOff}
	if maxOff > 0 && minOff > maxOff {
		r.min, r.max = 0, 0
	}
	for _, o := range options {
		m, ok := pcre2Options[o]
		switch {
		case !ok:
			return nil, fmt.Errorf("unknown regex_options %q", o)
		case m.refuse != "":
			return nil, fmt.Errorf("regex_options %s: not supported: %s", o, m.refuse)
		}
		flags += m.flag
		r.firstLine = r.firstLine || o == "firstline"
	}
	if flags != "" {
		pattern = "(?" + flags + ")" + pattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	r.re = re
	return r, nil
}

// Match reports whether body has a match starting in the window. The search
// starts at regex_min_offset, which RE2 treats as the start of the text (for
// ^, \A and \b; PCRE2 sees the bytes before it).
func (r *Regex) Match(body []byte) bool {
	lo := min(r.min, len(body))
	sub := body[lo:]
	loc := r.re.FindIndex(sub)
	if loc == nil {
		return false
	}
	if r.firstLine {
		if nl := bytes.IndexByte(sub, '\n'); nl >= 0 && loc[0] > nl {
			return false
		}
	}
	return r.max == 0 || lo+loc[0] <= r.max
}

// String is the pattern with its inline flags.
func (r *Regex) String() string { return r.re.String() }

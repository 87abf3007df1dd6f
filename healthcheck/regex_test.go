package healthcheck

import (
	"strings"
	"testing"
)

// keepalived's regex_options, regex_min_offset and regex_max_offset on RE2.
func TestCompileRegexOptionsAndWindow(t *testing.T) {
	body := []byte("first LINE\nsecond line\nthird")
	for _, tc := range []struct {
		pattern  string
		options  []string
		min, max int
		want     bool
	}{
		{"line", nil, 0, 0, true},   // "second line"
		{"LINE$", nil, 0, 0, false}, // $ is the end of the body
		{"LINE$", []string{"multiline"}, 0, 0, true},
		{"^second", nil, 0, 0, false},
		{"^second", []string{"multiline"}, 0, 0, true},
		{"LINE.second", nil, 0, 0, false},
		{"LINE.second", []string{"dotall"}, 0, 0, true},
		{"first line", nil, 0, 0, false},
		{"first line", []string{"caseless"}, 0, 0, true},
		{"sec.*n", []string{"ungreedy", "dollar_endonly", "no_auto_capture"}, 0, 0, true},
		{"second", []string{"firstline"}, 0, 0, false}, // starts after the first newline
		{"LINE", []string{"firstline"}, 0, 0, true},
		{"second", []string{"firstline"}, 11, 0, true}, // the first line from the start offset
		{"first", nil, 1, 0, false},
		{"third", nil, 23, 0, true},
		{"third", nil, 24, 0, false},
		{"third", nil, 0, 22, false}, // the match starts at 23
		{"third", nil, 0, 23, true},
		{"first", nil, 5, 3, true}, // min beyond max: both ignored, as keepalived
		{"first", nil, 100, 0, false},
	} {
		r, err := CompileRegex(tc.pattern, tc.options, tc.min, tc.max)
		if err != nil {
			t.Errorf("%q %v: %v", tc.pattern, tc.options, err)
			continue
		}
		if got := r.Match(body); got != tc.want {
			t.Errorf("%q %v min %d max %d: match %v, want %v", tc.pattern, tc.options, tc.min, tc.max, got, tc.want)
		}
	}
	for _, tc := range []struct {
		pattern string
		options []string
		err     string
	}{
		{"a b", []string{"extended"}, "regex_options extended: not supported: RE2 has no extended mode"},
		{`\w`, []string{"ucp"}, "regex_options ucp: not supported"},
		{"[]a]", []string{"allow_empty_class"}, "regex_options allow_empty_class: not supported"},
		{"a", []string{"alt_bsux"}, "regex_options alt_bsux: not supported"},
		{"a", []string{"alt_circumflex"}, "regex_options alt_circumflex: not supported"},
		{"a", []string{"casless"}, `unknown regex_options "casless"`},
		{"(?<=a)b", nil, "error parsing regexp"},
	} {
		_, err := CompileRegex(tc.pattern, tc.options, 0, 0)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q %v: error %v, want %q", tc.pattern, tc.options, err, tc.err)
		}
	}
}

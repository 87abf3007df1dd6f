package script

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string // substring; "" means success
	}{
		{in: "/bin/check", want: []string{"/bin/check"}},
		{in: "  /bin/check   a\tb\n", want: []string{"/bin/check", "a", "b"}},
		{in: "/x 'a b' c", want: []string{"/x", "a b", "c"}},
		{in: `/x "a b" c`, want: []string{"/x", "a b", "c"}},
		{in: `abcd" efg h jkl "mnop`, want: []string{"abcd efg h jkl mnop"}},
		{in: `abcd "efg h jkl" mnop`, want: []string{"abcd", "efg h jkl", "mnop"}},
		{in: `/x "it's" 'say "hi"'`, want: []string{"/x", "it's", `say "hi"`}},
		{in: `/x '' b`, want: []string{"/x", "", "b"}},
		{in: `/x a''b`, want: []string{"/x", "ab"}},
		{in: `/x a\ b`, want: []string{"/x", "a b"}},
		{in: `/x \\ \" \'`, want: []string{"/x", `\`, `"`, `'`}},
		{in: `/x "\"q\""`, want: []string{"/x", `"q"`}},
		{in: `/x '\n\t'`, want: []string{"/x", "\n\t"}},
		{in: `/x \a\b\E\f\n\r\t\v`, want: []string{"/x", "\a\b\x1b\f\n\r\t\v"}},
		{in: `/x \101\1012 \7z`, want: []string{"/x", "AA2", "\x07z"}},
		{in: `/x \x41\x4a4 \xg`, want: []string{"/x", "AJ4", "xg"}},
		{in: `/x \cA\c[`, want: []string{"/x", "\x01\x1b"}},
		{in: `/x \q`, want: []string{"/x", "q"}},
		{in: `/x \c`, want: []string{"/x", "c"}},
		{in: `/x \377`, want: []string{"/x", "\xff"}},
		{in: `/x \777`, want: []string{"/x", "\xff"}}, // wraps like C char arithmetic
		{in: "", err: "empty"},
		{in: " \t ", err: "empty"},
		{in: `/x 'abc`, err: "missing terminating '"},
		{in: `/x "abc`, err: `missing terminating "`},
		{in: `/x abc\`, err: "trailing backslash"},
		{in: `/x \0`, err: "NUL"},
		{in: `/x \x00`, err: "NUL"},
	}
	for _, tt := range tests {
		got, err := SplitCommand(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("SplitCommand(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := SplitCommand(""); !errors.Is(err, ErrEmptyCommand) {
		t.Errorf("empty: %v, want ErrEmptyCommand", err)
	}
	var se *SplitError
	if _, err := SplitCommand(`'x`); !errors.As(err, &se) || se.Command != `'x` {
		t.Errorf("unterminated: %v, want *SplitError naming the input", err)
	}
}

func TestQuoteCommand(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"/x", "a b", "it's"}, `'/x' 'a b' 'it'\''s'`},
		{[]string{"</dev/tcp/127.0.0.1/80"}, `</dev/tcp/127.0.0.1/80`},
		{[]string{"/x", ">y"}, `'/x' '>y'`},
	}
	for _, tt := range tests {
		if got := QuoteCommand(tt.in); got != tt.want {
			t.Errorf("QuoteCommand(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{"/bin/x a 'b c'", `a"b c"d \x41 \101 \cA`, `'`, `\`, "", `"a\"b"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, err := SplitCommand(s)
		if err != nil {
			if len(args) != 0 {
				t.Fatalf("error with args: %q", args)
			}
			return
		}
		if len(args) == 0 {
			t.Fatal("no args and no error")
		}
		for _, a := range args {
			if strings.IndexByte(a, 0) >= 0 {
				t.Fatalf("NUL in %q", a)
			}
		}
		// Words without special characters survive a re-join.
		plain := true
		for _, a := range args {
			if a == "" || strings.ContainsAny(a, whiteSpace+`'"\`) {
				plain = false
			}
		}
		if plain {
			again, err := SplitCommand(strings.Join(args, " "))
			if err != nil || !reflect.DeepEqual(again, args) {
				t.Fatalf("rejoin of %q gave %q, %v", args, again, err)
			}
		}
	})
}

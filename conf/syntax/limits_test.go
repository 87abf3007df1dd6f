package syntax

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestPathological(t *testing.T) {
	small := Limits{MaxLines: 5000, MaxStatements: 1000, MaxLineLength: 4096, MaxSubstitutions: 500, MaxExpansionDepth: 8, MaxBlockDepth: 16, MaxDiagnostics: 20}
	cases := []struct {
		name   string
		src    string
		limits Limits
		want   string   // render, "-" to skip
		diags  []string // nil: some error
	}{
		{
			name:  "self-referencing definition",
			src:   "$A=$A\na $A\nb\n",
			want:  "b",
			diags: []string{"t.conf:2:3: more than 10000 parameter substitutions in one line (is $A defined recursively?); line ignored"},
		},
		{
			name:  "growing definition",
			src:   "$A=xxxxxxxxxx$A\na $A\nb\n",
			want:  "b",
			diags: []string{"t.conf:2:3: line longer than 65536 bytes after parameter substitution; line ignored"},
		},
		{
			name:  "doubling definition",
			src:   "$A=${A}${A}\na $A\n",
			want:  "",
			diags: []string{"t.conf:2:3: more than 10000 parameter substitutions in one line (is $A defined recursively?); line ignored"},
		},
		{
			name:   "mutually recursive definitions",
			src:    "$A=$B\n$B=$A\na $A\n",
			limits: small,
			want:   "",
			diags:  []string{"t.conf:3:3: more than 500 parameter substitutions in one line (is $A defined recursively?); line ignored"},
		},
		{
			name:   "tail-recursive multi-line definition",
			src:    "$M= \\\n x \\\n $M\n$M\n",
			limits: small,
			want:   "-",
			diags:  []string{"t.conf:2:2: more than 1000 statements (limit)"},
		},
		{
			name:   "recursive multi-line definition",
			src:    "$M= \\\n $M \\\n x\n$M\n",
			limits: small,
			want:   "-",
			diags:  []string{"t.conf:2:2: multi-line definitions and ~SEQ/~LST blocks nested too deeply (limit 8; is $M defined recursively?); line ignored"},
		},
		{
			name:   "recursive sequence",
			src:    "$S=~SEQ(I,1,2) $S\n$S\n",
			limits: small,
			want:   "-",
			diags: []string{
				"t.conf:2:1: ~SEQ/~LST blocks and multi-line definitions nested too deeply (limit 8)",
				"t.conf:2:1: configuration expands to more than 5000 lines (limit)",
			},
		},
		{
			name:   "huge sequence",
			src:    "~SEQ(I, 1, 9223372036854775807) x$I\n",
			limits: small,
			want:   "-",
			diags:  []string{"t.conf:1:33: more than 1000 statements (limit)"},
		},
		{
			name:   "huge empty sequence",
			src:    "~SEQ(A, 1, 1000000) ~SEQ(B, 1, 1000000)\n",
			limits: small,
			want:   "",
			diags:  []string{"t.conf:1:40: configuration expands to more than 5000 lines (limit)"},
		},
		{
			name:   "sequence at the edge of int64",
			src:    "~SEQ(I, 9223372036854775806, 9223372036854775807) a$I\n~SEQ(I, -9223372036854775807, -1, -9223372036854775808) b$I\n",
			limits: small,
			want:   "a9223372036854775806; a9223372036854775807; b-9223372036854775807; b-9223372036854775808",
			diags:  []string{},
		},
		{
			name:   "deep nesting",
			src:    strings.Repeat("a {\n", 100) + strings.Repeat("}\n", 100) + "z\n",
			limits: small,
			want:   "-",
			diags:  []string{"t.conf:17:3: blocks nested too deeply (limit 16); block ignored"},
		},
		{
			name:   "long line",
			src:    "a " + strings.Repeat("x", 5000) + "\nb\n",
			limits: small,
			want:   "b",
			diags:  []string{"t.conf:1:1: line too long (5002 bytes, limit 4096); line ignored"},
		},
		{
			name:   "long continued line",
			src:    strings.Repeat("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx \\\n", 200) + "b\n",
			limits: small,
			want:   "",
			diags:  []string{"t.conf:1:1: continued line too long (limit 4096 bytes); line ignored"},
		},
		{
			name:  "NUL byte",
			src:   "a\x00b\nc\n",
			want:  "c",
			diags: []string{"t.conf:1:2: NUL byte in line; line ignored"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := memFS{}.opts()
			opts.Limits = tc.limits
			ns, ds := Parse("t.conf", []byte(tc.src), opts)
			if got := render(ns); tc.want != "-" && got != tc.want {
				t.Errorf("tree:\n got %s\nwant %s", got, tc.want)
			}
			got := diagStrings(ds)
			if tc.diags == nil {
				if !ds.HasErrors() {
					t.Errorf("no error")
				}
				return
			}
			if len(got) == 0 && len(tc.diags) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.diags) {
				t.Errorf("diagnostics:\n got %q\nwant %q", got, tc.diags)
			}
		})
	}
}

func TestTooManyDiagnostics(t *testing.T) {
	opts := memFS{}.opts()
	opts.Limits.MaxDiagnostics = 5
	_, ds := Parse("t.conf", []byte(strings.Repeat("}\n", 30)), opts)
	if len(ds) != 6 || ds[5].Msg != "too many problems (limit 5); giving up" {
		t.Errorf("got %q", diagStrings(ds))
	}
}

func TestManyFiles(t *testing.T) {
	m := memFS{"/m.conf": "include /d/*.conf\n"}
	for i := range 20 {
		m[fmt.Sprintf("/d/%02d.conf", i)] = "x\n"
	}
	opts := m.opts()
	opts.Limits.MaxFiles = 10
	ns, ds := ParseFile("/m.conf", opts)
	if len(ns) != 9 || !reflect.DeepEqual(diagStrings(ds), []string{`/m.conf:1:9: include "/d/09.conf": more than 10 files (limit)`}) {
		t.Errorf("got %d nodes, %q", len(ns), diagStrings(ds))
	}
	opts.Limits = Limits{MaxInputBytes: 50}
	_, ds = ParseFile("/m.conf", opts)
	if !reflect.DeepEqual(diagStrings(ds), []string{`/m.conf:1:9: configuration larger than 50 bytes (limit)`}) {
		t.Errorf("got %q", diagStrings(ds))
	}
}

// TestFloods feeds large hostile inputs with the default limits: each must
// end (in time linear in its size) with the expected outcome.
func TestFloods(t *testing.T) {
	for _, tc := range []struct {
		name    string
		src     string
		wantErr bool
	}{
		{"braces", strings.Repeat("a{", 30000) + "\n", true},
		{"closing braces", strings.Repeat("}", 60000) + "\n", true},
		{"braces and dollars", strings.Repeat("a{$U ", 10000) + "\n", true},
		{"undefined references", strings.Repeat("${U}", 16000) + "\n", true}, // 1000 warnings then "too many problems"
		{"many substitutions", "$X=y\n" + strings.Repeat("$X ", 9000) + "\n", false},
		{"too many substitutions", "$X=y\n" + strings.Repeat("$X ", 20000) + "\n", true},
		{"continuations", strings.Repeat("a \\\n", 100000), true},
		{"words", strings.Repeat("x ", 30000) + "\n", false},
		{"inline blocks", strings.Repeat("x{y}", 15000) + "\n", false},
		{"conditionals", strings.Repeat("@^a{", 15000) + " x\n", false},
		{"quotes", strings.Repeat("'a'\"b\"", 10000) + "\n", false},
		{"list", "~LST(A" + strings.Repeat(",1", 30000) + ") x\n", false},
		{"include alternatives", "include " + strings.Repeat("{a,b}", 10) + "\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns, ds := Parse("/t.conf", []byte(tc.src), memFS{}.opts())
			if ds.HasErrors() != tc.wantErr {
				t.Errorf("errors = %v, want %v (%d diagnostics)", ds.HasErrors(), tc.wantErr, len(ds))
			}
			checkTree(t, ns, 0)
		})
	}
}

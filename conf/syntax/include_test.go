package syntax

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeTree creates files (path relative to dir => content).
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIncludeDisk(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  string
		pos   string // positions with files, DIR for the directory
		diags []string
	}{
		{
			name: "relative to the including file",
			files: map[string]string{
				"keepalived.conf": "a\ninclude sub/c.conf\nz\n",
				"sub/c.conf":      "c1\ninclude ../other/d.conf\nc2\n",
				"other/d.conf":    "d1\n",
			},
			want: "a; c1; d1; c2; z",
			pos:  "a@DIR/keepalived.conf:1:1 c1@DIR/sub/c.conf:1:1 d1@DIR/other/d.conf:1:1 c2@DIR/sub/c.conf:3:1 z@DIR/keepalived.conf:3:1",
		},
		{
			name: "absolute path",
			files: map[string]string{
				"keepalived.conf": "include DIR/x.conf\n",
				"x.conf":          "x\n",
			},
			want: "x",
		},
		{
			name: "wildcards in order",
			files: map[string]string{
				"keepalived.conf": "include conf.d/*.conf\n",
				"conf.d/b.conf":   "b\n",
				"conf.d/a.conf":   "a\n",
				"conf.d/c.txt":    "c\n",
				"conf.d/d.conf":   "d\n",
			},
			want: "a; b; d",
		},
		{
			name: "brace expansion keeps the order of alternatives",
			files: map[string]string{
				"keepalived.conf": "include {z,a/{y,x}}.conf\n",
				"z.conf":          "z\n",
				"a/y.conf":        "y\n",
				"a/x.conf":        "x\n",
			},
			want: "z; y; x",
		},
		{
			name: "missing file",
			files: map[string]string{
				"keepalived.conf": "a\ninclude   nothere.conf\nb\n",
			},
			want:  "a; b",
			diags: []string{`DIR/keepalived.conf:2:11: warning: include "DIR/nothere.conf": no such file; skipped`},
		},
		{
			name: "missing brace alternative",
			files: map[string]string{
				"keepalived.conf": "include {a,b}.conf\n",
				"a.conf":          "a\n",
			},
			want:  "a",
			diags: []string{`DIR/keepalived.conf:1:9: warning: include "DIR/b.conf": no such file; skipped`},
		},
		{
			name: "wildcard matching nothing is fine for include",
			files: map[string]string{
				"keepalived.conf": "include conf.d/*.conf\nincluder conf.d/*.conf\nincludem nothing/*\nincludeb {x,y}*\nx\n",
			},
			want: "x",
		},
		{
			name: "includew and includea want a match",
			files: map[string]string{
				"keepalived.conf": "includew conf.d/*.conf\nincludea x?.conf\n",
			},
			want: "",
			diags: []string{
				`DIR/keepalived.conf:1:10: include "conf.d/*.conf": no files match`,
				`DIR/keepalived.conf:2:10: include "x?.conf": no files match`,
			},
		},
		{
			name: "include_check applies to later includes of the file",
			files: map[string]string{
				"keepalived.conf": "include conf.d/*.conf\nglobal_defs {\n  include_check wildcard_match\n}\ninclude sub/s.conf\ninclude conf.d/*.conf\n",
				"sub/s.conf":      "global_defs {\n include_check -wildcard_match\n}\ninclude none/*\n",
			},
			want: "global_defs { include_check wildcard_match }; global_defs { include_check -wildcard_match }",
			// the setting made in s.conf ends with it
			diags: []string{`DIR/keepalived.conf:6:9: include "conf.d/*.conf": no files match`},
		},
		{
			name: "unknown include_check",
			files: map[string]string{
				"keepalived.conf": "global_defs {\n include_check bogus match\n}\n",
			},
			want: "global_defs { include_check bogus match }",
			diags: []string{
				`DIR/keepalived.conf:2:16: include_check: unknown check "bogus" (want read, match, wildcard_match or brace_match)`,
				`DIR/keepalived.conf:2:22: include_check: "match" must be +match or -match after the first option`,
			},
		},
		{
			name: "directory",
			files: map[string]string{
				"keepalived.conf": "include conf.d\ninclude c*\n",
				"conf.d/x":        "x\n",
			},
			want: "",
			diags: []string{
				`DIR/keepalived.conf:1:9: include "DIR/conf.d": is a directory`,
				`DIR/keepalived.conf:2:9: warning: include "DIR/conf.d": is a directory; skipped`,
			},
		},
		{
			name: "cycle",
			files: map[string]string{
				"keepalived.conf": "include a.conf\nend\n",
				"a.conf":          "a\ninclude sub/b.conf\n",
				"sub/b.conf":      "b\ninclude ../a.conf\n",
			},
			want:  "a; b; end",
			diags: []string{`DIR/sub/b.conf:2:9: include cycle: DIR/keepalived.conf -> DIR/a.conf -> DIR/sub/b.conf -> DIR/a.conf`},
		},
		{
			name: "self include",
			files: map[string]string{
				"keepalived.conf": "include *.conf\nx\n",
			},
			want:  "x",
			diags: []string{`DIR/keepalived.conf:1:9: include cycle: DIR/keepalived.conf -> DIR/keepalived.conf`},
		},
		{
			name: "diagnostics name the included file",
			files: map[string]string{
				"keepalived.conf": "a {\ninclude b.conf\n}\n",
				"b.conf":          "b \"x\n}\n}\n",
			},
			want: "a { b x }",
			diags: []string{
				`DIR/b.conf:1:3: unterminated quoted string`,
				`DIR/b.conf:3:1: unbalanced '}': no block is open`,
				`DIR/keepalived.conf:3:1: unbalanced '}': no block is open`,
			},
		},
		{
			name: "blocks span files",
			files: map[string]string{
				"keepalived.conf": "virtual_server 10.0.0.1 80 {\n  include rs/*.conf\n}\n",
				"rs/1.conf":       "real_server 10.0.0.2 80 {\n  weight 1\n}\n",
				"rs/2.conf":       "real_server 10.0.0.3 80 {\n  weight 2\n}\n",
			},
			want: "virtual_server 10.0.0.1 80 { real_server 10.0.0.2 80 { weight 1 }; real_server 10.0.0.3 80 { weight 2 } }",
		},
		{
			name: "conditional and substituted include",
			files: map[string]string{
				"keepalived.conf": "@main include a.conf\n@backup include b.conf\n$F=b.conf\ninclude $F\n",
				"a.conf":          "a\n",
				"b.conf":          "b\n",
			},
			want: "a; b",
		},
		{
			name: "definitions cross files and _PWD is the file's directory",
			files: map[string]string{
				"keepalived.conf": "$X=1\ninclude sub/s.conf\nb $Y\n",
				"sub/s.conf":      "a $X ${_PWD}\n$Y=2\n",
			},
			want: "a 1 DIR/sub; b 2",
		},
		{
			name: "missing file name",
			files: map[string]string{
				"keepalived.conf": "include\nincludea   \nincludex a\n",
			},
			want:  "includex a",
			diags: []string{"DIR/keepalived.conf:1:1: include: missing file name", "DIR/keepalived.conf:2:1: includea: missing file name"},
		},
		{
			name: "quotes are part of the name (keepalived)",
			files: map[string]string{
				"keepalived.conf": "include \"a.conf\"\n",
				"a.conf":          "a\n",
			},
			want:  "",
			diags: []string{`DIR/keepalived.conf:1:9: warning: include "DIR/\"a.conf\"": no such file; skipped`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{}
			for k, v := range tc.files {
				files[k] = strings.ReplaceAll(v, "DIR", dir)
			}
			writeTree(t, dir, files)
			ns, ds := ParseFile(filepath.Join(dir, "keepalived.conf"), Options{ConfigID: "main"})
			if got := strings.ReplaceAll(render(ns), dir, "DIR"); got != tc.want {
				t.Errorf("tree:\n got %s\nwant %s", got, tc.want)
			}
			if tc.pos != "" {
				if got := strings.ReplaceAll(positions(ns, true), dir, "DIR"); got != tc.pos {
					t.Errorf("positions:\n got %s\nwant %s", got, tc.pos)
				}
			}
			var got []string
			for _, d := range ds {
				got = append(got, strings.ReplaceAll(d.String(), dir, "DIR"))
			}
			if !reflect.DeepEqual(got, tc.diags) {
				t.Errorf("diagnostics:\n got %q\nwant %q", got, tc.diags)
			}
		})
	}
}

func TestParseFileMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "none.conf")
	ns, ds := ParseFile(p, Options{ConfigID: "x"})
	if ns != nil || len(ds) != 1 || ds[0].String() != p+":1:1: cannot read configuration: no such file or directory" {
		t.Errorf("got %v %q", ns, diagStrings(ds))
	}
}

func TestIncludeRelativeMainName(t *testing.T) {
	// A main file given without a directory resolves includes from ".",
	// and diagnostics use the relative names.
	m := memFS{"keepalived.conf": "include sub/a.conf\n", "sub/a.conf": "x \"\n"}
	_, ds := ParseFile("keepalived.conf", m.opts())
	if got := diagStrings(ds); !reflect.DeepEqual(got, []string{"sub/a.conf:1:3: unterminated quoted string"}) {
		t.Errorf("got %q", got)
	}
}

func TestIncludeDepth(t *testing.T) {
	m := memFS{}
	for i := range 40 {
		m[fmt.Sprintf("/c/%d.conf", i)] = fmt.Sprintf("l%d\ninclude %d.conf\n", i, i+1)
	}
	ns, ds := ParseFile("/c/0.conf", m.opts())
	if len(ns) != 32 {
		t.Errorf("got %d statements, want 32", len(ns))
	}
	if got := diagStrings(ds); !reflect.DeepEqual(got, []string{`/c/31.conf:2:9: include "/c/32.conf": includes nested too deeply (limit 32)`}) {
		t.Errorf("got %q", got)
	}
}

func TestBraceExpand(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}},
		{"{a,b}", []string{"a", "b"}},
		{"x{a,b}y{1,2}", []string{"xay1", "xay2", "xby1", "xby2"}},
		{"{foo/{,cat,dog},bar}", []string{"foo/", "foo/cat", "foo/dog", "bar"}},
		{"{a}", []string{"a"}},
		{"a{}b{c,d}", []string{"a{}bc", "a{}bd"}},
		{"a{b", []string{"a{b"}},
		{`a\{b,c}`, []string{`a\{b,c}`}},
	} {
		got, ok := braceExpand(tc.in)
		if !ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("braceExpand(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
	if _, ok := braceExpand(strings.Repeat("{a,b}", 11)); ok {
		t.Error("2^11 alternatives accepted")
	}
	if _, ok := braceExpand(strings.Repeat("{", 5000) + "a" + strings.Repeat("}", 5000)); ok {
		t.Error("deep nesting accepted")
	}
}

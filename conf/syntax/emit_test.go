package syntax

import (
	"path/filepath"
	"reflect"
	"testing"
)

// ParseFileFunc and ParseFunc hand over the statements ParseFile and Parse
// return, in order, each complete (its block closed, a '{' on the next
// line taken), with the same diagnostics; and without keeping them.
func TestParseFuncEmitsTheTree(t *testing.T) {
	srcs := map[string]string{
		"blocks":    "a 1\nb {\n  c 2\n  d {\n    e\n  }\n}\nf\n{\n  g\n}\nh { i } j\n",
		"errors":    "a {\n b\n}\n}\nc \"open\nd {\n e\n",
		"unclosed":  "x {\n y {\n",
		"empty":     "",
		"braceline": "k\n{\n l\n}\n",
	}
	files, _ := filepath.Glob("../testdata/*.conf")
	for _, f := range files {
		want, wantDs := ParseFile(f, Options{ConfigID: "x"})
		var got []*Node
		ds := ParseFileFunc(f, Options{ConfigID: "x"}, func(n *Node) { got = append(got, n) })
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(ds, wantDs) {
			t.Errorf("%s: ParseFileFunc differs from ParseFile", f)
		}
	}
	for name, src := range srcs {
		want, wantDs := Parse(name, []byte(src), Options{ConfigID: "x"})
		var got []*Node
		ds := ParseFunc(name, []byte(src), Options{ConfigID: "x"}, func(n *Node) { got = append(got, n) })
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(ds, wantDs) {
			t.Errorf("%s: ParseFunc gave %d statements, %v; Parse %d, %v", name, len(got), ds, len(want), wantDs)
		}
	}
}

// The builder keeps no emitted statement.
func TestParseFuncKeepsNothing(t *testing.T) {
	src := largeConfig(50, 3)
	want, _ := Parse("big", src, Options{ConfigID: "x"})
	p := newParser(Options{ConfigID: "x"})
	n := 0
	p.b.emit = func(*Node) { n++ }
	p.run("big", src)
	if n != len(want) || n < 50 || len(p.b.root) > 1 {
		t.Fatalf("emitted %d, root keeps %d", n, len(p.b.root))
	}
}

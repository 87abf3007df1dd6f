package metrics

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// docSeries is one row of docs/metrics.md: name, type and sorted labels.
type docSeries struct{ name, typ, labels string }

func (d docSeries) String() string { return fmt.Sprintf("%s %s {%s}", d.name, d.typ, d.labels) }

// parseDoc reads the table rows "| `name` | type | `l1`, `l2` | meaning |".
func parseDoc(t *testing.T, path string) []docSeries {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []docSeries
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 4 {
			t.Fatalf("%s:%d: want | name | type | labels | meaning |, got %q", path, n, line)
		}
		clean := func(s string) string { return strings.Trim(strings.TrimSpace(s), "`") }
		var labels []string
		for l := range strings.SplitSeq(cells[2], ",") {
			if l = clean(l); l != "" && l != "—" {
				labels = append(labels, l)
			}
		}
		slices.Sort(labels)
		out = append(out, docSeries{clean(cells[0]), strings.TrimSpace(cells[1]), strings.Join(labels, ",")})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDocsListEverySeries checks that docs/metrics.md lists exactly the
// families the registry exposes (Go and process collectors excepted), with
// their types and label names.
func TestDocsListEverySeries(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "metrics.md")
	doc := slices.DeleteFunc(parseDoc(t, path), func(d docSeries) bool {
		return strings.HasPrefix(d.name, "lvs_ha_bgp_") // the bgp package's, checked there
	})
	reg, _ := newFull(t)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []docSeries
	for _, mf := range mfs {
		var labels []string
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if !slices.Contains(labels, lp.GetName()) {
					labels = append(labels, lp.GetName())
				}
			}
		}
		slices.Sort(labels)
		got = append(got, docSeries{mf.GetName(), strings.ToLower(mf.GetType().String()), strings.Join(labels, ",")})
	}
	in := func(list []docSeries) map[docSeries]bool {
		m := map[docSeries]bool{}
		for _, d := range list {
			m[d] = true
		}
		return m
	}
	inDoc, inReg := in(doc), in(got)
	var diff []string
	for _, d := range got {
		if !inDoc[d] {
			diff = append(diff, "+ "+d.String()+"   (exposed, missing from docs/metrics.md)")
		}
	}
	for _, d := range doc {
		if !inReg[d] {
			diff = append(diff, "- "+d.String()+"   (in docs/metrics.md, not exposed)")
		}
	}
	if len(doc) != len(inDoc) {
		diff = append(diff, "docs/metrics.md lists a series twice")
	}
	if len(diff) > 0 {
		t.Errorf("docs/metrics.md is out of step with the registry:\n%s", strings.Join(diff, "\n"))
	}
}

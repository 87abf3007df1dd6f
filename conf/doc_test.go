package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const docPath = "../docs/config.md"

// TestKeywordDoc: docs/config.md is generated from the keyword tables and
// lists every keyword the code accepts.
func TestKeywordDoc(t *testing.T) {
	want := KeywordDoc()
	if *update {
		if err := os.MkdirAll(filepath.Dir(docPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(docPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("%v (generate it: go test ./conf -run TestKeywordDoc -update)", err)
	}
	doc := string(b)
	// Every accepted keyword appears in its block's section.
	sections := map[string]string{}
	for i, blk := range blockOrder {
		start := strings.Index(doc, "\n## "+blk.heading+"\n")
		if start < 0 {
			t.Errorf("docs/config.md has no section %q", blk.heading)
			continue
		}
		end := len(doc)
		if i+1 < len(blockOrder) {
			if e := strings.Index(doc[start+1:], "\n## "+blockOrder[i+1].heading+"\n"); e >= 0 {
				end = start + 1 + e
			}
		}
		sections[blk.block] = doc[start:end]
	}
	n := 0
	for _, k := range Keywords() {
		n++
		if !strings.Contains(sections[k.Block], "| `"+k.Keyword+"`") {
			t.Errorf("docs/config.md: %s section lacks keyword %q", k.Block, k.Keyword)
		}
	}
	if doc != want {
		t.Errorf("docs/config.md is out of date: run go test ./conf -run TestKeywordDoc -update")
	}
	t.Logf("%d keywords documented", n)
}

// TestEveryKeywordIsDispatchable: each implemented keyword has a handler and
// every table is reachable from the documentation order.
func TestEveryKeywordIsDispatchable(t *testing.T) {
	for _, tb := range registry {
		for _, k := range tb.info() {
			if k.Meaning == "" {
				t.Errorf("%s %s: no meaning", k.Block, k.Keyword)
			}
		}
	}
	for _, tbl := range []interface{ check(*testing.T) }{rootTable, globalTable, instanceTable, scriptTable, vsTable, rsTable, urlTable} {
		tbl.check(t)
	}
}

func (tb *table[T]) check(t *testing.T) {
	for _, k := range tb.kws {
		if k.status == Works && k.fn == nil {
			t.Errorf("%s %s: works without handler", tb.block, k.name)
		}
		if k.status == parsed {
			t.Errorf("%s %s: status not settled", tb.block, k.name)
		}
	}
}

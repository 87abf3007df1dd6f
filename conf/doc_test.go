package conf

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
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

// TestREADMEAgreesWithKeywordDoc: the keywords README's status table names
// (in backquotes) have the status docs/config.md gives them: those in a
// "not yet" row are warned wherever they appear, the others work somewhere.
func TestREADMEAgreesWithKeywordDoc(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string][]Status{}
	for _, k := range Keywords() {
		statuses[k.Keyword] = append(statuses[k.Keyword], k.Status)
	}
	_, table, ok := strings.Cut(string(b), "## Status against keepalived and ipvsadm\n")
	if !ok {
		t.Fatal("README.md has no status table")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	tick := regexp.MustCompile("`([a-z][a-z0-9_-]*)`")
	checked := 0
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 3 {
			continue
		}
		notYet := strings.HasPrefix(cells[2], "not yet")
		for _, m := range tick.FindAllStringSubmatch(cells[0], -1) {
			st := statuses[m[1]]
			if st == nil {
				continue // a command, a metric...
			}
			checked++
			switch {
			case notYet && slices.ContainsFunc(st, func(s Status) bool { return s != Warned }):
				t.Errorf("README says %q is not yet supported; docs/config.md: %v", m[1], st)
			case !notYet && !slices.Contains(st, Works):
				t.Errorf("README says %q is supported; docs/config.md: %v", m[1], st)
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d keywords checked in README's table", checked)
	}
}

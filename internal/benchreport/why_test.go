package benchreport

import (
	"os"
	"strings"
	"testing"
)

const sampleWhy = `# comment
figures: rss hwm_*
kind: cannot
why: the binary's code pages
  are resident
shown by: /proc/PID/pagemap

figures: takeover*
kind: noise
why: keepalived's own p50 moves as much
shown by: repeated runs
`

// TestWhyExplains: each figure above 1.00 is listed with the first reason
// whose globs match it, figures at or below 1.00 are not listed, and a
// figure no reason matches is shown as such.
func TestWhyExplains(t *testing.T) {
	whys, err := ParseWhy(strings.NewReader(sampleWhy))
	if err != nil {
		t.Fatal(err)
	}
	if len(whys) != 2 || whys[0].Why != "the binary's code pages are resident" || whys[0].Line != 2 || whys[1].Line != 8 {
		t.Fatalf("parsed %+v", whys)
	}
	rep, err := Parse(strings.NewReader("SOURCE\ts.sh\tbash s.sh\n" +
		"BENCH name=rss lvsha=3 ref=1 unit=MiB\n" +
		"BENCH name=hwm_end lvsha=2 ref=1 unit=MiB\n" +
		"BENCH name=takeover_p50 lvsha=1.2 ref=1 unit=ms\n" +
		"BENCH name=cpu lvsha=1.5 ref=1 unit=s\n" +
		"BENCH name=late lvsha=0.5 ref=1 unit=ms\n" +
		"STATUS\tok\t\t1\n"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Render(&b, rep, "make bench-compare", whys); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"4 of this run's ratios are above 1.00: 2 where lvs-ha as built cannot reach 1.00 (cannot), 0 where reaching it costs a figure that counts more (trade-off), 1 within the run-to-run spread (noise), 0 explained in part or not yet reduced (open), 1 without a recorded reason.",
		"| `rss` (3.00), `hwm_end` (2.00) | cannot | the binary's code pages are resident | /proc/PID/pagemap |\n",
		"| `takeover_p50` (1.20) | noise | keepalived's own p50 moves as much | repeated runs |\n",
		"| `cpu` (1.50) | **no reason recorded** | - | - |\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "`late` (") {
		t.Errorf("a ratio below 1.00 is listed:\n%s", md)
	}
	if i, j := strings.Index(md, "## Ratios above 1.00"), strings.Index(md, "## `s.sh`"); i < 0 || j < i {
		t.Errorf("the reasons do not come before the figures:\n%s", md)
	}
}

func TestParseWhyErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"kind: cannot\nwhy: x\nshown by: y\n", "line 1: entry without figures"},
		{"figures: a\nkind: maybe\nwhy: x\nshown by: y\n", `line 1: kind "maybe"`},
		{"\n\nfigures: a\nkind: open\nwhy: x\n", "line 3: entry for a needs why and shown by"},
		{"figures: a[\nkind: open\nwhy: x\nshown by: y\n", `line 1: figure glob "a["`},
		{"figures: a\nkind: open\nbecause: x\n", `line 3: want figures:, kind:, why: or shown by:`},
	} {
		if _, err := ParseWhy(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseWhy(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

// TestRepoWhy: the reasons compare.sh renders parse; every ratio above
// 1.00 in the committed report has one, and every entry's globs match a
// figure of that report, so that neither a new ratio above 1.00 nor a reason
// for a figure that is gone passes unnoticed.
func TestRepoWhy(t *testing.T) {
	f, err := os.Open("../../integration/bench/why.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	whys, err := ParseWhy(f)
	if err != nil {
		t.Fatalf("integration/bench/why.txt: %v", err)
	}
	md, err := os.ReadFile("../../docs/benchmarks.md")
	if err != nil {
		t.Fatal(err)
	}
	// The figures' rows: | `name` (note) | lvs-ha | reference | unit | ratio |
	var all, high []above
	for _, line := range strings.Split(string(md), "\n") {
		rest, ok := strings.CutPrefix(line, "| `")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, "`")
		cells := strings.Split(strings.TrimSuffix(line, " |"), " | ")
		if len(cells) < 5 {
			continue
		}
		ratio := strings.Trim(cells[len(cells)-1], "* ")
		all = append(all, above{name, ratio})
		if isAbove(ratio) {
			high = append(high, above{name, ratio})
		}
	}
	if len(all) == 0 {
		t.Fatal("docs/benchmarks.md: no figures found")
	}
	if _, none := explain(whys, high); len(none) > 0 {
		t.Errorf("docs/benchmarks.md has ratios above 1.00 that integration/bench/why.txt does not explain: %s", figureList(none))
	}
	for _, w := range whys {
		for _, g := range w.Figures {
			if by, _ := explain([]Why{{Figures: []string{g}}}, all); len(by[0]) == 0 {
				t.Errorf("integration/bench/why.txt line %d: %q matches no figure of docs/benchmarks.md", w.Line, g)
			}
		}
	}
}

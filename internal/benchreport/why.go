package benchreport

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// Kinds of reason a ratio is above 1.00 (issue #15's acceptance: each ratio
// at or below 1.00, or the reason it cannot be, with what shows it).
const (
	KindCannot   = "cannot"    // the design's floor: reaching 1.00 needs a different program
	KindTradeOff = "trade-off" // reaching 1.00 is known to cost a figure that counts more
	KindNoise    = "noise"     // within the run-to-run spread of the same binaries
	KindOpen     = "open"      // explained in part, or reducible and not yet reduced
)

// Why explains the figures whose names match one of its globs.
type Why struct {
	Figures []string // path.Match patterns over figure names
	Kind    string   // one of the Kind constants
	Why     string
	ShownBy string // the profile, test or measurement that shows it
	Line    int    // where the entry starts in its file
}

// ParseWhy reads the reasons file (integration/bench/why.txt). Entries are
// separated by blank lines; each has the fields "figures:" (space-separated
// globs; the line may repeat), "kind:", "why:" and "shown by:". The text of
// why and shown by runs on over the lines that follow it up to the next
// field or the entry's end; "#" starts a comment line. A malformed entry is
// an error naming its line.
func ParseWhy(r io.Reader) ([]Why, error) {
	var out []Why
	var cur *Why
	var field *string
	finish := func() error {
		if cur == nil {
			return nil
		}
		w := *cur
		switch {
		case len(w.Figures) == 0:
			return fmt.Errorf("line %d: entry without figures", w.Line)
		case w.Kind != KindCannot && w.Kind != KindTradeOff && w.Kind != KindNoise && w.Kind != KindOpen:
			return fmt.Errorf("line %d: kind %q: want %s, %s, %s or %s", w.Line, w.Kind, KindCannot, KindTradeOff, KindNoise, KindOpen)
		case w.Why == "" || w.ShownBy == "":
			return fmt.Errorf("line %d: entry for %s needs why and shown by", w.Line, strings.Join(w.Figures, " "))
		}
		for _, g := range w.Figures {
			if _, err := path.Match(g, ""); err != nil {
				return fmt.Errorf("line %d: figure glob %q: %w", w.Line, g, err)
			}
		}
		out = append(out, w)
		cur, field = nil, nil
		return nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if line == "" {
			if err := finish(); err != nil {
				return nil, err
			}
			continue
		}
		if cur == nil {
			cur = &Why{Line: n}
		}
		key, val, ok := strings.Cut(line, ":")
		switch key = strings.ToLower(strings.TrimSpace(key)); {
		case ok && key == "figures":
			cur.Figures, field = append(cur.Figures, strings.Fields(val)...), nil
		case ok && key == "kind":
			cur.Kind, field = strings.TrimSpace(val), nil
		case ok && key == "why":
			cur.Why, field = strings.TrimSpace(val), &cur.Why
		case ok && key == "shown by":
			cur.ShownBy, field = strings.TrimSpace(val), &cur.ShownBy
		case field != nil:
			*field += " " + line
		default:
			return nil, fmt.Errorf("line %d: want figures:, kind:, why: or shown by:, got %q", n, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return out, nil
}

// above is a figure whose ratio is above 1.00.
type above struct {
	name, ratio string
}

// explain returns, for each entry, the figures above 1.00 it explains (the
// first entry matching a figure takes it), and the figures no entry matches.
func explain(whys []Why, figs []above) (by [][]above, none []above) {
	by = make([][]above, len(whys))
next:
	for _, f := range figs {
		for i, w := range whys {
			for _, g := range w.Figures {
				if ok, _ := path.Match(g, f.name); ok {
					by[i] = append(by[i], f)
					continue next
				}
			}
		}
		none = append(none, f)
	}
	return by, none
}

// renderAbove writes the section on the ratios above 1.00: one row per
// reason with the figures it covers, then any figure without a reason.
func renderAbove(b *strings.Builder, figs []above, whys []Why) {
	if len(figs) == 0 {
		return
	}
	by, none := explain(whys, figs)
	count := map[string]int{}
	for i, fs := range by {
		count[whys[i].Kind] += len(fs)
	}
	b.WriteString("## Ratios above 1.00, and why\n\n")
	fmt.Fprintf(b, "%d of this run's ratios are above 1.00: %d where lvs-ha as built cannot reach 1.00 (%s), %d where reaching it costs a figure that counts more (%s), %d within the run-to-run spread (%s), %d explained in part or not yet reduced (%s), %d without a recorded reason.",
		len(figs), count[KindCannot], KindCannot, count[KindTradeOff], KindTradeOff, count[KindNoise], KindNoise, count[KindOpen], KindOpen, len(none))
	b.WriteString(" The reasons are kept in `integration/bench/why.txt`.\n\n")
	b.WriteString("| figures (ratio) | kind | why | shown by |\n| --- | --- | --- | --- |\n")
	for i, fs := range by {
		if len(fs) == 0 {
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", figureList(fs), whys[i].Kind, cell(whys[i].Why), cell(whys[i].ShownBy))
	}
	if len(none) > 0 {
		fmt.Fprintf(b, "| %s | **no reason recorded** | - | - |\n", figureList(none))
	}
	b.WriteString("\n")
}

func figureList(fs []above) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = "`" + f.name + "` (" + f.ratio + ")"
	}
	return strings.Join(parts, ", ")
}

// isAbove: the ratio is a number above 1.
func isAbove(ratio string) bool {
	r, err := strconv.ParseFloat(ratio, 64)
	return err == nil && r > 1
}

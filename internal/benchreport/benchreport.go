package benchreport

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Figure is one BENCH line.
type Figure struct {
	Name, LvsHA, Ref, Unit, Ratio, Note string
	Where                               string // the source's BENCHENV in force; "" means the machine itself
}

// Source is one benchmark script's run.
type Source struct {
	Script  string // e.g. integration/bench/compare-scale.sh
	Command string // the command reproducing its figures
	Status  string // ok, skipped or failed
	Reason  string // why skipped or failed
	Seconds float64
	Figures []Figure
	Notes   []string // BENCHNOTE lines: why a ratio is what it is
}

// Report is a parsed compare.sh run.
type Report struct {
	Command string      // the COMMAND line: the command that made the run
	Machine [][2]string // key, value in order
	Sources []Source
}

// Parse reads compare.sh's output. Tab-separated frame lines:
//
//	COMMAND <the command that made the run>
//	MACHINE <key> <value>
//	SOURCE <script> <command>
//	STATUS <ok|skipped|failed> <reason> <seconds>
//
// BENCH, BENCHENV and BENCHNOTE lines between SOURCE and STATUS belong to
// that source;
// a BENCHENV line applies to the BENCH lines after it; other lines are
// ignored. A malformed BENCH line is an error with its line
// number.
func Parse(r io.Reader) (Report, error) {
	var rep Report
	var cur *Source
	where := "" // the BENCHENV in force
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		f := strings.Split(line, "\t")
		switch {
		case f[0] == "COMMAND" && len(f) >= 2:
			rep.Command = strings.Join(f[1:], " ")
		case f[0] == "MACHINE" && len(f) >= 3:
			rep.Machine = append(rep.Machine, [2]string{f[1], strings.Join(f[2:], " ")})
		case f[0] == "SOURCE" && len(f) >= 3:
			rep.Sources = append(rep.Sources, Source{Script: f[1], Command: f[2], Status: "failed", Reason: "no STATUS line"})
			cur, where = &rep.Sources[len(rep.Sources)-1], ""
		case f[0] == "STATUS" && len(f) >= 2:
			if cur == nil {
				return rep, fmt.Errorf("line %d: STATUS without SOURCE", n)
			}
			cur.Status, cur.Reason = f[1], ""
			if len(f) >= 3 {
				cur.Reason = f[2]
			}
			if len(f) >= 4 {
				cur.Seconds, _ = strconv.ParseFloat(f[3], 64)
			}
			cur = nil
		case strings.HasPrefix(line, "BENCHNOTE "):
			if cur == nil {
				rep.Sources = append(rep.Sources, Source{Status: "ok"})
				cur = &rep.Sources[len(rep.Sources)-1]
			}
			cur.Notes = append(cur.Notes, strings.TrimSpace(strings.TrimPrefix(line, "BENCHNOTE ")))
		case strings.HasPrefix(line, "BENCHENV "):
			where = strings.TrimSpace(strings.TrimPrefix(line, "BENCHENV "))
		case strings.HasPrefix(line, "BENCH "):
			fig, err := ParseFigure(line)
			if err != nil {
				return rep, fmt.Errorf("line %d: %w", n, err)
			}
			if cur == nil {
				rep.Sources = append(rep.Sources, Source{Status: "ok"})
				cur = &rep.Sources[len(rep.Sources)-1]
			}
			fig.Where = where
			cur.Figures = append(cur.Figures, fig)
		}
	}
	return rep, sc.Err()
}

// ParseFigure parses one "BENCH name=... lvsha=... ref=... unit=...
// ratio=... [note=...]" line; name, lvsha and unit are required, ref and
// ratio default to "-", a missing ratio is lvsha/ref when both are numbers.
func ParseFigure(line string) (Figure, error) {
	rest, ok := strings.CutPrefix(line, "BENCH ")
	if !ok {
		return Figure{}, fmt.Errorf("not a BENCH line: %q", line)
	}
	fig := Figure{Ref: "-", Ratio: ""}
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		if note, ok := strings.CutPrefix(rest, "note="); ok {
			fig.Note = strings.TrimSpace(note)
			break
		}
		tok, tail, _ := strings.Cut(rest, " ")
		rest = tail
		k, v, ok := strings.Cut(tok, "=")
		if !ok || v == "" {
			return Figure{}, fmt.Errorf("BENCH field %q: want key=value", tok)
		}
		switch k {
		case "name":
			fig.Name = v
		case "lvsha":
			fig.LvsHA = v
		case "ref":
			fig.Ref = v
		case "unit":
			fig.Unit = v
		case "ratio":
			fig.Ratio = v
		default:
			return Figure{}, fmt.Errorf("BENCH field %q: unknown key %q", tok, k)
		}
	}
	if fig.Name == "" || fig.LvsHA == "" || fig.Unit == "" {
		return Figure{}, fmt.Errorf("BENCH line lacks name, lvsha or unit: %q", line)
	}
	// A script's NaN (no reference measured) is no figure.
	if isNaN(fig.Ref) {
		fig.Ref = "-"
	}
	if isNaN(fig.Ratio) {
		fig.Ratio = ""
	}
	if fig.Ratio == "" {
		fig.Ratio = "-"
		l, errL := strconv.ParseFloat(fig.LvsHA, 64)
		r, errR := strconv.ParseFloat(fig.Ref, 64)
		if errL == nil && errR == nil && r != 0 {
			fig.Ratio = strconv.FormatFloat(l/r, 'f', 2, 64)
		}
	}
	return fig, nil
}

// isNaN: v is a number that is not one (strconv reads "NaN" in any case).
func isNaN(v string) bool {
	f, err := strconv.ParseFloat(v, 64)
	return err == nil && math.IsNaN(f)
}

// Render writes the markdown report: title, the machine, the ratios above
// 1.00 with the reason whys gives for each (ParseWhy), per script its
// figures grouped by where they ran (with the command reproducing them) and
// its notes, and the scripts not measured.
func Render(w io.Writer, rep Report, command string, whys []Why) error {
	var b strings.Builder
	b.WriteString("# Benchmarks: lvs-ha side by side with keepalived and ipvsadm\n\n")
	b.WriteString("Generated by `" + command + "` (do not edit: rerun it). Each figure is measured for\n")
	b.WriteString("lvs-ha and for the reference in the same run on the same machine; the ratio is\n")
	b.WriteString("lvs-ha / reference, so below 1.00 means lvs-ha costs less (time, CPU, memory).\n")
	b.WriteString("Figures without a reference (`-`) are lvs-ha's alone: counts that must be exact\n")
	b.WriteString("or costs keepalived has no counterpart for.\n\n")
	if len(rep.Machine) > 0 {
		b.WriteString("## Machine\n\n| | |\n| --- | --- |\n")
		for _, kv := range rep.Machine {
			fmt.Fprintf(&b, "| %s | %s |\n", cell(kv[0]), cell(kv[1]))
		}
		b.WriteString("\n")
	}
	var high []above
	for _, s := range rep.Sources {
		for _, f := range s.Figures {
			if isAbove(f.Ratio) {
				high = append(high, above{f.Name, f.Ratio})
			}
		}
	}
	renderAbove(&b, high, whys)
	for _, s := range rep.Sources {
		if len(s.Figures) == 0 && len(s.Notes) == 0 {
			continue
		}
		title := s.Script
		if title == "" {
			title = "figures"
		}
		fmt.Fprintf(&b, "## `%s`\n\n", title)
		if s.Command != "" {
			fmt.Fprintf(&b, "Reproduce: `%s`", s.Command)
			if s.Status != "ok" {
				fmt.Fprintf(&b, " (this run: %s", s.Status)
				if s.Reason != "" {
					fmt.Fprintf(&b, ", %s", s.Reason)
				}
				b.WriteString(")")
			}
			b.WriteString("\n\n")
		}
		for i, f := range s.Figures {
			if i == 0 || f.Where != s.Figures[i-1].Where {
				where := f.Where
				if where == "" {
					where = "host"
				}
				if i > 0 {
					b.WriteString("\n")
				}
				fmt.Fprintf(&b, "Where: %s\n\n", where)
				b.WriteString("| figure | lvs-ha | reference | unit | ratio |\n| --- | ---: | ---: | --- | ---: |\n")
			}
			ratio := f.Ratio
			if isAbove(f.Ratio) {
				ratio = "**" + f.Ratio + "**"
			}
			name := "`" + f.Name + "`"
			if f.Note != "" {
				name += " (" + f.Note + ")"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(name), cell(f.LvsHA), cell(f.Ref), cell(f.Unit), ratio)
		}
		if len(s.Figures) > 0 {
			b.WriteString("\n")
		}
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		if len(s.Notes) > 0 {
			b.WriteString("\n")
		}
	}
	var notRun []Source
	for _, s := range rep.Sources {
		if s.Status != "ok" {
			notRun = append(notRun, s)
		}
	}
	if len(notRun) > 0 {
		b.WriteString("## Not measured, or not completely, in this run\n\n| script | status | reason |\n| --- | --- | --- |\n")
		for _, s := range notRun {
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", cell(s.Script), s.Status, cell(s.Reason))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Scripts\n\n| script | status | seconds |\n| --- | --- | ---: |\n")
	for _, s := range rep.Sources {
		fmt.Fprintf(&b, "| `%s` | %s | %.0f |\n", cell(s.Script), s.Status, s.Seconds)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cell makes s safe inside a markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

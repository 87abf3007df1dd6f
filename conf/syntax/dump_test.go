package syntax

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

// render prints nodes compactly: words separated by spaces, blocks in { }.
// Words with spaces or empty are quoted with %q.
func render(nodes []*Node) string {
	var b strings.Builder
	var walk func(ns []*Node)
	walk = func(ns []*Node) {
		for i, n := range ns {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(renderWord(n.Keyword.Text))
			for _, a := range n.Args {
				b.WriteByte(' ')
				b.WriteString(renderWord(a.Text))
			}
			if n.Block {
				b.WriteString(" {")
				if len(n.Children) > 0 {
					b.WriteByte(' ')
					walk(n.Children)
				}
				b.WriteString(" }")
			}
		}
	}
	walk(nodes)
	return b.String()
}

func renderWord(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n;{}\"") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r >= 0x7f }) {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// positions lists "text@line:col" for every word, in order.
func positions(nodes []*Node, withFile bool) string {
	var out []string
	var walk func(ns []*Node)
	walk = func(ns []*Node) {
		for _, n := range ns {
			for _, w := range append([]Word{n.Keyword}, n.Args...) {
				if withFile {
					out = append(out, fmt.Sprintf("%s@%s", w.Text, w.Pos))
				} else {
					out = append(out, fmt.Sprintf("%s@%d:%d", w.Text, w.Pos.Line, w.Pos.Col))
				}
			}
			if n.Block {
				walk(n.Children)
				if withFile {
					out = append(out, fmt.Sprintf("}@%s", n.End))
				} else {
					out = append(out, fmt.Sprintf("}@%d:%d", n.End.Line, n.End.Col))
				}
			}
		}
	}
	walk(nodes)
	return strings.Join(out, " ")
}

func diagStrings(ds Diagnostics) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.String())
	}
	return out
}

// memFS is an in-memory file system for includes.
type memFS map[string]string

func (m memFS) readFile(name string) ([]byte, error) {
	name = filepath.Clean(name)
	if s, ok := m[name]; ok {
		return []byte(s), nil
	}
	for k := range m {
		if strings.HasPrefix(k, name+"/") {
			return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("is a directory")}
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func (m memFS) glob(pattern string) ([]string, error) {
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	var out []string
	for k := range m {
		if ok, _ := filepath.Match(pattern, k); ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (m memFS) opts() Options {
	return Options{ConfigID: "main", ReadFile: m.readFile, Glob: m.glob, Random: func(min, max uint64) uint64 { return min }}
}

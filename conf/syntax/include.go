package syntax

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
)

// includeFlags are keepalived's include checks (include_check and the
// include variants).
type includeFlags uint8

const (
	incRead     includeFlags = 1 << iota // error if a match cannot be read
	incMatch                             // error if a file is missing
	incWildcard                          // error if a wildcard matches nothing
	incBrace                             // error if a brace alternative is missing
	incAll      = incRead | incMatch | incWildcard | incBrace
)

// maxBraceAlternatives bounds the expansion of {a,b} in include patterns.
const maxBraceAlternatives = 1024

// include handles an include line (include, includer, includem, includew,
// includeb, includea followed by blanks and a file name or pattern). The
// pattern is the rest of the line as is: keepalived does not remove quotes
// from it.
func (p *parser) include(l line) bool {
	t := l.text
	if !strings.HasPrefix(t, "include") {
		return false
	}
	var flags includeFlags
	rest := 0
	switch {
	case len(t) == 7:
		p.errorf(l.posAt(0), "include: missing file name")
		return true
	case isSpace(t[7]):
		rest = 8
	case strings.IndexByte("rmwba", t[7]) >= 0 && (len(t) == 8 || isSpace(t[8])):
		switch t[7] {
		case 'r':
			flags = incRead
		case 'm':
			flags = incRead | incMatch
		case 'w':
			flags = incRead | incMatch | incWildcard
		case 'b':
			flags = incRead | incBrace
		case 'a':
			flags = incAll
		}
		if len(t) == 8 {
			p.errorf(l.posAt(0), "%s: missing file name", t)
			return true
		}
		rest = 9
	default:
		return false
	}
	name := l.slice(rest, len(t)).trimLeftBlank()
	if name.text == "" {
		p.errorf(l.posAt(0), "%s: missing file name", t[:rest-1])
		return true
	}
	p.includePattern(name, flags|p.includeCheck)
	return true
}

// includePattern expands a pattern and queues the matching files. Relative
// patterns are relative to the directory of the including file.
//
// Every alternative of a pattern without wildcards must name an existing
// file; an alternative with wildcards may match nothing, unless the
// wildcard_match check is on (includew, includea, include_check).
func (p *parser) includePattern(name line, flags includeFlags) {
	pos := name.posAt(0)
	base := p.mainDir
	if f := p.currentFile(); f != nil {
		base = filepath.Dir(f.name)
	}
	alts, ok := braceExpand(name.text)
	if !ok {
		p.errorf(pos, "include %q: brace expansion gives more than %d patterns", name.text, maxBraceAlternatives)
		return
	}
	src := &includeSource{pos: pos, flags: flags}
	for _, a := range alts {
		full := a
		if !filepath.IsAbs(full) {
			full = filepath.Join(base, full)
		}
		if !strings.ContainsAny(a, "*?[\\") {
			src.paths = append(src.paths, full)
			src.explicit = append(src.explicit, true)
			continue
		}
		wild := strings.ContainsAny(a, "*?[")
		matches, err := p.glob(strings.ReplaceAll(full, "[!", "[^"))
		if err != nil {
			p.errorf(pos, "include %q: %v", a, err)
			continue
		}
		if len(matches) == 0 {
			switch {
			case !wild:
				p.missingInclude(pos, a, flags)
			case flags&incWildcard != 0:
				p.errorf(pos, "include %q: no files match", a)
			}
		}
		for _, m := range matches {
			src.paths = append(src.paths, m)
			src.explicit = append(src.explicit, !wild)
		}
	}
	if len(src.paths) > 0 {
		p.stack = append(p.stack, src)
	}
}

// missingInclude reports an explicitly named include file that does not
// exist. keepalived logs it and goes on with the rest of the configuration;
// only the variants that ask for every file (includem, includew, includea,
// include_check) make it an error.
func (p *parser) missingInclude(pos Pos, path string, flags includeFlags) {
	if flags&(incMatch|incBrace) != 0 {
		p.errorf(pos, "include %q: no such file", path)
		return
	}
	p.warnf(pos, "include %q: no such file; skipped", path)
}

// includeSource opens, one after the other, the files an include matched.
type includeSource struct {
	paths    []string
	explicit []bool // named without wildcards
	i        int
	pos      Pos // of the file name in the include line
	flags    includeFlags
}

func (s *includeSource) next(p *parser) (unit, status) {
	if s.i >= len(s.paths) {
		return unit{}, stDone
	}
	path, explicit := s.paths[s.i], s.explicit[s.i]
	s.i++
	depth := 0
	key := absPath(path)
	var chain []string
	cycle := false
	for _, src := range p.stack {
		if f, ok := src.(*fileSource); ok {
			depth++
			chain = append(chain, f.name)
			cycle = cycle || f.key == key
		}
	}
	if cycle {
		p.errorf(s.pos, "include cycle: %s -> %s", strings.Join(chain, " -> "), path)
		return unit{}, stAgain
	}
	if depth >= p.lim.MaxIncludeDepth {
		p.errorf(s.pos, "include %q: includes nested too deeply (limit %d)", path, p.lim.MaxIncludeDepth)
		return unit{}, stAgain
	}
	if p.files >= p.lim.MaxFiles {
		p.fatalf(s.pos, "include %q: more than %d files (limit)", path, p.lim.MaxFiles)
		return unit{}, stAgain
	}
	data, err := p.readFile(path)
	if err != nil {
		err = unwrapPathError(err)
		switch {
		case explicit && errors.Is(err, fs.ErrNotExist):
			p.missingInclude(s.pos, path, s.flags)
		case explicit || s.flags&incRead != 0:
			p.errorf(s.pos, "include %q: %v", path, err)
		default:
			p.warnf(s.pos, "include %q: %v; skipped", path, err)
		}
		return unit{}, stAgain
	}
	if f := p.openFile(path, data, s.pos); f != nil {
		p.stack = append(p.stack, f)
	}
	return unit{}, stAgain
}

// openFile accounts for a file read and returns its source, or nil if a
// limit is exceeded.
func (p *parser) openFile(name string, data []byte, pos Pos) *fileSource {
	p.files++
	p.bytes += len(data)
	if p.files > p.lim.MaxFiles {
		p.fatalf(pos, "more than %d files (limit)", p.lim.MaxFiles)
		return nil
	}
	if p.bytes > p.lim.MaxInputBytes {
		p.fatalf(pos, "configuration larger than %d bytes (limit)", p.lim.MaxInputBytes)
		return nil
	}
	return &fileSource{name: name, key: absPath(name), data: string(data), savedCheck: p.includeCheck}
}

func absPath(name string) string {
	if a, err := filepath.Abs(name); err == nil {
		return a
	}
	return filepath.Clean(name)
}

// braceExpand expands csh-style {a,b} alternatives (glob's GLOB_BRACE),
// nested or in sequence, honouring backslash escapes. An unmatched brace, and
// "{}", stand for themselves.
func braceExpand(s string) ([]string, bool) {
	budget := 4 * maxBraceAlternatives
	var out []string
	ok := braceExpandInto(s, 0, &out, &budget)
	return out, ok
}

func braceExpandInto(s string, from int, out *[]string, budget *int) bool {
	*budget--
	if *budget < 0 || len(*out) > maxBraceAlternatives {
		return false
	}
	open := -1
	for i := from; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == '{' {
			open = i
			break
		}
	}
	if open < 0 {
		*out = append(*out, s)
		return len(*out) <= maxBraceAlternatives
	}
	depth := 0
	closing := -1
	commas := []int{}
	for i := open; i < len(s) && closing < 0; i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				closing = i
			}
		case ',':
			if depth == 1 {
				commas = append(commas, i)
			}
		}
	}
	if closing < 0 || closing == open+1 {
		// Unmatched or empty: literal; look for braces after it.
		return braceExpandInto(s, open+1, out, budget)
	}
	prefix, suffix := s[:open], s[closing+1:]
	starts := append([]int{open}, commas...)
	for k, st := range starts {
		en := closing
		if k+1 < len(starts) {
			en = starts[k+1]
		}
		if !braceExpandInto(prefix+s[st+1:en]+suffix, len(prefix), out, budget) {
			return false
		}
	}
	return true
}

// setIncludeCheck applies "include_check [OPTIONS]" (global_defs): with no
// option all checks are on; an option sets the checks to read plus itself,
// +option adds and -option removes it. It affects later includes of the
// file it is in and of files it includes.
func (p *parser) setIncludeCheck(args []Word) {
	if len(args) == 0 {
		p.includeCheck = incAll
		return
	}
	for i, a := range args {
		w := a.Text
		mode := 0
		switch {
		case strings.HasPrefix(w, "-"):
			mode, w = -1, w[1:]
		case strings.HasPrefix(w, "+"):
			mode, w = 1, w[1:]
		case i == 0:
			p.includeCheck = 0
		default:
			p.errorf(a.Pos, "include_check: %q must be +%s or -%s after the first option", w, w, w)
			continue
		}
		var f includeFlags
		switch w {
		case "read", "readable":
			f = incRead
		case "match":
			f = incMatch
		case "wildcard_match":
			f = incWildcard
		case "brace_match":
			f = incBrace
		default:
			p.errorf(a.Pos, "include_check: unknown check %q (want read, match, wildcard_match or brace_match)", w)
			continue
		}
		switch mode {
		case 0:
			p.includeCheck = incRead | f
		case 1:
			p.includeCheck |= f
		default:
			p.includeCheck &^= f
		}
	}
}

package syntax

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Options controls preprocessing.
type Options struct {
	// ConfigID selects @ID / @^ID conditional lines (keepalived's -i); default: short hostname.
	ConfigID string
	// ReadFile and Glob default to os.ReadFile and filepath.Glob; tests and fuzzers replace them.
	ReadFile func(path string) ([]byte, error)
	Glob     func(pattern string) ([]string, error)
	// Random returns a uniformly distributed integer in [min, max] for
	// ${_RANDOM MIN MAX}; default: math/rand/v2. Replace it to make
	// configurations using ${_RANDOM} repeatable.
	Random func(min, max uint64) uint64
	// Limits bound the work done on pathological input; zero fields mean the defaults.
	Limits Limits
}

// Limits bound the resources the preprocessor may use, so that pathological input
// (deep nesting, recursive definitions, huge ~SEQ expansions, include cycles) ends
// in an error, never a panic, a hang or unbounded memory. All errors are collected;
// the limits on lines, statements, files, bytes and diagnostics stop the parse. The
// time taken is linear in the size of the expanded configuration.
type Limits struct {
	MaxIncludeDepth   int // nesting of included files (default 32)
	MaxFiles          int // files read, the main one included (default 4096)
	MaxInputBytes     int // bytes read from all files (default 64 MiB)
	MaxLineLength     int // bytes in one line, before or after substitution (default 64 KiB)
	MaxSubstitutions  int // parameter substitutions in one line (default 10000)
	MaxExpandedBytes  int // bytes produced by parameter substitution, in total (default 1 GiB)
	MaxExpansionDepth int // nesting of ~SEQ/~LST blocks and multi-line definition expansions (default 64)
	MaxLines          int // lines processed, generated ones included (default 4 Mi)
	MaxStatements     int // statements (nodes) produced (default 1 Mi, roughly 250 MB)
	MaxBlockDepth     int // nesting of { } blocks (default 64)
	MaxDiagnostics    int // diagnostics collected before giving up (default 1000)
}

// defaultLimits are the limits used for zero fields of Options.Limits.
var defaultLimits = Limits{
	MaxIncludeDepth:   32,
	MaxFiles:          4096,
	MaxInputBytes:     64 << 20,
	MaxLineLength:     64 << 10,
	MaxSubstitutions:  10000,
	MaxExpandedBytes:  1 << 30,
	MaxExpansionDepth: 64,
	MaxLines:          4 << 20,
	MaxStatements:     1 << 20,
	MaxBlockDepth:     64,
	MaxDiagnostics:    1000,
}

func (l Limits) withDefaults() Limits {
	d := defaultLimits
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MaxIncludeDepth, d.MaxIncludeDepth)
	set(&l.MaxFiles, d.MaxFiles)
	set(&l.MaxInputBytes, d.MaxInputBytes)
	set(&l.MaxLineLength, d.MaxLineLength)
	set(&l.MaxSubstitutions, d.MaxSubstitutions)
	set(&l.MaxExpandedBytes, d.MaxExpandedBytes)
	set(&l.MaxExpansionDepth, d.MaxExpansionDepth)
	set(&l.MaxLines, d.MaxLines)
	set(&l.MaxStatements, d.MaxStatements)
	set(&l.MaxBlockDepth, d.MaxBlockDepth)
	set(&l.MaxDiagnostics, d.MaxDiagnostics)
	return l
}

// ParseFile reads path (following includes) and returns its statements.
func ParseFile(path string, opts Options) ([]*Node, Diagnostics) {
	return parseFile(path, opts, nil)
}

// ParseFileFunc is ParseFile handing each top-level statement, with its
// block, to emit as soon as it is complete instead of returning them all:
// the whole tree (~150 bytes a statement) is then never in memory at once.
// emit gets the statements ParseFile would return, in the same order.
func ParseFileFunc(path string, opts Options, emit func(*Node)) Diagnostics {
	_, ds := parseFile(path, opts, emit)
	return ds
}

func parseFile(path string, opts Options, emit func(*Node)) ([]*Node, Diagnostics) {
	p := newParser(opts)
	p.b.emit = emit
	src, err := p.readFile(path)
	if err != nil {
		p.errorf(Pos{File: path, Line: 1, Col: 1}, "cannot read configuration: %v", unwrapPathError(err))
		return nil, p.diags
	}
	return p.run(path, src)
}

// Parse parses src as if read from the file name; relative includes are
// resolved from the directory of name.
func Parse(name string, src []byte, opts Options) ([]*Node, Diagnostics) {
	return newParser(opts).run(name, src)
}

// ParseFunc is Parse handing the top-level statements to emit, as
// ParseFileFunc does.
func ParseFunc(name string, src []byte, opts Options, emit func(*Node)) Diagnostics {
	p := newParser(opts)
	p.b.emit = emit
	_, ds := p.run(name, src)
	return ds
}

// ConfigIDDefault returns the config-id keepalived uses when -i is not
// given: the host name up to its first '.'.
func ConfigIDDefault() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	if i := strings.IndexByte(h, '.'); i >= 0 {
		h = h[:i]
	}
	return h
}

type diagKey struct {
	pos Pos
	sev Severity
	msg string
}

type parser struct {
	lim      Limits
	configID string
	readFile func(string) ([]byte, error)
	glob     func(string) ([]string, error)
	random   func(min, max uint64) uint64

	diags Diagnostics
	seen  map[diagKey]struct{}
	stop  bool

	stack      []source
	residue    unit // the rest of a line after a brace, processed next
	hasResidue bool
	expansions int // expansion sources on the stack
	defs       map[string]*def

	files, bytes, lines int
	expanded            int // bytes of lines rewritten by substitution
	includeCheck        includeFlags
	mainDir             string

	b builder
	// spans is a slab from which the single spans of physical lines are
	// allocated, to save an allocation per line.
	spans []span
}

func (p *parser) literalLine(text string, pos Pos) line {
	if len(p.spans) == 0 {
		p.spans = make([]span, 256)
	}
	s := p.spans[:1:1]
	p.spans = p.spans[1:]
	s[0] = span{pos: pos}
	return line{text: text, spans: s}
}

func newParser(opts Options) *parser {
	p := &parser{
		lim:      opts.Limits.withDefaults(),
		configID: opts.ConfigID,
		readFile: opts.ReadFile,
		glob:     opts.Glob,
		random:   opts.Random,
		seen:     make(map[diagKey]struct{}),
	}
	if p.configID == "" {
		p.configID = ConfigIDDefault()
	}
	if p.readFile == nil {
		p.readFile = os.ReadFile
	}
	if p.glob == nil {
		p.glob = filepath.Glob
	}
	if p.random == nil {
		p.random = func(min, max uint64) uint64 {
			if max-min == ^uint64(0) {
				return rand.Uint64()
			}
			return min + rand.Uint64N(max-min+1)
		}
	}
	p.defs = stdDefinitions()
	p.b.p = p
	return p
}

func (p *parser) report(pos Pos, sev Severity, format string, args ...any) {
	if p.stop {
		return
	}
	k := diagKey{pos: pos, sev: sev, msg: fmt.Sprintf(format, args...)}
	if _, dup := p.seen[k]; dup {
		return
	}
	p.seen[k] = struct{}{}
	if len(p.diags) >= p.lim.MaxDiagnostics {
		p.diags.Errorf(pos, "too many problems (limit %d); giving up", p.lim.MaxDiagnostics)
		p.stop = true
		return
	}
	p.diags = append(p.diags, Diagnostic{Pos: pos, Severity: sev, Msg: k.msg})
}

func (p *parser) errorf(pos Pos, format string, args ...any) {
	p.report(pos, Error, format, args...)
}

func (p *parser) warnf(pos Pos, format string, args ...any) {
	p.report(pos, Warning, format, args...)
}

// fatalf reports an error and stops the parse.
func (p *parser) fatalf(pos Pos, format string, args ...any) {
	p.errorf(pos, format, args...)
	p.stop = true
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (p *parser) run(name string, src []byte) ([]*Node, Diagnostics) {
	p.mainDir = filepath.Dir(name)
	// src is not used after openFile's copy: the collector may free it
	// during the parse (6 MB at 10,000 virtual servers x 10 real servers).
	eof := p.eof(name, src)
	if fsrc := p.openFile(name, src, Pos{File: name, Line: 1, Col: 1}); fsrc != nil {
		p.push(fsrc)
	}
	for (len(p.stack) > 0 || p.hasResidue) && !p.stop {
		if p.hasResidue {
			p.hasResidue = false
			p.process(p.residue)
			continue
		}
		top := p.stack[len(p.stack)-1]
		u, st := top.next(p)
		switch st {
		case stDone:
			p.pop()
			continue
		case stAgain:
			continue
		}
		if e, ok := top.(interface{ exhausted() bool }); ok && e.exhausted() {
			p.pop()
		}
		p.process(u)
	}
	p.b.finish(eof)
	if p.b.emit != nil {
		for _, n := range p.b.root {
			p.b.emit(n)
		}
		return nil, p.diags
	}
	return p.b.root, p.diags
}

// eof is the position just after the last byte of the main file.
func (p *parser) eof(name string, src []byte) Pos {
	lineNo := 1 + bytes.Count(src, []byte{'\n'})
	last := len(src) - bytes.LastIndexByte(src, '\n')
	return Pos{File: name, Line: lineNo, Col: last}
}

func (p *parser) push(s source) bool {
	if isExpansion(s) {
		if p.expansions >= p.lim.MaxExpansionDepth {
			return false
		}
		p.expansions++
	}
	p.stack = append(p.stack, s)
	return true
}

func (p *parser) pop() {
	top := p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	if isExpansion(top) {
		p.expansions--
	}
	if f, ok := top.(*fileSource); ok {
		p.includeCheck = f.savedCheck
	}
}

// currentFile is the innermost file being read.
func (p *parser) currentFile() *fileSource {
	for i := len(p.stack) - 1; i >= 0; i-- {
		if f, ok := p.stack[i].(*fileSource); ok {
			return f
		}
	}
	return nil
}

// process is keepalived's read_line() after a line has been read: it applies
// conditional configuration, definitions, sequence and list blocks, parameter
// substitution and includes, then splits the line at its first brace and
// hands the pieces to the tree builder. What follows the brace is processed
// again as a line of its own, as keepalived does.
//
// Each line is processed in keepalived's order:
//
//   - include FILE (and includer, includem, includew, includeb, includea)
//     inserts files matching FILE, a glob pattern with csh-style {a,b}
//     alternatives, relative to the directory of the including file. FILE
//     is the rest of the line, unquoted. The line is recognised after
//     conditionals and substitution have been applied (as keepalived 2.2.7
//     does, despite its man page).
//   - @ID / @^ID at the start of a line keeps the line only when the config
//     id (Options.ConfigID, by default the host name up to its first '.')
//     is / is not ID.
//   - $NAME=VALUE defines a parameter ([A-Za-z_][A-Za-z0-9_]*, no blank
//     before '='). A definition whose line ends in '\' continues on the
//     following lines (each one ending in '\' but the last); lines that are
//     blank or only a comment are skipped, and an empty line ends the
//     definition, as in keepalived.
//   - $NAME (followed by a blank, ',', ')' or the end of the line) and
//     ${NAME} are replaced by the value, recursively, at the time of use,
//     anywhere in the line (quotes included). A multi-line definition is
//     only replaced at the end of a line: its first line replaces the
//     reference and its other lines follow. Undefined parameters are left
//     as is. Pre-defined: ${_PWD} (directory of the file being read),
//     ${_INSTANCE} (the config id), ${_RANDOM [MIN [MAX]]} (default 0 and
//     32767; Options.Random makes it repeatable), ${_HASH} and ${_BANG}.
//     As in keepalived, the line is decommented again after substitution,
//     so a substituted '#' or '!' starts a comment unless it is quoted.
//   - ~SEQ(VAR, [START, [STEP,]] END) TEXT and ~SEQx(...) (hexadecimal)
//     process TEXT for each value of $VAR; ~LST(VAR, V1, V2, ...) TEXT and
//     ~LST({VAR1, VAR2}, {V11, V12}, ...) TEXT for each value (set). They
//     nest and combine with multi-line definitions.
//
// Deliberate differences from keepalived 2.2.7:
//
//   - A line ending in an odd number of backslashes continues on the next
//     line (joined with one space), for every line: keepalived only allows
//     it in definitions. An empty line or a comment-only line ends it.
//   - Quotes and escapes follow the man page for every keyword; keepalived
//     applies them only to script keywords and otherwise keeps ' and \ as
//     literal text and only honours " at the start of a word. Both quote
//     characters protect comment characters and braces (keepalived: only ").
//   - An undefined ${NAME} outside quotes is left as one word with a
//     warning (keepalived splits it at its braces).
//   - Missing include files: a pattern (or brace alternative) without
//     wildcards that names no file is an error for every include variant
//     (keepalived only logs it for plain include). A wildcard matching
//     nothing is an error only with includew, includea or an include_check
//     with wildcard_match. A file that cannot be read is an error if named
//     explicitly or with a read check (includer, ..., include_check), else a
//     warning. include_check in global_defs is honoured here (with the
//     options read/readable, match, wildcard_match, brace_match, +/-), saved
//     and restored around each included file. Include cycles are errors.
//     keepalived's refusal of executable include files is not implemented.
//   - Bugs fixed: \xXX takes at most two digits; ${_RANDOM MIN MAX}
//     followed by text, and a conditional followed by substitution, are
//     replaced correctly; ${_RANDOM} with MIN > MAX is an error; a ~SEQ
//     variable must be a valid name; ~SEQ values out of range are errors.
//   - The keepalived line length of 1024 bytes is replaced by
//     Limits.MaxLineLength.
func (p *parser) process(u unit) {
	p.lines++
	if p.lines > p.lim.MaxLines {
		p.fatalf(u.l.posAt(0), "configuration expands to more than %d lines (limit)", p.lim.MaxLines)
		return
	}
	l := u.l
	subs := 0
	// done is set once no reference can be substituted any more; the
	// residue of the line after a brace then needs no new attempt.
	done := u.substituted
	for {
		t := l.text
		if len(t) > 0 && t[0] == '@' {
			var keep bool
			if l, keep = p.conditional(l); !keep {
				return
			}
			t = l.text
		}
		if len(t) > 0 && t[0] == '$' {
			if name, val, ok := definitionHead(l); ok {
				p.define(name, val, u)
				return
			}
		}
		if strings.HasPrefix(t, "~SEQ") {
			p.addSeq(l)
			return
		}
		if strings.HasPrefix(t, "~LST") {
			p.addLst(l)
			return
		}
		if len(t) > 0 && t[0] == '~' || done {
			break
		}
		if strings.IndexByte(t, '$') < 0 {
			done = true
			break
		}
		nl, changed, failed := p.substitute(l, &subs, true)
		if failed {
			return
		}
		if !changed {
			done = true
			break
		}
		l = redecomment(nl)
		if !(len(l.text) > 0 && l.text[0] == '@' || strings.IndexByte(l.text, '$') >= 0) {
			done = true
			break
		}
	}
	if l.text == "" {
		return
	}
	if p.include(l) {
		return
	}
	p.split(l, done)
}

// split hands l to the builder up to its first brace, and queues the rest.
func (p *parser) split(l line, substituted bool) {
	t := l.text
	var i int
	if t[0] == '{' || t[0] == '}' {
		i = 0
	} else {
		i = findBrace(t, func(off, n int) {
			ref := t[off : off+n]
			k := 2
			for k < len(ref) && isNameChar(ref[k]) {
				k++
			}
			if p.defs[ref[2:k]] == nil {
				p.warnf(l.posAt(off), "undefined parameter %s left as is", ref)
			}
		})
	}
	if i < 0 {
		p.b.text(l)
		return
	}
	var rest line
	if i == 0 {
		p.b.brace(t[0], l.posAt(0))
		rest = l.slice(1, len(t)).trimLeftBlank()
	} else {
		p.b.text(l.slice(0, i).trimRightBlank())
		rest = l.slice(i, len(t))
	}
	if rest.text != "" {
		// The rest is processed next, before any other source.
		p.residue = unit{l: rest, substituted: substituted}
		p.hasResidue = true
	}
}

// conditional applies an @ID / @^ID prefix: it returns the line without the
// prefix, or keep=false when the line is not for this config-id.
func (p *parser) conditional(l line) (line, bool) {
	t := l.text
	ofs, neg := 1, false
	if len(t) > 1 && t[1] == '^' {
		ofs, neg = 2, true
	}
	sp := strings.IndexAny(t[ofs:], " \t")
	if sp < 0 {
		return l, false // nothing after the config-id
	}
	id := t[ofs : ofs+sp]
	if (id == p.configID) == neg {
		return l, false
	}
	return l.slice(ofs+sp, len(t)).trimLeftBlank(), true
}

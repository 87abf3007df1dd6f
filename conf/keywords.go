package conf

import "github.com/lvs-ha/lvs-ha/conf/syntax"

// Status says what lvs-ha does with a keyword.
type Status string

const (
	// Works: the keyword has its keepalived run-time effect, shown by the
	// tests its entry names (evidence.go).
	Works Status = "works"
	// Warned: accepted, with the warning "KEYWORD is not supported by lvs-ha
	// (ignored)" at its location (counted by the
	// lvs_ha_config_unsupported_keywords metric); its value is still
	// checked when lvs-ha parses it.
	Warned Status = "warned"
	// Refused: using the keyword is an error.
	Refused Status = "refused"

	// parsed is the status of a keyword with a handler before newTable
	// settles it: Works with evidence, else Warned.
	parsed Status = "parsed"
)

// KeywordInfo documents one keyword of one block.
type KeywordInfo struct {
	Block      string // block the keyword appears in ("top level" for the root)
	Keyword    string
	Meaning    string
	Default    string
	Status     Status
	AliasOf    string // legacy name: the current keyword it maps to
	Deprecated bool   // using it draws a deprecation warning
	OpensBlock bool   // the keyword opens a { } block
	// Field is the model field (Type.Field) a Works keyword sets and the
	// daemon reads; Tests name the Test functions showing its effect.
	Field string
	Tests []string
	// Note says what a Warned keyword's warning adds.
	Note string
}

// keyword describes one keyword of a block whose model object is a T.
type keyword[T any] struct {
	name       string
	meaning    string
	def        string
	status     Status
	aliasOf    string
	deprecated bool
	hint       string // what to use instead of a deprecated keyword without alias
	block      bool   // must open a { } block
	anyShape   bool   // may or may not open a block (ignored keywords only)
	fn         func(l *loader, n *syntax.Node, t T)
	proof      proof // the evidence of a Works keyword
	note       string
}

// table is the set of keywords accepted in one kind of block.
type table[T any] struct {
	block string
	kws   []keyword[T]
	index map[string]*keyword[T]
}

func newTable[T any](block string, kws []keyword[T]) *table[T] {
	t := &table[T]{block: block, kws: kws, index: make(map[string]*keyword[T], len(kws))}
	for i := range t.kws {
		k := &t.kws[i]
		if k.status == parsed {
			k.status, k.proof, k.note = settle(block, k.name)
		}
		if _, dup := t.index[k.name]; dup {
			panic("conf: duplicate keyword " + k.name + " in " + block)
		}
		t.index[k.name] = k
	}
	registry = append(registry, t)
	return t
}

func (t *table[T]) info() []KeywordInfo {
	out := make([]KeywordInfo, 0, len(t.kws))
	for _, k := range t.kws {
		out = append(out, KeywordInfo{
			Block: t.block, Keyword: k.name, Meaning: k.meaning, Default: k.def,
			Status: k.status, AliasOf: k.aliasOf, Deprecated: k.deprecated, OpensBlock: k.block,
			Field: k.proof.field, Tests: k.proof.tests, Note: k.note,
		})
	}
	return out
}

type infoer interface{ info() []KeywordInfo }

var registry []infoer

// walk applies the table to every statement inside n.
func walk[T any](l *loader, tb *table[T], n *syntax.Node, t T) {
	for _, c := range n.Children {
		dispatch(l, tb, c, t)
	}
}

func dispatch[T any](l *loader, tb *table[T], c *syntax.Node, t T) {
	name := c.Keyword.Text
	k := tb.index[name]
	if k == nil {
		if tb.block == rootBlock {
			l.unknownTopLevel(c)
			return
		}
		l.warnf(c.Keyword.Pos, "unknown keyword %q in %s", name, tb.block)
		return
	}
	switch k.status {
	case Refused:
		if k.note != "" {
			l.errf(c.Keyword.Pos, "%q%s is not supported by lvs-ha: %s", name, inBlock(tb.block), k.note)
		} else {
			l.errf(c.Keyword.Pos, "%q%s is not supported by lvs-ha", name, inBlock(tb.block))
		}
		return
	case Warned:
		l.unsupported(c.Keyword.Pos, name, inBlock(tb.block), k.note)
		if k.fn == nil {
			return
		}
	}
	if k.deprecated {
		if k.aliasOf != "" {
			l.warnf(c.Keyword.Pos, "%q is deprecated; use %q", name, k.aliasOf)
		} else {
			l.warnf(c.Keyword.Pos, "%q is deprecated: %s", name, k.hint)
		}
	}
	if !k.anyShape {
		if k.block && !c.Block {
			l.errf(c.Keyword.Pos, "%q in %s needs a { } block", name, tb.block)
			return
		}
		if !k.block && c.Block {
			l.errf(c.Keyword.Pos, "%q in %s does not take a { } block", name, tb.block)
			return
		}
	}
	k.fn(l, c, t)
}

// ignored builds a keyword lvs-ha accepts with a warning and drops, with
// whatever block it opens.
func ignored[T any](name, meaning string) keyword[T] {
	return keyword[T]{name: name, meaning: meaning, status: Warned, anyShape: true}
}

// impl builds a keyword lvs-ha parses into the model; its status is Works
// when evidence.go names its field and tests, else Warned.
func impl[T any](name, meaning, def string, fn func(*loader, *syntax.Node, T)) keyword[T] {
	return keyword[T]{name: name, meaning: meaning, def: def, status: parsed, fn: fn}
}

// implBlock builds a parsed keyword that opens a block.
func implBlock[T any](name, meaning, def string, fn func(*loader, *syntax.Node, T)) keyword[T] {
	return keyword[T]{name: name, meaning: meaning, def: def, status: parsed, block: true, fn: fn}
}

// alias builds a legacy name for a parsed keyword.
func alias[T any](name, of string, deprecated bool, fn func(*loader, *syntax.Node, T)) keyword[T] {
	return keyword[T]{name: name, meaning: "legacy name of " + of, status: parsed, aliasOf: of, deprecated: deprecated, fn: fn}
}

// unsupported warns about a Warned keyword (or keyword option) at pos and
// counts it in Config.Unsupported.
func (l *loader) unsupported(pos syntax.Pos, name, where, note string) {
	if note != "" {
		note = ": " + note
	}
	l.warnf(pos, "%q%s is not supported by lvs-ha (ignored)%s", name, where, note)
	l.cfg.Unsupported = append(l.cfg.Unsupported, UnsupportedKeyword{Keyword: name, Pos: pos})
}

// valueLines calls fn for every line of a value block (`{ a b c ... }`),
// rejecting nested blocks.
func (l *loader) valueLines(n *syntax.Node, fn func(c *syntax.Node)) {
	for _, c := range n.Children {
		if c.Block {
			l.errf(c.Keyword.Pos, "unexpected { } block in %s", n.Keyword.Text)
			continue
		}
		fn(c)
	}
}

func inBlock(b string) string {
	if b == rootBlock {
		return ""
	}
	return " in " + b
}

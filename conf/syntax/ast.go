package syntax

import "fmt"

// Pos is a place in a configuration file. Line and Col are 1-based; Col counts bytes.
//
// A word from the file has its own position; text replaced by
// substitution has the position of the reference ($ or ${), except the lines
// of a multi-line definition, which keep the positions where they were
// written. Diagnostics in included files name the included file's path.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Severity says whether a Diagnostic makes the configuration unusable.
type Severity int

const (
	Error Severity = iota
	Warning
)

// Diagnostic is one problem found in a configuration, with its place.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Msg      string
}

// String renders the diagnostic as FILE:LINE:COL: message (warnings say so).
func (d Diagnostic) String() string {
	if d.Severity == Warning {
		return fmt.Sprintf("%s: warning: %s", d.Pos, d.Msg)
	}
	return fmt.Sprintf("%s: %s", d.Pos, d.Msg)
}

// Diagnostics is a list of problems in source order.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an Error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errorf appends an error at pos.
func (ds *Diagnostics) Errorf(pos Pos, format string, args ...any) {
	*ds = append(*ds, Diagnostic{Pos: pos, Severity: Error, Msg: fmt.Sprintf(format, args...)})
}

// Warnf appends a warning at pos.
func (ds *Diagnostics) Warnf(pos Pos, format string, args ...any) {
	*ds = append(*ds, Diagnostic{Pos: pos, Severity: Warning, Msg: fmt.Sprintf(format, args...)})
}

// Word is one token of a statement after preprocessing (variables substituted,
// quotes removed, escapes resolved).
type Word struct {
	Text   string
	Pos    Pos
	Quoted bool // the word was (wholly or partly) quoted in the source
}

// Node is one statement: a keyword with its arguments and, when it opened a
// `{ ... }` block, the statements inside.
type Node struct {
	Keyword  Word
	Args     []Word
	Block    bool    // the statement opened a block (Children may still be empty)
	Children []*Node // statements inside the block
	End      Pos     // position of the closing brace, when Block
}

// Pos is the position of the node's keyword.
func (n *Node) Pos() Pos { return n.Keyword.Pos }

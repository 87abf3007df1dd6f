// Package syntax reads keepalived.conf files: it implements keepalived's
// configuration preprocessor and block grammar (keepalived 2.2.x, see
// keepalived.conf(5) and lib/parser.c) and produces a tree of statements
// whose every word carries its file:line:col. It knows no keywords: the
// typed model in package conf gives the tree its meaning.
//
// # Grammar
//
// A statement is a keyword and its arguments, optionally followed by a
// { ... } block of statements. A '{' may end the keyword's line, stand on
// a line of its own after it, or appear inline ("track_script { chk }",
// "a { b } c"); a '}' may follow arguments. As in keepalived, braces split
// a line wherever they appear outside quotes, and the rest of the line after
// a brace is processed again as a line of its own (so "a { @id b }" is
// conditional, and "} include x.conf" includes).
//
// '#' and '!' start a comment to the end of the line, outside quotes; "\#"
// and "\!" are literal.
//
// Words are split as the man page section "Quoted strings" says
// (SplitWords): text between " or ' is kept together with its whitespace
// and the quotes are removed, even in the middle of a word; \a \b \E \f \n
// \r \t \v \nnn (octal) \xXX (at most two hex digits) \cC are escapes and
// \C is C. An unterminated quote is an error at its opening quote.
//
// # Preprocessing
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
// Positions: a word from the file has its own position; text replaced by
// substitution has the position of the reference ($ or ${), except the lines
// of a multi-line definition, which keep the positions where they were
// written. Diagnostics in included files name the included file's path.
//
// # Deliberate differences from keepalived 2.2.7
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
//
// # Limits
//
// Pathological input (deep nesting, recursive definitions, huge ~SEQ
// expansions, include cycles) ends in an error, never a panic, a hang or
// unbounded memory: Options.Limits bounds include depth (32), files (4096),
// bytes read (64 MiB), line length (64 KiB), substitutions per line (10000),
// bytes produced by substitution (1 GiB), nesting of expansions (64),
// lines processed (4 Mi), statements (1 Mi, roughly 250 MB), block nesting
// (64) and diagnostics (1000). All errors are collected; the limits on
// lines, statements, files, bytes and diagnostics stop the parse. The time
// taken is linear in the size of the expanded configuration.
package syntax

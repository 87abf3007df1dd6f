// Package cli implements the lvs-ha command line: subcommand dispatch, flags,
// help texts and exit codes. Each subcommand translates its flags and hands the
// work to the packages that own it (conf, daemon, ...).
//
// Exit codes: 0 success; 1 the work failed (invalid configuration, daemon error);
// 2 the command line itself was wrong.
package cli

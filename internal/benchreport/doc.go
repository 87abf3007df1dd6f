// Package benchreport turns the output of the side-by-side benchmark scripts
// (integration/bench/compare.sh runs them) into docs/benchmarks.md. A script
// prints one line per figure,
//
//	BENCH name=<figure> lvsha=<v> ref=<v> unit=<u> ratio=<lvsha/ref> [note=<text to end of line>]
//
// (ref and ratio "-" when there is no reference), optionally a line
// "BENCHENV <where it ran>" (for instance "VM: qemu TCG, 2 vCPUs, guest
// kernel 6.1"); compare.sh frames each script's lines with SOURCE and STATUS
// lines and adds COMMAND and MACHINE lines (see Parse). Render writes the
// markdown: the machine; each ratio above 1.00 with its reason from
// integration/bench/why.txt (ParseWhy: what kind of reason, why, and the
// profile, test or measurement that shows it), or flagged as having none; one
// table of figures with lvs-ha's value, the reference's, their ratio and the
// command reproducing each; and the scripts skipped with why.
package benchreport

// Command render reads integration/bench/compare.sh's output on stdin and
// writes docs/benchmarks.md (or -o FILE).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/lvs-ha/lvs-ha/internal/benchreport"
)

func main() {
	out := flag.String("o", "", "`file` to write (default stdout)")
	command := flag.String("command", "make bench-compare", "the command named as the report's generator")
	flag.Parse()
	rep, err := benchreport.Parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	var b bytes.Buffer
	if err := benchreport.Render(&b, rep, *command); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	if *out == "" {
		_, _ = os.Stdout.Write(b.Bytes())
		return
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

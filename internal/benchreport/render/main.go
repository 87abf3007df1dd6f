// Command render reads integration/bench/compare.sh's output on stdin and
// writes docs/benchmarks.md (or -o FILE); -why names the file of reasons for
// ratios above 1.00.
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
	command := flag.String("command", "", "the command named as the report's generator (default: the run's COMMAND line, else make bench-compare)")
	whyFile := flag.String("why", "", "`file` of reasons for ratios above 1.00 (integration/bench/why.txt)")
	flag.Parse()
	rep, err := benchreport.Parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	var whys []benchreport.Why
	if *whyFile != "" {
		f, err := os.Open(*whyFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
		whys, err = benchreport.ParseWhy(f)
		_ = f.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchreport: %s: %v\n", *whyFile, err)
			os.Exit(1)
		}
	}
	if *command == "" {
		*command = rep.Command
	}
	if *command == "" {
		*command = "make bench-compare"
	}
	var b bytes.Buffer
	if err := benchreport.Render(&b, rep, *command, whys); err != nil {
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

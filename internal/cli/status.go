package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/status"
)

const statusSummary = "show VRRP instances and virtual servers of the running daemon (GET /status)"

func setupStatus(e *env, fs *flag.FlagSet) func([]string) int {
	addr := fs.String("addr", status.DefaultAddr, "`address` of the daemon's status listener (HOST:PORT or http:// URL)")
	asJSON := fs.Bool("json", false, "print the raw JSON document instead of tables")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this `duration`")
	return func(args []string) int {
		if !noArgs(e, fs, args) {
			return ExitUsage
		}
		if *timeout <= 0 {
			fmt.Fprintf(e.stderr, "%s: -timeout %v: must be positive\n", fs.Name(), *timeout)
			return ExitUsage
		}
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		doc, raw, err := status.Fetch(ctx, &http.Client{}, *addr)
		if err != nil {
			var uerr *url.Error
			if errors.As(err, &uerr) && uerr.Op != "parse" {
				// Transport failure (not a malformed -addr): nothing
				// answered at addr.
				fmt.Fprintf(e.stderr, "%s: cannot reach lvs-ha at %s: %v (is `%s run` running with its status listener?)\n",
					fs.Name(), *addr, uerr.Err, e.prog)
			} else {
				fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
			}
			return ExitFailure
		}
		if *asJSON {
			_, err = e.stdout.Write(raw)
		} else {
			err = status.RenderTable(e.stdout, doc)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
			return ExitFailure
		}
		return ExitOK
	}
}

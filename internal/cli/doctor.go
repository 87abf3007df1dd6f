package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvs-ha/lvs-ha/internal/doctor"
	"github.com/lvs-ha/lvs-ha/internal/realserver"
)

const doctorArgs = " [VIP...]"

// doctorHelp lists the checks after the flags (README's list is kept equal by a test).
func doctorHelp() string {
	var b strings.Builder
	b.WriteString("\nChecks (director: the configuration against this host and network namespace;\nwith -realserver: this host as a DR/TUN real server of the VIPs, or with\n-realserver -nat GATEWAY as a NAT real server whose director's inside address is GATEWAY):\n")
	for _, c := range doctor.Checks {
		fmt.Fprintf(&b, "  %-14s %s\n", c.Name, c.Doc)
	}
	b.WriteString("\nEach problem is printed as [FILE:LINE:COL: ][check] problem; fix: command.\n")
	return b.String()
}

// setupDoctor is `lvs-ha doctor [-f FILE] [-json] [-realserver [-tun] VIP... | -realserver -nat GATEWAY]`.
func setupDoctor(e *env, fs *flag.FlagSet) func([]string) int {
	var cf configFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print the problems as a JSON array")
	rs := fs.Bool("realserver", false, "check this host as a real server of the VIPs given as arguments (no configuration is read)")
	tun := fs.Bool("tun", false, "with -realserver: LVS-TUN (VIPs on tunl0) instead of LVS-DR")
	natGW := fs.String("nat", "", "with -realserver: check this host as a NAT real server whose default route must go via `GATEWAY`, the director's inside (VIP) address; no VIPs")
	pidFile := fs.String("pid-file", DefaultPIDFile, "`file` of a running lvs-ha (VIPs on the interfaces are then expected)")
	return func(args []string) int {
		if !*rs && !noArgs(e, fs, args) {
			return ExitUsage
		}
		var gw netip.Addr
		if *natGW != "" {
			var err error
			gw, err = netip.ParseAddr(*natGW)
			switch {
			case err != nil || gw.Zone() != "" || gw.IsUnspecified() || gw.IsMulticast():
				fmt.Fprintf(e.stderr, "%s: -nat %q: not a unicast IP address\n", fs.Name(), *natGW)
				return ExitUsage
			case !*rs || *tun || len(args) > 0:
				fmt.Fprintf(e.stderr, "%s: -nat GATEWAY goes with -realserver, without -tun or VIPs\n", fs.Name())
				return ExitUsage
			}
		}
		var rcfg *realserver.Config
		switch {
		case gw.IsValid(): // a NAT real server: its default route is checked
		case *rs:
			c, err := realserverConfig(*tun, args)
			if err != nil {
				fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
				fs.Usage()
				return ExitUsage
			}
			rcfg = &c
		case *tun:
			fmt.Fprintf(e.stderr, "%s: -tun needs -realserver\n", fs.Name())
			return ExitUsage
		}
		k, err := doctor.NewKernel()
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
			return ExitFailure
		}
		defer k.Close()
		var found []doctor.Finding
		switch {
		case gw.IsValid():
			found, err = doctor.NATRealServer(gw, k)
		case rcfg != nil:
			found, err = doctor.RealServer(*rcfg, k)
		default:
			cfg, _, ok := cf.load(e.stderr)
			if !ok {
				fmt.Fprintf(e.stderr, "%s: configuration is not valid; run check-config\n", cf.file)
				return ExitFailure
			}
			_, perr := readPID(*pidFile)
			found, err = doctor.Director(cfg, k, doctor.Options{Running: perr == nil})
		}
		if err != nil && *rs {
			fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
			return ExitFailure
		}
		if *asJSON {
			if found == nil {
				found = []doctor.Finding{}
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			enc.Encode(found)
		} else {
			for _, f := range found {
				fmt.Fprintln(e.stdout, f)
			}
			if len(found) == 0 && err == nil {
				fmt.Fprintf(e.stdout, "no problem found\n")
			} else {
				fmt.Fprintf(e.stdout, "%d problem(s) found\n", len(found))
			}
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: some checks could not run: %v\n", fs.Name(), err)
		}
		if len(found) > 0 || err != nil {
			return ExitFailure
		}
		return ExitOK
	}
}

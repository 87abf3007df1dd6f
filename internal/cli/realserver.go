package cli

import (
	"flag"
	"fmt"
	"strings"

	"github.com/lvs-ha/lvs-ha/internal/realserver"
)

const realserverArgs = " VIP..."

// setupRealserver is `lvs-ha realserver [-down] [-tun] VIP...`: it prepares (or with
// -down undoes) this host as an LVS-DR or LVS-TUN real server; see package realserver.
func setupRealserver(e *env, fs *flag.FlagSet) func([]string) int {
	down := fs.Bool("down", false, "remove the VIPs and set arp_ignore/arp_announce back to 0/0 (tunl0 and rp_filter are left as they are)")
	tun := fs.Bool("tun", false, "IP-in-IP (LVS-TUN) real server: VIPs on tunl0 (created if needed), rp_filter relaxed for it; IPv4 only")
	return func(args []string) int {
		cfg, err := realserverConfig(*tun, args)
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
			fs.Usage()
			return ExitUsage
		}
		k, err := realserver.NewKernel()
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
			return ExitFailure
		}
		defer k.Close()
		apply, verb, none := realserver.Up, "configured", "already configured"
		if *down {
			apply, verb, none = realserver.Down, "deconfigured", "already deconfigured"
		}
		changes, err := apply(k, cfg)
		for _, ch := range changes {
			fmt.Fprintln(e.stdout, ch)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
			return ExitFailure
		}
		if len(changes) == 0 {
			fmt.Fprintf(e.stdout, "%s real server: %s\n", cfg.Mode, none)
		} else {
			fmt.Fprintf(e.stdout, "%s real server: %s (%d change(s))\n", cfg.Mode, verb, len(changes))
		}
		return ExitOK
	}
}

// realserverConfig turns the command line into a validated configuration.
func realserverConfig(tun bool, args []string) (realserver.Config, error) {
	var cfg realserver.Config
	if tun {
		cfg.Mode = realserver.TUN
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			return cfg, fmt.Errorf("flag %s after a VIP: flags come first", a)
		}
	}
	vips, err := realserver.ParseVIPs(args)
	if err != nil {
		return cfg, err
	}
	cfg.VIPs = vips
	return cfg, cfg.Validate()
}

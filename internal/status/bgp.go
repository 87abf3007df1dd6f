package status

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/metrics"
)

// renderBGP prints bgp_speaker's section: the speaker and its neighbors,
// then every prefix's gate state.
func renderBGP(w io.Writer, now time.Time, b metrics.BGPState) error {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	switch s := b.Speaker; {
	case b.Mode == "route_only":
		p("BGP: route-only mode, announced VIPs on %s\n", b.Interface)
	case s != nil:
		p("BGP: router_id %s, AS %d\n", s.RouterID, s.LocalAS)
		p("NEIGHBOR\tAS\tSTATE\tSINCE\tBFD\tTRANSITIONS\n")
		for _, n := range s.Peers {
			var since *time.Time
			if !n.Since.IsZero() {
				since = &n.Since
			}
			p("%s\t%d\t%s\t%s\t%s\t%d\n", n.Address, n.RemoteAS, n.State, ago(now, since), dash(n.BFD), n.Transitions)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	default:
		p("BGP: speaker not running\n")
	}
	if len(b.Prefixes) == 0 {
		p("BGP: no prefix to announce\n")
		return tw.Flush()
	}
	p("PREFIX\tANNOUNCED\tELIGIBLE\tSINCE\tREASON\n")
	yes := map[bool]string{true: "yes", false: "no"}
	for _, x := range b.Prefixes {
		var since *time.Time
		if !x.Since.IsZero() {
			since = &x.Since
		}
		reason := x.Reason
		if x.Error != "" {
			reason += " (error: " + x.Error + ")"
		}
		p("%s\t%s\t%s\t%s\t%s\n", x.Prefix, yes[x.Announced], yes[x.Eligible], ago(now, since), reason)
	}
	return tw.Flush()
}

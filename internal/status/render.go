package status

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// RenderTable prints doc as readable tables: VRRP instances, sync groups,
// virtual servers with their real servers, then the connection sync
// daemons and connections by origin. Times are shown relative to doc.Time.
func RenderTable(w io.Writer, doc Document) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }

	if len(doc.Instances) == 0 {
		p("VRRP: no instances\n")
	} else {
		p("INSTANCE\tINTERFACE\tVRID\tSTATE\tPRIO\tMASTER\tSINCE\tREASON\tVIPS\n")
		for _, in := range doc.Instances {
			prio := strconv.Itoa(int(in.EffectivePriority))
			if in.EffectivePriority != in.BasePriority {
				prio += "/" + strconv.Itoa(int(in.BasePriority))
			}
			state := in.State
			if in.Fault && state != "FAULT" {
				state += " (fault)"
			}
			master := dash(in.Master)
			if in.Master != "" && in.MasterPriority != 0 {
				master += " (" + strconv.Itoa(int(in.MasterPriority)) + ")"
			}
			p("%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", in.Name, in.Interface, in.VRID, state, prio, master,
				ago(doc.Time, in.LastTransition), dash(in.LastTransitionReason), dash(strings.Join(in.VIPs, ",")))
		}
	}
	if len(doc.SyncGroups) > 0 {
		p("\nSYNC GROUP\tSTATE\tMEMBERS\n")
		for _, g := range doc.SyncGroups {
			p("%s\t%s\t%s\n", g.Name, g.State, strings.Join(g.Members, ","))
		}
	}
	p("\n")
	if doc.IPVSError != "" {
		p("IPVS: %s\n", doc.IPVSError)
	}
	if len(doc.VirtualServers) == 0 {
		p("IPVS: no virtual servers\n")
	} else {
		p("VIRTUAL SERVER\tREAL SERVER\tHEALTH\tWEIGHT\tACTIVE\tINACTIVE\tLAST CHECK\n")
		for _, vs := range doc.VirtualServers {
			name := vs.Service
			if vs.Scheduler != "" {
				name += " " + vs.Scheduler
			}
			switch {
			case !vs.InKernel && doc.IPVSError == "":
				name += " (not in kernel)"
			case !vs.Configured:
				name += " (not configured)"
			}
			if len(vs.RealServers) == 0 {
				p("%s\t-\n", name)
			}
			for i, rs := range vs.RealServers {
				if i > 0 {
					name = ""
				}
				p("%s\t%s\t%s\t%s\t%d\t%d\t%s\n", name, rs.Address, rs.Health, weight(rs),
					rs.ActiveConns, rs.InactiveConns, lastCheck(doc.Time, rs.Checks))
			}
		}
	}
	if cs := doc.ConnSync; cs != nil {
		p("\n")
		if len(cs.Daemons) == 0 {
			p("SYNC DAEMONS: none running\n")
		} else {
			p("SYNC DAEMON\tINTERFACE\tSYNCID\tMAXLEN\tGROUP\tPORT\tTTL\n")
			for _, d := range cs.Daemons {
				p("%s\t%s\t%d\t%s\t%s\t%s\t%s\n", d.State, d.Interface, d.SyncID, zeroDash(int(d.MaxLen)),
					dash(d.Group), zeroDash(int(d.Port)), zeroDash(int(d.TTL)))
			}
		}
		if cs.Connections != nil {
			p("CONNECTIONS: %d local, %d synced\n", cs.Connections.Local, cs.Connections.Sync)
		}
		if cs.Error != "" {
			p("SYNC: %s\n", cs.Error)
		}
	}
	if err := tw.Flush(); err != nil || doc.BGP == nil {
		return err
	}
	return renderBGP(w, doc.Time, *doc.BGP)
}

func zeroDash(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// weight shows the kernel weight, with the configured one when they differ
// ("0/10"), or "-/10" when the real server is not in the kernel.
func weight(rs RealServer) string {
	cur := "-"
	if rs.Weight != nil {
		cur = strconv.Itoa(int(*rs.Weight))
	}
	if rs.ConfiguredWeight == nil || (rs.Weight != nil && *rs.Weight == *rs.ConfiguredWeight) {
		return cur
	}
	return cur + "/" + strconv.Itoa(int(*rs.ConfiguredWeight))
}

func lastCheck(now time.Time, cs []Check) string {
	if len(cs) == 0 {
		return "-"
	}
	var parts []string
	for _, c := range cs {
		s := c.Checker + " "
		switch {
		case c.Result == "":
			s += "pending"
		case c.Detail != "":
			s += c.Result + " (" + c.Detail + ")"
		default:
			s += c.Result
		}
		if c.At != nil {
			s += " " + ago(now, c.At)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// ago formats t relative to now ("5s ago"); "-" for nil.
func ago(now time.Time, t *time.Time) string {
	if t == nil {
		return "-"
	}
	d := now.Sub(*t)
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds ago", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm ago", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return t.UTC().Format(time.RFC3339)
}

package strictfw

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// VMAC is a use_vmac interface whose multicast reports and router
// solicitations the VMAC rules handle.
type VMAC struct {
	Name   string // the macvlan
	Parent string // the interface it sits on
	IPv6   bool   // an IPv6 VMAC (MLD and router solicitations), else IPv4 (IGMP)
}

// VMACScript returns the nft script that makes lvs-ha's ip and ip6 tables
// of the VMAC rules hold exactly vmacs, as keepalived 2.2.7 does when it
// creates a VMAC (vrrp_nftables.c, nft_add_vmac): the IGMP (IPv4) and MLD
// (IPv6) reports a VMAC sends are duplicated to its parent and the
// original dropped, so they leave with the parent's MAC and do not teach
// the switches that the virtual MAC is behind a backup's port, and IPv6
// router solicitations from a VMAC are dropped. keepalived's tables are the
// ip and ip6 ones named by global_defs nftables (the inet one of the same
// name, Script's, holds the no_accept rules); a family without VMACs has no
// table. Like Script it deletes and adds the tables back in one nft
// transaction. The sets are keyed by interface name, so the rules can be
// set before a VMAC exists (its first reports, at link up, are moved too);
// the parents must exist (the map's values are their indexes).
func VMACScript(o Options, vmacs []VMAC) string {
	var v4, v6 []VMAC
	for _, v := range sortedVMACs(vmacs) {
		if v.IPv6 {
			v6 = append(v6, v)
		} else {
			v4 = append(v4, v)
		}
	}
	t := quote(o.table())
	var b strings.Builder
	for _, fam := range []struct {
		name string
		vs   []VMAC
	}{{"ip", v4}, {"ip6", v6}} {
		fmt.Fprintf(&b, "add table %s %s\n", fam.name, t)
		fmt.Fprintf(&b, "delete table %s %s\n", fam.name, t)
		if len(fam.vs) == 0 {
			continue
		}
		var m, s []string
		for _, v := range fam.vs {
			m = append(m, fmt.Sprintf("%q : %q", v.Name, v.Parent))
			s = append(s, fmt.Sprintf("%q", v.Name))
		}
		fmt.Fprintf(&b, "table %s %s {\n", fam.name, t)
		fmt.Fprintf(&b, "\tmap vmac_map {\n\t\ttype ifname : iface_index\n\t\telements = { %s }\n\t}\n", strings.Join(m, ", "))
		if fam.name == "ip6" {
			fmt.Fprintf(&b, "\tset vmac_set {\n\t\ttype ifname\n\t\telements = { %s }\n\t}\n", strings.Join(s, ", "))
		}
		fmt.Fprintf(&b, "\tchain out {\n\t\ttype filter hook output priority %d; policy accept;\n", o.Priority)
		// keepalived counts these always (add_counter), whatever
		// nftables_counters says.
		if fam.name == "ip" {
			b.WriteString("\t\tip protocol igmp dup to ip daddr device oifname map @vmac_map counter drop\n")
		} else {
			b.WriteString("\t\ticmpv6 type { mld-listener-report, mld-listener-done, mld2-listener-report } dup to ip6 daddr device oifname map @vmac_map counter drop\n")
			b.WriteString("\t\ticmpv6 type nd-router-solicit oifname @vmac_set counter drop\n")
		}
		b.WriteString("\t}\n}\n")
	}
	return b.String()
}

func sortedVMACs(vs []VMAC) []VMAC {
	out := slices.Clone(vs)
	slices.SortFunc(out, func(a, b VMAC) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := strings.Compare(a.Parent, b.Parent); c != 0 {
			return c
		}
		switch {
		case a.IPv6 == b.IPv6:
			return 0
		case b.IPv6:
			return -1
		}
		return 1
	})
	return slices.Compact(out)
}

// VMACFirewall applies the VMAC rules: *NFT, or a fake in tests.
type VMACFirewall interface {
	// SetVMACs makes the ip and ip6 tables handle exactly vmacs (and
	// deletes a family's table when it has none).
	SetVMACs(ctx context.Context, vmacs []VMAC) error
}

var _ VMACFirewall = (*NFT)(nil)

// SetVMACs implements VMACFirewall.
func (n *NFT) SetVMACs(ctx context.Context, vmacs []VMAC) error {
	return n.run(ctx, VMACScript(n.Options, vmacs))
}

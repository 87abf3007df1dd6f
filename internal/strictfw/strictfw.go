// Package strictfw installs the nftables rules with which keepalived's
// strict mode (vrrp_strict) and no_accept drop traffic to the virtual
// addresses of a MASTER without accept mode, which holds them but must not
// answer them (RFC 5798 Accept_Mode False; keepalived 2.2.7
// vrrp_nftables.c, vrrp_handle_accept_mode). Which addresses those are is
// the caller's business: this package only writes the table.
//
// All the rules live in one table lvs-ha owns (inet family, named by
// global_defs nftables, "keepalived" by default as in keepalived); every
// change replaces that table in one nft transaction, and Remove deletes it.
// No other table is read or written. The rules are applied with the nft
// binary (`nft -f -` reading a generated script): no netlink library for
// nftables is among lvs-ha's dependencies, and nft's transactions make the
// replace atomic.
package strictfw

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
)

// DefaultTable is keepalived's default table name.
const DefaultTable = "keepalived"

// DefaultPriority is keepalived's default chain priority
// (nftables_priority): just before the filter tables at 0.
const DefaultPriority = -1

// Options are the global_defs nftables settings.
type Options struct {
	// Table is the inet table's name (DefaultTable when empty).
	Table string
	// Priority is the chains' hook priority (nftables_priority).
	Priority int
	// Counters adds a counter to each rule (nftables_counters).
	Counters bool
}

func (o Options) table() string {
	if o.Table == "" {
		return DefaultTable
	}
	return o.Table
}

// Drop is an address whose traffic is dropped; Dev, the instance's
// interface, matters for IPv6 link-local addresses only, which are
// dropped on that interface alone (as keepalived does).
type Drop struct {
	Addr netip.Addr
	Dev  string
}

// Script returns the nft script that makes the table hold exactly the
// rules dropping traffic to and from drop: it creates the table (a no-op
// when it exists), deletes it and adds it back with its sets and chains,
// so nft applies it as one transaction. As in keepalived 2.2.7
// (vrrp_nftables.c), packets to a dropped address are dropped at input
// and packets from it at output, except IPv6 neighbour discovery, which
// the kernel needs for the address (DAD, neighbour solicitations).
func Script(o Options, drop []Drop) string {
	var v4, v6, ll []string
	for _, d := range sortedUnique(drop) {
		switch a := d.Addr.Unmap(); {
		case a.Is4():
			v4 = append(v4, a.String())
		case a.IsLinkLocalUnicast():
			ll = append(ll, fmt.Sprintf("%s . %q", a, d.Dev))
		default:
			v6 = append(v6, a.String())
		}
	}
	counter := ""
	if o.Counters {
		counter = " counter"
	}
	t := quote(o.table())
	var b strings.Builder
	fmt.Fprintf(&b, "add table inet %s\n", t)
	fmt.Fprintf(&b, "delete table inet %s\n", t)
	fmt.Fprintf(&b, "table inet %s {\n", t)
	set := func(name, typ string, elems []string) {
		fmt.Fprintf(&b, "\tset %s {\n\t\ttype %s\n", name, typ)
		if len(elems) > 0 {
			fmt.Fprintf(&b, "\t\telements = { %s }\n", strings.Join(elems, ", "))
		}
		b.WriteString("\t}\n")
	}
	set("vips", "ipv4_addr", v4)
	set("vips6", "ipv6_addr", v6)
	set("vips_link_local", "ipv6_addr . ifname", ll)
	nd := "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert }"
	chain := func(name, hook, dir, ifdir string) {
		fmt.Fprintf(&b, "\tchain %s {\n\t\ttype filter hook %s priority %d; policy accept;\n", name, hook, o.Priority)
		fmt.Fprintf(&b, "\t\tip %s @vips%s drop\n", dir, counter)
		fmt.Fprintf(&b, "\t\t%s%s accept\n", nd, counter)
		fmt.Fprintf(&b, "\t\tip6 %s @vips6%s drop\n", dir, counter)
		fmt.Fprintf(&b, "\t\tip6 %s . %s @vips_link_local%s drop\n", dir, ifdir, counter)
		b.WriteString("\t}\n")
	}
	chain("in", "input", "daddr", "iifname")
	chain("out", "output", "saddr", "oifname")
	b.WriteString("}\n")
	return b.String()
}

// RemoveScript returns the nft script deleting the table, whether or not
// it exists.
func RemoveScript(o Options) string {
	t := quote(o.table())
	return fmt.Sprintf("add table inet %s\ndelete table inet %s\n", t, t)
}

// quote returns name as an nft identifier; ValidTable has checked it.
func quote(name string) string { return name }

// ValidTable reports whether name can be a table name here: a letter then
// letters, digits, '_' and '-' (nft's identifiers, without its keywords'
// quoting rules).
func ValidTable(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	for i, c := range name {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '_' || c == '-')) {
			return false
		}
	}
	return true
}

func sortedUnique(ds []Drop) []Drop {
	out := slices.Clone(ds)
	for i, d := range out {
		out[i].Addr = d.Addr.WithZone("")
		if !out[i].Addr.Unmap().IsLinkLocalUnicast() || out[i].Addr.Unmap().Is4() {
			out[i].Dev = ""
		}
	}
	slices.SortFunc(out, func(a, b Drop) int {
		if c := a.Addr.Compare(b.Addr); c != 0 {
			return c
		}
		return strings.Compare(a.Dev, b.Dev)
	})
	return slices.Compact(out)
}

// Firewall applies drop sets: *NFT, or a fake in tests.
type Firewall interface {
	// Set makes the table drop exactly drop's addresses.
	Set(ctx context.Context, drop []Drop) error
	// Remove deletes the table.
	Remove(ctx context.Context) error
}

// NFT runs the nft binary.
type NFT struct {
	Options Options
	// Path is the nft binary ("nft", looked up in PATH, when empty).
	Path string
}

var _ Firewall = (*NFT)(nil)

// Set implements Firewall.
func (n *NFT) Set(ctx context.Context, drop []Drop) error {
	return n.run(ctx, Script(n.Options, drop))
}

// Remove implements Firewall.
func (n *NFT) Remove(ctx context.Context) error {
	return n.run(ctx, RemoveScript(n.Options))
}

func (n *NFT) run(ctx context.Context, script string) error {
	path := n.Path
	if path == "" {
		path = "nft"
	}
	cmd := exec.CommandContext(ctx, path, "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nft table inet %s: %w: %s", n.Options.table(), err, strings.TrimSpace(out.String()))
	}
	return nil
}

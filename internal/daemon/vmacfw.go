package daemon

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/internal/strictfw"
	"github.com/lvs-ha/lvs-ha/vrrp/vmac"
)

// vmacFirewall wraps the VMAC manager with keepalived's VMAC rules
// (strictfw.VMACScript): the IGMP/MLD reports of a VMAC move to its parent
// and its router solicitations are dropped. The rules of a VMAC are set
// before the VMAC is created (its reports at link up are moved too) and
// removed after it is; with no VMAC left lvs-ha's ip and ip6 tables are
// deleted, and nft is never run by a configuration that has no VMAC.
// Failures are logged: the VMACs work without the rules.
type vmacFirewall struct {
	vmacs
	opts   func() strictfw.Options // the configuration's nftables settings
	newFW  func(strictfw.Options) strictfw.VMACFirewall
	exists func(iface string) bool // a parent interface exists
	log    *slog.Logger

	mu      sync.Mutex
	fw      strictfw.VMACFirewall // nil: no table made
	fwOpts  strictfw.Options
	applied []strictfw.VMAC
}

var _ vmacs = (*vmacFirewall)(nil)

func newVMACFirewall(inner vmacs, opts func() strictfw.Options, log *slog.Logger) *vmacFirewall {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &vmacFirewall{vmacs: inner, opts: opts, log: log,
		newFW:  func(o strictfw.Options) strictfw.VMACFirewall { return &strictfw.NFT{Options: o} },
		exists: func(n string) bool { _, err := net.InterfaceByName(n); return err == nil }}
}

// vmacFirewallOpts are the VMAC rules' settings: global_defs nftables and
// nftables_priority (keepalived counts these rules always).
func vmacFirewallOpts(g conf.GlobalDefs) strictfw.Options {
	return strictfw.Options{Table: g.Nftables, Priority: g.NftablesPriority}
}

// vmacRules are the rules' VMACs of specs whose parent exists.
func vmacRules(specs []vmac.Spec, exists func(string) bool) []strictfw.VMAC {
	var out []strictfw.VMAC
	for _, s := range specs {
		v := strictfw.VMAC{Name: s.Name, Parent: s.Parent, IPv6: s.IPv6}
		if exists(s.Parent) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func byName(a, b strictfw.VMAC) int { return strings.Compare(a.Name, b.Name) }

// Apply sets the rules of the VMACs kept and added, makes the VMACs next,
// then sets the rules of next alone.
func (v *vmacFirewall) Apply(next []vmac.Spec) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	want := vmacRules(next, v.exists)
	before := slices.Clone(v.applied)
	for _, r := range want {
		if !slices.Contains(before, r) {
			before = append(before, r)
		}
	}
	v.set(before)
	err := v.vmacs.Apply(next)
	v.set(want)
	return err
}

func (v *vmacFirewall) set(rules []strictfw.VMAC) {
	opts := v.opts()
	if v.fw != nil && v.fwOpts != opts {
		v.run(nil) // the table's name or priority changed: the old ones go
	}
	if len(rules) == 0 && v.fw == nil {
		return
	}
	slices.SortFunc(rules, byName)
	if v.fw != nil && slices.Equal(rules, v.applied) {
		return
	}
	if v.fw == nil {
		v.fw, v.fwOpts = v.newFW(opts), opts
	}
	v.run(rules)
}

// run sets rules on v.fw; none deletes the tables and forgets v.fw.
func (v *vmacFirewall) run(rules []strictfw.VMAC) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.fw.SetVMACs(ctx, rules); err != nil {
		v.log.Error("VMAC nftables rules", "table", v.fwOpts.Table, "error", err)
		if len(rules) > 0 {
			v.applied = nil // retried at the next Apply
			return
		}
	} else if len(rules) > 0 {
		v.log.Info("VMAC nftables rules set", "table", v.fwOpts.Table, "vmacs", len(rules))
	}
	if len(rules) == 0 {
		v.fw, v.applied = nil, nil
		return
	}
	v.applied = slices.Clone(rules)
}

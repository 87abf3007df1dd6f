package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/conf/syntax"
	"github.com/lvs-ha/lvs-ha/vrrp/iproute"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
)

// routeOf translates a static_routes or virtual_routes entry.
func routeOf(r *conf.Route) (iproute.Route, error) {
	out := iproute.Route{
		Dst: r.Dst, Src: r.Src, Via: r.Via, Dev: r.Dev, Table: r.Table, Metric: r.Metric,
		Scope: r.Scope, Protocol: r.Protocol, OnLink: r.OnLink,
	}
	for _, nh := range r.Nexthops {
		out.Nexthops = append(out.Nexthops, iproute.Nexthop{Via: nh.Via, Dev: nh.Dev, Weight: nh.Weight, OnLink: nh.OnLink})
	}
	if r.Type != "" {
		t, ok := iproute.ParseType(r.Type)
		if !ok {
			return out, at(r.Pos, fmt.Errorf("route %s: unknown type %q", r.Dst, r.Type))
		}
		out.Type = t
	}
	if err := out.Validate(); err != nil {
		return out, at(r.Pos, err)
	}
	return out, nil
}

var ruleActions = map[string]iproute.Action{
	"table": iproute.ToTable, "goto": iproute.Goto, "nop": iproute.Nop,
	"blackhole": iproute.BlackholeA, "unreachable": iproute.UnreachableA, "prohibit": iproute.ProhibitA,
}

// ruleOf translates a static_rules or virtual_rules entry.
func ruleOf(r *conf.Rule) (iproute.Rule, error) {
	out := iproute.Rule{
		IPv6: r.IPv6, From: r.From, To: r.To, Invert: r.Not, Tos: r.Tos, IIf: r.IIf, OIf: r.OIf,
		IPProto: r.IPProto, Sport: iproute.PortRange{Start: r.Sport[0], End: r.Sport[1]},
		Dport: iproute.PortRange{Start: r.Dport[0], End: r.Dport[1]},
		Table: r.Table, GotoTarget: r.Goto, Protocol: r.Protocol, Action: ruleActions[r.Action],
	}
	if r.Priority != nil {
		out.Priority, out.HasPriority = *r.Priority, true
	}
	if r.Fwmark != nil {
		out.Fwmark, out.HasFwmark = *r.Fwmark, true
	}
	if r.Fwmask != nil {
		out.Fwmask, out.HasFwmask = *r.Fwmask, true
	}
	if r.SuppressPrefixLen != nil {
		out.SuppressPrefixLen, out.HasSuppressPrefixLen = *r.SuppressPrefixLen, true
	}
	if err := out.Validate(); err != nil {
		return out, at(r.Pos, err)
	}
	return out, nil
}

func routesOf(rs []*conf.Route) ([]iproute.Route, error) {
	var out []iproute.Route
	for _, r := range rs {
		x, err := routeOf(r)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func rulesOf(rs []*conf.Rule) ([]iproute.Rule, error) {
	var out []iproute.Rule
	for _, r := range rs {
		x, err := ruleOf(r)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// virtualRoutes fills in ic's virtual_routes and virtual_rules.
func virtualRoutes(ic *runner.InstanceConfig, in *conf.VRRPInstance) error {
	var err error
	if ic.Routes, err = routesOf(in.Routes); err != nil {
		return err
	}
	ic.Rules, err = rulesOf(in.Rules)
	return err
}

// statics are static_ipaddress, static_routes and static_rules, which
// lvs-ha adds at start and removes at stop, as keepalived 2.2.7 does; a
// reload removes the ones that went and adds the new ones.
type statics struct {
	addrs  []vip.Address
	routes []iproute.Route
	rules  []iproute.Rule
	// noTrack are the entries with no_track, which a deletion leaves deleted
	// (keyed by kind and String).
	noTrack map[string]bool
}

func noTrackKey(kind string, v fmt.Stringer) string { return kind + " " + v.String() }

func (s statics) empty() bool { return len(s.addrs)+len(s.routes)+len(s.rules) == 0 }

// staticsOf translates cfg's static entries; an address without dev is on
// default_interface, as in keepalived.
func staticsOf(cfg *conf.Config) (statics, error) {
	var s statics
	for _, v := range cfg.StaticAddresses {
		a, err := vipAddress(v, cfg.Global.DefaultInterface)
		if err == nil {
			err = a.Validate()
		}
		if err != nil {
			return s, at(v.Pos, fmt.Errorf("static_ipaddress %s: %w", v.Addr, err))
		}
		s.addrs = append(s.addrs, a)
		if v.NoTrack {
			s.untrack("address", a)
		}
	}
	var err error
	if s.routes, err = routesOf(cfg.StaticRoutes); err != nil {
		return s, err
	}
	for i, r := range cfg.StaticRoutes {
		// keepalived tracks no route without dev ("cannot track route ...
		// with no interface specified, not tracking")
		if r.NoTrack || r.Dev == "" {
			s.untrack("route", s.routes[i])
		}
	}
	if s.rules, err = rulesOf(cfg.StaticRules); err != nil {
		return s, err
	}
	for i, r := range cfg.StaticRules {
		if r.NoTrack {
			s.untrack("rule", s.rules[i])
		}
	}
	return s, nil
}

// untrackedRouteWarnings are keepalived's "cannot track route ... with no
// interface specified, not tracking" for the static routes without dev (and
// without no_track): such a route is not restored when deleted.
func untrackedRouteWarnings(cfg *conf.Config) syntax.Diagnostics {
	var ds syntax.Diagnostics
	for _, r := range cfg.StaticRoutes {
		if !r.NoTrack && r.Dev == "" {
			ds = append(ds, syntax.Diagnostic{Pos: r.Pos, Severity: syntax.Warning,
				Msg: fmt.Sprintf("static route %s has no dev: it is not restored if deleted (as keepalived, which cannot track it)", r.Dst)})
		}
	}
	return ds
}

func (s *statics) untrack(kind string, v fmt.Stringer) {
	if s.noTrack == nil {
		s.noTrack = map[string]bool{}
	}
	s.noTrack[noTrackKey(kind, v)] = true
}

// staticRestorer is what restoring deleted static entries needs of the
// system (sysNet): the deletions the kernel reports, and adding an entry
// if it is missing (added: it was).
type staticRestorer interface {
	WatchDeletions(ctx context.Context, onDelete func()) error
	RestoreAddr(vip.Address) (added bool, err error)
	RestoreRoute(iproute.Route) (added bool, err error)
	RestoreRule(iproute.Rule) (added bool, err error)
}

// restoreStatics is keepalived's reinstate_static_address, _route and
// _rule after the kernel reported a deletion: each static entry without
// no_track (and, for a route, with dev) that is missing is added again and
// logged. lvs-ha checks every entry on any deletion rather than matching
// the deleted one, and restores routes and rules whatever else is
// configured: keepalived 2.2.7 sees their deletions only while it monitors
// routes (rules), which it does only for a static route (rule) with
// track_group or a virtual route (rule) without no_track.
func restoreStatics(r staticRestorer, log *slog.Logger, s statics) {
	restore := func(kind string, v fmt.Stringer, add func() (bool, error)) {
		if s.noTrack[noTrackKey(kind, v)] {
			return
		}
		switch added, err := add(); {
		case err != nil:
			log.Error("restoring deleted static "+kind+" failed", kind, v.String(), "error", err)
		case added:
			log.Warn("restored deleted static "+kind, kind, v.String())
		}
	}
	for _, a := range s.addrs {
		restore("address", a, func() (bool, error) { return r.RestoreAddr(a) })
	}
	for _, rt := range s.routes {
		restore("route", rt, func() (bool, error) { return r.RestoreRoute(rt) })
	}
	for _, ru := range s.rules {
		restore("rule", ru, func() (bool, error) { return r.RestoreRule(ru) })
	}
}

// guardStatics restores the static entries the kernel reports deleted
// until ctx ends (keepalived's netlink reflector). It holds d.mu while it
// restores, so a reload or the stop, which change the static entries under
// d.mu, never race it: it restores the entries of the plan in force.
func (d *Daemon) guardStatics(ctx context.Context, r staticRestorer) {
	err := r.WatchDeletions(ctx, func() {
		if d.plan.Load().statics.empty() { // most deletions: VIPs leaving
			return
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.g == nil || ctx.Err() != nil { // stopping: the entries are being removed
			return
		}
		restoreStatics(r, d.log, d.plan.Load().statics)
	})
	if err != nil {
		d.log.Error("watching for deleted static addresses, routes and rules failed; they are no longer restored", "error", err)
	}
}

// netConfig is what the static entries need of the system: vip.Manager
// and iproute.Manager.
type netConfig interface {
	runner.VIPManager
	runner.RouteManager
}

// sysNet is the real netConfig.
type sysNet struct {
	addrs  *vip.Manager
	routes *iproute.Manager
}

func newSysNet() sysNet { return sysNet{addrs: vip.New(), routes: iproute.New()} }

func (s sysNet) Add(a vip.Address) error           { return s.addrs.Add(a) }
func (s sysNet) Remove(a vip.Address) error        { return s.addrs.Remove(a) }
func (s sysNet) AddRoute(r iproute.Route) error    { return s.routes.AddRoute(r) }
func (s sysNet) RemoveRoute(r iproute.Route) error { return s.routes.RemoveRoute(r) }
func (s sysNet) AddRule(r iproute.Rule) error      { return s.routes.AddRule(r) }
func (s sysNet) RemoveRule(r iproute.Rule) error   { return s.routes.RemoveRule(r) }

func (s sysNet) WatchDeletions(ctx context.Context, onDelete func()) error {
	return iproute.WatchDeletions(ctx, onDelete)
}
func (s sysNet) RestoreRoute(r iproute.Route) (bool, error) { return s.routes.RestoreRoute(r) }
func (s sysNet) RestoreRule(r iproute.Rule) (bool, error)   { return s.routes.RestoreRule(r) }

// RestoreAddr adds a if its device lacks it (the address with its prefix
// length).
func (s sysNet) RestoreAddr(a vip.Address) (bool, error) {
	link, err := netlink.LinkByName(a.Dev)
	if err != nil {
		return false, fmt.Errorf("restore address %s: device %s: %w", a, a.Dev, err)
	}
	fam := netlink.FAMILY_V4
	if a.Prefix.Addr().Is6() {
		fam = netlink.FAMILY_V6
	}
	have, err := netlink.AddrList(link, fam)
	if err != nil {
		return false, fmt.Errorf("restore address %s: list: %w", a, err)
	}
	for _, h := range have {
		ones, _ := h.Mask.Size()
		if ip, ok := netip.AddrFromSlice(h.IP); ok && ip.Unmap() == a.Prefix.Addr() && ones == a.Prefix.Bits() {
			return false, nil
		}
	}
	return true, s.addrs.Add(a)
}

var (
	_ netConfig      = sysNet{}
	_ staticRestorer = sysNet{}
)

// sameAddr compares addresses by value (PreferredLft is a pointer).
func sameAddr(a, b vip.Address) bool {
	pa, pb := a.PreferredLft, b.PreferredLft
	a.PreferredLft, b.PreferredLft = nil, nil
	return a == b && (pa == nil) == (pb == nil) && (pa == nil || *pa == *pb)
}

// applyStatics moves the system from old's static entries to next's:
// rules, routes then addresses that went are removed; addresses, routes
// then rules of next are added (adding what is there is a no-op). Failures
// are logged: like keepalived, lvs-ha runs on without the entry.
func applyStatics(n netConfig, log *slog.Logger, old, next statics) {
	for _, r := range old.rules {
		if !slices.Contains(next.rules, r) {
			if err := n.RemoveRule(r); err != nil {
				log.Error("removing static rule failed", "rule", r.String(), "error", err)
			}
		}
	}
	for _, r := range old.routes {
		if !slices.ContainsFunc(next.routes, r.Equal) {
			if err := n.RemoveRoute(r); err != nil {
				log.Error("removing static route failed", "route", r.String(), "error", err)
			}
		}
	}
	for _, a := range old.addrs {
		if !slices.ContainsFunc(next.addrs, func(b vip.Address) bool { return sameAddr(a, b) }) {
			if err := n.Remove(a); err != nil {
				log.Error("removing static address failed", "address", a.String(), "error", err)
			}
		}
	}
	for _, a := range next.addrs {
		if err := n.Add(a); err != nil {
			log.Error("adding static address failed", "address", a.String(), "error", err)
		}
	}
	for _, r := range next.routes {
		if err := n.AddRoute(r); err != nil {
			log.Error("adding static route failed", "route", r.String(), "error", err)
		}
	}
	for _, r := range next.rules {
		if err := n.AddRule(r); err != nil {
			log.Error("adding static rule failed", "rule", r.String(), "error", err)
		}
	}
}

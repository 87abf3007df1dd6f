package daemon

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/conf/syntax"
	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/internal/metrics"
	"github.com/lvs-ha/lvs-ha/vrrp"
)

// ErrNotRunning is returned by Reload outside Run.
var ErrNotRunning = errors.New("daemon is not running")

// ErrVRRPRestart is wrapped by Reload's error when the new configuration
// changes VRRP: the rest was applied, VRRP keeps the old configuration.
var ErrVRRPRestart = errors.New("VRRP changes need a restart")

// InvalidConfigError is returned by ReloadFile for a configuration with
// errors; nothing was changed.
type InvalidConfigError struct {
	File        string
	Diagnostics syntax.Diagnostics
}

func (e *InvalidConfigError) Error() string {
	n := 0
	first := ""
	for _, d := range e.Diagnostics {
		if d.Severity == syntax.Error {
			if n == 0 {
				first = d.String()
			}
			n++
		}
	}
	return fmt.Sprintf("%s: %d error(s), first: %s", e.File, n, first)
}

// healthReload asks the running health loop to adopt next.
type healthReload struct {
	cfg  *conf.Config
	next *health
	done chan error
}

// reloadSignalled is SIGHUP: ReloadFile of Options.ConfigFile, with the
// service manager told RELOADING then READY.
func (d *Daemon) reloadSignalled(ctx context.Context) error {
	if err := d.notify.Reloading(); err != nil {
		d.log.Warn("sd_notify RELOADING", "error", err)
	}
	defer func() {
		if err := d.notify.Ready(); err != nil {
			d.log.Warn("sd_notify READY", "error", err)
		}
	}()
	if d.opts.ConfigFile == "" {
		d.log.Warn("reload requested but no configuration file is known")
		return errors.New("no configuration file")
	}
	return d.ReloadFile(ctx, d.opts.ConfigFile, d.opts.ConfigOptions)
}

// ReloadFile loads and validates file and, when it has no error, applies it
// with Reload. Every diagnostic is logged with its file:line; an invalid
// file keeps the running configuration and counts as a failed reload
// (*InvalidConfigError).
func (d *Daemon) ReloadFile(ctx context.Context, file string, o conf.Options) error {
	d.log.Info("reloading", "file", file)
	cfg, ds := conf.Load(file, o)
	for _, dg := range ds {
		if dg.Severity == syntax.Error {
			d.log.Error("config", "error", dg.String())
		} else {
			d.log.Warn("config", "warning", dg.String())
		}
	}
	if ds.HasErrors() {
		err := &InvalidConfigError{File: file, Diagnostics: ds}
		d.log.Error("reload failed: configuration is not valid; keeping the running configuration", "error", err)
		d.metrics.ConfigReloaded(d.now(), err)
		return err
	}
	return d.Reload(ctx, cfg)
}

// Reload replaces the running configuration with cfg, which conf has
// validated, changing only what differs: IPVS through Apply (only changed
// services and destinations), health checks through Runner.Update
// (unchanged checks keep their state and schedule). VRRP instances are left
// untouched; when cfg changes VRRP the error wraps ErrVRRPRestart (the
// rest is applied). An error translating cfg changes nothing. The result is
// counted in the reload metrics. Reload must be called while Run runs.
func (d *Daemon) Reload(ctx context.Context, cfg *conf.Config) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.reloadLocked(ctx, cfg)
	d.metrics.ConfigReloaded(d.now(), err)
	switch {
	case err == nil:
		d.log.Info("reloaded")
	case errors.Is(err, ErrVRRPRestart):
		d.log.Error("reload partly applied: VRRP keeps its old configuration", "error", err)
	default:
		d.log.Error("reload failed; keeping the running configuration", "error", err)
	}
	return err
}

func (d *Daemon) reloadLocked(ctx context.Context, cfg *conf.Config) error {
	if d.g == nil {
		return ErrNotRunning
	}
	// Translate everything first: any error leaves the daemon untouched.
	instances, groups, err := vrrpConfig(cfg)
	if err != nil {
		return err
	}
	if _, err := desiredTable(cfg); err != nil {
		return err
	}
	next, err := newHealth(cfg, d.healthOptions(cfg))
	if err != nil {
		return err
	}
	vrrpErr := vrrpChanges(d.vrrpInstances, d.vrrpGroups, instances, groups)

	// Health checks.
	if d.healthRunning {
		req := healthReload{cfg: cfg, next: next, done: make(chan error, 1)}
		select {
		case d.health.reloads <- req:
		case <-d.gctx.Done():
			return context.Cause(d.gctx)
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := <-req.done; err != nil {
			return fmt.Errorf("health checks: %w", err)
		}
	} else {
		d.health = next
		d.cfg = cfg
		if len(next.Checks()) > 0 {
			d.startHealthLocked()
		}
	}
	d.cfg = cfg

	// IPVS: the table with the current health applied.
	table, err := d.health.table(cfg)
	if err != nil {
		return err // cannot happen: desiredTable succeeded
	}
	switch {
	case d.ipvs == nil && (len(table.Services) > 0 || cfg.Global.LVSFlush):
		d.setIPVS(d.newIPVS(cfg, table))
		d.startIPVSLocked()
	case d.ipvs != nil:
		if !d.keepIPVSOnStop {
			d.ipvs.SetStopMode(stopModeOf(cfg.Global.LVSFlushOnStop))
		}
		ch, err := d.ipvs.Apply(ctx, table)
		switch {
		case errors.Is(err, ErrIPVSUnavailable):
			d.log.Warn("reload: IPVS unavailable; the new table is programmed when it is", "error", err)
		case err != nil:
			// Logged by the component, retried by its Run loop.
			d.log.Warn("reload: ipvs apply failed; retrying", "error", err, "changes", ch.String())
		default:
			d.log.Info("reload: ipvs", "changes", ch.String(), "total", ch.Total())
		}
	}

	// Metrics and /status follow the new configuration.
	d.setSourcesLocked()
	var keep []metrics.CheckInfo
	for _, c := range d.health.HealthChecks() {
		keep = append(keep, c.CheckInfo)
	}
	d.metrics.RetainChecks(keep)
	return vrrpErr
}

// vrrpChanges describes how the new VRRP configuration differs from the
// running one: nil when equal, else an error wrapping ErrVRRPRestart that
// names the added, removed and changed instances and sync groups.
func vrrpChanges(oldI []vrrp.InstanceConfig, oldG []vrrp.SyncGroupConfig, newI []vrrp.InstanceConfig, newG []vrrp.SyncGroupConfig) error {
	var parts []string
	diff := func(what string, oldN, newN []string, same func(name string) bool) {
		var added, removed, changed []string
		for _, n := range newN {
			switch {
			case !slices.Contains(oldN, n):
				added = append(added, n)
			case !same(n):
				changed = append(changed, n)
			}
		}
		for _, n := range oldN {
			if !slices.Contains(newN, n) {
				removed = append(removed, n)
			}
		}
		for _, x := range []struct {
			verb  string
			names []string
		}{{"added", added}, {"removed", removed}, {"changed", changed}} {
			if len(x.names) > 0 {
				parts = append(parts, fmt.Sprintf("%s %s %s", what, x.verb, strings.Join(x.names, ", ")))
			}
		}
	}
	oi, ni := map[string]vrrp.InstanceConfig{}, map[string]vrrp.InstanceConfig{}
	var oin, nin []string
	for _, c := range oldI {
		oi[c.Machine.Name] = c
		oin = append(oin, c.Machine.Name)
	}
	for _, c := range newI {
		ni[c.Machine.Name] = c
		nin = append(nin, c.Machine.Name)
	}
	diff("vrrp_instance", oin, nin, func(n string) bool { return reflect.DeepEqual(oi[n], ni[n]) })
	og, ng := map[string]vrrp.SyncGroupConfig{}, map[string]vrrp.SyncGroupConfig{}
	var ogn, ngn []string
	for _, g := range oldG {
		og[g.Name] = g
		ogn = append(ogn, g.Name)
	}
	for _, g := range newG {
		ng[g.Name] = g
		ngn = append(ngn, g.Name)
	}
	diff("vrrp_sync_group", ogn, ngn, func(n string) bool { return reflect.DeepEqual(og[n], ng[n]) })
	if len(parts) == 0 && !slices.Equal(oin, nin) {
		parts = append(parts, "vrrp_instance order changed")
	}
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrVRRPRestart, strings.Join(parts, "; "))
}

// ---- health ------------------------------------------------------------------

// adopt makes the running health component use next's checks (built from the
// new configuration): the runner keeps the state of unchanged checks, and
// the real server and quorum states are recomputed from it (quorum
// transitions run their scripts). Runs on the health loop.
func (h *health) adopt(runner *healthcheck.Runner, next *health) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	removed, err := runner.Update(next.checks)
	if err != nil {
		return err
	}
	// Removed checks go down against the old state (scripts in omega mode).
	for _, tr := range removed {
		h.transitionLocked(tr)
	}
	oldQuorum := make(map[string]bool, len(h.order))
	for _, vs := range h.order {
		oldQuorum[vs.name] = vs.quorumUp
	}
	h.checks, h.vss, h.order, h.byCheck = next.checks, next.vss, next.order, next.byCheck
	for id, cs := range h.byCheck {
		if st, ok := runner.State(id); ok {
			cs.up, cs.weight = st.Up, st.Weight
		}
	}
	for _, vs := range h.order {
		for _, rs := range vs.rss {
			rs.up = rs.allUp()
		}
		if q, ok := oldQuorum[vs.name]; ok {
			vs.quorumUp = q
			h.updateQuorumLocked(vs, true)
		} else {
			sum := vs.weightSum()
			vs.quorumUp = sum > 0 && sum >= uint64(vs.v.Quorum)
		}
	}
	h.log.Info("health checks updated", "checks", len(h.checks), "removed_up", len(removed))
	select {
	case h.changed <- struct{}{}:
	default:
	}
	return nil
}

// HealthChecks lists the checks with their scheduler state (metrics and
// /status source).
func (h *health) HealthChecks() []metrics.CheckStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]metrics.CheckStatus, 0, len(h.checks))
	for _, c := range h.checks {
		cs := h.byCheck[c.ID]
		if cs == nil {
			continue
		}
		st := healthcheck.State{Up: cs.up, Weight: cs.weight}
		if h.runner != nil {
			if s, ok := h.runner.State(c.ID); ok {
				st = s
			}
		}
		out = append(out, metrics.CheckStatus{CheckInfo: cs.info, Services: cs.services, State: st})
	}
	return out
}

var _ metrics.HealthSource = (*health)(nil)

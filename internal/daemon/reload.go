package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/conf/syntax"
	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/internal/metrics"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
)

// ErrNotRunning is returned by Reload outside Run.
var ErrNotRunning = errors.New("daemon is not running")

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
// validated, changing only what differs: VRRP through Runner.Update
// (unchanged instances keep their state and advert rhythm, changed ones
// their state), then health checks through healthcheck.Runner.Update
// (unchanged checks keep their state and schedule), then IPVS through Apply
// (only changed services and destinations). An error translating or
// validating cfg, or opening a VRRP socket it needs, changes nothing. The
// result is counted in the reload metrics. Reload must be called while Run
// runs.
func (d *Daemon) Reload(ctx context.Context, cfg *conf.Config) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.reloadLocked(ctx, cfg)
	d.metrics.ConfigReloaded(d.now(), err)
	switch {
	case err == nil:
		d.log.Info("reloaded")
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

	// VRRP first: its update validates the instances and opens any new
	// socket before changing anything, so a failure there leaves the whole
	// daemon as it was.
	if err := d.reloadVRRPLocked(ctx, cfg, instances, groups); err != nil {
		return err
	}

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
	return nil
}

// reloadVRRPLocked hands the new instances to the running VRRP runner, or
// starts one when the old configuration had no instance.
func (d *Daemon) reloadVRRPLocked(ctx context.Context, cfg *conf.Config, instances []runner.InstanceConfig, groups []runner.SyncGroupConfig) error {
	switch {
	case d.vrrp != nil:
		res, err := d.vrrp.Update(ctx, instances, groups)
		if err != nil {
			return fmt.Errorf("vrrp: %w", err)
		}
		if res.Changed() {
			d.log.Info("reload: vrrp", "unchanged", res.Unchanged, "reconfigured", res.Reconfigured,
				"restarted", res.Restarted, "added", res.Added, "removed", res.Removed)
		} else {
			d.log.Info("reload: vrrp unchanged", "instances", len(res.Unchanged))
		}
	case len(instances) > 0:
		r, err := d.newVRRPRunner(cfg, instances, groups)
		if err != nil {
			return fmt.Errorf("vrrp: %w", err)
		}
		d.vrrp = r
		d.startVRRPLocked()
		d.log.Info("reload: vrrp started", "instances", len(instances))
	}
	d.vrrpInstances, d.vrrpGroups = instances, groups
	return nil
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

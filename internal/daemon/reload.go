package daemon

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/conf/syntax"
	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/internal/metrics"
	"github.com/lvs-ha/lvs-ha/internal/script"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
	"github.com/lvs-ha/lvs-ha/vrrp/vmac"
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

// plan is one configuration translated for every component and validated,
// so that committing it can fail only in the VRRP runner's Update, which
// changes nothing when it fails.
type plan struct {
	cfg       *conf.Config
	instances []runner.InstanceConfig
	groups    []runner.SyncGroupConfig
	lvs       *lvsState           // the virtual servers at their initial state
	checks    []healthcheck.Check // the checks of lvs's real servers
	desired   ipvs.Table          // every real server at its configured weight
	ipvs      bool                // IPVS is managed: services or lvs_flush (or an earlier plan's)
	flush     bool                // lvs_flush
	logAll    map[string]bool     // checks with log_all_failures
	timeouts  *ipvs.Timeouts      // lvs_timeouts (zero fields: the kernel's original value); nil: none
	stop      stopMode
	sync      syncPlan    // lvs_sync_daemon and the net.ipv4.vs sysctls
	statics   statics     // static_ipaddress, static_routes, static_rules
	vmacs     []vmac.Spec // use_vmac interfaces
	fifos     fifoPlan    // notify_fifo, vrrp_notify_fifo, lvs_notify_fifo (opened at Run; a reload reopens the changed ones)
	mail      mailPlan    // smtp_server, notification_email, smtp_alert (sender started at Run)
	bgp       bgpPlan     // bgp_speaker and bgp_announce
	// warnings are the build's findings that do not stop it (script
	// security), each at its location.
	warnings syntax.Diagnostics
}

// newPlan translates and validates cfg, which conf has validated, for every
// component, with the components' own validation. It is pure: nothing is
// opened or changed. Check (check-config), New (run) and Reload (SIGHUP)
// all build it.
func newPlan(cfg *conf.Config, o *Options) (*plan, error) {
	check := o.checkScript
	if check == nil {
		check = script.CheckScriptSecurity
	}
	cfg, warnings := scriptSecurity(cfg, check)
	p := &plan{cfg: cfg, flush: cfg.Global.LVSFlush, warnings: warnings, timeouts: lvsTimeouts(cfg.Global.LVSTimeouts)}
	var err error
	if p.instances, p.groups, err = vrrpConfig(cfg); err != nil {
		return nil, err
	}
	if err := validateVRRP(cfg, p.instances, p.groups); err != nil {
		return nil, err
	}
	if p.statics, err = staticsOf(cfg); err != nil {
		return nil, err
	}
	if p.vmacs, err = vmacsOf(cfg); err != nil {
		return nil, err
	}
	vss, err := virtualServers(cfg)
	if err != nil {
		return nil, err
	}
	p.lvs = &lvsState{vss: vss, byCheck: map[string]*checkState{}, user: cfg.Global.ScriptUser, group: cfg.Global.ScriptGroup,
		initNotifies: cfg.Global.RSInitNotifies}
	if mp := newMailPlan(cfg); mp.cfg != nil {
		p.lvs.mailRouterID = &mp.routerID
		p.lvs.noCheckerEmails = cfg.Global.NoCheckerEmails
	}
	if p.bgp, err = newBGPPlan(cfg, vss); err != nil {
		return nil, err
	}
	if err := p.addChecks(o.wrapChecker); err != nil {
		return nil, err
	}
	p.desired = tableOf(vss, (*vsState).configured)
	p.ipvs = len(p.desired.Services) > 0 || p.flush
	if cfg.Global.LVSFlushOnStop == "RS" {
		p.stop = stopFlushAll
	}
	if o.KeepIPVSOnStop {
		p.stop = stopKeep
	}
	p.sync = newSyncPlan(cfg)
	fifos, fifoWarnings, err := newFifoPlan(&cfg.Global)
	if err != nil {
		return nil, err
	}
	p.fifos = fifos
	p.mail = newMailPlan(cfg)
	p.warnings = append(p.warnings, fifoWarnings...)
	p.warnings = append(p.warnings, syncWarnings(cfg, o.ifaceMTU)...)
	p.warnings = append(p.warnings, noVIPWarnings(cfg)...)
	p.warnings = append(p.warnings, untrackedRouteWarnings(cfg)...)
	p.dropRealServers()
	return p, nil
}

// dropRealServers makes the plan hold its configuration without the
// virtual servers' real_server blocks, which everything built from them
// (the machine's rsConf and destinations, the checks, the tables) copied:
// the parsed blocks are ~300 bytes each, 30 MB at 10,000 x 10, and nothing
// reads them after planning. The virtual servers are shallow copies, so the
// caller's configuration is unchanged.
func (p *plan) dropRealServers() {
	cfg := *p.cfg
	cfg.VirtualServers = make([]*conf.VirtualServer, len(p.cfg.VirtualServers))
	stripped := make(map[*conf.VirtualServer]*conf.VirtualServer, len(cfg.VirtualServers))
	for i, v := range p.cfg.VirtualServers {
		c := *v
		c.RealServers = nil
		cfg.VirtualServers[i] = &c
		stripped[v] = &c
	}
	for _, vs := range p.lvs.vss {
		if c := stripped[vs.v]; c != nil {
			vs.v = c
		}
	}
	p.cfg = &cfg
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
	defer d.tightenGC()()
	d.log.Info("reloading", "file", file)
	cfg, ds := conf.Load(file, o)
	var p *plan
	if !ds.HasErrors() {
		var pds syntax.Diagnostics
		p, pds = check(cfg, &d.opts)
		ds = append(ds, pds...)
	}
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
	return d.reload(ctx, cfg, p) // p's warnings are logged above
}

// Reload replaces the running configuration with cfg, which conf has
// validated. The whole configuration is translated and validated first
// (newPlan); any error there changes nothing. Then only the difference is
// applied, in order: VRRP through Runner.Update (unchanged instances keep
// their state and advert rhythm, changed ones their state; it validates and
// opens new sockets before changing anything, so its failure changes
// nothing either), then health checks and IPVS through lvs (unchanged checks
// keep their state and schedule; one apply changes only the services and
// destinations that differ). The result is counted in the reload metrics.
// Reload must be called while Run runs.
func (d *Daemon) Reload(ctx context.Context, cfg *conf.Config) error {
	defer d.tightenGC()()
	return d.reload(ctx, cfg, nil)
}

// reloadGCPercent is the collector's GOGC while a reload loads, plans and
// applies. At a reload the running configuration and the new one are alive
// together, and with the default 100 the heap grows to twice that before a
// cycle, so the reload, not the start, set the daemon's peak resident size:
// natively, VmHWM after the start and after two reloads was 32 and 40 MiB
// at 1,000 x 10, 126 and 232 at 10,000 x 10; with 25, 35 and 180 after the
// reloads. The price is the reload's CPU (within noise at 1,000 x 10, 2.9 ->
// 4.0 s for two reloads at 10,000 x 10), paid rarely; the start keeps the
// default (its CPU is paid at every boot).
const reloadGCPercent = 25

// tightenGC sets GOGC to reloadGCPercent (unless the process runs with a
// lower one or with the collector off) and returns what restores it.
func (d *Daemon) tightenGC() (restore func()) {
	set := d.opts.setGCPercent
	switch {
	case set != nil:
	case d.opts.GC != nil:
		set = d.opts.GC.SetGCPercent
	default:
		set = debug.SetGCPercent
	}
	prev := set(reloadGCPercent)
	if prev <= reloadGCPercent { // a lower GOGC, or -1: off
		set(prev)
		return func() {}
	}
	return func() { set(prev) }
}

// release is lvsOptions.Release: it returns freed memory to the system
// and, with a GC pacer, paces from then on (the start's apply is in; a
// reload's tighter GOGC ends here or at its restore, whichever is first).
func (o *Options) release() func() {
	if o.GC == nil {
		return nil // debug.FreeOSMemory
	}
	return func() {
		debug.FreeOSMemory()
		o.GC.Pace()
	}
}

// reload is Reload with the plan already built from cfg, or nil.
func (d *Daemon) reload(ctx context.Context, cfg *conf.Config, p *plan) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.reloadLocked(ctx, cfg, p)
	d.metrics.ConfigReloaded(d.now(), err)
	if err != nil {
		d.log.Error("reload failed; keeping the running configuration", "error", err)
		return err
	}
	d.log.Info("reloaded")
	return nil
}

func (d *Daemon) reloadLocked(ctx context.Context, cfg *conf.Config, p *plan) error {
	if d.g == nil {
		return ErrNotRunning
	}
	if p == nil {
		var err error
		if p, err = newPlan(cfg, &d.opts); err != nil {
			return err
		}
		d.logWarnings(p)
	}
	p.ipvs = p.ipvs || d.plan.Load().ipvs
	if !p.fifos.equal(d.plan.Load().fifos) {
		p.fifos.reopen(d)
	}
	// The drop rules of the old and the new VIPs while the runner moves from
	// one to the other (a VIP it adds finds its rule in; one it removes
	// keeps its rule until after), the new plan's alone after.
	old := d.plan.Load()
	next := strictPlanOf(p.cfg.Global, p.instances)
	if !d.strict.commitWait(next.union(strictPlanOf(old.cfg.Global, old.instances))) {
		d.log.Warn("reload: strict mode: the nftables rules are not set yet")
	}
	// The new VMACs before the instances that use them; the old ones go
	// after the instances that used them.
	d.applyVMACs(append(slices.Clone(d.plan.Load().vmacs), p.vmacs...))
	if err := d.reloadVRRPLocked(ctx, p); err != nil {
		return fmt.Errorf("vrrp: %w", err)
	}
	applyStatics(d.net, d.log, d.plan.Load().statics, p.statics)
	d.applyVMACs(p.vmacs)
	if !p.mail.equal(d.plan.Load().mail) {
		d.mailer.Swap(d.startMail(p)).Close()
	}
	d.plan.Store(p)
	d.syncd.commit(p.sync)
	d.strict.commit(next)
	d.metrics.SetUnsupportedKeywords(len(cfg.Unsupported))
	// Before lvs: the prefixes of removed virtual servers are withdrawn as
	// "not configured"; new ones wait for lvs's next health report.
	if err := d.reloadBGPLocked(old, p); err != nil {
		d.log.Error("reload: bgp", "error", err)
	}
	ch, err := d.lvs.commit(d.gctx, p)
	switch {
	case !p.ipvs:
	case errors.Is(err, errIPVSUnavailable):
		d.log.Warn("reload: IPVS unavailable; the new table is programmed when it is", "error", err)
	case err != nil:
		// Logged by lvs, which retries.
		d.log.Warn("reload: ipvs apply failed; retrying", "error", err, "changes", ch.String())
	default:
		d.log.Info("reload: ipvs", "changes", ch.String(), "total", ch.Total())
	}
	// Metrics and /status follow the new configuration.
	d.setSourcesLocked()
	keep := make([]metrics.CheckInfo, 0, len(p.checks))
	for _, c := range p.checks {
		keep = append(keep, p.lvs.byCheck[c.ID].info)
	}
	d.metrics.RetainChecks(keep)
	return nil
}

// reloadVRRPLocked hands the new instances to the running VRRP runner, or
// starts one when the old configuration had no instance.
func (d *Daemon) reloadVRRPLocked(ctx context.Context, p *plan) error {
	switch {
	case d.vrrp != nil:
		res, err := d.vrrp.Update(ctx, p.instances, p.groups)
		if err != nil {
			return err
		}
		if p.cfg.Global.FIFOWriteVRRPStatesOnReload {
			d.writeVRRPStates(res)
		}
		if res.Changed() {
			d.log.Info("reload: vrrp", "unchanged", res.Unchanged, "reconfigured", res.Reconfigured,
				"restarted", res.Restarted, "added", res.Added, "removed", res.Removed)
		} else {
			d.log.Info("reload: vrrp unchanged", "instances", len(res.Unchanged))
		}
	case len(p.instances) > 0:
		r, err := d.newVRRPRunner(p)
		if err != nil {
			return err
		}
		d.vrrp = r
		d.syncd.setSource(r)
		d.startVRRPLocked()
		d.log.Info("reload: vrrp started", "instances", len(p.instances))
	}
	return nil
}

// logWarnings logs the plan's warnings.
func (d *Daemon) logWarnings(p *plan) {
	for _, w := range p.warnings {
		d.log.Warn("config", "warning", w.String())
	}
}

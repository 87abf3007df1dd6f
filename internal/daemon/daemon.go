package daemon

import (
	"context"
	"fmt"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/garp"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
)

// Daemon runs one configuration until its context ends.
type Daemon struct {
	cfg    *conf.Config
	log    *slog.Logger
	vrrp   *vrrp.Runner
	ipvs   *IPVS
	health *health // nil without checkers
}

// New translates cfg, which conf has validated, into the components' options.
// Nothing is opened or changed on the system until Run.
func New(cfg *conf.Config, log *slog.Logger) (*Daemon, error) {
	d := &Daemon{cfg: cfg, log: log}
	instances, groups, err := vrrpConfig(cfg)
	if err != nil {
		return nil, err
	}
	if len(instances) > 0 {
		var err error
		d.vrrp, err = vrrp.NewRunner(vrrp.RunnerOptions{
			Instances:   instances,
			SyncGroups:  groups,
			Logger:      log,
			Conns:       vrrp.SocketFactory{},
			VIPs:        vip.New(),
			Announcer:   garp.NewAnnouncer(garp.AnnouncerConfig{}),
			Links:       vrrp.NetlinkLinks{Options: track.WatchOptions{}},
			ScriptUser:  cfg.Global.ScriptUser,
			ScriptGroup: cfg.Global.ScriptGroup,
		})
		if err != nil {
			return nil, err
		}
	}
	h, err := newHealth(cfg, healthOptions{Logger: log, ScriptUser: cfg.Global.ScriptUser, ScriptGroup: cfg.Global.ScriptGroup})
	if err != nil {
		return nil, err
	}
	// The initial table already has alpha real servers out (and the sorry
	// server in when they leave the quorum unmet).
	table, err := h.table(cfg)
	if err != nil {
		return nil, err
	}
	if len(h.Checks()) > 0 {
		d.health = h
	}
	if len(table.Services) > 0 || cfg.Global.LVSFlush {
		d.ipvs = newIPVS(ipvsOptions{
			Logger:  log,
			Desired: table,
			Flush:   cfg.Global.LVSFlush,
			Stop:    stopModeOf(cfg.Global.LVSFlushOnStop),
		})
	}
	return d, nil
}

// VRRP returns the VRRP runner (nil without vrrp_instance blocks), for status.
func (d *Daemon) VRRP() *vrrp.Runner { return d.vrrp }

// IPVS returns the IPVS component (nil without virtual servers), for reload.
func (d *Daemon) IPVS() *IPVS { return d.ipvs }

// KeepIPVSOnStop makes Run leave the IPVS table in place at shutdown
// (keepalived --dont-release-ipvs). Call it before Run.
func (d *Daemon) KeepIPVSOnStop() {
	if d.ipvs != nil {
		d.ipvs.SetStopMode(StopKeep)
	}
}

// Run serves until ctx is cancelled, then shuts every component down in order
// (VRRP sends priority 0 and removes its VIPs; IPVS removes the services
// lvs-ha owns, or flushes or keeps the table per lvs_flush_on_stop /
// KeepIPVSOnStop) and returns nil. A component
// that fails stops the others and its error is returned.
func (d *Daemon) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	if d.vrrp != nil {
		g.Go(func() error {
			if err := d.vrrp.Run(gctx); err != nil {
				return fmt.Errorf("vrrp: %w", err)
			}
			return nil
		})
	}
	if d.ipvs != nil {
		// IPVS never fails the daemon: without IPVS it logs and retries
		// while VRRP keeps running.
		g.Go(func() error { return d.ipvs.Run(gctx) })
	}
	if d.health != nil {
		// Health transitions recompute the desired table and apply it
		// (the reconciler changes only the differences).
		g.Go(func() error {
			return d.health.run(gctx, d.cfg, 0, func(ctx context.Context, t ipvs.Table) error {
				if d.ipvs == nil {
					return nil
				}
				_, err := d.ipvs.Apply(ctx, t)
				return err
			})
		})
	}
	d.log.Info("running",
		"vrrp_instances", len(d.cfg.VRRPInstances),
		"virtual_servers", len(d.cfg.VirtualServers))
	<-gctx.Done()
	if ctx.Err() != nil {
		d.log.Info("stopping", "reason", context.Cause(ctx))
	}
	return g.Wait()
}

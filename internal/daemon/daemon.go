package daemon

import (
	"context"
	"log/slog"

	"github.com/lvs-ha/lvs-ha/conf"
)

// Daemon runs one configuration until its context ends.
type Daemon struct {
	cfg *conf.Config
	log *slog.Logger
}

// New prepares a daemon for cfg, which must already be valid.
func New(cfg *conf.Config, log *slog.Logger) *Daemon {
	return &Daemon{cfg: cfg, log: log}
}

// Run serves until ctx is cancelled, then shuts down in order and returns nil.
func (d *Daemon) Run(ctx context.Context) error {
	d.log.Info("running",
		"vrrp_instances", len(d.cfg.VRRPInstances),
		"virtual_servers", len(d.cfg.VirtualServers))
	<-ctx.Done()
	d.log.Info("stopping", "reason", context.Cause(ctx))
	return nil
}

package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/garp"
	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/internal/clock"
	"github.com/lvs-ha/lvs-ha/internal/metrics"
	"github.com/lvs-ha/lvs-ha/internal/sdnotify"
	"github.com/lvs-ha/lvs-ha/internal/status"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
)

// DefaultDumpFile is where SIGUSR1 writes the state dump (keepalived writes
// /tmp/keepalived.data).
const DefaultDumpFile = "/tmp/lvs-ha.state"

// Notifier tells the service manager about the daemon's life cycle;
// SystemdNotifier (sd_notify) is the default.
type Notifier interface {
	Ready() error
	Reloading() error
	Stopping() error
}

// SystemdNotifier sends sd_notify messages to $NOTIFY_SOCKET (nothing when
// it is unset).
type SystemdNotifier struct{}

// Ready sends READY=1.
func (SystemdNotifier) Ready() error { return sdnotify.Ready() }

// Reloading sends RELOADING=1 with MONOTONIC_USEC.
func (SystemdNotifier) Reloading() error { return sdnotify.Reloading() }

// Stopping sends STOPPING=1.
func (SystemdNotifier) Stopping() error { return sdnotify.Stopping() }

var _ Notifier = SystemdNotifier{}

// Options configure a Daemon. The zero value runs without HTTP endpoints,
// signals or reload source, with a fresh metrics registry.
type Options struct {
	Logger *slog.Logger
	// Registry receives the metrics; nil means metrics.NewRegistry().
	Registry *prometheus.Registry
	// StatusAddr is where /metrics and /status are served; "" serves
	// nothing (see status.DefaultAddr).
	StatusAddr string
	// StatusListener, if set, is served instead of listening on StatusAddr.
	StatusListener net.Listener
	// ConfigFile and ConfigOptions are what SIGHUP reloads (ReloadFile).
	ConfigFile    string
	ConfigOptions conf.Options
	// Signals delivers SIGHUP (reload) and SIGUSR1 (state dump) to Run;
	// other signals are ignored. nil: none.
	Signals <-chan os.Signal
	// DumpFile is where SIGUSR1 writes the state; "" means DefaultDumpFile.
	DumpFile string
	// Notifier is told READY/RELOADING/STOPPING; nil means SystemdNotifier.
	Notifier Notifier
	// KeepIPVSOnStop leaves the IPVS table in place at shutdown
	// (keepalived --dont-release-ipvs).
	KeepIPVSOnStop bool
	// Now is the wall clock for metrics timestamps; nil means time.Now.
	Now func() time.Time

	// Test seams.
	openIPVS    func() (ipvsKernel, error)
	healthClock clock.Clock
	newVRRP     func(runner.Options) (vrrpRunner, error)
	wrapChecker func(id string, c healthcheck.Checker) healthcheck.Checker
}

// vrrpRunner is what the daemon needs of *runner.Runner.
type vrrpRunner interface {
	Run(ctx context.Context) error
	Snapshot() runner.Stats
	Update(ctx context.Context, instances []runner.InstanceConfig, groups []runner.SyncGroupConfig) (runner.UpdateResult, error)
}

var _ vrrpRunner = (*runner.Runner)(nil)

// Daemon runs one configuration until its context ends; SIGHUP (through
// Options.Signals) or Reload replace the configuration while it runs.
type Daemon struct {
	opts    Options
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *metrics.Metrics
	notify  Notifier
	now     func() time.Time

	// mu serialises reloads and guards the fields below.
	mu             sync.Mutex
	cfg            *conf.Config
	vrrp           vrrpRunner
	vrrpInstances  []runner.InstanceConfig
	vrrpGroups     []runner.SyncGroupConfig
	ipvs           *IPVS
	ipvsRef        atomic.Pointer[IPVS] // read by the health loop without mu
	health         *health
	healthRunning  bool
	g              *errgroup.Group // set while Run runs
	gctx           context.Context
	keepIPVSOnStop bool
}

// New is NewWithOptions with only a logger.
func New(cfg *conf.Config, log *slog.Logger) (*Daemon, error) {
	return NewWithOptions(cfg, Options{Logger: log})
}

// NewWithOptions translates cfg, which conf has validated, into the
// components' options and registers the metrics. Nothing is opened or
// changed on the system until Run.
func NewWithOptions(cfg *conf.Config, o Options) (*Daemon, error) {
	d := &Daemon{opts: o, log: o.Logger, reg: o.Registry, notify: o.Notifier, now: o.Now,
		cfg: cfg, keepIPVSOnStop: o.KeepIPVSOnStop}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.reg == nil {
		d.reg = metrics.NewRegistry()
	}
	if d.notify == nil {
		d.notify = SystemdNotifier{}
	}
	if d.now == nil {
		d.now = time.Now
	}
	m, err := metrics.New(d.reg, metrics.Options{})
	if err != nil {
		return nil, err
	}
	d.metrics = m
	instances, groups, err := vrrpConfig(cfg)
	if err != nil {
		return nil, err
	}
	d.vrrpInstances, d.vrrpGroups = instances, groups
	if len(instances) > 0 {
		if d.vrrp, err = d.newVRRPRunner(cfg, instances, groups); err != nil {
			return nil, err
		}
	}
	h, err := newHealth(cfg, d.healthOptions(cfg))
	if err != nil {
		return nil, err
	}
	// The initial table already has alpha real servers out (and the sorry
	// server in when they leave the quorum unmet).
	table, err := h.table(cfg)
	if err != nil {
		return nil, err
	}
	d.health = h
	if len(table.Services) > 0 || cfg.Global.LVSFlush {
		d.setIPVS(d.newIPVS(cfg, table))
	}
	d.setSourcesLocked()
	return d, nil
}

// newVRRPRunner makes the VRRP runner (not yet running).
func (d *Daemon) newVRRPRunner(cfg *conf.Config, instances []runner.InstanceConfig, groups []runner.SyncGroupConfig) (vrrpRunner, error) {
	ro := runner.Options{
		Instances:   instances,
		SyncGroups:  groups,
		Logger:      d.log,
		ScriptUser:  cfg.Global.ScriptUser,
		ScriptGroup: cfg.Global.ScriptGroup,
	}
	newVRRP := d.opts.newVRRP
	if newVRRP == nil {
		ro.Conns = runner.SocketFactory{}
		ro.VIPs = vip.New()
		ro.Announcer = garp.NewAnnouncer(garp.AnnouncerConfig{})
		ro.Links = runner.NetlinkLinks{Options: track.WatchOptions{}}
		newVRRP = func(ro runner.Options) (vrrpRunner, error) { return runner.New(ro) }
	}
	return newVRRP(ro)
}

// startVRRPLocked runs the VRRP runner under Run's group.
func (d *Daemon) startVRRPLocked() {
	r, ctx := d.vrrp, d.gctx
	d.g.Go(func() error {
		if err := r.Run(ctx); err != nil {
			return fmt.Errorf("vrrp: %w", err)
		}
		return nil
	})
}

func (d *Daemon) healthOptions(cfg *conf.Config) healthOptions {
	return healthOptions{
		Logger: d.log, Clock: d.opts.healthClock,
		ScriptUser: cfg.Global.ScriptUser, ScriptGroup: cfg.Global.ScriptGroup,
		OnResult: func(c metrics.CheckInfo, r healthcheck.Result) { d.metrics.ObserveCheck(c, r) },
		wrap:     d.opts.wrapChecker,
	}
}

func (d *Daemon) newIPVS(cfg *conf.Config, table ipvs.Table) *IPVS {
	stop := stopModeOf(cfg.Global.LVSFlushOnStop)
	if d.keepIPVSOnStop {
		stop = StopKeep
	}
	return newIPVS(ipvsOptions{
		Logger:  d.log,
		Open:    d.opts.openIPVS,
		Desired: table,
		Flush:   cfg.Global.LVSFlush,
		Stop:    stop,
	})
}

func (d *Daemon) setIPVS(c *IPVS) {
	d.ipvs = c
	d.ipvsRef.Store(c)
}

// setSourcesLocked points the metrics and /status at the current components.
func (d *Daemon) setSourcesLocked() {
	src := metrics.Sources{VIPs: metrics.VIPsOf(d.vrrpInstances)}
	if d.vrrp != nil {
		src.VRRP = d.vrrp
	}
	if d.ipvs != nil {
		src.IPVS = d.ipvs
	}
	if len(d.health.Checks()) > 0 {
		src.Health = d.health
	}
	if t, err := desiredTable(d.cfg); err == nil {
		src.Desired = t
	}
	d.metrics.SetSources(src)
}

// VRRP returns the VRRP runner (nil without vrrp_instance blocks), for status.
func (d *Daemon) VRRP() *runner.Runner {
	r, _ := d.vrrp.(*runner.Runner)
	return r
}

// IPVS returns the IPVS component (nil without virtual servers), for reload.
func (d *Daemon) IPVS() *IPVS { return d.ipvs }

// Metrics returns the daemon's metrics (registered on Registry).
func (d *Daemon) Metrics() *metrics.Metrics { return d.metrics }

// Registry returns the registry the metrics are registered on.
func (d *Daemon) Registry() *prometheus.Registry { return d.reg }

// KeepIPVSOnStop makes Run leave the IPVS table in place at shutdown
// (keepalived --dont-release-ipvs). Call it before Run.
func (d *Daemon) KeepIPVSOnStop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keepIPVSOnStop = true
	if d.ipvs != nil {
		d.ipvs.SetStopMode(StopKeep)
	}
}

// Run serves until ctx is cancelled, then shuts every component down in order
// (VRRP sends priority 0 and removes its VIPs; IPVS removes the services
// lvs-ha owns, or flushes or keeps the table per lvs_flush_on_stop /
// KeepIPVSOnStop) and returns nil. A component that fails stops the others
// and its error is returned. It serves /metrics and /status when
// Options.StatusAddr or StatusListener is set, reloads on SIGHUP and dumps
// the state on SIGUSR1 (Options.Signals), and notifies the service manager.
func (d *Daemon) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	d.mu.Lock()
	d.g, d.gctx = g, gctx
	if d.vrrp != nil {
		d.startVRRPLocked()
	}
	if d.ipvs != nil {
		d.startIPVSLocked()
	}
	if len(d.health.Checks()) > 0 {
		d.startHealthLocked()
	}
	cfg := d.cfg
	d.mu.Unlock()
	d.startStatus(gctx, g)
	d.metrics.ConfigReloaded(d.now(), nil)
	d.log.Info("running",
		"vrrp_instances", len(cfg.VRRPInstances),
		"virtual_servers", len(cfg.VirtualServers))
	if err := d.notify.Ready(); err != nil {
		d.log.Warn("sd_notify READY", "error", err)
	}
loop:
	for {
		select {
		case <-gctx.Done():
			break loop
		case sig := <-d.opts.Signals:
			switch sig {
			case syscall.SIGHUP:
				_ = d.reloadSignalled(gctx)
			case syscall.SIGUSR1:
				d.dumpSignalled()
			}
		}
	}
	if err := d.notify.Stopping(); err != nil {
		d.log.Warn("sd_notify STOPPING", "error", err)
	}
	if ctx.Err() != nil {
		d.log.Info("stopping", "reason", context.Cause(ctx))
	}
	err := g.Wait()
	d.mu.Lock()
	d.g, d.gctx = nil, nil
	d.mu.Unlock()
	return err
}

func (d *Daemon) startIPVSLocked() {
	c := d.ipvs
	// IPVS never fails the daemon: without IPVS it logs and retries while
	// VRRP keeps running.
	d.g.Go(func() error { return c.Run(d.gctx) })
}

// startHealthLocked runs the health component: transitions recompute the
// desired table and apply it (the reconciler changes only the differences).
func (d *Daemon) startHealthLocked() {
	h, cfg, ctx := d.health, d.cfg, d.gctx
	d.healthRunning = true
	d.g.Go(func() error {
		return h.run(ctx, cfg, 0, func(ctx context.Context, t ipvs.Table) error {
			c := d.ipvsRef.Load()
			if c == nil {
				return nil
			}
			_, err := c.Apply(ctx, t)
			return err
		})
	})
}

// startStatus serves /metrics and /status. A listen failure is logged and
// does not stop the daemon.
func (d *Daemon) startStatus(ctx context.Context, g *errgroup.Group) {
	if d.opts.StatusListener == nil && d.opts.StatusAddr == "" {
		return
	}
	srv := status.NewServer(d.reg, d.metrics, status.Options{})
	g.Go(func() error {
		var err error
		if ln := d.opts.StatusListener; ln != nil {
			d.log.Info("status server", "addr", ln.Addr().String())
			err = srv.ServeListener(ctx, ln)
		} else {
			d.log.Info("status server", "addr", d.opts.StatusAddr)
			err = srv.Serve(ctx, d.opts.StatusAddr)
		}
		if err != nil {
			d.log.Error("status server failed: /metrics and /status are not served", "error", err)
		}
		return nil
	})
}

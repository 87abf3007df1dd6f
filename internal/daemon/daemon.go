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

	"github.com/lvs-ha/lvs-ha/bgp"
	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/conf/syntax"
	"github.com/lvs-ha/lvs-ha/garp"
	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/internal/clock"
	"github.com/lvs-ha/lvs-ha/internal/gcpace"
	"github.com/lvs-ha/lvs-ha/internal/mail"
	"github.com/lvs-ha/lvs-ha/internal/metrics"
	"github.com/lvs-ha/lvs-ha/internal/notifyfifo"
	"github.com/lvs-ha/lvs-ha/internal/procprio"
	"github.com/lvs-ha/lvs-ha/internal/script"
	"github.com/lvs-ha/lvs-ha/internal/sdnotify"
	"github.com/lvs-ha/lvs-ha/internal/status"
	"github.com/lvs-ha/lvs-ha/internal/strictfw"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
	"github.com/lvs-ha/lvs-ha/vrrp/iproute"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
	"github.com/lvs-ha/lvs-ha/vrrp/vmac"
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
	// GC paces the collector (gcpace.Pacer: GOGC's rate without the
	// runtime's forced collection every two minutes, which stalls the
	// advert path when the CPUs are held by busy loops at a higher
	// priority). The daemon starts pacing after the start's apply and
	// tightens GOGC through it while a reload runs. nil leaves the
	// collector to the runtime (in-process tests, several daemons).
	GC GCPacer
	// InMemoryIPVS programs an in-memory IPVS table instead of the
	// kernel's: for control-plane tests (BGP announcements) on hosts
	// without ip_vs, never for a director that must forward.
	InMemoryIPVS bool

	// Test seams.
	openIPVS    func() (ipvsKernel, error)
	clk         clock.Clock // health checks and IPVS retries
	newVRRP     func(runner.Options) (vrrpRunner, error)
	wrapChecker func(id string, c healthcheck.Checker) healthcheck.Checker
	checkScript scriptChecker // nil: script.CheckScriptSecurity
	sysctls     sysctlIO      // net.ipv4.vs sysctls; nil: procVS
	ifaceMTU    func(name string) (int, bool)
	net         netConfig                     // static addresses, routes and rules; nil: the system's
	vmacs       vmacs                         // use_vmac interfaces; nil: the system's
	uptime      func() (time.Duration, error) // nil: /proc/uptime
	// newFirewall makes the strict mode / no_accept firewall; nil: nft,
	// or none (a no-op) when newVRRP is set, so tests never touch the
	// host's ruleset.
	newFirewall func(strictfw.Options) strictfw.Firewall
	// setGCPercent is GC's SetGCPercent, or debug.SetGCPercent (nil),
	// which a reload lowers while it runs (reloadGCPercent).
	setGCPercent func(int) int
	// newSpeaker makes the BGP speaker; nil: bgp.New.
	newSpeaker func(bgp.Options, prometheus.Registerer, *slog.Logger) (bgpSpeaker, error)
}

// GCPacer is what the daemon needs of the collector's pacing.
type GCPacer interface {
	// Pace starts pacing at the pacer's GOGC (after the start's apply).
	Pace()
	// SetGCPercent is debug.SetGCPercent while pacing may be on: the
	// pacer's GOGC paces, another leaves pacing.
	SetGCPercent(int) int
}

var _ GCPacer = (*gcpace.Pacer)(nil)

// vrrpRunner is what the daemon needs of the VRRP runner.
type vrrpRunner interface {
	Run(ctx context.Context) error
	// Ready is closed once Run has opened every socket and started the
	// instances.
	Ready() <-chan struct{}
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
	lvs     *lvs
	syncd   *syncd
	strict  *strictd
	plan    atomic.Pointer[plan] // the configuration in effect
	net     netConfig            // adds and removes the static entries
	vmacs   vmacs                // creates and removes the use_vmac interfaces
	bgp     *bgpd                // gates bgp_announce's VIPs
	// fifos are the notify FIFOs, open while Run runs (nil otherwise).
	fifos atomic.Pointer[notifyfifo.Set]
	// mailer sends the e-mail alerts while Run runs (nil otherwise or
	// without alerts).
	mailer atomic.Pointer[mail.Sender]

	// mu serialises reloads and guards the fields below.
	mu   sync.Mutex
	vrrp vrrpRunner
	// speaker is the BGP speaker (nil without one); speakerStop ends its
	// Run when a reload removes it.
	speaker     bgpSpeaker
	speakerStop context.CancelFunc
	speakerReg  *trackedRegisterer // its collectors
	g           *errgroup.Group    // set while Run runs
	gctx        context.Context
}

// New is NewWithOptions with only a logger.
func New(cfg *conf.Config, log *slog.Logger) (*Daemon, error) {
	return NewWithOptions(cfg, Options{Logger: log})
}

// NewWithOptions translates cfg, which conf has validated, into the
// components' options and registers the metrics. Nothing is opened or
// changed on the system until Run.
func NewWithOptions(cfg *conf.Config, o Options) (*Daemon, error) {
	p, err := newPlan(cfg, &o)
	if err != nil {
		return nil, err
	}
	d, err := newDaemon(cfg, o, p)
	if err != nil {
		return nil, err
	}
	d.logWarnings(p)
	return d, nil
}

// Load is conf.Load of file and NewWithOptions in one build: it returns
// conf's diagnostics and the build's (a refusal located as Check does,
// warnings not logged, so the caller reports each once), and a daemon
// unless one of them is an error; err is a failure unrelated to the
// configuration.
func Load(file string, co conf.Options, o Options) (*Daemon, syntax.Diagnostics, error) {
	cfg, ds := conf.Load(file, co)
	if ds.HasErrors() {
		return nil, ds, nil
	}
	p, pds := check(cfg, &o)
	ds = append(ds, pds...)
	if p == nil {
		return nil, ds, nil
	}
	d, err := newDaemon(cfg, o, p)
	return d, ds, err
}

// newDaemon makes the daemon that runs plan p of cfg.
func newDaemon(cfg *conf.Config, o Options, p *plan) (*Daemon, error) {
	if o.InMemoryIPVS && o.openIPVS == nil {
		k := &memIPVS{Kernel: &ipvstest.Kernel{}}
		o.openIPVS = func() (ipvsKernel, error) { return k, nil }
	}
	d := &Daemon{opts: o, log: o.Logger, reg: o.Registry, notify: o.Notifier, now: o.Now}
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
	if d.net = o.net; d.net == nil {
		d.net = newSysNet()
	}
	if d.vmacs = o.vmacs; d.vmacs == nil {
		d.vmacs = newVMACFirewall(vmac.NewManager(vmac.NetlinkLinks{}, vmac.ProcSys{}),
			func() strictfw.Options { return vmacFirewallOpts(d.plan.Load().cfg.Global) }, d.log)
	}
	m, err := metrics.New(d.reg, metrics.Options{DirectIPVS: true})
	if err != nil {
		return nil, err
	}
	d.metrics = m
	m.SetUnsupportedKeywords(len(cfg.Unsupported))
	newFW := o.newFirewall
	if newFW == nil && o.newVRRP != nil {
		newFW = func(strictfw.Options) strictfw.Firewall { return noFirewall{} }
	}
	d.strict = newStrictd(strictPlanOf(p.cfg.Global, p.instances), d.log, newFW)
	if len(p.instances) > 0 {
		if d.vrrp, err = d.newVRRPRunner(p); err != nil {
			return nil, err
		}
	}
	d.plan.Store(p)
	if p.bgp.speaker != nil {
		if d.speaker, err = d.newSpeaker(*p.bgp.speaker); err != nil {
			return nil, err
		}
	}
	d.bgp = newBGPD(p.bgp, d.announcer(p), bgpdOptions{Logger: d.log, Clock: o.clk, Addrs: d.net})
	d.lvs = newLVS(p, lvsOptions{Release: o.release(), OnHealth: d.bgp.setHealth, Logger: d.log, Open: o.openIPVS, Clock: o.clk, FIFO: func(line string) { d.fifos.Load().LVS(line) },
		Mail: func(a mail.Alert) { d.mailer.Load().Send(a) }, OnResult: func(ev healthcheck.Event) {
			if cs := d.plan.Load().lvs.byCheck[ev.Job.ID]; cs != nil {
				d.metrics.ObserveCheck(cs.info, ev.Result)
			}
		}})
	var openSync func() (syncKernel, error)
	if o.openIPVS != nil {
		openSync = func() (syncKernel, error) { return o.openIPVS() }
	}
	d.syncd = newSyncd(p.sync, syncdOptions{Logger: d.log, Open: openSync, Clock: o.clk, Sysctls: o.sysctls})
	if d.vrrp != nil {
		d.syncd.setSource(d.vrrp)
	}
	d.setSourcesLocked()
	return d, nil
}

// newVRRPRunner makes the VRRP runner (not yet running).
func (d *Daemon) newVRRPRunner(p *plan) (vrrpRunner, error) {
	ro := runner.Options{
		Instances:   p.instances,
		SyncGroups:  p.groups,
		Logger:      d.log,
		ScriptUser:  p.cfg.Global.ScriptUser,
		ScriptGroup: p.cfg.Global.ScriptGroup,
		// The sync daemons follow the lvs_sync_daemon instance's state.
		OnTransition: func() {
			if s := d.syncd; s != nil {
				s.kick()
			}
		},
		OnNotify: func(kind script.NotifyKind, name, state string, prio int) {
			d.fifos.Load().VRRP(notifyfifo.VRRPLine(string(kind), name, state, prio))
			d.mailVRRP(kind, name, state)
		},
	}
	vrrpGlobals(p.cfg.Global, &ro)
	if boot := p.cfg.Global.VRRPDelayAfterBoot.Std(); boot > 0 {
		ro.StartupDelay = max(ro.StartupDelay, d.delayAfterBoot(boot))
	}
	if d.opts.newVRRP != nil {
		return d.opts.newVRRP(ro)
	}
	ro.Conns = runner.SocketFactory{}
	ro.VIPs = strictVIPs{VIPManager: vip.NewHere(), s: d.strict} // the daemon stays in its namespace
	ro.Routes = iproute.New()
	ro.Announcer = garp.NewAnnouncer(garp.AnnouncerConfig{})
	ro.Links = runner.NetlinkLinks{Options: track.WatchOptions{}}
	ro.Addrs = runner.NetlinkAddrs{}
	ro.IfaceSettings = runner.ProcSys{}
	ro.Process = procprio.Process{}
	return runner.New(ro)
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

// setSourcesLocked points the metrics and /status at the current components.
func (d *Daemon) setSourcesLocked() {
	p := d.plan.Load()
	src := metrics.Sources{VIPs: metrics.VIPsOf(p.instances), Desired: p.desired}
	if d.vrrp != nil {
		src.VRRP = d.vrrp
	}
	if p.ipvs {
		src.IPVS = d.lvs
	}
	if len(p.checks) > 0 {
		src.Health = metrics.HealthFunc(func() []metrics.CheckStatus { return p.healthChecks(d.lvs.health) })
	}
	if d.opts.openIPVS == nil { // the kernel's sync daemons whatever the config; none with a test's fake IPVS
		src.Sync = ipvs.KernelSync{}
	}
	if p.bgp.on {
		src.BGP = metrics.BGPFunc(d.bgpState)
	}
	d.metrics.SetSources(src)
}

// Metrics returns the daemon's metrics (registered on Registry).
func (d *Daemon) Metrics() *metrics.Metrics { return d.metrics }

// Registry returns the registry the metrics are registered on, all but the
// IPVS families, which /metrics writes directly (metrics.Options.DirectIPVS;
// Metrics().Handler(Registry()) serves everything).
func (d *Daemon) Registry() *prometheus.Registry { return d.reg }

// Run serves until ctx is cancelled, then shuts every component down in order
// (VRRP sends priority 0 and removes its VIPs; IPVS removes the services
// lvs-ha owns, or flushes or keeps the table per lvs_flush_on_stop /
// KeepIPVSOnStop) and returns nil. A component that fails stops the others
// and its error is returned. It serves /metrics and /status when
// Options.StatusAddr or StatusListener is set, reloads on SIGHUP and dumps
// the state on SIGUSR1 (Options.Signals), and notifies the service manager.
func (d *Daemon) Run(ctx context.Context) error {
	// The components stop when ctx ends, after the BGP drain (runCtx).
	runCtx, stopRun := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopRun(nil)
	g, gctx := errgroup.WithContext(runCtx)
	// The notify FIFOs (and their readers) before anything can write to them;
	// closed after every component has stopped (the STOP lines are in).
	d.fifos.Store(d.plan.Load().fifos.open(d))
	// The mail sender likewise (an alert never waits for the mail server).
	d.mailer.Store(d.startMail(d.plan.Load()))
	defer func() { d.mailer.Swap(nil).Close() }()
	defer func() {
		if s := d.fifos.Swap(nil); s != nil {
			if err := s.Close(); err != nil {
				d.log.Warn("closing notify FIFOs", "err", err)
			}
		}
	}()
	d.mu.Lock()
	// The static entries first, as keepalived sets them before its
	// instances start; they go after everything else has stopped.
	applyStatics(d.net, d.log, statics{}, d.plan.Load().statics)
	guardCtx, stopGuard := context.WithCancel(ctx)
	guardDone := make(chan struct{})
	if r, ok := d.net.(staticRestorer); ok {
		go func() { defer close(guardDone); d.guardStatics(guardCtx, r) }()
	} else {
		close(guardDone)
	}
	d.applyVMACs(d.plan.Load().vmacs)
	d.g, d.gctx = g, gctx
	// READY once the VRRP sockets are open and the first IPVS apply was
	// attempted.
	waiting := []<-chan struct{}{d.lvs.ready}
	// The strict mode drop rules before any VIP can be added (a VIP add
	// waits for them only when they are not in).
	g.Go(func() error { return d.strict.Run(gctx) })
	if !d.strict.request() {
		d.log.Warn("strict mode: the nftables rules are not set yet; starting VRRP")
	}
	if d.vrrp != nil {
		d.startVRRPLocked()
		waiting = append(waiting, d.vrrp.Ready())
	}
	g.Go(func() error { return d.lvs.Run(gctx) })
	g.Go(func() error { return d.syncd.Run(gctx) })
	g.Go(func() error { return d.bgp.Run(gctx) })
	if d.speaker != nil {
		d.startSpeakerLocked()
	}
	d.mu.Unlock()
	d.startStatus(gctx, g)
	d.metrics.ConfigReloaded(d.now(), nil)
	cfg := d.plan.Load().cfg
	d.log.Info("running",
		"vrrp_instances", len(cfg.VRRPInstances),
		"virtual_servers", len(cfg.VirtualServers))
loop:
	for {
		var ready <-chan struct{}
		if len(waiting) > 0 {
			ready = waiting[0]
		}
		select {
		case <-ready:
			if waiting = waiting[1:]; len(waiting) == 0 {
				if err := d.notify.Ready(); err != nil {
					d.log.Warn("sd_notify READY", "error", err)
				}
			}
		case <-gctx.Done():
			break loop
		case <-ctx.Done():
			d.drainBGP(gctx)
			stopRun(context.Cause(ctx))
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
	stopGuard()
	<-guardDone
	d.mu.Lock()
	d.g, d.gctx = nil, nil
	d.applyVMACs(nil)
	applyStatics(d.net, d.log, d.plan.Load().statics, statics{})
	d.mu.Unlock()
	return err
}

// startStatus serves /metrics and /status. A listen failure is logged and
// does not stop the daemon.
func (d *Daemon) startStatus(ctx context.Context, g *errgroup.Group) {
	if d.opts.StatusListener == nil && d.opts.StatusAddr == "" {
		return
	}
	srv := status.NewServer(d.reg, d.metrics, status.Options{Metrics: d.metrics.Handler(d.reg)})
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

// memIPVS is Options.InMemoryIPVS's table.
type memIPVS struct{ *ipvstest.Kernel }

func (memIPVS) Close() error { return nil }

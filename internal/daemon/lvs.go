package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/internal/clock"
	"github.com/lvs-ha/lvs-ha/internal/mail"
	"github.com/lvs-ha/lvs-ha/internal/metrics"
	"github.com/lvs-ha/lvs-ha/internal/script"
	"github.com/lvs-ha/lvs-ha/ipvs"
)

// ipvsRetryInterval is how often lvs retries when the kernel has no IPVS or
// a reconcile failed.
const ipvsRetryInterval = 10 * time.Second

// errIPVSUnavailable is returned for an apply while the kernel's IPVS cannot
// be opened; the table is programmed when it becomes available.
var errIPVSUnavailable = errors.New("IPVS unavailable")

// ipvsKernel is what lvs needs of the kernel: the ipvs.Kernel and a way to
// release the handle.
type ipvsKernel interface {
	ipvs.Kernel
	Close() error
}

var _ ipvsKernel = (*ipvs.Netlink)(nil)

// stopMode is what lvs does with the kernel table at shutdown.
type stopMode uint8

const (
	// stopRelease deletes the services lvs-ha owns (the desired ones and any
	// it programmed before), leaving other services alone: keepalived's
	// default, and lvs_flush_on_stop VS (deleting a service deletes its real
	// servers in the kernel, so both are one call per service).
	stopRelease stopMode = iota
	// stopFlushAll flushes the whole IPVS table, foreign services included:
	// lvs_flush_on_stop without argument (keepalived's LVS_FLUSH_FULL).
	stopFlushAll
	// stopKeep leaves the table as it is (keepalived --dont-release-ipvs).
	stopKeep
)

// lvsOptions configure an lvs.
type lvsOptions struct {
	Logger *slog.Logger
	Open   func() (ipvsKernel, error) // nil: ipvs.NewNetlink
	Clock  clock.Clock                // nil: the wall clock
	// RunScript runs a notify or quorum script without waiting for it; nil
	// means script.Run in a goroutine.
	RunScript func(script.Spec)
	// FIFO, if set, gets the notify FIFO line of each real server and
	// quorum transition (notifyfifo.RSLine, VSLine); it must not block.
	FIFO func(line string)
	// Mail, if set, gets the e-mail alerts of real server and quorum
	// transitions (smtp_alert); it must not block.
	Mail func(mail.Alert)
	// OnResult, if set, receives every finished check.
	OnResult func(healthcheck.Event)
	// Addrs watches the local addresses for ha_suspend; nil means rtnetlink
	// in the current namespace.
	Addrs addrWatcher
	// OnHealth, if set, gets the virtual servers' healthy real servers
	// after every apply attempt (bgp_announce's gate); it must not block.
	OnHealth func(lvsHealth)
	// Release returns freed memory to the system after the start's and
	// each reload's apply; nil means debug.FreeOSMemory. The old
	// configuration, the kernel table read and the planned changes are
	// garbage by then (~60 MB at 10,000 x 10, ~1 MB at 100 real servers),
	// which the runtime would otherwise keep resident until its background
	// scavenger returns it, minutes later; a forced collection of a small
	// heap costs about a millisecond. Health-check driven applies do not
	// call it (a forced collection each would cost CPU).
	Release func()
}

// lvs owns the real servers' health state and is the one writer of the
// kernel's IPVS table; it runs on master and backup alike (as keepalived's
// checker does). The health runner's transitions and reloads (commit) are
// posted to it; its Run loop steps the machine (lvsstate.go), carries out
// its actions and applies the resulting table, once for whatever arrived
// together: exactly one apply per reload and per health change that alters
// the table. Until a configuration has virtual servers (or lvs_flush) it
// does not open IPVS; without IPVS in the kernel it logs "IPVS unavailable"
// and retries every 10 s. It deletes only services it owns (lvs_flush, at
// the first apply, also foreign ones); at shutdown it follows the stopMode.
type lvs struct {
	log       *slog.Logger
	open      func() (ipvsKernel, error)
	clk       clock.Clock
	runScript func(script.Spec)
	fifo      func(line string) // notify FIFO lines; nil: none
	mail      func(mail.Alert)  // e-mail alerts; nil: none
	health    *healthcheck.Runner
	ready     chan struct{} // closed after the first apply attempt
	onHealth  func(lvsHealth)
	release   func() // after the start's and each reload's apply

	// The inbox.
	mu       sync.Mutex
	trs      []healthcheck.Transition
	next     *lvsCommit
	newAddrs map[netip.Addr]bool // the latest local address set, for ha_suspend
	wake     chan struct{}       // cap 1

	// Owned by Run.
	state   *lvsState
	on      bool // IPVS is managed: a configuration had services or lvs_flush
	flush   bool // lvs_flush still to do
	stop    stopMode
	owned   map[ipvs.ServiceKey]bool
	pending bool // state.table() not (fully) applied
	applied bool // an apply of the table has succeeded
	lastErr string
	unavail bool // IPVS unavailable was logged
	// lvs_timeouts: the configured ones, whether they are still to be set,
	// and the kernel's values before lvs-ha first set them.
	timeouts  *ipvs.Timeouts
	tpending  bool
	origTimes *ipvs.Timeouts
	// ha_suspend: the address watcher, whether it runs, the local addresses
	// and the checks suspended.
	addrWatch addrWatcher
	watching  bool
	addrs     map[netip.Addr]bool
	suspended map[string]bool

	// logAll are the checks with log_all_failures (or
	// checker_log_all_failures); read by the health runner's goroutines.
	logAll atomic.Pointer[map[string]bool]

	kmu sync.Mutex // guards k, which Table reads for the status page
	k   ipvsKernel // nil until opened
}

// lvsCommit is a reload waiting for Run, which sets ch before sending the
// apply's error on done.
type lvsCommit struct {
	p    *plan
	ch   ipvs.Changes
	done chan error
}

// newLVS returns an lvs for p, whose checks the health runner starts with.
func newLVS(p *plan, o lvsOptions) *lvs {
	l := &lvs{log: o.Logger, open: o.Open, clk: clock.OrReal(o.Clock), runScript: o.RunScript, fifo: o.FIFO, mail: o.Mail, addrWatch: o.Addrs, onHealth: o.OnHealth,
		release: o.Release, ready: make(chan struct{}), wake: make(chan struct{}, 1), owned: map[ipvs.ServiceKey]bool{}}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.addrWatch == nil {
		l.addrWatch = netlinkAddrs(nil)
	}
	if l.open == nil {
		l.open = func() (ipvsKernel, error) { return ipvs.NewNetlink() }
	}
	if l.release == nil {
		l.release = debug.FreeOSMemory
	}
	if l.runScript == nil {
		l.runScript = func(spec script.Spec) {
			go func() {
				if res := script.Run(context.Background(), spec); !res.OK() {
					l.log.Warn("script failed", "script", script.QuoteCommand(spec.Argv), "result", res.String())
				}
			}()
		}
	}
	sched, _ := healthcheck.NewScheduler(l.clk.Now(), p.checks, healthcheck.SchedulerOptions{}) // validated by the plan
	onResult := func(ev healthcheck.Event) {
		if !ev.Result.OK && ev.WasUp && (*l.logAll.Load())[ev.Job.ID] {
			l.log.Info("check failed", "check", ev.Job.ID, "reason", ev.Result.String())
		}
		if o.OnResult != nil {
			o.OnResult(ev)
		}
	}
	l.configure(p)
	l.health = healthcheck.NewRunner(sched, healthcheck.RunnerOptions{Clock: l.clk, OnResult: onResult,
		OnTransition: func(tr healthcheck.Transition) {
			l.mu.Lock()
			l.trs = append(l.trs, tr)
			l.mu.Unlock()
			l.kick()
		}})
	l.state = p.lvs
	l.suspendChecks()
	return l
}

func (l *lvs) kick() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *lvs) configure(p *plan) {
	if p.ipvs && !l.on {
		l.on, l.flush = true, p.flush
	}
	l.stop = p.stop
	l.logAll.Store(&p.logAll)
	if !sameTimeouts(l.timeouts, p.timeouts) {
		l.timeouts, l.tpending = p.timeouts, true
	}
}

func sameTimeouts(a, b *ipvs.Timeouts) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// setTimeouts is keepalived's ipvs_set_timeouts at start and reload: the
// configured lvs_timeouts are set with SET_CONFIG, each one not given (or a
// configuration without lvs_timeouts, after one with) at the value the
// kernel had before lvs-ha first changed it. A failure is logged
// ("Failed to set ipvs timeouts") and not retried, as in keepalived.
func (l *lvs) setTimeouts() {
	if !l.tpending {
		return
	}
	l.tpending = false
	if l.origTimes == nil {
		if l.timeouts == nil {
			return // never changed: nothing to restore
		}
		orig, err := l.k.Timeouts()
		if err != nil {
			l.log.Error("Failed to set ipvs timeouts", "error", err)
			return
		}
		l.origTimes = &orig
	}
	want := *l.origTimes
	if t := l.timeouts; t != nil {
		for _, f := range []struct{ dst, src *time.Duration }{{&want.TCP, &t.TCP}, {&want.TCPFin, &t.TCPFin}, {&want.UDP, &t.UDP}} {
			if *f.src > 0 {
				*f.dst = *f.src
			}
		}
	}
	if err := l.k.SetTimeouts(want); err != nil {
		l.log.Error("Failed to set ipvs timeouts", "error", err)
		return
	}
	l.log.Info("ipvs timeouts set", "tcp", want.TCP, "tcpfin", want.TCPFin, "udp", want.UDP)
}

// commit hands p to Run, which updates the health checks (the runner keeps
// the state of unchanged checks) and the machine, then applies the table;
// it returns that apply's result. It cannot fail before the apply: p was
// validated when it was built.
func (l *lvs) commit(ctx context.Context, p *plan) (ipvs.Changes, error) {
	c := &lvsCommit{p: p, done: make(chan error, 1)}
	l.mu.Lock()
	l.next = c
	l.mu.Unlock()
	l.kick()
	select {
	case err := <-c.done:
		return c.ch, err
	case <-ctx.Done():
		return ipvs.Changes{}, context.Cause(ctx)
	}
}

// Run runs the health checks and keeps the kernel's table equal to the
// desired one until ctx ends, then handles the table according to the stop
// mode. It never fails: IPVS problems are logged and VRRP keeps running.
func (l *lvs) Run(ctx context.Context) error {
	checks := make(chan struct{})
	go func() {
		defer close(checks)
		_ = l.health.Run(ctx)
	}()
	l.log.Info("health checks running", "checks", len(l.state.byCheck))
	var timer clock.Timer
	var retry <-chan time.Time
	fired := false
	for first := true; ; first = false {
		l.mu.Lock()
		trs, next, addrs := l.trs, l.next, l.newAddrs
		l.trs, l.next, l.newAddrs = nil, nil, nil
		l.mu.Unlock()
		changed := first
		for _, tr := range trs {
			changed = l.step(tr) || changed
		}
		if next != nil {
			l.adopt(next.p)
			changed = true
		}
		if addrs != nil {
			l.addrs = addrs
		}
		if next != nil || addrs != nil {
			l.suspendChecks()
		}
		l.watchAddrs(ctx)
		if changed || fired {
			if changed {
				l.setDesired()
			}
			ch, err := l.sync(ctx)
			if next != nil {
				next.ch = ch
				next.done <- err
			}
			if first || next != nil {
				l.release()
			}
			retry = nil
			if l.on && l.pending {
				if timer == nil {
					timer = l.clk.NewTimer(ipvsRetryInterval)
				} else {
					timer.Reset(ipvsRetryInterval)
				}
				retry = timer.C()
			}
			if l.onHealth != nil {
				l.onHealth(healthOf(l.state, l.applied))
			}
		}
		if first {
			l.do(l.state.start())
			close(l.ready)
		}
		fired = false
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			<-checks
			for _, tr := range l.health.Shutdown() {
				if tr.Omega {
					l.step(tr)
				}
			}
			l.shutdown(context.WithoutCancel(ctx))
			return nil
		case <-l.wake:
		case <-retry:
			fired = true
		}
	}
}

// step feeds one transition to the machine and carries out its actions.
func (l *lvs) step(tr healthcheck.Transition) bool {
	acts, changed := l.state.step(tr)
	l.do(acts)
	return changed
}

func (l *lvs) do(acts []action) {
	for _, a := range acts {
		if a.msg != "" {
			l.log.Log(context.Background(), a.level, a.msg, a.attrs...)
		}
		if a.run != nil {
			l.runScript(*a.run)
		}
		if a.fifo != "" && l.fifo != nil {
			l.fifo(a.fifo)
		}
		if a.alert != nil && l.mail != nil {
			l.mail(*a.alert)
		}
	}
}

// adopt switches to p: removed checks go down against the old state
// (scripts in omega mode), then the machine of p takes over the runner's
// check states and the old quorum states.
func (l *lvs) adopt(p *plan) {
	removed, err := l.health.Update(p.checks)
	if err != nil { // cannot happen: the plan validated the checks
		l.log.Error("health checks not updated", "error", err)
	}
	for _, tr := range removed {
		l.step(tr)
	}
	l.do(p.lvs.adopt(l.state, l.health.State))
	l.state = p.lvs
	l.configure(p)
	l.log.Info("health checks updated", "checks", len(p.checks), "removed_up", len(removed))
}

// setDesired marks the machine's table as to be applied and its services
// as owned. The table itself is built by each apply attempt (state.table())
// rather than kept: at 10,000 x 10 it is 15 MB that would stay live between
// applies.
func (l *lvs) setDesired() {
	l.pending = true
	for _, vs := range l.state.vss {
		for _, s := range vs.services {
			l.owned[s.Key] = true
		}
	}
}

// sync opens IPVS if needed and reconciles the kernel with the desired
// table when it is pending: services lvs-ha programmed before and that the
// table no longer has are deleted.
func (l *lvs) sync(ctx context.Context) (ipvs.Changes, error) {
	if !l.on {
		return ipvs.Changes{}, nil
	}
	l.kmu.Lock()
	defer l.kmu.Unlock()
	if l.k == nil {
		k, err := l.open()
		if err != nil {
			err = fmt.Errorf("%w: %w", errIPVSUnavailable, err)
			if !l.unavail {
				l.log.Error("IPVS unavailable: virtual servers are not programmed",
					"error", err, "virtual_services", l.state.services(), "retry_in", ipvsRetryInterval)
				l.unavail = true
			} else {
				l.log.Debug("IPVS still unavailable", "error", err)
			}
			return ipvs.Changes{}, err
		}
		if l.unavail {
			l.log.Info("IPVS available")
			l.unavail = false
		}
		l.k = k
	}
	l.setTimeouts()
	if !l.pending {
		return ipvs.Changes{}, nil
	}
	owned := l.owned
	desired := l.state.table()
	// The services owned after a successful apply, taken before Reconcile
	// normalizes desired in place (it is built for this call).
	nowOwned := make(map[ipvs.ServiceKey]bool, len(desired.Services))
	for _, s := range desired.Services {
		nowOwned[s.Key] = true
	}
	services := len(desired.Services)
	start := time.Now()
	ch, err := ipvs.Reconcile(ctx, l.k, desired, ipvs.ReconcileOptions{
		Owned:   func(k ipvs.ServiceKey) bool { return owned[k] },
		Flush:   l.flush,
		InPlace: true,
	})
	took := time.Since(start)
	if err != nil {
		if msg := err.Error(); msg != l.lastErr {
			l.log.Error("ipvs apply failed", "error", err, "changes", ch.String(), "retry_in", ipvsRetryInterval)
			l.lastErr = msg
		} else {
			l.log.Debug("ipvs apply failed again", "error", err, "changes", ch.String())
		}
		return ch, err
	}
	l.flush, l.pending, l.lastErr, l.applied = false, false, "", true
	// Services no longer desired are gone from the kernel: stop owning them.
	l.owned = nowOwned
	l.log.Info("ipvs applied", "services", services, "changes", ch.String(),
		"total", ch.Total(), "took", took)
	return ch, nil
}

// shutdown releases the table according to the stop mode and closes IPVS.
func (l *lvs) shutdown(ctx context.Context) {
	l.kmu.Lock()
	defer l.kmu.Unlock()
	if l.k == nil {
		return
	}
	defer func() {
		_ = l.k.Close()
		l.k = nil
	}()
	switch l.stop {
	case stopKeep:
		l.log.Info("ipvs left in place at stop", "services", len(l.owned))
	case stopFlushAll:
		if err := l.k.Flush(); err != nil {
			l.log.Error("ipvs flush at stop failed", "error", err)
			return
		}
		l.log.Info("ipvs flushed at stop (lvs_flush_on_stop)")
	default:
		owned := l.owned
		ch, err := ipvs.Reconcile(ctx, l.k, ipvs.Table{}, ipvs.ReconcileOptions{
			Owned: func(k ipvs.ServiceKey) bool { return owned[k] },
		})
		if err != nil {
			l.log.Error("ipvs release at stop failed", "error", err, "changes", ch.String())
			return
		}
		l.log.Info("ipvs released at stop", "services_deleted", ch.ServicesDeleted)
	}
}

// Table reads the kernel's IPVS table with its counters (the metrics' live
// IPVS source); it fails with errIPVSUnavailable until IPVS is opened.
func (l *lvs) Table() (ipvs.Table, error) {
	l.kmu.Lock()
	defer l.kmu.Unlock()
	if l.k == nil {
		return ipvs.Table{}, errIPVSUnavailable
	}
	return l.k.Table()
}

var _ metrics.IPVSSource = (*lvs)(nil)

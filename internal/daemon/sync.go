package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/internal/clock"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
)

// syncPollInterval is how often the sync daemon manager reads the VRRP
// runner's snapshot for the state of the lvs_sync_daemon instance: the
// delay between a transition and the sync daemons following it.
const syncPollInterval = 100 * time.Millisecond

// Kernel defaults of a sync daemon (ip_vs_sync.c), for comparing a
// configured daemon with a running one.
var syncDefaultGroup4 = netip.AddrFrom4([4]byte{224, 0, 0, 81})

const (
	syncDefaultPort = 8848
	syncDefaultTTL  = 1
)

// syncKernel is what the sync daemon manager needs of the kernel.
type syncKernel interface {
	SyncDaemons() ([]ipvs.SyncDaemon, error)
	StartSyncDaemon(d ipvs.SyncDaemon) error
	StopSyncDaemon(s ipvs.SyncState) error
	Close() error
}

var _ syncKernel = (*ipvs.Netlink)(nil)

// syncPlan is the connection-sync part of a plan: the lvs_sync_daemon and
// the net.ipv4.vs sysctls.
type syncPlan struct {
	// daemon is lvs_sync_daemon with its syncid resolved (State unset); nil
	// without one.
	daemon *ipvs.SyncDaemon
	// instance is the VRRP instance the daemons follow; "" runs both for
	// the daemon's life.
	instance string
	// sysctls are the net.ipv4.vs settings (name under net/ipv4/vs, value
	// as written to /proc/sys).
	sysctls map[string]string
}

// newSyncPlan translates global_defs' lvs_sync_daemon (the syncid defaults
// to the instance's VRID, 0 without instance, as keepalived) and the
// lvs-ha sysctl extensions.
func newSyncPlan(cfg *conf.Config) syncPlan {
	g := cfg.Global
	var p syncPlan
	if s := g.LVSSyncDaemon; s != nil {
		d := ipvs.SyncDaemon{Interface: s.Interface, MaxLen: uint16(s.MaxLen), McastGroup: s.Group,
			McastPort: s.Port, McastTTL: uint8(s.TTL)}
		p.instance = s.VRRPInstance
		switch {
		case s.SyncID != nil:
			d.SyncID = uint32(*s.SyncID)
		case s.VRRPInstance != "":
			for _, in := range cfg.VRRPInstances {
				if in.Name == s.VRRPInstance {
					d.SyncID = uint32(in.VRID)
				}
			}
		}
		p.daemon = &d
	}
	p.sysctls = map[string]string{}
	b := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	if g.LVSSloppyTCP != nil {
		p.sysctls["sloppy_tcp"] = b(*g.LVSSloppyTCP)
	}
	if g.LVSSloppySCTP != nil {
		p.sysctls["sloppy_sctp"] = b(*g.LVSSloppySCTP)
	}
	if t := g.LVSSyncThreshold; t != nil {
		p.sysctls["sync_threshold"] = fmt.Sprintf("%d %d", t[0], t[1])
	}
	if v := g.LVSSyncRefreshPeriod; v != nil {
		p.sysctls["sync_refresh_period"] = strconv.Itoa(*v)
	}
	if v := g.LVSSyncRetries; v != nil {
		p.sysctls["sync_retries"] = strconv.Itoa(*v)
	}
	if g.LVSSyncPersistMode != nil {
		p.sysctls["sync_persist_mode"] = b(*g.LVSSyncPersistMode)
	}
	return p
}

// want is the set of sync daemons that should run while the instance is in
// state st (ignored without instance): both without instance; tied to an
// instance, the master daemon while it is MASTER and the backup daemon in
// any other state (BACKUP, FAULT, and INIT before it starts).
func (p syncPlan) want(st vrrp.State) []ipvs.SyncDaemon {
	if p.daemon == nil {
		return nil
	}
	m, b := *p.daemon, *p.daemon
	m.State, b.State = ipvs.SyncMaster, ipvs.SyncBackup
	switch {
	case p.instance == "":
		return []ipvs.SyncDaemon{m, b}
	case st == vrrp.StateMaster:
		return []ipvs.SyncDaemon{m}
	default:
		return []ipvs.SyncDaemon{b}
	}
}

// syncOp is one kernel call: start d, or stop the daemon of d.State.
type syncOp struct {
	start bool
	d     ipvs.SyncDaemon
	// foreign: the daemon stopped was not started by lvs-ha.
	foreign bool
}

func (o syncOp) String() string {
	if o.start {
		return fmt.Sprintf("start %s sync daemon (interface %s, syncid %d)", o.d.State, o.d.Interface, o.d.SyncID)
	}
	return fmt.Sprintf("stop %s sync daemon", o.d.State)
}

// syncOps is the pure core of the manager: the calls that turn the running
// daemons (have, as the kernel lists them) into want. A running daemon that
// is not wanted, or differs from the wanted one, is stopped when lvs-ha
// started it (owned), or when the configuration manages sync daemons at all
// (managed: a daemon of the other role left by someone else while tied to
// an instance, or one with other settings, is replaced, as keepalived
// does); a wanted daemon that is not running as wanted is started. Stops
// come first (master then backup), then starts (master then backup): a
// transition to MASTER stops the backup daemon, then starts the master one,
// as keepalived's ipvs_syncd_master. A running daemon equal to the wanted
// one is left alone, whoever started it.
func syncOps(want, have []ipvs.SyncDaemon, managed bool, owned map[ipvs.SyncState]bool) []syncOp {
	var stops, starts []syncOp
	for _, role := range []ipvs.SyncState{ipvs.SyncMaster, ipvs.SyncBackup} {
		w, wok := findSync(want, role)
		h, hok := findSync(have, role)
		same := wok && hok && sameSyncDaemon(w, h)
		if hok && !same && (wok || managed || owned[role]) {
			stops = append(stops, syncOp{d: ipvs.SyncDaemon{State: role}, foreign: !owned[role]})
		}
		if wok && !same {
			starts = append(starts, syncOp{start: true, d: w})
		}
	}
	return append(stops, starts...)
}

// shutdownSyncOps stops the running daemons that lvs-ha started.
func shutdownSyncOps(have []ipvs.SyncDaemon, owned map[ipvs.SyncState]bool) []syncOp {
	var ops []syncOp
	for _, role := range []ipvs.SyncState{ipvs.SyncMaster, ipvs.SyncBackup} {
		if _, ok := findSync(have, role); ok && owned[role] {
			ops = append(ops, syncOp{d: ipvs.SyncDaemon{State: role}})
		}
	}
	return ops
}

func findSync(ds []ipvs.SyncDaemon, role ipvs.SyncState) (ipvs.SyncDaemon, bool) {
	for _, d := range ds {
		if d.State == role {
			return d, true
		}
	}
	return ipvs.SyncDaemon{}, false
}

// sameSyncDaemon reports whether the running daemon h is the configured w:
// the kernel lists its defaults (group 224.0.0.81, port 8848, TTL 1, maxlen
// from the MTU), so a setting w leaves at zero matches the default, and
// maxlen only when w sets it.
func sameSyncDaemon(w, h ipvs.SyncDaemon) bool {
	g := w.McastGroup
	if !g.IsValid() {
		g = syncDefaultGroup4
	}
	hg := h.McastGroup
	if !hg.IsValid() {
		hg = syncDefaultGroup4
	}
	port, ttl := w.McastPort, w.McastTTL
	if port == 0 {
		port = syncDefaultPort
	}
	if ttl == 0 {
		ttl = syncDefaultTTL
	}
	hport, httl := h.McastPort, h.McastTTL
	if hport == 0 {
		hport = syncDefaultPort
	}
	if httl == 0 {
		httl = syncDefaultTTL
	}
	return w.State == h.State && w.Interface == h.Interface && w.SyncID == h.SyncID &&
		g == hg && port == hport && ttl == httl && (w.MaxLen == 0 || w.MaxLen == h.MaxLen)
}

// vrrpSource is what the manager reads of the VRRP runner.
type vrrpSource interface {
	Ready() <-chan struct{}
	Snapshot() runner.Stats
}

// sysctlIO reads and writes the net.ipv4.vs sysctls of the current
// namespace.
type sysctlIO interface {
	Read(name string) (string, error)
	Write(name, value string) error
}

// procVS is sysctlIO on /proc/sys/net/ipv4/vs.
type procVS struct{}

func (procVS) Read(name string) (string, error) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/vs/" + name)
	if err != nil {
		return "", fmt.Errorf("sysctl net.ipv4.vs.%s: %w", name, err)
	}
	return strings.Join(strings.Fields(string(b)), " "), nil
}

func (procVS) Write(name, value string) error {
	if err := os.WriteFile("/proc/sys/net/ipv4/vs/"+name, []byte(value+"\n"), 0o644); err != nil {
		return fmt.Errorf("sysctl net.ipv4.vs.%s=%s: %w", name, value, err)
	}
	return nil
}

// syncdOptions configure a syncd.
type syncdOptions struct {
	Logger  *slog.Logger
	Open    func() (syncKernel, error) // nil: ipvs.NewNetlink
	Clock   clock.Clock                // nil: the wall clock
	Sysctls sysctlIO                   // nil: procVS
}

// syncd manages the kernel's IPVS connection sync daemons and the
// net.ipv4.vs sysctls of a plan. One goroutine, Run, owns the kernel
// handle and the state below; reloads (commit) and the VRRP runner
// (setSource) hand it their news. It opens IPVS only once a plan
// configures sync (the sync daemons or a sysctl); without IPVS in the
// kernel it logs once and retries every 10 s, like lvs, and never fails.
// Each reconcile lists the kernel's daemons and applies syncOps, so a
// daemon stopped behind lvs-ha's back is started again at the next
// transition, reload or retry.
type syncd struct {
	log     *slog.Logger
	open    func() (syncKernel, error)
	clk     clock.Clock
	sysctls sysctlIO

	// The inbox.
	mu   sync.Mutex
	next *syncPlan
	wake chan struct{} // cap 1
	src  atomic.Pointer[vrrpSource]

	// Owned by Run.
	plan     syncPlan
	k        syncKernel
	owned    map[ipvs.SyncState]bool // daemons lvs-ha started and did not stop
	want     []ipvs.SyncDaemon       // the daemons wanted at the last reconcile
	tried    bool                    // a reconcile was made
	pending  bool                    // it failed: retry
	lastErr  string
	unavail  bool              // IPVS unavailable was logged
	setVals  map[string]string // sysctls as lvs-ha set them
	origVals map[string]string // their values before lvs-ha first set them
}

func newSyncd(p syncPlan, o syncdOptions) *syncd {
	s := &syncd{log: o.Logger, open: o.Open, clk: clock.OrReal(o.Clock), sysctls: o.Sysctls, plan: p,
		wake: make(chan struct{}, 1), owned: map[ipvs.SyncState]bool{},
		setVals: map[string]string{}, origVals: map[string]string{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.open == nil {
		s.open = func() (syncKernel, error) { return ipvs.NewNetlink() }
	}
	if s.sysctls == nil {
		s.sysctls = procVS{}
	}
	return s
}

// setSource points the manager at the VRRP runner (nil: none).
func (s *syncd) setSource(v vrrpSource) {
	if v == nil {
		s.src.Store(nil)
	} else {
		s.src.Store(&v)
	}
	s.kick()
}

// commit hands a reloaded plan to Run; it does not wait.
func (s *syncd) commit(p syncPlan) {
	s.mu.Lock()
	s.next = &p
	s.mu.Unlock()
	s.kick()
}

func (s *syncd) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// instanceState is the state of the plan's instance, and whether it is
// known: the VRRP runner is ready (its instances have started) and lists
// it.
func (s *syncd) instanceState() (vrrp.State, bool) {
	src := s.src.Load()
	if src == nil {
		return vrrp.StateInitialize, false
	}
	select {
	case <-(*src).Ready():
	default:
		return vrrp.StateInitialize, false
	}
	for _, in := range (*src).Snapshot().Instances {
		if in.Name == s.plan.instance {
			return in.State, true
		}
	}
	return vrrp.StateInitialize, false
}

// Run keeps the kernel's sync daemons and sysctls as the plan and the VRRP
// instance's state want until ctx ends, then stops the daemons lvs-ha
// started. It never fails.
func (s *syncd) Run(ctx context.Context) error {
	var timer clock.Timer
	var retryAt time.Time
	for {
		if ctx.Err() != nil { // the instance leaving MASTER at shutdown changes nothing
			s.shutdown()
			return nil
		}
		s.mu.Lock()
		next := s.next
		s.next = nil
		s.mu.Unlock()
		changed := false
		if next != nil {
			changed = !syncPlanEqual(s.plan, *next)
			s.plan = *next
		}
		if s.active() {
			want, ok := s.currentWant()
			due := s.pending && !s.clk.Now().Before(retryAt)
			if ok && (changed || due || !s.tried || !slices.Equal(want, s.want)) {
				if err := s.reconcile(want); err != nil {
					retryAt = s.clk.Now().Add(ipvsRetryInterval)
				}
			}
		}
		// Wake up to poll the instance's state, or to retry.
		var wait time.Duration
		switch {
		case s.plan.daemon != nil && s.plan.instance != "":
			wait = syncPollInterval
		case s.pending:
			wait = max(retryAt.Sub(s.clk.Now()), 0)
		}
		var tick <-chan time.Time
		if wait > 0 || s.pending {
			if timer == nil {
				timer = s.clk.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			tick = timer.C()
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
		case <-s.wake:
			if timer != nil {
				timer.Stop()
			}
		case <-tick:
		}
	}
}

// active: the plan configures sync, or lvs-ha has something to undo.
func (s *syncd) active() bool {
	return s.plan.daemon != nil || len(s.plan.sysctls) > 0 || len(s.setVals) > 0 ||
		s.owned[ipvs.SyncMaster] || s.owned[ipvs.SyncBackup]
}

// currentWant is the daemons wanted now; not ok while the plan's instance
// has not started (the first reconcile then waits for its initial state:
// the backup daemon, unless it starts as MASTER).
func (s *syncd) currentWant() ([]ipvs.SyncDaemon, bool) {
	if s.plan.daemon == nil || s.plan.instance == "" {
		return s.plan.want(vrrp.StateInitialize), true
	}
	st, ok := s.instanceState()
	if !ok {
		return nil, false
	}
	return s.plan.want(st), true
}

func syncPlanEqual(a, b syncPlan) bool {
	if (a.daemon == nil) != (b.daemon == nil) || a.daemon != nil && *a.daemon != *b.daemon {
		return false
	}
	return a.instance == b.instance && maps.Equal(a.sysctls, b.sysctls)
}

// reconcile opens IPVS if needed, sets the sysctls and applies syncOps for
// want.
func (s *syncd) reconcile(want []ipvs.SyncDaemon) error {
	s.want, s.tried = want, true
	err := s.reconcileOnce(want)
	if err != nil {
		s.pending = true
		if msg := err.Error(); msg != s.lastErr {
			if !errors.Is(err, errIPVSUnavailable) {
				s.log.Error("ipvs sync daemon: apply failed", "error", err, "retry_in", ipvsRetryInterval)
			}
			s.lastErr = msg
		} else {
			s.log.Debug("ipvs sync daemon: apply failed again", "error", err)
		}
		return err
	}
	s.pending, s.lastErr = false, ""
	return nil
}

func (s *syncd) reconcileOnce(want []ipvs.SyncDaemon) error {
	if s.k == nil {
		k, err := s.open()
		if err != nil {
			err = fmt.Errorf("%w: %w", errIPVSUnavailable, err)
			if !s.unavail {
				s.log.Error("IPVS unavailable: connection sync daemons are not started", "error", err, "retry_in", ipvsRetryInterval)
				s.unavail = true
			}
			return err
		}
		if s.unavail {
			s.log.Info("IPVS available: starting connection sync")
			s.unavail = false
		}
		s.k = k
	}
	errs := []error{s.setSysctls()}
	have, err := s.k.SyncDaemons()
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("listing sync daemons: %w", err))...)
	}
	for _, op := range syncOps(want, have, s.plan.daemon != nil, s.owned) {
		errs = append(errs, s.do(op))
	}
	return errors.Join(errs...)
}

// do carries out op, keeping what lvs-ha owns.
func (s *syncd) do(op syncOp) error {
	start := time.Now()
	var err error
	if op.start {
		err = s.k.StartSyncDaemon(op.d)
	} else {
		err = s.k.StopSyncDaemon(op.d.State)
	}
	took := time.Since(start)
	if !op.start && errors.Is(err, ipvs.ErrSyncDaemonNotRunning) {
		// Gone since the listing (stopped by hand, or its interface was
		// deleted): stopped all the same.
		s.log.Info("ipvs sync daemon already gone", "state", op.d.State.String())
		s.owned[op.d.State] = false
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if op.start {
		s.owned[op.d.State] = true
		s.log.Info("ipvs sync daemon started", "state", op.d.State.String(), "interface", op.d.Interface,
			"syncid", op.d.SyncID, "took", took)
	} else {
		s.owned[op.d.State] = false
		msg := "ipvs sync daemon stopped"
		if op.foreign {
			msg = "ipvs sync daemon stopped (not started by lvs-ha; replaced or not wanted by lvs_sync_daemon)"
		}
		s.log.Info(msg, "state", op.d.State.String(), "took", took)
	}
	return nil
}

// setSysctls writes the plan's net.ipv4.vs sysctls that differ from what
// lvs-ha last wrote, and restores those a reload removed to the value the
// kernel had before lvs-ha first set them.
func (s *syncd) setSysctls() error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(s.plan.sysctls)) {
		v := s.plan.sysctls[name]
		if cur, ok := s.setVals[name]; ok && cur == v {
			continue
		}
		if _, ok := s.origVals[name]; !ok {
			orig, err := s.sysctls.Read(name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			s.origVals[name] = orig
		}
		if err := s.sysctls.Write(name, v); err != nil {
			errs = append(errs, err)
			continue
		}
		s.setVals[name] = v
		s.log.Info("ipvs sysctl set", "name", "net.ipv4.vs."+name, "value", v)
	}
	for _, name := range slices.Sorted(maps.Keys(s.setVals)) {
		if _, ok := s.plan.sysctls[name]; ok {
			continue
		}
		orig := s.origVals[name]
		if err := s.sysctls.Write(name, orig); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(s.setVals, name)
		s.log.Info("ipvs sysctl restored", "name", "net.ipv4.vs."+name, "value", orig)
	}
	return errors.Join(errs...)
}

// shutdown stops the daemons lvs-ha started (a daemon it found running and
// adopted is left running) and closes IPVS. The sysctls stay as set.
func (s *syncd) shutdown() {
	if s.k == nil {
		return
	}
	defer func() {
		_ = s.k.Close()
		s.k = nil
	}()
	have, err := s.k.SyncDaemons()
	if err != nil {
		s.log.Error("ipvs sync daemon: listing at stop failed", "error", err)
		return
	}
	for _, op := range shutdownSyncOps(have, s.owned) {
		if err := s.do(op); err != nil {
			s.log.Error("ipvs sync daemon: stop failed", "error", err)
		}
	}
}

package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lvs-ha/lvs-ha/garp"
	"github.com/lvs-ha/lvs-ha/internal/clock"
	"github.com/lvs-ha/lvs-ha/internal/script"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
	"github.com/lvs-ha/lvs-ha/vrrp/vrrpsock"
)

// Options configures a Runner.
type Options struct {
	Instances  []InstanceConfig
	SyncGroups []SyncGroupConfig

	// Logger receives state transitions (info) and I/O problems; nil
	// discards.
	Logger *slog.Logger
	// Clock drives every timer; nil means the real clock.
	Clock clock.Clock

	// Conns opens the VRRP sockets (SocketFactory{}); required.
	Conns ConnFactory
	// VIPs adds and removes virtual addresses (vip.New()); required.
	VIPs VIPManager
	// Announcer sends gratuitous ARPs / unsolicited NAs
	// (garp.NewAnnouncer); required.
	Announcer garp.Sender
	// Links reports link state for the instances' interfaces and
	// track_interface (NetlinkLinks{}); nil disables link monitoring. When
	// set, instances start once the first link dump has arrived.
	Links LinkWatcher
	// Notifier runs notify scripts; Checker runs vrrp_script tracking
	// scripts. nil means ExecScripts{}.
	Notifier ScriptRunner
	Checker  ScriptRunner
	// ScriptUser and ScriptGroup are the default user for scripts whose
	// Command.User is empty (global_defs script_user); empty runs as the
	// daemon's user.
	ScriptUser, ScriptGroup string
	// NotifyTimeout bounds notify scripts (except STOP ones, which get
	// script.StopNotifyTimeout); 0 means DefaultNotifyTimeout, negative no
	// timeout.
	NotifyTimeout time.Duration
}

// Runner owns the I/O of all VRRP instances of a daemon: sockets, VIPs,
// gratuitous ARPs, trackers and notify scripts. One goroutine (Run's) owns
// every Machine, SyncGroup, garp.Scheduler and tracker; socket readers,
// the link watcher and script runs feed it through a channel.
//
// Gratuitous ARP timing belongs to the garp.Scheduler of each instance: on
// becoming master the runner calls Scheduler.Start (first burst, the
// garp_master_delay burst and refreshes), on a lower-priority advert
// LowerPriority, on leaving master Stop. The machines are configured with
// GARPMasterDelay and GARPMasterRefresh zero so they never duplicate them.
type Runner struct {
	opts          Options
	log           *slog.Logger
	clock         clock.Clock
	notifier      ScriptRunner
	checker       ScriptRunner
	notifyTimeout time.Duration

	insts     []*instance
	byName    map[string]*instance
	byMachine map[*vrrp.Machine]*instance
	groups    []*groupState
	scripts   []*scriptState
	conns     []*connState
	vridUsed  map[vridKey]bool
	needLinks bool

	// loop state (owner goroutine only)
	in            chan input
	now           time.Time
	started       bool
	asyncCtx      context.Context
	asyncWG       sync.WaitGroup // tracking scripts and notify scripts
	stopWG        sync.WaitGroup // STOP notify scripts, waited for on return
	rxUnknownVRID uint64
	rxTooShort    uint64
	group         *errgroup.Group // Run's, for sockets opened by Update
	gctx          context.Context
	watching      bool                    // the link watcher runs
	links         map[int]track.LinkEvent // last known links, by index
	linksKnown    bool                    // a link dump has arrived

	updates chan *updateReq
	stopped chan struct{} // closed when Run's loop has returned

	recvErrors atomic.Uint64
	published  atomic.Pointer[Stats]
	ran        atomic.Bool

	hooks *runnerHooks // tests only
}

// runnerHooks let tests know when the loop has processed everything.
type runnerHooks struct {
	idle    func(next time.Time) // loop about to wait; next is its timer (zero: none)
	started func()               // async work started (a script run or notify)
	done    func()               // an input was handled, or a notify script finished
}

type vridKey struct {
	iface string
	fam   vrrp.Family
	vrid  uint8
}

type instance struct {
	cfg      InstanceConfig // normalized
	name     string
	m        *vrrp.Machine
	group    *groupState
	conn     *connState
	sched    *garp.Scheduler
	garpVIPs []garp.VIP
	vips     []vip.Address // VIPs then ExcludedVIPs
	vipsUp   bool          // we added VIPs that were not removed since

	primary  *track.InterfaceTracker // nil with DontTrackPrimary
	ifaces   []*track.InterfaceTracker
	scripts  []instScript
	trackers bool // has script or interface trackers

	stats InstanceStats
}

type instScript struct {
	s       *scriptState
	weight  int
	reverse bool
}

type scriptState struct {
	t       *track.ScriptTracker
	cmd     Command
	retired bool // dropped by Update; a run still under way is ignored
}

type groupState struct {
	cfg     SyncGroupConfig
	g       *vrrp.SyncGroup
	members []*instance
	state   vrrp.State
}

type connState struct {
	retired atomic.Bool // closed by Update: its reader stops quietly
	cfg     vrrpsock.Config
	c       Conn
	src     netip.Addr
	dsts    []netip.Addr
	byVRID  map[uint8]*instance
}

type inputKind uint8

const (
	inPacket inputKind = iota + 1
	inLinks
	inScript
)

type input struct {
	kind   inputKind
	conn   *connState
	pkt    vrrpsock.Packet
	links  []track.LinkEvent
	sync   bool
	script *scriptState
	result script.Result
}

// New validates the configuration and prepares the instances. No I/O
// happens until Run.
func New(opts Options) (*Runner, error) {
	switch {
	case opts.Conns == nil:
		return nil, errors.New("vrrp: runner: no ConnFactory")
	case opts.VIPs == nil:
		return nil, errors.New("vrrp: runner: no VIPManager")
	case opts.Announcer == nil:
		return nil, errors.New("vrrp: runner: no garp Announcer")
	}
	r := &Runner{
		opts:          opts,
		log:           opts.Logger,
		clock:         clock.OrReal(opts.Clock),
		notifier:      opts.Notifier,
		checker:       opts.Checker,
		notifyTimeout: opts.NotifyTimeout,
		byMachine:     map[*vrrp.Machine]*instance{},
		in:            make(chan input, 64),
		updates:       make(chan *updateReq),
		stopped:       make(chan struct{}),
		links:         map[int]track.LinkEvent{},
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.notifier == nil {
		r.notifier = ExecScripts{}
	}
	if r.checker == nil {
		r.checker = ExecScripts{}
	}
	switch {
	case r.notifyTimeout == 0:
		r.notifyTimeout = DefaultNotifyTimeout
	case r.notifyTimeout < 0:
		r.notifyTimeout = 0
	}
	p, err := newPlan(opts.Instances, opts.SyncGroups, r.clock.Now())
	if err != nil {
		return nil, err
	}
	r.adopt(p)
	if err := r.build(); err != nil {
		return nil, err
	}
	r.publish()
	return r, nil
}

// plan is a validated configuration of instances, sync groups and tracking
// scripts, not yet running: New adopts one, Update merges one into the
// running state.
type plan struct {
	insts     []*instance
	byName    map[string]*instance
	groups    []*groupState
	scripts   []*scriptState
	vridUsed  map[vridKey]bool
	needLinks bool
}

// newPlan validates the configuration and prepares its instances (machines
// are made by build or Update).
func newPlan(instances []InstanceConfig, groups []SyncGroupConfig, now time.Time) (*plan, error) {
	p := &plan{byName: map[string]*instance{}, vridUsed: map[vridKey]bool{}}
	scripts := map[string]*scriptState{}
	for _, ic := range instances {
		c, err := ic.normalize()
		if err != nil {
			return nil, err
		}
		if p.byName[c.Machine.Name] != nil {
			return nil, fmt.Errorf("vrrp: instance %s defined twice", c.Machine.Name)
		}
		in := &instance{cfg: c, name: c.Machine.Name, vips: c.allVIPs(), garpVIPs: c.garpVIPs()}
		if in.sched, err = garp.NewScheduler(*c.GARP); err != nil {
			return nil, fmt.Errorf("vrrp: instance %s: %w", in.name, err)
		}
		if !c.DontTrackPrimary {
			in.primary, _ = track.NewInterfaceTracker(track.InterfaceConfig{Name: c.Interface})
			p.needLinks = true
		}
		for _, ti := range c.TrackInterfaces {
			t, err := track.NewInterfaceTracker(ti)
			if err != nil {
				return nil, fmt.Errorf("vrrp: instance %s: %w", in.name, err)
			}
			in.ifaces = append(in.ifaces, t)
			p.needLinks = true
		}
		for _, ts := range c.TrackScripts {
			s := scripts[ts.Script.Name]
			if s == nil {
				t, err := track.NewScriptTracker(ts.Script, now)
				if err != nil {
					return nil, fmt.Errorf("vrrp: instance %s: %w", in.name, err)
				}
				s = &scriptState{t: t, cmd: ts.Command}
				s.cmd.Argv = slices.Clone(s.cmd.Argv)
				scripts[ts.Script.Name] = s
				p.scripts = append(p.scripts, s)
			} else if s.t.Config() != mustScriptConfig(ts.Script, now) || !s.cmd.equal(&ts.Command) {
				return nil, fmt.Errorf("vrrp: instance %s: vrrp_script %s is defined differently by another instance", in.name, ts.Script.Name)
			}
			in.scripts = append(in.scripts, instScript{s: s, weight: ts.Weight, reverse: ts.Reverse})
		}
		in.trackers = len(in.scripts) > 0 || len(in.ifaces) > 0
		o := c.Machine
		k := vridKey{c.Interface, o.Family, o.VRID}
		if p.vridUsed[k] {
			return nil, fmt.Errorf("vrrp: instance %s: VRID %d is already used by another %v instance on %s", in.name, o.VRID, o.Family, c.Interface)
		}
		p.vridUsed[k] = true
		in.stats = InstanceStats{
			Name:         in.name,
			VRID:         o.VRID,
			Interface:    c.Interface,
			Family:       o.Family,
			BasePriority: o.Priority,
			RxErrors:     map[vrrp.Reason]uint64{},
		}
		if in.stats.BasePriority == 0 {
			in.stats.BasePriority = 100
		}
		p.insts = append(p.insts, in)
		p.byName[in.name] = in
	}
	for _, gc := range groups {
		gs := &groupState{cfg: gc}
		gs.cfg.Members = slices.Clone(gc.Members)
		if gc.Name == "" {
			return nil, errors.New("vrrp: sync group without a name")
		}
		if err := gc.Notify.validate("vrrp: sync group " + gc.Name); err != nil {
			return nil, err
		}
		for _, name := range gc.Members {
			in := p.byName[name]
			if in == nil {
				return nil, fmt.Errorf("vrrp: sync group %s: no instance %s", gc.Name, name)
			}
			if in.group != nil {
				return nil, fmt.Errorf("vrrp: sync group %s: instance %s is already in sync group %s", gc.Name, name, in.group.cfg.Name)
			}
			in.group = gs
			in.stats.SyncGroup = gc.Name
			gs.members = append(gs.members, in)
		}
		p.groups = append(p.groups, gs)
	}
	return p, nil
}

// adopt makes p the runner's configuration (before Run).
func (r *Runner) adopt(p *plan) {
	r.insts, r.byName, r.groups, r.scripts = p.insts, p.byName, p.groups, p.scripts
	r.vridUsed, r.needLinks = p.vridUsed, p.needLinks
}

// mustScriptConfig returns cfg with track's defaults applied, for comparing.
func mustScriptConfig(cfg track.ScriptConfig, now time.Time) track.ScriptConfig {
	t, err := track.NewScriptTracker(cfg, now)
	if err != nil {
		return cfg
	}
	return t.Config()
}

// build (re)creates the machines and sync groups, with each instance's
// source address once its socket is open (a placeholder before).
func (r *Runner) build() error {
	clear(r.byMachine)
	for _, in := range r.insts {
		if err := in.newMachine(); err != nil {
			return err
		}
		r.byMachine[in.m] = in
	}
	for _, gs := range r.groups {
		ms := make([]*vrrp.Machine, len(gs.members))
		for i, in := range gs.members {
			ms[i] = in.m
		}
		g, err := vrrp.NewSyncGroup(gs.cfg.Name, ms...)
		if err != nil {
			return err
		}
		gs.g = g
		gs.state = g.State()
	}
	return nil
}

// newMachine gives in a new machine in Initialize, with its socket's source
// address once the socket is open (newPlan's placeholder before).
func (in *instance) newMachine() error {
	o := in.cfg.Machine
	if in.conn != nil {
		o.PrimaryAddr = in.conn.src
	}
	m, err := vrrp.NewMachine(o)
	if err != nil {
		return err
	}
	in.m = m
	return nil
}

// open opens the sockets (shared by instances with equal settings) and
// rebuilds the machines with their real source addresses. On error nothing
// stays open.
func (r *Runner) open() error {
	err := r.openConns()
	if err == nil {
		err = r.build()
	}
	if err != nil {
		r.closeConns()
		r.conns = nil
		for _, in := range r.insts {
			in.conn = nil
		}
	}
	return err
}

func (r *Runner) openConns() error {
	byKey := map[string]*connState{}
	for _, in := range r.insts {
		key := sockKey(in.cfg.sockConfig())
		cs := byKey[key]
		if cs == nil {
			var err error
			if cs, err = r.openConn(in); err != nil {
				return err
			}
			byKey[key] = cs
			r.conns = append(r.conns, cs)
		}
		cs.byVRID[in.cfg.Machine.VRID] = in
		in.conn = cs
	}
	return nil
}

// openConn opens a socket with in's settings (instances with the same
// settings share it: same family, see sockKey).
func (r *Runner) openConn(in *instance) (*connState, error) {
	cfg := in.cfg.sockConfig()
	c, err := r.opts.Conns.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("vrrp: instance %s: %w", in.name, err)
	}
	cs := &connState{cfg: cfg, c: c, src: c.SrcAddr().Unmap(), dsts: c.Destinations(), byVRID: map[uint8]*instance{}}
	if vrrp.FamilyOf(cs.src) != in.cfg.Machine.Family {
		c.Close()
		return nil, fmt.Errorf("vrrp: instance %s: socket source address %v is not %v", in.name, cs.src, in.cfg.Machine.Family)
	}
	return cs, nil
}

func (r *Runner) closeConns() {
	for _, cs := range r.conns {
		if err := cs.c.Close(); err != nil {
			r.log.Warn("closing VRRP socket", "interface", cs.cfg.Interface, "err", err)
		}
	}
}

// Run opens the sockets, starts the instances and serves until ctx is done.
// Then every instance is shut down (a master sends priority 0 and removes
// its VIPs), STOP notify scripts are given script.StopNotifyTimeout, the
// sockets are closed and Run returns nil. It returns an error if the
// sockets cannot be opened (nothing else has happened then), or if a
// socket or the link watcher fails for good (after the same shutdown).
// Run may be called once.
func (r *Runner) Run(ctx context.Context) error {
	if !r.ran.CompareAndSwap(false, true) {
		return errors.New("vrrp: Runner.Run called twice")
	}
	defer func() {
		select {
		case <-r.stopped:
		default:
			close(r.stopped)
		}
	}()
	if err := r.open(); err != nil {
		r.publish()
		return err
	}
	asyncCtx, cancelAsync := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAsync()
	r.asyncCtx = asyncCtx

	g, gctx := errgroup.WithContext(ctx)
	r.group, r.gctx = g, gctx
	for _, cs := range r.conns {
		g.Go(func() error { return r.receive(gctx, cs) })
	}
	links := r.needLinks && r.opts.Links != nil
	if links {
		r.watching = true
		g.Go(func() error { return r.watchLinks(gctx) })
	}

	r.loop(gctx, !links)
	close(r.stopped)
	r.shutdown()
	r.closeConns()
	err := g.Wait()
	r.stopWG.Wait()
	cancelAsync()
	r.asyncWG.Wait()
	r.publish()
	return err
}

// receive reads one socket and hands packets to the loop.
func (r *Runner) receive(ctx context.Context, cs *connState) error {
	buf := make([]byte, 1<<16)
	for {
		p, err := cs.c.Recv(buf)
		if err != nil {
			if ctx.Err() != nil || cs.retired.Load() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("vrrp: socket on %s closed: %w", cs.cfg.Interface, err)
			}
			r.recvErrors.Add(1)
			r.log.Warn("VRRP receive failed", "interface", cs.cfg.Interface, "err", err)
			t := r.clock.NewTimer(100 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C():
			}
			continue
		}
		p.Payload = bytes.Clone(p.Payload)
		select {
		case r.in <- input{kind: inPacket, conn: cs, pkt: p}:
		case <-ctx.Done():
			return nil
		}
	}
}

func (r *Runner) watchLinks(ctx context.Context) error {
	push := func(in input) {
		select {
		case r.in <- in:
		case <-ctx.Done():
		}
	}
	err := r.opts.Links.WatchLinks(ctx,
		func(evs []track.LinkEvent) { push(input{kind: inLinks, sync: true, links: slices.Clone(evs)}) },
		func(ev track.LinkEvent) { push(input{kind: inLinks, links: []track.LinkEvent{ev}}) })
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		err = errors.New("stopped")
	}
	return fmt.Errorf("vrrp: watching links: %w", err)
}

// loop is the owner goroutine: it handles inputs and timers until ctx is
// done. With start false it waits for the first link dump before starting
// the instances.
func (r *Runner) loop(ctx context.Context, start bool) {
	var (
		timer   clock.Timer
		timerC  <-chan time.Time
		handled int // inputs handled since the last idle hook (tests)
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	r.now = r.clock.Now()
	if start {
		r.startup()
	}
	for {
		r.runDue()
		next := r.nextDeadline()
		switch {
		case next.IsZero():
			if timer != nil {
				timer.Stop()
			}
			timerC = nil
		case timer == nil:
			timer = r.clock.NewTimer(next.Sub(r.now))
			timerC = timer.C()
		default:
			timer.Reset(next.Sub(r.now))
			timerC = timer.C()
		}
		r.publish()
		if r.hooks != nil {
			// Only now is the handled input's work complete.
			r.hooks.idle(next)
			for ; handled > 0; handled-- {
				r.hooks.done()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-timerC:
			r.now = r.clock.Now()
		case in := <-r.in:
			r.now = r.clock.Now()
			r.handle(in)
			handled++
		case u := <-r.updates:
			r.now = r.clock.Now()
			u.done <- r.merge(u.p, &u.res)
			handled++
		}
	}
}

func (r *Runner) handle(in input) {
	switch in.kind {
	case inPacket:
		r.onPacket(in.conn, in.pkt)
	case inLinks:
		r.onLinks(in.links, in.sync)
	case inScript:
		r.onScriptResult(in.script, in.result)
	}
}

// startup starts every instance, after telling it its trackers' state.
func (r *Runner) startup() {
	r.started = true
	for _, in := range r.insts {
		if in.trackers {
			r.updateTrackers(in, "initial tracker state")
		}
	}
	for _, in := range r.insts {
		// A daemon that died without cleaning up (SIGKILL, crash) leaves its
		// VIPs behind; a restarted non-owner must not answer for them while
		// it is not master. Removal is idempotent. An address owner's VIPs
		// are its real addresses and stay.
		if in.cfg.Machine.Priority != 255 {
			r.removeVIPs(in)
		}
		r.step(in, vrrp.Startup{})
	}
}

// shutdown stops every instance and makes sure no VIP is left behind.
func (r *Runner) shutdown() {
	r.now = r.clock.Now()
	for _, in := range r.insts {
		r.step(in, vrrp.Shutdown{})
	}
	for _, in := range r.insts {
		in.sched.Stop()
		if in.vipsUp {
			r.removeVIPs(in)
		}
	}
}

// runDue carries out everything due at r.now: machine timers, GARP bursts
// and tracking script runs.
func (r *Runner) runDue() {
	if !r.started {
		return
	}
	for _, in := range r.insts {
		if due(in.m.NextDeadline(), r.now) {
			r.step(in, vrrp.Tick{})
		}
	}
	for _, in := range r.insts {
		if due(in.sched.NextDeadline(), r.now) {
			r.flushGARP(in)
		}
	}
	for _, s := range r.scripts {
		if s.t.Due(r.now) {
			r.startScript(s)
		}
	}
}

// nextDeadline is the earliest future timer of everything the loop owns.
func (r *Runner) nextDeadline() time.Time {
	if !r.started {
		return time.Time{}
	}
	var e time.Time
	for _, in := range r.insts {
		e = earliest(e, in.m.NextDeadline(), in.sched.NextDeadline())
	}
	for _, s := range r.scripts {
		if !s.t.Running() {
			e = earliest(e, s.t.NextDeadline())
		}
	}
	return e
}

// step feeds ev to the instance (through its sync group) and carries out
// the resulting actions in order.
func (r *Runner) step(in *instance, ev vrrp.Event) {
	gs := in.group
	if gs == nil {
		acts := in.m.Step(r.now, ev)
		// Log the decision before acting on it, so the log's timestamp is
		// the decision's (the first GARP follows it on the wire).
		for _, a := range acts {
			if n, ok := a.(vrrp.Notify); ok {
				r.logTransition(in, n)
			}
		}
		for _, a := range acts {
			r.do(in, a)
		}
		return
	}
	gacts := gs.g.Step(r.now, in.m, ev)
	for _, ga := range gacts {
		if n, ok := ga.Action.(vrrp.Notify); ok {
			r.logTransition(r.byMachine[ga.Member], n)
		}
	}
	for _, ga := range gacts {
		r.do(r.byMachine[ga.Member], ga.Action)
	}
	r.checkGroup(gs)
}

func due(t, now time.Time) bool { return !t.IsZero() && !now.Before(t) }

func earliest(ts ...time.Time) time.Time {
	var e time.Time
	for _, t := range ts {
		if !t.IsZero() && (e.IsZero() || t.Before(e)) {
			e = t
		}
	}
	return e
}

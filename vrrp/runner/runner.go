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
	"github.com/lvs-ha/lvs-ha/internal/script"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vrrpsock"
)

// Options configures a Runner.
type Options struct {
	Instances  []InstanceConfig
	SyncGroups []SyncGroupConfig

	// Logger receives state transitions (info) and I/O problems; nil
	// discards.
	Logger *slog.Logger
	// Conns opens the VRRP sockets (SocketFactory{}); required.
	Conns ConnFactory
	// VIPs adds and removes virtual addresses (vip.NewHere()); required.
	VIPs VIPManager
	// Routes adds and removes the instances' virtual routes and rules
	// (iproute.New()); nil: every such change fails (and is logged and
	// counted).
	Routes RouteManager
	// Announcer sends gratuitous ARPs / unsolicited NAs
	// (garp.NewAnnouncer); required.
	Announcer garp.Sender
	// Links reports link state for the instances' interfaces and
	// track_interface (NetlinkLinks{}); nil disables link monitoring. When
	// set, instances start once the first link dump has arrived.
	Links LinkWatcher
	// IfaceSettings sets promote_secondaries (ProcSys{}); nil disables
	// InstanceConfig.PromoteSecondaries.
	IfaceSettings IfaceSettings
	// Addrs reports the host's addresses for TrackSrcIP (NetlinkAddrs{});
	// nil disables it. When needed, instances start once the first address
	// dump has arrived too.
	Addrs AddrWatcher
	// Notifier runs notify scripts; Checker runs vrrp_script tracking
	// scripts. nil means ExecScripts{}.
	Notifier ScriptRunner
	Checker  ScriptRunner
	// Files reads tracked files and writes init_file (OSFiles{} when nil).
	Files FileSystem
	// FilePoll is how often tracked files are read (DefaultFilePoll when
	// 0); keepalived uses inotify, lvs-ha polls.
	FilePoll time.Duration
	// Processes lists processes for track_process (ProcFS{} when nil).
	Processes ProcessLister
	// ProcessPoll is how often processes are listed (DefaultProcessPoll
	// when 0).
	ProcessPoll time.Duration
	// ScriptUser and ScriptGroup are the default user for scripts whose
	// Command.User is empty (global_defs script_user); empty runs as the
	// daemon's user.
	ScriptUser, ScriptGroup string
	// NotifyTimeout bounds notify scripts (except STOP ones, which get
	// script.StopNotifyTimeout); 0 means DefaultNotifyTimeout, negative no
	// timeout.
	NotifyTimeout time.Duration
	// StartupDelay is keepalived's vrrp_startup_delay: for this long after
	// Run starts, instances stay in BACKUP and no master down timer expires
	// (see vrrp.Startup.HoldUntil). Reloads (Update) do not restart it.
	StartupDelay time.Duration
	// LogUnknownVRIDs logs every received packet whose VRID no instance on
	// that interface uses (keepalived log_unknown_vrids; it logs each, at
	// info level). They are counted in Stats.RxUnknownVRID either way.
	LogUnknownVRIDs bool
	// OnTransition, when set, is called from Run's loop after one or more
	// instances changed state and Snapshot shows the new states. It must
	// not block (e.g. a non-blocking send on a buffered channel).
	OnTransition func()
	// OnNotify, when set, is called from Run's loop for every event
	// keepalived writes to its notify FIFOs, after the event's notify
	// scripts were queued: an instance's or a group's state change (state
	// MASTER, BACKUP, FAULT, STOP or DELETED; priority the instance's, 0 for
	// a group) and StateMasterRxLowerPri. It must not block.
	OnNotify func(kind script.NotifyKind, name, state string, priority int)
	// DynamicInterfaces (keepalived dynamic_interfaces, needs Links): an
	// instance whose interface does not exist when Run starts (or a reload
	// adds it) waits in FAULT until it appears; when an interface is
	// deleted its instances go to FAULT and their socket is closed, and
	// reopened when the interface comes back. Without it a missing
	// interface fails Run.
	DynamicInterfaces bool
	// Process changes the process's scheduling (procprio.Process); nil
	// disables the settings below.
	Process Process
	// Nice (keepalived vrrp_priority), RTPriority (vrrp_rt_priority,
	// SCHED_RR 1..99; then Nice is not used, as keepalived) and NoSwap
	// (vrrp_no_swap, mlockall) are applied when Run starts.
	Nice       int
	RTPriority int
	NoSwap     bool
	// MaxAutoPriority (keepalived max_auto_priority, 1..99; 0 disables):
	// when the loop runs a timer AutoPriorityDelay or more late, the
	// process is switched to SCHED_RR at priority 1 (or RTPriority+1), and
	// raised by one at each further late timer up to MaxAutoPriority.
	MaxAutoPriority int
	// Slice (vrrp_sched_slice, an lvs-ha extension) is the fair
	// scheduler's slice asked for the process's threads when they are not
	// realtime (EEVDF, Linux 6.12+; see procprio.Process.SetSlice): a
	// thread with a short slice is run soon after it wakes, before
	// threads with longer ones, without a larger share of the CPU. 0
	// leaves the kernel's default (0.7-3 ms, by the number of CPUs).
	Slice time.Duration
}

// StateMasterRxLowerPri is the OnNotify state of a master that received
// an advert of lower priority (keepalived's MASTER_RX_LOWER_PRI event).
const StateMasterRxLowerPri = "MASTER_RX_LOWER_PRI"

// The OnNotify states of an effective priority change of an instance with
// InstanceConfig.NotifyPriorityChanges (keepalived's
// send_instance_priority_notifies).
const (
	StateMasterPriority = "MASTER_PRIORITY"
	StateBackupPriority = "BACKUP_PRIORITY"
)

// AutoPriorityDelay is keepalived's default min_auto_priority_delay.
const AutoPriorityDelay = time.Second

// Process changes the process's scheduling (procprio.Process).
type Process interface {
	SetRealtime(prio int) error
	SetNice(nice int) error
	LockMemory() error
	// SetSlice's error wraps errors.ErrUnsupported when the kernel
	// ignores the request (before Linux 6.12).
	SetSlice(slice time.Duration) error
}

// Runner owns the I/O of all VRRP instances of a daemon: sockets, VIPs,
// gratuitous ARPs, trackers and notify scripts. One goroutine (Run's loop)
// owns every Machine, SyncGroup, garp.Scheduler and tracker; socket readers,
// the link watcher, script runs and Update hand it work through channels.
//
// Gratuitous ARP timing belongs to the garp.Scheduler of each instance: on
// becoming master the runner calls Scheduler.Start (first burst, the
// garp_master_delay burst and refreshes), on a lower-priority advert
// LowerPriority, on leaving master Stop.
type Runner struct {
	opts Options // defaults applied
	log  *slog.Logger

	// Owned by the loop once Run has started.
	cfg           *config
	insts         []*instance
	byMachine     map[*vrrp.Machine]*instance
	groups        []*groupState
	scripts       []*scriptState
	files         []*fileState
	nextFilePoll  time.Time // zero before startup
	procs         []*procState
	nextProcPoll  time.Time // zero before startup
	procListing   bool      // a process listing is under way
	conns         []*connState
	now           time.Time
	stepped       time.Time                // the latest time the machines were stepped at before r.now (rxAt's floor)
	garpSent      firstSend                // the Announcer, as flushGARP sends through it
	garpVIPs      []garp.VIP               // announce's buffer
	links         map[int]track.LinkEvent  // last known links, by index
	linksKnown    bool                     // a link dump has arrived
	watching      bool                     // the link watcher runs
	addrs         map[track.AddrEvent]bool // assigned addresses (Deleted false)
	addrsKnown    bool                     // an address dump has arrived
	watchingAddrs bool                     // the address watcher runs
	started       bool                     // the instances have started
	holdUntil     time.Time                // end of Options.StartupDelay
	promoted      []string                 // interfaces whose promote_secondaries we set
	rtPrio        int                      // realtime priority set by MaxAutoPriority (0: none)

	g        *errgroup.Group // Run's: socket readers and the link watcher
	gctx     context.Context
	asyncCtx context.Context // tracking and notify scripts; cancelled when Run returns
	async    sync.WaitGroup  // tracking scripts and notify scripts
	// notifyCtx (from asyncCtx) is cancelled when the shutdown starts;
	// notifyTail is the last notify script queued per instance or group
	// (closed when it has finished), owned by the loop.
	notifyCtx    context.Context
	cancelNotify context.CancelFunc
	notifyTail   map[string]chan struct{}
	stops        sync.WaitGroup // STOP notify scripts, waited for before the others are cancelled

	in      chan func() // work for the loop: packets, link events, script results
	updates chan func() // Update's work for the loop
	ready   chan struct{}
	stopped chan struct{} // closed when the loop has returned

	polling   bool                                     // the loop reads the sockets itself (pollLoop)
	waited    func(capped, parked bool, end time.Time) // tests: each pollLoop wait as it ends (capped: capWait's timeout; parked: parker)
	tickLate  time.Duration                            // while runDue steps a timer: how late it runs (else -1)
	rx        rxCounters                               // hot: read by Snapshot, never published
	published atomic.Pointer[Stats]
	transited bool // an instance changed state since the last publish
	ran       atomic.Bool

	// Buffers the advert path reuses (see step, onPacket, publish).
	acts     []vrrp.Action
	gacts    []vrrp.GroupAction
	rxAddrs  []netip.Addr
	txBuf    []byte
	trackers []track.Status
}

type instance struct {
	cfg    InstanceConfig // normalized
	name   string
	m      *vrrp.Machine
	group  *groupState
	conn   *connState
	sched  *garp.Scheduler
	vipsUp bool // we added VIPs that were not removed since
	// deleting: a reload removes the instance; its shutdown notifies
	// DELETED or FAULT instead of STOP (notifyDeleted).
	deleting bool

	primary  *track.InterfaceTracker // nil with DontTrackPrimary
	ifaces   []*track.InterfaceTracker
	scripts  []instScript
	files    []instFile
	procs    []instProc
	trackers bool // has script, file, process or interface trackers

	stats InstanceStats
	hot   *hotCounters // stats' per-advert counters, for Snapshot
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
	polled  bool // read by the loop itself (poll mode), owned by the loop
}

// New validates the configuration and prepares the instances. No I/O
// happens until Run.
func New(opts Options) (*Runner, error) {
	if opts.Routes == nil {
		opts.Routes = noRoutes{}
	}
	switch {
	case opts.Conns == nil:
		return nil, errors.New("vrrp: runner: no ConnFactory")
	case opts.VIPs == nil:
		return nil, errors.New("vrrp: runner: no VIPManager")
	case opts.Announcer == nil:
		return nil, errors.New("vrrp: runner: no garp Announcer")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Notifier == nil {
		opts.Notifier = ExecScripts{}
	}
	if opts.Checker == nil {
		opts.Checker = ExecScripts{}
	}
	if opts.Files == nil {
		opts.Files = OSFiles{}
	}
	if opts.FilePoll <= 0 {
		opts.FilePoll = DefaultFilePoll
	}
	if opts.Processes == nil {
		opts.Processes = ProcFS{}
	}
	if opts.ProcessPoll <= 0 {
		opts.ProcessPoll = DefaultProcessPoll
	}
	switch {
	case opts.NotifyTimeout == 0:
		opts.NotifyTimeout = DefaultNotifyTimeout
	case opts.NotifyTimeout < 0:
		opts.NotifyTimeout = 0
	}
	cfg, err := parse(opts.Instances, opts.SyncGroups)
	if err != nil {
		return nil, err
	}
	r := &Runner{
		opts:       opts,
		log:        opts.Logger,
		cfg:        cfg,
		byMachine:  map[*vrrp.Machine]*instance{},
		notifyTail: map[string]chan struct{}{},
		links:      map[int]track.LinkEvent{},
		addrs:      map[track.AddrEvent]bool{},
		in:         make(chan func(), 64),
		updates:    make(chan func()),
		ready:      make(chan struct{}),
		stopped:    make(chan struct{}),
		tickLate:   -1,
	}
	now := time.Now()
	for _, ts := range cfg.scripts {
		r.scripts = append(r.scripts, newScript(ts, now))
	}
	for _, f := range cfg.files {
		r.files = append(r.files, &fileState{cfg: f})
	}
	for _, pc := range cfg.procs {
		r.procs = append(r.procs, newProc(pc))
	}
	for _, c := range cfg.insts {
		r.insts = append(r.insts, newInstance(c, cfg, r.scripts, r.files, r.procs))
	}
	for _, gc := range cfg.groups {
		r.groups = append(r.groups, &groupState{cfg: gc, members: r.members(gc, r.insts)})
	}
	r.setGroups(r.groups)
	if err := r.build(); err != nil {
		return nil, err
	}
	r.publish()
	return r, nil
}

func newScript(ts TrackScript, now time.Time) *scriptState {
	t, _ := track.NewScriptTracker(ts.Script, now) // validated by parse
	return &scriptState{t: t, cmd: ts.Command}
}

// newInstance prepares an instance of c, tracking cfg's scripts (run by
// scripts, in the same order); build or Update gives it its machine.
func newInstance(c InstanceConfig, cfg *config, scripts []*scriptState, files []*fileState, procs []*procState) *instance {
	in := &instance{cfg: c, name: c.Machine.Name}
	in.sched, _ = garp.NewScheduler(*c.GARP) // validated by normalize, as the trackers
	if !c.DontTrackPrimary {
		in.primary, _ = track.NewInterfaceTracker(track.InterfaceConfig{Name: c.Interface})
	}
	for _, ti := range c.TrackInterfaces {
		t, _ := track.NewInterfaceTracker(ti)
		in.ifaces = append(in.ifaces, t)
	}
	in.setScripts(cfg, scripts, files, procs)
	in.stats = InstanceStats{
		Name:         in.name,
		VRID:         c.Machine.VRID,
		Interface:    c.Interface,
		Family:       c.Machine.Family,
		BasePriority: c.basePriority(),
		RxErrors:     map[vrrp.Reason]uint64{},
	}
	in.hot = &hotCounters{}
	return in
}

// setScripts points the instance's track_script and track_file entries at
// the script, file and process states of cfg (one per cfg.scripts,
// cfg.files and cfg.procs).
func (in *instance) setScripts(cfg *config, scripts []*scriptState, files []*fileState, procs []*procState) {
	in.scripts = nil
	for _, ts := range in.cfg.TrackScripts {
		j := slices.IndexFunc(cfg.scripts, func(s TrackScript) bool { return s.Script.Name == ts.Script.Name })
		in.scripts = append(in.scripts, instScript{s: scripts[j], weight: ts.Weight, reverse: ts.Reverse})
	}
	in.files = nil
	for _, tf := range in.cfg.TrackFiles {
		j := slices.IndexFunc(cfg.files, func(f track.FileConfig) bool { return f.Name == tf.File.Name })
		in.files = append(in.files, instFile{f: files[j], weight: tf.Weight, reverse: tf.Reverse})
	}
	in.procs = nil
	for _, tp := range in.cfg.TrackProcesses {
		j := slices.IndexFunc(cfg.procs, func(p track.ProcessConfig) bool { return p.Name == tp.Process.Name })
		in.procs = append(in.procs, instProc{p: procs[j], weight: tp.Weight, reverse: tp.Reverse})
	}
	in.trackers = len(in.scripts) > 0 || len(in.ifaces) > 0 || len(in.files) > 0 || len(in.procs) > 0
}

// members returns the instances of insts that are gc's members, in gc's order.
func (r *Runner) members(gc SyncGroupConfig, insts []*instance) []*instance {
	var out []*instance
	for _, name := range gc.Members {
		i := slices.IndexFunc(insts, func(in *instance) bool { return in.name == name })
		out = append(out, insts[i])
	}
	return out
}

// setGroups makes groups the runner's sync groups and tells every instance
// its group.
func (r *Runner) setGroups(groups []*groupState) {
	r.groups = groups
	for _, in := range r.insts {
		in.group, in.stats.SyncGroup = nil, ""
	}
	for _, gs := range groups {
		for _, in := range gs.members {
			in.group, in.stats.SyncGroup = gs, gs.cfg.Name
		}
	}
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
		if err := gs.newSyncGroup(); err != nil {
			return err
		}
	}
	return nil
}

// newSyncGroup groups the members' machines, which are new.
func (gs *groupState) newSyncGroup() error {
	ms := make([]*vrrp.Machine, len(gs.members))
	for i, in := range gs.members {
		ms[i] = in.m
	}
	g, err := vrrp.NewSyncGroup(gs.cfg.Name, ms...)
	if err != nil {
		return err
	}
	gs.g, gs.state = g, g.State()
	return nil
}

// newMachine gives in a new machine in Initialize, with its socket's source
// address once the socket is open (normalize's placeholder before).
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
			if cs, err = r.openConn(&in.cfg); r.waitForLink(in, err) {
				continue
			} else if err != nil {
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

// waitForLink reports whether err is a missing interface that in may wait
// for (DynamicInterfaces).
func (r *Runner) waitForLink(in *instance, err error) bool {
	if err == nil || !r.opts.DynamicInterfaces || r.opts.Links == nil || !errors.Is(err, vrrpsock.ErrNoInterface) {
		return false
	}
	r.log.Info("VRRP interface missing, waiting for it (dynamic_interfaces)", "instance", in.name, "interface", in.cfg.Interface)
	return true
}

// linkPresent reports whether the last known links include name.
func (r *Runner) linkPresent(name string) bool {
	for _, l := range r.links {
		if l.Name == name {
			return true
		}
	}
	return false
}

// attach opens (or shares) the socket of an instance that has none, once
// its interface exists, and tells the machine its source address.
func (r *Runner) attach(in *instance) {
	key := sockKey(in.cfg.sockConfig())
	var cs *connState
	for _, c := range r.conns {
		if sockKey(c.cfg) == key {
			cs = c
		}
	}
	if cs == nil {
		var err error
		if cs, err = r.openConn(&in.cfg); err != nil {
			r.log.Warn("VRRP socket not opened", "instance", in.name, "interface", in.cfg.Interface, "err", err)
			return
		}
		r.conns = append(r.conns, cs)
		r.startReader(cs)
	}
	in.conn = cs
	cs.byVRID[in.cfg.Machine.VRID] = in
	r.log.Info("VRRP interface appeared", "instance", in.name, "interface", in.cfg.Interface, "source", cs.src)
	r.remachine(in)
	if in.primary == nil && r.started {
		r.step(in, vrrp.LinkUp{}) // dont_track_primary: missingLink's LinkDown
	}
}

// missingLink puts an instance without a socket (its interface is
// missing) in FAULT; with a primary tracker that is the tracker's job, with
// dont_track_primary it is done here (keepalived faults an instance whose
// interface is gone either way).
func (r *Runner) missingLink(in *instance) {
	if in.conn == nil && in.primary == nil {
		r.step(in, vrrp.LinkDown{})
	}
}

// detach closes the socket of a deleted interface; its instances wait for
// the interface again.
func (r *Runner) detach(cs *connState) {
	cs.retired.Store(true)
	if err := cs.c.Close(); err != nil {
		r.log.Warn("closing VRRP socket", "interface", cs.cfg.Interface, "err", err)
	}
	r.conns = slices.DeleteFunc(r.conns, func(c *connState) bool { return c == cs })
	for _, in := range r.insts {
		if in.conn == cs {
			in.conn = nil
			if r.started {
				r.missingLink(in)
			}
		}
	}
}

// remachine tells in's machine its options with the socket's source address.
func (r *Runner) remachine(in *instance) {
	o := in.cfg.Machine
	if in.conn != nil {
		o.PrimaryAddr = in.conn.src
	}
	if o.PrimaryAddr == in.m.Options().PrimaryAddr {
		return
	}
	ev := vrrp.Reconfigure{Options: o}
	if in.trackers {
		prio, fault := track.Effective(int(in.stats.BasePriority), in.trackerStatuses()...)
		ev.Trackers = &vrrp.TrackersUpdated{Priority: uint8(prio), Fault: fault, Reason: "interface appeared"}
	}
	r.step(in, ev)
}

// dynamicLinks attaches and detaches sockets as interfaces come and go.
func (r *Runner) dynamicLinks() {
	if !r.opts.DynamicInterfaces {
		return
	}
	for _, cs := range slices.Clone(r.conns) {
		if !r.linkPresent(cs.cfg.Interface) {
			r.log.Info("VRRP interface deleted", "interface", cs.cfg.Interface)
			r.detach(cs)
		}
	}
	for _, in := range r.insts {
		if in.conn == nil && r.linkPresent(in.cfg.Interface) {
			r.attach(in)
		}
	}
}

// openConn opens a socket with c's settings (instances with the same
// settings share it: same family, see sockKey).
func (r *Runner) openConn(c *InstanceConfig) (*connState, error) {
	cfg := c.sockConfig()
	conn, err := r.opts.Conns.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("vrrp: instance %s: %w", c.Machine.Name, err)
	}
	cs := &connState{cfg: cfg, c: conn, src: conn.SrcAddr().Unmap(), dsts: conn.Destinations(), byVRID: map[uint8]*instance{}}
	if vrrp.FamilyOf(cs.src) != c.Machine.Family {
		conn.Close()
		return nil, fmt.Errorf("vrrp: instance %s: socket source address %v is not %v", c.Machine.Name, cs.src, c.Machine.Family)
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
	stopped := sync.OnceFunc(func() { close(r.stopped) })
	defer stopped()
	if err := r.open(); err != nil {
		r.publish()
		return err
	}
	asyncCtx, cancelAsync := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAsync()
	r.asyncCtx = asyncCtx
	r.notifyCtx, r.cancelNotify = context.WithCancel(asyncCtx)
	defer r.cancelNotify()
	r.g, r.gctx = errgroup.WithContext(ctx)
	r.polling = r.polls()
	for _, cs := range r.conns {
		r.startReader(cs)
	}
	r.startLinkWatcher()
	r.startAddrWatcher()
	r.promoteSecondaries()
	r.setProcess()

	r.loop()
	stopped()
	r.cancelNotify()
	r.shutdown()
	r.resetPromoted()
	r.closeConns()
	err := r.g.Wait()
	r.stops.Wait()
	cancelAsync()
	r.async.Wait()
	r.publish()
	return err
}

// Ready is closed once Run has opened every VRRP socket and started the
// instances (with a LinkWatcher, on the first link dump); Snapshot then
// shows their first states. It is never
// closed if Run fails before.
func (r *Runner) Ready() <-chan struct{} { return r.ready }

// detacher is a pollConn that can leave the Go runtime's netpoller
// (*vrrpsock.Conn): the loop polls the socket itself, and the runtime's
// poller, woken too by every advert sent and received, would make one
// more thread runnable per advert. Recv and Close keep working, for
// startReaders.
type detacher interface {
	Detach() error
}

var _ detacher = (*vrrpsock.Conn)(nil)

// startReader has the socket read: by the loop itself in poll mode (if it
// can; the socket then leaves the runtime's poller), else on a goroutine
// of its own. It runs before the socket's first use or on the loop, which
// alone sends, so never concurrently with the socket's other methods.
func (r *Runner) startReader(cs *connState) {
	if _, ok := cs.c.(pollConn); ok && r.polling {
		if d, ok := cs.c.(detacher); ok {
			if err := d.Detach(); err != nil {
				r.log.Warn("VRRP: socket stays in the Go runtime's poller", "interface", cs.cfg.Interface, "err", err)
			}
		}
		cs.polled = true
		return
	}
	r.readOn(cs)
}

// readOn reads the socket on a goroutine of its own.
func (r *Runner) readOn(cs *connState) {
	cs.polled = false
	r.g.Go(func() error { return r.receive(r.gctx, cs) })
}

// startReaders gives every socket the loop polled a reader goroutine (poll
// mode given up).
func (r *Runner) startReaders() {
	r.polling = false
	for _, cs := range r.conns {
		if cs.polled {
			r.readOn(cs)
		}
	}
}

// promoteSecondaries sets promote_secondaries on the interfaces of the
// instances that ask for it, remembering those it changed (keepalived's
// set_promote_secondaries).
func (r *Runner) promoteSecondaries() {
	if r.opts.IfaceSettings == nil {
		return
	}
	for _, in := range r.insts {
		iface := in.cfg.Interface
		if !in.cfg.PromoteSecondaries || slices.Contains(r.promoted, iface) {
			continue
		}
		on, err := r.opts.IfaceSettings.PromoteSecondaries(iface)
		if err == nil && !on {
			if err = r.opts.IfaceSettings.SetPromoteSecondaries(iface, true); err == nil {
				r.promoted = append(r.promoted, iface)
			}
		}
		if err != nil {
			r.log.Warn("VRRP: cannot set promote_secondaries", "instance", in.name, "interface", iface, "err", err)
		}
	}
}

// resetPromoted resets what promoteSecondaries set.
func (r *Runner) resetPromoted() {
	for _, iface := range r.promoted {
		if err := r.opts.IfaceSettings.SetPromoteSecondaries(iface, false); err != nil {
			r.log.Warn("VRRP: cannot reset promote_secondaries", "interface", iface, "err", err)
		}
	}
	r.promoted = nil
}

// startAddrWatcher starts the address watcher once an instance needs it.
func (r *Runner) startAddrWatcher() {
	if r.cfg.needAddrs && r.opts.Addrs != nil && !r.watchingAddrs {
		r.watchingAddrs = true
		relay(r, "addresses", r.opts.Addrs.WatchAddrs, r.onAddrs)
	}
}

// relay runs watch under Run's group and hands its dumps (sync) and its
// events to on, on the loop goroutine; watch ending before Run's context
// fails the group.
func relay[E any](r *Runner, what string, watch func(context.Context, func([]E), func(E)) error, on func(evs []E, sync bool)) {
	ctx := r.gctx
	r.g.Go(func() error {
		err := watch(ctx,
			func(evs []E) {
				evs = slices.Clone(evs)
				r.send(ctx, func() { on(evs, true) })
			},
			func(ev E) { r.send(ctx, func() { on([]E{ev}, false) }) })
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("stopped")
		}
		return fmt.Errorf("vrrp: watching %s: %w", what, err)
	})
}

// canStart: the dumps the instances wait for have arrived.
func (r *Runner) canStart() bool {
	return (!r.watching || r.linksKnown) && (!r.watchingAddrs || r.addrsKnown)
}

// srcMissing reports whether in tracks its source address and it is not
// assigned (false until the first address dump).
func (r *Runner) srcMissing(in *instance) bool {
	if !in.cfg.TrackSrcIP || !r.addrsKnown {
		return false
	}
	for k := range r.addrs {
		if k.Addr == in.cfg.SrcAddr {
			return false
		}
	}
	return true
}

// onAddrs applies an address dump (sync) or one change; instances tracking
// their source address go to FAULT while it is missing. The first dump may
// start the instances.
func (r *Runner) onAddrs(evs []track.AddrEvent, sync bool) {
	if sync {
		clear(r.addrs)
		r.addrsKnown = true
	}
	for _, ev := range evs {
		k := track.AddrEvent{Index: ev.Index, Addr: ev.Addr}
		if ev.Deleted {
			delete(r.addrs, k)
		} else {
			r.addrs[k] = true
		}
	}
	if r.started {
		for _, in := range r.insts {
			if in.cfg.TrackSrcIP {
				r.step(in, vrrp.SrcAddr{Missing: r.srcMissing(in)})
			}
		}
	} else if sync && r.canStart() {
		r.startup()
	}
}

// startLinkWatcher starts the link watcher once an instance needs it.
func (r *Runner) startLinkWatcher() {
	if (r.cfg.needLinks || r.opts.DynamicInterfaces) && r.opts.Links != nil && !r.watching {
		r.watching = true
		relay(r, "links", r.opts.Links.WatchLinks, r.onLinks)
	}
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
			r.rx.recvErrors.Add(1)
			r.log.Warn("VRRP receive failed", "interface", cs.cfg.Interface, "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		p.Payload = bytes.Clone(p.Payload)
		if !r.send(ctx, func() { r.onPacketAt(cs, p) }) {
			return nil
		}
	}
}

// send hands f to the loop; false if ctx ended first.
func (r *Runner) send(ctx context.Context, f func()) bool {
	select {
	case r.in <- f:
		return true
	case <-ctx.Done():
		return false
	}
}

// loop is the owner goroutine: it handles inputs and timers until Run's
// context is done. With a link watcher it waits for the first link dump
// before starting the instances. With real sockets it is pollLoop, else
// chanLoop.
func (r *Runner) loop() {
	r.begin()
	if r.polling {
		r.pollLoop()
		return
	}
	r.chanLoop()
}

// begin starts the startup delay and, if nothing is awaited, the instances.
func (r *Runner) begin() {
	r.now = time.Now()
	if d := r.opts.StartupDelay; d > 0 {
		r.holdUntil = r.now.Add(d)
		r.log.Info("VRRP: delaying startup", "seconds", d.Seconds())
	}
	if r.canStart() {
		r.startup()
	}
}

// iterate runs what is due, publishes the state and returns the next
// deadline (zero: none): the part of a loop round before it waits.
func (r *Runner) iterate() time.Time {
	r.runDue()
	next := r.nextDeadline()
	r.publish()
	if r.transited {
		r.transited = false
		if f := r.opts.OnTransition; f != nil {
			f()
		}
	}
	return next
}

// chanLoop waits on channels and a runtime timer: socket readers run on
// their own goroutines (startReader).
func (r *Runner) chanLoop() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := r.iterate()
		var timerC <-chan time.Time
		if next.IsZero() {
			timer.Stop()
		} else {
			timer.Reset(next.Sub(r.now))
			timerC = timer.C
		}
		select {
		case <-r.gctx.Done():
			return
		case <-timerC:
			r.now = time.Now()
			r.late(r.now.Sub(next))
		case f := <-r.in:
			r.stepped, r.now = r.now, time.Now() // rxAt's floor: the machines' time so far
			f()
		case f := <-r.updates:
			r.now = time.Now()
			f()
		}
	}
}

// setProcess applies Options.Nice, RTPriority and NoSwap (keepalived's
// set_process_priorities for the VRRP process), and Slice.
func (r *Runner) setProcess() {
	p := r.opts.Process
	if p == nil {
		return
	}
	var err error
	switch {
	case r.opts.RTPriority > 0:
		if err = p.SetRealtime(r.opts.RTPriority); err == nil {
			r.rtPrio = r.opts.RTPriority
		}
	case r.opts.Nice != 0:
		err = p.SetNice(r.opts.Nice)
	}
	if err != nil {
		r.log.Warn("VRRP: cannot set process priority", "err", err)
	}
	if r.opts.Slice > 0 && r.rtPrio == 0 {
		// After the nice value, which SetSlice keeps.
		switch err := p.SetSlice(r.opts.Slice); {
		case errors.Is(err, errors.ErrUnsupported):
			r.log.Info("VRRP: the kernel takes no scheduler slice (vrrp_sched_slice: Linux 6.12 or later)", "slice", r.opts.Slice)
		case err != nil:
			r.log.Warn("VRRP: cannot set the scheduler slice", "slice", r.opts.Slice, "err", err)
		}
	}
	if r.opts.NoSwap {
		if err := p.LockMemory(); err != nil {
			r.log.Warn("VRRP: unable to lock process in memory", "err", err)
		}
	}
}

// late raises the process's realtime priority when a timer ran lateness
// late (keepalived's increment_process_priority).
func (r *Runner) late(lateness time.Duration) {
	if lateness < AutoPriorityDelay || r.opts.Process == nil || r.rtPrio >= r.opts.MaxAutoPriority {
		return
	}
	r.rtPrio++
	if err := r.opts.Process.SetRealtime(r.rtPrio); err != nil {
		r.log.Warn("VRRP: cannot raise realtime priority", "priority", r.rtPrio, "err", err)
		return
	}
	r.log.Info("VRRP: timers late, set realtime priority", "late", lateness, "priority", r.rtPrio)
}

// startup starts every instance, after telling it its trackers' state.
func (r *Runner) startup() {
	r.started = true
	defer func() {
		r.publish() // Snapshot shows the started states once Ready is closed
		close(r.ready)
	}()
	r.initFiles(r.files, false)
	r.nextFilePoll = r.now.Add(r.opts.FilePoll)
	if len(r.procs) > 0 {
		r.listProcs(r.procs)
	}
	r.nextProcPoll = r.now.Add(r.opts.ProcessPoll)
	for _, in := range r.insts {
		if in.trackers {
			r.updateTrackers(in, "initial tracker state")
		}
		if r.srcMissing(in) {
			r.step(in, vrrp.SrcAddr{Missing: true})
		}
		r.missingLink(in)
	}
	r.prepareGARP()
	for _, in := range r.insts {
		// A daemon that died without cleaning up (SIGKILL, crash) leaves its
		// VIPs behind; a restarted non-owner must not answer for them while
		// it is not master. Removal is idempotent. An address owner's VIPs
		// are its real addresses and stay.
		if in.cfg.Machine.Priority != vrrp.PriorityOwner {
			r.removeVIPs(in)
		}
		r.step(in, vrrp.Startup{HoldUntil: r.holdUntil})
	}
}

// prepareGARP opens the gratuitous ARP sockets of the IPv4 VIPs'
// interfaces now, off the takeover path.
func (r *Runner) prepareGARP() {
	p, ok := r.opts.Announcer.(garpPreparer)
	if !ok {
		return
	}
	done := map[string]bool{}
	for _, in := range r.insts {
		for _, v := range in.cfg.garpVIPs() {
			if v.Addr.Is4() && !done[v.Interface] {
				done[v.Interface] = true
				if err := p.Prepare(v.Interface); err != nil {
					r.log.Debug("gratuitous ARP socket not opened ahead", "interface", v.Interface, "err", err)
				}
			}
		}
	}
}

// shutdown stops every instance and makes sure no VIP is left behind.
func (r *Runner) shutdown() {
	r.now = time.Now()
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
		if dl := in.m.NextDeadline(); due(dl, r.now) {
			r.tickLate = r.now.Sub(dl)
			r.step(in, vrrp.Tick{})
			r.tickLate = -1
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
	if due(r.nextFilePoll, r.now) {
		r.pollFiles()
	}
	r.tickProcs()
	if len(r.procs) > 0 && !r.procListing && due(r.nextProcPoll, r.now) {
		r.startProcPoll()
	}
}

// nextDeadline is the earliest future timer of everything the loop owns
// (zero: none).
func (r *Runner) nextDeadline() time.Time {
	if !r.started {
		return time.Time{}
	}
	var next time.Time // the earliest non-zero, without a slice: no allocation
	at := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, in := range r.insts {
		at(in.m.NextDeadline())
		at(in.sched.NextDeadline())
	}
	for _, s := range r.scripts {
		if !s.t.Running() {
			at(s.t.NextDeadline())
		}
	}
	if len(r.files) > 0 {
		at(r.nextFilePoll)
	}
	if len(r.procs) > 0 && !r.procListing {
		at(r.nextProcPoll)
	}
	for _, p := range r.procs {
		at(p.t.NextDeadline())
	}
	return next
}

// step feeds ev to the instance (through its sync group) and carries out
// the resulting actions in order.
func (r *Runner) step(in *instance, ev vrrp.Event) {
	if gs := in.group; gs != nil {
		r.carryOut(gs.g.Step(r.now, in.m, ev), "")
		r.checkGroup(gs)
		return
	}
	// The buffers are taken while in use: a nested step gets new ones.
	acts, gacts := r.acts, r.gacts
	r.acts, r.gacts = nil, nil
	acts = in.m.AppendStep(acts[:0], r.now, ev)
	gacts = tagAppend(gacts[:0], in.m, acts)
	r.carryOut(gacts, "")
	clear(acts)
	clear(gacts)
	r.acts, r.gacts = acts[:0], gacts[:0]
}

// carryOut carries out every action of acts in order, then logs the state
// changes among them (with reason instead of the machine's, if set). The
// wire comes first: a new master's advert and first GARP leave before the
// log line is written, and the line carries the decision's time (r.now)
// and how long after it the advert and the GARP were sent.
func (r *Runner) carryOut(acts []vrrp.GroupAction, reason string) {
	var logs []transitionLog
	for _, a := range acts {
		if n, ok := a.Action.(vrrp.Notify); ok {
			if reason != "" {
				n.Reason = reason
			}
			logs = append(logs, transitionLog{in: r.byMachine[a.Member], n: n, late: r.tickLate})
		}
	}
	for _, a := range acts {
		in := r.byMachine[a.Member]
		r.garpSent.first = time.Time{}
		r.do(in, a.Action)
		if len(logs) == 0 {
			continue
		}
		switch a.Action.(type) {
		case vrrp.SendAdvert, vrrp.SendGARP:
			_, adv := a.Action.(vrrp.SendAdvert)
			d := time.Since(r.now)
			if !adv && !r.garpSent.first.IsZero() {
				d = r.garpSent.first.Sub(r.now) // the first of the burst
			}
			for i := range logs {
				if l := &logs[i]; l.in == in {
					l.sent(adv, d)
				}
			}
		}
	}
	for _, l := range logs {
		r.logTransition(l)
	}
}

// transitionLog is a state change to log once the step's actions are done.
type transitionLog struct {
	in            *instance
	n             vrrp.Notify
	advert, garp  time.Duration // decision -> first advert / GARP sent (0: none)
	advOK, garpOK bool
	late          time.Duration // a timer's: its deadline -> the decision (-1: not a timer)
}

func (l *transitionLog) sent(advert bool, d time.Duration) {
	switch {
	case advert && !l.advOK:
		l.advert, l.advOK = d, true
	case !advert && !l.garpOK:
		l.garp, l.garpOK = d, true
	}
}

// tag makes m's actions group actions.
func tag(m *vrrp.Machine, acts []vrrp.Action) []vrrp.GroupAction {
	return tagAppend(make([]vrrp.GroupAction, 0, len(acts)), m, acts)
}

// tagAppend appends m's actions to dst as group actions.
func tagAppend(dst []vrrp.GroupAction, m *vrrp.Machine, acts []vrrp.Action) []vrrp.GroupAction {
	for _, a := range acts {
		dst = append(dst, vrrp.GroupAction{Member: m, Action: a})
	}
	return dst
}

func due(t, now time.Time) bool { return !t.IsZero() && !now.Before(t) }

package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvs-ha/lvs-ha/garp"
	"github.com/lvs-ha/lvs-ha/internal/script"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/iproute"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
	"github.com/lvs-ha/lvs-ha/vrrp/vrrpsock"
)

// The lab runs several Runners ("nodes") inside one synctest bubble, over
// an in-memory network that carries the real encoded bytes between their
// fake sockets. Time is the bubble's: it moves only when every goroutine
// is blocked, so settle (synctest.Wait) returns once every runner has
// handled everything, and runUntil lets the runners act at every deadline
// on the way. Every test that uses a lab runs inside synctest.Test.

// t0 is the bubble's start time.
var t0 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

type lab struct {
	t     *testing.T
	net   *fakeNet
	nodes []*node
}

func newLab(t *testing.T) *lab {
	l := &lab{t: t}
	l.net = &fakeNet{lab: l}
	return l
}

// node is one simulated host running a Runner.
type node struct {
	lab     *lab
	name    string
	addr4   netip.Addr // source address on every interface (IPv4)
	addr6   netip.Addr // link-local source address (IPv6)
	vips    *fakeVIPs
	conns   *fakeConns
	garps   *fakeAnnouncer
	scripts *fakeScripts
	links   *fakeLinks // nil: no link monitoring
	addrs   *fakeAddrs // nil: no address monitoring
	r       *Runner

	stopped bool
	cancel  context.CancelFunc
	done    chan error
}

type nodeOpts struct {
	links      bool // attach a fake link watcher with these interfaces up
	ifaces     []string
	syncGroups []SyncGroupConfig
	// runner options
	startupDelay    time.Duration
	logUnknownVRIDs bool
	// dynamic sets Options.DynamicInterfaces; missing are interfaces whose
	// sockets fail with vrrpsock.ErrNoInterface (fakeConns.setMissing).
	dynamic bool
	missing []string
	// process, if set, is Options.Process, with MaxAutoPriority 3 and
	// procOpts' Nice, RTPriority, NoSwap and Slice.
	process  *fakeProcess
	procOpts Options
	// settings, if set, is the node's IfaceSettings.
	settings *fakeSettings
	// addrs, if set, are the node's addresses for an AddrWatcher.
	addrs []track.AddrEvent
	// log, if set, gets a copy of the node's log; so does logw.
	log  *lockedBuffer
	logw io.Writer
	// onTransition is Options.OnTransition.
	onTransition func()
	// files, if set, is the node's FileSystem for tracked files.
	files *fakeFiles
	// procs, if set, is the node's ProcessLister.
	procs *fakeProcs
	// notifier, if set, is Options.Notifier; onNotify is Options.OnNotify.
	notifier ScriptRunner
	onNotify func(kind script.NotifyKind, name, state string, priority int)
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// addNode creates a node (not yet running).
func (l *lab) addNode(name string, addr4, addr6 string, insts []InstanceConfig, no nodeOpts) *node {
	l.t.Helper()
	n := &node{
		lab:     l,
		name:    name,
		vips:    &fakeVIPs{present: map[string]bool{}},
		garps:   &fakeAnnouncer{},
		scripts: &fakeScripts{ok: map[string]bool{}},
	}
	n.conns = &fakeConns{n: n, missing: map[string]bool{}}
	for _, m := range no.missing {
		n.conns.missing[m] = true
	}
	if addr4 != "" {
		n.addr4 = netip.MustParseAddr(addr4)
	}
	if addr6 != "" {
		n.addr6 = netip.MustParseAddr(addr6)
	}
	var logw io.Writer = l.t.Output()
	if no.log != nil {
		logw = io.MultiWriter(logw, no.log)
	}
	if no.logw != nil {
		logw = io.MultiWriter(logw, no.logw)
	}
	opts := Options{
		Instances:       insts,
		SyncGroups:      no.syncGroups,
		Logger:          slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name),
		Conns:           n.conns,
		VIPs:            n.vips,
		Routes:          n.vips,
		Announcer:       n.garps,
		Notifier:        n.scripts,
		Checker:         n.scripts,
		StartupDelay:    no.startupDelay,
		LogUnknownVRIDs: no.logUnknownVRIDs,
		OnTransition:    no.onTransition,
		OnNotify:        no.onNotify,
	}
	if no.notifier != nil {
		opts.Notifier = no.notifier
	}
	if no.links {
		n.links = &fakeLinks{events: make(chan track.LinkEvent, 16)}
		for i, name := range no.ifaces {
			n.links.state = append(n.links.state, track.LinkEvent{Index: i + 1, Name: name, Up: true})
		}
		opts.Links = n.links
	}
	opts.DynamicInterfaces = no.dynamic
	if no.process != nil {
		opts.Process, opts.MaxAutoPriority = no.process, 3
		opts.Nice, opts.RTPriority, opts.NoSwap, opts.Slice = no.procOpts.Nice, no.procOpts.RTPriority, no.procOpts.NoSwap, no.procOpts.Slice
	}
	if no.settings != nil {
		opts.IfaceSettings = no.settings
	}
	if no.files != nil {
		opts.Files = no.files
	}
	if no.procs != nil {
		opts.Processes = no.procs
	}
	if no.addrs != nil {
		n.addrs = &fakeAddrs{state: no.addrs, events: make(chan track.AddrEvent, 16)}
		opts.Addrs = n.addrs
	}
	r, err := New(opts)
	if err != nil {
		l.t.Fatalf("%s: New: %v", name, err)
	}
	n.r = r
	l.nodes = append(l.nodes, n)
	return n
}

// start runs every node's Runner and waits until they settle.
func (l *lab) start() {
	for _, n := range l.nodes {
		ctx, cancel := context.WithCancel(context.Background())
		n.cancel = cancel
		n.done = make(chan error, 1)
		go func() { n.done <- n.r.Run(ctx) }()
		l.t.Cleanup(func() {
			if !n.stopped {
				n.stop()
			}
		})
	}
	l.settle()
}

// stop cancels the node's Runner and waits for Run to return.
func (n *node) stop() error {
	n.cancel()
	var err error
	select {
	case err = <-n.done:
	case <-time.After(10 * time.Second):
		n.lab.t.Fatalf("%s: Run did not return", n.name)
	}
	n.stopped = true
	return err
}

// settle waits until every runner has handled everything and waits for a
// timer or an input.
func (l *lab) settle() { synctest.Wait() }

// runUntil lets time run to end.
func (l *lab) runUntil(end time.Time) {
	time.Sleep(time.Until(end))
	synctest.Wait()
}

func (l *lab) runFor(d time.Duration) { l.runUntil(time.Now().Add(d)) }

// update calls Update on node n's Runner and lets the lab settle.
func (n *node) update(insts []InstanceConfig, groups []SyncGroupConfig) (UpdateResult, error) {
	n.lab.t.Helper()
	res, err := n.r.Update(context.Background(), insts, groups)
	n.lab.settle()
	return res, err
}

// inst returns the snapshot of instance name on node n.
func (n *node) inst(name string) InstanceStats {
	n.lab.t.Helper()
	for _, is := range n.r.Snapshot().Instances {
		if is.Name == name {
			return is
		}
	}
	n.lab.t.Fatalf("%s: no instance %s", n.name, name)
	return InstanceStats{}
}

// ---- network ----

type fakeNet struct {
	lab   *lab
	mu    sync.Mutex
	conns []*fakeConn
	// tamper, if set, may modify or drop (return false) a packet before
	// delivery to conn to.
	tamper func(from, to *fakeConn, p *vrrpsock.Packet) bool
	sent   []sentPacket
}

type sentPacket struct {
	at      time.Time
	from    string // node
	dst     netip.Addr
	payload []byte
}

type fakeConns struct {
	n       *node
	fail    string // interface whose sockets cannot be opened
	mu      sync.Mutex
	missing map[string]bool // interfaces that do not exist
}

func (f *fakeConns) setMissing(iface string, missing bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.missing[iface] = missing
}

func (f *fakeConns) Open(cfg vrrpsock.Config) (Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Interface == f.fail {
		return nil, fmt.Errorf("fake open %s: %w", cfg.Interface, errFake)
	}
	f.mu.Lock()
	missing := f.missing[cfg.Interface]
	f.mu.Unlock()
	if missing {
		return nil, fmt.Errorf("fake open %s: %w", cfg.Interface, vrrpsock.ErrNoInterface)
	}
	c := &fakeConn{net: f.n.lab.net, n: f.n, cfg: cfg, q: make(chan vrrpsock.Packet, 1024), closedC: make(chan struct{})}
	c.src = cfg.Src
	if !c.src.IsValid() {
		c.src = f.n.addr4
		if cfg.IPv6 {
			c.src = f.n.addr6
		}
	}
	if len(cfg.Peers) == 0 {
		c.group = cfg.Group
		if !c.group.IsValid() {
			c.group = vrrpsock.DefaultGroup4
			if cfg.IPv6 {
				c.group = vrrpsock.DefaultGroup6
			}
		}
		c.dsts = []netip.Addr{c.group}
	} else {
		c.dsts = slices.Clone(cfg.Peers)
	}
	c.net.mu.Lock()
	c.net.conns = append(c.net.conns, c)
	c.net.mu.Unlock()
	return c, nil
}

type fakeConn struct {
	net   *fakeNet
	n     *node
	cfg   vrrpsock.Config
	src   netip.Addr
	group netip.Addr // zero in unicast mode
	dsts  []netip.Addr

	mu      sync.Mutex
	closed  bool
	q       chan vrrpsock.Packet
	closedC chan struct{}
}

var _ Conn = (*fakeConn)(nil)

func (c *fakeConn) SrcAddr() netip.Addr        { return c.src }
func (c *fakeConn) Destinations() []netip.Addr { return slices.Clone(c.dsts) }

func (c *fakeConn) Send(payload []byte, dst netip.Addr) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return net.ErrClosed
	}
	nt := c.net
	nt.mu.Lock()
	nt.sent = append(nt.sent, sentPacket{at: time.Now(), from: c.n.name, dst: dst, payload: slices.Clone(payload)})
	conns := slices.Clone(nt.conns)
	tamper := nt.tamper
	nt.mu.Unlock()
	for _, to := range conns {
		if to == c || to.cfg.Interface != c.cfg.Interface || to.cfg.IPv6 != c.cfg.IPv6 {
			continue
		}
		if dst.IsMulticast() && to.group != dst || !dst.IsMulticast() && to.src != dst {
			continue
		}
		ttl := vrrp.TTL
		if !dst.IsMulticast() && c.cfg.UnicastTTL != 0 {
			ttl = c.cfg.UnicastTTL
		}
		p := vrrpsock.Packet{Payload: slices.Clone(payload), Src: c.src, Dst: dst, TTL: ttl, IfIndex: 1}
		if tamper != nil && !tamper(c, to, &p) {
			continue
		}
		to.deliver(p)
	}
	return nil
}

func (c *fakeConn) deliver(p vrrpsock.Packet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.q <- p
}

func (c *fakeConn) Recv(buf []byte) (vrrpsock.Packet, error) {
	select {
	case p := <-c.q:
		p.Payload = buf[:copy(buf, p.Payload)]
		return p, nil
	case <-c.closedC:
		return vrrpsock.Packet{}, fmt.Errorf("fake recv: %w", net.ErrClosed)
	}
}

func (c *fakeConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	close(c.closedC)
	nt := c.net
	nt.mu.Lock()
	nt.conns = slices.DeleteFunc(nt.conns, func(x *fakeConn) bool { return x == c })
	nt.mu.Unlock()
	return nil
}

// inject delivers a raw packet to node n's sockets on iface, as if sent by src.
func (l *lab) inject(n *node, iface string, p vrrpsock.Packet) {
	l.net.mu.Lock()
	conns := slices.Clone(l.net.conns)
	l.net.mu.Unlock()
	for _, c := range conns {
		if c.n == n && c.cfg.Interface == iface && c.cfg.IPv6 == p.Src.Is6() {
			c.deliver(p)
		}
	}
}

// sentBy lists the adverts node sent (decoded without instance checks).
func (l *lab) sentBy(node string) []sentPacket {
	l.net.mu.Lock()
	defer l.net.mu.Unlock()
	var out []sentPacket
	for _, s := range l.net.sent {
		if s.from == node {
			out = append(out, s)
		}
	}
	return out
}

// ---- VIPs ----

type fakeVIPs struct {
	mu      sync.Mutex
	present map[string]bool // "prefix dev"
	ops     []string
	failAdd error
	block   chan struct{} // if set, Add waits until it is closed
}

var _ VIPManager = (*fakeVIPs)(nil)

func vipKey(a vip.Address) string { return a.Prefix.String() + " " + a.Dev }

func (f *fakeVIPs) Add(a vip.Address) error {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, "add "+vipKey(a))
	if f.failAdd != nil {
		return f.failAdd
	}
	f.present[vipKey(a)] = true
	return nil
}

func (f *fakeVIPs) Remove(a vip.Address) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, "remove "+vipKey(a))
	delete(f.present, vipKey(a))
	return nil
}

// The fake VIPs also hold the routes and rules ("route R", "rule R"), so
// that ops shows the order of everything.
var _ RouteManager = (*fakeVIPs)(nil)

func (f *fakeVIPs) op(op, key string, add bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, op+" "+key)
	if add {
		f.present[key] = true
	} else {
		delete(f.present, key)
	}
	return nil
}

func (f *fakeVIPs) AddRoute(r iproute.Route) error { return f.op("add", "route "+r.String(), true) }
func (f *fakeVIPs) RemoveRoute(r iproute.Route) error {
	return f.op("remove", "route "+r.String(), false)
}
func (f *fakeVIPs) AddRule(r iproute.Rule) error    { return f.op("add", "rule "+r.String(), true) }
func (f *fakeVIPs) RemoveRule(r iproute.Rule) error { return f.op("remove", "rule "+r.String(), false) }

// opsSince returns the operations from index i on.
func (f *fakeVIPs) opsSince(i int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ops[i:])
}

// list returns the present VIPs, sorted.
func (f *fakeVIPs) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.present {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ---- GARP ----

type fakeAnnouncer struct {
	mu    sync.Mutex
	sent  []garp.Announcement
	delay time.Duration // each Send takes this long (set before start)
}

var _ garp.Sender = (*fakeAnnouncer)(nil)

func (f *fakeAnnouncer) Send(a garp.Announcement) error {
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, a)
	return nil
}

func (f *fakeAnnouncer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

func (f *fakeAnnouncer) list() []garp.Announcement {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// ---- scripts ----

// fakeScripts records every script run; tracking scripts succeed unless
// ok[argv[0]] is false.
type fakeScripts struct {
	mu    sync.Mutex
	calls []script.Spec
	ok    map[string]bool
}

var _ ScriptRunner = (*fakeScripts)(nil)

func (f *fakeScripts) Run(_ context.Context, spec script.Spec) script.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, spec)
	if ok, set := f.ok[spec.Argv[0]]; set && !ok {
		return script.Result{ExitCode: 1}
	}
	return script.Result{}
}

func (f *fakeScripts) set(argv0 string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ok[argv0] = ok
}

// argvs returns the argv of every run whose argv[0] is argv0, joined by spaces.
func (f *fakeScripts) argvs(argv0 string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if c.Argv[0] == argv0 {
			out = append(out, strings.Join(c.Argv, " "))
		}
	}
	return out
}

func (f *fakeScripts) spec(argv0 string) (script.Spec, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c.Argv[0] == argv0 {
			return c, true
		}
	}
	return script.Spec{}, false
}

// ---- links ----

type fakeLinks struct {
	hold   chan struct{} // if set, the first dump waits until it is closed
	mu     sync.Mutex
	state  []track.LinkEvent
	events chan track.LinkEvent
}

var _ LinkWatcher = (*fakeLinks)(nil)

func (f *fakeLinks) WatchLinks(ctx context.Context, onSync func([]track.LinkEvent), onEvent func(track.LinkEvent)) error {
	if f.hold != nil {
		select {
		case <-f.hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	dump := slices.Clone(f.state)
	f.mu.Unlock()
	onSync(dump)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-f.events:
			onEvent(ev)
		}
	}
}

// set changes a link's state and reports it to the runner.
func (f *fakeLinks) set(name string, up bool) {
	f.mu.Lock()
	var ev track.LinkEvent
	for i := range f.state {
		if f.state[i].Name == name {
			f.state[i].Up = up
			ev = f.state[i]
		}
	}
	f.mu.Unlock()
	if ev.Name == "" {
		panic("fakeLinks: unknown link " + name)
	}
	f.events <- ev
}

// fakeAddrs is an AddrWatcher: a dump of state, then events.
type fakeAddrs struct {
	state  []track.AddrEvent
	events chan track.AddrEvent
}

var _ AddrWatcher = (*fakeAddrs)(nil)

func (f *fakeAddrs) WatchAddrs(ctx context.Context, onSync func([]track.AddrEvent), onEvent func(track.AddrEvent)) error {
	onSync(slices.Clone(f.state))
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-f.events:
			onEvent(ev)
		}
	}
}

// fakeProcess records its calls ("rt N", "nice N", "lock", "slice D").
type fakeProcess struct {
	mu       sync.Mutex
	calls    []string
	sliceErr error // SetSlice's result
}

func (f *fakeProcess) call(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
	return nil
}

func (f *fakeProcess) SetRealtime(p int) error { return f.call(fmt.Sprint("rt ", p)) }
func (f *fakeProcess) SetNice(n int) error     { return f.call(fmt.Sprint("nice ", n)) }
func (f *fakeProcess) LockMemory() error       { return f.call("lock") }
func (f *fakeProcess) SetSlice(d time.Duration) error {
	_ = f.call(fmt.Sprint("slice ", d))
	return f.sliceErr
}

func (f *fakeProcess) get() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// fakeSettings is an IfaceSettings: promote_secondaries per interface.
type fakeSettings struct {
	mu      sync.Mutex
	promote map[string]bool
}

func (f *fakeSettings) PromoteSecondaries(iface string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.promote[iface], nil
}

func (f *fakeSettings) SetPromoteSecondaries(iface string, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.promote[iface] = on
	return nil
}

func (f *fakeSettings) get(iface string) bool {
	on, _ := f.PromoteSecondaries(iface)
	return on
}

var errFake = errors.New("fake failure")

// fakeFiles is a FileSystem in memory; a path in noDir cannot be written.
type fakeFiles struct {
	mu     sync.Mutex
	files  map[string]string
	noDir  map[string]bool
	writes []string
}

func newFakeFiles() *fakeFiles {
	return &fakeFiles{files: map[string]string{}, noDir: map[string]bool{}}
}

func (f *fakeFiles) ReadFile(path string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.files[path]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	return []byte(s), nil
}

func (f *fakeFiles) WriteFile(path string, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noDir[path] {
		return &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	f.files[path] = string(data)
	f.writes = append(f.writes, path+"="+string(data))
	return nil
}

func (f *fakeFiles) set(path, data string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[path] = data
}

func (f *fakeFiles) remove(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.files, path)
}

func (f *fakeFiles) get(path string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.files[path]
	return s, ok
}

// fakeProcs is a ProcessLister whose processes the test sets.
type fakeProcs struct {
	mu    sync.Mutex
	procs []track.ProcInfo
	calls int
}

func (f *fakeProcs) Processes() ([]track.ProcInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return slices.Clone(f.procs), nil
}

// set makes the listing n processes with argv.
func (f *fakeProcs) set(n int, argv ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.procs = nil
	var cmd []byte
	for _, a := range argv {
		cmd = append(append(cmd, a...), 0)
	}
	for range n {
		f.procs = append(f.procs, track.ProcInfo{Comm: argv[0], Cmdline: cmd})
	}
	f.procs = append(f.procs, track.ProcInfo{Comm: "init", Cmdline: []byte("/sbin/init\x00")})
}

package integration

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// impl is a VRRP implementation that can run as a director in a lab. Every drill is
// written against [director] and runs for each implementation and for mixed pairs.
type impl string

const (
	implKeepalived impl = "keepalived"
	implLVSHA      impl = "lvs-ha"
)

// keepalivedBin is Debian's keepalived, the reference implementation.
const keepalivedBin = "/usr/sbin/keepalived"

// requireImpls skips the test unless every implementation in impls can run.
func requireImpls(t testing.TB, impls ...impl) {
	t.Helper()
	for _, im := range impls {
		switch im {
		case implKeepalived:
			if _, err := os.Stat(keepalivedBin); err != nil {
				t.Skipf("keepalived not installed: %v", err)
			}
		}
	}
}

// Timeouts of the drills: generous deadlines for events, never durations asserted.
const (
	startTimeout = 30 * time.Second // process up and its instance in a state
	eventTimeout = 20 * time.Second // a transition that the drill expects
	exitTimeout  = 10 * time.Second // exit after SIGTERM / SIGKILL
)

// vrrpInst is one vrrp_instance of a director's keepalived.conf. Both
// implementations read the same text.
type vrrpInst struct {
	Name         string        // default VI_1
	Version      int           // 2 or 3 (default 3)
	VRID         int           // default 51
	AdvertInt    time.Duration // default 100ms for v3, 1s for v2
	Priority     int           // default 100
	State        string        // default BACKUP
	NoPreempt    bool          //
	PreemptDelay time.Duration // 0: none
	UnicastSrc   netip.Addr    // with UnicastPeers: unicast mode
	UnicastPeers []netip.Addr  //
	TrackScript  string        // name of a vrrp_script in the same config
	VIPs         []netip.Prefix
	ExcludedVIPs []netip.Prefix // virtual_ipaddress_excluded (not advertised)
	IfName       string         // default: the config's
	PeerOpts     string         // appended to every unicast_peer line (min_ttl N ...)
	Extra        []string       // more lines of the vrrp_instance block
}

// vrrpScript is a vrrp_script block.
type vrrpScript struct {
	Name     string
	Path     string
	Interval time.Duration
	Weight   int
}

// vrrpConfig is a whole keepalived.conf for one director.
type vrrpConfig struct {
	RouterID    string
	IfName      string
	GlobalExtra []string // more lines of global_defs
	Extra       []string // more top-level lines (static_routes { ... })
	Scripts     []vrrpScript
	Instances   []vrrpInst
}

func (i vrrpInst) withDefaults() vrrpInst {
	if i.Name == "" {
		i.Name = "VI_1"
	}
	if i.Version == 0 {
		i.Version = 3
	}
	if i.VRID == 0 {
		i.VRID = 51
	}
	if i.AdvertInt == 0 {
		i.AdvertInt = 100 * time.Millisecond
		if i.Version == 2 {
			i.AdvertInt = time.Second
		}
	}
	if i.Priority == 0 {
		i.Priority = 100
	}
	if i.State == "" {
		i.State = "BACKUP"
	}
	return i
}

// skew is the VRRP Skew_Time of the instance: (256-priority)/256 s for v2, times
// the advert interval (in s) for v3, as keepalived computes it.
func (i vrrpInst) skew() time.Duration {
	i = i.withDefaults()
	if i.Version == 2 {
		return time.Duration(256-i.Priority) * time.Second / 256
	}
	return time.Duration(256-i.Priority) * i.AdvertInt / 256
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// String renders the configuration in keepalived.conf syntax.
func (c vrrpConfig) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "! written by the lvs-ha integration tests\nglobal_defs {\n    router_id %s\n    script_user root\n", c.RouterID)
	for _, l := range c.GlobalExtra {
		fmt.Fprintf(&b, "    %s\n", l)
	}
	b.WriteString("}\n")
	for _, l := range c.Extra {
		fmt.Fprintf(&b, "%s\n", l)
	}
	for _, s := range c.Scripts {
		fmt.Fprintf(&b, "\nvrrp_script %s {\n    script \"%s\"\n    interval %s\n    weight %d\n    fall 1\n    rise 1\n}\n",
			s.Name, s.Path, secs(s.Interval), s.Weight)
	}
	for _, i := range c.Instances {
		i = i.withDefaults()
		fmt.Fprintf(&b, "\nvrrp_instance %s {\n", i.Name)
		ifName := c.IfName
		if i.IfName != "" {
			ifName = i.IfName
		}
		fmt.Fprintf(&b, "    state %s\n    interface %s\n    virtual_router_id %d\n    priority %d\n", i.State, ifName, i.VRID, i.Priority)
		fmt.Fprintf(&b, "    version %d\n    advert_int %s\n", i.Version, secs(i.AdvertInt))
		if i.NoPreempt {
			b.WriteString("    nopreempt\n")
		}
		if i.PreemptDelay > 0 {
			fmt.Fprintf(&b, "    preempt_delay %s\n", secs(i.PreemptDelay))
		}
		if len(i.UnicastPeers) > 0 {
			if i.UnicastSrc.IsValid() {
				fmt.Fprintf(&b, "    unicast_src_ip %s\n", i.UnicastSrc)
			}
			b.WriteString("    unicast_peer {\n")
			for _, p := range i.UnicastPeers {
				fmt.Fprintf(&b, "        %s\n", strings.TrimSpace(p.String()+" "+i.PeerOpts))
			}
			b.WriteString("    }\n")
		}
		for _, l := range i.Extra {
			fmt.Fprintf(&b, "    %s\n", l)
		}
		if i.TrackScript != "" {
			fmt.Fprintf(&b, "    track_script {\n        %s\n    }\n", i.TrackScript)
		}
		b.WriteString("    virtual_ipaddress {\n")
		for _, v := range i.VIPs {
			fmt.Fprintf(&b, "        %s\n", v)
		}
		b.WriteString("    }\n")
		if len(i.ExcludedVIPs) > 0 {
			b.WriteString("    virtual_ipaddress_excluded {\n")
			for _, v := range i.ExcludedVIPs {
				fmt.Fprintf(&b, "        %s\n", v)
			}
			b.WriteString("    }\n")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// logLine is a line of a director's output with the time it was read from the pipe.
type logLine struct {
	At   time.Time
	Text string
}

// tsLog collects a process's output line by line, timestamped on arrival, and
// mirrors it to a file.
type tsLog struct {
	mu      sync.Mutex
	lines   []logLine
	partial []byte
	file    *os.File
}

func (l *tsLog) Write(p []byte) (int, error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		l.file.Write(p) //nolint:errcheck // best effort mirror
	}
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, logLine{At: now, Text: string(l.partial[:i])})
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

// snapshot returns the lines from index from on.
func (l *tsLog) snapshot(from int) []logLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	if from > len(l.lines) {
		from = len(l.lines)
	}
	return append([]logLine(nil), l.lines[from:]...)
}

func (l *tsLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

func (l *tsLog) String() string {
	var b strings.Builder
	for _, ln := range l.snapshot(0) {
		fmt.Fprintf(&b, "%s %s\n", ln.At.Format("15:04:05.000"), ln.Text)
	}
	return b.String()
}

// director is one VRRP implementation running on a lab node with a keepalived.conf.
// Its process may be started, stopped and killed several times in one drill; the
// log accumulates over the runs.
type director struct {
	t    testing.TB
	impl impl
	node *netlab.Node
	cfg  vrrpConfig
	dir  string // config, pid files
	log  *tsLog
	proc *netlab.Proc
	runs int
	env  []string // added to the process's environment (NAME=value)
}

// newDirector prepares (does not start) impl on node with cfg. IfName and RouterID
// are filled in from the node.
func newDirector(t testing.TB, im impl, node *netlab.Node, cfg vrrpConfig) *director {
	t.Helper()
	if cfg.IfName == "" {
		cfg.IfName = node.IfName()
	}
	if cfg.RouterID == "" {
		cfg.RouterID = node.Name()
	}
	d := &director{t: t, impl: im, node: node, cfg: cfg, dir: t.TempDir(), log: &tsLog{}}
	logDir := d.dir
	if base := os.Getenv("LVSHA_TEST_LOGDIR"); base != "" {
		logDir = filepath.Join(base, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(logDir, fmt.Sprintf("%s-%s.log", node.Name(), im)))
	if err != nil {
		t.Fatal(err)
	}
	d.log.file = f
	t.Cleanup(func() {
		d.kill()
		d.log.mu.Lock()
		f.Close()
		d.log.file = nil
		d.log.mu.Unlock()
		if t.Failed() {
			t.Logf("log of %s on %s (%s):\n%s", im, node.Name(), f.Name(), tail(d.log.String(), 6000))
		}
	})
	return d
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "...\n" + s
}

func (d *director) String() string { return fmt.Sprintf("%s(%s)", d.node.Name(), d.impl) }

// inst returns the director's first instance with defaults applied.
func (d *director) inst() vrrpInst { return d.cfg.Instances[0].withDefaults() }

// vips returns the VIPs of all instances.
func (d *director) vips() []netip.Addr {
	var out []netip.Addr
	for _, i := range d.cfg.Instances {
		for _, v := range i.VIPs {
			out = append(out, v.Addr())
		}
	}
	return out
}

// running reports whether the director's process is alive.
func (d *director) running() bool {
	if d.proc == nil {
		return false
	}
	select {
	case <-d.proc.Done():
		return false
	default:
		return true
	}
}

// start writes the configuration and starts the process; it returns once the
// process has logged the first state of every instance (it is then listening).
func (d *director) start() {
	d.t.Helper()
	if d.running() {
		d.t.Fatalf("%v: already running", d)
	}
	d.runs++
	cfgPath := filepath.Join(d.dir, "keepalived.conf")
	if err := os.WriteFile(cfgPath, []byte(d.cfg.String()), 0o644); err != nil {
		d.t.Fatal(err)
	}
	var name string
	var args []string
	switch d.impl {
	case implKeepalived:
		run := filepath.Join(d.dir, fmt.Sprintf("run%d", d.runs))
		name = keepalivedBin
		args = []string{"-n", "-l", "-G", "-D", "-P", "-f", cfgPath,
			"-p", run + ".pid", "-r", run + "-vrrp.pid", "-c", run + "-checkers.pid"}
	case implLVSHA:
		name = lvshaBin(d.t)
		args = []string{"run", "-f", cfgPath, "-log-level", "info"}
	default:
		d.t.Fatalf("unknown implementation %q", d.impl)
	}
	mark := d.log.len()
	fmt.Fprintf(d.log, "=== run %d: %s %s\n", d.runs, name, strings.Join(args, " "))
	cmd := d.node.Command(name, args...)
	cmd.Stdout, cmd.Stderr = d.log, d.log
	if len(d.env) > 0 {
		cmd.Env = append(os.Environ(), d.env...)
	}
	cmd.WaitDelay = 2 * time.Second
	d.proc = d.node.StartCmd(cmd)
	for _, in := range d.cfg.Instances {
		in = in.withDefaults()
		if _, err := d.waitState(in.Name, "", mark, startTimeout); err != nil {
			d.t.Fatalf("%v: start: %v", d, err)
		}
	}
}

// stop sends SIGTERM, returning the time just before it was sent, and waits for
// exit status 0.
func (d *director) stop() time.Time {
	d.t.Helper()
	at := time.Now()
	if err := d.proc.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatalf("%v: SIGTERM: %v", d, err)
	}
	if err := d.proc.Wait(exitTimeout); err != nil {
		d.t.Fatalf("%v: exit after SIGTERM: %v", d, err)
	}
	return at
}

// crash SIGKILLs the process group (keepalived's parent and VRRP child alike: the
// child would otherwise see its parent die and shut down cleanly), returning the
// time just before the signal, and waits for the exit.
func (d *director) crash() time.Time {
	d.t.Helper()
	at := time.Now()
	if !d.running() {
		d.t.Fatalf("%v: not running", d)
	}
	if err := syscall.Kill(-d.proc.Pid(), syscall.SIGKILL); err != nil {
		d.t.Fatalf("%v: SIGKILL: %v", d, err)
	}
	select {
	case <-d.proc.Done():
	case <-time.After(exitTimeout):
		d.t.Fatalf("%v: still running %v after SIGKILL", d, exitTimeout)
	}
	return at
}

// kill is crash for cleanups: no failure if the process is gone.
func (d *director) kill() {
	if d.running() {
		_ = syscall.Kill(-d.proc.Pid(), syscall.SIGKILL)
		select {
		case <-d.proc.Done():
		case <-time.After(exitTimeout):
		}
	}
}

// dropVIPs removes VIPs a crashed process left on the interface, as a reboot would.
func (d *director) dropVIPs() {
	d.t.Helper()
	h := d.node.Handle()
	link, err := h.LinkByName(d.node.IfName())
	if err != nil {
		d.t.Fatal(err)
	}
	for _, v := range d.vips() {
		if ok, _ := d.node.HasAddr(v); !ok {
			continue
		}
		bits := 24
		for _, in := range d.cfg.Instances {
			for _, p := range in.VIPs {
				if p.Addr() == v {
					bits = p.Bits()
				}
			}
		}
		a := &netlink.Addr{IPNet: &net.IPNet{IP: v.AsSlice(), Mask: net.CIDRMask(bits, v.BitLen())}}
		if err := h.AddrDel(link, a); err != nil {
			d.t.Fatalf("%v: remove leftover VIP %v: %v", d, v, err)
		}
	}
}

// hasVIP reports whether every VIP of the director's first instance is on its
// interface.
func (d *director) hasVIP() bool {
	for _, v := range d.inst().VIPs {
		ok, err := d.node.HasAddr(v.Addr())
		if err != nil || !ok {
			return false
		}
	}
	return true
}

// anyVIP reports whether any VIP of the first instance is on the interface.
func (d *director) anyVIP() bool {
	for _, v := range d.inst().VIPs {
		if ok, _ := d.node.HasAddr(v.Addr()); ok {
			return true
		}
	}
	return false
}

// mark returns a position in the log: waitState looks at lines after it.
func (d *director) mark() int { return d.log.len() }

var (
	kaStateRE = regexp.MustCompile(`\(([^)]+)\) Entering ([A-Z]+) STATE`)
	lhInstRE  = regexp.MustCompile(`\binstance="?([^" ]+)"?`)
	lhToRE    = regexp.MustCompile(`\bto="?([A-Z]+)"?`)
	lhTimeRE  = regexp.MustCompile(`^time=("?)([^" ]+)`)
)

// stateOf parses a state transition line of impl: instance name and new state.
func stateOf(im impl, line string) (inst, state string, ok bool) {
	switch im {
	case implKeepalived:
		m := kaStateRE.FindStringSubmatch(line)
		if m == nil {
			return "", "", false
		}
		return m[1], m[2], true
	case implLVSHA:
		// `level=INFO msg="vrrp transition" instance=VI_1 from=BACKUP to=MASTER ...`;
		// matched loosely on the fields, not on the message.
		if !strings.Contains(line, "from=") {
			return "", "", false
		}
		mi, mt := lhInstRE.FindStringSubmatch(line), lhToRE.FindStringSubmatch(line)
		if mi == nil || mt == nil {
			return "", "", false
		}
		return mi[1], mt[1], true
	}
	return "", "", false
}

// lineTime is when a log line was written: slog's time= field for lvs-ha (the
// daemon's own clock reading), the pipe arrival time otherwise.
func lineTime(im impl, ln logLine) time.Time {
	if im == implLVSHA {
		if m := lhTimeRE.FindStringSubmatch(ln.Text); m != nil {
			if ts, err := time.Parse(time.RFC3339Nano, m[2]); err == nil {
				return ts
			}
		}
	}
	return ln.At
}

// waitState waits for a log line after mark saying that instance entered state
// ("" for any state) and returns it.
func (d *director) waitState(instance, state string, mark int, timeout time.Duration) (logLine, error) {
	var found logLine
	err := netlab.WaitFor(timeout, func() (bool, error) {
		for _, ln := range d.log.snapshot(mark) {
			in, st, ok := stateOf(d.impl, ln.Text)
			if ok && in == instance && (state == "" || st == state) {
				found = ln
				return true, nil
			}
		}
		if d.proc != nil && !d.running() {
			return false, fmt.Errorf("%v exited (%v)", d, d.proc.Wait(0))
		}
		return false, nil
	}, func() string {
		return fmt.Sprintf("%v: %s to enter state %q", d, instance, state)
	})
	return found, err
}

// mustState is waitState for the first instance, failing the test on timeout.
func (d *director) mustState(state string, mark int) logLine {
	d.t.Helper()
	ln, err := d.waitState(d.inst().Name, state, mark, eventTimeout)
	if err != nil {
		d.t.Fatal(err)
	}
	return ln
}

// states returns the sequence of states the first instance entered after mark.
func (d *director) states(mark int) []string {
	var out []string
	for _, ln := range d.log.snapshot(mark) {
		if in, st, ok := stateOf(d.impl, ln.Text); ok && in == d.inst().Name {
			out = append(out, st)
		}
	}
	return out
}

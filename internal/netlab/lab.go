package netlab

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Defaults for [Options].
var (
	DefaultSubnet4 = netip.MustParsePrefix("192.0.2.0/24")
	DefaultSubnet6 = netip.MustParsePrefix("2001:db8::/64")
)

const (
	defaultIfName = "eth0"
	bridgeName    = "br0"
	switchSuffix  = "switch"
	// procStopTimeout bounds how long teardown waits for a SIGKILLed process.
	procStopTimeout = 10 * time.Second
)

// Options configures a [Lab]. The zero value is usable.
type Options struct {
	// Subnet4 and Subnet6 are the segment's subnets, used for addresses given without
	// a prefix length and for automatic addresses. Defaults: 192.0.2.0/24, 2001:db8::/64.
	Subnet4, Subnet6 netip.Prefix
	// IfName is the node-side interface name. Default: eth0.
	IfName string
	// LogDir receives the logs of processes started with [Node.Start]. Default:
	// $LVSHA_TEST_LOGDIR/<test name> when that variable is set (kept after the run),
	// otherwise a directory from t.TempDir.
	LogDir string
}

// Lab is one virtual Ethernet segment: a bridge (br0, no addresses, IPv6 disabled,
// multicast snooping off so that VRRP multicast is flooded) in a switch namespace,
// plus the nodes attached to it. All plumbing uses netlink from Go, so neither
// iproute2 nor `ip netns exec` is needed (the VM tier has busybox only). Namespaces
// are named "lh<pid>-<rand>-<node>" and bind-mounted under /run/netns, so that
// humans can inspect a running lab with `ip netns exec` and [Sweep] can remove what
// a test binary that died left behind. Its methods that take no error return call t.Fatal (on the t given
// to New) on failure and must be called from that test's goroutine; a subtest using a
// parent's lab should prefer the methods returning errors.
type Lab struct {
	t      testing.TB
	opts   Options
	prefix string // "lh<pid>-<rand>", prefix of every namespace name
	logDir string

	sw      *namespace
	brIndex int

	mu     sync.Mutex
	closed bool
	nodes  []*Node
	procs  []*Proc
	logSeq map[string]int
}

// New builds an empty lab (switch namespace and bridge) and registers its teardown
// with t.Cleanup, which runs even when the test fails ([Main] adds a SIGINT/SIGTERM
// handler that tears down every live lab). It skips the test when not running as root (see [netns.RequireRoot]).
// The first call in a process also runs [Sweep].
func New(t testing.TB, opts Options) *Lab {
	t.Helper()
	netns.RequireRoot(t)
	if err := opts.fill(); err != nil {
		t.Fatalf("netlab: %v", err)
	}
	sweepOnce.Do(func() {
		removed, err := Sweep()
		if err != nil {
			t.Logf("netlab: sweep: %v", err)
		}
		if len(removed) > 0 {
			t.Logf("netlab: removed stale namespaces %v", removed)
		}
	})
	l := &Lab{t: t, opts: opts, logSeq: map[string]int{}}
	var err error
	if l.logDir, err = logDir(t, opts.LogDir); err != nil {
		t.Fatalf("netlab: %v", err)
	}
	// Registered after t.TempDir (in logDir) so that it runs before the log directory
	// is removed: cleanups run last-in first-out.
	t.Cleanup(func() { l.teardown(t.Errorf, t.Failed()) })
	register(l)

	for try := 0; ; try++ {
		l.prefix = fmt.Sprintf("lh%d-%04x", os.Getpid(), rand.N(0x10000))
		l.sw, err = createNamed(l.prefix + "-" + switchSuffix)
		if err == nil || !errors.Is(err, os.ErrExist) || try == 3 {
			break
		}
	}
	if err != nil {
		t.Fatalf("netlab: %v", err)
	}
	if err := l.setupSwitch(); err != nil {
		t.Fatalf("netlab: switch %s: %v", l.sw.name, err)
	}
	return l
}

func (o *Options) fill() error {
	if !o.Subnet4.IsValid() {
		o.Subnet4 = DefaultSubnet4
	}
	if !o.Subnet6.IsValid() {
		o.Subnet6 = DefaultSubnet6
	}
	if !o.Subnet4.Addr().Is4() || !o.Subnet6.Addr().Is6() || o.Subnet6.Addr().Is4In6() {
		return fmt.Errorf("options: Subnet4 %v must be IPv4 and Subnet6 %v IPv6", o.Subnet4, o.Subnet6)
	}
	o.Subnet4, o.Subnet6 = o.Subnet4.Masked(), o.Subnet6.Masked()
	if o.IfName == "" {
		o.IfName = defaultIfName
	}
	if len(o.IfName) > unix.IFNAMSIZ-1 || o.IfName == "lo" {
		return fmt.Errorf("options: bad interface name %q", o.IfName)
	}
	return nil
}

func logDir(t testing.TB, dir string) (string, error) {
	if dir == "" {
		if base := os.Getenv("LVSHA_TEST_LOGDIR"); base != "" {
			name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
			dir = filepath.Join(base, name)
		}
	}
	if dir == "" {
		return t.TempDir(), nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("log dir: %w", err)
	}
	return dir, nil
}

func (l *Lab) setupSwitch() error {
	err := l.sw.Do(func() error {
		if !ipv6Available() {
			return nil
		}
		// No IPv6 on bridge and ports: keeps the segment free of the switch's own
		// router solicitations and MLD reports.
		for _, k := range []string{"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"} {
			if err := netns.WriteSysctl(k, "1"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	off := false
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeName}, MulticastSnooping: &off}
	if err := l.sw.nl.LinkAdd(br); err != nil {
		return fmt.Errorf("add bridge: %w", err)
	}
	if err := l.sw.nl.LinkSetUp(br); err != nil {
		return fmt.Errorf("bridge up: %w", err)
	}
	l.brIndex = br.Attrs().Index
	return nil
}

// Name returns the lab's namespace name prefix, "lh<pid>-<rand>".
func (l *Lab) Name() string { return l.prefix }

// Subnet4 returns the lab's IPv4 subnet.
func (l *Lab) Subnet4() netip.Prefix { return l.opts.Subnet4 }

// Subnet6 returns the lab's IPv6 subnet.
func (l *Lab) Subnet6() netip.Prefix { return l.opts.Subnet6 }

// Host4 returns the i-th address of the IPv4 subnet (Host4(1) is 192.0.2.1 by default).
func (l *Lab) Host4(i int) netip.Addr {
	l.t.Helper()
	a, err := hostAddr(l.opts.Subnet4, i)
	if err != nil {
		l.t.Fatalf("netlab: %v", err)
	}
	return a
}

// Host6 returns the i-th address of the IPv6 subnet (Host6(1) is 2001:db8::1 by default).
func (l *Lab) Host6(i int) netip.Addr {
	l.t.Helper()
	a, err := hostAddr(l.opts.Subnet6, i)
	if err != nil {
		l.t.Fatalf("netlab: %v", err)
	}
	return a
}

func hostAddr(p netip.Prefix, i int) (netip.Addr, error) {
	b := p.Addr().AsSlice()
	carry := uint64(i)
	for k := len(b) - 1; k >= 0 && carry > 0; k-- {
		s := uint64(b[k]) + carry&0xff
		b[k] = byte(s)
		carry = carry>>8 + s>>8
	}
	a, _ := netip.AddrFromSlice(b)
	if i < 0 || carry > 0 || !p.Contains(a) {
		return netip.Addr{}, fmt.Errorf("host %d is outside %v", i, p)
	}
	return a, nil
}

// SwitchHandle returns a netlink handle inside the switch namespace (bridge br0 and
// one port per node). It is closed at teardown.
func (l *Lab) SwitchHandle() *netlink.Handle { return l.sw.nl }

var nodeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)

// AddNode creates a namespace joined to the bridge by a veth pair and returns it. Each
// address is a CIDR ("192.0.2.10/24", "2001:db8::10/64") or a bare address inside one
// of the lab's subnets, which then takes that subnet's prefix length. Without
// addresses the node gets Host4(10+i) and Host6(10+i), i being its 1-based index.
func (l *Lab) AddNode(name string, addrs ...string) *Node {
	l.t.Helper()
	n, err := l.addNode(name, addrs)
	if err != nil {
		l.t.Fatalf("netlab: node %q: %v", name, err)
	}
	return n
}

func (l *Lab) addNode(name string, addrs []string) (*Node, error) {
	if !nodeName.MatchString(name) || name == switchSuffix {
		return nil, fmt.Errorf("bad node name (want [A-Za-z0-9][A-Za-z0-9_.-]{0,31}, not %q)", switchSuffix)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errors.New("lab is closed")
	}
	for _, o := range l.nodes {
		if o.name == name {
			l.mu.Unlock()
			return nil, errors.New("duplicate node name")
		}
	}
	idx := len(l.nodes) + 1
	l.mu.Unlock()
	if idx > 0xffff {
		return nil, errors.New("too many nodes")
	}

	prefixes, err := l.parseAddrs(addrs, idx)
	if err != nil {
		return nil, err
	}
	ns, err := createNamed(l.prefix + "-" + name)
	if err != nil {
		return nil, err
	}
	n := &Node{
		lab:    l,
		name:   name,
		ns:     ns,
		ifName: l.opts.IfName,
		port:   portName(idx, name),
		mac:    net.HardwareAddr{0x02, 0x6c, 0x68, 0x00, byte(idx >> 8), byte(idx)},
		addrs:  prefixes,
	}
	l.mu.Lock()
	l.nodes = append(l.nodes, n) // from here on teardown removes it
	l.mu.Unlock()
	return n, n.setup(idx)
}

func (l *Lab) parseAddrs(addrs []string, idx int) ([]netip.Prefix, error) {
	if len(addrs) == 0 {
		a4, err := hostAddr(l.opts.Subnet4, 10+idx)
		if err != nil {
			return nil, err
		}
		a6, err := hostAddr(l.opts.Subnet6, 10+idx)
		if err != nil {
			return nil, err
		}
		return []netip.Prefix{
			netip.PrefixFrom(a4, l.opts.Subnet4.Bits()),
			netip.PrefixFrom(a6, l.opts.Subnet6.Bits()),
		}, nil
	}
	var out []netip.Prefix
	for _, s := range addrs {
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("address %q: %w", s, err)
			}
			out = append(out, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()))
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("address %q: %w", s, err)
		}
		a = a.Unmap()
		switch {
		case l.opts.Subnet4.Contains(a):
			out = append(out, netip.PrefixFrom(a, l.opts.Subnet4.Bits()))
		case l.opts.Subnet6.Contains(a):
			out = append(out, netip.PrefixFrom(a, l.opts.Subnet6.Bits()))
		default:
			return nil, fmt.Errorf("address %q has no prefix length and is outside %v and %v", s, l.opts.Subnet4, l.opts.Subnet6)
		}
	}
	return out, nil
}

// portName is the bridge-side veth name: unique by index, readable by node name.
func portName(idx int, node string) string {
	s := fmt.Sprintf("p%d-%s", idx, node)
	if len(s) > unix.IFNAMSIZ-1 {
		s = s[:unix.IFNAMSIZ-1]
	}
	return s
}

// Node returns the node called name, or nil.
func (l *Lab) Node(name string) *Node {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range l.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// Isolate detaches n's port from the bridge: n and the rest of the segment no longer
// hear each other, but both veth ends keep carrier, so neither side sees a link
// event (a partition, unlike [Node.LinkDown]). Undo with [Lab.Heal].
func (l *Lab) Isolate(n *Node) {
	l.t.Helper()
	if err := l.setPort(n, false); err != nil {
		l.t.Fatalf("netlab: isolate %s: %v", n.name, err)
	}
}

// Heal reattaches a port detached by [Lab.Isolate]. With STP off the port forwards at
// once.
func (l *Lab) Heal(n *Node) {
	l.t.Helper()
	if err := l.setPort(n, true); err != nil {
		l.t.Fatalf("netlab: heal %s: %v", n.name, err)
	}
}

func (l *Lab) setPort(n *Node, attached bool) error {
	link, err := l.sw.nl.LinkByName(n.port)
	if err != nil {
		return fmt.Errorf("port %s: %w", n.port, err)
	}
	if attached {
		return l.sw.nl.LinkSetMasterByIndex(link, l.brIndex)
	}
	return l.sw.nl.LinkSetNoMaster(link)
}

// Close tears the lab down now (it also happens at cleanup): kills its processes,
// deletes its namespaces and with them every link. Errors are reported with t.Errorf.
func (l *Lab) Close() { l.teardown(l.t.Errorf, false) }

func (l *Lab) teardown(report func(string, ...any), dumpLogs bool) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	nodes, procs := l.nodes, l.procs
	l.mu.Unlock()
	unregister(l)

	for _, p := range procs {
		p.kill()
	}
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(procStopTimeout):
			report("netlab: %s (pid %d) did not exit %v after SIGKILL", p.name, p.Pid(), procStopTimeout)
		}
	}
	// Anything else still inside (started with Command().Start, or daemonised).
	ids := map[nsID]bool{}
	var all []*namespace
	for _, n := range nodes {
		all = append(all, n.ns)
	}
	if l.sw != nil {
		all = append(all, l.sw)
	}
	for _, ns := range all {
		ids[ns.id] = true
	}
	killNetnsProcs(ids)
	for _, ns := range all {
		ns.close()
		if err := deleteNamed(ns.name); err != nil {
			report("netlab: delete netns %s: %v", ns.name, err)
		}
	}
	if dumpLogs {
		for _, p := range procs {
			l.t.Logf("netlab: log of %s on %s (%s):\n%s", p.name, p.node.name, p.logPath, tail(p.Log(), 8192))
		}
	}
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

// registry of live labs, for Shutdown.
var (
	sweepOnce sync.Once
	liveMu    sync.Mutex
	live      = map[*Lab]bool{}
)

func register(l *Lab) {
	liveMu.Lock()
	live[l] = true
	liveMu.Unlock()
}

func unregister(l *Lab) {
	liveMu.Lock()
	delete(live, l)
	liveMu.Unlock()
}

// Shutdown tears down every lab of this process that is still open, reporting errors
// on stderr. It is what the signal handler of [CatchSignals] runs.
func Shutdown() {
	liveMu.Lock()
	labs := make([]*Lab, 0, len(live))
	for l := range live {
		labs = append(labs, l)
	}
	liveMu.Unlock()
	for _, l := range labs {
		l.teardown(func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, format+"\n", args...)
		}, false)
	}
}

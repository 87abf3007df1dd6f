package netlab

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	vnetns "github.com/vishvananda/netns"
)

// helperEnv switches the test binary into a helper program (see TestMain).
const helperEnv = "NETLAB_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(Main(m))
	case "nsinode": // print our network namespace
		s, err := os.Readlink("/proc/self/ns/net")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(s)
		os.Exit(0)
	case "serve": // say ready, run until SIGTERM, exit 0
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		fmt.Println("ready")
		<-ch
		fmt.Println("terminating")
		os.Exit(0)
	case "sleep":
		time.Sleep(time.Hour)
		os.Exit(0)
	default:
		os.Exit(2)
	}
}

// helper returns a command running the test binary as helper mode.
func helper(cmd *exec.Cmd, mode string) *exec.Cmd {
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	return cmd
}

func self(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// wantNS is how /proc/PID/ns/net reads for the node's namespace.
func wantNS(n *Node) string { return fmt.Sprintf("net:[%d]", n.ns.id.ino) }

const waitLimit = 10 * time.Second

// listenUDP opens a UDP socket bound to a in n's namespace.
func listenUDP(t *testing.T, n *Node, a netip.Addr) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := n.Do(func() (err error) {
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", n.Name(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// exchange sends a datagram from a to b and back, retrying briefly (a link that just
// came up may drop the first frames), and reports whether it got through.
func exchange(from, to *net.UDPConn) error {
	return WaitFor(waitLimit, func() (bool, error) {
		msg := []byte(fmt.Sprintf("ping %d", time.Now().UnixNano()))
		if _, err := from.WriteToUDPAddrPort(msg, to.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
			return false, nil
		}
		buf := make([]byte, 64)
		to.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			k, src, err := to.ReadFromUDPAddrPort(buf)
			if err != nil {
				return false, nil
			}
			if bytes.Equal(buf[:k], msg) {
				_, err = to.WriteToUDPAddrPort([]byte("pong"), src)
				if err != nil {
					return false, err
				}
				break
			}
		}
		from.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		k, _, err := from.ReadFromUDPAddrPort(buf)
		return err == nil && string(buf[:k]) == "pong", nil
	}, func() string { return fmt.Sprintf("UDP %v -> %v", from.LocalAddr(), to.LocalAddr()) })
}

func TestTwoNodesTalk(t *testing.T) {
	t.Parallel()
	lab := New(t, Options{})
	a := lab.AddNode("a")
	b := lab.AddNode("b", "192.0.2.20", "2001:db8::20/64")
	for _, tc := range []struct {
		name   string
		aa, ba netip.Addr
	}{
		{"ipv4", a.Addr4(), b.Addr4()},
		{"ipv6", a.Addr6(), b.Addr6()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca, cb := listenUDP(t, a, tc.aa), listenUDP(t, b, tc.ba)
			if err := exchange(ca, cb); err != nil {
				t.Fatal(err)
			}
			if got, err := a.Neigh(tc.ba); err != nil || !bytes.Equal(got, b.MAC()) {
				t.Errorf("a.Neigh(%v) = %v, %v; want %v", tc.ba, got, err, b.MAC())
			}
			if got, err := b.Neigh(tc.aa); err != nil || !bytes.Equal(got, a.MAC()) {
				t.Errorf("b.Neigh(%v) = %v, %v; want %v", tc.aa, got, err, a.MAC())
			}
			unknown := lab.Host4(250)
			if tc.name == "ipv6" {
				unknown = lab.Host6(250)
			}
			if _, err := a.Neigh(unknown); !errors.Is(err, ErrNoNeigh) {
				t.Errorf("a.Neigh(%v) error = %v, want ErrNoNeigh", unknown, err)
			}
		})
	}
	if got, want := b.Prefixes(), []netip.Prefix{
		netip.MustParsePrefix("192.0.2.20/24"), netip.MustParsePrefix("2001:db8::20/64"),
	}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("b.Prefixes() = %v, want %v", got, want)
	}
	for _, p := range b.Prefixes() {
		if ok, err := b.HasAddr(p.Addr()); err != nil || !ok {
			t.Errorf("b.HasAddr(%v) = %v, %v", p.Addr(), ok, err)
		}
	}
	if ok, err := b.HasAddr(a.Addr4()); err != nil || ok {
		t.Errorf("b.HasAddr(%v) = %v, %v; want false", a.Addr4(), ok, err)
	}
}

func TestLinkDownAndUp(t *testing.T) {
	t.Parallel()
	lab := New(t, Options{})
	a, b := lab.AddNode("a"), lab.AddNode("b")
	for _, fam := range []string{"ipv4", "ipv6"} {
		t.Run(fam, func(t *testing.T) {
			aa, ba := a.Addr4(), b.Addr4()
			if fam == "ipv6" {
				aa, ba = a.Addr6(), b.Addr6()
			}
			ca, cb := listenUDP(t, a, aa), listenUDP(t, b, ba)
			if err := exchange(ca, cb); err != nil {
				t.Fatal(err)
			}
			a.LinkDown()
			// No route any more: sending fails locally and at once.
			_, err := ca.WriteToUDPAddrPort([]byte("x"), cb.LocalAddr().(*net.UDPAddr).AddrPort())
			if !errors.Is(err, syscall.ENETUNREACH) {
				t.Errorf("send with link down: error %v, want ENETUNREACH", err)
			}
			a.LinkUp()
			if ok, err := a.HasAddr(aa); err != nil || !ok {
				t.Errorf("address %v after LinkUp: %v, %v", aa, ok, err)
			}
			if err := exchange(ca, cb); err != nil {
				t.Fatalf("after LinkUp: %v", err)
			}
		})
	}
}

func TestIsolateAndHeal(t *testing.T) {
	t.Parallel()
	lab := New(t, Options{})
	a, b := lab.AddNode("a"), lab.AddNode("b")
	ca, cb := listenUDP(t, a, a.Addr4()), listenUDP(t, b, b.Addr4())
	if err := exchange(ca, cb); err != nil {
		t.Fatal(err)
	}
	lab.Isolate(a)
	port, err := lab.SwitchHandle().LinkByName(a.port)
	if err != nil {
		t.Fatal(err)
	}
	if port.Attrs().MasterIndex != 0 {
		t.Errorf("isolated port %s still has master %d", a.port, port.Attrs().MasterIndex)
	}
	eth, err := a.link()
	if err != nil {
		t.Fatal(err)
	}
	if eth.Attrs().RawFlags&syscall.IFF_RUNNING == 0 {
		t.Errorf("isolated node lost carrier (flags %v)", eth.Attrs().Flags)
	}
	// The one negative check: a datagram from the isolated node does not arrive
	// within a short window.
	if _, err := ca.WriteToUDPAddrPort([]byte("lost"), cb.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
		t.Fatal(err)
	}
	cb.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if k, src, err := cb.ReadFromUDPAddrPort(make([]byte, 64)); err == nil {
		t.Errorf("isolated node reached b: %d bytes from %v", k, src)
	}
	lab.Heal(a)
	if err := exchange(ca, cb); err != nil {
		t.Fatalf("after Heal: %v", err)
	}
}

func TestCommandRunsInNamespace(t *testing.T) {
	t.Parallel()
	lab := New(t, Options{})
	n := lab.AddNode("n")
	out, err := helper(n.Command(self(t)), "nsinode").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != wantNS(n) {
		t.Errorf("Command ran in %s, want %s", got, wantNS(n))
	}
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if host == wantNS(n) {
		t.Errorf("test process itself is in the node's namespace %s", host)
	}
	if err := n.Command("netlab-no-such-program").Run(); err == nil {
		t.Error("running a missing program succeeded")
	}
}

// TestForkFromDoInheritsNetns records the kernel/Go behaviour the brief asked about:
// a child forked on a thread switched into a namespace (inside Do) starts in that
// namespace. netlab itself uses the re-exec of Command, which does not depend on
// which thread starts the process.
func TestForkFromDoInheritsNetns(t *testing.T) {
	t.Parallel()
	lab := New(t, Options{})
	n := lab.AddNode("n")
	var out []byte
	err := n.Do(func() (err error) {
		out, err = helper(exec.Command(self(t)), "nsinode").Output()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != wantNS(n) {
		t.Errorf("child forked in Do runs in %s, want %s", got, wantNS(n))
	}
}

func TestStartWaitLogSignal(t *testing.T) {
	t.Parallel()
	lab := New(t, Options{})
	n := lab.AddNode("n")
	p := n.StartCmd(helper(n.Command(self(t)), "serve"))
	if err := p.WaitLog("ready", waitLimit); err != nil {
		t.Fatal(err)
	}
	if got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", p.Pid())); err != nil || got != wantNS(n) {
		t.Errorf("process namespace %q, %v; want %s", got, err, wantNS(n))
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(waitLimit); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if !strings.Contains(p.Log(), "terminating") || filepath.Dir(p.LogPath()) != lab.logDir {
		t.Errorf("log %s = %q", p.LogPath(), p.Log())
	}
	if err := p.WaitLog("never printed", waitLimit); err == nil || errors.Is(err, ErrTimeout) {
		t.Errorf("WaitLog on exited process: %v, want early non-timeout error", err)
	}
}

func TestTeardownLeavesNothing(t *testing.T) {
	t.Parallel()
	netns.RequireRoot(t)
	var (
		names []string
		ids   = map[nsID]bool{}
		procs []*Proc
		stray *exec.Cmd
	)
	ok := t.Run("lab", func(t *testing.T) {
		lab := New(t, Options{})
		for _, name := range []string{"a", "b"} {
			n := lab.AddNode(name)
			procs = append(procs, n.StartCmd(helper(n.Command(self(t)), "sleep")))
			names = append(names, n.NSName())
			ids[n.ns.id] = true
		}
		names = append(names, lab.sw.name)
		ids[lab.sw.id] = true
		// A process the lab does not track: teardown must still kill it.
		stray = helper(lab.Node("a").Command(self(t)), "sleep")
		if err := stray.Start(); err != nil {
			t.Fatal(err)
		}
	})
	if !ok {
		return
	}
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(nsRunDir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s/%s still there: %v", nsRunDir, name, err)
		}
		if h, err := vnetns.GetFromName(name); err == nil {
			h.Close()
			t.Errorf("netns.GetFromName(%s) still works", name)
		}
	}
	for _, p := range procs {
		select {
		case <-p.Done():
		default:
			t.Errorf("process %d still running", p.Pid())
		}
	}
	if err := stray.Wait(); err == nil {
		t.Error("untracked process exited 0, want killed")
	}
	if pids := pidsInNetns(ids); len(pids) > 0 {
		t.Errorf("processes still in lab namespaces: %v", pids)
	}
	// No descriptor of ours keeps a lab namespace alive.
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		target, _ := os.Readlink("/proc/self/fd/" + fd.Name())
		for id := range ids {
			if target == fmt.Sprintf("net:[%d]", id.ino) {
				t.Errorf("fd %s still refers to %s", fd.Name(), target)
			}
		}
	}
}

func TestSweep(t *testing.T) {
	t.Parallel()
	netns.RequireRoot(t)
	// A PID that is no longer alive: a child that has exited and been reaped.
	dead := helper(exec.Command(self(t)), "nsinode")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale, err := createNamed(fmt.Sprintf("lh%d-dead-x", dead.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteNamed(stale.name) })
	// A process left running inside the stale namespace.
	inside := helper(exec.Command(self(t), nsexecArg, stale.path(), self(t), "sleeper"), "sleep")
	if err := inside.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inside.Process.Kill() })
	err = WaitFor(waitLimit, func() (bool, error) {
		id, err := statNS(fmt.Sprintf("/proc/%d/ns/net", inside.Process.Pid))
		return err == nil && id == stale.id, nil
	}, func() string { return "helper to enter the stale namespace" })
	if err != nil {
		t.Fatal(err)
	}
	stale.close()
	// A live lab of this process, which Sweep must keep.
	lab := New(t, Options{})
	n := lab.AddNode("n")

	removed, err := Sweep()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, name := range removed {
		found = found || name == stale.name
		if name == n.NSName() || name == lab.sw.name {
			t.Errorf("Sweep removed live namespace %s", name)
		}
	}
	if !found {
		t.Errorf("Sweep removed %v, want %s among them", removed, stale.name)
	}
	if _, err := os.Stat(stale.path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there: %v", stale.path(), err)
	}
	var ee *exec.ExitError
	if err := inside.Wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("process in stale namespace: %v, want killed", err)
	}
	if _, err := os.Stat(n.NSPath()); err != nil {
		t.Errorf("live namespace gone: %v", err)
	}
}

func TestCreatorPID(t *testing.T) {
	for _, tc := range []struct {
		name string
		pid  int
		ok   bool
	}{
		{"lh123-abcd-switch", 123, true},
		{"lh4194304-0001-a", 4194304, true},
		{"lh-1-x", 0, false},
		{"lh0123-x", 0, false},
		{"lh12", 0, false},
		{"other", 0, false},
		{"lhx1-a", 0, false},
	} {
		pid, ok := creatorPID(tc.name)
		if pid != tc.pid || ok != tc.ok {
			t.Errorf("creatorPID(%q) = %d, %v; want %d, %v", tc.name, pid, ok, tc.pid, tc.ok)
		}
	}
}

func TestHostAddr(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		i      int
		want   string // "" means error
	}{
		{"192.0.2.0/24", 1, "192.0.2.1"},
		{"192.0.2.0/24", 255, "192.0.2.255"},
		{"192.0.2.0/24", 256, ""},
		{"192.0.2.0/24", -1, ""},
		{"198.51.100.0/23", 300, "198.51.101.44"},
		{"2001:db8::/64", 0x1234, "2001:db8::1234"},
		{"2001:db8::/64", 1 << 40, "2001:db8::100:0:0"},
		{"2001:db8::/120", 256, ""},
	} {
		got, err := hostAddr(netip.MustParsePrefix(tc.prefix), tc.i)
		if tc.want == "" {
			if err == nil {
				t.Errorf("hostAddr(%s, %d) = %v, want error", tc.prefix, tc.i, got)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("hostAddr(%s, %d) = %v, %v; want %s", tc.prefix, tc.i, got, err, tc.want)
		}
	}
}

func TestParseAddrs(t *testing.T) {
	l := &Lab{opts: Options{}}
	if err := l.opts.fill(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   []string
		want string // fmt of result, or "error"
	}{
		{nil, "[192.0.2.13/24 2001:db8::d/64]"},
		{[]string{"192.0.2.5", "2001:db8::5"}, "[192.0.2.5/24 2001:db8::5/64]"},
		{[]string{"198.51.100.7/24"}, "[198.51.100.7/24]"},
		{[]string{"198.51.100.7"}, "error"},
		{[]string{"192.0.2.300/24"}, "error"},
	} {
		got, err := l.parseAddrs(tc.in, 3)
		s := fmt.Sprint(got)
		if err != nil {
			s = "error"
		}
		if s != tc.want {
			t.Errorf("parseAddrs(%q) = %s (%v), want %s", tc.in, s, err, tc.want)
		}
	}
}

package bgplab

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// BIRD's programs; $LVSHA_BIRD and $LVSHA_BIRDC override them.
var (
	birdBin  = envOr("LVSHA_BIRD", "/usr/sbin/bird")
	birdcBin = envOr("LVSHA_BIRDC", "/usr/sbin/birdc")
)

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// RequireBIRD skips the test when BIRD 2 is not installed (fails it when
// LVSHA_REQUIRE_ROOT_TESTS=1, as the tiers that promise BIRD set).
func RequireBIRD(t testing.TB) {
	t.Helper()
	for _, p := range []string{birdBin, birdcBin} {
		if _, err := os.Stat(p); err != nil {
			msg := fmt.Sprintf("needs BIRD 2 (Debian bird2): %v", err)
			if os.Getenv("LVSHA_REQUIRE_ROOT_TESTS") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// BIRD is one bird process in a node: its files live in Dir.
type BIRD struct {
	Node *netlab.Node
	Dir  string // bird.conf, bird.ctl, bird.pid
	Proc *netlab.Proc
}

// Conf, Sock and PidFile are the paths of the instance's files.
func (b *BIRD) Conf() string    { return filepath.Join(b.Dir, "bird.conf") }
func (b *BIRD) Sock() string    { return filepath.Join(b.Dir, "bird.ctl") }
func (b *BIRD) PidFile() string { return filepath.Join(b.Dir, "bird.pid") }

// startBIRD writes conf and starts bird in the foreground in n, then waits until
// its control socket answers.
func startBIRD(t testing.TB, n *netlab.Node, conf string) (*BIRD, error) {
	RequireBIRD(t)
	// Not t.TempDir: a unix socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "bgplab-"+n.Name()+"-")
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	b := &BIRD{Node: n, Dir: dir}
	if err := os.WriteFile(b.Conf(), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if out, err := exec.Command(birdBin, "-p", "-c", b.Conf()).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("bird -p: %w: %s\n%s", err, strings.TrimSpace(string(out)), conf)
	}
	b.Proc = n.Start(birdBin, "-f", "-c", b.Conf(), "-s", b.Sock(), "-P", b.PidFile())
	err = netlab.WaitFor(10*time.Second, func() (bool, error) {
		select {
		case <-b.Proc.Done():
			return false, fmt.Errorf("bird exited: %s", b.Proc.LogTail(20))
		default:
		}
		_, err := b.Birdc("show", "status")
		return err == nil, nil
	}, func() string { return "bird's control socket " + b.Sock() })
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Birdc runs one birdc command against this instance's socket and returns its
// output. birdc talks over the unix socket, so it needs no namespace.
func (b *BIRD) Birdc(args ...string) (string, error) {
	cmd := exec.Command(birdcBin, append([]string{"-s", b.Sock()}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("birdc %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Established reports whether BGP protocol name is in state Established.
func (b *BIRD) Established(name string) (bool, error) {
	out, err := b.Birdc("show", "protocols", name)
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == name {
			return strings.Contains(line, "Established"), nil
		}
	}
	return false, fmt.Errorf("no protocol %q in:\n%s", name, out)
}

// WaitEstablished waits until every named BGP protocol is Established.
func (b *BIRD) WaitEstablished(timeout time.Duration, names ...string) error {
	var last string
	return netlab.WaitFor(timeout, func() (bool, error) {
		for _, n := range names {
			ok, err := b.Established(n)
			if err != nil || !ok {
				last = n
				return false, nil
			}
		}
		return true, nil
	}, func() string {
		out, _ := b.Birdc("show", "protocols")
		return "BGP session " + last + " Established:\n" + out
	})
}

// Router is the lab's upstream router: BIRD 2 in a node with ECMP on.
type Router struct {
	*BIRD
	Opts RouterOptions // as filled with defaults
}

// StartRouter configures node n as the router (fib_multipath_hash_policy=1 for
// L4 hashing, IPv4 forwarding on) and starts BIRD with one session per peer. It
// calls t.Fatal on failure; the lab's teardown kills BIRD.
func StartRouter(t testing.TB, n *netlab.Node, o RouterOptions) *Router {
	t.Helper()
	if !o.RouterID.IsValid() {
		o.RouterID = n.Addr4()
	}
	if err := o.fill(); err != nil {
		t.Fatalf("bgplab: router: %v", err)
	}
	err := n.Do(func() error {
		return errors.Join(
			netns.WriteSysctl("net.ipv4.fib_multipath_hash_policy", "1"),
			netns.WriteSysctl("net.ipv4.ip_forward", "1"))
	})
	if err != nil {
		t.Fatalf("bgplab: router sysctls: %v", err)
	}
	b, err := startBIRD(t, n, RouterConfig(o))
	if err != nil {
		t.Fatalf("bgplab: router: %v", err)
	}
	return &Router{BIRD: b, Opts: o}
}

// PeerNames returns the BIRD protocol names of the router's sessions.
func (r *Router) PeerNames() []string {
	var names []string
	for _, p := range r.Opts.Peers {
		names = append(names, p.Name)
	}
	return names
}

// PeerName returns the protocol name of the session with addr ("" if none).
func (r *Router) PeerName(addr netip.Addr) string {
	for _, p := range r.Opts.Peers {
		if p.Addr == addr {
			return p.Name
		}
	}
	return ""
}

// Nexthops returns the gateways of the router's FIB route for p in the main
// table, sorted (nil when there is no route).
func (r *Router) Nexthops(p netip.Prefix) ([]netip.Addr, error) {
	return Nexthops(r.Node.Handle(), p)
}

// Nexthops reads the gateways of the route for p from the main table of the
// namespace h belongs to, sorted: one for a plain route, N for a multipath one.
func Nexthops(h *netlink.Handle, p netip.Prefix) ([]netip.Addr, error) {
	dst := prefixIPNet(p)
	routes, err := h.RouteListFiltered(unix.AF_INET, &netlink.Route{Dst: dst, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("route list %v: %w", p, err)
	}
	var hops []netip.Addr
	for _, rt := range routes {
		if rt.Gw != nil {
			if a, ok := netip.AddrFromSlice(rt.Gw); ok {
				hops = append(hops, a.Unmap())
			}
		}
		for _, nh := range rt.MultiPath {
			if a, ok := netip.AddrFromSlice(nh.Gw); ok {
				hops = append(hops, a.Unmap())
			}
		}
	}
	slices.SortFunc(hops, func(a, b netip.Addr) int { return a.Compare(b) })
	return hops, nil
}

// StartSpeaker starts a stand-in director in n: BIRD announcing o.Prefixes to the
// router over eBGP. The protocol's name is "uplink".
func StartSpeaker(t testing.TB, n *netlab.Node, o SpeakerOptions) *BIRD {
	t.Helper()
	if !o.RouterID.IsValid() {
		o.RouterID = n.Addr4()
	}
	if err := o.fill(); err != nil {
		t.Fatalf("bgplab: speaker: %v", err)
	}
	b, err := startBIRD(t, n, SpeakerConfig(o))
	if err != nil {
		t.Fatalf("bgplab: speaker %s: %v", n.Name(), err)
	}
	return b
}

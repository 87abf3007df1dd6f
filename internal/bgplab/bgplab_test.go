package bgplab

import (
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

func TestMain(m *testing.M) { os.Exit(netlab.Main(m)) }

var (
	subnet = netip.MustParsePrefix("10.251.0.0/24")
	vip    = netip.MustParsePrefix("10.251.9.1/32")
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// TestConfigsParse checks the generated configurations with `bird -p` (no root).
func TestConfigsParse(t *testing.T) {
	RequireBIRD(t)
	ro := RouterOptions{RouterID: addr("10.251.0.1"), BFD: BFD{MinTxMS: 50}, Peers: []Peer{
		{Addr: addr("10.251.0.11"), BFD: true}, {Addr: addr("10.251.0.12"), HoldTime: 3},
	}}
	if err := ro.fill(); err != nil {
		t.Fatal(err)
	}
	so := SpeakerOptions{RouterID: addr("10.251.0.11"), RouterAddr: addr("10.251.0.1"), BFD: BFD{Multiplier: 5}, Prefixes: []netip.Prefix{vip}}
	if err := so.fill(); err != nil {
		t.Fatal(err)
	}
	for name, conf := range map[string]string{"router": RouterConfig(ro), "speaker": SpeakerConfig(so)} {
		f := t.TempDir() + "/bird.conf"
		if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(birdBin, "-p", "-c", f).CombinedOutput(); err != nil {
			t.Errorf("%s: bird -p: %v: %s\n%s", name, err, out, conf)
		}
	}
	for _, want := range []string{"merge paths on", "bfd on", "hold time 3;", "min tx interval 50 ms"} {
		if !strings.Contains(RouterConfig(ro), want) {
			t.Errorf("router config lacks %q:\n%s", want, RouterConfig(ro))
		}
	}
}

func TestBadOptions(t *testing.T) {
	for name, o := range map[string]RouterOptions{
		"no peers":   {RouterID: addr("10.0.0.1")},
		"hold 2":     {RouterID: addr("10.0.0.1"), Peers: []Peer{{Addr: addr("10.0.0.2"), HoldTime: 2}}},
		"bfd no bfd": {RouterID: addr("10.0.0.1"), Peers: []Peer{{Addr: addr("10.0.0.2"), BFD: true}}},
		"v6 peer":    {RouterID: addr("10.0.0.1"), Peers: []Peer{{Addr: addr("2001:db8::1")}}},
		"dup name":   {RouterID: addr("10.0.0.1"), Peers: []Peer{{Name: "a", Addr: addr("10.0.0.2")}, {Name: "a", Addr: addr("10.0.0.3")}}},
	} {
		if err := o.fill(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestRouterECMP is the harness's own drill with BIRD stand-ins for the
// directors (root; about 6 s): three speakers announcing one /32 make a 3-way
// multipath route; kill -9 of one removes its next hop at once (its TCP session
// closes); an isolated one (BFD on, 3 x 100 ms) is removed within BFD's detection
// time, and one without BFD within its hold time (3 s).
func TestRouterECMP(t *testing.T) {
	RequireBIRD(t)
	lab := netlab.New(t, netlab.Options{Subnet4: subnet})
	rn := lab.AddNode("router", "10.251.0.1")
	var ds []*netlab.Node
	var peers []Peer
	for i, a := range []string{"10.251.0.11", "10.251.0.12", "10.251.0.13", "10.251.0.14"} {
		ds = append(ds, lab.AddNode("d"+string(rune('1'+i)), a))
		peers = append(peers, Peer{Addr: addr(a), HoldTime: 3, BFD: i != 3})
	}
	bfd := BFD{MinTxMS: 100, MinRxMS: 100, Multiplier: 3}
	r := StartRouter(t, rn, RouterOptions{BFD: bfd, Peers: peers})
	var sp []*BIRD
	for i, n := range ds {
		o := SpeakerOptions{RouterAddr: rn.Addr4(), HoldTime: 3, Prefixes: []netip.Prefix{vip}}
		if i != 3 {
			o.BFD = bfd
		}
		sp = append(sp, StartSpeaker(t, n, o))
	}
	w := r.Watch(vip)
	defer w.Stop()
	t0 := time.Now()
	if err := r.WaitEstablished(15*time.Second, r.PeerNames()...); err != nil {
		t.Fatal(err)
	}
	all := []netip.Addr{ds[0].Addr4(), ds[1].Addr4(), ds[2].Addr4(), ds[3].Addr4()}
	c, err := w.WaitNexthops(t0, 10*time.Second, all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("4-way multipath %v after %v", c, c.At.Sub(t0).Round(time.Millisecond))

	// kill -9: the kernel closes the session's socket.
	fault := time.Now()
	if err := sp[0].Proc.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if c, err = w.WaitNexthops(fault, 5*time.Second, all[1:]...); err != nil {
		t.Fatal(err)
	}
	t.Logf("kill -9 d1: next hop withdrawn %v after the fault", c.At.Sub(fault).Round(time.Millisecond))

	// Blackhole with BFD: the router's BFD session times out.
	fault = time.Now()
	lab.Isolate(ds[1])
	if c, err = w.WaitNexthops(fault, 5*time.Second, all[2:]...); err != nil {
		t.Fatal(err)
	}
	got := c.At.Sub(fault)
	t.Logf("blackholed d2 (BFD %d ms detection): removed after %v", bfd.Detection(), got.Round(time.Millisecond))
	if got > time.Duration(bfd.Detection())*time.Millisecond+time.Second {
		t.Errorf("BFD removal took %v, detection time is %d ms", got, bfd.Detection())
	}

	// Blackhole without BFD: the hold timer expires.
	fault = time.Now()
	lab.Isolate(ds[3])
	if c, err = w.WaitNexthops(fault, 8*time.Second, all[2]); err != nil {
		t.Fatal(err)
	}
	got = c.At.Sub(fault)
	t.Logf("blackholed d4 (no BFD, hold time 3 s): removed after %v", got.Round(time.Millisecond))
	if got < 1500*time.Millisecond || got > 4*time.Second {
		t.Errorf("hold-time removal took %v, want hold time minus up to one keepalive (1.5-4 s)", got)
	}
	t.Logf("FIB timeline:\n%s", Timeline(t0, w.Changes()))
}

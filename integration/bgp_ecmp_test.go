package integration

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/bgplab"
	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// The active-active control-plane lab (issue 14): a BIRD 2 router with ECMP
// (internal/bgplab) and lvs-ha directors announcing the VIP over their own BGP
// speaker, with LVSHA_TEST_IN_MEMORY_IPVS=1 (no ip_vs needed on the host).
var (
	ecmpSubnet = netip.MustParsePrefix("10.251.0.0/24")
	ecmpVIP    = netip.MustParsePrefix("10.251.9.1/32")
	ecmpRouter = netip.MustParseAddr("10.251.0.1")
)

// Timers of the drill: the hold time bounds detection without BFD; BFD's
// detection time is multiplier x interval.
const (
	ecmpHold          = 3 // seconds (keepalive 1 s)
	ecmpAnnounceDelay = 1 // seconds
	ecmpDrain         = 2 // seconds
)

var ecmpBFD = bgplab.BFD{MinTxMS: 100, MinRxMS: 100, Multiplier: 3}

// ecmpDirector is one lvs-ha director in the lab.
type ecmpDirector struct {
	name string
	node *netlab.Node
	proc *netlab.Proc
	bfd  bool
}

// ecmpDirectorConf is a director's keepalived.conf: the speaker peering with
// the router and one announced DR virtual server (mh, no checkers: its real
// servers count as healthy).
func ecmpDirectorConf(addr netip.Addr, bfd bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "bgp_speaker {\n    router_id %s\n    local_as %d\n", addr, bgplab.DefaultSpeakerAS)
	fmt.Fprintf(&b, "    neighbor %s {\n        remote_as %d\n        hold_time %d\n", ecmpRouter, bgplab.DefaultRouterAS, ecmpHold)
	if bfd {
		fmt.Fprintf(&b, "        bfd min_tx %d min_rx %d multiplier %d\n", ecmpBFD.MinTxMS, ecmpBFD.MinRxMS, ecmpBFD.Multiplier)
	}
	fmt.Fprintf(&b, "    }\n    announce_delay %d\n    drain_time %d\n}\n", ecmpAnnounceDelay, ecmpDrain)
	fmt.Fprintf(&b, "virtual_server %s 80 {\n    lb_algo mh\n    lb_kind DR\n    protocol TCP\n    bgp_announce min_healthy 1\n", ecmpVIP.Addr())
	for _, rs := range []string{"10.251.0.21", "10.251.0.22", "10.251.0.23"} {
		fmt.Fprintf(&b, "    real_server %s 80 {\n        weight 1\n    }\n", rs)
	}
	b.WriteString("}\n")
	return b.String()
}

func startECMPDirector(t *testing.T, lab *netlab.Lab, i int, bfd bool) *ecmpDirector {
	t.Helper()
	d := &ecmpDirector{name: fmt.Sprintf("lvs%d", i), bfd: bfd}
	addr := netip.MustParseAddr(fmt.Sprintf("10.251.0.%d", 10+i))
	d.node = lab.AddNode(d.name, addr.String())
	dir := t.TempDir()
	cfg := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(cfg, []byte(ecmpDirectorConf(addr, bfd)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := d.node.Command(lvshaBin(t), "run", "-f", cfg, "-i", d.name, "-log-level", "info",
		"-pid-file", filepath.Join(dir, "lvs-ha.pid"), "-dump-file", filepath.Join(dir, "lvs-ha.dump"))
	cmd.Env = append(os.Environ(), "LVSHA_TEST_IN_MEMORY_IPVS=1")
	d.proc = d.node.StartCmd(cmd)
	if err := d.proc.WaitLog("msg=running", startLimit); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *ecmpDirector) addr() netip.Addr { return d.node.Addr4() }

// TestBGPECMPControlPlane is the control-plane drill (about 20 s): three lvs-ha
// directors make a 3-way multipath route on the BIRD router, a fourth joins;
// then kill -9 (lvs1), a blackhole with BFD (lvs2: its link detached from the
// segment, carrier up), a blackhole without BFD (lvs3, hold time 3 s) and a
// drain (SIGTERM of lvs4: the route goes before the process exits, drain_time
// 2 s later). Each fault's time to the router's FIB change is printed.
func TestBGPECMPControlPlane(t *testing.T) {
	bgplab.RequireBIRD(t)
	lab := netlab.New(t, netlab.Options{Subnet4: ecmpSubnet})
	rn := lab.AddNode("router", ecmpRouter.String())
	bfdOn := map[int]bool{1: true, 2: true, 3: false, 4: true}
	var peers []bgplab.Peer
	for i := 1; i <= 4; i++ {
		peers = append(peers, bgplab.Peer{Name: fmt.Sprintf("lvs%d", i),
			Addr: netip.MustParseAddr(fmt.Sprintf("10.251.0.%d", 10+i)), HoldTime: ecmpHold, BFD: bfdOn[i]})
	}
	router := bgplab.StartRouter(t, rn, bgplab.RouterOptions{BFD: ecmpBFD, Peers: peers})
	fib := router.Watch(ecmpVIP)
	defer fib.Stop()
	hops := func(ds ...*ecmpDirector) []netip.Addr {
		var a []netip.Addr
		for _, d := range ds {
			a = append(a, d.addr())
		}
		return a
	}
	var figures []string
	note := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		figures = append(figures, s)
		t.Log(s)
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

	t0 := time.Now()
	var ds []*ecmpDirector
	for i := 1; i <= 3; i++ {
		ds = append(ds, startECMPDirector(t, lab, i, bfdOn[i]))
	}
	c, err := fib.WaitNexthops(t0, 20*time.Second, hops(ds...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, router.Proc.LogTail(20))
	}
	note("3-way multipath %v %s after the first director started (announce_delay %d s)", c, ms(c.At.Sub(t0)), ecmpAnnounceDelay)

	at := time.Now()
	ds = append(ds, startECMPDirector(t, lab, 4, bfdOn[4]))
	if c, err = fib.WaitNexthops(at, 20*time.Second, hops(ds...)...); err != nil {
		t.Fatal(err)
	}
	note("join: lvs4 in the FIB %s after its start (announce_delay %d s + session setup)", ms(c.At.Sub(at)), ecmpAnnounceDelay)
	if err := router.WaitEstablished(10*time.Second, router.PeerNames()...); err != nil {
		t.Fatal(err)
	}

	// kill -9: the kernel closes the TCP session (the router sees it end).
	at = time.Now()
	if err := ds[0].proc.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if c, err = fib.WaitNexthops(at, 10*time.Second, hops(ds[1:]...)...); err != nil {
		t.Fatal(err)
	}
	note("kill -9 lvs1: next hop withdrawn %s after the signal", ms(c.At.Sub(at)))

	// Blackhole with BFD: lvs2's port leaves the bridge; no packet passes.
	at = time.Now()
	lab.Isolate(ds[1].node)
	if c, err = fib.WaitNexthops(at, 10*time.Second, hops(ds[2:]...)...); err != nil {
		t.Fatal(err)
	}
	got := c.At.Sub(at)
	note("blackhole lvs2, BFD %d ms x %d (detection %d ms): removed %s after the fault", ecmpBFD.MinTxMS, ecmpBFD.Multiplier, ecmpBFD.Detection(), ms(got))
	if got > time.Duration(ecmpBFD.Detection())*time.Millisecond+500*time.Millisecond {
		t.Errorf("BFD removal took %v, detection time is %d ms", got, ecmpBFD.Detection())
	}

	// Blackhole without BFD: the router's hold timer expires.
	at = time.Now()
	lab.Isolate(ds[2].node)
	if c, err = fib.WaitNexthops(at, 10*time.Second, hops(ds[3])...); err != nil {
		t.Fatal(err)
	}
	got = c.At.Sub(at)
	note("blackhole lvs3, no BFD, hold time %d s: removed %s after the fault", ecmpHold, ms(got))
	if got > ecmpHold*time.Second+500*time.Millisecond {
		t.Errorf("hold-time removal took %v, hold time is %d s", got, ecmpHold)
	}

	// Drain: SIGTERM withdraws at once, the process exits drain_time later.
	at = time.Now()
	if err := ds[3].proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if c, err = fib.WaitNexthops(at, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	withdrawn := c.At.Sub(at)
	if err := ds[3].proc.Wait(ecmpDrain*time.Second + 10*time.Second); err != nil {
		t.Fatalf("lvs4 after SIGTERM: %v", err)
	}
	exited := time.Since(at)
	note("drain lvs4 (SIGTERM, drain_time %d s): route withdrawn %s after the signal, process exited %s after it",
		ecmpDrain, ms(withdrawn), ms(exited))
	if withdrawn >= exited {
		t.Errorf("drain: the route went %v after SIGTERM, not before the exit (%v)", withdrawn, exited)
	}
	if exited < ecmpDrain*time.Second {
		t.Errorf("drain: lvs4 exited %v after SIGTERM, before drain_time %d s", exited, ecmpDrain)
	}
	t.Logf("router FIB for %v:\n%s\nfigures:\n  %s", ecmpVIP, bgplab.Timeline(t0, fib.Changes()), strings.Join(figures, "\n  "))
}

//go:build vm

package vmecmp

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/bgplab"
	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

const (
	nFlows   = 240
	rtoMin   = 400 // ms, on the client's route to the VIP (as integration/vmsync)
	holdTime = 9
	settle   = 4 * time.Second // after the FIB change, before flows are judged
	// announceDelay lets a joining director's sync daemon learn the flows
	// before it is announced; drainTime outlasts settle.
	announceDelay = 2
	drainTime     = 10
)

// No BFD in the VM: under TCG on a loaded host BFD sessions flapped in trial
// runs even at 200 ms x 5 (1 s), taking the BGP sessions down with them, and
// so did a hold time of 3 s once 240 flows ran. A crash is detected by the
// hold timer (9 s, keepalive 3 s); the netns tier measures BFD.
var bfd = bgplab.BFD{}

// scheme is one way of running the directors that the drill compares.
type scheme struct {
	name   string
	sched  string // lb_algo
	sync   bool   // kernel sync daemons (master and backup on every director)
	sloppy bool   // lvs_sloppy_tcp
}

var schemes = []scheme{
	{"mh+sloppy", "mh", false, true},
	{"wlc", "wlc", false, false},
	{"wlc+sync", "wlc", true, true},
}

// ecmpLab is the drill's topology (doc.go).
type ecmpLab struct {
	t       *testing.T
	sc      scheme
	up, lan *netlab.Lab
	client  *netlab.Node
	srcs    []netip.Addr
	router  *bgplab.Router
	fib     *bgplab.FIBWatch
	tmp     string
	dirs    map[string]*director
	say     func(format string, args ...any) // t.Logf, or the demo's timeline
}

// director is one director machine running lvs-ha: IPVS, the VIP on lo and
// its announcement over BGP.
type director struct {
	node *netlab.Node
	lvs  *netlab.Proc
}

func (l *ecmpLab) directorConf(addr netip.Addr) string {
	var b strings.Builder
	fmt.Fprintf(&b, "bgp_speaker {\n    router_id %s\n    local_as %d\n", addr, bgplab.DefaultSpeakerAS)
	fmt.Fprintf(&b, "    neighbor 10.251.0.1 {\n        remote_as %d\n        hold_time %d\n    }\n", bgplab.DefaultRouterAS, holdTime)
	fmt.Fprintf(&b, "    announce_delay %d\n    drain_time %d\n}\n", announceDelay, drainTime)
	b.WriteString("global_defs {\n")
	if l.sc.sloppy {
		b.WriteString("    lvs_sloppy_tcp on\n")
	}
	if l.sc.sync {
		b.WriteString("    lvs_sync_threshold 3 10\n")
	}
	b.WriteString("}\n")
	fmt.Fprintf(&b, "virtual_server %s %d {\n    lb_algo %s\n    lb_kind DR\n    protocol TCP\n    bgp_announce\n", vip, svcPort, l.sc.sched)
	for _, rs := range rsAddrs {
		fmt.Fprintf(&b, "    real_server %s %d {\n        weight 1\n    }\n", rs, svcPort)
	}
	b.WriteString("}\n")
	return b.String()
}

func newECMPLab(t *testing.T, sc scheme) *ecmpLab {
	t.Helper()
	l := &ecmpLab{t: t, sc: sc, tmp: t.TempDir(), dirs: map[string]*director{}, say: t.Logf}
	l.up = netlab.New(t, netlab.Options{Subnet4: netip.MustParsePrefix("10.251.1.0/24")})
	l.lan = netlab.New(t, netlab.Options{Subnet4: lanNet})
	var caddrs []string
	for i := range 16 {
		a := fmt.Sprintf("10.251.1.%d", 100+i)
		caddrs = append(caddrs, a)
		l.srcs = append(l.srcs, netip.MustParseAddr(a))
	}
	l.client = l.up.AddNode("client", caddrs...)
	rn := l.up.AddNode("router", "10.251.1.1")
	vmlab.Attach(t, rn, l.lan, "eth1", netip.MustParsePrefix("10.251.0.1/24"))
	vmlab.Sysctl(t, rn, "net.ipv4.conf.all.rp_filter", "0")
	routeRTO(t, l.client, vip32, netip.MustParseAddr("10.251.1.1"))
	vmlab.Sysctl(t, l.client, "net.ipv4.tcp_thin_linear_timeouts", "1")
	// The router runs on the client's kernel: a forwarded packet keeps the
	// client socket's hash (skb->l4_hash), which fib_multipath_hash uses as
	// is, and TCP picks a new one at each retransmission timeout, so a
	// stalled flow would hop to another director by itself. A router on
	// another machine hashes the headers: keep each flow's hash fixed.
	vmlab.Sysctl(t, l.client, "net.core.txrehash", "0")
	for i, a := range rsAddrs {
		rs := l.lan.AddNode(fmt.Sprintf("rs%d", i+1), a)
		vmlab.RealServer(t, rs, vip.String())
		vmlab.DefaultRoute(t, rs, netip.MustParseAddr("10.251.0.1"))
		vmlab.EchoServer(t, rs, svcPort)
	}
	var peers []bgplab.Peer
	for i := range 4 {
		peers = append(peers, bgplab.Peer{Name: fmt.Sprintf("lvs%d", i+1), Addr: dirAddr(i + 1), BFD: bfd.On()})
	}
	l.router = bgplab.StartRouter(t, rn, bgplab.RouterOptions{RouterID: netip.MustParseAddr("10.251.0.1"), HoldTime: holdTime, BFD: bfd, Peers: peers})
	l.fib = l.router.Watch(vip32)
	t.Cleanup(func() { l.fib.Stop() })
	return l
}

func dirAddr(i int) netip.Addr { return netip.MustParseAddr(fmt.Sprintf("10.251.0.%d", 10+i)) }

// startDirector builds lvsN and starts its lvs-ha, which programs IPVS, puts
// the VIP on lo and announces it after announce_delay (and starts the sync
// daemons when the scheme has them).
func (l *ecmpLab) startDirector(i int) *director {
	t := l.t
	t.Helper()
	name := fmt.Sprintf("lvs%d", i)
	n := l.lan.AddNode(name, dirAddr(i).String())
	conf := filepath.Join(l.tmp, name+".conf")
	if err := os.WriteFile(conf, []byte(l.directorConf(dirAddr(i))), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &director{node: n}
	d.lvs = vmlab.Run(t, n, "msg=running", 60*time.Second, "-i", name, "-f", conf,
		"-pid-file", filepath.Join(l.tmp, name+".pid"), "-dump-file", filepath.Join(l.tmp, name+".dump"))
	if l.sc.sync {
		for _, role := range []string{"master", "backup"} {
			vmlab.Ipvsadm(t, n, "--start-daemon", role, "--mcast-interface", n.IfName(), "--syncid", "14")
		}
	}
	l.dirs[name] = d
	return d
}

// crash makes d's machine fail: netem loss 100% on its link (both ends), its
// lvs-ha and BIRD killed. Carrier stays up.
func (l *ecmpLab) crash(d *director) {
	t := l.t
	t.Helper()
	link, err := d.node.Handle().LinkByName(d.node.IfName())
	if err != nil {
		t.Fatal(err)
	}
	peer, err := l.lan.SwitchHandle().LinkByIndex(link.Attrs().ParentIndex)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		h    *netlink.Handle
		link netlink.Link
	}{{d.node.Handle(), link}, {l.lan.SwitchHandle(), peer}} {
		q := netlink.NewNetem(netlink.QdiscAttrs{LinkIndex: e.link.Attrs().Index, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT},
			netlink.NetemQdiscAttrs{Loss: 100})
		if err := e.h.QdiscAdd(q); err != nil {
			t.Fatalf("netem loss 100%% on %s: %v", e.link.Attrs().Name, err)
		}
	}
	d.lvs.Signal(unix.SIGKILL)
}

// owners returns each flow's director: the one whose ip_vs_conn_sync lists it
// with origin LOCAL.
func (l *ecmpLab) owners() map[connKey]string {
	out := map[connKey]string{}
	for name, d := range l.dirs {
		m, err := localConns(d.node)
		if err != nil {
			continue // a crashed director's namespace still answers; tolerate others
		}
		for k := range m {
			out[k] = name
		}
	}
	return out
}

// localConns reads /proc/net/ip_vs_conn_sync in n: the TCP connections to the
// VIP that n scheduled itself (origin LOCAL), with their real server.
//
//	Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires
func localConns(n *netlab.Node) (map[connKey]netip.Addr, error) {
	return readConns(n, "ip_vs_conn_sync", 10, func(f []string) bool { return f[8] == "LOCAL" && f[7] == "ESTABLISHED" })
}

// row is the drill's figures for one event of one scheme.
type row struct {
	scheme, event        string
	fib                  time.Duration // fault to the router's FIB change
	affected, affDisr    int           // flows on the affected director, disrupted
	collateral, colDisr  int           // flows on the others, disrupted
	affLost, colLost     int           // of the disrupted: lost (reset, moved, or no echo in the last 2 s)
	affStall, otherStall [3]time.Duration
	pause                time.Duration // the longest the test process did not run
	why                  map[string]int
}

var (
	rowsMu sync.Mutex
	rows   []row
)

func sec(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

func triple(d [3]time.Duration) string {
	return fmt.Sprintf("%s/%s/%s", sec(d[0]), sec(d[1]), sec(d[2]))
}

// TestECMPDrill: three directors behind a BIRD router with ECMP; drain lvs3,
// join a fresh lvs4, crash lvs1, each with 240 fresh flows; for each scheme.
// -test.run=TestECMPDrill/^mh runs one scheme.
func TestECMPDrill(t *testing.T) {
	vmtest.Require(t)
	vmlab.RequireLvsHA(t)
	bgplab.RequireBIRD(t)
	start := time.Now()
	for _, sc := range schemes {
		t.Run(sc.name, func(t *testing.T) { drill(newECMPLab(t, sc)) })
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ECMP drill: %d flows per event from 16 client addresses, heartbeat %v, no BFD, hold %d s (%v)\n",
		nFlows, heartbeat, holdTime, time.Since(start).Round(time.Second))
	b.WriteString("disr. = reset, moved to another real server, or stalled over 1 s + pause; lost = reset, moved, or no echo in the last 2 s\n")
	fmt.Fprintf(&b, "%-10s %-10s %-7s %-16s %-16s %-18s %-18s %-7s %s\n", "scheme", "event", "FIB s", "aff. disr./lost", "coll. disr./lost",
		"aff. stall p50/99/max", "others p50/99/max", "pause", "why")
	rowsMu.Lock()
	for _, r := range rows {
		fmt.Fprintf(&b, "%-10s %-10s %-7s %-16s %-16s %-18s %-18s %-7s %v\n", r.scheme, r.event, sec(r.fib),
			fmt.Sprintf("%d/%d of %d", r.affDisr, r.affLost, r.affected), fmt.Sprintf("%d/%d of %d", r.colDisr, r.colLost, r.collateral),
			triple(r.affStall), triple(r.otherStall), sec(r.pause), r.why)
	}
	rowsMu.Unlock()
	t.Log("\n" + b.String())
}

func drill(l *ecmpLab) {
	t, sc := l.t, l.sc
	t0 := time.Now()
	for i := 1; i <= 3; i++ {
		l.startDirector(i)
		l.say("lvs%d: lvs-ha run (BGP speaker, %s, DR) is up", i, sc.sched)
	}
	three := []netip.Addr{dirAddr(1), dirAddr(2), dirAddr(3)}
	// Setting up, not a figure: on a loaded 2-core CI host under TCG the
	// sessions can take longer than an event's 30 s.
	if _, err := l.fib.WaitNexthops(t0, 90*time.Second, three...); err != nil {
		l.fatal(t0, err)
	}
	l.say("%s: 3-way multipath after %v", sc.name, time.Since(t0).Round(time.Millisecond))

	// drain lvs3: SIGTERM; lvs-ha withdraws the VIP and keeps forwarding for
	// drain_time.
	l.event("drain lvs3", "lvs3", nil, func() {
		if err := l.dirs["lvs3"].lvs.Signal(unix.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}, three[:2]...)

	// join: a fresh lvs4 (empty connection table), announced announce_delay
	// after its first IPVS apply (the sync daemon's time to learn); the FIB
	// figure runs from its start.
	l.event("join lvs4", "lvs4", nil, func() { l.startDirector(4) }, dirAddr(1), dirAddr(2), dirAddr(4))

	// crash lvs1: the router's hold timer detects it.
	l.event("crash lvs1", "lvs1", nil, func() { l.crash(l.dirs["lvs1"]) }, dirAddr(2), dirAddr(4))
}

// event opens nFlows fresh flows, runs prepare (if any), records the flows'
// directors, runs fault, waits for the router's FIB to hold want, lets the
// flows settle and judges them. For a join the affected flows are those the new
// director took over.
func (l *ecmpLab) event(name, affected string, prepare, fault func(), want ...netip.Addr) {
	t := l.t
	t.Helper()
	stop := make(chan struct{})
	var flows []*flow
	defer func() {
		close(stop)
		for _, f := range flows {
			f.Conn.Close()
		}
	}()
	opening := time.Now()
	for i := range nFlows {
		f, err := openFlow(l.client, i, l.srcs[i%len(l.srcs)], stop)
		if err != nil {
			t.Fatal(err)
		}
		flows = append(flows, f)
	}
	l.say("%s: %d flows opened in %v", name, nFlows, time.Since(opening).Round(time.Millisecond))
	time.Sleep(time.Second) // every flow established and echoing
	if prepare != nil {
		prepare()
	}
	before := l.owners()
	pz := vmlab.WatchPauses()
	at := time.Now()
	fault()
	c, err := l.fib.WaitNexthops(at, 30*time.Second, want...)
	if err != nil {
		l.fatal(at, err)
	}
	wait := settle
	if strings.HasPrefix(name, "crash") {
		// The dead director's flows retransmit with backoff: 0.4 s x 6, then
		// 0.8, 1.6, 3.2 s... after a detection of up to the hold time.
		wait = 2 * settle
	}
	time.Sleep(wait)
	now := time.Now()
	pause := pz.End()
	// A stall counts as a disruption over 1 s plus the longest pause of this
	// process (TCG vCPUs descheduled on a loaded host stall every flow alike).
	bound := time.Second + pause
	after := before
	if strings.HasPrefix(name, "join") {
		after = l.owners()
	}
	r := row{scheme: l.sc.name, event: name, fib: c.At.Sub(at), pause: pause, why: map[string]int{}}
	var aff, oth []time.Duration
	for _, f := range flows {
		s := f.State()
		stall := s.Stall(at, now)
		isAff := before[f.key] == affected || after[f.key] == affected
		// Lost: broken for good; a stalled flow that echoes again is not.
		resumed := s.EchoedAfter(now.Add(-2 * time.Second))
		lost := s.Err != nil || s.Moved != "" || !resumed
		disrupted := lost || stall > bound
		switch {
		case s.Err != nil:
			r.why[shortErr(s.Err)]++
		case s.Moved != "":
			r.why["moved"]++
		case !resumed:
			r.why["silent"]++
		case stall > bound:
			r.why["stall"]++
		}
		if before[f.key] == "" && !isAff {
			r.why["no owner"]++
		}
		if isAff {
			r.affected++
			aff = append(aff, stall)
			if disrupted {
				r.affDisr++
			}
			if lost {
				r.affLost++
			}
		} else {
			r.collateral++
			oth = append(oth, stall)
			if disrupted {
				r.colDisr++
			}
			if lost {
				r.colLost++
			}
		}
	}
	r.affStall[0], r.affStall[1], r.affStall[2] = vmlab.Percentiles(aff)
	r.otherStall[0], r.otherStall[1], r.otherStall[2] = vmlab.Percentiles(oth)
	l.say("%s %s: FIB %v after %v; pause %v; affected %d disrupted, %d lost of %d; collateral %d disrupted, %d lost of %d; stalls affected %s others %s; %v",
		l.sc.name, name, c, r.fib.Round(time.Millisecond), pause.Round(time.Millisecond), r.affDisr, r.affLost, r.affected, r.colDisr, r.colLost, r.collateral,
		triple(r.affStall), triple(r.otherStall), r.why)
	rowsMu.Lock()
	rows = append(rows, r)
	rowsMu.Unlock()
}

// fatal ends the test with err and what explains a route that did not come:
// the router's FIB timeline since t0, its BGP sessions and each director's log.
func (l *ecmpLab) fatal(t0 time.Time, err error) {
	t := l.t
	t.Helper()
	t.Logf("FIB since the wait began:\n%s", bgplab.Timeline(t0, l.fib.Changes()))
	if out, berr := l.router.Birdc("show", "protocols", "all"); berr != nil {
		t.Logf("birdc: %v", berr)
	} else {
		t.Logf("router's sessions:\n%s", out)
	}
	for name, d := range l.dirs {
		t.Logf("%s's log (last 30 lines):\n%s", name, d.lvs.LogTail(30))
	}
	t.Fatal(err)
}

func shortErr(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "reset"):
		return "reset"
	case strings.Contains(s, "closed"):
		return "closed"
	case strings.Contains(s, "timed out"):
		return "timeout"
	}
	return s
}

// routeRTO adds dst via gw on n's lab interface with rto_min.
func routeRTO(t *testing.T, n *netlab.Node, dst netip.Prefix, gw netip.Addr) {
	t.Helper()
	h := n.Handle()
	link, err := h.LinkByName(n.IfName())
	if err != nil {
		t.Fatal(err)
	}
	r := &netlink.Route{LinkIndex: link.Attrs().Index, RtoMin: rtoMin, Gw: gw.AsSlice(),
		Dst: &net.IPNet{IP: dst.Addr().AsSlice(), Mask: net.CIDRMask(dst.Bits(), 32)}}
	if err := h.RouteAdd(r); err != nil {
		t.Fatalf("%s: route %v via %v: %v", n.Name(), dst, gw, err)
	}
}

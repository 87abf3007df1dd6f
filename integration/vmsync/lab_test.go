//go:build vm

package vmsync

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
)

// Lab addresses (documentation ranges only).
const (
	vip       = "192.0.2.100"    // the service VIP, on the directors' eth0 (client side)
	insideVIP = "198.51.100.254" // NAT: the real servers' gateway, on the directors' eth1
	clientIP  = "192.0.2.10"
	svcPort   = 7000
	vrid      = 51
	syncGroup = "239.0.2.81" // not the default 224.0.0.81, as keepalived's users learned
	syncIf    = "eth2"
	// rtoMin is the client's and the NAT real servers' minimum TCP retransmission
	// timeout on the routes through the directors (see doc.go).
	rtoMin = 400 // ms
)

// Director timing, as in directorConf.
const (
	advertInt    = 500 * time.Millisecond
	preemptDelay = 8 * time.Second
)

// lab is the drill's topology for one forwarding method.
type lab struct {
	t      *testing.T
	nat    bool
	front  *netlab.Lab // client, directors' eth0 (and in DR the real servers)
	back   *netlab.Lab // NAT: real servers, directors' eth1
	link   *netlab.Lab // directors' eth2: VRRP and sync only
	client *netlab.Node
	rs     []*netlab.Node
	conf   string
	tmp    string
}

// director is one director "machine": a namespace with its links and lvs-ha.
type director struct {
	id    string // lvs-ha -i: lvs1 or lvs2
	node  *netlab.Node
	proc  *netlab.Proc
	links []dirLink
}

// dirLink is one of a director's interfaces and the lab whose switch holds its peer.
type dirLink struct {
	ifName string
	lab    *netlab.Lab
}

func newLab(t *testing.T, nat, withSync bool) *lab {
	t.Helper()
	l := &lab{t: t, nat: nat, tmp: t.TempDir()}
	l.front = netlab.New(t, netlab.Options{Subnet4: netip.MustParsePrefix("192.0.2.0/24"), Subnet6: netip.MustParsePrefix("2001:db8::/64")})
	l.link = netlab.New(t, netlab.Options{Subnet4: netip.MustParsePrefix("203.0.113.0/24"), Subnet6: netip.MustParsePrefix("2001:db8:3::/64")})
	l.client = l.front.AddNode("client", clientIP+"/24")
	// The client's route to the VIP carries rto_min; linear retransmission
	// timeouts for thin streams (doc.go).
	route(t, l.client, netip.MustParsePrefix(vip+"/32"), netip.Addr{})
	vmlab.Sysctl(t, l.client, "net.ipv4.tcp_thin_linear_timeouts", "1")
	if nat {
		l.back = netlab.New(t, netlab.Options{Subnet4: netip.MustParsePrefix("198.51.100.0/24"), Subnet6: netip.MustParsePrefix("2001:db8:2::/64")})
		for i, name := range []string{"rs1", "rs2"} {
			rs := l.back.AddNode(name, fmt.Sprintf("198.51.100.%d/24", 11+i))
			route(t, rs, netip.Prefix{}, netip.MustParseAddr(insideVIP))
			l.rs = append(l.rs, rs)
		}
	} else {
		for i, name := range []string{"rs1", "rs2"} {
			rs := l.front.AddNode(name, fmt.Sprintf("192.0.2.%d/24", 11+i))
			vmlab.RealServer(t, rs, vip)
			l.rs = append(l.rs, rs)
		}
	}
	for _, rs := range l.rs {
		vmlab.Sysctl(t, rs, "net.ipv4.tcp_thin_linear_timeouts", "1")
		vmlab.EchoServer(t, rs, svcPort)
	}
	l.conf = filepath.Join(l.tmp, "keepalived.conf")
	if err := os.WriteFile(l.conf, []byte(directorConf(nat, withSync)), 0o644); err != nil {
		t.Fatal(err)
	}
	return l
}

// directorConf is the directors' keepalived.conf: one VRRP instance on the
// sync link whose VIPs live on the client (and NAT inside) links, and the
// virtual server. Both start BACKUP so that preempt_delay is honoured.
func directorConf(nat, withSync bool) string {
	var b strings.Builder
	b.WriteString("global_defs {\n    vrrp_garp_master_repeat 3\n")
	if withSync {
		// The sync daemons follow VI_1: master while it is MASTER, backup otherwise.
		fmt.Fprintf(&b, "    lvs_sync_daemon %s VI_1 id %d group %s\n", syncIf, vrid, syncGroup)
	}
	for _, kv := range vsSysctls(nat) {
		fmt.Fprintf(&b, "    %s %s\n", kv.keyword, kv.value)
	}
	b.WriteString("}\n\n")
	fmt.Fprintf(&b, `vrrp_instance VI_1 {
    state BACKUP
@lvs1    priority 150
@lvs2    priority 100
    interface %s
    virtual_router_id %d
    version 3
    advert_int %.1f
    preempt_delay %d
    virtual_ipaddress {
        %s/32 dev eth0
`, syncIf, vrid, advertInt.Seconds(), int(preemptDelay.Seconds()), vip)
	if nat {
		fmt.Fprintf(&b, "        %s/24 dev eth1\n", insideVIP)
	}
	b.WriteString("    }\n}\n\n")
	method, rs := "DR", []string{"192.0.2.11", "192.0.2.12"}
	if nat {
		method, rs = "NAT", []string{"198.51.100.11", "198.51.100.12"}
	}
	fmt.Fprintf(&b, "virtual_server %s %d {\n    lvs_sched rr\n    lvs_method %s\n    protocol TCP\n", vip, svcPort, method)
	for _, r := range rs {
		fmt.Fprintf(&b, "    real_server %s %d {\n        weight 1\n    }\n", r, svcPort)
	}
	b.WriteString("}\n")
	return b.String()
}

// addDirector builds a director machine and starts its lvs-ha.
func (l *lab) addDirector(name, id string, idx int) *director {
	l.t.Helper()
	d := l.buildDirector(name, id, idx)
	l.run(d)
	return d
}

// buildDirector builds a director machine called name (lvs1, lvs2, or lvs1r
// for lvs1 after its reboot) with host address .idx on every link and sets
// the sysctls lvs-ha does not.
func (l *lab) buildDirector(name, id string, idx int) *director {
	t := l.t
	t.Helper()
	d := &director{id: id}
	d.node = l.front.AddNode(name, fmt.Sprintf("192.0.2.%d/24", idx))
	d.links = append(d.links, dirLink{"eth0", l.front})
	if l.nat {
		vmlab.Attach(t, d.node, l.back, "eth1", netip.MustParsePrefix(fmt.Sprintf("198.51.100.%d/24", idx)))
		d.links = append(d.links, dirLink{"eth1", l.back})
	}
	vmlab.Attach(t, d.node, l.link, syncIf, netip.MustParsePrefix(fmt.Sprintf("203.0.113.%d/24", idx)))
	d.links = append(d.links, dirLink{syncIf, l.link})

	for _, kv := range directorSysctls(l.nat) {
		vmlab.Sysctl(t, d.node, kv[0], kv[1])
	}
	return d
}

// run starts lvs-ha -i d.id in d.
func (l *lab) run(d *director) {
	l.t.Helper()
	name := d.node.Name()
	d.proc = vmlab.Run(l.t, d.node, "msg=running", 60*time.Second, "-i", d.id, "-f", l.conf,
		"-pid-file", filepath.Join(l.tmp, name+".pid"), "-dump-file", filepath.Join(l.tmp, name+".dump"))
	l.checkSysctls(d)
}

// watcher polls a director's /proc/net/ip_vs_conn_sync every 50 ms and
// remembers when each client port first showed up with origin SYNC.
type watcher struct {
	stop, done chan struct{}
	mu         sync.Mutex
	first      map[uint16]time.Time
	last       map[uint16]bool
	err        error
}

func watch(n *netlab.Node) *watcher {
	w := &watcher{stop: make(chan struct{}), done: make(chan struct{}), first: map[uint16]time.Time{}}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			ports, err := syncedPorts(n)
			now := time.Now()
			w.mu.Lock()
			if err != nil {
				w.err = err
				w.mu.Unlock()
				return
			}
			for p := range ports {
				if _, ok := w.first[p]; !ok {
					w.first[p] = now
				}
			}
			w.last = ports
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// end stops the watcher and returns its last reading and first sightings.
func (w *watcher) end() (map[uint16]bool, map[uint16]time.Time, error) {
	close(w.stop)
	<-w.done
	return w.last, w.first, w.err
}

// vsSysctl is a net.ipv4.vs sysctl that lvs-ha sets from a global_defs
// keyword (an lvs-ha extension).
type vsSysctl struct{ keyword, value, sysctl, want string }

// vsSysctls are the IPVS settings the drill relies on (doc.go says why), set
// by lvs-ha at start and checked by the test.
func vsSysctls(nat bool) []vsSysctl {
	s := []vsSysctl{
		// Resend a flow's state every 10 packets after the 3rd (default 3 50).
		{"lvs_sync_threshold", "3 10", "net.ipv4.vs.sync_threshold", "3 10"},
	}
	if nat {
		return append(s, vsSysctl{"lvs_sloppy_tcp", "off", "net.ipv4.vs.sloppy_tcp", "0"})
	}
	return append(s, vsSysctl{"lvs_sloppy_tcp", "on", "net.ipv4.vs.sloppy_tcp", "1"})
}

// directorSysctls are the other settings the drill relies on, written by
// the test (doc.go says why).
func directorSysctls(nat bool) [][2]string {
	// IPVS creates no conntrack entries; sync carries none.
	s := [][2]string{{"net.ipv4.vs.conntrack", "0"}}
	if nat {
		s = append(s, [2]string{"net.ipv4.ip_forward", "1"}) // replies from the real servers
	}
	return s
}

// checkSysctls waits until lvs-ha has set the net.ipv4.vs sysctls of
// vsSysctls in d (its sync manager writes them shortly after start).
func (l *lab) checkSysctls(d *director) {
	l.t.Helper()
	for _, kv := range vsSysctls(l.nat) {
		var got string
		err := netlab.WaitFor(10*time.Second, func() (bool, error) {
			err := d.node.Do(func() error {
				b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(kv.sysctl, ".", "/"))
				got = strings.Join(strings.Fields(string(b)), " ")
				return err
			})
			return got == kv.want, err
		}, nil)
		if err != nil {
			l.t.Errorf("%s: %s = %q after lvs-ha started with %s %s, want %q (%v)", d.node.Name(), kv.sysctl, got, kv.keyword, kv.value, kv.want, err)
		}
	}
}

// fail makes d's machine fail: every packet on every link is lost in both
// directions (netem loss 100% on its interfaces and on their switch-side
// peers), and its lvs-ha dies with it. Carrier stays up, as when a machine
// hangs or loses power behind a switch.
func (l *lab) fail(d *director) {
	t := l.t
	t.Helper()
	h := d.node.Handle()
	for _, dl := range d.links {
		link, err := h.LinkByName(dl.ifName)
		if err != nil {
			t.Fatalf("%s %s: %v", d.node.Name(), dl.ifName, err)
		}
		peer, err := dl.lab.SwitchHandle().LinkByIndex(link.Attrs().ParentIndex)
		if err != nil {
			t.Fatalf("%s %s: switch-side peer: %v", d.node.Name(), dl.ifName, err)
		}
		for _, e := range []struct {
			h    *netlink.Handle
			link netlink.Link
		}{{h, link}, {dl.lab.SwitchHandle(), peer}} {
			q := netlink.NewNetem(netlink.QdiscAttrs{
				LinkIndex: e.link.Attrs().Index,
				Handle:    netlink.MakeHandle(1, 0),
				Parent:    netlink.HANDLE_ROOT,
			}, netlink.NetemQdiscAttrs{Loss: 100})
			if err := e.h.QdiscAdd(q); err != nil {
				t.Fatalf("netem loss 100%% on %s: %v", e.link.Attrs().Name, err)
			}
		}
	}
	if err := d.proc.Signal(unix.SIGKILL); err != nil {
		t.Fatalf("kill lvs-ha on %s: %v", d.node.Name(), err)
	}
}

// route adds dst (zero: default) via gw (zero: on-link) on n's lab interface
// with rto_min.
func route(t *testing.T, n *netlab.Node, dst netip.Prefix, gw netip.Addr) {
	t.Helper()
	h := n.Handle()
	link, err := h.LinkByName(n.IfName())
	if err != nil {
		t.Fatal(err)
	}
	r := &netlink.Route{LinkIndex: link.Attrs().Index, RtoMin: rtoMin}
	if dst.IsValid() {
		r.Dst = &net.IPNet{IP: dst.Addr().AsSlice(), Mask: net.CIDRMask(dst.Bits(), 32)}
		r.Scope = netlink.SCOPE_LINK
	}
	if gw.IsValid() {
		r.Gw = gw.AsSlice()
	}
	if err := h.RouteAdd(r); err != nil {
		t.Fatalf("%s: route %v via %v: %v", n.Name(), dst, gw, err)
	}
}

// syncedPorts reads /proc/net/ip_vs_conn_sync in n and returns the client
// ports of the client's connections to the VIP whose origin is SYNC. Format
// (ip_vs_conn_sync_seq_show, net/netfilter/ipvs/ip_vs_conn.c):
//
//	Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires
//	TCP C000020A 8E3A C0000264 1B58 C000020B 1B58 ESTABLISHED SYNC       899
func syncedPorts(n *netlab.Node) (map[uint16]bool, error) {
	var b []byte
	err := n.Do(func() (err error) {
		// /proc/net follows the thread group leader; thread-self follows this thread.
		b, err = os.ReadFile("/proc/thread-self/net/ip_vs_conn_sync")
		return err
	})
	if err != nil {
		return nil, err
	}
	from, to := hexAddr(clientIP), hexAddr(vip)
	out := map[uint16]bool{}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 10 || f[0] != "TCP" || f[1] != from || f[3] != to || f[8] != "SYNC" {
			continue
		}
		p, err := strconv.ParseUint(f[2], 16, 16)
		if err != nil {
			return nil, fmt.Errorf("ip_vs_conn_sync line %q: %w", line, err)
		}
		out[uint16(p)] = true
	}
	return out, nil
}

func hexAddr(s string) string {
	return strings.ToUpper(fmt.Sprintf("%08x", netip.MustParseAddr(s).AsSlice()))
}

// waitGARP waits until the client's neighbour entry for the VIP names d's
// MAC: d's gratuitous ARP arrived, the switch is complete.
func (l *lab) waitGARP(d *director) {
	l.t.Helper()
	mac := d.node.MAC().String()
	wait(l.t, 10*time.Second, "the client's ARP entry for the VIP to name "+d.node.Name(), func() bool {
		m, err := l.client.Neigh(netip.MustParseAddr(vip))
		return err == nil && m.String() == mac
	})
}

// hasVIP reports whether d holds the VIP.
func hasVIP(d *director) bool {
	ok, _ := d.node.HasAddr(netip.MustParseAddr(vip))
	return ok
}

//go:build vm

package vmtraffic

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/ipvs"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

func TestMain(m *testing.M) { os.Exit(netlab.Main(m)) }

// Forwarding methods (moby/ipvs connection flags).
const (
	masq   = ipvs.ConnectionFlagMasq
	route  = ipvs.ConnectionFlagDirectRoute
	tunnel = ipvs.ConnectionFlagTunnel
)

// dest is a real server of a service.
type dest struct {
	addr   netip.Addr
	port   uint16
	weight int
	fwd    uint32
}

// svc is a virtual service as the tests program it and as ipvsadm lists it.
type svc struct {
	vip     netip.Addr // zero for fwmark services
	port    uint16
	udp     bool // protocol of an address service: UDP, else TCP
	fwmark  uint32
	v6      bool // family of a fwmark service
	sched   string
	persist uint32 // persistence timeout in seconds, 0: not persistent
	dests   []dest
}

func (s svc) key() string {
	if s.fwmark != 0 {
		return fmt.Sprintf("FWM  %d", s.fwmark)
	}
	if s.udp {
		return "UDP  " + netip.AddrPortFrom(s.vip, s.port).String()
	}
	return "TCP  " + netip.AddrPortFrom(s.vip, s.port).String()
}

func (s svc) moby() *ipvs.Service {
	out := &ipvs.Service{SchedName: s.sched, Netmask: 0xffffffff, AddressFamily: syscall.AF_INET}
	if s.v6 || (s.vip.IsValid() && s.vip.Is6()) {
		out.AddressFamily, out.Netmask = syscall.AF_INET6, 128
	}
	if s.fwmark != 0 {
		out.FWMark = s.fwmark
	} else {
		out.Protocol, out.Address, out.Port = syscall.IPPROTO_TCP, net.IP(s.vip.AsSlice()), s.port
		if s.udp {
			out.Protocol = syscall.IPPROTO_UDP
		}
	}
	if s.persist > 0 {
		out.Flags, out.Timeout = 1, s.persist // IP_VS_SVC_F_PERSISTENT
	}
	return out
}

// director programs IPVS inside the director's namespace.
type director struct {
	node *netlab.Node
	h    *ipvs.Handle
}

func newDirector(t *testing.T, n *netlab.Node) *director {
	t.Helper()
	h, err := ipvs.New(n.NSPath())
	if err != nil {
		t.Fatalf("ipvs handle in %s: %v", n.Name(), err)
	}
	t.Cleanup(h.Close)
	if err := h.Flush(); err != nil {
		t.Fatalf("ipvs flush: %v", err)
	}
	return &director{node: n, h: h}
}

// set replaces the whole IPVS table with svcs and checks it against ipvsadm -Ln.
func (d *director) set(t *testing.T, svcs ...svc) {
	t.Helper()
	if err := d.h.Flush(); err != nil {
		t.Fatalf("ipvs flush: %v", err)
	}
	for _, s := range svcs {
		ms := s.moby()
		if err := d.h.NewService(ms); err != nil {
			t.Fatalf("new service %s: %v", s.key(), err)
		}
		for _, rs := range s.dests {
			md := &ipvs.Destination{Address: net.IP(rs.addr.AsSlice()), Port: rs.port, Weight: rs.weight, ConnectionFlags: rs.fwd}
			if err := d.h.NewDestination(ms, md); err != nil {
				t.Fatalf("service %s: new destination %s: %v", s.key(), rs.addr, err)
			}
		}
	}
	d.compareIpvsadm(t, svcs)
}

func fwdName(fwd uint32) string {
	switch fwd {
	case masq:
		return "Masq"
	case route:
		return "Route"
	case tunnel:
		return "Tunnel"
	}
	return "?"
}

func (d *director) compareIpvsadm(t *testing.T, svcs []svc) {
	t.Helper()
	out := vmlab.Ipvsadm(t, d.node, "-Ln")
	tb, err := vmlab.Parse(out)
	if err != nil {
		t.Fatalf("parse ipvsadm -Ln: %v\n%s", err, out)
	}
	got := tb.Map(vmlab.Service.String, vmlab.Dest.Short)
	want := map[string][]string{}
	for _, s := range svcs {
		line := strings.Join(strings.Fields(s.key()), " ") + " " + s.sched
		if s.persist > 0 {
			line += fmt.Sprintf(" persistent %d", s.persist)
		}
		var rs []string
		for _, r := range s.dests {
			port := r.port
			if r.fwd != masq && s.fwmark == 0 {
				port = s.port // DR and TUN keep the virtual port
			}
			rs = append(rs, fmt.Sprintf("%s %s %d", netip.AddrPortFrom(r.addr, port), fwdName(r.fwd), r.weight))
		}
		want[line] = rs
	}
	if len(got) != len(want) {
		t.Errorf("ipvsadm -Ln lists %d services, want %d:\n%s", len(got), len(want), out)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("ipvsadm -Ln lacks service %q:\n%s", k, out)
			continue
		}
		slices.Sort(w)
		if !slices.Equal(g, w) {
			t.Errorf("ipvsadm -Ln: service %q real servers\n got %q\nwant %q", k, g, w)
		}
	}
}

// setTimeouts sets IPVS's tcp, tcpfin and udp timeouts (ipvsadm --set).
func (d *director) setTimeouts(t *testing.T, tcp, fin, udp time.Duration) {
	t.Helper()
	if err := d.h.SetConfig(&ipvs.Config{TimeoutTCP: tcp, TimeoutTCPFin: fin, TimeoutUDP: udp}); err != nil {
		t.Fatalf("ipvs set timeouts: %v", err)
	}
}

// conns returns the director's IPVS connection table (connections and persistence
// templates), /proc/net/ip_vs_conn without its header.
func (d *director) conns() ([]string, error) {
	var lines []string
	err := d.node.Do(func() error {
		// /proc/net follows the thread group leader; thread-self follows this thread.
		b, err := os.ReadFile("/proc/thread-self/net/ip_vs_conn")
		if err != nil {
			return err
		}
		lines = strings.Split(strings.TrimSpace(string(b)), "\n")[1:]
		return nil
	})
	return lines, err
}

// serve starts name-answering HTTP servers in n on every port.
func serve(t *testing.T, n *netlab.Node, ports ...int) {
	t.Helper()
	for _, port := range ports {
		vmlab.Serve(t, n, port)
	}
}

// client sends HTTP requests from a node, one new TCP connection per request, from
// the given source address (zero: the kernel's choice).
type client struct {
	node *netlab.Node
	hc   *http.Client
}

func newClient(n *netlab.Node, src netip.Addr) *client {
	return &client{node: n, hc: n.HTTPClientFrom(src)}
}

// get fetches http://vip:port/ and returns the answering server's name, checking
// that it was reached on port want (0: port).
func (c *client) get(vip netip.Addr, port, want int) (string, error) {
	if want == 0 {
		want = port
	}
	return vmlab.Get(c.hc, "http://"+netip.AddrPortFrom(vip, uint16(port)).String()+"/", want)
}

// series sends n requests and returns the answering servers in order.
func (c *client) series(t *testing.T, vip netip.Addr, port, want, n int) []string {
	t.Helper()
	out := make([]string, 0, n)
	for i := range n {
		name, err := c.get(vip, port, want)
		if err != nil {
			t.Fatalf("request %d from %s: %v", i, c.node.Name(), err)
		}
		out = append(out, name)
	}
	return out
}

func counts(names []string) map[string]int {
	m := map[string]int{}
	for _, n := range names {
		m[n]++
	}
	return m
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// requireVM skips outside the VM and checks that kernel IPVS is there.
func requireVM(t *testing.T) {
	t.Helper()
	vmtest.Require(t)
	if _, err := os.Stat(vmlab.IpvsadmBin); err != nil {
		t.Fatalf("ipvsadm not in the VM image: %v", err)
	}
}

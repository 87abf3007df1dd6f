//go:build vm

package vmtraffic

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
)

// alternates checks that names cycle through exactly two servers.
func alternates(t *testing.T, names []string) {
	t.Helper()
	for i := 2; i < len(names); i++ {
		if names[i] != names[i-2] || names[i] == names[i-1] {
			t.Fatalf("rr does not alternate: %v", names)
		}
	}
	if len(names) > 1 && names[0] == names[1] {
		t.Fatalf("rr does not alternate: %v", names)
	}
}

func sameServer(t *testing.T, what string, names []string) string {
	t.Helper()
	for _, n := range names {
		if n != names[0] {
			t.Fatalf("%s: answered by several servers: %v", what, counts(names))
		}
	}
	return names[0]
}

// drLab is one segment with a client (two source addresses), a director and two DR
// real servers prepared by `lvs-ha realserver`.
type drLab struct {
	client       *netlab.Node
	dir          *director
	rs1, rs2     *netlab.Node
	src1, src2   netip.Addr
	rs1IP, rs2IP netip.Addr
}

func TestDR(t *testing.T) {
	requireVM(t)
	start := time.Now()
	lab := netlab.New(t, netlab.Options{})
	var l drLab
	dn := lab.AddNode("dir", "192.0.2.1", "2001:db8::1")
	l.rs1 = lab.AddNode("rs1", "192.0.2.11", "2001:db8::11")
	l.rs2 = lab.AddNode("rs2", "192.0.2.12", "2001:db8::12")
	l.client = lab.AddNode("client", "192.0.2.10", "2001:db8::10")
	l.src1, l.src2 = mustAddr("192.0.2.10"), mustAddr("192.0.2.9")
	vmlab.AddAddr(t, l.client, "eth0", netip.MustParsePrefix("192.0.2.9/24"))
	l.rs1IP, l.rs2IP = l.rs1.Addr4(), l.rs2.Addr4()

	vips := []string{"192.0.2.100", "192.0.2.101", "192.0.2.102", "192.0.2.103", "192.0.2.104", "2001:db8::100"}
	for _, v := range vips {
		a := mustAddr(v)
		vmlab.AddAddr(t, dn, "eth0", netip.PrefixFrom(a, a.BitLen()))
	}
	for _, rs := range []*netlab.Node{l.rs1, l.rs2} {
		out := vmlab.RealServer(t, rs, vips...)
		if !strings.Contains(out, "configured (") {
			t.Errorf("lvs-ha realserver in %s: %q", rs.Name(), out)
		}
		if out := vmlab.RealServer(t, rs, vips...); !strings.Contains(out, "already configured") {
			t.Errorf("second lvs-ha realserver in %s: %q, want already configured", rs.Name(), out)
		}
		serve(t, rs, 80, 443, 8080)
	}
	l.dir = newDirector(t, dn)
	// Short FIN_WAIT so that DR connections (the director sees the client's half only
	// and leaves them in FIN_WAIT) stop holding persistence templates.
	l.dir.setTimeouts(t, 0, time.Second, 0)
	t.Logf("DR lab ready in %v", time.Since(start).Round(time.Millisecond))

	vip := mustAddr("192.0.2.100")
	dests := func(w1, w2 int) []dest {
		return []dest{{l.rs1IP, 80, w1, route}, {l.rs2IP, 80, w2, route}}
	}
	c1 := newClient(l.client, l.src1)
	c2 := newClient(l.client, l.src2)

	t.Run("rr", func(t *testing.T) {
		l.dir.set(t, svc{vip: vip, port: 80, sched: "rr", dests: dests(1, 1)})
		alternates(t, c1.series(t, vip, 80, 0, 20))
	})
	t.Run("rr6", func(t *testing.T) {
		vip6 := mustAddr("2001:db8::100")
		l.dir.set(t, svc{vip: vip6, port: 80, sched: "rr", dests: []dest{{l.rs1.Addr6(), 80, 1, route}, {l.rs2.Addr6(), 80, 1, route}}})
		alternates(t, newClient(l.client, netip.Addr{}).series(t, vip6, 80, 0, 20))
	})
	t.Run("wrr", func(t *testing.T) {
		l.dir.set(t, svc{vip: vip, port: 80, sched: "wrr", dests: dests(3, 1)})
		const n = 400
		got := counts(c1.series(t, vip, 80, 0, n))
		share := float64(got["rs1"]) / n
		if math.Abs(share-0.75) > 0.03 || got["rs1"]+got["rs2"] != n {
			t.Errorf("wrr 3:1 over %d requests: %v (rs1 share %.3f), want 75%%/25%% within 3%%", n, got, share)
		}
		t.Logf("wrr 3:1: %v", got)
	})
	t.Run("sh", func(t *testing.T) {
		// A VIP of its own: a new connection whose source port matches one of
		// the wrr run's lingering IPVS entries would follow that entry, not sh.
		shvip := mustAddr("192.0.2.104")
		l.dir.set(t, svc{vip: shvip, port: 80, sched: "sh", dests: dests(1, 1)})
		a := sameServer(t, "sh, client 1", c1.series(t, shvip, 80, 0, 10))
		b := sameServer(t, "sh, client 2", c2.series(t, shvip, 80, 0, 10))
		if again := sameServer(t, "sh, client 1 again", c1.series(t, shvip, 80, 0, 10)); again != a {
			t.Errorf("sh: client 1 moved from %s to %s", a, again)
		}
		t.Logf("sh: %v -> %s, %v -> %s", l.src1, a, l.src2, b)
	})
	t.Run("persistence", func(t *testing.T) {
		// A VIP of its own, so that no other test's connections are in the way.
		pvip := mustAddr("192.0.2.103")
		l.dir.set(t, svc{vip: pvip, port: 80, sched: "rr", persist: 60, dests: dests(1, 1)})
		a := sameServer(t, "rr -p 60, client 1", c1.series(t, pvip, 80, 0, 10))
		b := sameServer(t, "rr -p 60, client 2", c2.series(t, pvip, 80, 0, 10))
		if again := sameServer(t, "rr -p 60, client 1 again", c1.series(t, pvip, 80, 0, 10)); again != a {
			t.Errorf("persistence: client 1 moved from %s to %s", a, again)
		}
		// rr hands the second client's template the other server.
		if a == b {
			t.Errorf("persistence with rr: both clients on %s", a)
		}
		// The persistence templates: client address, port 0, one per client.
		// /proc/net/ip_vs_conn: Pro FromIP FPrt ToIP TPrt DestIP DPrt State Expires.
		table, err := l.dir.conns()
		if err != nil {
			t.Fatal(err)
		}
		vipHex := strings.ToUpper(fmt.Sprintf("%x", pvip.AsSlice()))
		templates := 0
		for _, line := range table {
			if f := strings.Fields(line); len(f) >= 9 && f[3] == vipHex && f[2] == "0000" {
				templates++
			}
		}
		if templates != 2 {
			t.Errorf("%d persistence templates for %v, want 2; table:\n%s", templates, pvip, strings.Join(table, "\n"))
		}
	})
	t.Run("fwmark", func(t *testing.T) {
		fw := mustAddr("192.0.2.101")
		nft := fmt.Sprintf(`table ip vmtraffic {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		ip daddr %s tcp dport { 80, 443 } meta mark set 7
	}
}
`, fw)
		cmd := l.dir.node.Command("/usr/sbin/nft", "-f", "-")
		cmd.Stdin = strings.NewReader(nft)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("nft -f in the director: %v\n%s", err, out)
		}
		defer func() {
			if out, err := l.dir.node.Command("/usr/sbin/nft", "delete", "table", "ip", "vmtraffic").CombinedOutput(); err != nil {
				t.Errorf("nft delete table: %v\n%s", err, out)
			}
		}()
		fwd := []dest{{l.rs1IP, 0, 1, route}, {l.rs2IP, 0, 1, route}}
		// One rr service for both ports: the rotation is shared between them.
		l.dir.set(t, svc{fwmark: 7, sched: "rr", dests: fwd})
		var names []string
		for i := range 20 {
			port := []int{80, 443}[i%2]
			name, err := c1.get(fw, port, 0)
			if err != nil {
				t.Fatalf("request %d to port %d: %v", i, port, err)
			}
			names = append(names, name)
		}
		alternates(t, names)
		// Persistent: both ports of one client land on the same server.
		l.dir.set(t, svc{fwmark: 7, sched: "rr", persist: 60, dests: fwd})
		var p []string
		for i := range 10 {
			port := []int{80, 443}[i%2]
			name, err := c1.get(fw, port, 0)
			if err != nil {
				t.Fatalf("request %d to port %d: %v", i, port, err)
			}
			p = append(p, name)
		}
		sameServer(t, "persistent fwmark service over ports 80 and 443", p)
	})
	t.Run("port0", func(t *testing.T) {
		vip0 := mustAddr("192.0.2.102")
		l.dir.set(t, svc{vip: vip0, port: 0, sched: "rr", persist: 60, dests: []dest{{l.rs1IP, 0, 1, route}, {l.rs2IP, 0, 1, route}}})
		var names []string
		for i := range 12 {
			port := []int{80, 443, 8080}[i%3]
			name, err := c1.get(vip0, port, 0)
			if err != nil {
				t.Fatalf("request %d to port %d: %v", i, port, err)
			}
			names = append(names, name)
		}
		sameServer(t, "persistent port-0 service", names)
	})
}

func TestNAT(t *testing.T) {
	requireVM(t)
	front := netlab.New(t, netlab.Options{Subnet4: netip.MustParsePrefix("203.0.113.0/24"), Subnet6: netip.MustParsePrefix("2001:db8:1::/64")})
	back := netlab.New(t, netlab.Options{Subnet4: netip.MustParsePrefix("198.51.100.0/24"), Subnet6: netip.MustParsePrefix("2001:db8:2::/64")})
	dn := front.AddNode("ndir", "203.0.113.1")
	client := front.AddNode("nclient", "203.0.113.10")
	inner := mustAddr("198.51.100.1")
	vmlab.Attach(t, dn, back, "eth1", netip.PrefixFrom(inner, 24))
	vmlab.Sysctl(t, dn, "net.ipv4.ip_forward", "1")
	vip := mustAddr("203.0.113.100")
	vmlab.AddAddr(t, dn, "eth0", netip.PrefixFrom(vip, 32))
	var rss []*netlab.Node
	for i, name := range []string{"nrs1", "nrs2"} {
		rs := back.AddNode(name, fmt.Sprintf("198.51.100.%d", 11+i))
		vmlab.DefaultRoute(t, rs, inner)
		serve(t, rs, 8080)
		rss = append(rss, rs)
	}
	d := newDirector(t, dn)
	d.set(t, svc{vip: vip, port: 80, sched: "rr", dests: []dest{
		{rss[0].Addr4(), 8080, 1, masq}, {rss[1].Addr4(), 8080, 1, masq},
	}})
	c := newClient(client, netip.Addr{})
	names := c.series(t, vip, 80, 8080, 20)
	alternates(t, names)
	if got := counts(names); got["nrs1"] != 10 || got["nrs2"] != 10 {
		t.Errorf("NAT rr: %v", got)
	}
}

func TestTUN(t *testing.T) {
	requireVM(t)
	lab := netlab.New(t, netlab.Options{})
	dn := lab.AddNode("tdir", "192.0.2.1")
	client := lab.AddNode("tclient", "192.0.2.10")
	vip := mustAddr("192.0.2.100")
	vmlab.AddAddr(t, dn, "eth0", netip.PrefixFrom(vip, 32))
	var ds []dest
	for i, name := range []string{"trs1", "trs2"} {
		rs := lab.AddNode(name, fmt.Sprintf("192.0.2.%d", 11+i))
		out := vmlab.RealServer(t, rs, "-tun", vip.String())
		if !strings.Contains(out, "added 192.0.2.100/32 to tunl0") {
			t.Errorf("lvs-ha realserver -tun in %s: %q", name, out)
		}
		if out := vmlab.RealServer(t, rs, "-tun", vip.String()); !strings.Contains(out, "already configured") {
			t.Errorf("second lvs-ha realserver -tun in %s: %q", name, out)
		}
		serve(t, rs, 80)
		ds = append(ds, dest{rs.Addr4(), 80, 1, tunnel})
	}
	d := newDirector(t, dn)
	d.set(t, svc{vip: vip, port: 80, sched: "rr", dests: ds})
	alternates(t, newClient(client, netip.Addr{}).series(t, vip, 80, 0, 20))
}

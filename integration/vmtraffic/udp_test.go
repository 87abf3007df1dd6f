//go:build vm

package vmtraffic

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
)

// serveUDP answers every datagram to a (bound inside n) with n's name.
func serveUDP(t *testing.T, n *netlab.Node, a netip.AddrPort) {
	t.Helper()
	var pc net.PacketConn
	err := n.Do(func() (err error) {
		pc, err = net.ListenPacket("udp", a.String())
		return err
	})
	if err != nil {
		t.Fatalf("udp listen on %v in %s: %v", a, n.Name(), err)
	}
	t.Cleanup(func() { pc.Close() })
	name := []byte(n.Name())
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(name, from)
		}
	}()
}

// askUDP sends a datagram to a from a new socket in n (a new client port, so a
// new IPVS connection) and returns the answering server's name; it resends on the
// same socket if no answer comes within a second.
func askUDP(n *netlab.Node, a netip.AddrPort) (string, error) {
	var conn net.Conn
	err := n.Do(func() (err error) {
		conn, err = net.Dial("udp", a.String())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("udp dial %v from %s: %w", a, n.Name(), err)
	}
	defer conn.Close()
	buf := make([]byte, 1500)
	for try := 0; try < 5; try++ {
		if _, err := conn.Write([]byte("who")); err != nil {
			return "", fmt.Errorf("udp send to %v: %w", a, err)
		}
		conn.SetReadDeadline(time.Now().Add(time.Second))
		m, err := conn.Read(buf)
		if err == nil {
			return string(buf[:m]), nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return "", fmt.Errorf("udp answer from %v: %w", a, err)
		}
	}
	return "", fmt.Errorf("no udp answer from %v to %s after 5 tries", a, n.Name())
}

// connsOf returns the director's IPVS entries (connections and templates) whose
// client address is c.
func (d *director) connsOf(c netip.Addr) ([]string, error) {
	table, err := d.conns()
	if err != nil {
		return nil, err
	}
	hex := strings.ToUpper(fmt.Sprintf("%x", c.AsSlice()))
	var out []string
	for _, line := range table {
		if f := strings.Fields(line); len(f) >= 9 && f[1] == hex {
			out = append(out, line)
		}
	}
	return out, nil
}

// TestUDPPersistenceTimeout checks that persistence keeps a client on one real
// server until its persistence template expires, and not after: a UDP DR service
// (TCP connections would hold their templates for the 2-minute TIME_WAIT), rr over
// two real servers, IPVS udp timeout 1 s.
//
// The persistence timeout is 2 s, not 1 s: when a template's timer fires while a
// connection it controls is still there, the kernel re-arms the template for 60 s
// (ip_vs_conn_expire, expire_later). With -p 1 the template (armed when the
// connection is created) and the connection (re-armed by each of its packets, udp
// timeout 1 s) expire in the same second, in either order; with -p 2 the
// connection is gone a second before its template's timer fires.
func TestUDPPersistenceTimeout(t *testing.T) {
	requireVM(t)
	start := time.Now()
	lab := netlab.New(t, netlab.Options{})
	dn := lab.AddNode("udir", "192.0.2.1")
	client := lab.AddNode("uclient", "192.0.2.10")
	vip := mustAddr("192.0.2.100")
	const port = 5353
	vmlab.AddAddr(t, dn, "eth0", netip.PrefixFrom(vip, 32))
	var ds []dest
	for i, name := range []string{"urs1", "urs2"} {
		rs := lab.AddNode(name, fmt.Sprintf("192.0.2.%d", 11+i))
		if out := vmlab.RealServer(t, rs, vip.String()); !strings.Contains(out, "configured (") {
			t.Errorf("lvs-ha realserver in %s: %q", name, out)
		}
		// Bound to the VIP (on the real server's lo), so that answers leave from it.
		serveUDP(t, rs, netip.AddrPortFrom(vip, port))
		ds = append(ds, dest{rs.Addr4(), port, 1, route})
	}
	d := newDirector(t, dn)
	d.setTimeouts(t, 0, 0, time.Second)
	const persist = 2
	d.set(t, svc{vip: vip, port: port, udp: true, sched: "rr", persist: persist, dests: ds})
	t.Logf("UDP lab ready in %v", time.Since(start).Round(time.Millisecond))

	a := netip.AddrPortFrom(vip, port)
	ask := func(what string) string {
		t.Helper()
		name, err := askUDP(client, a)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return name
	}
	first := ask("first request")
	t1 := time.Now()
	second := ask("second request, within the persistence timeout")
	if within := time.Since(t1); within >= persist*time.Second {
		t.Fatalf("second request took %v, not within the %d s persistence timeout: cannot judge", within, persist)
	}
	if second != first {
		t.Fatalf("within the persistence timeout: first request to %s, second to %s", first, second)
	}
	entries, err := d.connsOf(client.Addr4())
	if err != nil {
		t.Fatal(err)
	}
	templates := 0
	for _, line := range entries {
		if f := strings.Fields(line); f[2] == "0000" {
			templates++
		}
	}
	if templates != 1 {
		t.Errorf("%d persistence templates for the client, want 1:\n%s", templates, strings.Join(entries, "\n"))
	}

	// Wait for the connections and the template to expire.
	last := time.Now()
	err = netlab.WaitFor(20*time.Second, func() (bool, error) {
		entries, err = d.connsOf(client.Addr4())
		return err == nil && len(entries) == 0, err
	}, func() string {
		return "no IPVS entry for the client; left:\n" + strings.Join(entries, "\n")
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("client's IPVS entries gone %v after its last request", time.Since(last).Round(time.Millisecond))

	third := ask("request after the persistence timeout")
	if third == first {
		t.Errorf("after the persistence timeout: still on %s, want the other server (rr advanced)", first)
	}
	t.Logf("requests: %s, %s within %d s, %s after expiry", first, second, persist, third)
}

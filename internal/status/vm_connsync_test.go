//go:build vm

package status

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lvs-ha/lvs-ha/internal/metrics"
	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
	"github.com/lvs-ha/lvs-ha/ipvs"
)

func TestMain(m *testing.M) { os.Exit(netlab.Main(m)) }

// TestVMConnSync runs the kernel's sync daemons in two directors on one
// segment (lb1 master, lb2 backup, syncid 51 on eth0), opens a TCP connection
// through lb1's virtual service (its real server is lb1 itself: a local
// destination, served on lb1 on any address, keeps the lab to three
// namespaces) and checks that lb2's
// metrics and status document show the backup daemon and the connection
// with origin SYNC, and lb1's the master daemon and the connection LOCAL.
func TestVMConnSync(t *testing.T) {
	vmtest.Require(t)
	lab := netlab.New(t, netlab.Options{})
	client := lab.AddNode("client", "192.0.2.10/24")
	lb1 := lab.AddNode("lb1", "192.0.2.11/24", "192.0.2.100/24")
	lb2 := lab.AddNode("lb2", "192.0.2.12/24")
	vip := netip.MustParseAddrPort("192.0.2.100:80")
	dest := netip.MustParseAddr("192.0.2.11")

	var ln net.Listener
	if err := lb1.Do(func() (err error) { ln, err = net.Listen("tcp4", ":80"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()

	type director struct {
		node  *netlab.Node
		n     *ipvs.Netlink
		state ipvs.SyncState
		src   ipvs.KernelSync
	}
	var ds []director
	for _, d := range []struct {
		node  *netlab.Node
		state ipvs.SyncState
	}{{lb1, ipvs.SyncMaster}, {lb2, ipvs.SyncBackup}} {
		n, err := ipvs.NewNetlinkAt(d.node.NSPath())
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		svc := ipvs.Service{Key: ipvs.AddrKey(ipvs.TCP, vip), Scheduler: "rr"}
		if err := n.NewService(svc); err != nil {
			t.Fatalf("%s: NewService: %v", d.node.Name(), err)
		}
		if err := n.NewDestination(svc.Key, ipvs.Destination{Addr: dest, Port: 80, Weight: 1, Method: ipvs.DR}); err != nil {
			t.Fatalf("%s: NewDestination: %v", d.node.Name(), err)
		}
		if err := n.StartSyncDaemon(ipvs.SyncDaemon{State: d.state, Interface: "eth0", SyncID: 51}); err != nil {
			t.Fatalf("%s: StartSyncDaemon(%v): %v", d.node.Name(), d.state, err)
		}
		defer func() {
			if err := n.StopSyncDaemon(d.state); err != nil {
				t.Errorf("%s: StopSyncDaemon(%v): %v", d.node.Name(), d.state, err)
			}
		}()
		// A process in the namespace lends its /proc/PID/net.
		p := d.node.Start("sleep", "600")
		ds = append(ds, director{d.node, n, d.state,
			ipvs.KernelSync{ProcNet: fmt.Sprintf("/proc/%d/net", p.Pid()), NetNS: d.node.NSPath()}})
	}

	// One TCP connection through lb1: SYN, ACK and data reach sync_threshold's
	// 3 packets, so the master sends the entry within its 1 s flush.
	var c net.Conn
	if err := client.Do(func() (err error) { c, err = net.DialTimeout("tcp4", vip.String(), 5*time.Second); return err }); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		msg := fmt.Sprintf("ping %d\n", i)
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %d: %q, %v", i, buf, err)
		}
	}
	clientAddr := netip.MustParseAddrPort(c.LocalAddr().String())

	find := func(src ipvs.KernelSync) (ipvs.SyncConnection, bool) {
		cs, err := src.SyncConnections()
		if err != nil {
			t.Fatalf("SyncConnections: %v", err)
		}
		for _, sc := range cs {
			if sc.Client == clientAddr && sc.Virtual == vip {
				return sc, true
			}
		}
		return ipvs.SyncConnection{}, false
	}
	deadline := time.Now().Add(20 * time.Second)
	var synced ipvs.SyncConnection
	for {
		var ok bool
		if synced, ok = find(ds[1].src); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lb2 has no entry for %v after 20 s", clientAddr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if synced.Origin != ipvs.OriginSync || synced.Protocol != "TCP" || synced.Dest != netip.AddrPortFrom(dest, 80) {
		t.Errorf("lb2's entry = %+v, want TCP to %v with origin SYNC", synced, dest)
	}
	if local, ok := find(ds[0].src); !ok || local.Origin != ipvs.OriginLocal {
		t.Errorf("lb1's entry = %+v (found %v), want origin LOCAL", local, ok)
	}

	for i, d := range ds {
		origin, other := "local", "sync"
		if d.state == ipvs.SyncBackup {
			origin, other = "sync", "local"
		}
		reg := prometheus.NewRegistry()
		m, err := metrics.New(reg, metrics.Options{})
		if err != nil {
			t.Fatal(err)
		}
		m.SetSources(metrics.Sources{Sync: d.src})
		want := fmt.Sprintf(`
# HELP lvs_ha_ipvs_sync_daemon_up 1 for each connection synchronisation daemon running in the kernel.
# TYPE lvs_ha_ipvs_sync_daemon_up gauge
lvs_ha_ipvs_sync_daemon_up{interface="eth0",state=%q,syncid="51"} 1
`, d.state.String())
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "lvs_ha_ipvs_sync_daemon_up"); err != nil {
			t.Errorf("%s: %v", d.node.Name(), err)
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var got, wrong float64
		for _, mf := range mfs {
			if mf.GetName() != "lvs_ha_ipvs_connections" {
				continue
			}
			for _, s := range mf.GetMetric() {
				l := map[string]string{}
				for _, lp := range s.GetLabel() {
					l[lp.GetName()] = lp.GetValue()
				}
				switch {
				case l["origin"] == origin && l["proto"] == "TCP":
					got += s.GetGauge().GetValue()
				case l["origin"] == other:
					wrong += s.GetGauge().GetValue()
				}
			}
		}
		if got < 1 || wrong != 0 {
			t.Errorf("%s: lvs_ha_ipvs_connections origin=%s TCP = %v, origin=%s = %v; want >= 1 and 0", d.node.Name(), origin, got, other, wrong)
		}

		doc := Build(m.Sources(), "test", time.Now())
		cs := doc.ConnSync
		if cs == nil || len(cs.Daemons) != 1 || cs.Connections == nil || cs.Error != "" {
			t.Fatalf("%s: connection_sync = %+v", d.node.Name(), cs)
		}
		sd := cs.Daemons[0]
		if sd.State != d.state.String() || sd.Interface != "eth0" || sd.SyncID != 51 || sd.Group != "224.0.0.81" || sd.Port != 8848 || sd.MaxLen == 0 {
			t.Errorf("%s: daemon = %+v", d.node.Name(), sd)
		}
		var buf bytes.Buffer
		if err := RenderTable(&buf, doc); err != nil {
			t.Fatal(err)
		}
		n := cs.Connections.Local
		if d.state == ipvs.SyncBackup {
			n = cs.Connections.Sync
		}
		if n < 1 || !strings.Contains(buf.String(), d.state.String()+"  ") {
			t.Errorf("%s: table:\n%s", d.node.Name(), buf.String())
		}
		t.Logf("%s (%d):\n%s", d.node.Name(), i, buf.String())
	}
}

//go:build vm

package ipvs_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
	"github.com/lvs-ha/lvs-ha/ipvs"
)

// newNetlink opens the IPVS netlink handle with an empty table, flushed
// again at cleanup.
func newNetlink(t testing.TB) *ipvs.Netlink {
	t.Helper()
	vmtest.Require(t)
	n, err := ipvs.NewNetlink()
	if err != nil {
		t.Fatalf("NewNetlink: %v", err)
	}
	if err := n.Flush(); err != nil {
		n.Close()
		t.Fatalf("Flush: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Flush(); err != nil {
			t.Errorf("Flush at cleanup: %v", err)
		}
		n.Close()
	})
	return n
}

func TestVMNetlinkRoundTrip(t *testing.T) {
	n := newNetlink(t)
	info, err := n.Info()
	if err != nil || info.Version == 0 || info.ConnTableSize == 0 {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	t.Logf("IPVS %s, conn table %d", info.VersionString(), info.ConnTableSize)

	desired := ipvs.Table{Services: []ipvs.Service{
		{Key: key(ipvs.TCP, "10.0.0.1:80"), Scheduler: "wrr", Destinations: []ipvs.Destination{
			{Addr: vip("10.0.0.2"), Port: 8080, Weight: 3, UpperThreshold: 100, LowerThreshold: 10},
			{Addr: vip("10.0.0.3"), Port: 80, Weight: 1, Method: ipvs.DR},
		}},
		{Key: key(ipvs.UDP, "[fd00::1]:53"), Scheduler: "sh", Flags: ipvs.FlagPersistent | ipvs.FlagSHPort | ipvs.FlagSHFallback,
			Timeout: 120, Netmask: 64, Destinations: []ipvs.Destination{
				{Addr: vip("fd00::2"), Port: 53, Weight: 5, Method: ipvs.Tunnel, TunType: ipvs.TunnelGUE, TunPort: 6080, TunFlags: ipvs.TunnelCsum},
				{Addr: vip("10.0.0.9"), Port: 53, Weight: 5, Method: ipvs.Tunnel}, // mixed family
			}},
		{Key: ipvs.FWMarkKey(ipvs.FamilyIPv4, 7), Scheduler: "mh", Flags: ipvs.FlagPersistent, Timeout: 60, Netmask: 24,
			Destinations: []ipvs.Destination{{Addr: vip("10.0.0.4"), Weight: 2, Method: ipvs.DR}}},
		{Key: key(ipvs.SCTP, "10.0.0.5:0"), Flags: ipvs.FlagPersistent | ipvs.FlagOnePacket, Timeout: 30},
	}}
	ctx := context.Background()
	ch, err := ipvs.Reconcile(ctx, n, desired, ipvs.ReconcileOptions{})
	if err != nil {
		t.Fatalf("Reconcile: %v (%v)", err, ch)
	}
	if ch.ServicesAdded != 4 || ch.DestsAdded != 5 {
		t.Errorf("changes = %v", ch)
	}
	got, err := n.Table()
	if err != nil {
		t.Fatal(err)
	}
	got.Sort() // Table lists in the kernel's order
	want, _ := ipvs.Normalize(desired)
	if len(got.Services) != len(want.Services) {
		t.Fatalf("%d services in kernel, want %d", len(got.Services), len(want.Services))
	}
	for i, w := range want.Services {
		g := got.Services[i]
		if g.Key != w.Key || g.Scheduler != w.Scheduler || g.Flags&^ipvs.FlagHashed != w.Flags ||
			g.Timeout != w.Timeout || g.Netmask != w.Netmask || g.PEName != w.PEName {
			t.Errorf("service %d:\n got %+v\nwant %+v", i, g, w)
		}
		if len(g.Destinations) != len(w.Destinations) {
			t.Errorf("%s: %d destinations, want %d", w.Key, len(g.Destinations), len(w.Destinations))
			continue
		}
		for j, wd := range w.Destinations {
			gd := g.Destinations[j]
			gd.Stats = nil
			if gd.Method != ipvs.Tunnel {
				gd.TunType, gd.TunPort, gd.TunFlags = 0, 0, 0
			}
			if gd != wd {
				t.Errorf("%s dest %d:\n got %+v\nwant %+v", w.Key, j, gd, wd)
			}
		}
	}
	ch, err = ipvs.Reconcile(ctx, n, desired, ipvs.ReconcileOptions{})
	if err != nil || ch.Total() != 0 {
		t.Errorf("second Reconcile: %v, %v", ch, err)
	}

	// Timeouts, zero, daemons.
	old, err := n.Timeouts()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.SetTimeouts(ipvs.Timeouts{TCP: 1000 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if tt, _ := n.Timeouts(); tt.TCP != 1000*time.Second || tt.UDP != old.UDP {
		t.Errorf("timeouts after set = %+v (before %+v)", tt, old)
	}
	_ = n.SetTimeouts(old)
	if err := n.Zero(desired.Services[0].Key); err != nil {
		t.Errorf("Zero: %v", err)
	}
	if err := n.ZeroAll(); err != nil {
		t.Errorf("ZeroAll: %v", err)
	}
	if err := n.DelService(key(ipvs.TCP, "10.9.9.9:1")); err == nil {
		t.Errorf("DelService of a missing service: no error")
	}
	if _, err := n.Connections(); err != nil {
		t.Errorf("Connections: %v", err)
	}
}

// TestVMReconcile1000x10 applies 1000 services with 10 destinations each,
// re-applies (0 changes), then changes one weight (1 change).
func TestVMReconcile1000x10(t *testing.T) {
	n := newNetlink(t)
	ctx := context.Background()
	desired := bigTable(1000, 10)
	start := time.Now()
	ch, err := ipvs.Reconcile(ctx, n, desired, ipvs.ReconcileOptions{})
	applyTime := time.Since(start)
	if err != nil {
		t.Fatalf("first apply: %v", err)
	}
	if ch.ServicesAdded != 1000 || ch.DestsAdded != 10000 || ch.Total() != 11000 {
		t.Fatalf("first apply: %v", ch)
	}
	start = time.Now()
	ch, err = ipvs.Reconcile(ctx, n, desired, ipvs.ReconcileOptions{})
	noopTime := time.Since(start)
	if err != nil || ch.Total() != 0 {
		t.Fatalf("second apply: %v, %v", ch, err)
	}
	desired.Services[500].Destinations[5].Weight = 99
	ch, err = ipvs.Reconcile(ctx, n, desired, ipvs.ReconcileOptions{})
	if err != nil || ch.Total() != 1 || ch.DestsUpdated != 1 {
		t.Fatalf("weight change: %v, %v", ch, err)
	}
	tab, err := n.Table()
	if err != nil {
		t.Fatal(err)
	}
	s := tab.Service(desired.Services[500].Key)
	if s == nil || s.Destination(desired.Services[500].Destinations[5].Addr, 8005).Weight != 99 {
		t.Errorf("weight not applied: %+v", s)
	}
	t.Logf("apply 1000x10: first %v, no-op re-apply %v", applyTime, noopTime)
}

// restoreRules renders t in ipvsadm-save -n format.
func restoreRules(t ipvs.Table) string {
	var b strings.Builder
	for _, s := range t.Services {
		vs := "-t " + netip.AddrPortFrom(s.Key.Addr, s.Key.Port).String()
		fmt.Fprintf(&b, "-A %s -s %s\n", vs, s.SchedulerName())
		for _, d := range s.Destinations {
			fmt.Fprintf(&b, "-a %s -r %s -m -w %d\n", vs, d.AddrPort(), d.Weight)
		}
	}
	return b.String()
}

// ipvsadmRestore runs ipvsadm-restore (or ipvsadm -R) on rules.
func ipvsadmRestore(t testing.TB, rules string) time.Duration {
	t.Helper()
	var cmd *exec.Cmd
	if p, err := exec.LookPath("ipvsadm-restore"); err == nil {
		cmd = exec.Command(p)
	} else if p, err := exec.LookPath("ipvsadm"); err == nil {
		cmd = exec.Command(p, "-R")
	} else {
		t.Skip("no ipvsadm in the VM")
	}
	cmd.Stdin = strings.NewReader(rules)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	return d
}

// TestVMApplyRatio compares a 1000x10 apply with ipvsadm-restore of the
// same rules and logs the ratio.
func TestVMApplyRatio(t *testing.T) {
	n := newNetlink(t)
	desired := bigTable(1000, 10)
	rules := restoreRules(desired)

	restoreTime := ipvsadmRestore(t, rules)
	tab, err := n.Table()
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Services) != 1000 {
		t.Fatalf("ipvsadm restored %d services", len(tab.Services))
	}
	// What ipvsadm set up is what lvs-ha would: nothing to change.
	if ch, err := ipvs.Reconcile(context.Background(), n, desired, ipvs.ReconcileOptions{}); err != nil || ch.Total() != 0 {
		t.Errorf("Reconcile over ipvsadm-restore's table: %v, %v", ch, err)
	}
	if err := n.Flush(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := ipvs.Reconcile(context.Background(), n, desired, ipvs.ReconcileOptions{}); err != nil {
		t.Fatal(err)
	}
	ourTime := time.Since(start)
	t.Logf("apply 1000x10: lvs-ha %v, ipvsadm-restore %v", ourTime, restoreTime)
	t.Logf("apply-ratio lvs-ha/ipvsadm-restore = %.2f", ourTime.Seconds()/restoreTime.Seconds())
}

func BenchmarkApply(b *testing.B) {
	n := newNetlink(b)
	desired := bigTable(1000, 10)
	for b.Loop() {
		b.StopTimer()
		if err := n.Flush(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := ipvs.Reconcile(context.Background(), n, desired, ipvs.ReconcileOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVMStatsCount sends TCP connections over loopback through a NAT
// service on 127.0.0.1 and checks the 64-bit counters increase.
//
// It runs in a namespace of its own: the connections it leaves in TIME_WAIT
// for two minutes would otherwise show in the listings of the next test
// package in the VM (internal/ipvsadm's Lnc golden file has none).
func TestVMStatsCount(t *testing.T) {
	vmtest.Require(t)
	ns := netns.New(t)
	n, err := ipvs.NewNetlinkAt(fmt.Sprintf("/proc/self/fd/%d", ns.Handle()))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	n.ConnPath = "/proc/thread-self/net/ip_vs_conn" // read inside ns.Do
	inNS := func(f func() error) {
		t.Helper()
		if err := ns.Do(f); err != nil {
			t.Fatal(err)
		}
	}
	var ln net.Listener
	inNS(func() (err error) {
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			return fmt.Errorf("ip link set lo up: %v: %s", err, out)
		}
		ln, err = net.Listen("tcp4", "127.0.0.1:0")
		return err
	})
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hello"))
			c.Close()
		}
	}()
	rport := uint16(ln.Addr().(*net.TCPAddr).Port)
	vkey := key(ipvs.TCP, "127.0.0.1:9")
	desired := ipvs.Table{Services: []ipvs.Service{{Key: vkey, Scheduler: "rr",
		Destinations: []ipvs.Destination{{Addr: vip("127.0.0.1"), Port: rport, Weight: 1}}}}}
	if _, err := ipvs.Reconcile(context.Background(), n, desired, ipvs.ReconcileOptions{}); err != nil {
		t.Fatal(err)
	}
	// IPVS on the local output path needs conntrack for loopback; the
	// connection may be refused when the kernel does not schedule it.
	ok := 0
	for range 5 {
		var c net.Conn
		if ns.Do(func() (err error) { c, err = net.DialTimeout("tcp4", "127.0.0.1:9", 2*time.Second); return err }) != nil {
			continue
		}
		buf := make([]byte, 5)
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(buf); err == nil {
			ok++
		}
		c.Close()
	}
	// The kernel folds its per-CPU counters into the reported stats from
	// its rate estimator, every 2 s: poll until they show up.
	var s *ipvs.Service
	for deadline := time.Now().Add(10 * time.Second); ; {
		tab, err := n.Table()
		if err != nil {
			t.Fatal(err)
		}
		s = tab.Service(vkey)
		if s == nil || len(s.Destinations) != 1 {
			t.Fatalf("service missing: %+v", s)
		}
		if ok == 0 || s.Stats.Conns > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%d/5 connections through IPVS; service stats %+v; dest stats %+v", ok, s.Counters(), s.Destinations[0].Counters())
	if ok == 0 {
		t.Skip("no connection went through IPVS on loopback in this kernel setup")
	}
	if s.Stats.Conns == 0 || s.Stats.InPkts == 0 || s.Stats.InBytes == 0 || s.Destinations[0].Stats.Conns == 0 {
		t.Errorf("counters did not increase: %+v", s.Counters())
	}
	var conns []ipvs.Connection
	err = ns.Do(func() (err error) { conns, err = n.Connections(); return err })
	if err != nil || len(conns) == 0 {
		t.Errorf("Connections = %d entries, %v", len(conns), err)
	} else {
		t.Logf("first connection: %+v", conns[0])
	}
}

// TestVMNetlinkAt programs IPVS inside another network namespace.
func TestVMNetlinkAt(t *testing.T) {
	host := newNetlink(t)
	ns := netns.New(t)
	n, err := ipvs.NewNetlinkAt(fmt.Sprintf("/proc/self/fd/%d", ns.Handle()))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	k := key(ipvs.TCP, "10.0.0.1:80")
	if err := n.NewService(ipvs.Service{Key: k}); err != nil {
		t.Fatal(err)
	}
	if tab, err := n.Table(); err != nil || tab.Service(k) == nil {
		t.Errorf("service missing in the namespace: %v", err)
	}
	if tab, err := host.Table(); err != nil || tab.Service(k) != nil {
		t.Errorf("service leaked into the host namespace: %v", err)
	}
}

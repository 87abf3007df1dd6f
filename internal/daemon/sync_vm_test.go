//go:build vm

package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/vishvananda/netlink"
)

// syncThreads counts the kernel's sync daemon threads by role: comm
// "ipvs-m:GEN:ID" (master) and "ipvs-b:GEN:ID" (backup).
func syncThreads(t *testing.T) (master, backup int) {
	t.Helper()
	comms, err := filepath.Glob("/proc/[0-9]*/comm")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range comms {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // exited
		}
		switch c := string(b); {
		case strings.HasPrefix(c, "ipvs-m:"):
			master++
		case strings.HasPrefix(c, "ipvs-b:"):
			backup++
		}
	}
	return master, backup
}

// noClose keeps the test's handle open when syncd closes it.
type noClose struct{ *ipvs.Netlink }

func (noClose) Close() error { return nil }

// nsSysctls is procVS inside a namespace.
type nsSysctls struct{ ns *netns.NS }

func (s nsSysctls) Read(name string) (v string, err error) {
	err = s.ns.Do(func() (err error) { v, err = procVS{}.Read(name); return err })
	return v, err
}

func (s nsSysctls) Write(name, value string) error {
	return s.ns.Do(func() error { return procVS{}.Write(name, value) })
}

// TestVMSyncDaemonTransitions drives the sync daemon manager with the real
// kernel (ipvs.Netlink in a fresh namespace with a veth pair) through 100
// VRRP transitions, MASTER and BACKUP alternating: after each, the kernel
// lists exactly the daemon of the new state and runs exactly its kernel
// thread (no leaked ipvs-m/ipvs-b thread), no apply fails, and at shutdown
// every daemon and thread is gone. It prints the time from the state change
// to the kernel showing the new daemon (p50, p99, max).
func TestVMSyncDaemonTransitions(t *testing.T) {
	vmtest.Require(t)
	if m, b := syncThreads(t); m+b != 0 {
		t.Fatalf("sync daemon threads before the test: %d master, %d backup", m, b)
	}
	ns := netns.New(t)
	err := ns.Do(func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "sync0"}, PeerName: "sync1"}
		if err := netlink.LinkAdd(veth); err != nil {
			return fmt.Errorf("veth: %w", err)
		}
		peer, err := netlink.LinkByName("sync1")
		if err != nil {
			return err
		}
		addr, _ := netlink.ParseAddr("198.51.100.1/24")
		if err := netlink.AddrAdd(veth, addr); err != nil {
			return err
		}
		for _, l := range []netlink.Link{lo, veth, peer} {
			if err := netlink.LinkSetUp(l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	k, err := ipvs.NewNetlinkAt(fmt.Sprintf("/proc/self/fd/%d", ns.Handle()))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()

	logs := &logBuf{}
	plan := syncPlan{
		daemon:   &ipvs.SyncDaemon{Interface: "sync0", SyncID: 51, McastGroup: netip.MustParseAddr("239.0.0.81")},
		instance: "VI_1",
		sysctls:  map[string]string{"sync_retries": "2", "sloppy_tcp": "1", "sync_threshold": "1 10"},
	}
	src := newFakeSource(vrrp.StateBackup)
	s := newSyncd(plan, syncdOptions{
		Logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Open:    func() (syncKernel, error) { return noClose{k}, nil },
		Sysctls: nsSysctls{ns},
	})
	s.setSource(src)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// expect waits until the kernel runs exactly the daemon of role, and
	// its thread only.
	expect := func(step int, role ipvs.SyncState) time.Duration {
		t.Helper()
		start := time.Now()
		var last string
		for time.Since(start) < 60*time.Second {
			ds, err := k.SyncDaemons()
			if err != nil {
				t.Fatalf("step %d: SyncDaemons: %v", step, err)
			}
			m, b := syncThreads(t)
			last = fmt.Sprintf("daemons %+v, threads master %d backup %d", ds, m, b)
			if len(ds) == 1 && ds[0].State == role && ds[0].Interface == "sync0" && ds[0].SyncID == 51 &&
				(role == ipvs.SyncMaster && m == 1 && b == 0 || role == ipvs.SyncBackup && m == 0 && b == 1) {
				return time.Since(start)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("step %d: want only the %s daemon: %s\nlog:\n%s", step, role, last, logs)
		return 0
	}
	expect(0, ipvs.SyncBackup)
	for _, name := range []string{"sync_retries", "sloppy_tcp", "sync_threshold"} {
		v, err := nsSysctls{ns}.Read(name)
		if err != nil || v != plan.sysctls[name] {
			t.Errorf("net.ipv4.vs.%s = %q, %v; want %q", name, v, err, plan.sysctls[name])
		}
	}
	var took []time.Duration
	for i := 1; i <= 100; i++ {
		st, role := vrrp.StateMaster, ipvs.SyncMaster
		if i%2 == 0 {
			st, role = vrrp.StateBackup, ipvs.SyncBackup
		}
		src.set(st)
		s.kick() // as the runner's OnTransition does
		took = append(took, expect(i, role))
	}
	cancel()
	<-done
	if ds, err := k.SyncDaemons(); err != nil || len(ds) != 0 {
		t.Errorf("after shutdown: daemons %+v, %v", ds, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, b := syncThreads(t)
		if m+b == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after shutdown: %d master and %d backup sync threads left", m, b)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), "apply failed"); n > 0 {
		t.Errorf("%d failed applies:\n%s", n, logs)
	}
	starts, stops := strings.Count(logs.String(), `msg="ipvs sync daemon started"`), strings.Count(logs.String(), `msg="ipvs sync daemon stopped"`)
	if starts != 101 || stops != 101 {
		t.Errorf("%d starts and %d stops logged, want 101 each", starts, stops)
	}
	slices.Sort(took)
	t.Logf("100 transitions: state change to kernel daemon p50 %v, p99 %v, max %v; %d starts, %d stops, no error",
		took[len(took)/2].Round(time.Millisecond), took[len(took)*99/100].Round(time.Millisecond),
		took[len(took)-1].Round(time.Millisecond), starts, stops)
}

// TestVMSyncDaemonKernelListingMatches: the kernel lists a daemon with its
// defaults filled in (group 224.0.0.81, port 8848, TTL 1, maxlen from the
// MTU); sameSyncDaemon takes it for the configured one, so lvs-ha adopts a
// daemon that runs as configured and a reload does not restart it.
func TestVMSyncDaemonKernelListingMatches(t *testing.T) {
	vmtest.Require(t)
	ns := netns.New(t)
	if err := ns.Do(func() error {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "sync0"}, PeerName: "sync1"}
		if err := netlink.LinkAdd(veth); err != nil {
			return err
		}
		addr, _ := netlink.ParseAddr("198.51.100.1/24")
		if err := netlink.AddrAdd(veth, addr); err != nil {
			return err
		}
		return netlink.LinkSetUp(veth)
	}); err != nil {
		t.Fatal(err)
	}
	k, err := ipvs.NewNetlinkAt(fmt.Sprintf("/proc/self/fd/%d", ns.Handle()))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	for _, d := range []ipvs.SyncDaemon{
		{Interface: "sync0", SyncID: 7},
		{Interface: "sync0", SyncID: 7, MaxLen: 1400, McastGroup: netip.MustParseAddr("239.0.0.81"), McastPort: 8850, McastTTL: 2},
	} {
		for _, role := range []ipvs.SyncState{ipvs.SyncMaster, ipvs.SyncBackup} {
			w := d
			w.State = role
			if err := k.StartSyncDaemon(w); err != nil {
				t.Fatalf("start %+v: %v", w, err)
			}
			have, err := k.SyncDaemons()
			if err != nil {
				t.Fatal(err)
			}
			if ops := syncOps([]ipvs.SyncDaemon{w}, have, true, map[ipvs.SyncState]bool{}); len(ops) != 0 {
				t.Errorf("configured %+v, kernel lists %+v: ops %v, want none", w, have, ops)
			}
			other := w
			other.SyncID = 8
			if ops := syncOps([]ipvs.SyncDaemon{other}, have, true, map[ipvs.SyncState]bool{}); len(ops) != 2 {
				t.Errorf("configured %+v, kernel lists %+v: ops %v, want a restart", other, have, ops)
			}
			if err := k.StopSyncDaemon(role); err != nil {
				t.Fatalf("stop %s: %v", role, err)
			}
		}
	}
}

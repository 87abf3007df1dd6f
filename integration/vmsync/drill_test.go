//go:build vm

package vmsync

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

func TestMain(m *testing.M) { os.Exit(netlab.Main(m)) }

const (
	nFlows = 50 // flows opened and synced before the failure
	nLate  = 5  // flows opened just before the failure
)

// row is the drill's figures for one event of one run.
type row struct {
	run, event       string
	switchTime       time.Duration // failover: failure to the client's ARP entry for the VIP on lvs2; failback: VIP on lvs1 to that entry on lvs1 and lvs2 without the VIP
	bound            time.Duration // switchTime + 1 s + pause
	synced, survived int           // flows the new master listed with origin SYNC, and those of them that survived
	other, otherOK   int           // flows it did not list (late flows, or all without sync), and survivors
	stall            [3]time.Duration
	lag              [3]time.Duration // sync lag p50/p99/max
	lost             map[string]int   // why flows did not survive
	pause            time.Duration    // the longest the test process did not run (vmlab.WatchPauses)
}

var (
	rowsMu sync.Mutex
	rows   []row
)

// TestSyncDrill is the connection-sync drill of issue #12 (doc.go): DR and NAT,
// each with sync and without (the control).
func TestSyncDrill(t *testing.T) {
	vmtest.Require(t)
	vmlab.RequireLvsHA(t)
	start := time.Now()
	for _, c := range []struct {
		name      string
		nat, sync bool
	}{
		{"DR/sync", false, true},
		{"DR/control", false, false},
		{"NAT/sync", true, true},
		{"NAT/control", true, false},
	} {
		t.Run(c.name, func(t *testing.T) { drill(t, c.name, c.nat, c.sync) })
	}
	var b strings.Builder
	fmt.Fprintf(&b, "connection-sync drill: %d flows + %d late, heartbeat %v, VRRPv3 advert %v, preempt_delay %v (%v)\n",
		nFlows, nLate, heartbeat, advertInt, preemptDelay, time.Since(start).Round(time.Second))
	fmt.Fprintf(&b, "%-12s %-9s %-8s %-8s %-15s %-23s %-14s %-23s %-6s %s\n", "run", "event", "switch", "bound",
		"synced surv.", "stall p50/p99/max", "unsynced surv.", "sync lag p50/p99/max", "pause", "lost")
	rowsMu.Lock()
	for _, r := range rows {
		fmt.Fprintf(&b, "%-12s %-9s %-8s %-8s %-15s %-23s %-14s %-23s %-6s %s\n", r.run, r.event, sec(r.switchTime), sec(r.bound),
			fmt.Sprintf("%d/%d", r.survived, r.synced), triple(r.stall), fmt.Sprintf("%d/%d", r.otherOK, r.other),
			triple(r.lag), sec(r.pause), lostString(r.lost))
	}
	rowsMu.Unlock()
	t.Log("\n" + b.String())
}

func sec(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func triple(d [3]time.Duration) string {
	if d == [3]time.Duration{} {
		return "-"
	}
	return fmt.Sprintf("%s/%s/%s", sec(d[0]), sec(d[1]), sec(d[2]))
}

func lostString(m map[string]int) string {
	var s []string
	for k, v := range m {
		s = append(s, fmt.Sprintf("%s:%d", k, v))
	}
	slices.Sort(s)
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, " ")
}

func drill(t *testing.T, name string, nat, withSync bool) {
	l := newLab(t, nat, withSync)
	lvs1 := l.addDirector("lvs1", "lvs1", 1)
	wait(t, 30*time.Second, "VIP on lvs1", func() bool { return hasVIP(lvs1) })
	lvs2 := l.addDirector("lvs2", "lvs2", 2)
	service := fmt.Sprintf("TCP %s:%d", vip, svcPort)
	for _, d := range []*director{lvs1, lvs2} {
		wait(t, 30*time.Second, "both real servers in "+d.node.Name()+"'s IPVS table", func() bool {
			return len(vmlab.List(t, d.node).Map(vmlab.Service.Key, vmlab.Dest.Short)[service]) == 2
		})
	}
	time.Sleep(3 * advertInt)
	if hasVIP(lvs2) || !hasVIP(lvs1) {
		t.Fatalf("lvs1 should be MASTER and lvs2 BACKUP\nlvs1:\n%s\nlvs2:\n%s", lvs1.proc.LogTail(3000), lvs2.proc.LogTail(3000))
	}
	if withSync {
		daemons(t, lvs1, "master")
		daemons(t, lvs2, "backup")
	}

	stop := make(chan struct{})
	var flows []*flow
	t.Cleanup(func() {
		close(stop)
		for _, f := range flows {
			f.Conn.Close()
		}
	})
	open := func(n int, late bool) []*flow {
		t.Helper()
		var out []*flow
		for range n {
			f, err := openFlow(l.client, len(flows), late, stop)
			if err != nil {
				t.Fatal(err)
			}
			flows = append(flows, f)
			out = append(out, f)
		}
		wait(t, 10*time.Second, "first echo on every new flow", func() bool {
			for _, f := range out {
				if s := f.State(); s.RS == "" {
					if s.Err != nil {
						t.Fatalf("flow %d: %v", f.id, s.Err)
					}
					return false
				}
			}
			return true
		})
		return out
	}
	open(nFlows, false)
	perRS := map[string]int{}
	for _, f := range flows {
		perRS[f.State().RS]++
	}
	t.Logf("%d flows open: %v", len(flows), perRS)

	// Step 2: the backup lists them with origin SYNC.
	var lags []time.Duration
	if withSync {
		seen := map[uint16]bool{}
		wait(t, 20*time.Second, "lvs2 to list every flow with origin SYNC", func() bool {
			ports, err := syncedPorts(lvs2.node)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			for _, f := range flows {
				if ports[f.port] && !seen[f.port] {
					seen[f.port] = true
					lags = append(lags, now.Sub(f.opened))
				}
			}
			return len(seen) == len(flows)
		})
	} else {
		time.Sleep(2 * time.Second)
		if ports, err := syncedPorts(lvs2.node); err != nil || len(ports) != 0 {
			t.Fatalf("control run: lvs2 lists %d synced flows (%v), want none", len(ports), err)
		}
	}

	// Flows opened after the last sync message: counted apart.
	open(nLate, true)
	synced, err := syncedPorts(lvs2.node)
	if err != nil {
		t.Fatal(err)
	}

	// Step 3: the master fails as a machine fails.
	pz := vmlab.WatchPauses()
	failAt := time.Now()
	l.fail(lvs1)
	wait(t, 20*time.Second, "VIP on lvs2", func() bool { return hasVIP(lvs2) })
	l.waitGARP(lvs2)
	switched := time.Now()
	r := observe(t, name, "failover", flows, synced, failAt, switched, pz)
	r.lag = durs(lags)
	record(r)
	check(t, r, withSync, nat)
	if !withSync {
		return
	}
	daemons(t, lvs2, "master")

	// Step 5: lvs1 reboots (a fresh namespace: empty IPVS table, same
	// addresses and configuration), resyncs from lvs2 during preempt_delay and
	// preempts.
	var alive []*flow
	for _, f := range flows {
		if s := f.State(); s.Err == nil && s.Moved == "" {
			alive = append(alive, f)
		}
	}
	bootAt := time.Now()
	lvs1r := l.buildDirector("lvs1r", "lvs1", 1)
	w := watch(lvs1r.node)
	l.run(lvs1r)
	daemons(t, lvs1r, "backup")
	pz = vmlab.WatchPauses()
	wait(t, preemptDelay+30*time.Second, "lvs1 (rebooted) to preempt", func() bool { return hasVIP(lvs1r) })
	takeover := time.Now()
	listed, first, err := w.end()
	if err != nil {
		t.Fatal(err)
	}
	lags = nil
	seen := 0
	for _, f := range alive {
		if at, ok := first[f.port]; ok && listed[f.port] {
			seen++
			lags = append(lags, at.Sub(bootAt))
		}
	}
	t.Logf("lvs1 rebooted and preempted %v after its start; it listed %d of %d live flows with origin SYNC", takeover.Sub(bootAt).Round(time.Millisecond), seen, len(alive))
	l.waitGARP(lvs1r)
	wait(t, 10*time.Second, "lvs2 to drop the VIP", func() bool { return !hasVIP(lvs2) })
	r = observe(t, name, "failback", alive, listed, takeover, time.Now(), pz)
	r.lag = durs(lags)
	record(r)
	check(t, r, withSync, nat)
	if r.synced < nFlows {
		t.Errorf("failback: lvs1 listed only %d flows with origin SYNC when it preempted, want at least the %d regular ones (preempt_delay %v)", r.synced, nFlows, preemptDelay)
	}
}

// observe waits until every flow has recovered or broken after the switch
// (VRRP done at switched, event at at) and returns the figures; listed is what
// the new master held with origin SYNC before the event, pz watches pauses
// from before the event on.
func observe(t *testing.T, run, event string, flows []*flow, listed map[uint16]bool, at, switched time.Time, pz *vmlab.Pauses) row {
	t.Helper()
	r := row{run: run, event: event, switchTime: switched.Sub(at), lost: map[string]int{}}
	deadline := switched.Add(r.switchTime + 4*time.Second)
	for time.Now().Before(deadline) {
		done := true
		for _, f := range flows {
			if s := f.State(); s.Err == nil && !s.EchoedAfter(switched) {
				done = false
			}
		}
		if done {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // resets that come later
	// The bound: the switch plus one second, plus the longest pause of the VM
	// or the test process, in which neither the flows nor the directors ran.
	r.pause = pz.End()
	r.bound = r.switchTime + time.Second + r.pause
	now := time.Now()
	var stalls []time.Duration
	for _, f := range flows {
		s := f.State()
		stall := syncStall(s, at, now)
		reason := ""
		switch {
		case s.Err != nil:
			switch msg := s.Err.Error(); {
			case strings.Contains(msg, "reset"), strings.Contains(msg, "broken pipe"):
				reason = "reset"
			case strings.Contains(msg, "connection closed"):
				reason = "closed"
			default:
				reason = "error"
			}
			if listed[f.port] || reason != "reset" || r.lost["reset"] < 3 {
				t.Logf("%s: flow %d (port %d, %s, late %v, synced %v): %v", event, f.id, f.port, s.RS, f.late, listed[f.port], s.Err)
			}
		case s.Moved != "":
			reason = "moved"
		case !s.EchoedAfter(switched):
			reason = "silent"
		case stall > r.bound:
			reason = "stall"
		}
		if listed[f.port] {
			r.synced++
			stalls = append(stalls, stall)
			if reason == "" {
				r.survived++
			}
		} else {
			r.other++
			if reason == "" {
				r.otherOK++
			}
		}
		if reason != "" {
			r.lost[reason]++
			if reason == "stall" {
				t.Logf("%s: flow %d stalled %v > %v", event, f.id, stall, r.bound)
			}
		}
	}
	r.stall = durs(stalls)
	t.Logf("%s: VRRP switch %v; synced flows survived %d/%d, stall p50/p99/max %s (bound %v); unsynced survived %d/%d; lost %s",
		event, r.switchTime.Round(time.Millisecond), r.survived, r.synced, triple(r.stall), r.bound.Round(time.Millisecond), r.otherOK, r.other, lostString(r.lost))
	return r
}

// check applies the acceptance: every synced flow survives; without sync the
// flows do not (NAT: none survives; DR: rescheduled, some are reset).
func check(t *testing.T, r row, withSync, nat bool) {
	t.Helper()
	switch {
	case withSync && (r.synced == 0 || r.survived != r.synced):
		t.Errorf("%s: %d of %d synced flows survived, want all (lost %s; the test process paused up to %v)", r.event, r.survived, r.synced, lostString(r.lost), r.pause)
	case !withSync && r.synced != 0:
		t.Errorf("control %s: %d flows listed as synced", r.event, r.synced)
	case !withSync && nat && r.otherOK != 0:
		t.Errorf("control %s: %d of %d flows survived without sync in NAT, want none", r.event, r.otherOK, r.other)
	case !withSync && r.otherOK == r.other:
		t.Errorf("control %s: all %d flows survived without sync", r.event, r.other)
	}
}

func durs(ds []time.Duration) [3]time.Duration {
	a, b, c := vmlab.Percentiles(ds)
	return [3]time.Duration{a, b, c}
}

func record(r row) {
	rowsMu.Lock()
	rows = append(rows, r)
	rowsMu.Unlock()
}

// daemons waits until d runs exactly the sync daemon of role (master or
// backup) that lvs_sync_daemon ... VI_1 wants in VI_1's state, as ipvsadm
// -L --daemon lists it.
func daemons(t *testing.T, d *director, role string) {
	t.Helper()
	var out string
	wait(t, 10*time.Second, d.node.Name()+" to run only the "+role+" sync daemon", func() bool {
		out = vmlab.Ipvsadm(t, d.node, "-L", "--daemon")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return len(lines) == 1 && strings.HasPrefix(lines[0], role+" sync daemon (mcast="+syncIf+", syncid=51,")
	})
	t.Logf("%s: %s", d.node.Name(), strings.TrimSpace(out))
}

func wait(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := netlab.WaitFor(limit, func() (bool, error) { return cond(), nil }, func() string { return what }); err != nil {
		t.Fatal(err)
	}
}

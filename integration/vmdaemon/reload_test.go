//go:build vm

package vmdaemon

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

func TestMain(m *testing.M) { os.Exit(netlab.Main(m)) }

// Addresses of the reload drill's lab.
const (
	rlVIP = "192.0.2.100"
	rlRS1 = "192.0.2.11"
	rlRS2 = "192.0.2.12"
)

// Bounds of the drill's client loop: at least rlMinRequests in all and
// rlAfterReload after the reload completed, never more than rlMaxRequests.
const (
	rlMinRequests = 300
	rlBeforeLoad  = 100
	rlAfterReload = 100
	rlMaxRequests = 3000
)

// rlConf is the drill's keepalived.conf: one VRRP instance holding the VIP,
// VS A (VIP:80, what the client uses) and VS B (VIP:8080), whose second real
// server has weight wB.
func rlConf(wB int) string {
	return fmt.Sprintf(`
global_defs {
    router_id vmreload
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        %[1]s/32 dev eth0
    }
}
virtual_server %[1]s 80 {
    lvs_sched rr
    lvs_method DR
    protocol TCP
    delay_loop 1
    real_server %[2]s 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server %[3]s 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server %[1]s 8080 {
    lvs_sched wrr
    lvs_method DR
    protocol TCP
    delay_loop 1
    real_server %[2]s 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server %[3]s 8080 {
        weight %[4]d
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`, rlVIP, rlRS1, rlRS2, wB)
}

// rlTable is `ipvsadm -Ln` in node n: service line (whitespace collapsed)
// → its destinations as "addr:port Forward Weight", sorted.
func rlTable(t *testing.T, n *netlab.Node) map[string][]string {
	t.Helper()
	return vmlab.List(t, n).Map(vmlab.Service.String, vmlab.Dest.Short)
}

func rlFormat(m map[string][]string) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s\n", k)
		for _, d := range m[k] {
			fmt.Fprintf(&b, "  -> %s\n", d)
		}
	}
	return b.String()
}

// rlStateChanges returns the daemon's "VRRP state change" log lines.
func rlStateChanges(log string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `msg="VRRP state change"`) {
			out = append(out, line)
		}
	}
	return out
}

// rlReloadApplies returns the "ipvs applied" log lines between the first
// "reloading" and the first "reloaded".
func rlReloadApplies(log string) []string {
	var out []string
	in := false
	for _, line := range strings.Split(log, "\n") {
		switch {
		case strings.Contains(line, "msg=reloading"):
			in = true
		case strings.Contains(line, "msg=reloaded"):
			return out
		case in && strings.Contains(line, `msg="ipvs applied"`) && strings.Contains(line, " total="):
			out = append(out, line)
		}
	}
	return out
}

// TestReloadUnrelatedWeightUnderTraffic is the reload drill: client requests
// run through the director against VS A while a change to one weight of VS B
// is reloaded with `lvs-ha reload`. No request fails, VRRP does not move,
// VS A is untouched and VS B has its new weight.
func TestReloadUnrelatedWeightUnderTraffic(t *testing.T) {
	vmtest.Require(t)
	vmlab.RequireLvsHA(t)
	start := time.Now()
	lab := netlab.New(t, netlab.Options{})
	dir := lab.AddNode("dir", "192.0.2.1")
	rs1 := lab.AddNode("rs1", rlRS1)
	rs2 := lab.AddNode("rs2", rlRS2)
	client := lab.AddNode("client", "192.0.2.10")
	for _, rs := range []*netlab.Node{rs1, rs2} {
		vmlab.RealServer(t, rs, rlVIP)
		vmlab.Serve(t, rs, 80)
		vmlab.Serve(t, rs, 8080)
	}
	vmlab.ClearIPVS(t, dir)

	tmp := t.TempDir()
	file := filepath.Join(tmp, "keepalived.conf")
	pidFile := filepath.Join(tmp, "pid")
	if err := os.WriteFile(file, []byte(rlConf(1)), 0o644); err != nil {
		t.Fatal(err)
	}
	d := vmlab.Run(t, dir, "to=MASTER", 60*time.Second, "-f", file, "-pid-file", pidFile, "-status-addr", "off")
	svcA := "TCP " + rlVIP + ":80 rr"
	svcB := "TCP " + rlVIP + ":8080 wrr"
	wantA := []string{rlRS1 + ":80 Route 1", rlRS2 + ":80 Route 1"}
	wantB := func(w int) []string {
		return []string{rlRS1 + ":8080 Route 1", fmt.Sprintf("%s:8080 Route %d", rlRS2, w)}
	}
	var before map[string][]string
	err := netlab.WaitFor(30*time.Second, func() (bool, error) {
		before = rlTable(t, dir)
		return len(before) == 2 && slices.Equal(before[svcA], wantA) && slices.Equal(before[svcB], wantB(1)), nil
	}, func() string {
		return "both services with both real servers:\n" + rlFormat(before) + "\nlvs-ha log:\n" + d.Log()
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pidFile); err != nil {
		t.Fatalf("pid file: %v", err)
	}
	// A first request checks the path before the loop starts counting.
	hc := client.HTTPClient()
	url := "http://" + rlVIP + ":80/"
	if _, err := vmlab.Get(hc, url, 80); err != nil {
		t.Fatalf("first request through the director: %v\nlvs-ha log:\n%s", err, d.Log())
	}
	changesBefore := rlStateChanges(d.Log())
	t.Logf("lab and MASTER daemon ready in %v; VRRP state changes so far:\n%s", time.Since(start).Round(time.Millisecond), strings.Join(changesBefore, "\n"))

	// The client loop.
	var (
		sent, failed atomic.Int64
		stop         atomic.Bool
		mu           sync.Mutex
		errs         []string
		served       = map[string]int{}
		loopDone     = make(chan struct{})
	)
	go func() {
		defer close(loopDone)
		for i := 0; i < rlMaxRequests && !stop.Load(); i++ {
			name, err := vmlab.Get(hc, url, 80)
			mu.Lock()
			if err != nil {
				failed.Add(1)
				if len(errs) < 20 {
					errs = append(errs, fmt.Sprintf("request %d at %v: %v", i, time.Since(start).Round(time.Millisecond), err))
				}
			} else {
				served[name]++
			}
			mu.Unlock()
			sent.Add(1)
		}
	}()
	waitSent := func(n int64) {
		t.Helper()
		err := netlab.WaitFor(5*time.Minute, func() (bool, error) {
			select {
			case <-loopDone:
				return true, nil
			default:
			}
			return sent.Load() >= n, nil
		}, func() string { return fmt.Sprintf("%d requests sent", n) })
		if err != nil {
			t.Fatal(err)
		}
	}
	waitSent(rlBeforeLoad)

	// Reload a weight change in VS B only.
	if err := os.WriteFile(file, []byte(rlConf(3)), 0o644); err != nil {
		t.Fatal(err)
	}
	atReload := sent.Load()
	if out, err := dir.Command(vmlab.LvsHABin, "reload", "-pid-file", pidFile).CombinedOutput(); err != nil {
		t.Fatalf("lvs-ha reload: %v\n%s", err, out)
	}
	if err := d.WaitLog("msg=reloaded", 60*time.Second); err != nil {
		t.Fatal(err)
	}
	reloaded := sent.Load()
	t.Logf("reload requested after request %d, reloaded after request %d", atReload, reloaded)
	waitSent(max(rlMinRequests, reloaded+rlAfterReload))
	stop.Store(true)
	<-loopDone
	if sent.Load() <= reloaded {
		t.Fatalf("client loop ended (after %d requests) before the reload completed; the drill did not overlap", sent.Load())
	}

	mu.Lock()
	t.Logf("%d requests, %d failed, served by %v", sent.Load(), failed.Load(), served)
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed:\n%s", failed.Load(), sent.Load(), strings.Join(errs, "\n"))
	}
	if served["rs1"] == 0 || served["rs2"] == 0 {
		t.Errorf("rr over two real servers: answers %v", served)
	}
	mu.Unlock()

	log := d.Log()
	// IPVS: between "reloading" and "reloaded" the daemon applies once, and
	// that apply changes exactly one destination.
	applied := rlReloadApplies(log)
	t.Logf("IPVS applies during the reload:\n%s", strings.Join(applied, "\n"))
	if len(applied) != 1 {
		t.Errorf("the reload made %d IPVS applies, want 1", len(applied))
	}
	total := 0
	for _, line := range applied {
		var n int
		if _, err := fmt.Sscanf(line[strings.Index(line, " total=")+1:], "total=%d", &n); err != nil {
			t.Fatalf("no total in %q: %v", line, err)
		}
		total += n
		if n > 0 && !strings.Contains(line, `changes="services +0 ~0 -0, destinations +0 ~1 -0"`) {
			t.Errorf("reload of one weight made other IPVS changes: %s", line)
		}
	}
	if total != 1 {
		t.Errorf("the reload made %d IPVS changes, want 1 (one weight)", total)
	}
	// VRRP: the startup transitions only, exactly one of them to MASTER and
	// that one last.
	changes := rlStateChanges(log)
	if !slices.Equal(changes, changesBefore) {
		t.Errorf("VRRP state changes during the drill:\n before: %q\n after:  %q", changesBefore, changes)
	}
	toMaster := 0
	for _, c := range changes {
		if strings.Contains(c, "to=MASTER") {
			toMaster++
		}
	}
	if toMaster != 1 || len(changes) == 0 || !strings.Contains(changes[len(changes)-1], "to=MASTER") {
		t.Errorf("want exactly one VRRP state change to MASTER, the last one; got:\n%s", strings.Join(changes, "\n"))
	}
	if strings.Contains(log, "reload partly applied") || strings.Contains(log, "level=ERROR") {
		t.Errorf("errors in the daemon log:\n%s", log)
	}

	after := rlTable(t, dir)
	if !slices.Equal(after[svcA], before[svcA]) || len(after) != 2 {
		t.Errorf("VS A changed by the reload:\nbefore:\n%s\nafter:\n%s", rlFormat(before), rlFormat(after))
	}
	if !slices.Equal(after[svcB], wantB(3)) {
		t.Errorf("VS B after the reload: %q, want %q\n%s", after[svcB], wantB(3), rlFormat(after))
	}
	t.Logf("ipvsadm -Ln after the reload:\n%s", rlFormat(after))
}

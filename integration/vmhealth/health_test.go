//go:build vm

package vmhealth

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

func TestMain(m *testing.M) { os.Exit(netlab.Main(m)) }

// Timings of the drills (seconds) and the bound they imply for a real server
// whose service died: the next check comes at most delay_loop after the last
// success, each failing check takes at most connect_timeout, and retry more
// checks follow delay_before_retry apart.
const (
	delayLoop        = 1
	connectTimeout   = 1
	retry            = 1
	delayBeforeRetry = 1
)

// ejectBound is the worst case from the death of a service to its removal
// (a refused connection fails at once; a hung one after connect_timeout).
var ejectBound = time.Duration(delayLoop+connectTimeout+retry*(delayBeforeRetry+connectTimeout)) * time.Second

// slack covers ipvsadm polling and the apply in the TCG VM: one apply of a
// single change took up to 0.5 s there with the host at load 18 (a hung
// service then showed ejected 4.53 s after the start of the drill against a
// 4 s bound, the check's own timeout on time).
const slack = time.Second

// table is `ipvsadm -Ln` in the director: service key ("TCP addr:port") →
// "addr:port weight" of each destination, sorted.
func table(t *testing.T, dir *netlab.Node) map[string][]string {
	t.Helper()
	return vmlab.List(t, dir).Map(vmlab.Service.Key, func(d vmlab.Dest) string {
		return fmt.Sprintf("%s %d", d.Addr, d.Weight)
	})
}

// waitTable polls ipvsadm until service svc lists exactly want, and returns
// how long that took.
func waitTable(t *testing.T, dir *netlab.Node, d *netlab.Proc, svc string, want []string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	want = slices.Clone(want)
	slices.Sort(want)
	for {
		got := table(t, dir)[svc]
		if slices.Equal(got, want) {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s after %v: %q, want %q\nlvs-ha log:\n%s", svc, time.Since(start), got, want, d.LogTail(4000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestHealthDrills(t *testing.T) {
	vmtest.Require(t)
	lab := netlab.New(t, netlab.Options{})
	dir := lab.AddNode("dir", "192.0.2.1")
	rs1 := lab.AddNode("rs1", "192.0.2.11")
	rs2 := lab.AddNode("rs2", "192.0.2.12")
	a1, a2 := vmlab.Serve(t, rs1, 8080), vmlab.Serve(t, rs2, 8080)
	b1, _ := vmlab.Serve(t, rs1, 8081), vmlab.Serve(t, rs2, 8081)

	tmp := t.TempDir()
	qup, qdown := filepath.Join(tmp, "quorum_up"), filepath.Join(tmp, "quorum_down")
	nup, ndown := filepath.Join(tmp, "notify_up"), filepath.Join(tmp, "notify_down")
	timing := fmt.Sprintf(`
    delay_loop %d
    connect_timeout %d
    retry %d
    delay_before_retry %d
    warmup 0`, delayLoop, connectTimeout, retry, delayBeforeRetry)
	cfg := `
global_defs {
    router_id vmhealth
}
virtual_server 192.0.2.1 80 {
    lvs_sched rr
    lvs_method NAT
    protocol TCP` + timing + `
    sorry_server 192.0.2.19 8080
    real_server 192.0.2.11 8080 {
        notify_up "touch ` + nup + `"
        notify_down "touch ` + ndown + `"
        HTTP_GET {
            url {
                path /
                status_code 200
            }
        }
    }
    real_server 192.0.2.12 8080 {
        HTTP_GET {
            url {
                path /
            }
        }
    }
}
virtual_server 192.0.2.1 81 {
    lvs_sched rr
    lvs_method NAT
    protocol TCP` + timing + `
    inhibit_on_failure
    quorum 2
    quorum_up "touch ` + qup + `"
    quorum_down "touch ` + qdown + `"
    real_server 192.0.2.11 8081 {
        TCP_CHECK {
        }
    }
    real_server 192.0.2.12 8081 {
        TCP_CHECK {
        }
    }
}
`
	file := filepath.Join(tmp, "keepalived.conf")
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	vmlab.ClearIPVS(t, dir)
	d := vmlab.Run(t, dir, "health checks running", 60*time.Second, "-f", file, "-log-level", "debug")
	const svcA, svcB = "TCP 192.0.2.1:80", "TCP 192.0.2.1:81"
	bothA := []string{"192.0.2.11:8080 1", "192.0.2.12:8080 1"}
	bothB := []string{"192.0.2.11:8081 1", "192.0.2.12:8081 1"}
	waitTable(t, dir, d, svcA, bothA, 30*time.Second)
	waitTable(t, dir, d, svcB, bothB, 30*time.Second)
	// let every check run once
	time.Sleep(2 * delayLoop * time.Second)
	waitTable(t, dir, d, svcA, bothA, 0)

	t.Run("killed leaves, restarted returns", func(t *testing.T) {
		var worst time.Duration
		for i := 0; i < 3; i++ {
			a1.Stop()
			took := waitTable(t, dir, d, svcA, []string{"192.0.2.12:8080 1"}, ejectBound+10*time.Second)
			t.Logf("round %d: refused service ejected after %v (bound %v)", i, took.Round(time.Millisecond), ejectBound)
			worst = max(worst, took)
			a1.Start()
			back := waitTable(t, dir, d, svcA, bothA, delayLoop*time.Second+10*time.Second)
			t.Logf("round %d: restarted service back after %v (bound %v)", i, back.Round(time.Millisecond), delayLoop*time.Second)
			if back > delayLoop*time.Second+connectTimeout*time.Second+slack {
				t.Errorf("return took %v > delay_loop + connect_timeout + %v", back, slack)
			}
		}
		if worst > ejectBound+slack {
			t.Errorf("ejection took up to %v > bound %v + %v", worst, ejectBound, slack)
		}
		if !exists(ndown) || !exists(nup) {
			t.Errorf("notify_down ran: %v, notify_up ran: %v", exists(ndown), exists(nup))
		}
		if !strings.Contains(d.Log(), `msg="real server down" virtual_server="TCP 192.0.2.1:80" real_server=192.0.2.11:8080`) {
			t.Errorf("no real server down log line")
		}
	})

	t.Run("hung service times out", func(t *testing.T) {
		a2.SetHang(true)
		took := waitTable(t, dir, d, svcA, []string{"192.0.2.11:8080 1"}, ejectBound+10*time.Second)
		t.Logf("hung service ejected after %v (bound %v)", took.Round(time.Millisecond), ejectBound)
		if took > ejectBound+slack {
			t.Errorf("ejection took %v > bound %v + %v", took, ejectBound, slack)
		}
		if !strings.Contains(d.Log(), `real_server=192.0.2.12:8080 action=removed check="TCP 192.0.2.1:80/192.0.2.12:8080/HTTP_GET#0" reason="timeout`) {
			t.Errorf("no timeout reason logged:\n%s", d.LogTail(3000))
		}
		a2.SetHang(false)
		waitTable(t, dir, d, svcA, bothA, delayLoop*time.Second+10*time.Second)
	})

	t.Run("sorry server while all down", func(t *testing.T) {
		a1.Stop()
		a2.Stop()
		took := waitTable(t, dir, d, svcA, []string{"192.0.2.19:8080 1"}, ejectBound+10*time.Second)
		t.Logf("sorry server in after %v", took.Round(time.Millisecond))
		a2.Start()
		took = waitTable(t, dir, d, svcA, []string{"192.0.2.12:8080 1"}, delayLoop*time.Second+10*time.Second)
		t.Logf("sorry server out after %v", took.Round(time.Millisecond))
		a1.Start()
		waitTable(t, dir, d, svcA, bothA, delayLoop*time.Second+10*time.Second)
	})

	t.Run("inhibit_on_failure and quorum", func(t *testing.T) {
		if exists(qdown) || exists(qup) {
			t.Fatalf("quorum scripts ran before any change: down %v up %v", exists(qdown), exists(qup))
		}
		b1.Stop()
		took := waitTable(t, dir, d, svcB, []string{"192.0.2.11:8081 0", "192.0.2.12:8081 1"}, ejectBound+10*time.Second)
		t.Logf("inhibited (weight 0) after %v (bound %v)", took.Round(time.Millisecond), ejectBound)
		if took > ejectBound+slack {
			t.Errorf("inhibit took %v > bound %v + %v", took, ejectBound, slack)
		}
		if err := netlab.WaitFor(5*time.Second, func() (bool, error) { return exists(qdown), nil },
			func() string { return "quorum_down script" }); err != nil {
			t.Error(err)
		}
		if exists(qup) {
			t.Error("quorum_up ran while quorum was lost")
		}
		b1.Start()
		waitTable(t, dir, d, svcB, bothB, delayLoop*time.Second+10*time.Second)
		if err := netlab.WaitFor(5*time.Second, func() (bool, error) { return exists(qup), nil },
			func() string { return "quorum_up script" }); err != nil {
			t.Error(err)
		}
		if !strings.Contains(d.Log(), `msg="quorum lost" virtual_server="TCP 192.0.2.1:81" weight_sum=1 quorum=2`) {
			t.Errorf("no quorum lost log line")
		}
	})
}

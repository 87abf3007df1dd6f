//go:build vm

package vmhealth

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

func TestMain(m *testing.M) { os.Exit(netlab.Main(m)) }

const lvsha = "/usr/local/bin/lvs-ha"

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

// slack covers ipvsadm polling and the apply in the TCG VM.
const slack = 500 * time.Millisecond

// server is an HTTP real server in a namespace that can be stopped,
// restarted and made to hang.
type server struct {
	t    *testing.T
	node *netlab.Node
	port int
	hang atomic.Bool

	mu  sync.Mutex
	srv *http.Server
}

func newServer(t *testing.T, n *netlab.Node, port int) *server {
	s := &server{t: t, node: n, port: port}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *server) start() {
	s.t.Helper()
	var ln net.Listener
	err := s.node.Do(func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", s.port))
		return err
	})
	if err != nil {
		s.t.Fatalf("listen in %s: %v", s.node.Name(), err)
	}
	body := fmt.Sprintf("%s %d\n", s.node.Name(), s.port)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for s.hang.Load() {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
		io.WriteString(w, body)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
}

// stop closes the listener and connections: new connections are refused.
func (s *server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

// table is `ipvsadm -Ln` in the director: service line → "addr:port weight" of
// each destination, sorted.
func table(t *testing.T, dir *netlab.Node) map[string][]string {
	t.Helper()
	out, err := dir.Command("ipvsadm", "-Ln").CombinedOutput()
	if err != nil {
		t.Fatalf("ipvsadm -Ln: %v\n%s", err, out)
	}
	res := map[string][]string{}
	cur := ""
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 2 && (f[0] == "TCP" || f[0] == "UDP"):
			cur = f[1]
			res[cur] = []string{}
		case len(f) >= 4 && f[0] == "->" && cur != "":
			res[cur] = append(res[cur], f[1]+" "+f[3])
		}
	}
	for k := range res {
		slices.Sort(res[k])
	}
	return res
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
			t.Fatalf("%s after %v: %q, want %q\nlvs-ha log:\n%s", svc, time.Since(start), got, want, tail(d.Log(), 4000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestHealthDrills(t *testing.T) {
	vmtest.Require(t)
	lab := netlab.New(t, netlab.Options{})
	dir := lab.AddNode("dir", "192.0.2.1")
	rs1 := lab.AddNode("rs1", "192.0.2.11")
	rs2 := lab.AddNode("rs2", "192.0.2.12")
	a1, a2 := newServer(t, rs1, 8080), newServer(t, rs2, 8080)
	b1, _ := newServer(t, rs1, 8081), newServer(t, rs2, 8081)

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
	if out, err := dir.Command("ipvsadm", "-C").CombinedOutput(); err != nil {
		t.Fatalf("ipvsadm -C: %v\n%s", err, out)
	}
	d := dir.Start(lvsha, "run", "-f", file, "-log-level", "debug")
	if err := d.WaitLog("health checks running", 60*time.Second); err != nil {
		t.Fatal(err)
	}
	const svcA, svcB = "192.0.2.1:80", "192.0.2.1:81"
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
			a1.stop()
			took := waitTable(t, dir, d, svcA, []string{"192.0.2.12:8080 1"}, ejectBound+10*time.Second)
			t.Logf("round %d: refused service ejected after %v (bound %v)", i, took.Round(time.Millisecond), ejectBound)
			worst = max(worst, took)
			a1.start()
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
		a2.hang.Store(true)
		took := waitTable(t, dir, d, svcA, []string{"192.0.2.11:8080 1"}, ejectBound+10*time.Second)
		t.Logf("hung service ejected after %v (bound %v)", took.Round(time.Millisecond), ejectBound)
		if took > ejectBound+slack {
			t.Errorf("ejection took %v > bound %v + %v", took, ejectBound, slack)
		}
		if !strings.Contains(d.Log(), `real_server=192.0.2.12:8080 action=removed check="TCP 192.0.2.1:80/192.0.2.12:8080/HTTP_GET#0" reason="timeout`) {
			t.Errorf("no timeout reason logged:\n%s", tail(d.Log(), 3000))
		}
		a2.hang.Store(false)
		waitTable(t, dir, d, svcA, bothA, delayLoop*time.Second+10*time.Second)
	})

	t.Run("sorry server while all down", func(t *testing.T) {
		a1.stop()
		a2.stop()
		took := waitTable(t, dir, d, svcA, []string{"192.0.2.19:8080 1"}, ejectBound+10*time.Second)
		t.Logf("sorry server in after %v", took.Round(time.Millisecond))
		a2.start()
		took = waitTable(t, dir, d, svcA, []string{"192.0.2.12:8080 1"}, delayLoop*time.Second+10*time.Second)
		t.Logf("sorry server out after %v", took.Round(time.Millisecond))
		a1.start()
		waitTable(t, dir, d, svcA, bothA, delayLoop*time.Second+10*time.Second)
	})

	t.Run("inhibit_on_failure and quorum", func(t *testing.T) {
		if exists(qdown) || exists(qup) {
			t.Fatalf("quorum scripts ran before any change: down %v up %v", exists(qdown), exists(qup))
		}
		b1.stop()
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
		b1.start()
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

package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/internal/clock"
	"github.com/lvs-ha/lvs-ha/internal/script"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
)

// scripts records the scripts the health component runs.
type scripts struct {
	mu  sync.Mutex
	ran []string
}

func (s *scripts) run(spec script.Spec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ran = append(s.ran, strings.Join(spec.Argv, " "))
}

func (s *scripts) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.ran
	s.ran = nil
	return r
}

// formatTable prints a table's destinations as
// "TCP 192.0.2.1:80: 10.0.0.1:80 w3, 10.0.0.2:80 w0", services sorted.
func formatTable(t ipvs.Table) string {
	var lines []string
	for _, s := range t.Services {
		var ds []string
		for _, d := range s.Destinations {
			ds = append(ds, fmt.Sprintf("%s:%d w%d", d.Addr, d.Port, d.Weight))
		}
		slices.Sort(ds)
		lines = append(lines, s.Key.String()+": "+strings.Join(ds, ", "))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func newTestHealth(t *testing.T, src string) (*health, *conf.Config, *scripts, *logBuf) {
	t.Helper()
	cfg := loadConf(t, src)
	sc := &scripts{}
	lb := &logBuf{}
	h, err := newHealth(cfg, healthOptions{
		Logger:    slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RunScript: sc.run,
	})
	if err != nil {
		t.Fatal(err)
	}
	return h, cfg, sc, lb
}

func intp(i int) *int { return &i }

// step is one check transition and what must follow.
type step struct {
	id     string // check ID, short form "RS#i" expanded by the test
	up     bool
	weight *int
	reason string
	table  string   // expected formatTable
	ran    []string // scripts run by this step
}

func runSteps(t *testing.T, src, vs, initial string, steps []step) *logBuf {
	t.Helper()
	h, cfg, sc, lb := newTestHealth(t, src)
	tb, err := h.table(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := formatTable(tb); got != initial {
		t.Fatalf("initial table\n got: %s\nwant: %s", got, initial)
	}
	for i, s := range steps {
		id := vs + "/" + s.id
		if _, ok := h.byCheck[id]; !ok {
			t.Fatalf("step %d: no check %q; have %v", i, id, h.checkIDs())
		}
		h.transition(healthcheck.Transition{ID: id, Up: s.up, Weight: s.weight, Reason: s.reason, Detail: "d"})
		tb, err := h.table(cfg)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := formatTable(tb); got != s.table {
			t.Errorf("step %d (%s up=%v): table\n got: %s\nwant: %s\n%s", i, s.id, s.up, got, s.table, h.describe())
		}
		if got := sc.take(); !slices.Equal(got, s.ran) {
			t.Errorf("step %d (%s up=%v): scripts %q, want %q", i, s.id, s.up, got, s.ran)
		}
	}
	return lb
}

func (h *health) checkIDs() []string {
	var ids []string
	for _, c := range h.checks {
		ids = append(ids, c.ID)
	}
	return ids
}

const vs80 = "TCP 192.0.2.1:80"

func TestHealthDownRemovedAndBack(t *testing.T) {
	lb := runSteps(t, `
virtual_server 192.0.2.1 80 {
    protocol TCP
    real_server 10.0.0.1 80 {
        weight 3
        notify_up "/bin/up 10.0.0.1"
        notify_down "/bin/down 10.0.0.1"
        TCP_CHECK {
        }
    }
    real_server 10.0.0.2 80 {
        weight 2
    }
}`, vs80, "TCP 192.0.2.1:80: 10.0.0.1:80 w3, 10.0.0.2:80 w2", []step{
		{id: "10.0.0.1:80/TCP_CHECK#0", up: false, reason: healthcheck.ReasonTimeout,
			table: "TCP 192.0.2.1:80: 10.0.0.2:80 w2", ran: []string{"/bin/down 10.0.0.1"}},
		{id: "10.0.0.1:80/TCP_CHECK#0", up: false, reason: healthcheck.ReasonTimeout, // repeated: nothing
			table: "TCP 192.0.2.1:80: 10.0.0.2:80 w2"},
		{id: "10.0.0.1:80/TCP_CHECK#0", up: true, reason: healthcheck.ReasonOK,
			table: "TCP 192.0.2.1:80: 10.0.0.1:80 w3, 10.0.0.2:80 w2", ran: []string{"/bin/up 10.0.0.1"}},
	})
	if !strings.Contains(lb.String(), `msg="real server down" virtual_server="TCP 192.0.2.1:80" real_server=10.0.0.1:80 action=removed check="TCP 192.0.2.1:80/10.0.0.1:80/TCP_CHECK#0" reason="timeout: d"`) {
		t.Errorf("no down log line with reason:\n%s", lb)
	}
}

func TestHealthInhibitOnFailure(t *testing.T) {
	runSteps(t, `
virtual_server 192.0.2.1 80 {
    protocol TCP
    inhibit_on_failure
    real_server 10.0.0.1 80 {
        weight 3
        HTTP_GET {
            url {
                path /
            }
        }
    }
    real_server 10.0.0.2 80 {
        weight 2
        inhibit_on_failure false
        TCP_CHECK {
        }
    }
}`, vs80, "TCP 192.0.2.1:80: 10.0.0.1:80 w3, 10.0.0.2:80 w2", []step{
		{id: "10.0.0.1:80/HTTP_GET#0", up: false, reason: healthcheck.ReasonStatus,
			table: "TCP 192.0.2.1:80: 10.0.0.1:80 w0, 10.0.0.2:80 w2"},
		{id: "10.0.0.2:80/TCP_CHECK#0", up: false, reason: healthcheck.ReasonRefused,
			table: "TCP 192.0.2.1:80: 10.0.0.1:80 w0"},
		{id: "10.0.0.1:80/HTTP_GET#0", up: true, reason: healthcheck.ReasonOK,
			table: "TCP 192.0.2.1:80: 10.0.0.1:80 w3"},
	})
}

func TestHealthAlphaAllCheckersAndDynamicWeight(t *testing.T) {
	runSteps(t, `
virtual_server 192.0.2.1 80 {
    protocol TCP
    alpha
    real_server 10.0.0.1 80 {
        weight 3
        TCP_CHECK {
        }
        MISC_CHECK {
            misc_path "/bin/check 10.0.0.1"
            misc_dynamic
        }
    }
    real_server 10.0.0.2 80 {
        weight 2
    }
}`, vs80, "TCP 192.0.2.1:80: 10.0.0.2:80 w2", []step{
		// alpha: down until every checker succeeded once
		{id: "10.0.0.1:80/TCP_CHECK#0", up: true, table: "TCP 192.0.2.1:80: 10.0.0.2:80 w2"},
		{id: "10.0.0.1:80/MISC_CHECK#1", up: true, table: "TCP 192.0.2.1:80: 10.0.0.1:80 w3, 10.0.0.2:80 w2"},
		{id: "10.0.0.1:80/MISC_CHECK#1", up: true, weight: intp(7), table: "TCP 192.0.2.1:80: 10.0.0.1:80 w7, 10.0.0.2:80 w2"},
		{id: "10.0.0.1:80/TCP_CHECK#0", up: false, table: "TCP 192.0.2.1:80: 10.0.0.2:80 w2"},
		{id: "10.0.0.1:80/MISC_CHECK#1", up: true, table: "TCP 192.0.2.1:80: 10.0.0.2:80 w2"}, // weight back to nil, still down
		{id: "10.0.0.1:80/TCP_CHECK#0", up: true, table: "TCP 192.0.2.1:80: 10.0.0.1:80 w3, 10.0.0.2:80 w2"},
	})
}

func TestHealthQuorumHysteresis(t *testing.T) {
	// weights 2+2+2, quorum 4, hysteresis 1: lost below 3, gained at 5.
	runSteps(t, `
virtual_server 192.0.2.1 80 {
    protocol TCP
    quorum 4
    hysteresis 1
    quorum_up "/bin/qup vs1"
    quorum_down "/bin/qdown vs1"
    real_server 10.0.0.1 80 {
        weight 2
        TCP_CHECK {
        }
    }
    real_server 10.0.0.2 80 {
        weight 2
        TCP_CHECK {
        }
    }
    real_server 10.0.0.3 80 {
        weight 2
    }
}`, vs80, "TCP 192.0.2.1:80: 10.0.0.1:80 w2, 10.0.0.2:80 w2, 10.0.0.3:80 w2", []step{
		{id: "10.0.0.1:80/TCP_CHECK#0", up: false, table: "TCP 192.0.2.1:80: 10.0.0.2:80 w2, 10.0.0.3:80 w2"}, // 4: still up
		{id: "10.0.0.2:80/TCP_CHECK#0", up: false, table: "TCP 192.0.2.1:80: 10.0.0.3:80 w2", ran: []string{"/bin/qdown vs1"}},
		{id: "10.0.0.2:80/TCP_CHECK#0", up: true, table: "TCP 192.0.2.1:80: 10.0.0.2:80 w2, 10.0.0.3:80 w2"}, // 4 < 5: still down
		{id: "10.0.0.2:80/TCP_CHECK#0", up: false, table: "TCP 192.0.2.1:80: 10.0.0.3:80 w2"},                // no second quorum_down
		{id: "10.0.0.2:80/TCP_CHECK#0", up: true, table: "TCP 192.0.2.1:80: 10.0.0.2:80 w2, 10.0.0.3:80 w2"},
		{id: "10.0.0.1:80/TCP_CHECK#0", up: true, table: "TCP 192.0.2.1:80: 10.0.0.1:80 w2, 10.0.0.2:80 w2, 10.0.0.3:80 w2", ran: []string{"/bin/qup vs1"}},
	})
}

func TestHealthSorryServer(t *testing.T) {
	for _, inhibit := range []bool{false, true} {
		t.Run(fmt.Sprintf("inhibit=%v", inhibit), func(t *testing.T) {
			extra, off := "", ""
			if inhibit {
				extra, off = "sorry_server_inhibit", ", 10.0.0.9:80 w0"
			}
			initial := "TCP 192.0.2.1:80: 10.0.0.1:80 w1, 10.0.0.2:80 w1" + off
			runSteps(t, `
virtual_server 192.0.2.1 80 {
    protocol TCP
    sorry_server 10.0.0.9 80
    `+extra+`
    quorum_down /bin/qdown
    real_server 10.0.0.1 80 {
        TCP_CHECK {
        }
    }
    real_server 10.0.0.2 80 {
        inhibit_on_failure
        TCP_CHECK {
        }
    }
}`, vs80, initial, []step{
				{id: "10.0.0.1:80/TCP_CHECK#0", up: false, table: "TCP 192.0.2.1:80: 10.0.0.2:80 w1" + off},
				{id: "10.0.0.2:80/TCP_CHECK#0", up: false, table: "TCP 192.0.2.1:80: 10.0.0.2:80 w0, 10.0.0.9:80 w1", ran: []string{"/bin/qdown"}},
				{id: "10.0.0.1:80/TCP_CHECK#0", up: true, table: "TCP 192.0.2.1:80: 10.0.0.1:80 w1, 10.0.0.2:80 w0" + off},
			})
		})
	}
}

func TestHealthAlphaSorryServerAtStart(t *testing.T) {
	runSteps(t, `
virtual_server 192.0.2.1 80 {
    protocol TCP
    alpha
    sorry_server 10.0.0.9 80
    real_server 10.0.0.1 80 {
        TCP_CHECK {
        }
    }
}`, vs80, "TCP 192.0.2.1:80: 10.0.0.9:80 w1", []step{
		{id: "10.0.0.1:80/TCP_CHECK#0", up: true, table: "TCP 192.0.2.1:80: 10.0.0.1:80 w1"},
	})
}

func TestHealthTranslation(t *testing.T) {
	h, _, _, _ := newTestHealth(t, `
SSL {
    ca /etc/ca.pem
}
virtual_server 192.0.2.1 80 {
    protocol TCP
    delay_loop 7
    omega
    virtualhost vs.example
    real_server 10.0.0.1 8080 {
        HTTP_GET {
            connect_port 8081
            connect_timeout 2
            retry 4
            delay_before_retry 3
            url {
                path /health
                digest 0123456789abcdef0123456789abcdef
                status_code 200-204 302
            }
        }
        SMTP_CHECK {
            host {
                connect_ip 10.0.0.5
                connect_port 25
            }
            host {
                connect_ip 10.0.0.6
                connect_port 25
            }
        }
    }
}`)
	var ids []string
	for _, c := range h.Checks() {
		ids = append(ids, c.ID)
	}
	want := []string{
		"TCP 192.0.2.1:80/10.0.0.1:8080/HTTP_GET#0",
		"TCP 192.0.2.1:80/10.0.0.1:8080/SMTP_CHECK#1/host1",
		"TCP 192.0.2.1:80/10.0.0.1:8080/SMTP_CHECK#1/host2",
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("check IDs %q, want %q", ids, want)
	}
	c := h.Checks()[0]
	tm := c.Timing
	if tm.DelayLoop != 7*time.Second || tm.Retry != 4 || tm.DelayBeforeRetry != 3*time.Second || !tm.Omega || tm.Alpha {
		t.Errorf("timing %+v", tm)
	}
	o := c.Checker.(healthcheck.Definer).Definition().(healthcheck.HTTPOptions)
	if o.ConnectIP.String() != "10.0.0.1" || o.ConnectPort != 8081 || o.ConnectTimeout != 2*time.Second ||
		o.VirtualHost != "vs.example" || o.CAFile != "/etc/ca.pem" || len(o.URLs) != 1 ||
		o.URLs[0].Digest != "0123456789abcdef0123456789abcdef" ||
		!slices.Equal(o.URLs[0].StatusCodes, []healthcheck.StatusRange{{Lo: 200, Hi: 204}, {Lo: 302, Hi: 302}}) {
		t.Errorf("HTTP options %+v", o)
	}
	s := h.Checks()[2].Checker.(healthcheck.Definer).Definition().(healthcheck.SMTPOptions)
	if s.ConnectIP.String() != "10.0.0.6" || s.ConnectPort != 25 {
		t.Errorf("SMTP host 2 options %+v", s)
	}
}

// fakeChecker returns the result set by set.
type fakeChecker struct {
	name string
	ok   atomic.Bool
	runs atomic.Int32
}

func (f *fakeChecker) Check(context.Context) healthcheck.Result {
	f.runs.Add(1)
	if f.ok.Load() {
		return healthcheck.Result{OK: true, Reason: healthcheck.ReasonOK}
	}
	return healthcheck.Result{Reason: healthcheck.ReasonStatus, Detail: "status 503"}
}

func (f *fakeChecker) Definition() any { return f.name }

// TestHealthRunnerDrivesIPVS runs the health loop with a fake clock, fake
// checkers and the IPVS component on a fake kernel: a failing checker takes
// its real server out after retry × delay_before_retry, recovery puts it back.
func TestHealthRunnerDrivesIPVS(t *testing.T) {
	h, cfg, sc, lb := newTestHealth(t, `
virtual_server 192.0.2.1 80 {
    protocol TCP
    delay_loop 2
    retry 2
    delay_before_retry 1
    warmup 0
    real_server 10.0.0.1 80 {
        weight 3
        notify_down "/bin/down 10.0.0.1"
        HTTP_GET {
            url {
                path /
            }
        }
    }
    real_server 10.0.0.2 80 {
        weight 2
        TCP_CHECK {
        }
    }
}`)
	fk := &fakeKernel{Kernel: &ipvstest.Kernel{}}
	clk := clock.NewFake(time.Unix(1000, 0))
	h.clk = clk
	fakes := map[string]*fakeChecker{}
	for i := range h.checks {
		f := &fakeChecker{name: h.checks[i].ID}
		f.ok.Store(true)
		fakes[h.checks[i].ID] = f
		h.checks[i].Checker = f
	}
	initial, err := h.table(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newTestIPVS(t, fk, ipvsOptions{Desired: initial, Clock: clk})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var applies atomic.Int32
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = h.run(ctx, cfg, 4, func(ctx context.Context, tb ipvs.Table) error {
			applies.Add(1)
			_, err := c.Apply(ctx, tb)
			return err
		})
	}()
	defer func() { cancel(); wg.Wait() }()
	if _, err := c.Apply(ctx, initial); err != nil {
		t.Fatal(err)
	}
	kernel := func() string {
		tb, err := fk.Table()
		if err != nil {
			t.Fatal(err)
		}
		return formatTable(tb)
	}
	// waitKernel advances the fake clock one second at a time (after the
	// runner armed its timer) until the kernel shows want; it returns the
	// fake time that took.
	waitKernel := func(want string, limit time.Duration) time.Duration {
		t.Helper()
		start := clk.Now()
		for {
			// give the runner's goroutines time to run due jobs and apply
			for i := 0; i < 50; i++ {
				if kernel() == want {
					return clk.Now().Sub(start)
				}
				time.Sleep(time.Millisecond)
			}
			if clk.Now().Sub(start) >= limit {
				t.Fatalf("kernel after %v: %s, want %s\n%s", clk.Now().Sub(start), kernel(), want, lb)
			}
			clk.Advance(time.Second)
		}
	}
	const up = "TCP 192.0.2.1:80: 10.0.0.1:80 w3, 10.0.0.2:80 w2"
	if got := kernel(); got != up {
		t.Fatalf("kernel at start: %s", got)
	}
	// let the first round run
	waitKernel(up, 0)
	clk.Advance(2 * time.Second)
	waitKernel(up, 0)
	fakes[vs80+"/10.0.0.1:80/HTTP_GET#0"].ok.Store(false)
	// worst case: delay_loop until the next check, then retry (2) × delay_before_retry (1)
	took := waitKernel("TCP 192.0.2.1:80: 10.0.0.2:80 w2", 2*time.Second+2*time.Second+time.Second)
	t.Logf("down after %v of fake time", took)
	if took > 4*time.Second {
		t.Errorf("removal took %v > delay_loop + retry × delay_before_retry", took)
	}
	if got := sc.take(); !slices.Equal(got, []string{"/bin/down 10.0.0.1"}) {
		t.Errorf("scripts %q", got)
	}
	if !strings.Contains(lb.String(), `reason="status: status 503"`) {
		t.Errorf("no reason in logs:\n%s", lb)
	}
	fakes[vs80+"/10.0.0.1:80/HTTP_GET#0"].ok.Store(true)
	took = waitKernel(up, 3*time.Second)
	t.Logf("up after %v of fake time", took)
	if n := applies.Load(); n != 2 {
		t.Errorf("%d applies, want 2 (one per transition)", n)
	}
}

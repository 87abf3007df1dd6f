package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvs-ha/lvs-ha/healthcheck"
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

// testPlan is the plan of src.
func testPlan(t *testing.T, src string) *plan {
	t.Helper()
	p, err := newPlan(loadConf(t, src), &Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// do carries out acts as lvs does: logged to lb, scripts recorded by sc.
func do(acts []action, lb *logBuf, sc *scripts) {
	log := slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, a := range acts {
		log.Log(context.Background(), a.level, a.msg, a.attrs...)
		if a.run != nil {
			sc.run(*a.run)
		}
	}
}

// describe is the machine's state for test failures: one line per virtual
// server, "TCP 192.0.2.1:80 quorum up: 10.0.0.1:80 up, 10.0.0.2:80 down".
func (s *lvsState) describe() string {
	word := map[bool]string{true: "up", false: "down"}
	var b strings.Builder
	for _, vs := range s.vss {
		fmt.Fprintf(&b, "%s quorum %s:", vs.name, word[vs.quorumUp])
		for i, rs := range vs.rss {
			sep := " "
			if i > 0 {
				sep = ", "
			}
			fmt.Fprintf(&b, "%s%s %s", sep, rs.name, word[rs.up])
		}
		b.WriteString("\n")
	}
	return b.String()
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

// runSteps drives the machine of src through steps: every step is one
// check transition of virtual server vs and the table and scripts that must
// follow.
func runSteps(t *testing.T, src, vs, initial string, steps []step) *logBuf {
	t.Helper()
	s := testPlan(t, src).lvs
	sc, lb := &scripts{}, &logBuf{}
	if got := formatTable(s.table()); got != initial {
		t.Fatalf("initial table\n got: %s\nwant: %s", got, initial)
	}
	for i, st := range steps {
		id := vs + "/" + st.id
		if _, ok := s.byCheck[id]; !ok {
			t.Fatalf("step %d: no check %q; have %v", i, id, slices.Collect(maps.Keys(s.byCheck)))
		}
		acts, _ := s.step(healthcheck.Transition{ID: id, Up: st.up, Weight: st.weight, Reason: st.reason, Detail: "d"})
		do(acts, lb, sc)
		if got := formatTable(s.table()); got != st.table {
			t.Errorf("step %d (%s up=%v): table\n got: %s\nwant: %s\n%s", i, st.id, st.up, got, st.table, s.describe())
		}
		if got := sc.take(); !slices.Equal(got, st.ran) {
			t.Errorf("step %d (%s up=%v): scripts %q, want %q", i, st.id, st.up, got, st.ran)
		}
	}
	return lb
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
	p := testPlan(t, `
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
	for _, c := range p.checks {
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
	c := p.checks[0]
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
	s := p.checks[2].Checker.(healthcheck.Definer).Definition().(healthcheck.SMTPOptions)
	if s.ConnectIP.String() != "10.0.0.6" || s.ConnectPort != 25 {
		t.Errorf("SMTP host 2 options %+v", s)
	}
}

func TestLVSStateAdopt(t *testing.T) {
	// q is a virtual server of two real servers of weight 2, each with a check.
	q := func(quorum string) string {
		src := "virtual_server 192.0.2.1 80 {\n    protocol TCP\n    quorum " + quorum +
			"\n    quorum_up /bin/qup\n    quorum_down /bin/qdown\n"
		for _, rs := range []string{"10.0.0.1", "10.0.0.2"} {
			src += "    real_server " + rs + " 80 {\n        weight 2\n        TCP_CHECK {\n        }\n    }\n"
		}
		return src + "}\n"
	}
	const other = "virtual_server 192.0.2.2 80 {\n    protocol TCP\n    quorum 5\n    quorum_up /bin/qup2\n" +
		"    real_server 10.0.0.1 80 {\n        weight 2\n    }\n}\n"
	rs1 := vs80 + "/10.0.0.1:80/TCP_CHECK#0"
	for _, tc := range []struct {
		name     string
		old, new string
		down     []string // checks the runner has down
		table    string
		ran      []string
	}{
		{"unchanged: check states carried over", q("1"), q("1"), []string{rs1},
			"TCP 192.0.2.1:80: 10.0.0.2:80 w2", nil},
		{"quorum kept, re-evaluated: lost", q("1"), q("4"), []string{rs1},
			"TCP 192.0.2.1:80: 10.0.0.2:80 w2", []string{"/bin/qdown"}},
		{"quorum kept, re-evaluated: gained", q("3"), q("2"), []string{rs1},
			"TCP 192.0.2.1:80: 10.0.0.2:80 w2", []string{"/bin/qup"}},
		{"new virtual server starts as at startup", q("1"), q("1") + other, nil,
			"TCP 192.0.2.1:80: 10.0.0.1:80 w2, 10.0.0.2:80 w2\nTCP 192.0.2.2:80: 10.0.0.1:80 w2", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := testPlan(t, tc.old).lvs
			for _, id := range tc.down { // the old machine saw the checks go down
				old.step(healthcheck.Transition{ID: id, Up: false})
			}
			next := testPlan(t, tc.new).lvs
			sc := &scripts{}
			do(next.adopt(old, func(id string) (healthcheck.State, bool) {
				return healthcheck.State{Up: !slices.Contains(tc.down, id)}, true
			}), &logBuf{}, sc)
			if got := formatTable(next.table()); got != tc.table {
				t.Errorf("table\n got: %s\nwant: %s\n%s", got, tc.table, next.describe())
			}
			if got := sc.take(); !slices.Equal(got, tc.ran) {
				t.Errorf("scripts %q, want %q", got, tc.ran)
			}
		})
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

// TestHealthRunnerDrivesIPVS runs lvs (health runner, machine, IPVS) with
// fake checkers on a fake kernel, in a synctest bubble: a failing checker
// takes its real server out within delay_loop + retry × delay_before_retry,
// recovery puts it back at once, and each change is exactly one apply.
func TestHealthRunnerDrivesIPVS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := testPlan(t, `
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
		fakes := map[string]*fakeChecker{}
		for i := range p.checks {
			f := &fakeChecker{name: p.checks[i].ID}
			f.ok.Store(true)
			fakes[p.checks[i].ID] = f
			p.checks[i].Checker = f
		}
		fk := &fakeKernel{Kernel: &ipvstest.Kernel{}}
		sc, lb := &scripts{}, &logBuf{}
		l := newLVS(p, lvsOptions{
			Logger:    slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Open:      func() (ipvsKernel, error) { return fk, nil },
			RunScript: sc.run,
		})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- l.Run(ctx) }()
		kernel := func() string {
			synctest.Wait()
			tb, err := fk.Kernel.Table()
			if err != nil {
				t.Fatal(err)
			}
			return formatTable(tb)
		}
		const up = "TCP 192.0.2.1:80: 10.0.0.1:80 w3, 10.0.0.2:80 w2"
		if got := kernel(); got != up || fk.reads.Load() != 1 {
			t.Fatalf("kernel at start: %s after %d applies", got, fk.reads.Load())
		}
		time.Sleep(time.Second) // the first round ran at once
		fakes[vs80+"/10.0.0.1:80/HTTP_GET#0"].ok.Store(false)
		// worst case: delay_loop until the next check, then retry (2) × delay_before_retry (1)
		time.Sleep(2*time.Second + 2*time.Second)
		if got := kernel(); got != "TCP 192.0.2.1:80: 10.0.0.2:80 w2" || fk.reads.Load() != 2 {
			t.Fatalf("kernel after the failure: %s after %d applies\n%s", got, fk.reads.Load(), lb)
		}
		if got := sc.take(); !slices.Equal(got, []string{"/bin/down 10.0.0.1"}) {
			t.Errorf("scripts %q", got)
		}
		if !strings.Contains(lb.String(), `reason="status: status 503"`) {
			t.Errorf("no reason in logs:\n%s", lb)
		}
		fakes[vs80+"/10.0.0.1:80/HTTP_GET#0"].ok.Store(true)
		time.Sleep(2 * time.Second) // the next check
		if got := kernel(); got != up || fk.reads.Load() != 3 {
			t.Fatalf("kernel after recovery: %s after %d applies", got, fk.reads.Load())
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

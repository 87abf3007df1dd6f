package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/healthcheck"
	"github.com/lvs-ha/lvs-ha/internal/clock"
	"github.com/lvs-ha/lvs-ha/internal/status"
	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
)

// fakeNotifier records the sd_notify states.
type fakeNotifier struct{ states chan string }

func newFakeNotifier() *fakeNotifier     { return &fakeNotifier{states: make(chan string, 32)} }
func (n *fakeNotifier) Ready() error     { n.states <- "READY"; return nil }
func (n *fakeNotifier) Reloading() error { n.states <- "RELOADING"; return nil }
func (n *fakeNotifier) Stopping() error  { n.states <- "STOPPING"; return nil }
func (n *fakeNotifier) expect(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-n.states:
			if got != w {
				t.Fatalf("sd_notify %s, want %s", got, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no sd_notify %s", w)
		}
	}
}

// fakeVRRP stands for the VRRP runner: it counts its runs and the
// configurations it was built with. Run makes it ready unless holdReady.
type fakeVRRP struct {
	mu        sync.Mutex
	opts      runner.Options
	runs      atomic.Int32
	updates   int
	fail      error
	ready     chan struct{}
	holdReady bool
}

func (f *fakeVRRP) Run(ctx context.Context) error {
	f.runs.Add(1)
	if !f.holdReady {
		close(f.ready)
	}
	<-ctx.Done()
	return nil
}

func (f *fakeVRRP) Ready() <-chan struct{} { return f.ready }

func (f *fakeVRRP) Update(_ context.Context, instances []runner.InstanceConfig, groups []runner.SyncGroupConfig) (runner.UpdateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return runner.UpdateResult{}, f.fail
	}
	f.updates++
	var res runner.UpdateResult
	for _, in := range instances {
		i := slices.IndexFunc(f.opts.Instances, func(o runner.InstanceConfig) bool { return o.Machine.Name == in.Machine.Name })
		switch {
		case i < 0:
			res.Added = append(res.Added, in.Machine.Name)
		case reflect.DeepEqual(f.opts.Instances[i], in):
			res.Unchanged = append(res.Unchanged, in.Machine.Name)
		default:
			res.Reconfigured = append(res.Reconfigured, in.Machine.Name)
		}
	}
	f.opts.Instances, f.opts.SyncGroups = instances, groups
	return res, nil
}

func (f *fakeVRRP) Snapshot() runner.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	var st runner.Stats
	for _, in := range f.opts.Instances {
		st.Instances = append(st.Instances, runner.InstanceStats{Name: in.Machine.Name, VRID: in.Machine.VRID,
			Interface: in.Interface, State: vrrp.StateMaster, BasePriority: in.Machine.Priority})
	}
	return st
}

const reloadConf = `
global_defs {
    router_id lvs1
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority PRIO
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
virtual_server 192.0.2.1 80 {
    lvs_sched wrr
    protocol TCP
    delay_loop 10
    warmup 0
    real_server 10.0.0.1 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.0.0.2 80 {
        weight W2
    }
EXTRA}
virtual_server 192.0.2.1 443 {
    lvs_sched rr
    protocol TCP
    real_server 10.0.0.1 443 {
        weight 1
    }
}
`

func reloadSrc(prio, w2, extra string) string {
	return strings.NewReplacer("PRIO", prio, "W2", w2, "EXTRA", extra).Replace(reloadConf)
}

type testDaemon struct {
	d       *Daemon
	file    string
	kernel  *fakeKernel
	notify  *fakeNotifier
	signals chan os.Signal
	vrrps   []*fakeVRRP
	checks  sync.Map // id -> *fakeChecker
	broken  string   // a check ID whose checker is nil (a plan the health runner refuses)
	logs    *logBuf
	net     *fakeNet // static addresses, routes and rules
	vmacs   *fakeVMACs
	addr    string
	stop    func()
}

// newTestDaemon makes a daemon for src on a fake kernel with fake checkers
// and, withVRRP, fake VRRP runners; with listen it serves /status. mods
// change the options last.
func newTestDaemon(t *testing.T, src string, withVRRP, listen bool, mods ...func(*Options)) *testDaemon {
	t.Helper()
	td := &testDaemon{
		file:    filepath.Join(t.TempDir(), "keepalived.conf"),
		kernel:  &fakeKernel{Kernel: &ipvstest.Kernel{}},
		notify:  newFakeNotifier(),
		signals: make(chan os.Signal, 4),
		logs:    &logBuf{},
		net:     &fakeNet{},
		vmacs:   &fakeVMACs{},
	}
	if err := os.WriteFile(td.file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	copts := conf.Options{ConfigID: "lvs1"}
	cfg, ds := conf.Load(td.file, copts)
	if ds.HasErrors() {
		t.Fatalf("config: %v", ds)
	}
	o := Options{
		Logger:        slog.New(slog.NewTextHandler(td.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ConfigFile:    td.file,
		ConfigOptions: copts,
		Signals:       td.signals,
		DumpFile:      filepath.Join(t.TempDir(), "lvs-ha.state"),
		Notifier:      td.notify,
		net:           td.net,
		vmacs:         td.vmacs,
		openIPVS:      func() (ipvsKernel, error) { return td.kernel, nil },
		wrapChecker: func(id string, _ healthcheck.Checker) healthcheck.Checker {
			if id == td.broken {
				return nil
			}
			f := &fakeChecker{name: id}
			f.ok.Store(true)
			prev, _ := td.checks.LoadOrStore(id, f)
			return prev.(*fakeChecker) // same checker across reloads
		},
	}
	if withVRRP {
		o.newVRRP = func(ro runner.Options) (vrrpRunner, error) {
			f := &fakeVRRP{opts: ro, ready: make(chan struct{})}
			td.vrrps = append(td.vrrps, f)
			return f, nil
		}
	}
	if listen {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		td.addr = ln.Addr().String()
		o.StatusListener = ln
		o.clk = clock.NewFake(time.Unix(1000, 0))
	}
	for _, m := range mods {
		m(&o)
	}
	var err error
	if td.d, err = NewWithOptions(cfg, o); err != nil {
		t.Fatal(err)
	}
	return td
}

// start runs the daemon until the test ends or td.stop.
func (td *testDaemon) start(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- td.d.Run(ctx) }()
	td.stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	t.Cleanup(td.stop)
}

// startTestDaemon runs newTestDaemon(listen) until READY.
func startTestDaemon(t *testing.T, src string, withVRRP bool) *testDaemon {
	t.Helper()
	td := newTestDaemon(t, src, withVRRP, true)
	td.start(t)
	td.notify.expect(t, "READY")
	return td
}

func (td *testDaemon) checker(t *testing.T, id string) *fakeChecker {
	t.Helper()
	f, ok := td.checks.Load(id)
	if !ok {
		t.Fatalf("no check %s", id)
	}
	return f.(*fakeChecker)
}

// waitFor polls cond (the components run on their own goroutines).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (td *testDaemon) kernelDests(t *testing.T) int {
	tb, err := td.kernel.Kernel.Table() // not counted as an apply
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range tb.Services {
		n += len(s.Destinations)
	}
	return n
}

func counter(t *testing.T, g prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					if m.Counter != nil {
						return m.Counter.GetValue()
					}
					return m.Gauge.GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return 0
}

func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return b
}

const checkID1 = "TCP 192.0.2.1:80/10.0.0.1:80/TCP_CHECK#0"

func TestDaemonServesMetricsAndStatus(t *testing.T) {
	// No VRRP: only the virtual servers.
	src := reloadSrc("100", "2", "")
	src = src[strings.Index(src, "virtual_server"):]
	td := startTestDaemon(t, src, false)
	if td.d.vrrp != nil {
		t.Fatal("VRRP runner without vrrp_instance")
	}
	waitFor(t, "IPVS programmed", func() bool { return td.kernelDests(t) == 3 })
	waitFor(t, "first check", func() bool { return td.checker(t, checkID1).runs.Load() >= 1 })

	body := string(httpGet(t, "http://"+td.addr+"/metrics"))
	for _, want := range []string{
		"lvs_ha_build_info{",
		`lvs_ha_config_reloads_total{result="success"} 1`,
		"lvs_ha_config_last_reload_successful 1",
		`lvs_ha_healthcheck_duration_seconds_count{checker="TCP_CHECK",real_server="10.0.0.1:80",virtual_server="192.0.2.1 80"} 1`,
		`node_ipvs_backend_weight{local_address="192.0.2.1",local_mark="",local_port="80",proto="TCP",remote_address="10.0.0.2",remote_port="80"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s\n%s", want, grepLines(body, "lvs_ha_", "node_ipvs_backend_weight"))
		}
	}
	var doc status.Document
	if err := json.Unmarshal(httpGet(t, "http://"+td.addr+"/status"), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.VirtualServers) != 2 || len(doc.Instances) != 0 || doc.IPVSError != "" {
		t.Fatalf("/status: %+v", doc)
	}
	vs := doc.VirtualServers[0]
	if vs.Service != "TCP 192.0.2.1:80" || !vs.Configured || !vs.InKernel || len(vs.RealServers) != 2 ||
		vs.RealServers[0].Health != status.HealthUp || len(vs.RealServers[0].Checks) != 1 {
		t.Errorf("/status virtual server: %+v", vs)
	}
	td.stop()
	td.notify.expect(t, "STOPPING")
	if n := td.kernelDests(t); n != 0 {
		t.Errorf("%d destinations left after stop", n)
	}
}

func grepLines(s string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, "\n")
}

func TestDaemonReloadOnSIGHUPAppliesOnlyTheDifference(t *testing.T) {
	td := startTestDaemon(t, reloadSrc("100", "2", ""), true)
	waitFor(t, "IPVS programmed", func() bool { return td.kernelDests(t) == 3 })
	chk := td.checker(t, checkID1)
	waitFor(t, "first check", func() bool { return chk.runs.Load() == 1 })
	waitFor(t, "check recorded", func() bool {
		cs := td.d.metrics.Sources().Health.HealthChecks()
		return len(cs) == 1 && cs[0].State.HasRun
	})
	td.kernel.ResetCalls()

	// One weight changed, one real server added; VRRP unchanged.
	extra := "    real_server 10.0.0.3 80 {\n        weight 3\n    }\n"
	if err := os.WriteFile(td.file, []byte(reloadSrc("100", "7", extra)), 0o644); err != nil {
		t.Fatal(err)
	}
	td.signals <- syscall.SIGHUP
	td.notify.expect(t, "RELOADING", "READY")

	if c := td.kernel.Calls(); c.Total() != 2 || c.UpdateDest != 1 || c.NewDest != 1 {
		t.Errorf("kernel calls %+v, want one UpdateDestination and one NewDestination", c)
	}
	// The unchanged check kept its state and schedule: not run again.
	cs := td.d.metrics.Sources().Health.HealthChecks()
	if len(cs) != 1 || !cs[0].State.HasRun || !cs[0].State.Up || chk.runs.Load() != 1 {
		t.Errorf("check after reload: %+v, runs %d", cs, chk.runs.Load())
	}
	// VRRP untouched: the same runner, run once.
	if len(td.vrrps) != 1 || td.vrrps[0].runs.Load() != 1 || td.d.vrrp != vrrpRunner(td.vrrps[0]) {
		t.Errorf("VRRP runner replaced or restarted: %d runners", len(td.vrrps))
	}
	reg := td.d.Registry()
	if n := counter(t, reg, "lvs_ha_config_reloads_total", "result", "success"); n != 2 {
		t.Errorf("successful loads %v, want 2", n)
	}
	if n := counter(t, reg, "lvs_ha_config_reloads_total", "result", "failure"); n != 0 {
		t.Errorf("failed loads %v, want 0", n)
	}
	if !strings.Contains(td.logs.String(), "msg=reloaded") {
		t.Errorf("no reloaded log:\n%s", td.logs)
	}

	// The same file again changes nothing.
	td.kernel.ResetCalls()
	if err := td.d.ReloadFile(context.Background(), td.file, conf.Options{ConfigID: "lvs1"}); err != nil {
		t.Fatal(err)
	}
	if c := td.kernel.Calls(); c.Total() != 0 {
		t.Errorf("identical reload made kernel calls %+v", c)
	}
}

func TestDaemonReloadInvalidKeepsRunningConfig(t *testing.T) {
	td := startTestDaemon(t, reloadSrc("100", "2", ""), true)
	waitFor(t, "IPVS programmed", func() bool { return td.kernelDests(t) == 3 })
	td.kernel.ResetCalls()
	bad := reloadSrc("100", "7", "    real_server 10.0.0.3 80 {\n        weight nope\n    }\n")
	if err := os.WriteFile(td.file, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	err := td.d.ReloadFile(context.Background(), td.file, conf.Options{ConfigID: "lvs1"})
	var ice *InvalidConfigError
	if !errors.As(err, &ice) {
		t.Fatalf("ReloadFile: %v, want *InvalidConfigError", err)
	}
	if c := td.kernel.Calls(); c.Total() != 0 {
		t.Errorf("invalid reload made kernel calls %+v", c)
	}
	reg := td.d.Registry()
	if n := counter(t, reg, "lvs_ha_config_reloads_total", "result", "failure"); n != 1 {
		t.Errorf("failed loads %v, want 1", n)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "lvs_ha_config_last_reload_successful" && mf.GetMetric()[0].GetGauge().GetValue() != 0 {
			t.Error("last reload reported successful")
		}
	}
	if !strings.Contains(td.logs.String(), filepath.Base(td.file)+":") {
		t.Errorf("diagnostic without file:line:\n%s", td.logs)
	}
	// Still serving the old configuration: a later valid reload works.
	if err := os.WriteFile(td.file, []byte(reloadSrc("100", "7", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := td.d.ReloadFile(context.Background(), td.file, conf.Options{ConfigID: "lvs1"}); err != nil {
		t.Fatal(err)
	}
	if c := td.kernel.Calls(); c.Total() != 1 || c.UpdateDest != 1 {
		t.Errorf("kernel calls %+v, want one UpdateDestination", c)
	}
}

func TestDaemonReloadAppliesVRRPChanges(t *testing.T) {
	td := startTestDaemon(t, reloadSrc("100", "2", ""), true)
	waitFor(t, "IPVS programmed", func() bool { return td.kernelDests(t) == 3 })
	td.kernel.ResetCalls()
	if err := os.WriteFile(td.file, []byte(reloadSrc("120", "7", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := td.d.ReloadFile(context.Background(), td.file, conf.Options{ConfigID: "lvs1"}); err != nil {
		t.Fatalf("ReloadFile: %v", err)
	}
	// One runner, still running, told the new instance configuration.
	f := td.vrrps[0]
	if len(td.vrrps) != 1 || f.runs.Load() != 1 || f.updates != 1 || f.opts.Instances[0].Machine.Priority != 120 {
		t.Errorf("VRRP: %d runners, %d runs, %d updates", len(td.vrrps), f.runs.Load(), f.updates)
	}
	if !strings.Contains(td.logs.String(), "reconfigured=[VI_1]") {
		t.Errorf("no VRRP reload line in the log:\n%s", td.logs)
	}
	if c := td.kernel.Calls(); c.Total() != 1 || c.UpdateDest != 1 {
		t.Errorf("kernel calls %+v, want one UpdateDestination", c)
	}
	if n := counter(t, td.d.Registry(), "lvs_ha_config_reloads_total", "result", "success"); n != 2 {
		t.Errorf("successful loads %v, want 2 (start and reload)", n)
	}

	// A VRRP update that fails (a socket it cannot open) changes nothing
	// else either, and counts as a failure.
	f.fail = fmt.Errorf("vrrp: instance VI_1: %w", os.ErrPermission)
	if err := os.WriteFile(td.file, []byte(reloadSrc("130", "9", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	err := td.d.ReloadFile(context.Background(), td.file, conf.Options{ConfigID: "lvs1"})
	if !errors.Is(err, os.ErrPermission) {
		t.Fatalf("ReloadFile: %v", err)
	}
	if c := td.kernel.Calls(); c.Total() != 1 {
		t.Errorf("kernel calls %+v after a failed reload", c)
	}
	if n := counter(t, td.d.Registry(), "lvs_ha_config_reloads_total", "result", "failure"); n != 1 {
		t.Errorf("failed reloads %v, want 1", n)
	}
}

func TestDaemonReloadStartsVRRP(t *testing.T) {
	src := reloadSrc("100", "2", "")
	noVRRP := src[:strings.Index(src, "vrrp_instance")] + src[strings.Index(src, "virtual_server"):]
	td := startTestDaemon(t, noVRRP, true)
	if len(td.vrrps) != 0 {
		t.Fatal("a VRRP runner without instances")
	}
	if err := os.WriteFile(td.file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := td.d.ReloadFile(context.Background(), td.file, conf.Options{ConfigID: "lvs1"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the VRRP runner to run", func() bool { return len(td.vrrps) == 1 && td.vrrps[0].runs.Load() == 1 })
	if n := counter(t, td.d.Registry(), "keepalived_vrrp_state", "iname", "VI_1"); n != 2 {
		t.Errorf("keepalived_vrrp_state{iname=VI_1} = %v, want 2 (MASTER) once VRRP runs", n)
	}
}

func TestDaemonSIGUSR1DumpsState(t *testing.T) {
	td := startTestDaemon(t, reloadSrc("100", "2", ""), true)
	waitFor(t, "IPVS programmed", func() bool { return td.kernelDests(t) == 3 })
	td.signals <- syscall.SIGUSR1
	waitLog(t, td.logs, "state dumped")
	b, err := os.ReadFile(td.d.opts.DumpFile)
	if err != nil {
		t.Fatal(err)
	}
	var dump Dump
	if err := json.Unmarshal(b, &dump); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if len(dump.Status.Instances) != 1 || dump.Status.Instances[0].Name != "VI_1" || len(dump.Status.VirtualServers) != 2 ||
		dump.VRRP == nil || len(dump.VRRP.Instances) != 1 {
		t.Errorf("dump: %s", b)
	}
}

// TestDaemonOneApplyPerReloadAndHealthChange: lvs is the one writer of the
// IPVS table, and every reload and every health change that alters the
// table is exactly one apply (the old code applied a reload twice: once
// from the health loop adopting the new checks, once from the reload).
func TestDaemonOneApplyPerReloadAndHealthChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		td := newTestDaemon(t, reloadSrc("100", "2", ""), true, false)
		td.start(t)
		td.notify.expect(t, "READY")
		applies := func() int32 { synctest.Wait(); return td.kernel.reads.Load() }
		if n := applies(); n != 1 || td.kernelDests(t) != 3 {
			t.Fatalf("start: %d applies, %d destinations", n, td.kernelDests(t))
		}
		chk := td.checker(t, checkID1)
		chk.ok.Store(false)
		time.Sleep(30 * time.Second) // delay_loop 10, retry 1 × delay_before_retry 1
		if n := applies(); n != 2 || td.kernelDests(t) != 2 {
			t.Fatalf("real server down: %d applies in all, %d destinations\n%s", n, td.kernelDests(t), td.logs)
		}
		td.kernel.ResetCalls()
		if err := os.WriteFile(td.file, []byte(reloadSrc("120", "7", "")), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := td.d.ReloadFile(t.Context(), td.file, conf.Options{ConfigID: "lvs1"}); err != nil {
			t.Fatal(err)
		}
		if n, c := applies(), td.kernel.Calls(); n != 3 || c.Total() != 1 || c.UpdateDest != 1 {
			t.Fatalf("reload: %d applies in all, kernel calls %+v; want 3, one UpdateDestination", n, c)
		}
		chk.ok.Store(true)
		time.Sleep(10 * time.Second)
		if n := applies(); n != 4 || td.kernelDests(t) != 3 {
			t.Fatalf("real server up: %d applies in all, %d destinations", n, td.kernelDests(t))
		}
		td.stop()
	})
}

// TestDaemonRefusedReloadChangesNothing: a reload refused by any component
// changes nothing in any component, and the log says so truthfully. The new
// configuration would change VRRP (priority), IPVS (a weight) and the
// health checks (one more).
func TestDaemonRefusedReloadChangesNothing(t *testing.T) {
	const newCheck = "TCP 192.0.2.1:80/10.0.0.3:80/TCP_CHECK#0"
	next := reloadSrc("120", "7", "    real_server 10.0.0.3 80 {\n        TCP_CHECK {\n        }\n    }\n")
	for _, tc := range []struct {
		name  string
		src   string
		setup func(td *testDaemon)
	}{
		{"invalid config", strings.Replace(next, "weight 7", "weight nope", 1), nil},
		{"vrrp update fails", next, func(td *testDaemon) { td.vrrps[0].fail = fmt.Errorf("instance VI_1: %w", os.ErrPermission) }},
		{"health checks refused", next, func(td *testDaemon) { td.broken = newCheck }},
		{"ipvs table refused", next + "virtual_server_group DUP {\n    192.0.2.1 443\n}\n" +
			"virtual_server group DUP {\n    protocol TCP\n    real_server 10.0.0.9 443 {\n    }\n}\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			td := startTestDaemon(t, reloadSrc("100", "2", ""), true)
			waitFor(t, "first check", func() bool { return td.checker(t, checkID1).runs.Load() == 1 })
			if tc.setup != nil {
				tc.setup(td)
			}
			reads := td.kernel.reads.Load()
			td.kernel.ResetCalls()
			if err := os.WriteFile(td.file, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := td.d.ReloadFile(context.Background(), td.file, conf.Options{ConfigID: "lvs1"}); err == nil {
				t.Fatal("reload accepted")
			}
			f := td.vrrps[0]
			if f.updates != 0 || f.opts.Instances[0].Machine.Priority != 100 {
				t.Errorf("VRRP changed: %d updates, priority %d", f.updates, f.opts.Instances[0].Machine.Priority)
			}
			if _, ok := td.d.lvs.health.State(newCheck); ok {
				t.Error("health runner took the new check")
			}
			if cs := td.d.metrics.Sources().Health.HealthChecks(); len(cs) != 1 || !cs[0].State.HasRun {
				t.Errorf("health checks changed: %+v", cs)
			}
			if n, c := td.kernel.reads.Load(), td.kernel.Calls(); n != reads || c.Total() != 0 {
				t.Errorf("IPVS applied: %d applies, kernel calls %+v", n-reads, c)
			}
			if !strings.Contains(td.logs.String(), "keeping the running configuration") {
				t.Errorf("no refusal in the log:\n%s", td.logs)
			}
			if n := counter(t, td.d.Registry(), "lvs_ha_config_reloads_total", "result", "failure"); n != 1 {
				t.Errorf("failed reloads %v, want 1", n)
			}
		})
	}
}

// TestDaemonReadyAfterVRRPAndFirstApply: READY waits for the VRRP runner's
// Ready and the first IPVS apply; without IPVS in the kernel the first
// attempt counts, so that READY still comes.
func TestDaemonReadyAfterVRRPAndFirstApply(t *testing.T) {
	noNotify := func(t *testing.T, td *testDaemon, when string) {
		t.Helper()
		synctest.Wait()
		select {
		case s := <-td.notify.states:
			t.Fatalf("sd_notify %s %s", s, when)
		default:
		}
	}
	synctest.Test(t, func(t *testing.T) {
		td := newTestDaemon(t, reloadSrc("100", "2", ""), true, false)
		td.vrrps[0].holdReady = true
		opened := make(chan struct{})
		td.d.lvs.open = func() (ipvsKernel, error) { <-opened; return td.kernel, nil }
		td.start(t)
		noNotify(t, td, "before anything is ready")
		close(opened)
		noNotify(t, td, "before VRRP is ready")
		if td.kernelDests(t) != 3 {
			t.Fatal("first apply not done")
		}
		close(td.vrrps[0].ready)
		td.notify.expect(t, "READY")
		td.stop()
	})
	t.Run("IPVS unavailable", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			td := newTestDaemon(t, reloadSrc("100", "2", ""), true, false)
			td.d.lvs.open = func() (ipvsKernel, error) { return nil, ipvs.ErrNoIPVS }
			td.start(t)
			td.notify.expect(t, "READY")
			if !strings.Contains(td.logs.String(), "IPVS unavailable") {
				t.Errorf("no IPVS unavailable in the log:\n%s", td.logs)
			}
			td.stop()
		})
	})
}

// TestDaemonUnsupportedKeywordsGauge: lvs_ha_config_unsupported_keywords
// counts the warned keywords of the configuration in force, at start and
// after a reload.
func TestDaemonUnsupportedKeywordsGauge(t *testing.T) {
	td := startTestDaemon(t, reloadSrc("100", "2", ""), true)
	gauge := func() float64 {
		t.Helper()
		mfs, err := td.d.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "lvs_ha_config_unsupported_keywords" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no lvs_ha_config_unsupported_keywords")
		return 0
	}
	if g := gauge(); g != 1 { // router_id
		t.Errorf("at start: %v, want 1", g)
	}
	if err := os.WriteFile(td.file, []byte(reloadSrc("100", "2", "    snmp_name web\n    hashed\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := td.d.ReloadFile(context.Background(), td.file, conf.Options{ConfigID: "lvs1"}); err != nil {
		t.Fatal(err)
	}
	if g := gauge(); g != 3 {
		t.Errorf("after reload: %v, want 3", g)
	}
	if !strings.Contains(td.logs.String(), `is not supported by lvs-ha (ignored)`) {
		t.Errorf("no warning logged:\n%s", td.logs)
	}
}

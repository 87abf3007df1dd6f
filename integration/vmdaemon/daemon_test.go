//go:build vm

package vmdaemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/internal/daemon"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

// cleanIPVS empties the IPVS table now and at the end of the test.
func cleanIPVS(t *testing.T) {
	t.Helper()
	vmlab.ClearIPVS(t, nil)
	t.Cleanup(func() { _ = exec.Command(vmlab.IpvsadmBin, "-C").Run() })
}

// listing returns `ipvsadm -Ln` as service blocks: each block is the service
// line followed by its destination lines, whitespace collapsed, destinations
// sorted, blocks sorted (ipvsadm's own order follows the kernel's hash table).
func listing(t *testing.T) []string {
	t.Helper()
	var res []string
	for k, ds := range vmlab.List(t, nil).Map(vmlab.Service.String, vmlab.Dest.String) {
		res = append(res, strings.Join(append([]string{k}, ds...), "\n"))
	}
	slices.Sort(res)
	return res
}

func expectListing(t *testing.T, what string, want []string) {
	t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	got := listing(t)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: ipvsadm -Ln\n got:\n%s\n\nwant:\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// logLines collects a process's log lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
	cond  *sync.Cond
	done  bool
}

func newLogLines(r io.Reader) *logLines {
	l := &logLines{}
	l.cond = sync.NewCond(&l.mu)
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			l.mu.Lock()
			l.lines = append(l.lines, sc.Text())
			l.cond.Broadcast()
			l.mu.Unlock()
		}
		l.mu.Lock()
		l.done = true
		l.cond.Broadcast()
		l.mu.Unlock()
	}()
	return l
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// wait returns the first line containing s, or fails after timeout.
func (l *logLines) wait(t *testing.T, s string, timeout time.Duration) string {
	t.Helper()
	timer := time.AfterFunc(timeout, func() {
		l.mu.Lock()
		l.done = true
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer timer.Stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		for _, line := range l.lines {
			if strings.Contains(line, s) {
				return line
			}
		}
		if l.done {
			t.Fatalf("no log line with %q:\n%s", s, strings.Join(l.lines, "\n"))
		}
		l.cond.Wait()
	}
}

const daemonConf = `
global_defs {
    router_id vmdaemon
}
virtual_server 192.0.2.1 80 {
    lvs_sched wrr
    protocol TCP
    real_server 192.0.2.11 8080 {
        weight 3
    }
    real_server 192.0.2.12 8080 {
        weight 1
        uthreshold 100
        lthreshold 10
    }
}
virtual_server 192.0.2.1 53 {
    lvs_sched rr
    protocol UDP
    lvs_method DR
    ops
    real_server 192.0.2.13 53 {
    }
}
virtual_server fwmark 7 {
    lvs_sched sh
    sh-port
    lvs_method DR
    real_server 192.0.2.14 {
        weight 2
    }
}
virtual_server 192.0.2.2 0 {
    lvs_sched rr
    protocol TCP
    persistence_timeout 600
    persistence_granularity 255.255.255.0
    lvs_method DR
    real_server 192.0.2.15 0 {
    }
}
virtual_server 2001:db8::1 443 {
    lvs_sched lc
    protocol TCP
    persistence_granularity 64
    real_server 2001:db8::10 8443 {
        weight 5
    }
}
`

var foreign = []string{
	"TCP 198.51.100.1:22 rr\n-> 198.51.100.2:22 Masq 1 0 0",
}

func TestDaemonProgramsIPVS(t *testing.T) {
	vmtest.Require(t)
	cleanIPVS(t)
	vmlab.RequireLvsHA(t)
	vmlab.Ipvsadm(t, nil, "-A", "-t", "198.51.100.1:22", "-s", "rr")
	vmlab.Ipvsadm(t, nil, "-a", "-t", "198.51.100.1:22", "-r", "198.51.100.2:22", "-m")
	expectListing(t, "before start", foreign)

	file := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(file, []byte(daemonConf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(vmlab.LvsHABin, "run", "-f", file)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = os.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := newLogLines(stderr)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	line := logs.wait(t, "ipvs applied", 60*time.Second)
	t.Logf("lvs-ha: %s", line)
	if !strings.Contains(line, "services +5 ~0 -0, destinations +6 ~0 -0") {
		t.Errorf("unexpected changes in %q", line)
	}
	ours := []string{
		"TCP 192.0.2.1:80 wrr\n-> 192.0.2.11:8080 Masq 3 0 0\n-> 192.0.2.12:8080 Masq 1 0 0",
		"UDP 192.0.2.1:53 rr ops\n-> 192.0.2.13:53 Route 1 0 0",
		"FWM 7 sh (sh-port)\n-> 192.0.2.14:0 Route 2 0 0",
		"TCP 192.0.2.2:0 rr persistent 600 mask 255.255.255.0\n-> 192.0.2.15:0 Route 1 0 0",
		"TCP [2001:db8::1]:443 lc persistent 360 mask 64\n-> [2001:db8::10]:8443 Masq 5 0 0",
	}
	expectListing(t, "after start", append(slices.Clone(foreign), ours...))
	// Thresholds are not in -Ln: --thresholds shows them.
	if out := vmlab.Ipvsadm(t, nil, "-Ln", "--thresholds", "-t", "192.0.2.1:80"); !regexpFields(out, "-> 192.0.2.12:8080 100 10 0") {
		t.Errorf("thresholds of 192.0.2.12:8080 not 100/10:\n%s", out)
	}
	compareIpvsadm(t)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("lvs-ha exit after SIGTERM: %v\n%s", err, logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("lvs-ha did not exit within 30 s of SIGTERM\n%s", logs)
	}
	t.Logf("lvs-ha: %s", logs.wait(t, "ipvs released at stop", time.Second))
	expectListing(t, "after SIGTERM", foreign)
}

// output is what one command printed and how it exited.
type output struct {
	stdout, stderr string
	code           int
}

func capture(t *testing.T, name string, args ...string) output {
	t.Helper()
	cmd := exec.Command(name, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return output{o.String(), e.String(), code}
}

// compareIpvsadm lists the table lvs-ha built with the real ipvsadm, with
// `lvs-ha ipvsadm` and with lvs-ha invoked through a symlink named ipvsadm,
// and compares the outputs byte for byte.
func compareIpvsadm(t *testing.T) {
	t.Helper()
	link := filepath.Join(t.TempDir(), "ipvsadm")
	if err := os.Symlink(vmlab.LvsHABin, link); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-Ln"}, {"-Ln", "--thresholds"}, {"-S", "-n"}} {
		real := capture(t, vmlab.IpvsadmBin, args...)
		if real.code != 0 || !strings.Contains(real.stdout, "192.0.2.1:80") && !strings.Contains(real.stdout, "192.0.2.1:http") {
			t.Fatalf("%s %s: exit %d, stderr %q, stdout:\n%s", vmlab.IpvsadmBin, strings.Join(args, " "), real.code, real.stderr, real.stdout)
		}
		for _, ours := range []struct {
			what string
			out  output
		}{
			{"lvs-ha ipvsadm", capture(t, vmlab.LvsHABin, append([]string{"ipvsadm"}, args...)...)},
			{link, capture(t, link, args...)},
		} {
			if ours.out != real {
				t.Errorf("%s %s differs from %s\n--- real (exit %d, stderr %q)\n%s--- %s (exit %d, stderr %q)\n%s",
					ours.what, strings.Join(args, " "), vmlab.IpvsadmBin, real.code, real.stderr, real.stdout,
					ours.what, ours.out.code, ours.out.stderr, ours.out.stdout)
			}
		}
		t.Logf("ipvsadm %s: real, lvs-ha ipvsadm and the ipvsadm symlink agree (%d bytes)", strings.Join(args, " "), len(real.stdout))
	}
}

// regexpFields reports whether out has a line whose whitespace-collapsed form
// starts with want.
func regexpFields(out, want string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.Join(strings.Fields(line), " "), want) {
			return true
		}
	}
	return false
}

// Benchmark sizes.
const (
	benchServices = 1000
	benchReals    = 10
)

func benchVIP(i int) string  { return fmt.Sprintf("198.18.%d.%d", i/250, i%250+1) }
func benchReal(j int) string { return fmt.Sprintf("198.19.0.%d", j+1) }

// benchConf is a config of benchServices TCP virtual servers with benchReals
// NAT real servers each; the real server (svc, rs) = weighted has weight 7.
func benchConf(weighted [2]int) string {
	var b strings.Builder
	for i := range benchServices {
		fmt.Fprintf(&b, "virtual_server %s 80 {\n    lvs_sched wrr\n    protocol TCP\n", benchVIP(i))
		for j := range benchReals {
			w := 1
			if [2]int{i, j} == weighted {
				w = 7
			}
			fmt.Fprintf(&b, "    real_server %s 8080 {\n        weight %d\n    }\n", benchReal(j), w)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// benchRules is the same table as ipvsadm -R input.
func benchRules() string {
	var b strings.Builder
	for i := range benchServices {
		fmt.Fprintf(&b, "-A -t %s:80 -s wrr\n", benchVIP(i))
		for j := range benchReals {
			fmt.Fprintf(&b, "-a -t %s:80 -r %s:8080 -m -w 1\n", benchVIP(i), benchReal(j))
		}
	}
	return b.String()
}

func loadConf(t *testing.T, src string) *conf.Config {
	t.Helper()
	cfg, ds := conf.LoadBytes("bench.conf", []byte(src), conf.Options{ConfigID: "vm"})
	if ds.HasErrors() {
		t.Fatalf("config: %v", ds)
	}
	return cfg
}

// countServices counts the TCP services and all destinations in IPVS.
func countServices(t *testing.T) (svcs, dests int) {
	t.Helper()
	for _, s := range vmlab.List(t, nil) {
		if s.Proto == "TCP" {
			svcs++
		}
		dests += len(s.Dests)
	}
	return svcs, dests
}

// TestApplyBenchmark applies 1,000 virtual servers x 10 real servers with the
// daemon's code (the time is the daemon's own measure of its Reconcile, from
// its "ipvs applied" log line) and with `ipvsadm -R`, then changes one weight
// and checks the daemon makes exactly one netlink change.
func TestApplyBenchmark(t *testing.T) {
	vmtest.Require(t)
	cleanIPVS(t)
	none := [2]int{-1, -1}
	cfg := loadConf(t, benchConf(none))

	var logBuf syncBuffer
	log := slog.New(slog.NewJSONHandler(&logBuf, nil))
	d, err := daemon.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	type appliedLine struct {
		Msg      string `json:"msg"`
		Services int    `json:"services"`
		Changes  string `json:"changes"`
		Total    int    `json:"total"`
		Took     int64  `json:"took"` // nanoseconds
	}
	// applies returns the daemon's "ipvs applied" log lines.
	applies := func() []appliedLine {
		var out []appliedLine
		for _, line := range strings.Split(logBuf.String(), "\n") {
			if strings.Contains(line, `"msg":"ipvs applied"`) {
				var a appliedLine
				if err := json.Unmarshal([]byte(line), &a); err != nil {
					t.Fatalf("%v: %s", err, line)
				}
				out = append(out, a)
			}
		}
		return out
	}
	deadline := time.Now().Add(5 * time.Minute)
	for len(applies()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no ipvs applied line:\n%s", logBuf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	applied := applies()[0]
	lvsTook := time.Duration(applied.Took)
	if want := benchServices * (1 + benchReals); applied.Total != want {
		t.Fatalf("daemon made %d changes, want %d", applied.Total, want)
	}
	if s, ds := countServices(t); s != benchServices || ds != benchServices*benchReals {
		t.Fatalf("kernel has %d services, %d destinations after the daemon's apply", s, ds)
	}
	t.Logf("lvs-ha daemon apply of %d services x %d real servers: %v", benchServices, benchReals, lvsTook)

	// A reload with one weight changed: exactly one apply, one netlink change.
	start := time.Now()
	if err := d.Reload(ctx, loadConf(t, benchConf([2]int{500, 3}))); err != nil {
		t.Fatal(err)
	}
	reapply := time.Since(start)
	if as := applies(); len(as) != 2 || as[1].Total != 1 || as[1].Changes != "services +0 ~0 -0, destinations +0 ~1 -0" {
		t.Fatalf("one weight change made %+v, want one apply with exactly one destination update", as[1:])
	}
	if out := vmlab.Ipvsadm(t, nil, "-Ln", "-t", benchVIP(500)+":80"); !regexpFields(out, "-> "+benchReal(3)+":8080 Masq 7") {
		t.Fatalf("weight not changed in the kernel:\n%s", out)
	}
	t.Logf("reload after one weight change: %v, apply %v", reapply, time.Duration(applies()[1].Took))

	// Stop the daemon: it removes its services.
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil
	if s, _ := countServices(t); s != 0 {
		t.Fatalf("%d services left after the daemon stopped", s)
	}

	// The same table with ipvsadm -R.
	rules := benchRules()
	rcmd := exec.Command(vmlab.IpvsadmBin, "-R")
	rcmd.Stdin = strings.NewReader(rules)
	var rout bytes.Buffer
	rcmd.Stdout, rcmd.Stderr = &rout, &rout
	start = time.Now()
	err = rcmd.Run()
	restoreTook := time.Since(start)
	if err != nil {
		t.Fatalf("ipvsadm -R: %v\n%s", err, rout.String())
	}
	if s, ds := countServices(t); s != benchServices || ds != benchServices*benchReals {
		t.Fatalf("kernel has %d services, %d destinations after ipvsadm -R", s, ds)
	}
	t.Logf("ipvsadm -R of the same %d rules: %v", strings.Count(rules, "\n"), restoreTook)
	t.Logf("config-apply-ratio lvs-ha/ipvsadm-restore = %.2f", lvsTook.Seconds()/restoreTook.Seconds())
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

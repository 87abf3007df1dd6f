// Command healthcheck is the side-by-side health-check benchmark: it runs
// lvs-ha and keepalived's checker at the same time, on this host, each with the
// same configuration (N real servers with TCP_CHECK or HTTP_GET, delay_loop 1)
// against its own set of loopback listeners, and reports for each daemon the
// checks per second it achieved, the CPU it spent per 1,000 checks, its peak RSS
// (VmHWM) and its anonymous RSS (RssAnon: RSS less the mapped binary and
// libraries), with the ratio lvs-ha/keepalived. For keepalived the process is
// its checker child (the parent only supervises it).
//
// Neither daemon needs IPVS: lvs-ha keeps checking when IPVS is unavailable,
// and keepalived runs with fakeipvs.so preloaded (see ../healthcheck-fakeipvs.c).
// CPU is read from /proc/PID/task/*/schedstat (nanoseconds on CPU, all threads), so the
// figures are CPU time, not wall time, and both daemons are measured over the
// same window under the same machine load. A check is one connection accepted
// by a listener, so the rate each daemon actually achieved is what divides.
//
// Each figure is one machine-readable line:
//
//	BENCH name=<figure> lvsha=<v> ref=<v> unit=<u> ratio=<lvsha/ref>
//
// Run it through integration/bench/healthcheck.sh (as root).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	lvsha := flag.String("lvsha", "build/bin/lvs-ha", "lvs-ha binary")
	baseline := flag.String("baseline", "", "another lvs-ha binary measured alongside (e.g. before a change); its figures are printed with a _baseline suffix")
	keepalived := flag.String("keepalived", "/usr/sbin/keepalived", "keepalived binary")
	shim := flag.String("shim", "", "fakeipvs.so to preload into keepalived")
	kinds := flag.String("kinds", "tcp,http", "checker kinds: tcp, http")
	rates := flag.String("servers", "100,1000", "real servers per run (delay_loop 1: checks/s)")
	warmup := flag.Duration("warmup", 5*time.Second, "time before the measurement window")
	window := flag.Duration("window", 20*time.Second, "measurement window")
	dir := flag.String("dir", "", "work directory (default: a temporary one)")
	flag.IntVar(&delayLoop, "delay-loop", delayLoop, "delay_loop of every check, in seconds (checks/s = servers / delay-loop)")
	flag.IntVar(&rsPort, "port", rsPort, "real servers' port less one (lvs-ha: 127.1.x.y, this port + 1; keepalived: 127.2.x.y, + 2; a baseline lvs-ha: 127.3.x.y, + 3)")
	rounds := flag.Int("rounds", 3, "measurements per kind and size (each figure is their median)")
	flag.BoolVar(&solo, "solo", false, "run each daemon alone, one after the other in each round, instead of side by side (figures named _solo): what each does with the machine to itself")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "hcbench")
		if err != nil {
			fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	var lim syscall.Rlimit
	// One listener per real server and daemon: raise the open-file limit (as
	// root even above the hard limit).
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		want := syscall.Rlimit{Cur: 1 << 17, Max: max(lim.Max, 1<<17)}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) != nil {
			lim.Cur = lim.Max
			_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		}
	}
	fmt.Printf("# host: %s, %d CPUs; lvs-ha %s; keepalived %s (checker process, fakeipvs preloaded)\n",
		hostname(), numCPU(), *lvsha, *keepalived)
	failed := false
	for _, kind := range strings.Split(*kinds, ",") {
		var sizes []sized // this kind's sizes measured, for the per-check figures
		for _, s := range strings.Split(*rates, ",") {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 || n > 60000 {
				fatal(fmt.Errorf("bad server count %q", s))
			}
			var ms []measure
			for r := range max(*rounds, 1) {
				m, err := run(kind, n, *lvsha, *baseline, *keepalived, *shim, *dir, *warmup, *window)
				if err != nil {
					fmt.Fprintf(os.Stderr, "healthcheck bench %s x%d: %v\n", kind, n, err)
					failed = true
					break
				}
				fmt.Printf("# %s %d real servers, round %d: checks/s %.0f / %.0f, CPU-s per 1,000 checks %.4f / %.4f, peak RSS %.1f / %.1f MiB, anonymous RSS %.1f / %.1f MiB, late p99 %.2f / %.2f ms, max %.1f / %.1f ms (lvs-ha / keepalived)\n",
					kind, n, r+1, m[0].rate, m[1].rate, m[0].cpu1k, m[1].cpu1k, m[0].rss, m[1].rss, m[0].anon, m[1].anon, m[0].late99, m[1].late99, m[0].lateMax, m[1].lateMax)
				if *baseline != "" {
					fmt.Printf("# %s %d real servers, round %d, baseline lvs-ha: checks/s %.0f, CPU-s per 1,000 checks %.4f, peak RSS %.1f MiB, anonymous RSS %.1f MiB\n",
						kind, n, r+1, m[2].rate, m[2].cpu1k, m[2].rss, m[2].anon)
				}
				ms = append(ms, m)
			}
			if len(ms) > 0 {
				report(figName(kind, n), ms, 0)
				if *baseline != "" {
					report(figName(kind, n), ms, 2)
				}
				sizes = append(sizes, sized{n, ms})
			}
		}
		if len(sizes) >= 2 {
			perCheck(kind, sizes[0], sizes[len(sizes)-1], 0)
			if *baseline != "" {
				perCheck(kind, sizes[0], sizes[len(sizes)-1], 2)
			}
		}
	}
	if failed {
		os.Exit(1)
	}
}

// figName names a run's figures: healthcheck_tcp_1000rs, then variant's
// suffix (healthcheck_tcp_10000rs_solo).
func figName(kind string, n int) string {
	return fmt.Sprintf("healthcheck_%s_%drs", kind, n) + variant()
}

// variant names the run's settings in its figures: _dl10 for delay_loop
// 10, _solo for -solo.
func variant() string {
	v := ""
	if delayLoop != 1 {
		v += fmt.Sprintf("_dl%d", delayLoop)
	}
	if solo {
		v += "_solo"
	}
	return v
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "healthcheck bench:", err)
	os.Exit(1)
}

func hostname() string { h, _ := os.Hostname(); return h }

func numCPU() int { return runtime.NumCPU() }

// rsAddr is real server i of daemon d (1: lvs-ha, 2: keepalived).
func rsAddr(d, i int) string {
	return fmt.Sprintf("127.%d.%d.%d", d, i/250, i%250+1)
}

// rsPort+d is daemon d's real servers' port (-port); delayLoop is every
// check's delay_loop in seconds (-delay-loop).
var rsPort, delayLoop = 18080, 1

// solo runs each daemon alone, one after the other (-solo).
var solo bool

// config writes the keepalived.conf both daemons read: n real servers, ten
// per virtual server, delay_loop 1.
func config(kind string, d, n int) string {
	var b strings.Builder
	b.WriteString("global_defs {\n  router_id hcbench\n}\n")
	for v := 0; v*10 < n; v++ {
		fmt.Fprintf(&b, "virtual_server 10.%d.%d.%d 80 {\n  delay_loop %d\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n", d, v/250, v%250+1, delayLoop)
		for i := v * 10; i < min(n, v*10+10); i++ {
			fmt.Fprintf(&b, "  real_server %s %d {\n    weight 1\n", rsAddr(d, i), rsPort+d)
			switch kind {
			case "tcp":
				b.WriteString("    TCP_CHECK {\n      connect_timeout 3\n    }\n")
			case "http":
				b.WriteString("    HTTP_GET {\n      url {\n        path /\n        status_code 200\n      }\n      connect_timeout 3\n    }\n")
			}
			b.WriteString("  }\n")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// listeners serve n real servers of daemon d on one socket, bound to the
// wildcard address on daemon d's port (the real servers are the loopback
// addresses 127.d.x.y, all routed to lo; one socket per real server would
// need two open files per real server and cannot reach 10,000 under this
// host's hard limit of 20,000), count accepted connections and, while
// recording, each real server's interval between two checks (accepts).
type listeners struct {
	ln    net.Listener
	count atomic.Int64
	rec   atomic.Bool
	mu    sync.Mutex
	last  []time.Time     // per real server: its last accept (accept goroutine only)
	gaps  []time.Duration // intervals between accepts of one real server while recording
}

var httpReply = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")

// rsIndex is the real server a connection to local address a is for, or
// -1 for an address that is not one of daemon d's n real servers (the
// wildcard socket takes any; those are closed uncounted).
func rsIndex(a net.Addr, d, n int) int {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return -1
	}
	ip := ta.IP.To4()
	if ip == nil || ip[0] != 127 || int(ip[1]) != d || ip[3] < 1 || ip[3] > 250 {
		return -1
	}
	if i := int(ip[2])*250 + int(ip[3]) - 1; i < n {
		return i
	}
	return -1
}

func listen(kind string, d, n int) (*listeners, error) {
	ln, err := net.Listen("tcp4", net.JoinHostPort("0.0.0.0", strconv.Itoa(rsPort+d)))
	if err != nil {
		return nil, err
	}
	l := &listeners{ln: ln, last: make([]time.Time, n)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			at := time.Now()
			i := rsIndex(c.LocalAddr(), d, n)
			if i < 0 {
				c.Close()
				continue
			}
			l.count.Add(1)
			if l.rec.Load() && !l.last[i].IsZero() {
				l.mu.Lock()
				l.gaps = append(l.gaps, at.Sub(l.last[i]))
				l.mu.Unlock()
			}
			l.last[i] = at
			if kind != "http" {
				c.Close()
				continue
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				r := bufio.NewReader(c)
				for { // read the request head
					line, err := r.ReadString('\n')
					if err != nil || line == "\r\n" || line == "\n" {
						break
					}
				}
				_, _ = c.Write(httpReply)
			}()
		}
	}()
	return l, nil
}

// record starts (on) or stops recording intervals; stopping returns them.
func (l *listeners) record(on bool) []time.Duration {
	l.rec.Store(on)
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.gaps
	l.gaps = nil
	return g
}

func (l *listeners) close() { l.ln.Close() }

// cpuNS is the CPU time of all of pid's threads, from schedstat.
func cpuNS(pid int) (int64, error) {
	return sumTasks(pid, "schedstat", func(b string) int64 {
		f := strings.Fields(b)
		if len(f) < 1 {
			return 0
		}
		v, _ := strconv.ParseInt(f[0], 10, 64)
		return v
	})
}

// ctxSwitches is the context switches (voluntary and not) of all of pid's
// threads, from each thread's status.
func ctxSwitches(pid int) (int64, error) {
	return sumTasks(pid, "status", func(b string) int64 {
		var sum int64
		for _, line := range strings.Split(b, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				sum += n
			}
		}
		return sum
	})
}

// sumTasks sums value over the file /proc/pid/task/*/name of each of pid's
// threads (a thread that exited meanwhile counts nothing).
func sumTasks(pid int, name string, value func(string) int64) (int64, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/%s", pid, t.Name(), name))
		if err != nil {
			continue // thread exited
		}
		sum += value(string(b))
	}
	return sum, nil
}

// statusKiB is a kB field of /proc/pid/status: VmHWM is the peak RSS,
// RssAnon the private memory now (RSS less the mapped binary and libraries).
func statusKiB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s", field)
}

type daemon struct {
	name string
	cmd  *exec.Cmd
	pid  func() (int, error) // the process that runs the checks
	ls   *listeners
}

// measure is one round's figures: [0] lvs-ha, [1] keepalived, [2] the baseline lvs-ha (-baseline).
// late* are a real server's interval between two checks less delay_loop,
// in ms (how late each check came on the wire, the checker's own lateness
// plus the check's duration, which keepalived's and lvs-ha's schedules both
// count: the next check is due delay_loop after a check completes).
type measure [3]figures

// figures are one daemon's figures of a round.
type figures struct{ cpu1k, rss, anon, rate, ctxsw, late50, late99, lateMax float64 }

// report prints the medians of the rounds' figures; the ratio is the median
// of the rounds' ratios (each measured side by side).
// which is 0 for lvs-ha, 2 for the baseline lvs-ha.
func report(name string, ms []measure, which int) {
	if which == 2 {
		name += "_baseline"
	}
	med := func(f func(m measure) float64) float64 { return medianOf(ms, f) }
	fig := func(suffix, unit string, get func(m measure, i int) float64) {
		line(name+suffix, med(func(m measure) float64 { return get(m, which) }), med(func(m measure) float64 { return get(m, 1) }),
			med(func(m measure) float64 { return get(m, which) / get(m, 1) }), unit)
	}
	fig("_checks_per_s", "checks/s", func(m measure, i int) float64 { return m[i].rate })
	fig("_cpu_per_1000_checks", "cpu_s", func(m measure, i int) float64 { return m[i].cpu1k })
	fig("_ctxsw_per_check", "switches", func(m measure, i int) float64 { return m[i].ctxsw })
	fig("_peak_rss", "MiB", func(m measure, i int) float64 { return m[i].rss })
	fig("_anon_rss", "MiB", func(m measure, i int) float64 { return m[i].anon })
	fig("_late_p50", "ms", func(m measure, i int) float64 { return m[i].late50 })
	fig("_late_p99", "ms", func(m measure, i int) float64 { return m[i].late99 })
}

// lateness returns the p50, p99 and maximum of the intervals gaps less
// delay_loop, in ms.
func lateness(gaps []time.Duration) (p50, p99, maxi float64) {
	if len(gaps) == 0 {
		return 0, 0, 0
	}
	slices.Sort(gaps)
	ms := func(p float64) float64 {
		g := gaps[min(len(gaps)-1, int(float64(len(gaps))*p))]
		return float64(g-time.Duration(delayLoop)*time.Second) / 1e6
	}
	return ms(0.50), ms(0.99), ms(1)
}

// sized is one size's rounds.
type sized struct {
	n  int // real servers, one check each
	ms []measure
}

// perCheck prints the memory each daemon spends per check, as the issue
// words it: the growth of its peak RSS (VmHWM) and of its anonymous RSS
// between the smallest and the largest size measured, divided by the
// checks added, in KiB per check (medians of the rounds of each size; the
// ratio is the quotient of the two daemons' figures). The fixed part (the
// binary's pages, the runtime) cancels out.
func perCheck(kind string, a, b sized, which int) {
	name := fmt.Sprintf("healthcheck_%s_%d_%drs", kind, a.n, b.n) + variant()
	if which == 2 {
		name += "_baseline"
	}
	checks := float64(b.n - a.n)
	if checks <= 0 {
		return
	}
	fig := func(suffix string, get func(m measure, i int) float64) {
		per := func(i int) float64 {
			return (medianOf(b.ms, func(m measure) float64 { return get(m, i) }) -
				medianOf(a.ms, func(m measure) float64 { return get(m, i) })) * 1024 / checks
		}
		l, k := per(which), per(1)
		line(name+suffix, l, k, l/k, "KiB")
	}
	fig("_rss_per_check", func(m measure, i int) float64 { return m[i].rss })
	fig("_anon_rss_per_check", func(m measure, i int) float64 { return m[i].anon })
}

// medianOf is the median of f over ms.
func medianOf(ms []measure, f func(m measure) float64) float64 {
	v := make([]float64, len(ms))
	for i, m := range ms {
		v[i] = f(m)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// run measures one round: every daemon at once, or with -solo each alone in
// turn.
func run(kind string, n int, lvshaBin, baseline, kaBin, shim, dir string, warmup, window time.Duration) (measure, error) {
	if !solo {
		return runOnly(kind, n, lvshaBin, baseline, kaBin, shim, dir, warmup, window, 0)
	}
	var m measure
	for d := 1; d <= 2 || d == 3 && baseline != ""; d++ {
		md, err := runOnly(kind, n, lvshaBin, baseline, kaBin, shim, dir, warmup, window, d)
		if err != nil {
			return m, err
		}
		m[d-1] = md[d-1]
	}
	return m, nil
}

// runOnly measures daemons side by side: every one (only 0) or daemon only
// (1 lvs-ha, 2 keepalived, 3 the baseline).
func runOnly(kind string, n int, lvshaBin, baseline, kaBin, shim, dir string, warmup, window time.Duration, only int) (measure, error) {
	var m measure
	if kind != "tcp" && kind != "http" {
		return m, fmt.Errorf("unknown kind %q", kind)
	}
	nd := 2
	if baseline != "" {
		nd = 3
	}
	ds := make([]*daemon, nd) // nil: not run (-solo)
	for d := 1; d <= nd; d++ {
		if only != 0 && d != only {
			continue
		}
		ls, err := listen(kind, d, n)
		if err != nil {
			return m, err
		}
		defer ls.close()
		conf := filepath.Join(dir, fmt.Sprintf("%s-%d-%d.conf", kind, n, d))
		if err := os.WriteFile(conf, []byte(config(kind, d, n)), 0o644); err != nil {
			return m, err
		}
		logf, err := os.Create(conf + ".log")
		if err != nil {
			return m, err
		}
		defer logf.Close()
		var dm *daemon
		if d != 2 {
			bin := lvshaBin
			if d == 3 {
				bin = baseline
			}
			cmd := exec.Command(bin, "run", "-f", conf, "-pid-file", "", "-status-addr", "off", "-log-level", "warn")
			dm = &daemon{name: "lvs-ha", cmd: cmd}
			dm.pid = func() (int, error) { return cmd.Process.Pid, nil }
		} else {
			pidf := conf + ".pid"
			cpidf := conf + ".checker.pid"
			_ = os.Remove(cpidf)
			// -G: no syslog. Without a syslog daemon, glibc's syslog
			// falls back to /dev/console, which can be a slow serial
			// line: keepalived then stalls for seconds on its log.
			cmd := exec.Command(kaBin, "-n", "-l", "-G", "--check", "-f", conf, "-p", pidf, "-c", cpidf)
			if shim != "" {
				cmd.Env = append(os.Environ(), "LD_PRELOAD="+shim)
			}
			dm = &daemon{name: "keepalived", cmd: cmd}
			dm.pid = func() (int, error) {
				b, err := os.ReadFile(cpidf)
				if err != nil {
					return 0, fmt.Errorf("keepalived checker pid: %w", err)
				}
				return strconv.Atoi(strings.TrimSpace(string(b)))
			}
		}
		dm.ls = ls
		dm.cmd.Stdout, dm.cmd.Stderr = logf, logf
		ds[d-1] = dm
	}
	for _, dm := range ds {
		if dm == nil {
			continue
		}
		if err := dm.cmd.Start(); err != nil {
			return m, err
		}
		defer func() {
			_ = dm.cmd.Process.Signal(syscall.SIGTERM)
			if pid, err := dm.pid(); err == nil && pid != dm.cmd.Process.Pid {
				// keepalived's checker can take 5 s to give up its
				// (fake) IPVS clean-up; it holds nothing worth keeping.
				time.Sleep(200 * time.Millisecond)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			done := make(chan struct{})
			go func() { _ = dm.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = dm.cmd.Process.Kill()
				<-done
			}
		}()
	}
	// Warm-up: until every real server of both daemons was checked at least
	// once (a loaded machine can take a while to start 1,000 checks), then
	// warmup more.
	full := func() bool {
		for _, dm := range ds {
			if dm != nil && dm.ls.count.Load() < int64(n) {
				return false
			}
		}
		return true
	}
	for t0 := time.Now(); !full(); {
		if time.Since(t0) > 2*time.Minute {
			var counts []string
			for _, dm := range ds {
				if dm != nil {
					counts = append(counts, fmt.Sprintf("%s %d", dm.name, dm.ls.count.Load()))
				}
			}
			return m, fmt.Errorf("no full round of checks within 2 minutes (%s of %d)", strings.Join(counts, ", "), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(warmup)
	type snap struct {
		cpu    int64
		checks int64
		ctxsw  int64
	}
	pids := make([]int, nd)
	s0 := make([]snap, nd)
	for i, dm := range ds {
		if dm == nil {
			continue
		}
		pid, err := dm.pid()
		if err != nil {
			return m, fmt.Errorf("%s: %w", dm.name, err)
		}
		pids[i] = pid
		c, err := cpuNS(pid)
		if err != nil {
			return m, fmt.Errorf("%s not running: %w", dm.name, err)
		}
		cs, err := ctxSwitches(pid)
		if err != nil {
			return m, fmt.Errorf("%s not running: %w", dm.name, err)
		}
		s0[i] = snap{c, dm.ls.count.Load(), cs}
		dm.ls.record(true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), window)
	<-ctx.Done()
	cancel()
	for i, dm := range ds {
		if dm == nil {
			continue
		}
		c, err := cpuNS(pids[i])
		if err != nil {
			return m, fmt.Errorf("%s died: %w", dm.name, err)
		}
		checks := dm.ls.count.Load() - s0[i].checks
		if checks == 0 {
			return m, fmt.Errorf("%s ran no checks", dm.name)
		}
		m[i].cpu1k = float64(c-s0[i].cpu) / 1e9 / float64(checks) * 1000
		cs, err := ctxSwitches(pids[i])
		if err != nil {
			return m, fmt.Errorf("%s died: %w", dm.name, err)
		}
		m[i].ctxsw = float64(cs-s0[i].ctxsw) / float64(checks)
		m[i].rate = float64(checks) / window.Seconds()
		m[i].late50, m[i].late99, m[i].lateMax = lateness(dm.ls.record(false))
		h, err := statusKiB(pids[i], "VmHWM")
		if err != nil {
			return m, err
		}
		m[i].rss = float64(h) / 1024
		a, err := statusKiB(pids[i], "RssAnon")
		if err != nil {
			return m, err
		}
		m[i].anon = float64(a) / 1024
	}
	return m, nil
}

func line(name string, lvsha, ref, ratio float64, unit string) {
	if unit == "checks/s" {
		// A rate, not a cost: the report's ratios read "below 1.00 costs
		// less", so this figure has none (lateness compares the rates).
		fmt.Printf("BENCH name=%s lvsha=%.4g ref=%.4g unit=%s ratio=-\n", name, lvsha, ref, unit)
		return
	}
	fmt.Printf("BENCH name=%s lvsha=%.4g ref=%.4g unit=%s ratio=%.2f\n", name, lvsha, ref, unit, ratio)
}

package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// vip4b is the keepalived pair's VIP in TestBenchStability.
var vip4b = netip.MustParsePrefix("192.0.2.101/24")

// TestBenchStability runs an lvs-ha pair (VRID 51) and a keepalived pair
// (VRID 52) side by side on one bridge, VRRPv3 with 10 ms adverts, both at
// default priority, under each load for LVSHA_BENCH_DURATION (default 60s;
// issue #15 asks for 10m), and counts false transitions (state changes after
// both pairs were stable) and backup adverts on the wire, the gaps between
// the masters' adverts and the CPU time each pair used. Loads
// (LVSHA_BENCH_LOADS, default
// "oversub,nice"):
//   - oversub: 4 busy loops per CPU at nice 0;
//   - nice: 2 busy loops per CPU at nice -10;
//   - mem: memory pressure: this process allocates and touches all but
//     LVSHA_BENCH_MEM_RESERVE_MB (default 1024) of MemAvailable, squeezing the
//     page cache (the daemons' text included). Not in the default list: it
//     takes the memory of everything else on the machine.
//
// It also prints the machine's steal time during each load and, with
// LVSHA_BENCH_CPU_WITNESS=1, which long master gaps overlap a CPU that ran
// none of the machine's threads (cpuWitness).
//
// One BENCH line per figure (see TestBenchFailover).
func TestBenchStability(t *testing.T) {
	if os.Getenv(benchEnv) != "1" {
		t.Skipf("run by integration/bench/stability.sh (%s=1)", benchEnv)
	}
	requireImpls(t, implLVSHA, implKeepalived)
	dur := benchDuration(t, "LVSHA_BENCH_DURATION", time.Minute)
	loads := []string{"oversub", "nice"}
	if s := os.Getenv("LVSHA_BENCH_LOADS"); s != "" {
		loads = strings.Split(s, ",")
	}
	for _, load := range loads {
		t.Run(load, func(t *testing.T) { benchStability(t, load, dur) })
	}
}

func stabilityInst(vrid, prio int, vip netip.Prefix) vrrpInst {
	return vrrpInst{Version: 3, VRID: vrid, AdvertInt: 10 * time.Millisecond, Priority: prio, VIPs: []netip.Prefix{vip}}
}

func benchStability(t *testing.T, load string, dur time.Duration) {
	v := newVRRPLab(t, 4)
	defer v.lab.Close()
	defer v.cap.close()
	la := v.director(0, implLVSHA, stabilityInst(51, 150, vip4))
	lb := v.director(1, implLVSHA, stabilityInst(51, 100, vip4))
	// Each collection logs a line (a few in a run), so a master's long gap
	// can be set against its daemon's collections (stalls).
	la.env = []string{"GODEBUG=gctrace=1"}
	lb.env = la.env
	ka := v.director(2, implKeepalived, stabilityInst(52, 150, vip4b))
	kb := v.director(3, implKeepalived, stabilityInst(52, 100, vip4b))
	startAll(la, lb, ka, kb)
	waitSoleMaster(t, la, la, lb)
	waitSoleMaster(t, ka, ka, kb)
	quiet(t, v.cap, la, lb)
	quiet(t, v.cap, ka, kb)

	capMark := v.cap.mark()
	marks := map[*director]int{}
	for _, d := range []*director{la, lb, ka, kb} {
		marks[d] = d.mark()
	}
	cpuBefore := map[*director]time.Duration{}
	for _, d := range []*director{la, lb, ka, kb} {
		cpuBefore[d] = groupCPU(d.proc.Pid())
	}
	var witness *cpuWitness
	if os.Getenv("LVSHA_BENCH_CPU_WITNESS") == "1" {
		witness = startCPUWitness()
	}
	stealBefore := stealTime()
	stop, err := startLoad(load)
	if err != nil {
		witness.close()
		t.Fatal(err)
	}
	start := time.Now()
	time.Sleep(dur)
	stop()
	elapsed := time.Since(start)
	witness.close()
	steal := stealTime() - stealBefore
	cpu := func(ds ...*director) float64 {
		var sum time.Duration
		for _, d := range ds {
			sum += groupCPU(d.proc.Pid()) - cpuBefore[d]
		}
		return sum.Seconds()
	}
	frames := v.cap.since(capMark)

	pair := func(master, backup *director) pairFig {
		var f pairFig
		f.transitions = len(master.states(marks[master])) + len(backup.states(marks[backup]))
		vrid := master.inst().VRID
		var last time.Time
		for _, fr := range frames {
			switch {
			case isVRRPFrom(backup.node, vrid)(fr) && fr.Priority > 0:
				f.backupAdverts++
			case isVRRPFrom(master.node, vrid)(fr):
				if !last.IsZero() {
					f.gaps = append(f.gaps, fr.At.Sub(last))
					f.gapAt = append(f.gapAt, last)
				}
				last = fr.At
			}
		}
		return f
	}
	l, k := pair(la, lb), pair(ka, kb)
	fmt.Printf("bench-stability: %-8s %v: lvs-ha %d transitions, %d backup adverts, %d master adverts (gap p50 %.2f p99 %.2f max %.2f ms); keepalived %d, %d, %d (%.2f %.2f %.2f ms)\n",
		load, elapsed.Round(time.Second), l.transitions, l.backupAdverts, len(l.gaps)+1,
		ms(pct(l.gaps, 50)), ms(pct(l.gaps, 99)), ms(pct(l.gaps, 100)),
		k.transitions, k.backupAdverts, len(k.gaps)+1, ms(pct(k.gaps, 50)), ms(pct(k.gaps, 99)), ms(pct(k.gaps, 100)))
	benchLine("vrrp_stability_"+load+"_false_transitions", float64(l.transitions), float64(k.transitions), "count")
	benchLine("vrrp_stability_"+load+"_backup_adverts", float64(l.backupAdverts), float64(k.backupAdverts), "count")
	benchLine("vrrp_stability_"+load+"_advert_gap_p99", ms(pct(l.gaps, 99)), ms(pct(k.gaps, 99)), "ms")
	benchLine("vrrp_stability_"+load+"_advert_gap_max", ms(pct(l.gaps, 100)), ms(pct(k.gaps, 100)), "ms")
	// The pairs' CPU time during the load (both daemons of each pair, all
	// their processes and threads): the work each advert costs is what a
	// starved daemon must get scheduled for.
	benchLine("vrrp_stability_"+load+"_cpu", cpu(la, lb), cpu(ka, kb), "s")
	gcs := append(gcCycles(la, marks[la]), gcCycles(lb, marks[lb])...)
	fmt.Printf("bench-stability: %s the CPUs: steal time %.0f ms; %s\n", load, ms(steal), witness.summary())
	stalls(load, start, "lvs-ha", l, k, gcs, witness)
	stalls(load, start, "keepalived", k, l, gcs, witness)
}

// stealTime is the time the hypervisor ran other guests on this machine's
// CPUs while it had work (/proc/stat's steal column, all CPUs), or 0.
func stealTime() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	// cpu user nice system idle iowait irq softirq steal ...
	fs := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
	if len(fs) < 9 || fs[0] != "cpu" {
		return 0
	}
	ticks, _ := strconv.ParseInt(fs[8], 10, 64)
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// pairFig is what TestBenchStability counts of a pair on the wire.
type pairFig struct {
	transitions, backupAdverts int
	gaps                       []time.Duration // between the master's adverts
	gapAt                      []time.Time     // when each gap began
}

// stallGap is the master advert gap stalls reports: three adverts missed,
// near the backup's master down interval (~36 ms).
const stallGap = 30 * time.Millisecond

// stalls prints a pair's master advert gaps over stallGap: when each began
// (seconds into the load), the other pair's longest gap overlapping it (both
// masters silent at once: a stall of the machine, not of one daemon) and the
// lvs-ha daemons' collections within 100 ms of it (their gctrace lines are
// timed on arrival here, which the load may delay) and the longest silence
// of a CPU in it (the witness: the CPU ran none of the machine's threads).
// Then counts, so that a run of several stalls says whether they go with
// the collector or with the machine.
func stalls(load string, start time.Time, name string, p, other pairFig, gcs []gcCycle, w *cpuWitness) {
	const slack = 100 * time.Millisecond
	n, withGC, shared, silent := 0, 0, 0, 0
	for i, g := range p.gaps {
		if g <= stallGap {
			continue
		}
		n++
		from, to := p.gapAt[i], p.gapAt[i].Add(g)
		var both time.Duration
		for j, og := range other.gaps {
			if other.gapAt[j].Before(to) && other.gapAt[j].Add(og).After(from) {
				both = max(both, og)
			}
		}
		if both > 20*time.Millisecond {
			shared++
		}
		var near []string
		for _, c := range gcs {
			if c.from.Before(to.Add(slack)) && c.to.After(from.Add(-slack)) {
				near = append(near, fmt.Sprintf("%q at %+.3f s", c.text, c.from.Sub(from).Seconds()))
			}
		}
		if len(near) > 0 {
			withGC++
		}
		cpuText := ""
		if w != nil {
			cpuText = fmt.Sprintf("; a CPU's longest silence over %v in it: none", witnessLate)
			if s, ok := w.longest(from, to); ok {
				silent++
				cpuText = fmt.Sprintf("; a CPU's longest silence over %v in it: %.1f ms (CPU %d, at %+.3f s)", witnessLate, ms(s.To.Sub(s.From)), s.CPU, s.From.Sub(from).Seconds())
			}
		}
		if n <= 10 {
			fmt.Printf("bench-stability: %s %s master gap %.1f ms at %.3f s; the other pair's longest gap in it %.1f ms%s; lvs-ha collections near it: %d %s\n",
				load, name, ms(g), from.Sub(start).Seconds(), ms(both), cpuText, len(near), strings.Join(near, "; "))
		}
	}
	cpuText := ""
	if w != nil {
		cpuText = fmt.Sprintf(", %d with a CPU silent over %v in it", silent, witnessLate)
	}
	fmt.Printf("bench-stability: %s %s master gaps over %v: %d, %d with the other pair's master silent over 20 ms in it%s, %d within 100 ms of an lvs-ha collection (%d collections in the run)\n",
		load, name, stallGap, n, shared, cpuText, withGC, len(gcs))
}

// gcCycle is one collection of an lvs-ha daemon, from its GODEBUG=gctrace=1
// line, which is written as the cycle ends: it spans the line's arrival less
// the wall time of its three phases.
type gcCycle struct {
	from, to time.Time
	text     string
}

var gctraceRE = regexp.MustCompile(`^gc \d+ @[\d.]+s \d+%: ([\d.]+)\+([\d.]+)\+([\d.]+) ms clock`)

// gcCycles returns d's collections logged from line mark on.
func gcCycles(d *director, mark int) []gcCycle {
	var out []gcCycle
	for _, l := range d.log.snapshot(mark) {
		m := gctraceRE.FindStringSubmatch(l.Text)
		if m == nil {
			continue
		}
		var clock float64
		for _, f := range m[1:] {
			v, _ := strconv.ParseFloat(f, 64)
			clock += v
		}
		out = append(out, gcCycle{from: l.At.Add(-time.Duration(clock*1000+0.5) * time.Microsecond), to: l.At, text: l.Text})
	}
	return out
}

// groupCPU is the CPU time (user and system) used so far by the processes
// of process group pgid (a director's daemon: keepalived's VRRP child
// included), from /proc/PID/stat; exited processes are not counted.
func groupCPU(pgid int) time.Duration {
	var ticks int64
	groupProcs(pgid, func(_ string, stat []string) {
		// pid (comm) state ppid pgrp ... utime stime: fields 14 and 15.
		if len(stat) >= 13 {
			ut, _ := strconv.ParseInt(stat[11], 10, 64)
			st, _ := strconv.ParseInt(stat[12], 10, 64)
			ticks += ut + st
		}
	})
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// groupProcs calls f for each process of process group pgid with its
// /proc directory and the fields of its stat after the command (state,
// ppid, pgrp, ...).
func groupProcs(pgid int, f func(dir string, stat []string)) {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		if fs := strings.Fields(string(b[i+1:])); len(fs) >= 3 && fs[2] == strconv.Itoa(pgid) {
			f(filepath.Dir(path), fs)
		}
	}
}

// quiet waits (up to a minute) for 50 adverts of master in a row with none
// of backup's: on a loaded machine 10 ms adverts may flap before the load
// starts; then the run goes on, the flapping counted like any other.
func quiet(t *testing.T, c *capture, master, backup *director) {
	t.Helper()
	vrid := master.inst().VRID
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		err := c.count(c.mark(), 50, 5*time.Second, fmt.Sprintf("adverts from %v", master), isVRRPFrom(master.node, vrid),
			func(f *frame) bool { return isVRRPFrom(backup.node, vrid)(f) && f.Priority > 0 })
		if err == nil {
			return
		}
	}
	fmt.Printf("bench-stability: %v and %v never quiet for 50 adverts before the load\n", master, backup)
}

// startLoad starts a load of TestBenchStability and returns its stop.
func startLoad(load string) (func(), error) {
	switch load {
	case "oversub":
		return busyLoops(4*runtime.NumCPU(), 0)
	case "nice":
		return busyLoops(2*runtime.NumCPU(), -10)
	case "mem":
		return memoryPressure()
	case "none":
		return func() {}, nil
	}
	return nil, fmt.Errorf("unknown load %q (oversub, nice, mem, none)", load)
}

// busyLoops starts n shell busy loops at nice value nice.
func busyLoops(n, nice int) (func(), error) {
	var cmds []*exec.Cmd
	stop := func() {
		for _, c := range cmds {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			_ = c.Wait()
		}
	}
	for range n {
		c := exec.Command("nice", "-n", strconv.Itoa(nice), "sh", "-c", "while :; do :; done")
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("busy loop: %w", err)
		}
		cmds = append(cmds, c)
	}
	return stop, nil
}

// memoryPressure allocates and touches all of MemAvailable but the reserve,
// and keeps touching it until stopped.
func memoryPressure() (func(), error) {
	avail, err := memAvailableMiB()
	if err != nil {
		return nil, err
	}
	reserve := 1024
	if s := os.Getenv("LVSHA_BENCH_MEM_RESERVE_MB"); s != "" {
		if reserve, err = strconv.Atoi(s); err != nil {
			return nil, fmt.Errorf("LVSHA_BENCH_MEM_RESERVE_MB=%q: %w", s, err)
		}
	}
	n := avail - reserve
	if n <= 0 {
		return nil, fmt.Errorf("MemAvailable %d MiB is below the reserve %d MiB", avail, reserve)
	}
	fmt.Printf("bench-stability: memory pressure: %d of %d MiB available\n", n, avail)
	var (
		mu     sync.Mutex
		chunks [][]byte
		done   = make(chan struct{})
		wg     sync.WaitGroup
	)
	wg.Go(func() {
		page := os.Getpagesize()
		for {
			mu.Lock()
			if len(chunks) < n/64 {
				chunks = append(chunks, make([]byte, 64<<20))
			}
			cs := slices.Clone(chunks)
			mu.Unlock()
			for _, c := range cs {
				for i := 0; i < len(c); i += page {
					c[i]++
				}
			}
			select {
			case <-done:
				return
			default:
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		mu.Lock()
		chunks = nil
		mu.Unlock()
		debug.FreeOSMemory()
	}, nil
}

func memAvailableMiB() (int, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no MemAvailable in /proc/meminfo")
}

func TestGCCycles(t *testing.T) {
	at := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	d := &director{log: &tsLog{lines: []logLine{
		{At: at, Text: `time=2026-12-07T06:00:00Z level=INFO msg="state change"`},
		{At: at, Text: "gc 3 @0.078s 1%: 0.043+1.9+0.045 ms clock, 0.087+0/0.68/0.61+0.090 ms cpu, 12->13->8 MB, 13 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)"},
	}}}
	got := gcCycles(d, 0)
	if len(got) != 1 || !got[0].to.Equal(at) || got[0].to.Sub(got[0].from) != 1988*time.Microsecond {
		t.Fatalf("gcCycles = %+v, want one cycle of 1.988 ms ending at %v", got, at)
	}
	if got := gcCycles(d, 2); len(got) != 0 {
		t.Fatalf("gcCycles from mark 2 = %+v, want none", got)
	}
}

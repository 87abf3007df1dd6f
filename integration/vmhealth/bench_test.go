//go:build vm

package vmhealth

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

// The health-check benchmark is opt-in: it takes a minute of VM time and its
// figures are for people, not assertions. Enable it with
//
//	VM_PKGS=./integration/vmhealth VM_TOOLS="ipvsadm nft keepalived" \
//	VM_TESTFLAGS="-test.run=TestHealthCheckBench -lvsha.bench" make test-vm
//
// (or LVSHA_BENCH=1 in the test's environment). keepalived is compared only
// when it is in the image (VM_TOOLS).
var (
	benchFlag      = flag.Bool("lvsha.bench", false, "run the health-check benchmark (TestHealthCheckBench)")
	benchChecks    = flag.Int("lvsha.bench.checks", 2000, "health checks per second to configure (delay_loop 1)")
	benchListeners = flag.Int("lvsha.bench.listeners", 200, "TCP listeners the checks are spread over")
	benchWindow    = flag.Duration("lvsha.bench.window", 10*time.Second, "measurement window per daemon")
)

// clkTck is USER_HZ, the unit of the times in /proc/PID/stat (100 on Linux).
const clkTck = 100

const benchAddr = "192.0.2.1"

// benchConfig is a keepalived.conf with vs virtual servers of listeners real
// servers each, all with a TCP_CHECK every second.
func benchConfig(vs int, ports []int) string {
	var b strings.Builder
	b.WriteString("global_defs {\n    router_id bench\n}\n")
	for i := range vs {
		fmt.Fprintf(&b, "virtual_server 198.51.%d.%d 80 {\n", i/250, i%250+1)
		b.WriteString("    delay_loop 1\n    lvs_sched rr\n    lvs_method NAT\n    protocol TCP\n")
		for _, p := range ports {
			fmt.Fprintf(&b, "    real_server %s %d {\n        TCP_CHECK {\n            connect_timeout 1\n        }\n    }\n", benchAddr, p)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// procTimes is a process's own and reaped children's CPU time (ticks), its
// parent and, from /proc/PID/status, its peak RSS (kB).
type procTimes struct {
	pid, ppid int
	ticks     int64
	hwmKB     int64
}

func readProc(pid int) (procTimes, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procTimes{}, err
	}
	// comm may hold spaces: fields start after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procTimes{}, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); ppid is field 4, utime..cstime fields 14..17.
	if len(f) < 15 {
		return procTimes{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	pt := procTimes{pid: pid}
	if pt.ppid, err = strconv.Atoi(f[1]); err != nil {
		return procTimes{}, fmt.Errorf("/proc/%d/stat ppid: %w", pid, err)
	}
	for _, x := range f[11:15] {
		v, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return procTimes{}, fmt.Errorf("/proc/%d/stat times: %w", pid, err)
		}
		pt.ticks += v
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procTimes{}, err
	}
	for line := range strings.Lines(string(st)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				pt.hwmKB, _ = strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return pt, nil
}

// tree returns root and its live descendants.
func tree(root int) ([]procTimes, error) {
	rp, err := readProc(root)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	children := map[int][]procTimes{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		p, err := readProc(pid)
		if err != nil {
			continue // gone, or a kernel thread without status
		}
		children[p.ppid] = append(children[p.ppid], p)
	}
	out := []procTimes{rp}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i].pid]...)
	}
	return out, nil
}

func treeTicks(ps []procTimes) int64 {
	var n int64
	for _, p := range ps {
		n += p.ticks
	}
	return n
}

// benchResult is what one daemon cost over the window.
type benchResult struct {
	checks  int64   // connections accepted by the listeners
	cpu     float64 // CPU seconds of the process tree
	secs    float64 // window length
	rssKB   []int64 // VmHWM of each process of the tree at the end
	rssName []string
}

func (r benchResult) perK() float64 {
	if r.checks == 0 {
		return 0
	}
	return r.cpu / (float64(r.checks) / 1000)
}

func (r benchResult) rss() string {
	var sum int64
	parts := make([]string, len(r.rssKB))
	for i, kb := range r.rssKB {
		sum += kb
		parts[i] = fmt.Sprintf("%s %.1fMiB", r.rssName[i], float64(kb)/1024)
	}
	if len(parts) == 1 {
		return fmt.Sprintf("%.1fMiB", float64(sum)/1024)
	}
	return fmt.Sprintf("%.1fMiB(%s)", float64(sum)/1024, strings.Join(parts, " + "))
}

// measure waits until every real server is in the IPVS table, lets the daemon
// settle and then measures it over window.
func measure(t *testing.T, dir *netlab.Node, d *netlab.Proc, accepts *atomic.Int64, vs, rs int, window time.Duration) benchResult {
	t.Helper()
	want := vs * rs
	err := netlab.WaitFor(120*time.Second, func() (bool, error) {
		select {
		case <-d.Done():
			return false, errors.New("exited")
		default:
		}
		n := 0
		for _, dests := range table(t, dir) {
			n += len(dests)
		}
		return n == want, nil
	}, func() string { return fmt.Sprintf("%d destinations in IPVS; log:\n%s", want, d.LogTail(3000)) })
	if err != nil {
		t.Fatalf("%s: %v", d.Name(), err)
	}
	time.Sleep(3 * time.Second) // past start-up work and the first round of checks

	before, err := tree(d.Pid())
	if err != nil {
		t.Fatal(err)
	}
	a0, t0 := accepts.Load(), time.Now()
	time.Sleep(window)
	after, err := tree(d.Pid())
	if err != nil {
		t.Fatal(err)
	}
	a1, t1 := accepts.Load(), time.Now()
	r := benchResult{
		checks: a1 - a0,
		cpu:    float64(treeTicks(after)-treeTicks(before)) / clkTck,
		secs:   t1.Sub(t0).Seconds(),
	}
	for i, p := range after {
		name := "main"
		if i > 0 {
			name = fmt.Sprintf("child%d", p.pid)
		}
		r.rssKB = append(r.rssKB, p.hwmKB)
		r.rssName = append(r.rssName, name)
	}
	t.Logf("%s: %d checks in %.1fs (%.0f/s), %.2f CPU s, %d process(es), rss %s",
		d.Name(), r.checks, r.secs, float64(r.checks)/r.secs, r.cpu, len(after), r.rss())
	return r
}

// stopDaemon terminates d and clears IPVS for the next one.
func stopDaemon(t *testing.T, dir *netlab.Node, d *netlab.Proc) {
	t.Helper()
	d.Signal(syscall.SIGTERM)
	if err := d.Wait(30 * time.Second); err != nil {
		t.Logf("%s exit: %v", d.Name(), err)
	}
	vmlab.ClearIPVS(t, dir)
}

func TestHealthCheckBench(t *testing.T) {
	vmtest.Require(t)
	if !*benchFlag && os.Getenv("LVSHA_BENCH") != "1" {
		t.Skip("benchmark: pass -lvsha.bench (VM_TESTFLAGS) or LVSHA_BENCH=1")
	}
	nl := max(*benchListeners, 1)
	vs := max((*benchChecks+nl-1)/nl, 1)
	lab := netlab.New(t, netlab.Options{})
	dir := lab.AddNode("dir", benchAddr)

	// Listeners that accept and close at once, counting connections.
	var accepts atomic.Int64
	ports := make([]int, nl)
	for i := range ports {
		ports[i] = 20000 + i
		var ln net.Listener
		err := dir.Do(func() (err error) {
			ln, err = net.Listen("tcp4", fmt.Sprintf("%s:%d", benchAddr, ports[i]))
			return err
		})
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					if errors.Is(err, net.ErrClosed) {
						return
					}
					continue
				}
				accepts.Add(1)
				c.Close()
			}
		}()
	}

	tmp := t.TempDir()
	file := filepath.Join(tmp, "keepalived.conf")
	if err := os.WriteFile(file, []byte(benchConfig(vs, ports)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d virtual servers × %d real servers, TCP_CHECK delay_loop 1: %d checks/s configured", vs, nl, vs*nl)
	vmlab.ClearIPVS(t, dir)

	d := vmlab.Run(t, dir, "health checks running", 120*time.Second, "-f", file)
	ours := measure(t, dir, d, &accepts, vs, nl, *benchWindow)
	stopDaemon(t, dir, d)

	kaPath, err := exec.LookPath("keepalived")
	if err != nil {
		t.Logf("healthcheck-bench: checks/s=%.0f, lvs-ha cpu-s/1000checks=%.4f, keepalived cpu-s/1000checks=n/a (not in the VM image: VM_TOOLS=\"ipvsadm nft keepalived\"), rss lvs-ha=%s",
			float64(ours.checks)/ours.secs, ours.perK(), ours.rss())
		return
	}
	k := dir.Start(kaPath, "-n", "-l", "-G", "-C", "-f", file,
		"-p", filepath.Join(tmp, "keepalived.pid"),
		"-c", filepath.Join(tmp, "checkers.pid"))
	theirs := measure(t, dir, k, &accepts, vs, nl, *benchWindow)
	stopDaemon(t, dir, k)

	ratio := 0.0
	if theirs.perK() > 0 {
		ratio = ours.perK() / theirs.perK()
	}
	t.Logf("healthcheck-bench: checks/s=%.0f (lvs-ha) %.0f (keepalived), lvs-ha cpu-s/1000checks=%.4f, keepalived cpu-s/1000checks=%.4f, ratio=%.2f, rss lvs-ha=%s keepalived=%s",
		float64(ours.checks)/ours.secs, float64(theirs.checks)/theirs.secs,
		ours.perK(), theirs.perK(), ratio, ours.rss(), theirs.rss())
}

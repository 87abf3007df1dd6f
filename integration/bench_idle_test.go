package integration

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBenchIdle runs an lvs-ha pair (VRID 51) and a keepalived pair (VRID
// 52) side by side on one bridge with keepalived's defaults (VRRPv2,
// advert_int 1), nothing else configured and no load, for
// LVSHA_BENCH_IDLE_DURATION (default 60s), and measures the CPU time
// (schedstat: every thread of the process group, to the nanosecond, where
// an idle daemon uses a few clock ticks a minute) and the context switches
// (voluntary and involuntary, every thread) of each daemon, per minute:
// master and backup apart and the pair together. A pair of directors
// spends nearly all its life in this state. One BENCH line per figure
// (see TestBenchFailover).
func TestBenchIdle(t *testing.T) {
	if os.Getenv(benchEnv) != "1" {
		t.Skipf("run by integration/bench/idle.sh (%s=1)", benchEnv)
	}
	requireImpls(t, implLVSHA, implKeepalived)
	dur := benchDuration(t, "LVSHA_BENCH_IDLE_DURATION", time.Minute)
	v := newVRRPLab(t, 4)
	defer v.lab.Close()
	defer v.cap.close()
	inst := func(vrid, prio int, vip netip.Prefix) vrrpInst {
		return vrrpInst{Version: 2, VRID: vrid, AdvertInt: time.Second, Priority: prio, VIPs: []netip.Prefix{vip}}
	}
	la := v.director(0, implLVSHA, inst(51, 150, vip4))
	lb := v.director(1, implLVSHA, inst(51, 100, vip4))
	ka := v.director(2, implKeepalived, inst(52, 150, vip4b))
	kb := v.director(3, implKeepalived, inst(52, 100, vip4b))
	startAll(la, lb, ka, kb)
	waitSoleMaster(t, la, la, lb)
	waitSoleMaster(t, ka, ka, kb)
	time.Sleep(3 * time.Second) // past the startup's one-off work

	all := []*director{la, lb, ka, kb}
	before := map[*director]taskUsage{}
	marks := map[*director]int{}
	for _, d := range all {
		before[d] = groupUsage(d.proc.Pid())
		marks[d] = d.mark()
	}
	start := time.Now()
	time.Sleep(dur)
	mins := time.Since(start).Minutes()
	used := map[*director]taskUsage{}
	for _, d := range all {
		u := groupUsage(d.proc.Pid())
		used[d] = taskUsage{cpu: u.cpu - before[d].cpu, switches: u.switches - before[d].switches}
	}
	for _, d := range all {
		if s := d.states(marks[d]); len(s) > 0 {
			t.Errorf("%v: state changes %v in the window: not idle", d, s)
		}
	}
	perMin := func(ds ...*director) (cpuMS, switches float64) {
		for _, d := range ds {
			cpuMS += float64(used[d].cpu) / float64(time.Millisecond)
			switches += float64(used[d].switches)
		}
		return cpuMS / mins, switches / mins
	}
	lc, ls := perMin(la, lb)
	kc, ks := perMin(ka, kb)
	lmc, lms := perMin(la)
	kmc, kms := perMin(ka)
	lbc, lbs := perMin(lb)
	kbc, kbs := perMin(kb)
	fmt.Printf("bench-idle: %v, per minute: lvs-ha master %.1f ms CPU, %.0f context switches, backup %.1f ms, %.0f; keepalived master %.1f ms, %.0f, backup %.1f ms, %.0f\n",
		time.Since(start).Round(time.Second), lmc, lms, lbc, lbs, kmc, kms, kbc, kbs)
	benchLine("vrrp_idle_adv1_pair_cpu_per_min", lc, kc, "ms")
	benchLine("vrrp_idle_adv1_pair_ctxsw_per_min", ls, ks, "switches")
	benchLine("vrrp_idle_adv1_master_cpu_per_min", lmc, kmc, "ms")
	benchLine("vrrp_idle_adv1_backup_cpu_per_min", lbc, kbc, "ms")
	benchLine("vrrp_idle_adv1_master_ctxsw_per_min", lms, kms, "switches")
	benchLine("vrrp_idle_adv1_backup_ctxsw_per_min", lbs, kbs, "switches")
}

// taskUsage is the CPU time and context switches of a set of threads.
type taskUsage struct {
	cpu      time.Duration
	switches int64
}

// groupUsage sums taskUsage over every thread of every process in process
// group pgid (keepalived: its parent and VRRP child): the run time of
// /proc/PID/task/TID/schedstat (nanoseconds) and the voluntary and
// involuntary context switches of its status.
func groupUsage(pgid int) taskUsage {
	var u taskUsage
	groupProcs(pgid, func(dir string, _ []string) {
		tasks, _ := filepath.Glob(filepath.Join(dir, "task", "[0-9]*"))
		for _, task := range tasks {
			if s, err := os.ReadFile(filepath.Join(task, "schedstat")); err == nil {
				if fs := strings.Fields(string(s)); len(fs) > 0 {
					ns, _ := strconv.ParseInt(fs[0], 10, 64)
					u.cpu += time.Duration(ns)
				}
			}
			st, err := os.ReadFile(filepath.Join(task, "status"))
			if err != nil {
				continue
			}
			for line := range strings.SplitSeq(string(st), "\n") {
				if k, val, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
					n, _ := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
					u.switches += n
				}
			}
		}
	})
	return u
}

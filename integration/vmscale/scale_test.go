//go:build vm

package vmscale

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/vmlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

var (
	scaleFlag     = flag.Bool("lvsha.scale", false, "run the control-plane scale benchmark (TestScale)")
	scaleServices = flag.Int("lvsha.scale.services", 10000, "virtual servers")
	scaleReals    = flag.Int("lvsha.scale.reals", 10, "real servers per virtual server")
)

const (
	statusAddr = "127.0.0.1:19611"
	clkTck     = 100 // USER_HZ, the unit of /proc/PID/stat times
)

func vip(i int) string { return fmt.Sprintf("198.18.%d.%d", i/250, i%250+1) }
func rip(j int) string { return fmt.Sprintf("198.19.%d.%d", j/250, j%250+1) }

// config is n TCP virtual servers of m NAT real servers, real server (i, j) =
// weighted with weight 7, the others 1; no health checks.
func config(n, m int, weighted [2]int) string {
	var b strings.Builder
	b.WriteString("global_defs {\n    router_id scale\n}\n")
	for i := range n {
		fmt.Fprintf(&b, "virtual_server %s 80 {\n    lvs_sched wrr\n    lvs_method NAT\n    protocol TCP\n", vip(i))
		for j := range m {
			w := 1
			if [2]int{i, j} == weighted {
				w = 7
			}
			fmt.Fprintf(&b, "    real_server %s 8080 {\n        weight %d\n    }\n", rip(j), w)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// rules is the same table as `ipvsadm -R` input.
func rules(n, m int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "-A -t %s:80 -s wrr\n", vip(i))
		for j := range m {
			fmt.Fprintf(&b, "-a -t %s:80 -r %s:8080 -m -w 1\n", vip(i), rip(j))
		}
	}
	return b.String()
}

// countIPVS counts the services and destinations in /proc/net/ip_vs.
func countIPVS(t *testing.T) (svcs, dests int) {
	t.Helper()
	f, err := os.Open("/proc/net/ip_vs")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "TCP ") || strings.HasPrefix(l, "UDP ") || strings.HasPrefix(l, "FWM ") || strings.HasPrefix(l, "SCTP "):
			svcs++
		case strings.HasPrefix(l, "  -> ") && !strings.HasPrefix(l, "  -> RemoteAddress"):
			dests++
		}
	}
	return svcs, dests
}

// proc is what /proc says about one process.
type proc struct {
	ppid         int
	cpu          float64 // utime+stime, seconds
	user, sys    float64 // the two parts
	rssKB, hwmKB int64
	// fileKB is RssFile+RssShmem: the binary's mapped pages (the VM's root
	// is a tmpfs).
	fileKB int64
}

func readProc(pid int) (proc, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return proc{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var p proc
	p.ppid, _ = strconv.Atoi(f[1])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	p.user, p.sys = float64(ut)/clkTck, float64(st)/clkTck
	p.cpu = p.user + p.sys
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return proc{}, err
	}
	for line := range strings.Lines(string(status)) {
		k, v, _ := strings.Cut(line, ":")
		if fs := strings.Fields(v); len(fs) > 0 {
			switch k {
			case "VmRSS":
				p.rssKB, _ = strconv.ParseInt(fs[0], 10, 64)
			case "VmHWM":
				p.hwmKB, _ = strconv.ParseInt(fs[0], 10, 64)
			case "RssFile", "RssShmem":
				n, _ := strconv.ParseInt(fs[0], 10, 64)
				p.fileKB += n
			}
		}
	}
	return p, nil
}

// tree sums root's and its live descendants' CPU and memory.
func tree(t *testing.T, root int) proc {
	t.Helper()
	all := map[int]proc{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if p, err := readProc(pid); err == nil {
				all[pid] = p
			}
		}
	}
	sum, ok := all[root]
	if !ok {
		t.Fatalf("process %d gone", root)
	}
	in := map[int]bool{root: true}
	for changed := true; changed; {
		changed = false
		for pid, p := range all {
			if !in[pid] && in[p.ppid] {
				in[pid], changed = true, true
				sum.cpu += p.cpu
				sum.user += p.user
				sum.sys += p.sys
				sum.rssKB += p.rssKB
				sum.hwmKB += p.hwmKB
				sum.fileKB += p.fileKB
			}
		}
	}
	return sum
}

// bench prints one figure in the format integration/bench/compare.sh reads;
// ref <= 0 means no reference figure.
func bench(t *testing.T, name string, lvsha, ref float64, unit string, note ...string) {
	refS, ratio := "-", "-"
	if ref > 0 {
		refS, ratio = strconv.FormatFloat(ref, 'g', 4, 64), strconv.FormatFloat(lvsha/ref, 'f', 2, 64)
	}
	n := ""
	if len(note) > 0 {
		n = " note=" + strings.Join(note, "; ")
	}
	fmt.Printf("BENCH name=%s lvsha=%s ref=%s unit=%s ratio=%s%s\n", name, strconv.FormatFloat(lvsha, 'g', 4, 64), refS, unit, ratio, n)
	t.Logf("%s: lvs-ha %g %s, reference %s (ratio %s)", name, lvsha, unit, refS, ratio)
}

// applied is the daemon's "ipvs applied" log line.
type applied struct {
	Total   int    `json:"total"`
	Changes string `json:"changes"`
	Took    int64  `json:"took"` // ns
}

// daemonLog follows the JSON log of lvs-ha and hands over its "ipvs
// applied" lines.
func daemonLog(t *testing.T, r io.Reader) (<-chan applied, *bytes.Buffer) {
	ch := make(chan applied, 16)
	var other bytes.Buffer
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<16), 1<<22)
		for sc.Scan() {
			line := sc.Bytes()
			if bytes.Contains(line, []byte(`"msg":"ipvs applied"`)) {
				var a applied
				if err := json.Unmarshal(line, &a); err == nil {
					ch <- a
					continue
				}
			}
			if other.Len() < 1<<16 {
				other.Write(line)
				other.WriteByte('\n')
			}
		}
	}()
	return ch, &other
}

func waitApplied(t *testing.T, ch <-chan applied, logs *bytes.Buffer, what string) applied {
	t.Helper()
	select {
	case a, ok := <-ch:
		if !ok {
			t.Fatalf("%s: lvs-ha exited:\n%s", what, logs)
		}
		return a
	case <-time.After(20 * time.Minute):
		t.Fatalf("%s: no ipvs applied line in 20 min:\n%s", what, logs)
	}
	return applied{}
}

// get fetches url, counting lines that start with each prefix; it returns
// the time it took, the body size and the counts.
func get(t *testing.T, url string, prefixes ...string) (time.Duration, int, []int) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Minute}
	start := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	counts := make([]int, len(prefixes))
	size := 0
	br := bufio.NewReaderSize(resp.Body, 1<<16)
	for {
		line, err := br.ReadSlice('\n')
		size += len(line)
		for i, p := range prefixes {
			if bytes.HasPrefix(line, []byte(p)) {
				counts[i]++
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(start)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return took, size, counts
}

func TestScale(t *testing.T) {
	vmtest.Require(t)
	if !*scaleFlag && os.Getenv("LVSHA_BENCH") != "1" {
		t.Skip("-lvsha.scale (or LVSHA_BENCH=1) runs the scale benchmark")
	}
	vmlab.RequireLvsHA(t)
	n, m := *scaleServices, *scaleReals
	vmlab.ClearIPVS(t, nil)
	t.Cleanup(func() { _ = exec.Command(vmlab.IpvsadmBin, "-C").Run() })
	dir := t.TempDir()
	cf := filepath.Join(dir, "keepalived.conf")
	none := [2]int{-1, -1}
	if err := os.WriteFile(cf, []byte(config(n, m, none)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d virtual servers x %d real servers (%d kernel objects)", n, m, n*(1+m))

	// lvs-ha: first apply, unchanged re-apply, one weight change, scrapes.
	cmd := exec.Command(vmlab.LvsHABin, "run", "-f", cf, "-log-format", "json", "-status-addr", statusAddr,
		"-pid-file", "", "-dump-file", filepath.Join(dir, "dump"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	pid := cmd.Process.Pid
	ch, logs := daemonLog(t, stderr)
	first := waitApplied(t, ch, logs, "first apply")
	loadWall := time.Since(start)
	// The daemon returns the load's garbage to the system right after this
	// log line (releaseAfterLoad): let it finish before reading its size.
	time.Sleep(3 * time.Second)
	p0 := tree(t, pid)
	t.Logf("lvs-ha first apply: %s in %v (exec to applied %v), CPU %.2f s (user %.2f, sys %.2f), VmRSS %d kB, VmHWM %d kB",
		first.Changes, time.Duration(first.Took), loadWall, p0.cpu, p0.user, p0.sys, p0.rssKB, p0.hwmKB)
	if first.Total != n*(1+m) {
		t.Fatalf("first apply made %d changes (%s), want %d", first.Total, first.Changes, n*(1+m))
	}
	if s, d := countIPVS(t); s != n || d != n*m {
		t.Fatalf("kernel has %d services, %d destinations after lvs-ha's apply", s, d)
	}

	reload := func(what string, weighted [2]int) (applied, float64) {
		if err := os.WriteFile(cf, []byte(config(n, m, weighted)), 0o644); err != nil {
			t.Fatal(err)
		}
		c0 := tree(t, pid).cpu
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		a := waitApplied(t, ch, logs, what)
		return a, tree(t, pid).cpu - c0
	}
	same, sameCPU := reload("unchanged re-apply", none)
	if same.Total != 0 {
		t.Errorf("unchanged re-apply made %d changes: %s", same.Total, same.Changes)
	}
	one, oneCPU := reload("one weight change", [2]int{n / 2, m / 2})
	if one.Total != 1 || one.Changes != "services +0 ~0 -0, destinations +0 ~1 -0" {
		t.Errorf("one weight change made %d changes: %s", one.Total, one.Changes)
	}

	pReload := tree(t, pid)
	c0 := pReload.cpu
	mTook, mSize, mCounts := get(t, "http://"+statusAddr+"/metrics", "node_ipvs_backend_weight{", "lvs_ha_ipvs_service_backends{", "# TYPE ")
	mCPU := tree(t, pid).cpu - c0
	if mCounts[0] != n*m || mCounts[1] != n {
		t.Errorf("/metrics: %d backend weights, %d services; want %d, %d", mCounts[0], mCounts[1], n*m, n)
	}
	pMetrics := tree(t, pid)
	c0 = pMetrics.cpu
	sTook, sSize, sCounts := get(t, "http://"+statusAddr+"/status", `      "service": `)
	sCPU := tree(t, pid).cpu - c0
	if sCounts[0] != n {
		t.Errorf("/status: %d virtual servers, want %d", sCounts[0], n)
	}
	pEnd := tree(t, pid)
	t.Logf("lvs-ha VmRSS / VmHWM, kB: after the start %d / %d (file-backed %d), the two reloads %d / %d, GET /metrics %d / %d, GET /status %d / %d",
		p0.rssKB, p0.hwmKB, p0.fileKB, pReload.rssKB, pReload.hwmKB, pMetrics.rssKB, pMetrics.hwmKB, pEnd.rssKB, pEnd.hwmKB)
	// The figures without a reference now, in case a later step runs out of time.
	bench(t, "scale_unchanged_reapply_changes", float64(same.Total), 0, "changes")
	bench(t, "scale_unchanged_reapply_wall", time.Duration(same.Took).Seconds(), 0, "s")
	bench(t, "scale_unchanged_reload_cpu", sameCPU, 0, "cpu-s")
	bench(t, "scale_weight_change_changes", float64(one.Total), 0, "changes")
	bench(t, "scale_weight_change_reload_cpu", oneCPU, 0, "cpu-s")
	bench(t, "scale_metrics_scrape_wall", mTook.Seconds(), 0, "s")
	bench(t, "scale_metrics_scrape_cpu", mCPU, 0, "cpu-s")
	bench(t, "scale_metrics_scrape_bytes", float64(mSize), 0, "bytes")
	bench(t, "scale_status_wall", sTook.Seconds(), 0, "s")
	bench(t, "scale_status_cpu", sCPU, 0, "cpu-s")
	bench(t, "scale_status_bytes", float64(sSize), 0, "bytes")

	// Stop: lvs-ha releases its services.
	c0 = pEnd.cpu
	stopStart := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		t.Errorf("lvs-ha exit: %v\n%s", err, logs)
	}
	exited <- nil
	stopWall := time.Since(stopStart)
	if s, _ := countIPVS(t); s != 0 {
		t.Fatalf("%d services left after lvs-ha stopped", s)
	}
	bench(t, "scale_stop_release_wall", stopWall.Seconds(), 0, "s")

	// ipvsadm -R of the same table.
	rcmd := exec.Command(vmlab.IpvsadmBin, "-R")
	rcmd.Stdin = strings.NewReader(rules(n, m))
	var rout bytes.Buffer
	rcmd.Stdout, rcmd.Stderr = &rout, &rout
	rstart := time.Now()
	if err := rcmd.Run(); err != nil {
		t.Fatalf("ipvsadm -R: %v\n%s", err, rout.String())
	}
	restoreWall := time.Since(rstart)
	restoreCPU := (rcmd.ProcessState.UserTime() + rcmd.ProcessState.SystemTime()).Seconds()
	if s, d := countIPVS(t); s != n || d != n*m {
		t.Fatalf("kernel has %d services, %d destinations after ipvsadm -R", s, d)
	}
	vmlab.ClearIPVS(t, nil)

	// keepalived (checker process only) loading the same config: until the
	// kernel has the last virtual server's last real server.
	var kaWall time.Duration
	var ka proc
	kaBin, kaErr := exec.LookPath("keepalived")
	if kaErr != nil {
		kaBin = "/usr/sbin/keepalived"
		_, kaErr = os.Stat(kaBin)
	}
	if kaErr == nil {
		// No -l: logging each virtual server to the serial console
		// would be most of its time.
		kcmd := exec.Command(kaBin, "-n", "-C", "-f", cf,
			"-p", filepath.Join(dir, "ka.pid"), "-c", filepath.Join(dir, "kac.pid"))
		var kout bytes.Buffer
		kcmd.Stdout, kcmd.Stderr = &kout, &kout
		kcmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		kstart := time.Now()
		if err := kcmd.Start(); err != nil {
			t.Fatal(err)
		}
		kexited := make(chan error, 1)
		go func() { kexited <- kcmd.Wait() }()
		last := fmt.Sprintf("%s:80", vip(n-1))
		lastRS := fmt.Sprintf("-> %s:8080", rip(m-1))
		for {
			out, _ := exec.Command(vmlab.IpvsadmBin, "-Ln", "-t", last).Output()
			if bytes.Contains(out, []byte(lastRS)) {
				break
			}
			select {
			case err := <-kexited:
				t.Fatalf("keepalived exited: %v\n%s", err, kout.String())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Since(kstart) > 30*time.Minute {
				t.Fatalf("keepalived did not load the table in 30 min")
			}
		}
		kaWall = time.Since(kstart)
		ka = tree(t, kcmd.Process.Pid)
		if s, d := countIPVS(t); s != n || d != n*m {
			t.Errorf("kernel has %d services, %d destinations after keepalived's load", s, d)
		}
		// Its orderly stop removes 10,000 services one by one: kill the
		// group and clear the table instead.
		_ = syscall.Kill(-kcmd.Process.Pid, syscall.SIGKILL)
		<-kexited
		vmlab.ClearIPVS(t, nil)
	} else {
		t.Logf("no keepalived in the VM image (VM_OPTIONAL_TOOLS): its figures are skipped")
	}

	// The figures. First apply: the daemon's Reconcile wall time and its
	// CPU from exec to applied (config parse included) against ipvsadm -R's
	// wall and CPU time (rules parse included).
	mib := func(kb int64) float64 { return float64(kb) / 1024 }
	took := time.Duration(first.Took).Seconds()
	bench(t, "scale_first_apply_wall", took, restoreWall.Seconds(), "s")
	bench(t, "scale_first_apply_cpu", p0.cpu, restoreCPU, "cpu-s",
		fmt.Sprintf("lvs-ha from exec, config parse included; user+sys: lvs-ha %.2f+%.2f, ipvsadm %.2f+%.2f",
			p0.user, p0.sys, rcmd.ProcessState.UserTime().Seconds(), rcmd.ProcessState.SystemTime().Seconds()))
	bench(t, "scale_load_to_table_wall", loadWall.Seconds(), kaWall.Seconds(), "s")
	bench(t, "scale_load_to_table_cpu", p0.cpu, ka.cpu, "cpu-s",
		fmt.Sprintf("user+sys: lvs-ha %.2f+%.2f, keepalived %.2f+%.2f", p0.user, p0.sys, ka.user, ka.sys))
	bench(t, "scale_rss_loaded", mib(p0.rssKB), mib(ka.rssKB), "MiB")
	bench(t, "scale_hwm_end", mib(pEnd.hwmKB), mib(ka.hwmKB), "MiB")
	t.Logf("lvs-ha: first apply %s in %v; unchanged %s in %v; weight %s in %v; %d metric families",
		first.Changes, time.Duration(first.Took), same.Changes, time.Duration(same.Took), one.Changes, time.Duration(one.Took), mCounts[2])
}

package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
	"github.com/lvs-ha/lvs-ha/internal/script"
)

// fifoConf is reloadConf with global lines added and a TCP_CHECK that runs
// every second.
func fifoConf(global string) string {
	src := reloadSrc("100", "2", "")
	src = strings.Replace(src, "    router_id lvs1\n", "    router_id lvs1\n"+global, 1)
	return strings.Replace(src, "delay_loop 10", "delay_loop 1", 1)
}

// readerScript writes dir/NAME.sh, a notify FIFO reader appending each line
// of the FIFO (its argument) to dir/NAME.out.
func readerScript(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name+".sh")
	body := "#!/bin/sh\nwhile IFS= read -r line; do printf '%s\\n' \"$line\" >> " + filepath.Join(dir, name+".out") + "; done < \"$1\"\n"
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitOutput polls a reader's output until it has n lines (or 15 s).
func waitOutput(path string, n int) string {
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Count(string(b), "\n") >= n || time.Now().After(deadline) {
			return string(b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNotifyFifoDaemon: the daemon creates notify_fifo (or vrrp_notify_fifo
// and lvs_notify_fifo), starts each _script (a real shell script, given the
// FIFO's path) and writes keepalived's lines to it in the order the events
// happened: the VRRP runner's state changes (Options.OnNotify, which
// TestRunnerNotifyScriptsInOrder shows the runner calls) and a real server
// going down (its check, run by the real health runner, fails); the
// VRRP FIFO gets only the VRRP lines, the LVS FIFO only the real server's. At
// stop the FIFOs it created are removed.
func TestNotifyFifoDaemon(t *testing.T) {
	vrrpLines := []string{`INSTANCE "VI_1" BACKUP 100`, `INSTANCE "VI_1" MASTER 100`}
	rsLine := `RS [10.0.0.1]:tcp:80 [192.0.2.1]:tcp:80 DOWN`
	for _, tc := range []struct {
		name  string
		fifos []string            // keyword prefixes: "" (notify_fifo), "vrrp_", "lvs_"
		want  map[string][]string // reader -> lines
	}{
		{"notify_fifo", []string{""}, map[string][]string{"global": append(slices.Clone(vrrpLines), rsLine)}},
		{"vrrp and lvs", []string{"vrrp_", "lvs_"}, map[string][]string{"vrrp_": vrrpLines, "lvs_": {rsLine}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var global string
			for _, f := range tc.fifos {
				name := f
				if name == "" {
					name = "global"
				}
				global += "    " + f + "notify_fifo " + filepath.Join(dir, name+".fifo") + "\n" +
					"    " + f + "notify_fifo_script " + readerScript(t, dir, name) + "\n"
			}
			td := newTestDaemon(t, fifoConf(global), true, false)
			td.start(t)
			td.notify.expect(t, "READY")
			for name := range tc.want {
				if st, err := os.Stat(filepath.Join(dir, name+".fifo")); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
					t.Fatalf("%s FIFO not created: %v", name, err)
				}
			}
			onNotify := td.vrrps[0].opts.OnNotify
			onNotify(script.NotifyInstance, "VI_1", script.StateBackup, 100)
			onNotify(script.NotifyInstance, "VI_1", script.StateMaster, 100)
			td.checker(t, checkID1).ok.Store(false)
			for name, want := range tc.want {
				if got := waitOutput(filepath.Join(dir, name+".out"), len(want)); got != strings.Join(want, "\n")+"\n" {
					t.Errorf("reader %s got\n%s\nwant\n%s", name, got, strings.Join(want, "\n"))
				}
			}
			td.stop()
			for name := range tc.want {
				if _, err := os.Stat(filepath.Join(dir, name+".fifo")); !os.IsNotExist(err) {
					t.Errorf("%s FIFO not removed at stop: %v", name, err)
				}
			}
			if t.Failed() {
				t.Logf("log:\n%s", td.logs)
			}
		})
	}
}

// TestNotifyFifoCheckConfig: a FIFO in a directory that does not exist is
// an error at its keyword; a _script without its FIFO a warning at the
// script's.
func TestNotifyFifoCheckConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		global, msg string
		sev         syntax.Severity
	}{
		{"    vrrp_notify_fifo " + dir + "/missing/fifo\n", "vrrp_notify_fifo " + dir + "/missing/fifo: directory " + dir + "/missing", syntax.Error},
		{"    lvs_notify_fifo " + dir + "/ok.fifo\n    notify_fifo " + dir + "/no/fifo root\n", "notify_fifo " + dir + "/no/fifo: directory", syntax.Error},
		{"    lvs_notify_fifo_script /bin/cat\n", "lvs_notify_fifo_script without lvs_notify_fifo is ignored", syntax.Warning},
	} {
		src := "global_defs {\n" + tc.global + "}\n" + reloadSrc("100", "2", "")[len("\nglobal_defs {\n    router_id lvs1\n}\n"):]
		cfg := loadConf(t, src)
		p, ds := check(cfg, &Options{})
		if (p == nil) != (tc.sev == syntax.Error) {
			t.Errorf("%q: plan %v, diagnostics %v", tc.global, p != nil, ds)
		}
		found := false
		for _, d := range ds {
			if strings.Contains(d.Msg, tc.msg) && d.Severity == tc.sev {
				found = true
				if d.Pos.Line != strings.Count(tc.global, "\n")+1 {
					t.Errorf("%q at %s, want its keyword's line", d.Msg, d.Pos)
				}
			}
		}
		if !found {
			t.Errorf("%q: no %v %q in %v", tc.global, tc.sev, tc.msg, ds)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ok.fifo")); !os.IsNotExist(err) {
		t.Errorf("check-config created a FIFO: %v", err)
	}
}

// TestNotifyPriorityChangesTranslation: notify_priority_changes (from the
// instance, its sync group or global_defs vrrp_notify_priority_changes, as
// conf resolves it) reaches the runner's InstanceConfig, whose effect
// TestRunnerNotifyPriorityChanges shows.
func TestNotifyPriorityChangesTranslation(t *testing.T) {
	for _, tc := range []struct {
		global, inst string
		want         bool
	}{
		{"", "", false},
		{"    vrrp_notify_priority_changes\n", "", true},
		{"    vrrp_notify_priority_changes\n", "    notify_priority_changes off\n", false},
		{"", "    notify_priority_changes\n", true},
	} {
		src := fifoConf(tc.global)
		src = strings.Replace(src, "    virtual_router_id 51\n", "    virtual_router_id 51\n"+tc.inst, 1)
		p, ds := check(loadConf(t, src), &Options{})
		if p == nil {
			t.Fatalf("%q %q: %v", tc.global, tc.inst, ds)
		}
		if got := p.instances[0].NotifyPriorityChanges; got != tc.want {
			t.Errorf("%q %q: NotifyPriorityChanges %v, want %v", tc.global, tc.inst, got, tc.want)
		}
	}
}

// TestNotifyFifoScriptSecurity: with enable_script_security an insecure
// notify_fifo_script is not started (the FIFO still is written), as
// keepalived's check_notify_script_secure of the FIFO scripts.
func TestNotifyFifoScriptSecurity(t *testing.T) {
	s, _ := insecureScript(t)
	dir := t.TempDir()
	p := testPlan(t, securitySrc("    enable_script_security\n    notify_fifo "+dir+"/fifo\n    notify_fifo_script "+s+"\n"+
		"    lvs_notify_fifo "+dir+"/lvs\n    lvs_notify_fifo_script /bin/cat\n", "/bin/true"))
	if p.fifos.global == nil || p.fifos.global.Script != nil {
		t.Errorf("notify_fifo %+v: want the FIFO without its insecure script", p.fifos.global)
	}
	if p.fifos.lvs == nil || p.fifos.lvs.Script == nil {
		t.Errorf("lvs_notify_fifo %+v: want the FIFO with its secure script", p.fifos.lvs)
	}
	found := false
	for _, w := range p.warnings {
		found = found || strings.Contains(w.Msg, "Unsafe permissions found for script '"+s+"'")
	}
	if !found {
		t.Errorf("no insecure-script warning: %v", p.warnings)
	}
}

// TestFifoWriteVRRPStatesOnReload: with fifo_write_vrrp_states_on_reload a
// reload writes the state of each instance that kept it to the VRRP FIFOs
// (the fake runner reports MASTER, effective priority 0); without it a
// reload writes nothing.
func TestFifoWriteVRRPStatesOnReload(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			dir := t.TempDir()
			global := "    vrrp_notify_fifo " + filepath.Join(dir, "v.fifo") + "\n" +
				"    vrrp_notify_fifo_script " + readerScript(t, dir, "v") + "\n"
			if on {
				global += "    fifo_write_vrrp_states_on_reload\n"
			}
			td := newTestDaemon(t, fifoConf(global), true, false)
			td.start(t)
			td.notify.expect(t, "READY")
			td.signals <- syscall.SIGHUP
			td.notify.expect(t, "RELOADING", "READY")
			td.vrrps[0].opts.OnNotify(script.NotifyInstance, "VI_1", script.StateBackup, 100) // a marker after the reload
			want := `INSTANCE "VI_1" BACKUP 100` + "\n"
			if on {
				want = `INSTANCE "VI_1" MASTER 0` + "\n" + want
			}
			if got := waitOutput(filepath.Join(dir, "v.out"), strings.Count(want, "\n")); got != want {
				t.Errorf("reader got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestNotifyFifoReloadReopens: a SIGHUP that moves vrrp_notify_fifo opens
// the new FIFO with its reader (the old one is removed) while the unchanged
// lvs_notify_fifo keeps its reader (started once) and gets its lines in
// order across the reload; a reload that drops the FIFOs closes them.
func TestNotifyFifoReloadReopens(t *testing.T) {
	dir := t.TempDir()
	reader := func(name string) string {
		p := filepath.Join(dir, name+".sh")
		out := filepath.Join(dir, name+".out")
		body := "#!/bin/sh\necho START >> " + out + "\nwhile IFS= read -r line; do printf '%s\\n' \"$line\" >> " + out + "; done < \"$1\"\n"
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lvs := "    lvs_notify_fifo " + filepath.Join(dir, "l.fifo") + "\n    lvs_notify_fifo_script " + reader("l") + "\n"
	vrrpFifo := func(name string) string {
		return "    vrrp_notify_fifo " + filepath.Join(dir, name+".fifo") + "\n    vrrp_notify_fifo_script " + reader(name) + "\n"
	}
	td := newTestDaemon(t, fifoConf(vrrpFifo("v1")+lvs), true, false)
	td.start(t)
	td.notify.expect(t, "READY")
	onNotify := td.vrrps[0].opts.OnNotify
	onNotify(script.NotifyInstance, "VI_1", script.StateBackup, 100)
	td.checker(t, checkID1).ok.Store(false)
	if got := waitOutput(filepath.Join(dir, "l.out"), 2); !strings.HasSuffix(got, "DOWN\n") {
		t.Fatalf("lvs reader before the reload: %q", got)
	}

	if err := os.WriteFile(td.file, []byte(fifoConf(vrrpFifo("v2")+lvs)), 0o644); err != nil {
		t.Fatal(err)
	}
	td.signals <- syscall.SIGHUP
	td.notify.expect(t, "RELOADING", "READY")
	onNotify(script.NotifyInstance, "VI_1", script.StateMaster, 100)
	td.checker(t, checkID1).ok.Store(true)
	if got, want := waitOutput(filepath.Join(dir, "v2.out"), 2), "START\n"+`INSTANCE "VI_1" MASTER 100`+"\n"; got != want {
		t.Errorf("new vrrp reader got %q, want %q", got, want)
	}
	if got, want := waitOutput(filepath.Join(dir, "v1.out"), 2), "START\n"+`INSTANCE "VI_1" BACKUP 100`+"\n"; got != want {
		t.Errorf("old vrrp reader got %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "v1.fifo")); !os.IsNotExist(err) {
		t.Errorf("old vrrp FIFO still there: %v", err)
	}
	want := "START\nRS [10.0.0.1]:tcp:80 [192.0.2.1]:tcp:80 DOWN\nRS [10.0.0.1]:tcp:80 [192.0.2.1]:tcp:80 UP\n"
	if got := waitOutput(filepath.Join(dir, "l.out"), 3); got != want {
		t.Errorf("unchanged lvs reader got %q, want %q", got, want)
	}

	if err := os.WriteFile(td.file, []byte(fifoConf("")), 0o644); err != nil {
		t.Fatal(err)
	}
	td.signals <- syscall.SIGHUP
	td.notify.expect(t, "RELOADING", "READY")
	for _, f := range []string{"v2.fifo", "l.fifo"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s still there after a reload without it: %v", f, err)
		}
	}
	if td.d.fifos.Load() != nil {
		t.Error("FIFO set kept after a reload without FIFOs")
	}
	td.stop()
	if t.Failed() {
		t.Logf("log:\n%s", td.logs)
	}
}

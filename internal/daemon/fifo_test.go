package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
	"github.com/lvs-ha/lvs-ha/internal/script"
)

// fifoConf is reloadConf with notify_fifo and its reader in dir, and a
// TCP_CHECK that runs every second.
func fifoConf(dir string) string {
	src := reloadSrc("100", "2", "")
	src = strings.Replace(src, "    router_id lvs1\n", "    router_id lvs1\n"+
		"    notify_fifo "+dir+"/notify.fifo\n"+
		"    notify_fifo_script "+dir+"/reader.sh\n", 1)
	return strings.Replace(src, "delay_loop 10", "delay_loop 1", 1)
}

// TestNotifyFifoDaemon: the daemon creates notify_fifo, starts its
// notify_fifo_script (a real shell script, given the FIFO's path) and writes
// keepalived's lines to it in the order the events happened: the VRRP
// runner's state changes (Options.OnNotify, which TestRunnerNotifyScriptsInOrder
// shows the runner calls) and a real server going down; at stop the FIFO it
// created is removed.
func TestNotifyFifoDaemon(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	reader := "#!/bin/sh\nwhile IFS= read -r line; do printf '%s\\n' \"$line\" >> " + out + "; done < \"$1\"\n"
	if err := os.WriteFile(filepath.Join(dir, "reader.sh"), []byte(reader), 0o755); err != nil {
		t.Fatal(err)
	}
	td := newTestDaemon(t, fifoConf(dir), true, false)
	td.start(t)
	td.notify.expect(t, "READY")
	if st, err := os.Stat(filepath.Join(dir, "notify.fifo")); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("notify_fifo not created: %v", err)
	}
	onNotify := td.vrrps[0].opts.OnNotify
	onNotify(script.NotifyInstance, "VI_1", script.StateBackup, 100)
	onNotify(script.NotifyInstance, "VI_1", script.StateMaster, 100)
	td.checker(t, checkID1).ok.Store(false)
	want := []string{
		`INSTANCE "VI_1" BACKUP 100`,
		`INSTANCE "VI_1" MASTER 100`,
		`RS [10.0.0.1]:tcp:80 [192.0.2.1]:tcp:80 DOWN`,
	}
	deadline := time.Now().Add(15 * time.Second)
	var got string
	for {
		b, _ := os.ReadFile(out)
		got = string(b)
		if strings.Count(got, "\n") >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got != strings.Join(want, "\n")+"\n" {
		t.Fatalf("the reader got\n%s\nwant\n%s\nlog:\n%s", got, strings.Join(want, "\n"), td.logs)
	}
	td.stop()
	if _, err := os.Stat(filepath.Join(dir, "notify.fifo")); !os.IsNotExist(err) {
		t.Fatalf("notify_fifo not removed at stop: %v", err)
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

package cli

import (
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReloadSendsSIGHUP(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "lvs-ha.pid")
	remove, err := writePIDFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	code, out, errOut := run(t, "reload", "-pid-file", pidFile)
	if code != ExitOK || !strings.Contains(out, "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	select {
	case <-hup:
	case <-time.After(10 * time.Second):
		t.Fatal("no SIGHUP arrived")
	}
	remove()
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
}

func TestReloadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pid")
	os.WriteFile(bad, []byte("not-a-pid\n"), 0o644)
	stale := filepath.Join(dir, "stale.pid")
	os.WriteFile(stale, []byte("2147483646\n"), 0o644) // beyond pid_max: no such process
	for _, tc := range []struct{ file, want string }{
		{filepath.Join(dir, "missing.pid"), "is `lvs-ha run` running"},
		{bad, "is not a process ID"},
		{stale, "stale pid file"},
	} {
		code, _, errOut := run(t, "reload", "-pid-file", tc.file)
		if code != ExitFailure || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", tc.file, code, errOut, tc.want)
		}
	}
}

func TestPIDFileKeptWhenReplaced(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "lvs-ha.pid")
	remove, err := writePIDFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(pidFile, []byte("1\n"), 0o644) // another daemon took over the file
	remove()
	if b, _ := os.ReadFile(pidFile); string(b) != "1\n" {
		t.Errorf("pid file of another daemon removed or changed: %q", b)
	}
}

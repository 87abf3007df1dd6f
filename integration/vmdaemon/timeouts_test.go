//go:build vm

package vmdaemon

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/vmlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

// timeoutsLine is `ipvsadm -L --timeout`'s "Timeout (tcp tcpfin udp): A B C".
func timeoutsLine(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(vmlab.Ipvsadm(t, nil, "-L", "--timeout"))
}

// lvs_timeouts is set in the kernel at start (IPVS SET_CONFIG) and again at a
// SIGHUP reload, where a timeout no longer given gets back the kernel's value
// from before the daemon changed it (keepalived's ipvs_set_timeout).
func TestDaemonLVSTimeouts(t *testing.T) {
	vmtest.Require(t)
	cleanIPVS(t)
	vmlab.RequireLvsHA(t)
	vmlab.Ipvsadm(t, nil, "--set", "900", "120", "300")
	t.Cleanup(func() { _ = exec.Command(vmlab.IpvsadmBin, "--set", "900", "120", "300").Run() })
	if got := timeoutsLine(t); got != "Timeout (tcp tcpfin udp): 900 120 300" {
		t.Fatalf("before start: %q", got)
	}
	conf := func(timeouts string) []byte {
		return []byte("global_defs {\n    lvs_timeouts " + timeouts + "\n}\n" + `
virtual_server 192.0.2.1 80 {
    protocol TCP
    real_server 192.0.2.11 8080 {
    }
}
`)
	}
	file := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(file, conf("tcp 1000 tcpfin 30 udp 60"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(vmlab.LvsHABin, "run", "-f", file)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
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
	logs.wait(t, "ipvs applied", 60*time.Second)
	if got := timeoutsLine(t); got != "Timeout (tcp tcpfin udp): 1000 30 60" {
		t.Errorf("after start with lvs_timeouts tcp 1000 tcpfin 30 udp 60: %q\n%s", got, logs)
	}

	if err := os.WriteFile(file, conf("udp 90"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	logs.wait(t, `msg=reloaded`, 60*time.Second)
	if got := timeoutsLine(t); got != "Timeout (tcp tcpfin udp): 900 120 90" {
		t.Errorf("after reload with lvs_timeouts udp 90: %q\n%s", got, logs)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("lvs-ha exit after SIGTERM: %v\n%s", err, logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("lvs-ha did not exit within 30 s of SIGTERM\n%s", logs)
	}
}

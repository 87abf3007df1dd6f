package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

const (
	// startLimit bounds waiting for the daemon to report that it runs.
	startLimit = 30 * time.Second
	// stopLimit bounds the exit after SIGTERM.
	stopLimit = 10 * time.Second
)

// smokeConfig is a minimal valid configuration: one VRRP instance on the lab
// interface with a VIP inside the lab subnet.
func smokeConfig(ifName, vip string) string {
	return fmt.Sprintf(`! written by integration.TestSmoke
global_defs {
    router_id smoke
}

vrrp_instance VI_1 {
    state BACKUP
    interface %s
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        %s
    }
}
`, ifName, vip)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSmoke runs one director in a namespace: it must come up with a valid
// configuration and exit 0 on SIGTERM.
func TestSmoke(t *testing.T) {
	lab := netlab.New(t, netlab.Options{})
	bin := lvshaBin(t)
	node := lab.AddNode("lvs1")
	vip := fmt.Sprintf("%v/%d", lab.Host4(100), lab.Subnet4().Bits())
	cfg := writeFile(t, "keepalived.conf", smokeConfig(node.IfName(), vip))

	pidFile := filepath.Join(t.TempDir(), "lvs-ha.pid")
	p := node.Start(bin, "run", "-f", cfg, "-pid-file", pidFile)
	if err := p.WaitLog("msg=running", startLimit); err != nil {
		t.Fatal(err)
	}

	// `lvs-ha reload`: a valid file is reloaded; an invalid one is refused with its
	// location and the daemon keeps running.
	reload := func() {
		t.Helper()
		if out, err := exec.Command(bin, "reload", "-pid-file", pidFile).CombinedOutput(); err != nil {
			t.Fatalf("lvs-ha reload: %v\n%s", err, out)
		}
	}
	reload()
	if err := p.WaitLog("msg=reloaded", startLimit); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(smokeConfig(node.IfName(), vip), "priority 100", "priority 0", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	reload()
	if err := p.WaitLog("keeping the running configuration", startLimit); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Log(), cfg+":") {
		t.Errorf("the refused reload does not name %s:LINE; log:\n%s", cfg, p.Log())
	}

	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(stopLimit); err != nil {
		t.Fatalf("lvs-ha run after SIGTERM: %v; log:\n%s", err, p.Log())
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file not removed at exit: %v", err)
	}
}

// TestCheckConfig checks the exit codes of check-config on the smoke configuration
// and on a broken one (no namespace needed).
func TestCheckConfig(t *testing.T) {
	bin := lvshaBin(t)
	for _, tc := range []struct {
		name, conf string
		want       int
	}{
		{"valid", smokeConfig("eth0", "192.0.2.100/24"), 0},
		{"invalid", strings.Replace(smokeConfig("eth0", "192.0.2.100/24"), "virtual_router_id 51", "virtual_router_id 300", 1), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeFile(t, "keepalived.conf", tc.conf)
			out, err := exec.Command(bin, "check-config", "-f", cfg).CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.want {
				t.Errorf("check-config exit %d, want %d; output:\n%s", code, tc.want, out)
			}
		})
	}
}

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

// TestDemo is `make demo`: a readable drill in a namespace lab. It runs only when
// LVSHA_DEMO=1 so that `make test` does not print it.
func TestDemo(t *testing.T) {
	if os.Getenv("LVSHA_DEMO") != "1" {
		t.Skip("the demo runs with `make demo` (LVSHA_DEMO=1)")
	}
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Printf("[%6.2fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	bin := lvshaBin(t)
	example, err := filepath.Abs(filepath.Join("..", "examples", "keepalived.conf"))
	if err != nil {
		t.Fatal(err)
	}

	say("checking the shipped example configuration: %s", example)
	for _, id := range []string{"lvs1", "lvs2"} {
		out, err := execCombined(bin, "check-config", "-i", id, "-f", example)
		say("  lvs-ha check-config -i %s: %s", id, strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("check-config -i %s: %v", id, err)
		}
	}

	say("building the lab: a bridge switch with client, lvs1, lvs2, rs1, rs2 in their own namespaces")
	lab := netlab.New(t, netlab.Options{})
	nodes := map[string]*netlab.Node{}
	for _, name := range []string{"client", "lvs1", "lvs2", "rs1", "rs2"} {
		nodes[name] = lab.AddNode(name)
		say("  %-6s %s  %s", name, nodes[name].Addr4(), nodes[name].MAC())
	}

	procs := map[string]*netlab.Proc{}
	for _, name := range []string{"lvs1", "lvs2"} {
		procs[name] = nodes[name].Start(bin, "run", "-i", name, "-f", example)
		if err := procs[name].WaitLog("msg=running", 30*time.Second); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		say("  %s: lvs-ha run is up (log: %s)", name, procs[name].LogPath())
	}

	say("stopping both directors with SIGTERM")
	for _, name := range []string{"lvs1", "lvs2"} {
		if err := procs[name].Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := procs[name].Wait(10 * time.Second); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		say("  %s exited 0", name)
	}
	say("demo done; the lab is torn down")
}

// execCombined runs bin with args on the host and returns its combined output.
func execCombined(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

package vmlab

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// LvsHABin is the lvs-ha binary the VM image carries (unless built with
// VM_SKIP_LVSHA=1), or $LVSHA_BIN where a test runs on a host that has IPVS
// (`make demo` there).
var LvsHABin = lvshaBin()

func lvshaBin() string {
	if b := os.Getenv("LVSHA_BIN"); b != "" {
		return b
	}
	return "/usr/local/bin/lvs-ha"
}

// RequireLvsHA fails the test when the VM image has no lvs-ha binary.
func RequireLvsHA(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(LvsHABin); err != nil {
		t.Fatalf("%s not in the VM image (VM_SKIP_LVSHA=1?): %v", LvsHABin, err)
	}
}

// RealServer runs `lvs-ha realserver args...` in n (a real server's namespace:
// VIPs on lo or tunl0, ARP suppressed) and returns its output; it fails the test
// when the command fails.
func RealServer(t testing.TB, n *netlab.Node, args ...string) string {
	t.Helper()
	RequireLvsHA(t)
	out, err := n.Command(LvsHABin, append([]string{"realserver"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("lvs-ha realserver %s in %s: %v\n%s", strings.Join(args, " "), n.Name(), err, out)
	}
	return string(out)
}

// Run starts `lvs-ha run args...` in n and waits up to timeout for a log line
// containing ready (e.g. "msg=running", "health checks running"); it fails the
// test, with the log, if that line does not come or lvs-ha exits first. The
// daemon is killed at the end of the test unless it has exited.
func Run(t testing.TB, n *netlab.Node, ready string, timeout time.Duration, args ...string) *netlab.Proc {
	t.Helper()
	RequireLvsHA(t)
	p := n.Start(LvsHABin, append([]string{"run"}, args...)...)
	if err := p.WaitLog(ready, timeout); err != nil {
		t.Fatalf("lvs-ha run in %s: %v", n.Name(), err)
	}
	return p
}

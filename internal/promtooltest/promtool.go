package promtooltest

import (
	"os"
	"os/exec"
	"testing"
)

// Path returns the promtool binary: $LVSHA_PROMTOOL, else promtool on PATH,
// else /usr/bin/promtool (Debian's prometheus package). Without one it
// fails the test when LVSHA_REQUIRE_PROMTOOL=1 (make test-unit), else logs
// why and returns false: the caller skips its check.
func Path(t testing.TB) (string, bool) {
	t.Helper()
	p := os.Getenv("LVSHA_PROMTOOL")
	if p == "" {
		p = "/usr/bin/promtool"
		if lp, err := exec.LookPath("promtool"); err == nil {
			p = lp
		}
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("LVSHA_REQUIRE_PROMTOOL") == "1" {
			t.Fatalf("promtool required (LVSHA_REQUIRE_PROMTOOL=1) but %s: %v; apt-get install prometheus", p, err)
		}
		t.Logf("no promtool at %s (apt-get install prometheus, or set LVSHA_PROMTOOL)", p)
		return "", false
	}
	return p, true
}

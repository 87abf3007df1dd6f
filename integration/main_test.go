package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

const lvshaPkg = "github.com/lvs-ha/lvs-ha/cmd/lvs-ha"

// build holds the lvs-ha binary built on first use when LVSHA_BIN is unset.
var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	os.Exit(netlab.Main(m, func() {
		if build.dir != "" {
			os.RemoveAll(build.dir)
		}
	}))
}

// lvshaBin returns the path of the lvs-ha binary: $LVSHA_BIN, or one built from
// ./cmd/lvs-ha once per test run.
func lvshaBin(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("LVSHA_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("LVSHA_BIN: %v", err)
		}
		return bin
	}
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "lvs-ha-integration-")
		if build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "lvs-ha")
		// -tags as the Makefile's GOTAGS.
		out, err := exec.Command("go", "build", "-tags", "grpcnotrace", "-o", build.bin, lvshaPkg).CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build %s: %w\n%s", lvshaPkg, err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

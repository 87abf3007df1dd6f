package vmtest

import (
	"os"
	"testing"
)

// EnvVar is the environment variable the VM's /init sets to "1" for every
// test binary it runs.
const EnvVar = "LVSHA_VM"

// InVM reports whether the process runs inside the VM test tier.
func InVM() bool { return os.Getenv(EnvVar) == "1" }

// Require skips the test unless it runs inside the VM test tier, so that
// `go test -tags vm ./...` on a host does not touch the host's kernel state.
func Require(tb testing.TB) {
	tb.Helper()
	if !InVM() {
		tb.Skipf("VM test tier only (%s=1 is set by make test-vm)", EnvVar)
	}
}

package cli

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnitExecStart checks that lvs-ha accepts the command line of
// deploy/lvs-ha.service's ExecStart: parsing stops at an appended -h with
// exit 0 only if every flag before it exists.
func TestSystemdUnitExecStart(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "lvs-ha.service")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var execs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "ExecStart="); ok {
			execs = append(execs, v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(execs) != 1 {
		t.Fatalf("%s: want one ExecStart, got %q", path, execs)
	}
	args := strings.Fields(execs[0])
	if filepath.Base(args[0]) != "lvs-ha" {
		t.Fatalf("%s: ExecStart runs %s, not lvs-ha", path, args[0])
	}
	code, _, stderr := run(t, append(args[1:], "-h")...)
	if code != ExitOK {
		t.Errorf("lvs-ha rejects %s's ExecStart %q (exit %d):\n%s", path, execs[0], code, stderr)
	}
}

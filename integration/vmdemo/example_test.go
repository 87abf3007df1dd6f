package vmdemo

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

// TestExampleCopy keeps testdata/keepalived-lab.conf (what the VM image
// carries) identical to the shipped examples/keepalived-lab.conf.
func TestExampleCopy(t *testing.T) {
	if vmtest.InVM() {
		t.Skip("examples/ is not in the VM image")
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "examples", "keepalived-lab.conf"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("testdata", "keepalived-lab.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("testdata/keepalived-lab.conf differs from examples/keepalived-lab.conf: cp examples/keepalived-lab.conf integration/vmdemo/testdata/")
	}
}

// TestExamplesAreValid: every shipped example loads without a diagnostic,
// for each router_id it is written for.
func TestExamplesAreValid(t *testing.T) {
	if vmtest.InVM() {
		t.Skip("examples/ is not in the VM image")
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.conf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		for _, id := range []string{"lvs1", "lvs2"} {
			if _, ds := conf.Load(f, conf.Options{ConfigID: id}); len(ds) > 0 {
				t.Errorf("%s (-i %s): %v", f, id, ds)
			}
		}
	}
}

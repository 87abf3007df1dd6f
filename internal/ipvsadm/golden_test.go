package ipvsadm

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from this implementation (then verify them with make test-vm)")

// TestGoldenListings builds testdata/scenario.txt on the in-memory kernel and
// compares every listing with testdata/golden, files that the VM tier checks
// against the real ipvsadm 1.31 (TestVMGoldenFilesMatchRealIpvsadm).
func TestGoldenListings(t *testing.T) {
	k := &ipvstest.Kernel{}
	if err := k.SetTimeouts(vmDefaultTimeouts); err != nil {
		t.Fatal(err)
	}
	env := &Env{Kernel: k, Resolver: &SystemResolver{ServicesFile: "testdata/services"}}
	for _, line := range readScenario(t, "scenario.txt") {
		var stdout, stderr bytes.Buffer
		env.Stdout, env.Stderr = &stdout, &stderr
		if code := env.Run(append([]string{"ipvsadm"}, line...)); code != 0 {
			t.Fatalf("ipvsadm %q: exit %d, stderr %q", line, code, stderr.String())
		}
	}
	for _, l := range listings {
		t.Run(l.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			env.Stdout, env.Stderr = &stdout, &stderr
			env.Resolver = goldenResolver{}
			if code := env.Run(append([]string{"ipvsadm"}, l.args...)); code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr.String())
			}
			path := filepath.Join("testdata", "golden", l.name+".txt")
			if *update {
				if err := os.WriteFile(path, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(stdout.Bytes(), want) {
				t.Errorf("ipvsadm %q output differs from %s\n--- got\n%s--- want\n%s", l.args, path, stdout.String(), want)
			}
		})
	}
}

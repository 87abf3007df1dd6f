package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestTrackFileDrill: a track_file whose number, times the instance's weight
// -30, lowers the master's priority below the backup's, which takes over;
// writing 0 again lets the master preempt. init_file creates the missing
// file holding its value at start. Run with keepalived directors (the
// reference) and with lvs-ha directors: the same file writes give the same
// adverts.
func TestTrackFileDrill(t *testing.T) {
	for _, im := range []impl{implKeepalived, implLVSHA} {
		t.Run(string(im), func(t *testing.T) {
			requireImpls(t, im)
			v := newVRRPLab(t, 2)
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "prio")
			ia := fastInst(150)
			ia.Extra = []string{"track_file {", "    tf weight -30", "}"}
			a := newDirector(t, im, v.nodes[0], vrrpConfig{
				Extra:     []string{fmt.Sprintf("track_file tf {\n    file %s\n    init_file 0\n}", file)},
				Instances: []vrrpInst{ia},
			})
			b := v.director(1, im, fastInst(100))
			startAll(a, b)
			waitSoleMaster(t, a, a, b)
			if got, err := os.ReadFile(file); err != nil || string(got) != "0\n" {
				t.Fatalf("init_file: %s holds %q (%v), want \"0\\n\"", file, got, err)
			}

			mark := v.cap.mark()
			if err := os.WriteFile(file, []byte("2\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			waitSoleMaster(t, b, a, b)
			// lvs1 advertised its lowered priority (150 - 2*30) before giving up.
			if _, err := v.cap.wait(mark, eventTimeout, "advert with priority 90 from lvs1", func(f *frame) bool {
				return isVRRPFrom(a.node, 51)(f) && f.Priority == 90
			}); err != nil {
				t.Error(err)
			}

			if err := os.WriteFile(file, []byte("0\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			waitSoleMaster(t, a, a, b)
		})
	}
}

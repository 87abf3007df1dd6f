package integration

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// TestTrackProcessDrill: a vrrp_track_process on a real process (sleep 1000
// with a distinctive argument): while it runs the master keeps priority 150;
// when it is killed the master's priority drops by 60 (weight -60) and the
// backup takes over; when a new one starts the master preempts again.
//
// lvs-ha directors only: keepalived 2.2.7 follows processes through the
// kernel's process events connector, which answers only in the initial
// network namespace; in the lab's namespaces it logs "Failed to set/clear
// process event listen - errno 111 - Connection refused" and never sees the
// kill. lvs-ha polls /proc, which works in any network namespace.
func TestTrackProcessDrill(t *testing.T) {
	for _, im := range []impl{implLVSHA} {
		t.Run(string(im), func(t *testing.T) {
			requireImpls(t, im)
			// sleep sums its arguments; 0.PID makes the command line ours.
			mark := fmt.Sprintf("0.%d", os.Getpid())
			start := func() *exec.Cmd {
				c := exec.Command("sleep", "1000", mark)
				if err := c.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Process.Kill(); c.Wait() })
				return c
			}
			proc := start()
			v := newVRRPLab(t, 2)
			ia := fastInst(150)
			ia.Extra = []string{"track_process {", "    slp", "}"}
			a := newDirector(t, im, v.nodes[0], vrrpConfig{
				Extra:     []string{fmt.Sprintf("vrrp_track_process slp {\n    process sleep 1000 %s\n    weight -60\n}", mark)},
				Instances: []vrrpInst{ia},
			})
			b := v.director(1, im, fastInst(100))
			startAll(a, b)
			waitSoleMaster(t, a, a, b)

			mark2 := v.cap.mark()
			proc.Process.Kill()
			proc.Wait()
			waitSoleMaster(t, b, a, b)
			if _, err := v.cap.wait(mark2, eventTimeout, "advert with priority 90 from lvs1", func(f *frame) bool {
				return isVRRPFrom(a.node, 51)(f) && f.Priority == 90
			}); err != nil {
				t.Error(err)
			}

			start()
			waitSoleMaster(t, a, a, b)
		})
	}
}

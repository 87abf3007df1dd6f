package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// TestNotifyFifoDrill: lvs-ha and keepalived 2.2.7, each with notify_fifo
// and vrrp_notify_fifo read by a real notify_fifo_script, in one VRRP pair:
// across the start (BACKUP), the election (MASTER) and a failover (the
// master stops: MASTER on the other) both write the same lines in the same
// order, in either role; lvs-ha also delivers the master's STOP line, which
// keepalived does not.
func TestNotifyFifoDrill(t *testing.T) {
	for _, order := range [][2]impl{{implLVSHA, implKeepalived}, {implKeepalived, implLVSHA}} {
		t.Run(fmt.Sprintf("%s_master", order[0]), func(t *testing.T) {
			v := newVRRPLab(t, 2)
			dir := t.TempDir()
			outs := [2]string{}
			ds := [2]*director{}
			for i, im := range order {
				fifoDir := filepath.Join(dir, string(im))
				if err := os.Mkdir(fifoDir, 0o755); err != nil {
					t.Fatal(err)
				}
				outs[i] = filepath.Join(fifoDir, "out")
				reader := filepath.Join(fifoDir, "reader.sh")
				body := "#!/bin/sh\nwhile IFS= read -r line; do printf '%s\\n' \"$line\" >> " + outs[i] + "; done < \"$1\"\n"
				if err := os.WriteFile(reader, []byte(body), 0o755); err != nil {
					t.Fatal(err)
				}
				inst := fastInst([]int{150, 100}[i])
				ds[i] = newDirector(t, im, v.nodes[i], vrrpConfig{Instances: []vrrpInst{inst}, GlobalExtra: []string{
					"notify_fifo " + filepath.Join(fifoDir, "notify.fifo"),
					"notify_fifo_script " + reader,
				}})
			}
			a, b := ds[0], ds[1]
			startAll(a, b) // a's master down timer expires first: b never leaves BACKUP before the failover
			waitSoleMaster(t, a, a, b)
			b.mustState("BACKUP", 0)
			a.stop()
			b.mustState("MASTER", 0)
			want := [2][]string{
				{`INSTANCE "VI_1" BACKUP 150`, `INSTANCE "VI_1" MASTER 150`},
				{`INSTANCE "VI_1" BACKUP 100`, `INSTANCE "VI_1" MASTER 100`},
			}
			// keepalived 2.2.7 writes the STOP line at shutdown
			// (notify_shutdown) but its reader is terminated with it and
			// never reads it; lvs-ha closes the FIFO once the STOP line is
			// in and gives the reader a second to read to end of file.
			if order[0] == implLVSHA {
				want[0] = append(want[0], `INSTANCE "VI_1" STOP 150`)
			}
			for i := range ds {
				var got string
				err := netlab.WaitFor(eventTimeout, func() (bool, error) {
					b, _ := os.ReadFile(outs[i])
					got = string(b)
					return strings.Count(got, "\n") >= len(want[i]), nil
				}, func() string {
					return fmt.Sprintf("%v's FIFO reader to get %d lines, got %q", ds[i], len(want[i]), got)
				})
				if err != nil {
					t.Error(err)
					continue
				}
				time.Sleep(200 * time.Millisecond) // nothing more may come
				b, _ := os.ReadFile(outs[i])
				if got := string(b); got != strings.Join(want[i], "\n")+"\n" {
					t.Errorf("%v's FIFO reader got\n%s\nwant\n%s", ds[i], got, strings.Join(want[i], "\n"))
				}
			}
		})
	}
}

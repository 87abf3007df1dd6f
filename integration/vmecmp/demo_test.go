//go:build vm

package vmecmp

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/bgplab"
	"github.com/lvs-ha/lvs-ha/internal/vmlab"
	"github.com/lvs-ha/lvs-ha/internal/vmtest"
)

var demo = flag.Bool("lvsha.demo", false, "run TestDemoECMP, the `make demo-ecmp` lab (it prints a timeline)")

// TestDemoECMP is `make demo-ecmp`: the active-active lab of TestECMPDrill with
// mh + lvs_sloppy_tcp, printed as a timeline on stdout (the router's FIB
// changes as they happen, then each event's figures). It runs inside the VM
// where the host kernel has no IP_VS, and on the host (LVSHA_BIN) where it has.
func TestDemoECMP(t *testing.T) {
	if !*demo {
		t.Skip("the demo runs with `make demo-ecmp` (test flag -lvsha.demo)")
	}
	if !vmtest.InVM() {
		if os.Geteuid() != 0 {
			t.Fatal("the demo needs root (network namespaces, IPVS)")
		}
		if _, err := os.Stat("/proc/net/ip_vs"); err != nil {
			t.Fatalf("this kernel has no IPVS (%v): run it in the VM tier (make demo-ecmp)", err)
		}
	}
	vmlab.RequireLvsHA(t)
	bgplab.RequireBIRD(t)
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Printf("[%6.2fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	say("lab: client (16 source addresses) -- router (BIRD 2, ECMP, L4 hash) -- lvs1..lvs3 (lvs-ha: mh, DR, lvs_sloppy_tcp, BGP) -- rs1..rs3")
	l := newECMPLab(t, schemes[0])
	l.say = say
	say("router: BIRD up, peers lvs1-lvs4 (hold time %d s); real servers rs1-rs3 echo on :%d", holdTime, svcPort)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the router's FIB as it changes
		defer close(done)
		seen := len(l.fib.Changes())
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			cs := l.fib.Changes()
			for _, c := range cs[seen:] {
				fmt.Printf("[%6.2fs] router FIB %v: %v\n", c.At.Sub(start).Seconds(), vip32, c)
			}
			seen = len(cs)
		}
	}()
	drill(l)
	close(stop)
	<-done
	rowsMu.Lock()
	defer rowsMu.Unlock()
	say("figures (disrupted: reset, other real server, or stalled over 1 s + the longest pause of this process; lost: reset, other real server, or silent at the end):")
	for _, r := range rows {
		say("  %-10s FIB change %ss after the fault; affected director's flows %d disrupted, %d lost of %d; collateral %d disrupted, %d lost of %d; stall p50/p99/max %s s",
			r.event, sec(r.fib), r.affDisr, r.affLost, r.affected, r.colDisr, r.colLost, r.collateral, triple(r.affStall))
	}
	say("done")
}

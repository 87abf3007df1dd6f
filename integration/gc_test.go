package integration

import (
	"fmt"
	"math"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// TestGCPaced: `lvs-ha run` paces the Go collector (internal/gcpace) once
// it runs: GOGC off, which is what keeps the runtime's forced collection
// every two minutes from stopping the world (integration/bench/why.txt: it
// stalled a master's adverts under busy loops at nice -10), and a memory
// limit that holds the heap to GOGC's goal. With GOGC in its environment
// a daemon keeps the runtime's own pacing.
func TestGCPaced(t *testing.T) {
	v := newVRRPLab(t, 2)
	a := v.director(0, implLVSHA, fastInst(150))
	b := v.director(1, implLVSHA, fastInst(100))
	b.env = []string{"GOGC=100"}
	startAll(a, b)
	waitSoleMaster(t, a, a, b)

	// The runtime reports GOGC off (-1) as an unsigned 2^64-1.
	var gogc, limit float64
	err := netlab.WaitFor(eventTimeout, func() (bool, error) {
		var ok1, ok2 bool
		gogc, ok1 = a.sample(t, "go_gc_gogc_percent")
		limit, ok2 = a.sample(t, "go_gc_gomemlimit_bytes")
		return ok1 && ok2 && gogc > math.MaxInt64 && limit < 1<<30, nil
	}, func() string { return fmt.Sprintf("lvs1 paced: GOGC %v, memory limit %v", gogc, limit) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("lvs1: go_gc_gogc_percent %v, memory limit %.1f MiB", gogc, limit/(1<<20))
	gogc, _ = b.sample(t, "go_gc_gogc_percent")
	limit, _ = b.sample(t, "go_gc_gomemlimit_bytes")
	if gogc != 100 || limit < math.MaxInt64/2 {
		t.Errorf("lvs2 with GOGC=100 in its environment: GOGC %v, memory limit %v; want 100, none", gogc, limit)
	}
}

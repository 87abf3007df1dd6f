//go:build vm

package ipvs_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

// tableCost is what one n.Table() allocates, averaged over runs reads.
func tableCost(t testing.TB, n *ipvs.Netlink, runs int) (allocs, bytes float64) {
	t.Helper()
	if _, err := n.Table(); err != nil { // warm up
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		if _, err := n.Table(); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(runs), float64(after.TotalAlloc-before.TotalAlloc) / float64(runs)
}

// maxAllocsPerDest bounds the objects one Table read allocates per real
// server: every scrape and reconcile reads the table, and its garbage sets
// the daemon's resident memory at scale. The library's attribute decoder
// made it 41 (2.9 KB) at 1,000 services x 10 real servers; 9.5 with attrDecoder.
const maxAllocsPerDest = 12

// TestVMTableAllocs reads tables of 200 and 1,000 services of 10 real
// servers each, and bounds the objects allocated per additional real server.
func TestVMTableAllocs(t *testing.T) {
	n := newNetlink(t)
	ctx := context.Background()
	var allocs, bytes [2]float64
	for i, size := range []int{200, 1000} {
		if _, err := ipvs.Reconcile(ctx, n, bigTable(size, 10), ipvs.ReconcileOptions{}); err != nil {
			t.Fatal(err)
		}
		allocs[i], bytes[i] = tableCost(t, n, 5)
		t.Logf("Table of %d x 10: %.0f allocations, %.0f bytes (%.1f and %.0f per real server)",
			size, allocs[i], bytes[i], allocs[i]/float64(size*10), bytes[i]/float64(size*10))
	}
	perDest := (allocs[1] - allocs[0]) / 8000
	t.Logf("per additional real server: %.2f allocations, %.0f bytes", perDest, (bytes[1]-bytes[0])/8000)
	if perDest > maxAllocsPerDest {
		t.Errorf("%.2f allocations per real server, want <= %d", perDest, maxAllocsPerDest)
	}
}

// BenchmarkTable reads a 1,000 x 10 table with its stats.
func BenchmarkTable(b *testing.B) {
	n := newNetlink(b)
	if _, err := ipvs.Reconcile(context.Background(), n, bigTable(1000, 10), ipvs.ReconcileOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n.Table(); err != nil {
			b.Fatal(err)
		}
	}
}

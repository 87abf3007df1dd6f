//go:build vm

package ipvs_test

import (
	"context"
	"fmt"
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
// made it 41 (2.9 KB) at 1,000 services x 10 real servers; attrDecoder
// 9.5 (1.7 KB, mostly netlink.Conn.Receive's fresh buffers); receiver 4.9
// (358 bytes).
const (
	maxAllocsPerDest = 6
	maxBytesPerDest  = 1024
)

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
	perDest, bytesPerDest := (allocs[1]-allocs[0])/8000, (bytes[1]-bytes[0])/8000
	t.Logf("per additional real server: %.2f allocations, %.0f bytes", perDest, bytesPerDest)
	if perDest > maxAllocsPerDest || bytesPerDest > maxBytesPerDest {
		t.Errorf("%.2f allocations and %.0f bytes per real server, want <= %d and %d",
			perDest, bytesPerDest, maxAllocsPerDest, maxBytesPerDest)
	}
}

// Concurrent reads of one handle each get the whole table: the replies
// are decoded from the handle's receive buffer under its lock.
func TestVMTableConcurrentReads(t *testing.T) {
	n := newNetlink(t)
	want := bigTable(100, 10)
	if _, err := ipvs.Reconcile(context.Background(), n, want, ipvs.ReconcileOptions{}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for range 20 {
				tab, err := n.Table()
				if err == nil {
					err = sameTable(tab, want)
				}
				if err == nil {
					_, err = n.Timeouts()
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// sameTable reports how got's services and destinations differ from want's.
func sameTable(got, want ipvs.Table) error {
	if len(got.Services) != len(want.Services) {
		return fmt.Errorf("%d services, want %d", len(got.Services), len(want.Services))
	}
	for _, ws := range want.Services {
		s := got.Service(ws.Key)
		if s == nil || s.Scheduler != ws.Scheduler || len(s.Destinations) != len(ws.Destinations) {
			return fmt.Errorf("service %s: %+v", ws.Key, s)
		}
		for _, wd := range ws.Destinations {
			if d := s.Destination(wd.Addr, wd.Port); d == nil || d.Weight != wd.Weight {
				return fmt.Errorf("service %s destination %s: %+v", ws.Key, wd.AddrPort(), d)
			}
		}
	}
	return nil
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

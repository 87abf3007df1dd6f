package ipvs_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/lvs-ha/lvs-ha/ipvs"
)

// nullKernel is an empty kernel table that accepts every change in
// batches and keeps nothing; at the batch it is told to, it collects
// garbage and records the live heap.
type nullKernel struct {
	ipvs.Kernel // nil: Reconcile only calls Table and ApplyOps
	batches     int
	measureAt   int
	live        uint64
}

func (k *nullKernel) Table() (ipvs.Table, error) { return ipvs.Table{}, nil }

func (k *nullKernel) ApplyOps(ops []ipvs.Op) []error {
	k.batches++
	if k.batches == k.measureAt {
		k.live = liveHeap()
	}
	return make([]error, len(ops))
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Reconcile plans as it applies: in the middle of a first apply of 5,000
// services x 10 destinations (55,000 changes of ~190 bytes each, 10 MB
// when planned at once), it holds little more than the normalized copy of
// the desired table (its destinations are a third of an op's size).
func TestReconcileHoldsChunkNotPlan(t *testing.T) {
	desired := bigTable(5000, 10)
	base := liveHeap()
	norm, err := ipvs.Normalize(desired)
	if err != nil {
		t.Fatal(err)
	}
	copySize := liveHeap() - base
	runtime.KeepAlive(norm)
	base = liveHeap()
	k := &nullKernel{measureAt: 55000 / 128 / 2}
	ch, err := ipvs.Reconcile(context.Background(), k, desired, ipvs.ReconcileOptions{})
	if err != nil || ch.Total() != 55000 {
		t.Fatalf("changes %v, err %v", ch, err)
	}
	grew := int64(k.live) - int64(base)
	t.Logf("normalized copy %d kB; heap grew by %d kB during the apply (%d batches)", copySize>>10, grew>>10, k.batches)
	if grew > int64(2*copySize) {
		t.Errorf("heap grew by %d kB during the apply, over twice the normalized table's %d kB: the plan is held whole", grew>>10, copySize>>10)
	}
	runtime.KeepAlive(desired)
}

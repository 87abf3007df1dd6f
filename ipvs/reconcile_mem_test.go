package ipvs_test

import (
	"context"
	"reflect"
	"runtime"
	"slices"
	"testing"

	"github.com/lvs-ha/lvs-ha/ipvs"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
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

// InPlace gives the kernel the same table, normalizing the caller's table
// itself instead of a copy.
func TestReconcileInPlace(t *testing.T) {
	build := func() ipvs.Table {
		d := bigTable(50, 4)
		for i := range d.Services {
			slices.Reverse(d.Services[i].Destinations)
			d.Services[i].Scheduler = ""
		}
		return d
	}
	copied, inPlace := &ipvstest.Kernel{}, &ipvstest.Kernel{}
	desired := build()
	ch1, err1 := ipvs.Reconcile(context.Background(), copied, desired, ipvs.ReconcileOptions{})
	if !reflect.DeepEqual(desired, build()) {
		t.Fatal("Reconcile without InPlace changed the desired table")
	}
	ch2, err2 := ipvs.Reconcile(context.Background(), inPlace, desired, ipvs.ReconcileOptions{InPlace: true})
	if err1 != nil || err2 != nil || ch1 != ch2 || ch1.Total() != 250 {
		t.Fatalf("copied %v, %v; in place %v, %v", ch1, err1, ch2, err2)
	}
	t1, _ := copied.Table()
	t2, _ := inPlace.Table()
	if !reflect.DeepEqual(t1, t2) {
		t.Fatal("kernel tables differ")
	}
	norm, _ := ipvs.Normalize(build())
	if !reflect.DeepEqual(desired, norm) {
		t.Error("InPlace did not normalize the caller's table itself")
	}
}

package gcpace

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

// goal is the runtime's heap goal under a memory limit (mgcpacer.go
// memoryLimitHeapGoal, with the heap as f has it).
func goal(limit int64, f Figures) uint64 {
	other := f.Total - f.Free - f.Released - f.Objects
	g := uint64(limit) - other
	return g - g/100*headroomPercent
}

// The limit's heap goal is GOGC's: the live heap plus percent of the live
// heap, stacks and globals, at least heapMinimum's share; a GOMEMLIMIT caps it.
func TestLimitIsGOGCGoal(t *testing.T) {
	const MiB = 1 << 20
	f := Figures{Total: 60 * MiB, Released: 10 * MiB, Free: 5 * MiB, Objects: 30 * MiB,
		Live: 20 * MiB, Stacks: 1 * MiB, Globals: 1 * MiB}
	for _, tc := range []struct {
		percent int
		f       Figures
		want    uint64 // GOGC's goal
	}{
		{100, f, 20*MiB + 22*MiB},
		{25, f, 20*MiB + 22*MiB/4},
		{100, Figures{Total: 8 * MiB, Objects: 1 * MiB, Live: 1 * MiB}, 1*MiB + 4*MiB},
		{25, Figures{Total: 8 * MiB, Objects: 1 * MiB, Live: 1 * MiB}, 1*MiB + 1*MiB},
	} {
		got := goal(Limit(tc.f, tc.percent, math.MaxInt64), tc.f)
		if d := int64(got) - int64(tc.want); d < -64<<10 || d > 64<<10 {
			t.Errorf("percent %d, %+v: heap goal %d, want GOGC's %d", tc.percent, tc.f, got, tc.want)
		}
	}
	if l := Limit(f, 100, 32*MiB); l != 32*MiB {
		t.Errorf("with a 32 MiB GOMEMLIMIT the limit is %d", l)
	}
}

// fakeRuntime records what a Pacer sets; gc runs the hooks as a collection
// would.
type fakeRuntime struct {
	percent int
	limit   int64
	f       Figures
	hooks   []func()
}

func (r *fakeRuntime) SetGCPercent(p int) int {
	prev := r.percent
	r.percent = p
	return prev
}

func (r *fakeRuntime) SetMemoryLimit(l int64) int64 {
	prev := r.limit
	if l >= 0 {
		r.limit = l
	}
	return prev
}
func (r *fakeRuntime) Read() Figures    { return r.f }
func (r *fakeRuntime) AfterGC(f func()) { r.hooks = append(r.hooks, f) }

func (r *fakeRuntime) gc(live uint64) {
	r.f.Live, r.f.Objects = live, live
	r.f.Total = live + 8<<20
	hooks := r.hooks
	r.hooks = nil
	for _, h := range hooks {
		h()
	}
}

// Pace turns GOGC off under a limit set again after every collection; a
// reload's tighter GOGC leaves pacing (the operator's limit back) and the
// pacer's percent paces again. Hooks of an earlier pacing do nothing.
func TestPacerModes(t *testing.T) {
	const MiB = 1 << 20
	rt := &fakeRuntime{percent: 100, limit: 512 * MiB}
	rt.gc(10 * MiB)
	p := newPacer(rt, 100)
	if l, paced := p.Limit(); paced || l != 0 {
		t.Fatalf("before Pace: limit %d, paced %v", l, paced)
	}
	p.Pace()
	want := Limit(rt.f, 100, 512*MiB)
	if rt.percent != -1 || rt.limit != want || len(rt.hooks) != 1 {
		t.Fatalf("paced: GOGC %d, limit %d (want -1, %d), %d hooks", rt.percent, rt.limit, want, len(rt.hooks))
	}
	p.Pace() // again: nothing more
	if len(rt.hooks) != 1 {
		t.Fatalf("Pace twice: %d hooks", len(rt.hooks))
	}
	rt.gc(30 * MiB)
	if want := Limit(rt.f, 100, 512*MiB); rt.limit != want || len(rt.hooks) != 1 {
		t.Fatalf("after a collection: limit %d, want %d; %d hooks", rt.limit, want, len(rt.hooks))
	}
	if prev := p.SetGCPercent(25); prev != 100 || rt.percent != 25 || rt.limit != 512*MiB {
		t.Fatalf("SetGCPercent(25): returned %d, GOGC %d, limit %d; want 100, 25, the operator's", prev, rt.percent, rt.limit)
	}
	rt.gc(40 * MiB) // the earlier pacing's hook
	if rt.limit != 512*MiB || len(rt.hooks) != 0 {
		t.Fatalf("unpaced collection: limit %d, %d hooks", rt.limit, len(rt.hooks))
	}
	if prev := p.SetGCPercent(100); prev != 25 || rt.percent != -1 || rt.limit != Limit(rt.f, 100, 512*MiB) {
		t.Fatalf("SetGCPercent(100): returned %d, GOGC %d, limit %d", prev, rt.percent, rt.limit)
	}
	if l, paced := p.Limit(); !paced || l != rt.limit {
		t.Fatalf("Limit() %d, %v", l, paced)
	}
}

// A nil Pacer (GOGC in the environment) leaves the runtime as it is.
func TestNilPacer(t *testing.T) {
	var p *Pacer
	p.Pace()
	prev := p.SetGCPercent(50)
	if back := p.SetGCPercent(prev); back != 50 {
		t.Errorf("nil Pacer's SetGCPercent: %d, want 50", back)
	}
	if _, paced := p.Limit(); paced {
		t.Error("nil Pacer paces")
	}
	t.Setenv("GOGC", "100")
	if New(100) != nil {
		t.Error("New with GOGC set: a Pacer")
	}
}

func cycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/automatic:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

var sink []byte

// churn allocates garbage while keeping live at its size, then grows live
// to grow more, and returns the automatic collections it took and the
// largest heap goal seen.
func churn(live, grow int) (n uint64, peak uint64) {
	keep := make([][]byte, 0, (live+grow)>>16)
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	c0 := cycles()
	for i := 0; i < (live+grow)>>16; i++ {
		keep = append(keep, make([]byte, 1<<16))
		if i < live>>16 {
			continue
		}
		for j := 0; j < 16; j++ { // 1 MiB of garbage per 64 KiB kept
			sink = make([]byte, 1<<16)
		}
		metrics.Read(s)
		peak = max(peak, s[0].Value.Uint64())
	}
	for i := 0; i < 2000; i++ { // then 125 MiB of garbage at the final size
		sink = make([]byte, 1<<16)
	}
	runtime.KeepAlive(keep)
	return cycles() - c0, peak
}

// On the real runtime, paced collections keep GOGC's rate and heap goal
// while the live heap grows from 8 to 72 MiB: the limit follows the live
// heap (without the hook the limit would stay at the first one's, and the
// collector would run at every allocation past it), and GOGC is off, which
// is what stops the runtime's forced collection (mgc.go gcTrigger.test:
// gcTriggerTime is false while gcPercent < 0).
func TestPacedRuntime(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	runtime.GC()
	refN, refPeak := churn(8<<20, 64<<20)
	sink = nil
	runtime.GC()

	p := newPacer(realRuntime{}, 100)
	p.Pace()
	defer p.SetGCPercent(100) // the defers above restore the runtime
	if g := debug.SetGCPercent(-1); g != -1 {
		t.Fatalf("paced: GOGC %d, want off", g)
	}
	first, _ := p.Limit()
	n, peak := churn(8<<20, 64<<20)
	last, paced := p.Limit()
	t.Logf("GOGC=100: %d collections, peak goal %d MiB; paced: %d collections, peak goal %d MiB, limit %d -> %d MiB",
		refN, refPeak>>20, n, peak>>20, first>>20, last>>20)
	if !paced || last <= first {
		t.Errorf("the limit did not follow the heap: %d -> %d MiB (paced %v)", first>>20, last>>20, paced)
	}
	// Bounds loose enough for a loaded machine (where a long mark phase
	// changes both counts); without the hook it took 321 against 39.
	if n > refN*2+8 || n < refN/3 {
		t.Errorf("paced: %d collections, GOGC=100: %d", n, refN)
	}
	if peak > refPeak*3/2 {
		t.Errorf("paced peak heap goal %d MiB, GOGC=100's %d MiB", peak>>20, refPeak>>20)
	}
}

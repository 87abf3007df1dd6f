package gcpace

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// heapMinimum is GOGC's smallest heap goal at GOGC=100 (the runtime's
// heapMinimum), scaled by the percent like the runtime's.
const heapMinimum = 4 << 20

// headroomPercent is the share the runtime keeps below a memory limit's heap
// goal (memoryLimitHeapGoalHeadroomPercent); the limit adds it back so the
// goal is GOGC's.
const headroomPercent = 3

// Figures read after each collection.
var sampleNames = []string{
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/objects:bytes",
	"/gc/heap/live:bytes",
	"/gc/scan/stack:bytes",
	"/gc/scan/globals:bytes",
}

// Figures are the runtime's figures a limit is computed from, in bytes.
type Figures struct {
	Total, Released, Free, Objects uint64 // /memory/classes/...
	Live, Stacks, Globals          uint64 // /gc/heap/live, /gc/scan/stack and /gc/scan/globals
}

// Limit is the memory limit whose heap goal is GOGC=percent's for f, at most
// ceiling: the memory that is not heap objects (stacks, the runtime's own,
// fragmentation) plus the live heap plus GOGC's growth over it.
func Limit(f Figures, percent int, ceiling int64) int64 {
	var other uint64
	if held := f.Free + f.Released + f.Objects; f.Total > held {
		other = f.Total - held
	}
	growth := (f.Live + f.Stacks + f.Globals) / 100 * uint64(percent)
	if floor := uint64(heapMinimum) / 100 * uint64(percent); growth < floor {
		growth = floor
	}
	goal := f.Live + growth
	goal += goal / (100 - headroomPercent) * headroomPercent
	limit := other + goal
	if limit > math.MaxInt64 || int64(limit) > ceiling {
		return ceiling
	}
	return int64(limit)
}

// runtimeGC is what a Pacer changes and reads of the runtime (a test seam).
type runtimeGC interface {
	SetGCPercent(int) int
	SetMemoryLimit(int64) int64
	Read() Figures
	// AfterGC calls f once, after the next collection.
	AfterGC(f func())
}

// Pacer keeps the collector at a percent (GOGC) without the forced
// collection while it paces; see the package comment. Its methods are safe
// for concurrent use, and a nil Pacer's do what the runtime's would.
type Pacer struct {
	rt      runtimeGC
	steady  int   // the percent paced
	ceiling int64 // the operator's memory limit (GOMEMLIMIT), or none

	mu    sync.Mutex
	paced bool
	gen   int // ends the hook of an earlier pacing
	limit int64
}

// New returns a Pacer that paces at percent once Pace is called, or nil
// when the environment sets GOGC (the operator's choice stands).
func New(percent int) *Pacer {
	if _, ok := os.LookupEnv("GOGC"); ok {
		return nil
	}
	return newPacer(realRuntime{}, percent)
}

func newPacer(rt runtimeGC, percent int) *Pacer {
	return &Pacer{rt: rt, steady: percent, ceiling: rt.SetMemoryLimit(-1)}
}

// Pace starts pacing at the Pacer's percent (GOGC off, the limit set now
// and after every collection); it is SetGCPercent of that percent. Call it
// once the heap holds what the process keeps (after the start's apply):
// while the live heap grows fast the limit lags one collection behind it.
// A nil Pacer's does nothing.
func (p *Pacer) Pace() {
	if p != nil {
		p.SetGCPercent(p.steady)
	}
}

// SetGCPercent is debug.SetGCPercent for a process that may be paced: the
// Pacer's percent paces (Pace), any other leaves pacing for the runtime's
// own GOGC (a reload's tighter one) and lifts the limit back to the
// operator's. It returns the percent in effect before: the Pacer's while it
// paced.
func (p *Pacer) SetGCPercent(pct int) int {
	if p == nil {
		return debug.SetGCPercent(pct)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case pct == p.steady && p.paced:
		return p.steady
	case pct == p.steady:
		p.paced = true
		p.gen++
		p.setLimitLocked() // the limit before GOGC goes off: never unbounded
		prev := p.rt.SetGCPercent(-1)
		p.armLocked()
		return prev
	case p.paced:
		p.paced = false
		p.gen++
		p.rt.SetGCPercent(pct)
		p.limit = p.ceiling
		p.rt.SetMemoryLimit(p.ceiling)
		return p.steady
	default:
		return p.rt.SetGCPercent(pct)
	}
}

// Limit returns the memory limit the Pacer set last, and whether it paces.
func (p *Pacer) Limit() (int64, bool) {
	if p == nil {
		return 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limit, p.paced
}

func (p *Pacer) setLimitLocked() {
	p.limit = Limit(p.rt.Read(), p.steady, p.ceiling)
	p.rt.SetMemoryLimit(p.limit)
}

// armLocked sets the limit again after the next collection, and so on while
// this pacing lasts.
func (p *Pacer) armLocked() {
	gen := p.gen
	p.rt.AfterGC(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.paced || p.gen != gen {
			return
		}
		p.setLimitLocked()
		p.armLocked()
	})
}

// realRuntime is the process's collector.
type realRuntime struct{}

var _ runtimeGC = realRuntime{}

func (realRuntime) SetGCPercent(pct int) int     { return debug.SetGCPercent(pct) }
func (realRuntime) SetMemoryLimit(l int64) int64 { return debug.SetMemoryLimit(l) }
func (realRuntime) AfterGC(f func())             { afterGC(f) }
func (realRuntime) Read() Figures                { return read() }

// sentinel is large enough not to be a tiny allocation, which may share a
// block with others and so outlive a collection.
type sentinel [64]byte

// afterGC runs f (on the runtime's cleanup goroutine) once an object that
// nothing references has been collected: after the next collection.
func afterGC(f func()) {
	runtime.AddCleanup(new(sentinel), func(f func()) { f() }, f)
}

func read() Figures {
	s := make([]metrics.Sample, len(sampleNames))
	for i, n := range sampleNames {
		s[i].Name = n
	}
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return Figures{Total: v(0), Released: v(1), Free: v(2), Objects: v(3), Live: v(4), Stacks: v(5), Globals: v(6)}
}

package integration

import (
	"cmp"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	"golang.org/x/sys/unix"
)

// cpuWitness runs a thread on each CPU, pinned to it at SCHED_FIFO priority
// 1, that sleeps witnessPeriod at a time and records each wake-up later than
// witnessLate. A realtime thread preempts every daemon and busy loop of the
// benchmarks, so it is late only when its CPU ran nothing of this machine's
// (the hypervisor's steal), ran interrupts or other realtime threads: a
// master's advert gap that overlaps such a silence on a CPU is the
// machine's, not the daemon's alone (TestBenchStability's stalls, with
// LVSHA_BENCH_CPU_WITNESS=1). It is not on by default because it changes what
// it watches: its wake-ups end the busy loops' slices every witnessPeriod,
// so the daemons wait less for a CPU (30 s under oversubscription: both
// masters' p99 advert gap ~2 ms shorter). A nil *cpuWitness watches
// nothing.
type cpuWitness struct {
	stop chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	silences []cpuSilence
	wakes    []int // per CPU
	err      error // the first thread that could not be pinned or made realtime
}

// cpuSilence is a witness's late wake-up: its CPU ran none of the machine's
// ordinary threads from From (the wake-up due) to To.
type cpuSilence struct {
	CPU      int
	From, To time.Time
}

const (
	witnessPeriod = 2 * time.Millisecond
	witnessLate   = 10 * time.Millisecond
)

// startCPUWitness starts the witness threads; stopped with stop. If a
// thread cannot be made realtime (no CAP_SYS_NICE), err says so and that
// CPU is not watched.
func startCPUWitness() *cpuWitness {
	w := &cpuWitness{stop: make(chan struct{}), wakes: make([]int, runtime.NumCPU())}
	for cpu := range runtime.NumCPU() {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			// Never unlocked: the thread, realtime and pinned, exits with
			// the goroutine.
			runtime.LockOSThread()
			if err := pinRealtime(cpu); err != nil {
				w.mu.Lock()
				w.err = cmp.Or(w.err, err)
				w.mu.Unlock()
				return
			}
			for {
				select {
				case <-w.stop:
					return
				default:
				}
				due := time.Now().Add(witnessPeriod)
				ts := unix.NsecToTimespec(witnessPeriod.Nanoseconds())
				_ = unix.ClockNanosleep(unix.CLOCK_MONOTONIC, 0, &ts, nil)
				woke := time.Now()
				w.mu.Lock()
				w.wakes[cpu]++
				if woke.Sub(due) > witnessLate {
					w.silences = append(w.silences, cpuSilence{CPU: cpu, From: due, To: woke})
				}
				w.mu.Unlock()
			}
		}()
	}
	return w
}

// pinRealtime pins the calling thread to cpu at SCHED_FIFO priority 1.
func pinRealtime(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("cpu witness: pin to CPU %d: %w", cpu, err)
	}
	attr := &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 1}
	if err := unix.SchedSetAttr(0, attr, 0); err != nil {
		return fmt.Errorf("cpu witness: SCHED_FIFO on CPU %d: %w", cpu, err)
	}
	return nil
}

// close stops the witness threads and waits for them.
func (w *cpuWitness) close() {
	if w == nil {
		return
	}
	close(w.stop)
	w.wg.Wait()
}

// longest returns the longest silence of any CPU overlapping [from, to].
func (w *cpuWitness) longest(from, to time.Time) (cpuSilence, bool) {
	if w == nil {
		return cpuSilence{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var best cpuSilence
	found := false
	for _, s := range w.silences {
		if s.From.Before(to) && s.To.After(from) && (!found || s.To.Sub(s.From) > best.To.Sub(best.From)) {
			best, found = s, true
		}
	}
	return best, found
}

// summary is one line: each CPU's wake-ups, silences over witnessLate and
// the longest.
func (w *cpuWitness) summary() string {
	if w == nil {
		return "no CPU witness (LVSHA_BENCH_CPU_WITNESS=1 starts one)"
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return fmt.Sprintf("not watched: %v", w.err)
	}
	s := ""
	for cpu, n := range w.wakes {
		var count int
		var long time.Duration
		for _, sl := range w.silences {
			if sl.CPU == cpu {
				count++
				long = max(long, sl.To.Sub(sl.From))
			}
		}
		s += fmt.Sprintf("CPU %d %d wake-ups, %d silent over %v (longest %.1f ms); ", cpu, n, count, witnessLate, ms(long))
	}
	return s[:len(s)-2]
}

// TestCPUWitnessLongest checks which silence a gap is set against: the
// longest of those overlapping it, on any CPU.
func TestCPUWitnessLongest(t *testing.T) {
	at := time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC)
	msAt := func(n int) time.Time { return at.Add(time.Duration(n) * time.Millisecond) }
	w := &cpuWitness{silences: []cpuSilence{
		{CPU: 0, From: msAt(0), To: msAt(15)},
		{CPU: 1, From: msAt(20), To: msAt(60)},
		{CPU: 0, From: msAt(100), To: msAt(200)},
	}}
	if s, ok := w.longest(msAt(10), msAt(50)); !ok || s.CPU != 1 || !s.From.Equal(msAt(20)) {
		t.Errorf("longest(10, 50 ms) = %+v, %v; want CPU 1's 20-60 ms", s, ok)
	}
	if s, ok := w.longest(msAt(60), msAt(100)); ok {
		t.Errorf("longest(60, 100 ms) = %+v; want none (the silences only touch it)", s)
	}
}

// TestCPUWitness runs the witness for 200 ms: every CPU wakes, about every
// witnessPeriod. Needs CAP_SYS_NICE for SCHED_FIFO (root in make test).
func TestCPUWitness(t *testing.T) {
	netns.RequireRoot(t)
	w := startCPUWitness()
	time.Sleep(200 * time.Millisecond)
	w.close()
	if w.err != nil {
		t.Fatal(w.err)
	}
	for cpu, n := range w.wakes {
		if n < 10 {
			t.Errorf("CPU %d: %d wake-ups in 200 ms, want about %d", cpu, n, 200*time.Millisecond/witnessPeriod)
		}
	}
	t.Log(w.summary())
}

package daemon

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"testing"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/conf/syntax"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
)

// peakLive runs f with the collector at GOGC=pct and returns the largest
// live heap a collection found while it ran (runtime/metrics
// /gc/heap/live:bytes after each cycle, read by a finalizer that re-arms
// itself). A small pct makes the cycles frequent, so the figure comes close
// to the true peak of live data. With LVSHA_PEAK_PROFILE set to a file, the
// heap profile at the peak is written there (only for the phase named
// LVSHA_PEAK_PHASE, if set).
func peakLive(phase string, pct int, f func()) uint64 {
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(pct))
	var (
		mu   sync.Mutex
		peak uint64
		stop bool
	)
	prof := os.Getenv("LVSHA_PEAK_PROFILE")
	if p := os.Getenv("LVSHA_PEAK_PHASE"); p != "" && p != phase {
		prof = ""
	}
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	type sentinel struct{ _ [16]byte }
	var arm func()
	arm = func() {
		runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
			metrics.Read(s)
			mu.Lock()
			defer mu.Unlock()
			if stop {
				return
			}
			if v := s[0].Value.Uint64(); v > peak {
				peak = v
				if prof != "" {
					if w, err := os.Create(prof); err == nil {
						_ = pprof.Lookup("heap").WriteTo(w, 0)
						_ = w.Close()
					}
				}
			}
			arm()
		})
	}
	arm()
	f()
	runtime.GC()
	runtime.GC() // the finalizer of the last cycle ran
	mu.Lock()
	stop = true
	mu.Unlock()
	return peak
}

// BenchmarkPeakHeap reports the largest live heap at 10,000 x 10 on the
// in-memory kernel during the daemon's load (parse, check, plan:
// load-peak-MB), its first apply (apply-peak-MB) and the reload of the
// same configuration (reload-peak-MB): what, with Go's collector letting
// the heap grow to twice the live data, sets the process's high-water
// mark. Run it with LVSHA_PEAK_PROFILE=file for the heap profile at the
// last phase's peak.
func BenchmarkPeakHeap(b *testing.B) {
	file := filepath.Join(b.TempDir(), "keepalived.conf")
	if err := os.WriteFile(file, []byte(scaleConf(10000)), 0o644); err != nil {
		b.Fatal(err)
	}
	var load, apply, reload uint64
	for b.Loop() {
		var d *Daemon
		fk := &fakeKernel{Kernel: &ipvstest.Kernel{}}
		load = max(load, peakLive("load", 10, func() {
			var ds syntax.Diagnostics
			var err error
			d, ds, err = Load(file, conf.Options{}, Options{openIPVS: func() (ipvsKernel, error) { return fk, nil }, ConfigFile: file})
			if err != nil || ds.HasErrors() {
				b.Fatal(ds, err)
			}
		}))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		apply = max(apply, peakLive("apply", 10, func() {
			go func() { done <- d.Run(ctx) }()
			<-d.lvs.ready
		}))
		reload = max(reload, peakLive("reload", 10, func() {
			if err := d.ReloadFile(ctx, file, conf.Options{}); err != nil {
				b.Fatal(err)
			}
		}))
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(load)/(1<<20), "load-peak-MB")
	b.ReportMetric(float64(apply)/(1<<20), "apply-peak-MB")
	b.ReportMetric(float64(reload)/(1<<20), "reload-peak-MB")
}

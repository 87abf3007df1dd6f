package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
)

// scaleConf is n virtual servers of 10 NAT real servers, no checks.
func scaleConf(n int) string { return scaleConfWith(n, "        weight 1\n") }

// scaleConfWith is n virtual servers of 10 NAT real servers whose blocks
// hold rs.
func scaleConfWith(n int, rs string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "virtual_server 198.18.%d.%d 80 {\n    lvs_sched wrr\n    lvs_method NAT\n    protocol TCP\n", i/250, i%250+1)
		for j := range 10 {
			fmt.Fprintf(&b, "    real_server 198.19.0.%d 8080 {\n%s    }\n", j+1, rs)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// BenchmarkLoadApply is the daemon's start at 10,000 virtual servers x 10
// real servers on the in-memory kernel: Load (parse, check, plan) and the
// run until the first apply (see integration/vmscale for the real kernel).
func BenchmarkLoadApply(b *testing.B) {
	file := filepath.Join(b.TempDir(), "keepalived.conf")
	if err := os.WriteFile(file, []byte(scaleConf(10000)), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			if _, ds, err := Load(file, conf.Options{}, Options{}); err != nil || ds.HasErrors() {
				b.Fatal(ds, err)
			}
		}
	})
	b.Run("apply", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			cfg, ds := conf.Load(file, conf.Options{})
			p, pds := check(cfg, &Options{})
			if ds.HasErrors() || p == nil {
				b.Fatal(ds, pds)
			}
			fk := &fakeKernel{Kernel: &ipvstest.Kernel{}}
			l := newLVS(p, lvsOptions{Open: func() (ipvsKernel, error) { return fk, nil }})
			b.StartTimer()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- l.Run(ctx) }()
			<-l.ready
			cancel()
			<-done
			if c := fk.Calls(); c.NewDest != 100000 {
				b.Fatalf("calls %+v", c)
			}
		}
	})
}

// BenchmarkLiveHeap reports the daemon's live heap after its first apply at
// 10,000 x 10 (live-MB, after a GC, the in-memory kernel's table of ~13 MB
// included): run it with -memprofile for what holds it.
func BenchmarkLiveHeap(b *testing.B) {
	file := filepath.Join(b.TempDir(), "keepalived.conf")
	if err := os.WriteFile(file, []byte(scaleConf(10000)), 0o644); err != nil {
		b.Fatal(err)
	}
	var live uint64
	for b.Loop() {
		fk := &fakeKernel{Kernel: &ipvstest.Kernel{}}
		d, ds, err := Load(file, conf.Options{}, Options{openIPVS: func() (ipvsKernel, error) { return fk, nil }})
		if err != nil || ds.HasErrors() {
			b.Fatal(ds, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.lvs.Run(ctx) }()
		<-d.lvs.ready
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		live = max(live, ms.HeapAlloc)
		runtime.KeepAlive(d)
		cancel()
		<-done
	}
	b.ReportMetric(float64(live)/(1<<20), "live-MB")
}

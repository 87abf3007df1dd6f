package daemon

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
	"golang.org/x/sys/unix"
)

// backlogListeners listens on n loopback addresses 127.3.x.y:port with raw
// sockets it never accepts from: a TCP_CHECK's connect completes in the
// kernel (the backlog takes it), and the listeners put nothing on the Go
// heap, so the heap is the daemon's.
func backlogListeners(tb testing.TB, n, port int) {
	tb.Helper()
	for i := range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			tb.Skip(err)
		}
		tb.Cleanup(func() { _ = unix.Close(fd) })
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 3, byte(i / 250), byte(i%250 + 1)}}); err != nil {
			tb.Skip(err)
		}
		if err := unix.Listen(fd, 4096); err != nil {
			tb.Skip(err)
		}
	}
}

// hcMemConf is n real servers (ten per virtual server) with a TCP_CHECK
// each, delay_loop 1, on backlogListeners' addresses.
func hcMemConf(n, port int) string {
	var b strings.Builder
	for v := 0; v*10 < n; v++ {
		fmt.Fprintf(&b, "virtual_server 10.3.%d.%d 80 {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n", v/250, v%250+1)
		for i := v * 10; i < min(n, v*10+10); i++ {
			fmt.Fprintf(&b, "  real_server 127.3.%d.%d %d {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n", i/250, i%250+1, port)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// hcMemLive runs the daemon with n TCP_CHECKs for d (every check has run)
// and returns its live heap after a collection, and the heap allocated
// in the last second (the steady state's garbage).
func hcMemLive(tb testing.TB, n, port int, d time.Duration) (live, garbage uint64) {
	backlogListeners(tb, n, port)
	file := filepath.Join(tb.TempDir(), "keepalived.conf")
	if err := os.WriteFile(file, []byte(hcMemConf(n, port)), 0o644); err != nil {
		tb.Fatal(err)
	}
	fk := &fakeKernel{Kernel: &ipvstest.Kernel{}}
	dm, ds, err := Load(file, conf.Options{}, Options{openIPVS: func() (ipvsKernel, error) { return fk, nil }, ConfigFile: file})
	if err != nil || ds.HasErrors() {
		tb.Fatal(ds, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dm.Run(ctx) }()
	time.Sleep(d)
	// The smallest of three one-second windows: a collection inside a window
	// empties the event loop's pools (sync.Pool drops its items over two
	// cycles), and the refill, a one-off, would count as the steady state's.
	garbage = math.MaxUint64
	for range 3 {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		time.Sleep(time.Second)
		runtime.ReadMemStats(&m1)
		garbage = min(garbage, m1.TotalAlloc-m0.TotalAlloc)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	cancel()
	if err := <-done; err != nil {
		tb.Fatal(err)
	}
	runtime.KeepAlive(dm)
	return ms.HeapAlloc, garbage
}

// TestHealthCheckMemory: the daemon's memory per TCP_CHECK, as
// integration/bench/healthcheck.sh measures it (growth from 100 to 1,000
// real servers at delay_loop 1, so the fixed part cancels out), in process
// on the in-memory kernel: the live heap a check keeps (2,214 bytes, 2,345
// before the checker's kept sockaddr and the Scheduler's entry shrank; the
// in-memory kernel's table is ~300 of it) and the garbage a check makes in
// the steady state (0-80 bytes a second, the runtime's and the daemon's
// own; 541 before the event loop's jobs and probes were reused, garbage
// that made the heap grow to twice the live data between the collector's
// cycles). Generous bounds; not timed.
func TestHealthCheckMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 1,100 checks for 12 s")
	}
	live1, garb1 := hcMemLive(t, 100, 18183, 3*time.Second)
	live2, garb2 := hcMemLive(t, 1000, 18184, 3*time.Second)
	perLive := (float64(live2) - float64(live1)) / 900
	perGarbage := (float64(garb2) - float64(garb1)) / 900 // bytes a check a second (delay_loop 1)
	t.Logf("live heap %d -> %d: %.0f bytes a check; garbage a second %d -> %d: %.1f bytes a check", live1, live2, perLive, garb1, garb2, perGarbage)
	if perLive > 2400 {
		t.Errorf("live heap %.0f bytes a check, want < 2400", perLive)
	}
	if perGarbage > 100 {
		t.Errorf("steady state: %.0f bytes of garbage a check, want < 100", perGarbage)
	}
}

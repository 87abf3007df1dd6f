package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/ipvs/ipvstest"
)

// The start's apply and each reload's return freed memory to the system
// (Release), whatever the table's size: a two-service table here.
func TestReleaseAfterStartAndReload(t *testing.T) {
	released := make(chan struct{}, 4)
	fk := &fakeKernel{Kernel: &ipvstest.Kernel{}}
	l := newLVS(testPlan(t, twoServices), lvsOptions{
		Open:    func() (ipvsKernel, error) { return fk, nil },
		Release: func() { released <- struct{}{} },
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	<-l.ready
	if n := len(released); n != 1 {
		t.Fatalf("after the start's apply: %d releases, want 1", n)
	}
	if _, err := l.commit(ctx, testPlan(t, strings.Replace(twoServices, "weight 2", "weight 7", 1))); err != nil {
		t.Fatal(err)
	}
	<-released
	<-released // the reload's; the test's deadline fails it if none comes
}

// A reload runs with GOGC lowered to reloadGCPercent and restores it after;
// a process already running with a lower GOGC, or none, keeps it.
func TestReloadTightensGC(t *testing.T) {
	for _, tc := range []struct {
		name      string
		gogc      int
		wantCalls []int
	}{
		{"default", 100, []int{reloadGCPercent, 100}},
		{"lower", 10, []int{reloadGCPercent, 10}},
		{"off", -1, []int{reloadGCPercent, -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := tc.gogc
			var calls []int
			d, err := NewWithOptions(loadConf(t, twoServices), Options{setGCPercent: func(p int) int {
				calls = append(calls, p)
				prev := cur
				cur = p
				return prev
			}})
			if err != nil {
				t.Fatal(err)
			}
			calls = nil
			restore := d.tightenGC()
			during := cur
			restore()
			if !slices.Equal(calls, tc.wantCalls) || cur != tc.gogc {
				t.Errorf("SetGCPercent calls %v, GOGC after %d; want %v, %d", calls, cur, tc.wantCalls, tc.gogc)
			}
			want := reloadGCPercent
			if tc.gogc <= reloadGCPercent {
				want = tc.gogc
			}
			if during != want {
				t.Errorf("GOGC during the reload %d, want %d", during, want)
			}
			// Reload and ReloadFile go through it (not running: ErrNotRunning).
			calls = nil
			if err := d.Reload(context.Background(), loadConf(t, twoServices)); !errors.Is(err, ErrNotRunning) {
				t.Fatalf("Reload: %v", err)
			}
			_ = d.ReloadFile(context.Background(), filepath.Join(t.TempDir(), "missing.conf"), conf.Options{})
			if want := append(slices.Clone(tc.wantCalls), tc.wantCalls...); !slices.Equal(calls, want) {
				t.Errorf("Reload, ReloadFile: SetGCPercent calls %v, want %v", calls, want)
			}
		})
	}
}

// fakePacer records what the daemon asks of its GC pacer.
type fakePacer struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakePacer) Pace() { f.add("pace") }
func (f *fakePacer) SetGCPercent(p int) int {
	f.add(fmt.Sprint(p))
	return 100
}

func (f *fakePacer) add(c string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *fakePacer) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

var _ GCPacer = (*fakePacer)(nil)

// With Options.GC the daemon paces the collector once the start's apply is
// in (not before: the start's heap grows fast), and a reload tightens GOGC
// through the pacer and paces again after its apply.
func TestDaemonPacesGC(t *testing.T) {
	gc := &fakePacer{}
	applied := make(chan struct{})
	td := newTestDaemon(t, reloadSrc("100", "2", ""), true, true, func(o *Options) {
		open := o.openIPVS
		o.openIPVS = func() (ipvsKernel, error) {
			if got := gc.seen(); len(got) != 0 {
				t.Errorf("before the start's apply: %v", got)
			}
			close(applied)
			return open()
		}
		o.GC = gc
	})
	td.start(t)
	td.notify.expect(t, "READY")
	<-applied
	waitFor(t, "paced after the start", func() bool { return slices.Equal(gc.seen(), []string{"pace"}) })

	if err := os.WriteFile(td.file, []byte(reloadSrc("100", "7", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	td.signals <- syscall.SIGHUP
	td.notify.expect(t, "RELOADING", "READY")
	// After the start's pace: the reload's GOGC, then its release's pace
	// and its restore's 100, in either order (both pace).
	waitFor(t, "the reload's GOGC, then paced", func() bool {
		got := gc.seen()
		return len(got) == 4 && got[1] == fmt.Sprint(reloadGCPercent) &&
			slices.Contains(got[2:], "pace") && slices.Contains(got[2:], "100")
	})
}

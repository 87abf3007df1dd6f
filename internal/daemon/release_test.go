package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
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

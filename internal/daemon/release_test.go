package daemon

import (
	"context"
	"strings"
	"testing"

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

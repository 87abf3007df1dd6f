package netns

import (
	"errors"
	"runtime"
	"testing"

	"github.com/vishvananda/netns"
)

// current returns the identity of the calling goroutine's thread namespace.
func current(t *testing.T) string {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	return h.UniqueId()
}

func TestDo(t *testing.T) {
	ns := New(t)
	outside := current(t)
	var inside string
	if err := ns.Do(func() error { inside = current(t); return nil }); err != nil {
		t.Fatal(err)
	}
	if inside == outside || inside != ns.Handle().UniqueId() {
		t.Errorf("Do ran in %s, want %s (outside %s)", inside, ns.Handle().UniqueId(), outside)
	}

	errF := errors.New("from f")
	if err := ns.Do(func() error { return errF }); !errors.Is(err, errF) {
		t.Errorf("Do = %v, want f's error", err)
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want f's panic", r)
			}
		}()
		ns.Do(func() error { panic("boom") })
	}()

	ns.Close()
	ran := false
	if err := ns.Do(func() error { ran = true; return nil }); err == nil || ran {
		t.Errorf("Do on a closed namespace: err %v, f ran %v", err, ran)
	}
	for range 2 * runtime.GOMAXPROCS(0) { // every thread the runtime may reuse
		if got := current(t); got != outside {
			t.Fatalf("after Do: thread in %s, want %s", got, outside)
		}
	}
}

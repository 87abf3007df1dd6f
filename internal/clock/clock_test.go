package clock

import (
	"context"
	"testing"
	"time"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func recv(c <-chan time.Time) (time.Time, bool) {
	select {
	case v := <-c:
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestFakeFiresInOrder(t *testing.T) {
	f := NewFake(t0)
	a := f.NewTimer(3 * time.Second)
	b := f.NewTimer(1 * time.Second)
	c := f.After(2 * time.Second)
	if f.Pending() != 3 {
		t.Fatalf("pending = %d, want 3", f.Pending())
	}
	f.Advance(999 * time.Millisecond)
	for _, ch := range []<-chan time.Time{a.C(), b.C(), c} {
		if _, ok := recv(ch); ok {
			t.Fatal("timer fired early")
		}
	}
	f.Advance(time.Millisecond)
	if v, ok := recv(b.C()); !ok || !v.Equal(t0.Add(time.Second)) {
		t.Fatalf("b: got %v %v", v, ok)
	}
	f.Advance(5 * time.Second)
	if v, ok := recv(c); !ok || !v.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("c: got %v %v", v, ok)
	}
	if v, ok := recv(a.C()); !ok || !v.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("a: got %v %v", v, ok)
	}
	if got := f.Now(); !got.Equal(t0.Add(6 * time.Second)) {
		t.Fatalf("now = %v", got)
	}
	if f.Pending() != 0 {
		t.Fatalf("pending = %d", f.Pending())
	}
}

func TestFakeStopReset(t *testing.T) {
	f := NewFake(t0)
	tm := f.NewTimer(time.Second)
	if !tm.Stop() {
		t.Fatal("Stop of armed timer returned false")
	}
	if tm.Stop() {
		t.Fatal("second Stop returned true")
	}
	f.Advance(2 * time.Second)
	if _, ok := recv(tm.C()); ok {
		t.Fatal("stopped timer fired")
	}
	if tm.Reset(time.Second) {
		t.Fatal("Reset of stopped timer returned true")
	}
	f.Advance(time.Second)
	if v, ok := recv(tm.C()); !ok || !v.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("reset timer: %v %v", v, ok)
	}
	// Zero/negative durations fire at once.
	if _, ok := recv(f.After(0)); !ok {
		t.Fatal("After(0) did not fire immediately")
	}
	// Set never goes backwards.
	f.Set(t0)
	if !f.Now().Equal(t0.Add(3 * time.Second)) {
		t.Fatal("Set moved the clock backwards")
	}
}

func TestFakeBlockUntil(t *testing.T) {
	f := NewFake(t0)
	done := make(chan time.Time)
	go func() { done <- <-f.After(time.Minute) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if d, ok := f.NextDeadline(); !ok || !d.Equal(t0.Add(time.Minute)) {
		t.Fatalf("NextDeadline = %v %v", d, ok)
	}
	f.Advance(time.Minute)
	if v := <-done; !v.Equal(t0.Add(time.Minute)) {
		t.Fatalf("got %v", v)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := f.BlockUntil(ctx2, 5); err == nil {
		t.Fatal("BlockUntil with cancelled ctx returned nil")
	}
}

func TestReal(t *testing.T) {
	var c Clock = OrReal(nil)
	if c.Now().IsZero() {
		t.Fatal("zero time")
	}
	tm := c.NewTimer(time.Hour)
	if !tm.Stop() {
		t.Fatal("Stop returned false")
	}
	<-c.After(0)
}

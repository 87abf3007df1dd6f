package vmlab

import (
	"testing"
	"time"
)

func TestStall(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	s := FlowState{Echoes: []time.Time{at(0), at(3000), at(8000), at(8100), at(8500)}}
	// From one second before 8000 on: gaps 5000 (3000->8000), 100, 400, and
	// the trailing 500 up to 9000.
	if got := s.Stall(at(8000), at(9000)); got != 5*time.Second {
		t.Errorf("Stall = %v, want 5s", got)
	}
	// The trailing gap counts when it is the longest.
	if got := s.Stall(at(8200), at(20000)); got != 11500*time.Millisecond {
		t.Errorf("Stall = %v, want 11.5s", got)
	}
	if !s.EchoedAfter(at(8400)) || s.EchoedAfter(at(8500)) {
		t.Error("EchoedAfter wrong at the last echo")
	}
	if got := (FlowState{}).Stall(at(0), at(1000)); got != 0 {
		t.Errorf("Stall without echoes = %v, want 0", got)
	}
}

func TestPercentiles(t *testing.T) {
	if a, b, c := Percentiles(nil); a != 0 || b != 0 || c != 0 {
		t.Errorf("Percentiles(nil) = %v %v %v", a, b, c)
	}
	var ds []time.Duration
	for i := 200; i >= 1; i-- {
		ds = append(ds, time.Duration(i))
	}
	if a, b, c := Percentiles(ds); a != 100 || b != 198 || c != 200 {
		t.Errorf("Percentiles(1..200) = %v %v %v, want 100 198 200", a, b, c)
	}
	if ds[0] != 200 {
		t.Error("Percentiles sorted its argument")
	}
	if a, b, c := Percentiles([]time.Duration{7}); a != 7 || b != 7 || c != 7 {
		t.Errorf("Percentiles([7]) = %v %v %v", a, b, c)
	}
}

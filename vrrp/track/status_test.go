package track

import "testing"

func st(state State, weight int, reverse bool) Status {
	return Status{Kind: KindScript, Name: "s", State: state, Weight: weight, Reverse: reverse}
}

func TestStatusDeltaFault(t *testing.T) {
	tests := []struct {
		s     Status
		delta int
		fault bool
	}{
		{st(StateOK, 0, false), 0, false},
		{st(StateFail, 0, false), 0, true},
		{st(StateInit, 0, false), 0, false},
		{st(StateOK, 0, true), 0, true}, // weight 0 reverse: down while the tracker is up
		{st(StateFail, 0, true), 0, false},
		{st(StateInit, 0, true), 0, false},
		{st(StateOK, 10, false), 10, false},
		{st(StateFail, 10, false), 0, false},
		{st(StateInit, 10, false), 0, false},
		{st(StateOK, -10, false), 0, false},
		{st(StateFail, -10, false), -10, false},
		{st(StateInit, -10, false), 0, false},
		{st(StateOK, 10, true), -10, false},
		{st(StateFail, 10, true), 0, false},
		{st(StateOK, -10, true), 0, false},
		{st(StateFail, -10, true), 10, false},
	}
	for _, tt := range tests {
		if d, f := tt.s.Delta(), tt.s.Fault(); d != tt.delta || f != tt.fault {
			t.Errorf("%v: Delta %d Fault %v, want %d %v", tt.s, d, f, tt.delta, tt.fault)
		}
	}
}

func TestEffective(t *testing.T) {
	tests := []struct {
		name     string
		base     int
		trackers []Status
		prio     int
		fault    bool
	}{
		{"no trackers", 100, nil, 100, false},
		{"no trackers 254", 254, nil, 254, false},
		{"no trackers 1", 1, nil, 1, false},
		{"owner no trackers", 255, nil, 255, false},
		{"positive weight ok", 100, []Status{st(StateOK, 20, false)}, 120, false},
		{"positive weight fail", 100, []Status{st(StateFail, 20, false)}, 100, false},
		{"negative weight ok", 100, []Status{st(StateOK, -20, false)}, 100, false},
		{"negative weight fail", 100, []Status{st(StateFail, -20, false)}, 80, false},
		{"sum", 100, []Status{st(StateOK, 5, false), st(StateOK, 7, false), st(StateFail, -30, false)}, 82, false},
		{"clamp high", 250, []Status{st(StateOK, 10, false)}, 254, false},
		{"clamp high from 254", 254, []Status{st(StateOK, 253, false)}, 254, false},
		{"clamp low", 10, []Status{st(StateFail, -50, false)}, 1, false},
		{"clamp low many", 200, []Status{st(StateFail, -253, false), st(StateFail, -253, false)}, 1, false},
		{"unweighted fail faults", 100, []Status{st(StateOK, 10, false), st(StateFail, 0, false)}, 110, true},
		{"unweighted ok", 100, []Status{st(StateOK, 0, false)}, 100, false},
		{"init neutral", 100, []Status{st(StateInit, 0, false), st(StateInit, -10, false), st(StateInit, 10, false)}, 100, false},
		{"reverse weighted", 100, []Status{st(StateOK, 10, true), st(StateFail, -5, true)}, 95, false},
		{"owner ignores weights", 255, []Status{st(StateFail, -50, false), st(StateOK, 10, false)}, 255, false},
		{"owner unweighted fault", 255, []Status{st(StateFail, 0, false)}, 255, true},
		{"base out of range clamps", 0, nil, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prio, fault := Effective(tt.base, tt.trackers...)
			if prio != tt.prio || fault != tt.fault {
				t.Fatalf("Effective(%d, %v) = %d, %v; want %d, %v", tt.base, tt.trackers, prio, fault, tt.prio, tt.fault)
			}
		})
	}
}

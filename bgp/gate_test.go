package bgp

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
)

func TestGate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	a := netip.MustParsePrefix("10.0.0.1/32")
	b := netip.MustParsePrefix("10.0.0.2/32")
	v6 := netip.MustParsePrefix("2001:db8::1/128")
	ok := func(p netip.Prefix) GateInput { return GateInput{p, true, "healthy"} }
	bad := func(p netip.Prefix, r string) GateInput { return GateInput{p, false, r} }
	d := func(p netip.Prefix, r string) Decision { return Decision{p, r} }

	type step struct {
		at       float64
		in       []GateInput
		announce []Decision
		withdraw []Decision
		next     float64 // -1: zero
	}
	tests := []struct {
		name  string
		delay time.Duration
		steps []step
	}{
		{"announced after the delay", 2 * time.Second, []step{
			{0, []GateInput{ok(a)}, nil, nil, 2},
			{1, []GateInput{ok(a)}, nil, nil, 2},
			{2, []GateInput{ok(a)}, []Decision{d(a, "healthy")}, nil, -1},
			{5, []GateInput{ok(a)}, nil, nil, -1}, // no repeat
		}},
		{"late step announces at once", 2 * time.Second, []step{
			{0, []GateInput{ok(a)}, nil, nil, 2},
			{10, []GateInput{ok(a)}, []Decision{d(a, "healthy")}, nil, -1},
		}},
		{"zero delay", 0, []step{
			{0, []GateInput{ok(a), ok(b)}, []Decision{d(a, "healthy"), d(b, "healthy")}, nil, -1},
		}},
		{"interruption restarts the delay", 2 * time.Second, []step{
			{0, []GateInput{ok(a)}, nil, nil, 2},
			{1.5, []GateInput{bad(a, "0 of 2 healthy")}, nil, nil, -1},
			{1.8, []GateInput{ok(a)}, nil, nil, 3.8},
			{2, []GateInput{ok(a)}, nil, nil, 3.8},
			{3.8, []GateInput{ok(a)}, []Decision{d(a, "healthy")}, nil, -1},
		}},
		{"withdrawn at once when not eligible", 2 * time.Second, []step{
			{0, []GateInput{ok(a)}, nil, nil, 2},
			{2, []GateInput{ok(a)}, []Decision{d(a, "healthy")}, nil, -1},
			{3, []GateInput{bad(a, "0 of 2 healthy")}, nil, []Decision{d(a, "0 of 2 healthy")}, -1},
			{4, []GateInput{bad(a, "0 of 2 healthy")}, nil, nil, -1}, // no repeat
			{5, []GateInput{ok(a)}, nil, nil, 7},
			{7, []GateInput{ok(a)}, []Decision{d(a, "healthy")}, nil, -1},
		}},
		{"withdrawn when absent; forgotten", time.Second, []step{
			{0, []GateInput{ok(a), ok(b)}, nil, nil, 1},
			{1, []GateInput{ok(a), ok(b)}, []Decision{d(a, "healthy"), d(b, "healthy")}, nil, -1},
			{2, []GateInput{ok(b)}, nil, []Decision{d(a, "not configured")}, -1},
			{3, []GateInput{ok(a), ok(b)}, nil, nil, 4}, // back: a new delay
			{4, []GateInput{ok(a), ok(b)}, []Decision{d(a, "healthy")}, nil, -1},
			{5, nil, nil, []Decision{d(a, "not configured"), d(b, "not configured")}, -1},
		}},
		{"absent and never announced: nothing", time.Second, []step{
			{0, []GateInput{ok(a)}, nil, nil, 1},
			{0.5, nil, nil, nil, -1},
		}},
		{"next is the earliest pending", 2 * time.Second, []step{
			{0, []GateInput{ok(a)}, nil, nil, 2},
			{1, []GateInput{ok(a), ok(b)}, nil, nil, 2},
			{2, []GateInput{ok(a), ok(b)}, []Decision{d(a, "healthy")}, nil, 3},
			{3, []GateInput{ok(a), ok(b)}, []Decision{d(b, "healthy")}, nil, -1},
		}},
		{"duplicates: every entry must be eligible", time.Second, []step{
			{0, []GateInput{ok(a), bad(a, "vs 2: 0 of 1 healthy")}, nil, nil, -1},
			{1, []GateInput{ok(a), ok(a)}, nil, nil, 2},
			{2, []GateInput{ok(a), ok(a)}, []Decision{d(a, "healthy")}, nil, -1},
			{3, []GateInput{bad(a, "first"), bad(a, "second")}, nil, []Decision{d(a, "first")}, -1},
		}},
		{"IPv6 sorted after IPv4", 0, []step{
			{0, []GateInput{ok(v6), ok(a)}, []Decision{d(a, "healthy"), d(v6, "healthy")}, nil, -1},
			{1, []GateInput{bad(v6, "x"), bad(a, "y")}, nil, []Decision{d(a, "y"), d(v6, "x")}, -1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGate(tt.delay)
			for i, s := range tt.steps {
				ann, wd, next := g.Step(at(s.at), s.in)
				var want time.Time
				if s.next >= 0 {
					want = at(s.next)
				}
				if !reflect.DeepEqual(ann, s.announce) || !reflect.DeepEqual(wd, s.withdraw) || !next.Equal(want) {
					t.Fatalf("step %d (t=%gs): got announce %v withdraw %v next %v; want %v %v %v",
						i, s.at, ann, wd, next, s.announce, s.withdraw, want)
				}
			}
		})
	}
}

func TestGateAnnounced(t *testing.T) {
	p := netip.MustParsePrefix("10.0.0.1/32")
	g := NewGate(0)
	if g.Announced(p) {
		t.Fatal("announced before any step")
	}
	g.Step(time.Unix(0, 0), []GateInput{{p, true, ""}})
	if !g.Announced(p) {
		t.Fatal("not announced after an eligible step with delay 0")
	}
}

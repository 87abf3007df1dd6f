package track

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/clock"
	"github.com/lvs-ha/lvs-ha/internal/script"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// seq runs results ("+" success, "-" failure) through a tracker and returns the
// state after each, as a string of I/O/F.
func seq(t *testing.T, cfg ScriptConfig, results string) string {
	t.Helper()
	tr, err := NewScriptTracker(cfg, t0)
	if err != nil {
		t.Fatal(err)
	}
	letter := map[State]byte{StateInit: 'I', StateOK: 'O', StateFail: 'F'}
	out := []byte{letter[tr.State()]}
	for i, r := range results {
		before := tr.State()
		changed := tr.Result(t0.Add(time.Duration(i)*time.Second), r == '+')
		if changed != (tr.State() != before) {
			t.Fatalf("changed=%v but state %v -> %v", changed, before, tr.State())
		}
		out = append(out, letter[tr.State()])
	}
	return string(out)
}

func TestScriptRiseFall(t *testing.T) {
	tests := []struct {
		name    string
		cfg     ScriptConfig
		results string
		want    string // initial state then state after each result
	}{
		{"defaults first success", ScriptConfig{}, "+", "IO"},
		{"defaults first failure", ScriptConfig{}, "-", "IF"},
		{"defaults flap", ScriptConfig{}, "+-+-", "IOFOF"},
		// Init: the first result decides regardless of rise/fall.
		{"init success rise 3", ScriptConfig{Rise: 3, Fall: 3}, "+", "IO"},
		{"init failure rise 3", ScriptConfig{Rise: 3, Fall: 3}, "-", "IF"},
		{"fall 3", ScriptConfig{Rise: 2, Fall: 3}, "+---", "IOOOF"},
		{"fall needs consecutive", ScriptConfig{Rise: 2, Fall: 3}, "+--+---", "IOOOOOOF"},
		{"rise 2 after fail", ScriptConfig{Rise: 2, Fall: 3}, "-++", "IFFO"},
		{"rise needs consecutive", ScriptConfig{Rise: 3, Fall: 1}, "-++-+++", "IFFFFFFO"},
		{"init_fail", ScriptConfig{InitFail: true}, "+", "FO"},
		{"init_fail rise 3", ScriptConfig{InitFail: true, Rise: 3}, "+++", "FFFO"},
		{"init_fail first failure no change", ScriptConfig{InitFail: true, Rise: 2}, "-++", "FFFO"},
		{"steady ok", ScriptConfig{Rise: 2, Fall: 2}, "++++", "IOOOO"},
		{"steady fail", ScriptConfig{Rise: 2, Fall: 2}, "----", "IFFFF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := seq(t, tt.cfg, tt.results); got != tt.want {
				t.Fatalf("results %q: states %s, want %s", tt.results, got, tt.want)
			}
		})
	}
}

func TestScriptConfigDefaultsAndValidation(t *testing.T) {
	tr, err := NewScriptTracker(ScriptConfig{Name: "chk"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	c := tr.Config()
	if c.Interval != time.Second || c.Timeout != time.Second || c.Rise != 1 || c.Fall != 1 || tr.Timeout() != time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	tr, _ = NewScriptTracker(ScriptConfig{Interval: 5 * time.Second}, t0)
	if tr.Timeout() != 5*time.Second {
		t.Fatalf("timeout defaults to interval: %v", tr.Timeout())
	}
	for _, bad := range []ScriptConfig{
		{Name: "w", Weight: 254},
		{Name: "w", Weight: -254},
		{Name: "r", Rise: -1},
		{Name: "i", Interval: -time.Second},
	} {
		if _, err := NewScriptTracker(bad, t0); err == nil || !strings.Contains(err.Error(), `"`+bad.Name+`"`) {
			t.Errorf("%+v: err = %v, want error naming the script", bad, err)
		}
	}
	st := tr.Status()
	if st.Kind != KindScript || st.State != StateInit {
		t.Fatalf("status %v", st)
	}
}

func TestScriptScheduling(t *testing.T) {
	tr, _ := NewScriptTracker(ScriptConfig{Interval: 2 * time.Second}, t0)
	if !tr.Due(t0) || !tr.NextDeadline().Equal(t0) {
		t.Fatal("first run is not due at creation")
	}
	tr.Start(t0)
	if tr.Due(t0.Add(5*time.Second)) || !tr.Running() {
		t.Fatal("due while running")
	}
	tr.Result(t0.Add(500*time.Millisecond), true)
	if tr.Due(t0.Add(1999*time.Millisecond)) || !tr.Due(t0.Add(2*time.Second)) {
		t.Fatalf("next deadline %v, want t0+2s", tr.NextDeadline())
	}
	// A run overrunning two ticks: the next run is on the first tick not before its end.
	tr.Start(t0.Add(2 * time.Second))
	tr.Result(t0.Add(7*time.Second), false)
	if want := t0.Add(8 * time.Second); !tr.NextDeadline().Equal(want) {
		t.Fatalf("after overrun next = %v, want %v", tr.NextDeadline(), want)
	}
	// Ending exactly on a tick runs at once.
	tr.Start(t0.Add(8 * time.Second))
	tr.Result(t0.Add(12*time.Second), false)
	if !tr.Due(t0.Add(12 * time.Second)) {
		t.Fatalf("next = %v, want due at t0+12s", tr.NextDeadline())
	}
}

// fakeRunner reports outcomes from a script of results and records when it ran.
type fakeRunner struct {
	clk     *clock.Fake
	results []bool
	runs    []time.Time
	took    time.Duration // simulated run time
}

func (f *fakeRunner) run(ctx context.Context) bool {
	f.runs = append(f.runs, f.clk.Now())
	if f.took > 0 {
		f.clk.Advance(f.took)
	}
	if len(f.runs) > len(f.results) {
		return f.results[len(f.results)-1]
	}
	return f.results[len(f.runs)-1]
}

func TestScriptRunLoop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fc := clock.NewFake(t0)
	tr, _ := NewScriptTracker(ScriptConfig{Name: "chk", Interval: 3 * time.Second, Rise: 2, Fall: 2, Weight: -10}, t0)
	fr := &fakeRunner{clk: fc, results: []bool{true, false, false, true, true}, took: 100 * time.Millisecond}
	changes := make(chan Status, 16)
	runCtx, stop := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- tr.Run(runCtx, fc, fr.run, func(s Status) { changes <- s }) }()

	expect := func(state State) {
		t.Helper()
		select {
		case s := <-changes:
			if s.State != state || s.Name != "chk" || s.Weight != -10 {
				t.Fatalf("change %v, want %v", s, state)
			}
		case <-ctx.Done():
			t.Fatal("no state change")
		}
	}
	tick := func() {
		t.Helper()
		if err := fc.BlockUntil(ctx, 1); err != nil {
			t.Fatal(err)
		}
		d, _ := fc.NextDeadline()
		fc.Set(d)
	}
	expect(StateOK) // run 1 at t0: success decides
	tick()          // run 2: failure 1 of 2
	tick()          // run 3: failure 2 of 2
	expect(StateFail)
	tick() // run 4: success 1 of 2
	tick() // run 5: success 2 of 2
	expect(StateOK)
	if err := fc.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
	want := []time.Duration{0, 3, 6, 9, 12}
	if len(fr.runs) != len(want) {
		t.Fatalf("runs at %v", fr.runs)
	}
	for i, w := range want {
		if got := fr.runs[i].Sub(t0); got != w*time.Second {
			t.Errorf("run %d at %v, want %v", i+1, got, w*time.Second)
		}
	}
	select {
	case s := <-changes:
		t.Fatalf("unexpected change %v", s)
	default:
	}
	if err := tr.Run(ctx, fc, nil, nil); err == nil {
		t.Fatal("nil runner accepted")
	}
}

func TestScriptExecRunner(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	flag := filepath.Join(dir, "ok")
	s := filepath.Join(dir, "chk.sh")
	if err := os.WriteFile(s, []byte("#!/bin/sh\n[ -e "+flag+" ]\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tr, _ := NewScriptTracker(ScriptConfig{Name: "chk", Timeout: 10 * time.Second}, t0)
	run := tr.ExecRunner(script.Spec{Argv: []string{s}})
	if run(ctx) {
		t.Fatal("script succeeded without flag file")
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !run(ctx) {
		t.Fatal("script failed with flag file")
	}
}

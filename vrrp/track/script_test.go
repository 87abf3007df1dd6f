package track

import (
	"strings"
	"testing"
	"time"
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

package track

import (
	"testing"
	"time"
)

func cmdline(args ...string) []byte {
	var b []byte
	for _, a := range args {
		b = append(append(b, a...), 0)
	}
	return b
}

func TestProcessMatches(t *testing.T) {
	sleep := ProcInfo{Comm: "sleep", Cmdline: cmdline("sleep", "1000", "x")}
	long := ProcInfo{Comm: "averyveryverylo", Cmdline: cmdline("/usr/bin/averyveryverylongname")}
	for _, c := range []struct {
		cfg  ProcessConfig
		p    ProcInfo
		want bool
	}{
		{ProcessConfig{Process: "sleep"}, sleep, true},
		{ProcessConfig{Process: "slee"}, sleep, false},
		{ProcessConfig{Process: "averyveryverylongname"}, long, true}, // comm is 15 bytes
		{ProcessConfig{Process: "sleep", FullCommand: true}, sleep, true},
		{ProcessConfig{Process: "/bin/sleep", FullCommand: true}, sleep, false},
		{ProcessConfig{Process: "sleep", Params: []string{"1000", "x"}}, sleep, true},
		{ProcessConfig{Process: "sleep", Params: []string{"1000"}}, sleep, false},
		{ProcessConfig{Process: "sleep", Params: []string{"1000"}, ParamMatch: ParamMatchPartial}, sleep, true},
		{ProcessConfig{Process: "sleep", Params: []string{"10"}, ParamMatch: ParamMatchPartial}, sleep, false},
		{ProcessConfig{Process: "sleep", Params: []string{"10"}, ParamMatch: ParamMatchInitial}, sleep, true},
		{ProcessConfig{Process: "sleep", Params: []string{"1000", "y"}, ParamMatch: ParamMatchInitial}, sleep, false},
		{ProcessConfig{Process: "sleep", ParamMatch: ParamMatchExact}, sleep, false}, // no parameters wanted
		{ProcessConfig{Process: "sleep", ParamMatch: ParamMatchExact}, ProcInfo{Comm: "sleep", Cmdline: cmdline("sleep")}, true},
	} {
		if got := c.cfg.Matches(c.p); got != c.want {
			t.Errorf("%+v matches %q: %v, want %v", c.cfg, c.p.Cmdline, got, c.want)
		}
	}
}

// TestProcessTracker: quorum and quorum_max decide OK; a loss waits
// terminate_delay and a gain fork_delay, each cancelled when the count comes
// back; the first observation decides at once.
func TestProcessTracker(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tr, err := NewProcessTracker(ProcessConfig{Name: "p", Process: "x", Quorum: 2, QuorumMax: 3, ForkDelay: time.Second, TerminateDelay: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if tr.State() != StateInit {
		t.Fatal("not init")
	}
	if !tr.Observe(t0, 2) || tr.State() != StateOK {
		t.Fatal("first observation with quorum: want OK at once")
	}
	// Lost for less than terminate_delay: nothing.
	if tr.Observe(t0.Add(time.Second), 1) || tr.State() != StateOK || tr.NextDeadline() != t0.Add(3*time.Second) {
		t.Fatalf("loss: %v deadline %v", tr.State(), tr.NextDeadline())
	}
	if tr.Observe(t0.Add(2*time.Second), 2) || !tr.NextDeadline().IsZero() {
		t.Fatal("quorum back: pending change not cancelled")
	}
	tr.Observe(t0.Add(3*time.Second), 4) // above quorum_max
	if tr.Tick(t0.Add(4*time.Second)) || !tr.Tick(t0.Add(5*time.Second)) || tr.State() != StateFail {
		t.Fatalf("above quorum_max for terminate_delay: %v", tr.State())
	}
	tr.Observe(t0.Add(6*time.Second), 3)
	if tr.State() != StateFail || !tr.Tick(t0.Add(7*time.Second)) || tr.State() != StateOK {
		t.Fatalf("fork_delay: %v", tr.State())
	}

	// Statuses: weight 0 faults while failed, reverse inverts.
	s := tr.Status()
	s.State = StateFail
	if !s.WithWeight(0, false).Fault() || s.WithWeight(0, true).Fault() || s.WithWeight(-20, false).Delta() != -20 {
		t.Errorf("failed status effects")
	}
	s.State = StateOK
	if s.WithWeight(0, false).Fault() || !s.WithWeight(0, true).Fault() || s.WithWeight(20, false).Delta() != 20 {
		t.Errorf("ok status effects")
	}

	// quorum_max 0: OK only without the process; no delays: at once.
	z, _ := NewProcessTracker(ProcessConfig{Name: "z", Process: "x", Quorum: 0, QuorumMax: 0})
	z.Observe(t0, 0)
	if z.State() != StateOK || !z.Observe(t0, 1) || z.State() != StateFail {
		t.Errorf("quorum_max 0: %v", z.State())
	}
	if _, err := NewProcessTracker(ProcessConfig{Name: "b", Process: "x", Quorum: 3, QuorumMax: 2}); err == nil {
		t.Error("quorum above quorum_max accepted")
	}
}

package track

import (
	"fmt"
	"time"
)

// DefaultInterval is keepalived's default vrrp_script interval.
const DefaultInterval = time.Second

// ScriptConfig is one vrrp_script block.
type ScriptConfig struct {
	Name string
	// Interval between runs (measured start to start); 0 means DefaultInterval.
	Interval time.Duration
	// Timeout after which a run counts as failed; 0 means Interval (keepalived).
	Timeout time.Duration
	// Rise successes in a row turn a failed script OK; Fall failures in a row turn
	// an OK script failed. 0 means 1.
	Rise, Fall int
	// Weight is the script's default weight (-253..253); track_script may override
	// it per instance with Status.WithWeight.
	Weight  int
	Reverse bool
	// InitFail starts the script in StateFail (needing Rise successes) instead of
	// StateInit (where the first result decides).
	InitFail bool
}

// ScriptTracker is the state of one vrrp_script: when it is due, and the rise/fall
// counter deciding OK/failed. It mirrors keepalived's vscript->result counter, which
// runs from 0 to Rise+Fall-1 with values >= Rise meaning OK:
//
//   - a script starts in StateInit with the counter at Rise-1, so its first result,
//     success or failure, decides; with InitFail it starts failed at 0;
//   - a success while failed counts up and turns OK on the Rise-th in a row; a success
//     while OK resets the counter to the top, so failures must again be consecutive;
//   - a failure while OK counts down and turns failed on the Fall-th in a row; a failure
//     while failed resets the count of successes to 0.
type ScriptTracker struct {
	cfg     ScriptConfig
	result  int
	init    bool // no result yet, and not InitFail
	running bool
	next    time.Time
}

// NewScriptTracker validates cfg, applies defaults and returns a tracker whose first
// run is due at now (keepalived runs tracking scripts at startup).
func NewScriptTracker(cfg ScriptConfig, now time.Time) (*ScriptTracker, error) {
	if cfg.Interval < 0 || cfg.Timeout < 0 || cfg.Rise < 0 || cfg.Fall < 0 {
		return nil, fmt.Errorf("vrrp_script %q: negative interval, timeout, rise or fall", cfg.Name)
	}
	if err := checkWeight("vrrp_script", cfg.Name, cfg.Weight); err != nil {
		return nil, err
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = cfg.Interval
	}
	if cfg.Rise == 0 {
		cfg.Rise = 1
	}
	if cfg.Fall == 0 {
		cfg.Fall = 1
	}
	t := &ScriptTracker{cfg: cfg, next: now}
	if cfg.InitFail {
		t.result = 0
	} else {
		t.init = true
		t.result = cfg.Rise - 1
	}
	return t, nil
}

// Config returns the configuration with defaults applied.
func (t *ScriptTracker) Config() ScriptConfig { return t.cfg }

// Timeout is how long a run may take before it counts as failed.
func (t *ScriptTracker) Timeout() time.Duration { return t.cfg.Timeout }

// Due reports whether a run should start at now: the interval has elapsed and no run
// is in progress (keepalived skips a tick while the script is still running).
func (t *ScriptTracker) Due(now time.Time) bool {
	return !t.running && !now.Before(t.next)
}

// Start records that a run starts at now and schedules the next one Interval later.
func (t *ScriptTracker) Start(now time.Time) {
	t.running = true
	t.next = now.Add(t.cfg.Interval)
}

// Running reports whether a run is in progress.
func (t *ScriptTracker) Running() bool { return t.running }

// NextDeadline is when the next run is due (in the past if it is overdue).
func (t *ScriptTracker) NextDeadline() time.Time { return t.next }

// Result records a run's outcome at now (ok: exit status 0; a timeout or a signal is a
// failure) and reports whether State changed. If the run overran ticks, the next run
// moves to the first tick not before now.
func (t *ScriptTracker) Result(now time.Time, ok bool) (changed bool) {
	if t.running {
		t.running = false
		for t.next.Before(now) {
			t.next = t.next.Add(t.cfg.Interval)
		}
	}
	before := t.State()
	rise, fall := t.cfg.Rise, t.cfg.Fall
	if ok {
		switch {
		case t.result < rise-1:
			t.result++
		default:
			t.result = rise + fall - 1
		}
	} else {
		switch {
		case t.result > rise:
			t.result--
		default:
			t.result = 0
		}
	}
	t.init = false
	return t.State() != before
}

// State is the current verdict.
func (t *ScriptTracker) State() State {
	switch {
	case t.init:
		return StateInit
	case t.result >= t.cfg.Rise:
		return StateOK
	default:
		return StateFail
	}
}

// Status returns a snapshot with the script's own weight.
func (t *ScriptTracker) Status() Status {
	return Status{Kind: KindScript, Name: t.cfg.Name, State: t.State(), Weight: t.cfg.Weight, Reverse: t.cfg.Reverse}
}

package track

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ParamMatch is track_process's param_match.
type ParamMatch uint8

// Parameter matching modes (keepalived's PARAM_MATCH_*).
const (
	// ParamMatchNone: Params empty, the name is matched alone.
	ParamMatchNone ParamMatch = iota
	// ParamMatchExact: the process's parameters are exactly Params.
	ParamMatchExact
	// ParamMatchPartial: the process's first len(Params) parameters are Params.
	ParamMatchPartial
	// ParamMatchInitial: as partial, except that the process's last matched
	// parameter may be longer than the configured one.
	ParamMatchInitial
)

// ProcessConfig is one vrrp_track_process block.
type ProcessConfig struct {
	Name string
	// Process is matched against /proc/PID/comm (the first 15 bytes), or
	// against argv[0] when FullCommand, Params or a ParamMatch is given.
	Process     string
	Params      []string
	ParamMatch  ParamMatch // ParamMatchNone with Params means exact
	FullCommand bool
	// The tracker is OK while Quorum <= matching processes <= QuorumMax
	// (QuorumMax < 0: no maximum).
	Quorum, QuorumMax int
	// ForkDelay: how long the quorum must hold before OK; TerminateDelay:
	// how long it must be lost before failed (keepalived delay sets both).
	ForkDelay, TerminateDelay time.Duration
}

// Equal reports whether c and o are the same definition.
func (c ProcessConfig) Equal(o ProcessConfig) bool {
	return c.Name == o.Name && c.Process == o.Process && slices.Equal(c.Params, o.Params) &&
		c.ParamMatch == o.ParamMatch && c.FullCommand == o.FullCommand &&
		c.Quorum == o.Quorum && c.QuorumMax == o.QuorumMax &&
		c.ForkDelay == o.ForkDelay && c.TerminateDelay == o.TerminateDelay
}

// Validate checks the configuration.
func (c ProcessConfig) Validate() error {
	switch {
	case c.Name == "":
		return errors.New("track_process: empty name")
	case c.Process == "":
		return fmt.Errorf("track_process %q: no process", c.Name)
	case c.Quorum < 0 || (c.QuorumMax >= 0 && c.QuorumMax < c.Quorum):
		return fmt.Errorf("track_process %q: quorum %d, quorum_max %d", c.Name, c.Quorum, c.QuorumMax)
	case c.ForkDelay < 0 || c.TerminateDelay < 0:
		return fmt.Errorf("track_process %q: negative delay", c.Name)
	}
	return nil
}

// ProcInfo is what a process listing gives for one process.
type ProcInfo struct {
	Comm    string // /proc/PID/comm without the newline
	Cmdline []byte // /proc/PID/cmdline: NUL-terminated arguments
}

// commLen is the kernel's TASK_COMM_LEN - 1.
const commLen = 15

// Matches reports whether p is one of the processes c tracks.
func (c ProcessConfig) Matches(p ProcInfo) bool {
	if !c.FullCommand && len(c.Params) == 0 && c.ParamMatch == ParamMatchNone {
		name := c.Process
		if len(name) > commLen {
			name = name[:commLen]
		}
		return p.Comm == name
	}
	argv0, rest, _ := bytes.Cut(p.Cmdline, []byte{0})
	if string(argv0) != c.Process {
		return false
	}
	if len(c.Params) == 0 && c.ParamMatch == ParamMatchNone {
		return true // full_command without parameters: any parameters
	}
	want := []byte(strings.Join(c.Params, "\x00"))
	if len(c.Params) > 0 {
		want = append(want, 0)
	}
	switch c.ParamMatch {
	case ParamMatchPartial:
		return bytes.HasPrefix(rest, want)
	case ParamMatchInitial:
		return bytes.HasPrefix(rest, bytes.TrimSuffix(want, []byte{0}))
	}
	return bytes.Equal(rest, want)
}

// ProcessTracker is the state of one vrrp_track_process: OK while the number
// of matching processes is within the quorum, with keepalived's fork and
// terminate delays before a change takes effect.
type ProcessTracker struct {
	cfg     ProcessConfig
	count   int
	known   bool
	ok      bool
	pending time.Time // a change to !ok takes effect then; zero: none
}

// NewProcessTracker validates cfg and returns a tracker in StateInit.
func NewProcessTracker(cfg ProcessConfig) (*ProcessTracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &ProcessTracker{cfg: cfg}, nil
}

// Config returns the configuration.
func (t *ProcessTracker) Config() ProcessConfig { return t.cfg }

// Count is the number of matching processes last observed.
func (t *ProcessTracker) Count() int { return t.count }

func (t *ProcessTracker) quorum(n int) bool {
	return n >= t.cfg.Quorum && (t.cfg.QuorumMax < 0 || n <= t.cfg.QuorumMax)
}

// Observe records that count processes match at now and reports whether
// State changed. The first observation decides at once; afterwards a change
// takes effect after ForkDelay (gaining the quorum) or TerminateDelay
// (losing it), and is cancelled if the count comes back in the meantime.
func (t *ProcessTracker) Observe(now time.Time, count int) (changed bool) {
	t.count = count
	q := t.quorum(count)
	if !t.known {
		t.known, t.ok = true, q
		return true
	}
	if q == t.ok {
		t.pending = time.Time{}
		return false
	}
	if t.pending.IsZero() {
		d := t.cfg.TerminateDelay
		if q {
			d = t.cfg.ForkDelay
		}
		t.pending = now.Add(d)
	}
	return t.Tick(now)
}

// Tick applies a pending change whose delay has expired at now.
func (t *ProcessTracker) Tick(now time.Time) (changed bool) {
	if t.pending.IsZero() || now.Before(t.pending) {
		return false
	}
	t.pending = time.Time{}
	t.ok = !t.ok
	return true
}

// NextDeadline is when a pending change takes effect (zero: none).
func (t *ProcessTracker) NextDeadline() time.Time { return t.pending }

// State is the current verdict.
func (t *ProcessTracker) State() State {
	switch {
	case !t.known:
		return StateInit
	case t.ok:
		return StateOK
	}
	return StateFail
}

// Status returns a snapshot; the tracking instance gives the weight with
// WithWeight (keepalived: OK adds a positive weight, failure a negative one,
// weight 0 means FAULT while failed, reverse inverts).
func (t *ProcessTracker) Status() Status {
	return Status{Kind: KindProcess, Name: t.cfg.Name, State: t.State()}
}

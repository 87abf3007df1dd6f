package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/script"
)

// MiscOptions configure a MISC_CHECK.
type MiscOptions struct {
	// Argv is misc_path split into words (script.SplitCommand).
	Argv []string
	// Timeout is misc_timeout; 0 means the checker's delay_loop, which the daemon
	// should fill in (keepalived's default). If still 0, DefaultConnectTimeout.
	Timeout time.Duration
	// Dynamic is misc_dynamic: exit 0 = up at the configured weight, 1 = down,
	// 2..255 = up with weight exit-2.
	Dynamic bool
	// User and Group run the script as `user USERNAME [GROUPNAME]`.
	User, Group string
	// Grace is the delay between SIGTERM and SIGKILL on timeout; 0 = script default.
	Grace time.Duration
}

// MiscChecker is MISC_CHECK.
type MiscChecker struct {
	opts MiscOptions
	run  func(context.Context, script.Spec) script.Result
}

var (
	_ Checker  = (*MiscChecker)(nil)
	_ Definer  = (*MiscChecker)(nil)
	_ Budgeter = (*MiscChecker)(nil)
)

// NewMisc validates opts and returns a MISC_CHECK checker.
func NewMisc(opts MiscOptions) (*MiscChecker, error) {
	if len(opts.Argv) == 0 || opts.Argv[0] == "" {
		return nil, errors.New("MISC_CHECK: misc_path: no command")
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("MISC_CHECK: misc_timeout %v: negative", opts.Timeout)
	}
	return &MiscChecker{opts: opts, run: script.Run}, nil
}

// Definition returns the options.
func (c *MiscChecker) Definition() any { return c.opts }

func (c *MiscChecker) timeout() time.Duration {
	if c.opts.Timeout > 0 {
		return c.opts.Timeout
	}
	return DefaultConnectTimeout
}

// Budget is misc_timeout plus the kill grace period.
func (c *MiscChecker) Budget() time.Duration {
	g := c.opts.Grace
	if g <= 0 {
		g = script.DefaultGrace
	}
	return c.timeout() + g
}

// Check runs the script.
func (c *MiscChecker) Check(ctx context.Context) Result {
	start := time.Now()
	r := c.run(ctx, script.Spec{
		Argv: c.opts.Argv, Timeout: c.timeout(), Grace: c.opts.Grace,
		User: c.opts.User, Group: c.opts.Group,
	})
	return miscResult(ctx, start, c.opts.Dynamic, r)
}

func miscResult(ctx context.Context, start time.Time, dynamic bool, r script.Result) Result {
	switch {
	case r.TimedOut:
		return failResult(start, ReasonTimeout, "script timed out after %v", r.Duration)
	case r.Err != nil:
		return failResult(start, classify(ctx, r.Err), "%v", r.Err)
	case r.Signal != 0:
		return failResult(start, ReasonSignal, "script killed by signal %v", r.Signal)
	case r.ExitCode == 0:
		return okResult(start)
	case dynamic && r.ExitCode >= 2 && r.ExitCode <= 255:
		res := okResult(start)
		w := r.ExitCode - 2
		res.Weight = &w
		res.Detail = fmt.Sprintf("exit status %d: weight %d", r.ExitCode, w)
		return res
	default:
		return failResult(start, ReasonExitCode, "exit status %d", r.ExitCode)
	}
}

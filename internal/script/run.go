package script

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/clock"
)

// DefaultGrace is how long a timed-out script's process group has between SIGTERM and
// SIGKILL (keepalived uses 2 seconds).
const DefaultGrace = 2 * time.Second

// StopNotifyTimeout is how long keepalived lets notify_stop scripts (and the generic
// notify script called with STOP) run before killing them; other notify scripts are
// not waited for.
const StopNotifyTimeout = time.Second

// Spec describes one script execution.
type Spec struct {
	// Argv is the command and its arguments, usually from SplitCommand. Argv[0] is
	// looked up in PATH when it contains no slash. If Argv[0] starts with < or >
	// (keepalived's "</path" file test) the command is run by /bin/sh -c.
	Argv []string
	// Timeout bounds the run; 0 means no timeout. When it expires the process group
	// gets SIGTERM, then SIGKILL after Grace, and the result is TimedOut.
	Timeout time.Duration
	// Grace is the delay between SIGTERM and SIGKILL; 0 means DefaultGrace.
	Grace time.Duration
	// User and Group are keepalived's script_user / "user NAME [GROUP]". Empty User
	// runs as the current process's user. See LookupCredential.
	User, Group string
	// Env is the exact environment; nil means BaseEnv().
	Env []string
	// Dir is the working directory; empty means the current one.
	Dir string
	// Stdout and Stderr receive the script's output; nil means /dev/null.
	Stdout, Stderr io.Writer
	// Clock times Timeout and Grace; nil means the real clock. Duration is always
	// measured with this clock.
	Clock clock.Clock
}

// Result is the outcome of Run.
type Result struct {
	// ExitCode is the exit status, or -1 if the script was killed by a signal or
	// never ran.
	ExitCode int
	// Signal is the signal that killed the script, if any.
	Signal syscall.Signal
	// TimedOut is set when Timeout expired and the script was terminated.
	TimedOut bool
	// Err is set when the script could not be started (bad user, missing file, ...)
	// or when ctx ended before it finished (then it wraps ctx.Err()).
	Err error
	// Duration is the time from start to exit.
	Duration time.Duration
}

// OK reports keepalived's notion of success: the script ran, was not timed out and
// exited with status 0.
func (r Result) OK() bool { return r.Err == nil && !r.TimedOut && r.ExitCode == 0 }

func (r Result) String() string {
	switch {
	case r.Err != nil:
		return "error: " + r.Err.Error()
	case r.TimedOut:
		return fmt.Sprintf("timed out after %v", r.Duration)
	case r.Signal != 0:
		return fmt.Sprintf("killed by signal %v", r.Signal)
	default:
		return fmt.Sprintf("exit status %d", r.ExitCode)
	}
}

// dropEnv are removed from the inherited environment, as keepalived does before exec.
var dropEnv = []string{"IFS", "LD_PRELOAD", "LD_LIBRARY_PATH"}

// BaseEnv returns the environment scripts inherit by default: this process's, minus
// IFS, LD_PRELOAD and LD_LIBRARY_PATH.
func BaseEnv() []string {
	env := os.Environ()
	out := env[:0:0]
next:
	for _, kv := range env {
		for _, d := range dropEnv {
			if strings.HasPrefix(kv, d+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// Run executes spec and waits for it (and, on timeout, for the termination of its
// process group). It never returns before the child has been reaped. The child runs
// directly (no shell, except for a "<" or ">" redirection as argv[0]) in its own
// process group, optionally as another user (script_user / "user NAME [GROUP]"),
// with stdin, stdout and stderr on /dev/null unless writers are given. When the
// timeout expires (or ctx is done) the group gets SIGTERM and, after a grace
// period, SIGKILL; a timed-out script is a failure. Like keepalived, the child has
// PR_SET_PDEATHSIG=SIGTERM so it dies with the daemon.
func Run(ctx context.Context, spec Spec) Result {
	clk := clock.OrReal(spec.Clock)
	start := clk.Now()
	fail := func(err error) Result {
		return Result{ExitCode: -1, Err: err, Duration: clk.Now().Sub(start)}
	}
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return fail(ErrEmptyCommand)
	}
	if err := ctx.Err(); err != nil {
		return fail(fmt.Errorf("script %s: not started: %w", spec.Argv[0], err))
	}
	cred, err := LookupCredential(spec.User, spec.Group)
	if err != nil {
		return fail(err)
	}

	argv := spec.Argv
	if c := argv[0][0]; c == '<' || c == '>' {
		argv = []string{"/bin/sh", "-c", QuoteCommand(argv)}
	}

	// Linux delivers the parent-death signal when the forking *thread* exits; keep it
	// (and only this goroutine on it) alive until the child is gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	cmd := newCmd(spec, argv, cred)
	err = cmd.Start()
	if errors.Is(err, syscall.ENOEXEC) {
		// No #! line: keepalived falls back to system(3), i.e. the shell.
		cmd = newCmd(spec, []string{"/bin/sh", "-c", QuoteCommand(spec.Argv)}, cred)
		err = cmd.Start()
	}
	if err != nil {
		return fail(fmt.Errorf("script %s: %w", spec.Argv[0], err))
	}
	pid := cmd.Process.Pid

	exited := make(chan struct{})
	go func() {
		waitExited(pid)
		close(exited)
	}()

	var timeout <-chan time.Time
	if spec.Timeout > 0 {
		t := clk.NewTimer(spec.Timeout)
		defer t.Stop()
		timeout = t.C()
	}

	var res Result
	select {
	case <-exited:
	case <-timeout:
		res.TimedOut = true
	case <-ctx.Done():
		res.Err = fmt.Errorf("script %s: %w", spec.Argv[0], ctx.Err())
	}
	if res.TimedOut || res.Err != nil {
		killGroup(pid, syscall.SIGTERM)
		grace := spec.Grace
		if grace <= 0 {
			grace = DefaultGrace
		}
		t := clk.NewTimer(grace)
		select {
		case <-exited:
			t.Stop()
		case <-t.C():
			killGroup(pid, syscall.SIGKILL)
			<-exited
		}
		// The leader is a zombie now, so its pid (the group id) cannot be reused:
		// make sure nothing it left behind in its group survives.
		killGroup(pid, syscall.SIGKILL)
	}
	waitErr := cmd.Wait()
	res.Duration = clk.Now().Sub(start)

	res.ExitCode = -1
	if ps := cmd.ProcessState; ps != nil {
		res.ExitCode = ps.ExitCode()
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Signal = ws.Signal()
		}
	}
	var exitErr *exec.ExitError
	if res.Err == nil && waitErr != nil && !errors.As(waitErr, &exitErr) {
		// I/O copying to a non-file writer failed or was cut off by WaitDelay.
		res.Err = fmt.Errorf("script %s: %w", spec.Argv[0], waitErr)
	}
	return res
}

func newCmd(spec Spec, argv []string, cred *syscall.Credential) *exec.Cmd {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = spec.Env
	if cmd.Env == nil {
		cmd.Env = BaseEnv()
	}
	cmd.Dir = spec.Dir
	cmd.Stdout = spec.Stdout
	cmd.Stderr = spec.Stderr
	// A background child holding a pipe to a non-file writer must not block Wait.
	cmd.WaitDelay = DefaultGrace
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGTERM,
		Credential: cred,
	}
	return cmd
}

// waitExited blocks until pid has exited, without reaping it.
func waitExited(pid int) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return
		}
	}
}

func killGroup(pid int, sig syscall.Signal) {
	_ = syscall.Kill(-pid, sig) // ESRCH: the group is already gone
}

package netlab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ErrTimeout is wrapped by the errors of [Proc.Wait], [Proc.WaitLog] and [WaitFor]
// when their deadline passes.
var ErrTimeout = errors.New("timed out")

// Proc is a long-running process started in a node by [Node.Start]. Its stdout and
// stderr go to a log file. It is SIGKILLed (with its process group) at teardown.
type Proc struct {
	Cmd     *exec.Cmd
	node    *Node
	name    string
	logPath string
	done    chan struct{}
	waitErr error // valid once done is closed
}

// Start starts name with args in the node (see [Node.Command]) with output captured
// to a log file, and returns at once.
func (n *Node) Start(name string, args ...string) *Proc {
	n.lab.t.Helper()
	return n.StartCmd(n.Command(name, args...))
}

// StartCmd starts cmd, which should come from [Node.Command] (possibly with Env, Dir
// or Stdin set), as a [Proc]. Unset Stdout and Stderr go to the log file. The process
// gets its own process group and is SIGKILLed if the test binary dies.
func (n *Node) StartCmd(cmd *exec.Cmd) *Proc {
	n.lab.t.Helper()
	p, err := n.startCmd(cmd)
	if err != nil {
		n.lab.t.Fatalf("netlab: %s: start: %v", n.name, err)
	}
	return p
}

func (n *Node) startCmd(cmd *exec.Cmd) (*Proc, error) {
	name := filepath.Base(cmd.Path)
	if len(cmd.Args) >= 4 && cmd.Args[1] == nsexecArg {
		name = filepath.Base(cmd.Args[3])
	}
	l := n.lab
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errors.New("lab is closed")
	}
	key := n.name + "-" + name
	var (
		logPath string
		f       *os.File
		err     error
	)
	// A kept log directory (LVSHA_TEST_LOGDIR) may hold files of earlier runs.
	for range 1000 {
		l.logSeq[key]++
		logPath = filepath.Join(l.logDir, fmt.Sprintf("%s-%d.log", key, l.logSeq[key]))
		f, err = os.OpenFile(logPath, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
		if !errors.Is(err, os.ErrExist) {
			break
		}
	}
	l.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	defer f.Close() // the child has its own copy
	if cmd.Stdout == nil {
		cmd.Stdout = f
	}
	if cmd.Stderr == nil {
		cmd.Stderr = f
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL

	p := &Proc{Cmd: cmd, node: n, name: name, logPath: logPath, done: make(chan struct{})}
	// Register before starting so that teardown racing with us cannot miss it.
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errors.New("lab is closed")
	}
	l.procs = append(l.procs, p)
	onSpawner(func() { err = cmd.Start() })
	l.mu.Unlock()
	if err != nil {
		p.waitErr = err
		close(p.done)
		return nil, err
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Name returns the program's base name.
func (p *Proc) Name() string { return p.name }

// Pid returns the process ID.
func (p *Proc) Pid() int {
	if p.Cmd.Process == nil {
		return 0
	}
	return p.Cmd.Process.Pid
}

// LogPath returns the file holding the process's stdout and stderr.
func (p *Proc) LogPath() string { return p.logPath }

// Log returns the log so far (empty if it cannot be read).
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// LogTail returns the last n bytes or so of the log, from a line start, for
// failure messages.
func (p *Proc) LogTail(n int) string { return tail(p.Log(), n) }

// Done is closed once the process has exited and been reaped.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error {
	select {
	case <-p.done:
		return fmt.Errorf("%s: %w", p.name, os.ErrProcessDone)
	default:
	}
	return p.Cmd.Process.Signal(sig)
}

// Wait waits up to timeout for the process to exit. It returns nil for exit status 0,
// an *exec.ExitError for another status or a signal, and an error wrapping
// [ErrTimeout] (with the log tail) if the process is still running.
func (p *Proc) Wait(timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.waitErr
	case <-t.C:
		return fmt.Errorf("%w: %s still running after %v; log:\n%s", ErrTimeout, p.name, timeout, tail(p.Log(), 2048))
	}
}

// WaitLog polls the log until a line contains substr. It fails early if the process
// exits first, and with an error wrapping [ErrTimeout] after timeout; both errors
// carry the log tail.
func (p *Proc) WaitLog(substr string, timeout time.Duration) error {
	return WaitFor(timeout, func() (bool, error) {
		log := p.Log()
		for line := range strings.Lines(log) {
			if strings.Contains(line, substr) {
				return true, nil
			}
		}
		select {
		case <-p.done:
			return false, fmt.Errorf("%s exited (%v) before logging %q; log:\n%s", p.name, p.waitErr, substr, tail(log, 2048))
		default:
		}
		return false, nil
	}, func() string {
		return fmt.Sprintf("%s logging %q; log:\n%s", p.name, substr, tail(p.Log(), 2048))
	})
}

// kill SIGKILLs the process group unless the process has already been reaped.
func (p *Proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	pid := p.Pid()
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = p.Cmd.Process.Kill()
	}
}

// pollInterval is how often WaitFor re-checks its condition.
const pollInterval = 20 * time.Millisecond

// WaitFor polls cond until it returns true, returns an error, or timeout passes. On
// timeout the error wraps [ErrTimeout] and includes what(), if what is non-nil. It is
// for waiting on conditions (a log line, an address appearing), not for asserting
// durations.
func WaitFor(timeout time.Duration, cond func() (bool, error), what func() string) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			if what != nil {
				return fmt.Errorf("%w after %v waiting for %s", ErrTimeout, timeout, what())
			}
			return fmt.Errorf("%w after %v", ErrTimeout, timeout)
		}
		time.Sleep(pollInterval)
	}
}

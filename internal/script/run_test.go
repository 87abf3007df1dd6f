package script

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/clock"
	"github.com/lvs-ha/lvs-ha/internal/netns"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func writeScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ourChildren lists live or zombie processes whose parent is this test process.
func ourChildren(t *testing.T) []string {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	me := strconv.Itoa(os.Getpid())
	var out []string
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		rest := string(b[bytes.LastIndexByte(b, ')')+1:])
		f := strings.Fields(rest)
		if len(f) > 1 && f[1] == me {
			out = append(out, s+" "+f[0])
		}
	}
	return out
}

func assertNoChildren(t *testing.T) {
	t.Helper()
	if c := ourChildren(t); len(c) > 0 {
		t.Fatalf("child processes left behind: %v", c)
	}
}

func TestRunExitCodes(t *testing.T) {
	noShebang := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(noShebang, []byte("exit 4\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		argv   []string
		code   int
		signal syscall.Signal
		ok     bool
		err    bool
	}{
		{name: "success", argv: []string{writeScript(t, "exit 0\n")}, code: 0, ok: true},
		{name: "failure", argv: []string{writeScript(t, "exit 3\n")}, code: 3},
		{name: "args", argv: []string{writeScript(t, `[ "$1" = "a b" ] && [ "$2" = c ]`), "a b", "c"}, code: 0, ok: true},
		{name: "signal", argv: []string{writeScript(t, "kill -USR1 $$\nsleep 5\n")}, code: -1, signal: syscall.SIGUSR1},
		{name: "bare name via PATH", argv: []string{"true"}, code: 0, ok: true},
		{name: "no shebang falls back to sh", argv: []string{noShebang}, code: 4},
		{name: "file test ok", argv: []string{"</etc/passwd"}, code: 0, ok: true},
		{name: "file test missing", argv: []string{"</nonexistent/x"}, code: 2},
		{name: "missing", argv: []string{"/nonexistent/script"}, code: -1, err: true},
		{name: "empty", argv: nil, code: -1, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Run(testCtx(t), Spec{Argv: tt.argv})
			if (r.Err != nil) != tt.err || r.ExitCode != tt.code || r.Signal != tt.signal || r.OK() != tt.ok || r.TimedOut {
				t.Fatalf("Run = %+v (%v); want code %d signal %v ok %v err %v", r, r, tt.code, tt.signal, tt.ok, tt.err)
			}
			assertNoChildren(t)
		})
	}
}

func TestRunOutputAndEnv(t *testing.T) {
	t.Setenv("IFS", "x")
	t.Setenv("LD_PRELOAD", "/nonexistent.so")
	t.Setenv("LVSHA_SCRIPT_TEST", "kept")
	s := writeScript(t, `echo "out:${IFS+set}:${LD_PRELOAD+set}:$LVSHA_SCRIPT_TEST"; echo err >&2`)
	var out, errb bytes.Buffer
	r := Run(testCtx(t), Spec{Argv: []string{s}, Stdout: &out, Stderr: &errb})
	if !r.OK() {
		t.Fatalf("Run: %v", r)
	}
	// dash sets a default IFS when none is inherited, so IFS reads as set; what
	// matters is that our "x" did not get through.
	if got := out.String(); got != "out:set::kept\n" {
		t.Errorf("stdout = %q", got)
	}
	if errb.String() != "err\n" {
		t.Errorf("stderr = %q", errb.String())
	}
	out.Reset()
	s2 := writeScript(t, `printf '%s' "$IFS" | od -An -c | tr -d ' \n'; echo ":$FOO"`)
	r = Run(testCtx(t), Spec{Argv: []string{s2}, Stdout: &out, Env: []string{"FOO=bar", "PATH=/usr/bin:/bin"}})
	if !r.OK() || out.String() != `\t\n:bar`+"\n" {
		t.Errorf("explicit env: %v %q", r, out.String())
	}
	// Default output goes to /dev/null: nothing to check but that it runs.
	if r := Run(testCtx(t), Spec{Argv: []string{s}}); !r.OK() {
		t.Errorf("Run without writers: %v", r)
	}
}

// startedScript runs body (which must print one line, a pid, once it is set up)
// under a fake clock and returns the printed pid, a pidfd for it and the result channel.
func startedScript(t *testing.T, ctx context.Context, fc *clock.Fake, body string, timeout time.Duration) (int, int, <-chan Result) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close(); pw.Close() })
	done := make(chan Result, 1)
	s := writeScript(t, body)
	go func() {
		done <- Run(ctx, Spec{Argv: []string{s}, Timeout: timeout, Clock: fc, Stdout: pw})
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("script printed %q", line)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return pid, fd, done
}

// assertDead waits (bounded) for the process behind pidfd to terminate.
func assertDead(t *testing.T, pid, pidfd int) {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 10_000)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("process %d of the script's group still alive", pid)
		}
		return
	}
}

func TestRunTimeoutKillsGroup(t *testing.T) {
	ctx := testCtx(t)
	fc := clock.NewFake(t0)
	// The background sleep is in the script's process group.
	pid, fd, done := startedScript(t, ctx, fc, "sleep 1000 &\necho $!\nwait\n", 5*time.Second)
	if err := fc.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	fc.Advance(5 * time.Second)
	r := <-done
	if !r.TimedOut || r.OK() || r.Err != nil || r.Signal != syscall.SIGTERM || r.Duration != 5*time.Second {
		t.Fatalf("Run = %+v", r)
	}
	assertDead(t, pid, fd)
	assertNoChildren(t)
}

func TestRunTimeoutEscalatesToKill(t *testing.T) {
	ctx := testCtx(t)
	fc := clock.NewFake(t0)
	// Both the shell and its child ignore SIGTERM (ignored signals survive exec).
	pid, fd, done := startedScript(t, ctx, fc, "trap '' TERM\nsleep 1000 &\necho $!\nwait\n", time.Second)
	if err := fc.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	fc.Advance(time.Second) // timeout: SIGTERM, ignored
	// Wait for the grace timer.
	if err := fc.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		t.Fatalf("returned before the grace period: %+v", r)
	default:
	}
	fc.Advance(DefaultGrace)
	r := <-done
	if !r.TimedOut || r.Signal != syscall.SIGKILL || r.Duration != time.Second+DefaultGrace {
		t.Fatalf("Run = %+v", r)
	}
	assertDead(t, pid, fd)
	assertNoChildren(t)
}

func TestRunContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(testCtx(t))
	fc := clock.NewFake(t0)
	pid, fd, done := startedScript(t, ctx, fc, "sleep 1000 &\necho $!\nwait\n", 0)
	cancel()
	r := <-done
	if !errors.Is(r.Err, context.Canceled) || r.TimedOut || r.OK() {
		t.Fatalf("Run = %+v", r)
	}
	assertDead(t, pid, fd)
	assertNoChildren(t)

	if r := Run(ctx, Spec{Argv: []string{"true"}}); !errors.Is(r.Err, context.Canceled) {
		t.Fatalf("Run with done ctx = %+v", r)
	}
}

func TestRunNoZombies(t *testing.T) {
	s := writeScript(t, "exit $1\n")
	for i := 0; i < 20; i++ {
		r := Run(testCtx(t), Spec{Argv: []string{s, strconv.Itoa(i % 3)}})
		if r.ExitCode != i%3 {
			t.Fatalf("run %d: %v", i, r)
		}
	}
	assertNoChildren(t)
}

func TestRunOwnProcessGroup(t *testing.T) {
	var out bytes.Buffer
	s := writeScript(t, `read -r line < /proc/$$/stat; set -- $line; echo $1 $5`)
	if r := Run(testCtx(t), Spec{Argv: []string{s}, Stdout: &out}); !r.OK() {
		t.Fatalf("Run: %v", r)
	}
	f := strings.Fields(out.String())
	if len(f) != 2 || f[0] != f[1] {
		t.Fatalf("pid/pgid = %q; want the script to lead its own group", out.String())
	}
}

func TestLookupCredential(t *testing.T) {
	if c, err := LookupCredential("", ""); c != nil || err != nil {
		t.Fatalf("empty user: %v %v", c, err)
	}
	_, err := LookupCredential("no-such-user-lvsha", "")
	var ce *CredentialError
	var uu user.UnknownUserError
	if !errors.As(err, &ce) || !errors.As(err, &uu) || !strings.Contains(err.Error(), "no-such-user-lvsha") {
		t.Fatalf("unknown user: %v", err)
	}
	_, err = LookupCredential("root", "no-such-group-lvsha")
	var ug user.UnknownGroupError
	if !errors.As(err, &ug) || !strings.Contains(err.Error(), "no-such-group-lvsha") {
		t.Fatalf("unknown group: %v", err)
	}
	if _, err := LookupCredential("", "root"); err == nil {
		t.Fatal("group without user accepted")
	}
	r := Run(testCtx(t), Spec{Argv: []string{"true"}, User: "no-such-user-lvsha"})
	if r.Err == nil || !strings.Contains(r.Err.Error(), "no-such-user-lvsha") {
		t.Fatalf("Run with unknown user: %v", r)
	}
	if os.Geteuid() == 0 {
		c, err := LookupCredential("nobody", "")
		if err != nil {
			t.Fatal(err)
		}
		u, _ := user.Lookup("nobody")
		if strconv.Itoa(int(c.Uid)) != u.Uid || strconv.Itoa(int(c.Gid)) != u.Gid || len(c.Groups) != 0 {
			t.Fatalf("nobody: %+v", c)
		}
		c, err = LookupCredential("nobody", "root")
		if err != nil || c.Gid != 0 {
			t.Fatalf("nobody root: %+v %v", c, err)
		}
	}
}

func TestRunAsNobody(t *testing.T) {
	netns.RequireRoot(t)
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	var out bytes.Buffer
	r := Run(testCtx(t), Spec{Argv: []string{"id", "-u"}, User: "nobody", Stdout: &out})
	if !r.OK() || strings.TrimSpace(out.String()) != u.Uid {
		t.Fatalf("id -u as nobody: %v %q, want %s", r, out.String(), u.Uid)
	}
	out.Reset()
	r = Run(testCtx(t), Spec{Argv: []string{"id", "-G"}, User: "nobody", Stdout: &out})
	if !r.OK() || strings.TrimSpace(out.String()) != u.Gid {
		t.Fatalf("id -G as nobody: %v %q, want only %s (supplementary groups cleared)", r, out.String(), u.Gid)
	}
	out.Reset()
	r = Run(testCtx(t), Spec{Argv: []string{"id", "-g"}, User: "nobody", Group: "root", Stdout: &out})
	if !r.OK() || strings.TrimSpace(out.String()) != "0" {
		t.Fatalf("id -g as nobody:root: %v %q", r, out.String())
	}
}

// TestLookupCredentialOwnUserNeedsNoSwitch: running as the daemon's own user
// (root included) gives no credential, so no setuid/setgroups is attempted: under
// deploy/lvs-ha.service's capability set (NET_ADMIN, NET_RAW) setgroups would fail.
func TestLookupCredentialOwnUserNeedsNoSwitch(t *testing.T) {
	u, err := user.Current()
	if err != nil {
		t.Skip(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Skip(err)
	}
	cred, err := LookupCredential(u.Username, g.Name)
	if err != nil || cred != nil {
		t.Fatalf("LookupCredential(%s, %s) = %+v, %v; want nil, nil", u.Username, g.Name, cred, err)
	}
}

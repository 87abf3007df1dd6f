package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// DefaultPIDFile is where `lvs-ha run` records its PID and `lvs-ha reload` looks
// for it (inside the RuntimeDirectory of deploy/lvs-ha.service).
const DefaultPIDFile = "/run/lvs-ha/lvs-ha.pid"

// writePIDFile records this process's PID; the returned func removes the file if
// it still names this process (another daemon may have replaced it since).
func writePIDFile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	pid := strconv.Itoa(os.Getpid())
	if err := os.WriteFile(path, []byte(pid+"\n"), 0o644); err != nil {
		return func() {}, fmt.Errorf("pid file: %w", err)
	}
	return func() {
		if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == pid {
			os.Remove(path)
		}
	}, nil
}

// readPID returns the PID recorded in path, checking that the process exists.
func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("pid file: %w (is `lvs-ha run` running with -pid-file %s?)", err, path)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: %q is not a process ID", path, strings.TrimSpace(string(b)))
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0, fmt.Errorf("pid file %s names process %d: %w (stale pid file?)", path, pid, err)
	}
	return pid, nil
}

func setupReload(e *env, fs *flag.FlagSet) func([]string) int {
	pidFile := fs.String("pid-file", DefaultPIDFile, "`file` holding the running daemon's PID")
	return func(args []string) int {
		if !noArgs(e, fs, args) {
			return ExitUsage
		}
		pid, err := readPID(*pidFile)
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
			return ExitFailure
		}
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			fmt.Fprintf(e.stderr, "%s: signal process %d: %v\n", fs.Name(), pid, err)
			return ExitFailure
		}
		fmt.Fprintf(e.stdout, "sent SIGHUP to lvs-ha (pid %d): it validates the file first and keeps running the old configuration if it is not valid; see its log\n", pid)
		return ExitOK
	}
}

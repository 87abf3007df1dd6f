package netlab

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Sweep removes namespaces left under /run/netns by labs of processes that are no
// longer alive (names "lh<pid>-..."), SIGKILLing any process still inside them first.
// It returns the names it removed. Namespaces of live processes, including this one
// and concurrently running test binaries, are left alone.
func Sweep() ([]string, error) {
	entries, err := os.ReadDir(nsRunDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	var stale []string
	ids := map[nsID]bool{}
	for _, e := range entries {
		pid, ok := creatorPID(e.Name())
		if !ok || pidAlive(pid) {
			continue
		}
		stale = append(stale, e.Name())
		if id, err := statNS(nsRunDir + "/" + e.Name()); err == nil {
			ids[id] = true
		}
	}
	killNetnsProcs(ids)
	var removed []string
	var errs []error
	for _, name := range stale {
		if err := deleteNamed(name); err != nil {
			errs = append(errs, fmt.Errorf("sweep %s: %w", name, err))
			continue
		}
		removed = append(removed, name)
	}
	return removed, errors.Join(errs...)
}

// creatorPID parses "lh<pid>-..." names.
func creatorPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "lh")
	if !ok {
		return 0, false
	}
	digits, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 || strconv.Itoa(pid) != digits {
		return 0, false
	}
	return pid, true
}

func pidAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// CatchSignals makes SIGINT and SIGTERM tear down every live lab ([Shutdown]), run
// atExit, and exit with status 128+signal, instead of leaving namespaces and
// processes behind. The returned function stops catching.
func CatchSignals(atExit ...func()) (stop func()) {
	ch := make(chan os.Signal, 1)
	quit := make(chan struct{})
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case sig := <-ch:
			fmt.Fprintf(os.Stderr, "netlab: %v: tearing down labs\n", sig)
			Shutdown()
			for _, f := range atExit {
				f()
			}
			code := 1
			if s, ok := sig.(syscall.Signal); ok {
				code = 128 + int(s)
			}
			os.Exit(code)
		case <-quit:
		}
	}()
	return func() {
		signal.Stop(ch)
		close(quit)
	}
}

// Main is a TestMain body for packages using netlab: it sweeps stale namespaces (as
// root), catches SIGINT/SIGTERM (see [CatchSignals]), runs the tests and then atExit.
// Use it as os.Exit(netlab.Main(m)).
func Main(m *testing.M, atExit ...func()) int {
	if os.Geteuid() == 0 {
		sweepOnce.Do(func() {
			removed, err := Sweep()
			if err != nil {
				fmt.Fprintf(os.Stderr, "netlab: %v\n", err)
			}
			if len(removed) > 0 {
				fmt.Fprintf(os.Stderr, "netlab: removed stale namespaces %v\n", removed)
			}
		})
	}
	stop := CatchSignals(atExit...)
	code := m.Run()
	stop()
	for _, f := range atExit {
		f()
	}
	return code
}

// Package netns runs Go code inside Linux network namespaces without ever leaving a
// goroutine, or an OS thread the runtime reuses, in the wrong one (after cilium/ebpf's
// testutils). Tests get a private namespace from [New]; the lab harness and tools use
// [Create] and [NS.Do].
package netns

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

// NS is an open handle on a network namespace. An unnamed namespace lives as long as
// a handle, a socket or a process in it does.
type NS struct{ h netns.NsHandle }

// RequireRoot skips the test unless it runs as root, or fails it when
// LVSHA_REQUIRE_ROOT_TESTS=1 (so that a root test tier cannot pass by skipping).
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() == 0 {
		return
	}
	const msg = "needs root (network namespaces, raw sockets, other users); run e.g. `sudo -E go test`"
	if os.Getenv("LVSHA_REQUIRE_ROOT_TESTS") == "1" {
		tb.Fatal(msg + "; failing because LVSHA_REQUIRE_ROOT_TESTS=1")
	}
	tb.Skip(msg)
}

// New creates a fresh namespace for a test and closes it at cleanup; see [RequireRoot].
func New(tb testing.TB) *NS {
	tb.Helper()
	RequireRoot(tb)
	ns, err := Create()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ns.Close() })
	return ns
}

// Create creates a fresh, unnamed network namespace (with only lo, down). The
// caller's namespace is not changed.
func Create() (*NS, error) {
	h := netns.None()
	err := onThread(func() (err error) {
		h, err = netns.New()
		return err
	})
	if err != nil {
		if h.IsOpen() {
			h.Close()
		}
		return nil, fmt.Errorf("create network namespace: %w", err)
	}
	return &NS{h: h}, nil
}

// Handle returns the namespace's handle, for netlink.NewHandleAt and netlink.NsFd.
// It stays owned by ns.
func (ns *NS) Handle() netns.NsHandle { return ns.h }

// Close closes the handle.
func (ns *NS) Close() error {
	if !ns.h.IsOpen() {
		return nil
	}
	err := ns.h.Close()
	ns.h = netns.None()
	return err
}

// Do runs f on a fresh OS thread switched into ns (see onThread). Sockets f opens
// stay in ns and may be used from any goroutine afterwards; goroutines f starts do not
// inherit the namespace.
func (ns *NS) Do(f func() error) error {
	return onThread(func() error {
		if err := netns.Set(ns.h); err != nil {
			return fmt.Errorf("enter network namespace: %w", err)
		}
		return f()
	})
}

// onThread runs f on a fresh goroutine locked to its OS thread and switches that
// thread back to its original network namespace afterwards; f may change the thread's
// namespace (setns, unshare) but must not unlock the thread. If the namespace cannot
// be restored the thread stays locked, so the runtime discards it with the goroutine.
// A panic in f is re-raised in the caller.
func onThread(f func() error) error {
	type result struct {
		err   error
		panic any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("get current network namespace: %w", err)}
			return
		}
		defer orig.Close()
		var r result
		func() {
			defer func() { r.panic = recover() }()
			r.err = f()
		}()
		if err := netns.Set(orig); err != nil {
			r.err = errors.Join(r.err, fmt.Errorf("restore network namespace: %w (thread discarded)", err))
			done <- r
			return
		}
		runtime.UnlockOSThread()
		done <- r
	}()
	r := <-done
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// WriteSysctl writes a /proc/sys value in the calling thread's namespace (call it
// inside [NS.Do]); key uses dots, e.g. "net.ipv6.conf.all.accept_dad".
func WriteSysctl(key, value string) error {
	p := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

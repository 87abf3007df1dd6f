package vip

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// The root tests work in a private, unnamed network namespace: its interface names
// cannot collide with the host's or another test's, and the kernel destroys it with
// its links once the last handle is closed.

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("LVSHA_REQUIRE_ROOT_TESTS") == "1" {
		t.Fatal("this test needs root (network namespaces) and LVSHA_REQUIRE_ROOT_TESTS=1")
	}
	t.Skip("skipping: needs root for network namespaces (set LVSHA_REQUIRE_ROOT_TESTS=1 to fail instead)")
}

// onThread runs f on a locked OS thread and restores the thread's namespace after.
// If it cannot, the thread stays locked and the runtime discards it.
func onThread(f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			done <- fmt.Errorf("get current netns: %w", err)
			return
		}
		defer orig.Close()
		ferr := f()
		if err := netns.Set(orig); err != nil {
			done <- errors.Join(ferr, fmt.Errorf("restore netns: %w", err))
			return
		}
		runtime.UnlockOSThread()
		done <- ferr
	}()
	return <-done
}

// testNS is a private namespace holding an up device named dev (a veth, whose peer
// is also up: the host kernel may lack the dummy driver).
type testNS struct {
	h   netns.NsHandle
	nl  *netlink.Handle
	m   *Manager
	dev string
}

func newNS(t *testing.T) *testNS {
	t.Helper()
	requireRoot(t)
	var h netns.NsHandle
	err := onThread(func() error {
		var err error
		h, err = netns.New()
		return err
	})
	if err != nil {
		t.Fatalf("create network namespace: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		t.Fatalf("netlink handle: %v", err)
	}
	t.Cleanup(nl.Close)
	m, err := NewAt(h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	n := &testNS{h: h, nl: nl, m: m, dev: "vip0"}
	if err := nl.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: n.dev}, PeerName: "peer0"}); err != nil {
		t.Fatalf("add veth %s: %v", n.dev, err)
	}
	for _, name := range []string{n.dev, "peer0"} {
		link, err := nl.LinkByName(name)
		if err == nil {
			err = nl.LinkSetUp(link)
		}
		if err != nil {
			t.Fatalf("%s up: %v", name, err)
		}
	}
	return n
}

// do runs f on a thread inside the namespace.
func (n *testNS) do(f func() error) error {
	return onThread(func() error {
		if err := netns.Set(n.h); err != nil {
			return fmt.Errorf("enter netns: %w", err)
		}
		return f()
	})
}

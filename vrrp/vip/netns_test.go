package vip

import (
	"fmt"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// The root tests work in a private, unnamed network namespace: its interface names
// cannot collide with the host's or another test's, and the kernel destroys it with
// its links once the last handle is closed.

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
	netlab.RequireRoot(t)
	var h netns.NsHandle
	err := netlab.OnThread(func() error {
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
	return netlab.OnThread(func() error {
		if err := netns.Set(n.h); err != nil {
			return fmt.Errorf("enter netns: %w", err)
		}
		return f()
	})
}

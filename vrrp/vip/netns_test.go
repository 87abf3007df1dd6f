package vip

import (
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/vishvananda/netlink"
)

// The root tests work in a private, unnamed network namespace: its interface names
// cannot collide with the host's or another test's, and the kernel destroys it with
// its links once the last handle is closed.

// testNS is a private namespace holding an up device named dev (a veth, whose peer
// is also up: the host kernel may lack the dummy driver).
type testNS struct {
	*netns.NS
	nl  *netlink.Handle
	m   *Manager
	dev string
}

func newNS(t testing.TB) *testNS {
	t.Helper()
	ns := netns.New(t)
	nl := ns.Netlink(t)
	m := &Manager{h: nl}
	n := &testNS{NS: ns, nl: nl, m: m, dev: "vip0"}
	netns.AddVethUp(t, nl, n.dev, "peer0", nil)
	return n
}

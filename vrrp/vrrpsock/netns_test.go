package vrrpsock

import (
	"net"
	"net/netip"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The tests below build private, unnamed network namespaces: interface names inside
// them cannot collide with anything on the host or in other tests, and the kernel
// destroys each namespace (with its veths) once its last handle and socket close.

// testNS is a private network namespace.
type testNS struct {
	*netns.NS
	t  *testing.T
	nl *netlink.Handle
}

// newNS creates a namespace with lo up, IPv6 DAD off and no automatic IPv6
// link-local addresses (tests add their own, so addresses are known and usable at
// once).
func newNS(t *testing.T) *testNS {
	t.Helper()
	ns := netns.New(t)
	err := ns.Do(func() error {
		for _, kv := range [][2]string{
			{"net.ipv6.conf.all.accept_dad", "0"},
			{"net.ipv6.conf.default.accept_dad", "0"},
			{"net.ipv6.conf.default.addr_gen_mode", "1"},
		} {
			if err := netns.WriteSysctl(kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("set up network namespace: %v", err)
	}
	nl := ns.Netlink(t)
	n := &testNS{NS: ns, t: t, nl: nl}
	lo, err := nl.LinkByName("lo")
	if err == nil {
		err = nl.LinkSetUp(lo)
	}
	if err != nil {
		t.Fatalf("lo up: %v", err)
	}
	return n
}

// veth connects n (interface name) to peer (interface peerName) and brings both up.
func (n *testNS) veth(name string, peer *testNS, peerName string) {
	n.t.Helper()
	err := n.nl.LinkAdd(&netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: name},
		PeerName:      peerName,
		PeerNamespace: netlink.NsFd(peer.Handle()),
	})
	if err != nil {
		n.t.Fatalf("veth %s-%s: %v", name, peerName, err)
	}
	n.up(name)
	peer.up(peerName)
}

func (n *testNS) link(name string) netlink.Link {
	n.t.Helper()
	l, err := n.nl.LinkByName(name)
	if err != nil {
		n.t.Fatalf("link %s: %v", name, err)
	}
	return l
}

func (n *testNS) up(name string) {
	n.t.Helper()
	if err := n.nl.LinkSetUp(n.link(name)); err != nil {
		n.t.Fatalf("%s up: %v", name, err)
	}
}

// addr adds prefix (e.g. "192.0.2.1/24") to the interface; IPv6 without DAD.
func (n *testNS) addr(name, prefix string) {
	n.t.Helper()
	p := netip.MustParsePrefix(prefix)
	a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	if err := n.nl.AddrAdd(n.link(name), a); err != nil {
		n.t.Fatalf("add %s to %s: %v", prefix, name, err)
	}
}

// open opens a Conn inside the namespace and closes it at cleanup.
func (n *testNS) open(cfg Config) *Conn {
	n.t.Helper()
	var c *Conn
	err := n.Do(func() error {
		var err error
		c, err = Open(cfg)
		return err
	})
	if err != nil {
		n.t.Fatalf("Open(%+v): %v", cfg, err)
	}
	n.t.Cleanup(func() { c.Close() })
	return c
}

// ifindex returns the index of the interface in the namespace.
func (n *testNS) ifindex(name string) int { return n.link(name).Attrs().Index }

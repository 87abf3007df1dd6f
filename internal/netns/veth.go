package netns

import (
	"net"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// AddVethUp adds the veth pair name/peer through h (name with mac, unless
// nil), sets both ends up and returns name's link; it fails tb on error.
func AddVethUp(tb testing.TB, h *netlink.Handle, name, peer string, mac net.HardwareAddr) netlink.Link {
	tb.Helper()
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name, HardwareAddr: mac}, PeerName: peer}); err != nil {
		tb.Fatalf("add veth %s/%s: %v", name, peer, err)
	}
	for _, n := range []string{peer, name} {
		l, err := h.LinkByName(n)
		if err == nil {
			err = h.LinkSetUp(l)
		}
		if err != nil {
			tb.Fatalf("%s up: %v", n, err)
		}
	}
	l, err := h.LinkByName(name) // after LinkSetUp: its flags say up
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// Netlink returns an rtnetlink handle in ns, closed at tb's cleanup; it
// fails tb on error.
func (ns *NS) Netlink(tb testing.TB) *netlink.Handle {
	tb.Helper()
	h, err := netlink.NewHandleAt(ns.h, unix.NETLINK_ROUTE)
	if err != nil {
		tb.Fatalf("netlink handle: %v", err)
	}
	tb.Cleanup(h.Close)
	return h
}

package vmlab

import (
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/netlab"
)

// Sysctl writes value to the sysctl key (dotted, e.g. net.ipv4.ip_forward) in
// n's namespace; it fails the test on error.
func Sysctl(t testing.TB, n *netlab.Node, key, value string) {
	t.Helper()
	err := n.Do(func() error {
		return os.WriteFile("/proc/sys/"+strings.ReplaceAll(key, ".", "/"), []byte(value), 0o644)
	})
	if err != nil {
		t.Fatalf("%s: sysctl %s=%s: %v", n.Name(), key, value, err)
	}
}

// AddAddr adds p to n's interface dev.
func AddAddr(t testing.TB, n *netlab.Node, dev string, p netip.Prefix) {
	t.Helper()
	h := n.Handle()
	link, err := h.LinkByName(dev)
	if err == nil {
		err = h.AddrAdd(link, &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}})
	}
	if err != nil {
		t.Fatalf("%s: add %v to %s: %v", n.Name(), p, dev, err)
	}
}

// DefaultRoute gives n a default route via gw on its lab interface.
func DefaultRoute(t testing.TB, n *netlab.Node, gw netip.Addr) {
	t.Helper()
	link, err := n.Handle().LinkByName(n.IfName())
	if err == nil {
		err = n.Handle().RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw.AsSlice()})
	}
	if err != nil {
		t.Fatalf("%s: default route via %v: %v", n.Name(), gw, err)
	}
}

// Attach gives node n a second interface ifName on lab's segment (a veth pair whose
// other end, "x-<node name>", joins lab's bridge), with address p: a router or NAT
// director between two labs.
func Attach(t testing.TB, n *netlab.Node, lab *netlab.Lab, ifName string, p netip.Prefix) {
	t.Helper()
	sw := lab.SwitchHandle()
	br, err := sw.LinkByName("br0")
	if err != nil {
		t.Fatalf("bridge of %s: %v", lab.Name(), err)
	}
	fd, err := unix.Open(n.NSPath(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	port := "x-" + n.Name()
	if len(port) > 15 {
		port = port[:15]
	}
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: port, MasterIndex: br.Attrs().Index},
		PeerName:      ifName,
		PeerNamespace: netlink.NsFd(fd),
	}
	if err := sw.LinkAdd(veth); err != nil {
		t.Fatalf("veth %s/%s: %v", port, ifName, err)
	}
	if err := sw.LinkSetUp(veth); err != nil {
		t.Fatal(err)
	}
	AddAddr(t, n, ifName, p)
	h := n.Handle()
	link, err := h.LinkByName(ifName)
	if err == nil {
		err = h.LinkSetUp(link)
	}
	if err != nil {
		t.Fatalf("%s up: %v", ifName, err)
	}
	err = netlab.WaitFor(5*time.Second, func() (bool, error) {
		l, err := h.LinkByName(ifName)
		return err == nil && l.Attrs().OperState == netlink.OperUp, err
	}, func() string { return ifName + " operationally up" })
	if err != nil {
		t.Fatal(err)
	}
}

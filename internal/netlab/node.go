package netlab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/lvs-ha/lvs-ha/internal/nldump"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoNeigh is returned by [Node.Neigh] when the node has no usable neighbour entry
// (none, incomplete or failed) for the address.
var ErrNoNeigh = errors.New("no neighbour entry")

// Node is a network namespace attached to the lab's bridge through its interface
// (eth0 by default), with lo up, IPv6 DAD off and keep_addr_on_down on. Code runs
// in it with [Node.Do] (Go functions), [Node.Command] (programs) and [Node.Start]
// (long-running processes, killed at teardown, logs kept per test). Methods without an error return call t.Fatal on failure and must
// be called from the test goroutine.
type Node struct {
	lab     *Lab
	name    string
	ns      *namespace
	ifName  string
	ifIndex int
	port    string // bridge-side veth in the switch namespace
	mac     net.HardwareAddr
	addrs   []netip.Prefix // configured at creation
}

// nodeSysctls are applied in every node before its interface is created, so that the
// interface inherits the "default" values.
var nodeSysctls = [][2]string{
	{"net.ipv6.conf.all.accept_dad", "0"},
	{"net.ipv6.conf.default.accept_dad", "0"},
	// Keep static IPv6 addresses across LinkDown/LinkUp, like IPv4 does.
	{"net.ipv6.conf.all.keep_addr_on_down", "1"},
	{"net.ipv6.conf.default.keep_addr_on_down", "1"},
}

func (n *Node) setup(idx int) error {
	err := n.ns.Do(func() error {
		if !ipv6Available() {
			return nil
		}
		for _, kv := range nodeSysctls {
			if err := netns.WriteSysctl(kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	sw := n.lab.sw.nl
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{
			Name:         n.port,
			HardwareAddr: net.HardwareAddr{0x02, 0x6c, 0x68, 0x01, byte(idx >> 8), byte(idx)},
			MasterIndex:  n.lab.brIndex,
		},
		PeerName:         n.ifName,
		PeerHardwareAddr: n.mac,
		PeerNamespace:    netlink.NsFd(n.ns.Handle()),
	}
	if err := sw.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth %s/%s: %w", n.port, n.ifName, err)
	}
	if err := sw.LinkSetUp(veth); err != nil {
		return fmt.Errorf("port %s up: %w", n.port, err)
	}
	h := n.ns.nl
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	link, err := h.LinkByName(n.ifName)
	if err != nil {
		return fmt.Errorf("find %s: %w", n.ifName, err)
	}
	n.ifIndex = link.Attrs().Index
	for _, p := range n.addrs {
		a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
		if p.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrAdd(link, a); err != nil {
			return fmt.Errorf("add address %v: %w", p, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("%s up: %w", n.ifName, err)
	}
	return n.waitOper(true)
}

// Name returns the node's name in the lab.
func (n *Node) Name() string { return n.name }

// NSName returns the namespace name, usable with `ip netns exec` while the lab lives.
func (n *Node) NSName() string { return n.ns.name }

// NSPath returns the namespace's bind mount, /run/netns/NSName().
func (n *Node) NSPath() string { return n.ns.path() }

// IfName returns the node's interface name (eth0 by default).
func (n *Node) IfName() string { return n.ifName }

// MAC returns the hardware address of the node's interface.
func (n *Node) MAC() net.HardwareAddr { return append(net.HardwareAddr(nil), n.mac...) }

// Handle returns a netlink handle inside the node's namespace, for queries this type
// does not offer. It is closed at teardown.
func (n *Node) Handle() *netlink.Handle { return n.ns.nl }

// Prefixes returns the addresses the node was created with.
func (n *Node) Prefixes() []netip.Prefix { return append([]netip.Prefix(nil), n.addrs...) }

// Addr4 returns the node's first IPv4 address from creation, or the zero Addr.
func (n *Node) Addr4() netip.Addr { return n.firstAddr(true) }

// Addr6 returns the node's first IPv6 address from creation, or the zero Addr.
func (n *Node) Addr6() netip.Addr { return n.firstAddr(false) }

func (n *Node) firstAddr(v4 bool) netip.Addr {
	for _, p := range n.addrs {
		if p.Addr().Is4() == v4 {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

// Addrs returns the addresses currently on the node's interface (as the kernel has
// them, including link-local and any VIPs added by a daemon).
func (n *Node) Addrs() ([]netip.Prefix, error) {
	link, err := n.link()
	if err != nil {
		return nil, err
	}
	out, err := nldump.Prefixes(n.ns.nl, link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("%s: list addresses: %w", n.name, err)
	}
	return out, nil
}

// HasAddr reports whether a is currently on the node's interface.
func (n *Node) HasAddr(a netip.Addr) (bool, error) {
	addrs, err := n.Addrs()
	if err != nil {
		return false, err
	}
	for _, p := range addrs {
		if p.Addr() == a.Unmap() {
			return true, nil
		}
	}
	return false, nil
}

// Neigh returns the link-layer address this node's neighbour table holds for ip on
// its interface, or an error wrapping [ErrNoNeigh].
func (n *Node) Neigh(ip netip.Addr) (net.HardwareAddr, error) {
	family := netlink.FAMILY_V6
	if ip.Unmap().Is4() {
		family = netlink.FAMILY_V4
	}
	list, err := nldump.Retry(func() ([]netlink.Neigh, error) { return n.ns.nl.NeighList(n.ifIndex, family) })
	if err != nil {
		return nil, fmt.Errorf("%s: list neighbours: %w", n.name, err)
	}
	for _, e := range list {
		a, ok := netip.AddrFromSlice(e.IP)
		if !ok || a.Unmap() != ip.Unmap() {
			continue
		}
		if e.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) != 0 || e.State == netlink.NUD_NONE || len(e.HardwareAddr) == 0 {
			break
		}
		return append(net.HardwareAddr(nil), e.HardwareAddr...), nil
	}
	return nil, fmt.Errorf("%s: %v: %w", n.name, ip, ErrNoNeigh)
}

func (n *Node) link() (netlink.Link, error) {
	link, err := n.ns.nl.LinkByIndex(n.ifIndex)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", n.name, n.ifName, err)
	}
	return link, nil
}

// LinkDown sets the node's interface administratively down (its bridge port loses
// carrier): a link failure as the node's daemons see it. It returns once the bridge
// port reports itself down.
func (n *Node) LinkDown() {
	n.lab.t.Helper()
	if err := n.setLink(false); err != nil {
		n.lab.t.Fatalf("netlab: %s link down: %v", n.name, err)
	}
}

// LinkUp undoes [Node.LinkDown]; addresses (IPv4 and IPv6) are kept across it. It
// returns once both ends report operational state up: frames sent earlier may be
// dropped, and a lost first ARP request would cost a 1 s retransmission.
func (n *Node) LinkUp() {
	n.lab.t.Helper()
	if err := n.setLink(true); err != nil {
		n.lab.t.Fatalf("netlab: %s link up: %v", n.name, err)
	}
}

func (n *Node) setLink(up bool) error {
	link, err := n.link()
	if err != nil {
		return err
	}
	if up {
		err = n.ns.nl.LinkSetUp(link)
	} else {
		err = n.ns.nl.LinkSetDown(link)
	}
	if err != nil {
		return err
	}
	return n.waitOper(up)
}

// linkSettle bounds the wait for the kernel's link-state work after a change.
const linkSettle = 5 * time.Second

// waitOper waits until the node's interface and its bridge port are operationally
// up (both), or the port is no longer up. The kernel applies carrier changes
// asynchronously (linkwatch), and until then the devices drop frames.
func (n *Node) waitOper(up bool) error {
	var state string
	return WaitFor(linkSettle, func() (bool, error) {
		port, err := n.lab.sw.nl.LinkByName(n.port)
		if err != nil {
			return false, fmt.Errorf("port %s: %w", n.port, err)
		}
		eth, err := n.link()
		if err != nil {
			return false, err
		}
		po, eo := port.Attrs().OperState, eth.Attrs().OperState
		state = fmt.Sprintf("%s %v, %s %v", n.ifName, eo, n.port, po)
		if up {
			return eo == netlink.OperUp && po == netlink.OperUp, nil
		}
		return po != netlink.OperUp, nil
	}, func() string { return fmt.Sprintf("link state (now %s)", state) })
}

// Do runs f on an OS thread switched into the node's namespace and returns its error.
// Sockets f opens belong to the namespace and can be used from any goroutine later;
// goroutines f starts do not run in the namespace. f must not call t.Fatal.
func (n *Node) Do(f func() error) error {
	return n.ns.Do(f)
}

var selfExe = sync.OnceValues(os.Executable)

// Command returns a command that runs name with args inside the node's namespace,
// however it is started. It re-executes the test binary, which enters the namespace
// before exec'ing name (resolved with exec.LookPath here), so cmd.Path and cmd.Args
// name the test binary; leave them alone. Env, Dir, Stdin/Stdout/Stderr and
// SysProcAttr can be set as usual.
func (n *Node) Command(name string, args ...string) *exec.Cmd {
	exe, exeErr := selfExe()
	target := name
	var lookErr error
	if !strings.Contains(name, "/") {
		target, lookErr = exec.LookPath(name)
	}
	cmd := exec.Command(exe, append([]string{nsexecArg, n.ns.path(), target, name}, args...)...)
	if err := errors.Join(exeErr, lookErr); err != nil {
		cmd.Err = fmt.Errorf("netlab: %s: %w", name, err)
	}
	return cmd
}

package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Manager adds and removes addresses in one network namespace.
type Manager struct {
	h      *netlink.Handle
	thread bool // h is New's: it works in the calling thread's namespace

	// bound is NewHere's: the sockets of the namespace it was created in,
	// used by every call without looking up the calling thread's namespace.
	bound *nsConns

	mu   sync.Mutex
	byNS map[uint64]*nsConns // New's: kept sockets per namespace (by nsfs inode)
}

// New returns a Manager that works in the network namespace of the thread calling
// each method. It keeps netlink sockets open per namespace it was used in (which
// keep that namespace alive) for the life of the process: requests, and a link
// notification socket that tells when a kept device index must be looked up again.
func New() *Manager { return &Manager{h: &netlink.Handle{}, thread: true} }

// NewHere returns a Manager that works in the network namespace of the
// calling thread, whichever thread later calls its methods: it opens its
// sockets now, and a VRRP takeover's address add then goes straight to its
// kept socket, without New's stat of /proc/thread-self/ns/net (some 60 us on
// an idle CPU) to find the namespace's. A daemon whose threads all stay in
// one namespace uses it. If the sockets cannot be opened now, the Manager
// works as New's.
func NewHere() *Manager {
	m := New()
	m.mu.Lock()
	ns := m.threadNS()
	m.mu.Unlock()
	if ns == nil {
		return m
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return m
	}
	raw, err := openRaw()
	if err != nil {
		h.Close()
		return m
	}
	ns.h, ns.raw = h, raw
	m.bound = ns
	return m
}

// Add puts a on its device. An address already there is left as it is and is not an
// error.
func (m *Manager) Add(a Address) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if rc := m.raw(); rc != nil {
		err := rc.add(a)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return &Error{Op: "add", Addr: a.Prefix, Dev: a.Dev, Err: err}
		}
		return nil
	}
	link, err := m.link(a.Dev)
	if err != nil {
		return &Error{Op: "add", Addr: a.Prefix, Dev: a.Dev, Err: err}
	}
	if err := m.handle().AddrAdd(link, toNetlink(a)); err != nil && !errors.Is(err, unix.EEXIST) {
		return &Error{Op: "add", Addr: a.Prefix, Dev: a.Dev, Err: err}
	}
	return nil
}

// Has reports whether a's address with its prefix length is on its device
// (a missing device: false). For a caller that must leave alone an
// address it did not add.
func (m *Manager) Has(a Address) (bool, error) {
	if err := a.Validate(); err != nil {
		return false, err
	}
	link, err := m.link(a.Dev)
	if errors.Is(err, ErrNoDevice) {
		return false, nil
	}
	if err != nil {
		return false, &Error{Op: "list", Addr: a.Prefix, Dev: a.Dev, Err: err}
	}
	family := netlink.FAMILY_V4
	if a.Prefix.Addr().Is6() {
		family = netlink.FAMILY_V6
	}
	addrs, err := m.handle().AddrList(link, family)
	if err != nil {
		return false, &Error{Op: "list", Addr: a.Prefix, Dev: a.Dev, Err: err}
	}
	for _, na := range addrs {
		if na.IPNet == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(na.IP)
		ones, _ := na.Mask.Size()
		if ok && ip.Unmap() == a.Prefix.Addr() && ones == a.Prefix.Bits() {
			return true, nil
		}
	}
	return false, nil
}

// Remove takes a (matched by address, prefix length and peer) off its device. An
// address or device that is not there is not an error.
func (m *Manager) Remove(a Address) error {
	if err := a.Validate(); err != nil {
		return err
	}
	link, err := m.link(a.Dev)
	if errors.Is(err, ErrNoDevice) {
		return nil
	}
	if err != nil {
		return &Error{Op: "remove", Addr: a.Prefix, Dev: a.Dev, Err: err}
	}
	if m.thread {
		// Open Add's bare socket here now (the removal of stale VIPs at
		// startup), not at the first Add, which is a takeover's.
		_ = m.raw()
	}
	na := toNetlink(a)
	na.Label = "" // match whatever label the address has
	err = m.handle().AddrDel(link, na)
	if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENODEV) {
		return &Error{Op: "remove", Addr: a.Prefix, Dev: a.Dev, Err: err}
	}
	return nil
}

// link names dev by its index, read with an ioctl in the calling thread's
// network namespace: AddrAdd and AddrDel need nothing else, and
// netlink.LinkByName (a socket, a request and the parsing of every link
// attribute, 150-400 us) was most of a VRRP takeover's time from the
// decision to the first GARP.
// handle returns the netlink handle for the calling thread's namespace. New's
// Manager keeps one socket per namespace, opened on first use there: a
// socket per request (the zero Handle) costs 50-100 us more, on the path
// from a VRRP takeover to its first GARP. Unlocked goroutines run on threads
// of the process's namespace, a locked one stays on its thread, so the
// namespace read here is the one the request runs in; the kept socket holds
// its namespace, whose inode therefore cannot be reused.
func (m *Manager) handle() *netlink.Handle {
	if !m.thread {
		return m.h
	}
	if m.bound != nil {
		return m.bound.h
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ns := m.threadNS()
	if ns == nil {
		return m.h
	}
	if ns.h == nil {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return m.h
		}
		ns.h = h
	}
	return ns.h
}

// raw returns New's bare rtnetlink socket for the calling thread's
// namespace (kept as handle keeps its Handle), or nil: a Manager bound to a
// namespace, or no socket, uses its Handle.
func (m *Manager) raw() *rawConn {
	if !m.thread {
		return nil
	}
	if m.bound != nil {
		return m.bound.raw
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ns := m.threadNS()
	if ns == nil {
		return nil
	}
	if ns.raw == nil {
		c, err := openRaw()
		if err != nil {
			return nil
		}
		ns.raw = c
	}
	return ns.raw
}

// nsConns are the sockets New's Manager keeps for one namespace, each
// opened on first use there (handle, raw).
type nsConns struct {
	h   *netlink.Handle
	raw *rawConn
}

// threadNS returns the kept sockets of the calling thread's namespace
// (nil if it cannot be read); m.mu held.
func (m *Manager) threadNS() *nsConns {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return nil
	}
	ns := m.byNS[st.Ino]
	if ns == nil {
		if m.byNS == nil {
			m.byNS = map[uint64]*nsConns{}
		}
		ns = &nsConns{}
		m.byNS[st.Ino] = ns
	}
	return ns
}

// A Manager whose handle is bound to a namespace looks the device up there.
func (m *Manager) link(dev string) (netlink.Link, error) {
	if !m.thread {
		return m.linkByName(dev)
	}
	var (
		idx int
		err error
	)
	if m.bound != nil {
		idx, err = m.bound.raw.index(dev) // in the bound namespace
	} else {
		idx, err = ifIndex(dev)
	}
	if errors.Is(err, unix.ENODEV) {
		return nil, ErrNoDevice
	}
	if err != nil {
		return nil, fmt.Errorf("look up device: %w", err)
	}
	return &netlink.Device{LinkAttrs: netlink.LinkAttrs{Name: dev, Index: idx}}, nil
}

func (m *Manager) linkByName(dev string) (netlink.Link, error) {
	link, err := m.h.LinkByName(dev)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
			return nil, ErrNoDevice
		}
		return nil, fmt.Errorf("look up device: %w", err)
	}
	return link, nil
}

func ifIndex(dev string) (int, error) {
	ifr, err := unix.NewIfreq(dev)
	if err != nil {
		return 0, err
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, err
	}
	return int(ifr.Uint32()), nil
}

// toNetlink converts a validated Address to the netlink form.
func toNetlink(a Address) *netlink.Addr {
	ip := a.Prefix.Addr()
	bits, total := a.Prefix.Bits(), ip.BitLen()
	na := &netlink.Addr{
		IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(bits, total)},
		Label: a.Label,
		Scope: int(a.Scope),
	}
	if ip.Is4() {
		// Without a broadcast, netlink would derive "brd +"; keepalived sets none.
		na.Broadcast = net.IPv4zero
		if a.Broadcast.IsValid() {
			na.Broadcast = a.Broadcast.AsSlice()
		}
	}
	if a.Peer.IsValid() {
		na.Peer = &net.IPNet{IP: a.Peer.AsSlice(), Mask: net.CIDRMask(bits, total)}
	}
	if ip.Is6() && !a.DAD {
		na.Flags |= unix.IFA_F_NODAD
	}
	for _, f := range []struct {
		on   bool
		flag int
	}{
		{a.Home, unix.IFA_F_HOMEADDRESS}, {a.MngTmpAddr, unix.IFA_F_MANAGETEMPADDR},
		{a.NoPrefixRoute, unix.IFA_F_NOPREFIXROUTE}, {a.AutoJoin, unix.IFA_F_MCAUTOJOIN},
	} {
		if f.on {
			na.Flags |= f.flag
		}
	}
	forever := Forever // a variable: int(Forever) does not compile where int is 32 bits
	switch {
	case a.PreferredLft != nil:
		na.PreferedLft, na.ValidLft = int(*a.PreferredLft), int(forever)
	case ip.Is6() && bits == 128:
		na.PreferedLft, na.ValidLft = 0, int(forever) // deprecated, as keepalived does
	}
	return na
}

package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Manipulator is what a VRRP instance runner needs to hold its VIPs.
type Manipulator interface {
	Add(a Address) error
	Remove(a Address) error
	Present(dev string, addr netip.Addr) bool
}

var _ Manipulator = (*Manager)(nil)

// Manager adds and removes addresses in one network namespace.
type Manager struct {
	h *netlink.Handle
}

// New returns a Manager that works in the network namespace of the thread calling
// each method (a netlink socket is opened per call).
func New() *Manager { return &Manager{h: &netlink.Handle{}} }

// NewAt returns a Manager bound to the network namespace ns; Close releases it.
func NewAt(ns netns.NsHandle) (*Manager, error) {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("vip: netlink handle: %w", err)
	}
	return &Manager{h: h}, nil
}

// Close releases the Manager's netlink sockets, if any.
func (m *Manager) Close() { m.h.Close() }

var defaultManager = New()

// Add adds a in the calling thread's network namespace; see [Manager.Add].
func Add(a Address) error { return defaultManager.Add(a) }

// Remove removes a in the calling thread's network namespace; see [Manager.Remove].
func Remove(a Address) error { return defaultManager.Remove(a) }

// Present reports whether addr is on dev in the calling thread's network namespace.
func Present(dev string, addr netip.Addr) bool { return defaultManager.Present(dev, addr) }

// Add puts a on its device. An address already there is left as it is and is not an
// error.
func (m *Manager) Add(a Address) error {
	if err := a.Validate(); err != nil {
		return err
	}
	link, err := m.link(a.Dev)
	if err != nil {
		return &Error{Op: "add", Addr: a.Prefix, Dev: a.Dev, Err: err}
	}
	if err := m.h.AddrAdd(link, toNetlink(a)); err != nil && !errors.Is(err, unix.EEXIST) {
		return &Error{Op: "add", Addr: a.Prefix, Dev: a.Dev, Err: err}
	}
	return nil
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
	na := toNetlink(a)
	na.Label = "" // match whatever label the address has
	err = m.h.AddrDel(link, na)
	if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENODEV) {
		return &Error{Op: "remove", Addr: a.Prefix, Dev: a.Dev, Err: err}
	}
	return nil
}

// Present reports whether addr is on dev, whatever its prefix length and options.
// Lookup errors count as absent.
func (m *Manager) Present(dev string, addr netip.Addr) bool {
	_, ok, err := m.Lookup(dev, addr)
	return ok && err == nil
}

// State is an address as the kernel holds it.
type State struct {
	Prefix    netip.Prefix
	Peer      netip.Addr // zero unless a point-to-point peer is set
	Broadcast netip.Addr // zero when none
	Scope     Scope
	Label     string
	Flags     uint32 // IFA_F_* (e.g. unix.IFA_F_NODAD, unix.IFA_F_DEPRECATED)
	// PreferredLft and ValidLft are the remaining lifetimes in seconds ([Forever]
	// when infinite).
	PreferredLft, ValidLft uint32
}

// Lookup returns the state of addr on dev; ok is false when it is not there.
func (m *Manager) Lookup(dev string, addr netip.Addr) (st State, ok bool, err error) {
	addr = addr.Unmap()
	link, err := m.link(dev)
	if err != nil {
		return State{}, false, &Error{Op: "lookup", Addr: netip.PrefixFrom(addr, addr.BitLen()), Dev: dev, Err: err}
	}
	family := netlink.FAMILY_V4
	if addr.Is6() {
		family = netlink.FAMILY_V6
	}
	list, err := m.h.AddrList(link, family)
	if err != nil {
		return State{}, false, &Error{Op: "lookup", Addr: netip.PrefixFrom(addr, addr.BitLen()), Dev: dev, Err: err}
	}
	for _, na := range list {
		if na.IPNet == nil {
			continue
		}
		ip, _ := netip.AddrFromSlice(na.IP)
		if ip.Unmap() != addr {
			continue
		}
		bits, _ := na.Mask.Size()
		st := State{
			Prefix:       netip.PrefixFrom(addr, bits),
			Broadcast:    toAddr(na.Broadcast),
			Scope:        Scope(na.Scope),
			Label:        na.Label,
			Flags:        uint32(na.Flags),
			PreferredLft: uint32(na.PreferedLft),
			ValidLft:     uint32(na.ValidLft),
		}
		if na.Peer != nil {
			if p := toAddr(na.Peer.IP); p != addr {
				st.Peer = p
			}
		}
		return st, true, nil
	}
	return State{}, false, nil
}

func (m *Manager) link(dev string) (netlink.Link, error) {
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

func toAddr(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
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

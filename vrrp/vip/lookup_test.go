package vip

import (
	"net"
	"net/netip"

	"github.com/lvs-ha/lvs-ha/internal/nldump"
	"github.com/vishvananda/netlink"
)

// The tests read the kernel's view of an address back with Lookup.

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
	list, err := nldump.Addrs(m.h, link, family)
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

func toAddr(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}

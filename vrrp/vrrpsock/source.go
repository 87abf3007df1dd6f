package vrrpsock

import (
	"fmt"
	"net/netip"

	"github.com/lvs-ha/lvs-ha/internal/nldump"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ifAddr is one address of an interface as the kernel lists it.
type ifAddr struct {
	Addr  netip.Addr
	Flags int // IFA_F_* flags
}

// pickSource chooses the default source address among an interface's addresses,
// listed in kernel order:
//   - IPv4: the first primary (non-secondary) address, as keepalived uses;
//   - IPv6: the first link-local address whose duplicate address detection did not
//     fail, preferring one that is no longer tentative (a tentative address cannot
//     be used as a source until DAD completes).
func pickSource(addrs []ifAddr, ipv6 bool) (netip.Addr, bool) {
	if !ipv6 {
		for _, a := range addrs {
			if a.Addr.Is4() && a.Flags&unix.IFA_F_SECONDARY == 0 {
				return a.Addr, true
			}
		}
		return netip.Addr{}, false
	}
	var tentative netip.Addr
	for _, a := range addrs {
		if !a.Addr.Is6() || a.Addr.Is4In6() || !a.Addr.IsLinkLocalUnicast() || a.Flags&unix.IFA_F_DADFAILED != 0 {
			continue
		}
		if a.Flags&unix.IFA_F_TENTATIVE == 0 {
			return a.Addr, true
		}
		if !tentative.IsValid() {
			tentative = a.Addr
		}
	}
	return tentative, tentative.IsValid()
}

// defaultSource looks up the interface's addresses (in the calling thread's network
// namespace) and picks the default source address.
func defaultSource(link netlink.Link, ipv6 bool) (netip.Addr, error) {
	family := netlink.FAMILY_V4
	if ipv6 {
		family = netlink.FAMILY_V6
	}
	list, err := nldump.Addrs(nil, link, family)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("vrrpsock: list addresses of %s: %w", link.Attrs().Name, err)
	}
	addrs := make([]ifAddr, 0, len(list))
	for _, a := range list {
		if a.IPNet == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		addrs = append(addrs, ifAddr{Addr: ip.Unmap(), Flags: a.Flags})
	}
	src, ok := pickSource(addrs, ipv6)
	if !ok {
		kind := "primary IPv4 address"
		if ipv6 {
			kind = "IPv6 link-local address"
		}
		return netip.Addr{}, fmt.Errorf("vrrpsock: %s has no %s: %w", link.Attrs().Name, kind, ErrNoSource)
	}
	return src, nil
}

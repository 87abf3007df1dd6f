// Package nldump reads rtnetlink dumps (addresses, links, neighbours) whole: the
// kernel marks a dump interrupted when the table changed while it was read, and
// github.com/vishvananda/netlink then returns a partial list with
// netlink.ErrDumpInterrupted.
package nldump

import (
	"errors"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// tries bounds the retries of a dump that keeps being interrupted.
const tries = 5

// Retry calls dump until it returns something other than netlink.ErrDumpInterrupted,
// at most a few times, and returns its last result.
func Retry[T any](dump func() ([]T, error)) ([]T, error) {
	var list []T
	var err error
	for range tries {
		if list, err = dump(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return list, err
}

// Addrs lists the addresses of link of family (netlink.FAMILY_V4, _V6 or _ALL)
// through h, or in the calling thread's network namespace when h is nil.
func Addrs(h *netlink.Handle, link netlink.Link, family int) ([]netlink.Addr, error) {
	if h == nil {
		h = &netlink.Handle{}
	}
	return Retry(func() ([]netlink.Addr, error) { return h.AddrList(link, family) })
}

// Prefixes is [Addrs] as prefixes (address with its prefix length, IPv4 unmapped).
func Prefixes(h *netlink.Handle, link netlink.Link, family int) ([]netip.Prefix, error) {
	list, err := Addrs(h, link, family)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(list))
	for _, a := range list {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		bits, _ := a.Mask.Size()
		out = append(out, netip.PrefixFrom(ip.Unmap(), bits))
	}
	return out, nil
}

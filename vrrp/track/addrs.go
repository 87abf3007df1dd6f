package track

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"

	"github.com/lvs-ha/lvs-ha/internal/nldump"
)

// AddrEvent is an address assigned to (or, Deleted, removed from) the link
// with index Index.
type AddrEvent struct {
	Index   int
	Addr    netip.Addr
	Deleted bool
}

func addrOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// WatchAddrs reports the addresses of a network namespace (opts.Namespace,
// nil: the caller's) until ctx is done, like WatchLinks: onSync gets a full
// dump first and again after each resubscription, onEvent every change in
// between.
func WatchAddrs(ctx context.Context, opts WatchOptions, onSync func([]AddrEvent), onEvent func(AddrEvent)) error {
	return watch(ctx, opts, "address",
		func(ch chan netlink.AddrUpdate, done chan struct{}, onErr func(error)) error {
			return netlink.AddrSubscribeWithOptions(ch, done, netlink.AddrSubscribeOptions{Namespace: opts.Namespace, ErrorCallback: onErr})
		},
		func() ([]AddrEvent, error) {
			h, closeH, err := handle(opts.Namespace)
			if err != nil {
				return nil, err
			}
			defer closeH()
			addrs, err := nldump.Retry(func() ([]netlink.Addr, error) { return h.AddrList(nil, netlink.FAMILY_ALL) })
			if err != nil {
				return nil, fmt.Errorf("list addresses: %w", err)
			}
			evs := make([]AddrEvent, 0, len(addrs))
			for _, a := range addrs {
				if a.IPNet != nil {
					evs = append(evs, AddrEvent{Index: a.LinkIndex, Addr: addrOf(a.IP)})
				}
			}
			return evs, nil
		},
		func(u netlink.AddrUpdate) AddrEvent {
			return AddrEvent{Index: u.LinkIndex, Addr: addrOf(u.LinkAddress.IP), Deleted: !u.NewAddr}
		}, onSync, onEvent)
}

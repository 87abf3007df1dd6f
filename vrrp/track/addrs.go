package track

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/lvs-ha/lvs-ha/internal/clock"
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

// WatchAddrs reports the addresses of the network namespace until ctx is
// done, like WatchLinks: onSync gets a full dump first and again after each
// resubscription, onEvent every change in between. opts.Namespace is not
// supported (the caller's namespace is watched).
func WatchAddrs(ctx context.Context, opts WatchOptions, onSync func([]AddrEvent), onEvent func(AddrEvent)) error {
	clk := clock.OrReal(opts.Clock)
	delay := opts.RetryDelay
	if delay <= 0 {
		delay = time.Second
	}
	report := func(err error) {
		if opts.OnError != nil {
			opts.OnError(err)
		}
	}
	for {
		lost, err := watchAddrsOnce(ctx, report, onSync, onEvent)
		if err != nil || !lost {
			return err
		}
		report(errors.New("address subscription lost, resubscribing"))
		t := clk.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C():
		}
	}
}

func watchAddrsOnce(ctx context.Context, report func(error), onSync func([]AddrEvent), onEvent func(AddrEvent)) (lost bool, err error) {
	ch := make(chan netlink.AddrUpdate, 64)
	done := make(chan struct{})
	var closed atomic.Bool
	so := netlink.AddrSubscribeOptions{ErrorCallback: func(err error) {
		if !closed.Load() {
			report(err)
		}
	}}
	if err := netlink.AddrSubscribeWithOptions(ch, done, so); err != nil {
		return false, fmt.Errorf("subscribe to address updates: %w", err)
	}
	stop := func() {
		closed.Store(true)
		close(done)
		for range ch {
		}
	}
	addrs, err := nldump.Retry(func() ([]netlink.Addr, error) { return netlink.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		stop()
		return false, fmt.Errorf("list addresses: %w", err)
	}
	evs := make([]AddrEvent, 0, len(addrs))
	for _, a := range addrs {
		if a.IPNet != nil {
			evs = append(evs, AddrEvent{Index: a.LinkIndex, Addr: addrOf(a.IP)})
		}
	}
	onSync(evs)
	for {
		select {
		case <-ctx.Done():
			stop()
			return false, ctx.Err()
		case u, ok := <-ch:
			if !ok {
				closed.Store(true)
				close(done)
				return true, nil
			}
			onEvent(AddrEvent{Index: u.LinkIndex, Addr: addrOf(u.LinkAddress.IP), Deleted: !u.NewAddr})
		}
	}
}

package daemon

import (
	"context"
	"net/netip"

	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/vishvananda/netns"
)

// addrWatcher reports the host's local addresses: update gets the whole set
// after each change (the first calls follow the initial dump). It runs until
// ctx ends.
type addrWatcher func(ctx context.Context, update func(map[netip.Addr]bool)) error

// netlinkAddrs watches the addresses of namespace ns (nil: the current one)
// with track.WatchAddrs (a dump, then rtnetlink notifications, renewed when
// the kernel drops the subscription). An address on several interfaces is
// local until it is gone from all.
func netlinkAddrs(ns *netns.NsHandle) addrWatcher {
	return func(ctx context.Context, update func(map[netip.Addr]bool)) error {
		on := map[netip.Addr]map[int]bool{}
		apply := func(e track.AddrEvent) {
			switch {
			case !e.Addr.IsValid():
			case !e.Deleted:
				if on[e.Addr] == nil {
					on[e.Addr] = map[int]bool{}
				}
				on[e.Addr][e.Index] = true
			case on[e.Addr] != nil:
				delete(on[e.Addr], e.Index)
				if len(on[e.Addr]) == 0 {
					delete(on, e.Addr)
				}
			}
		}
		report := func() {
			set := make(map[netip.Addr]bool, len(on))
			for a := range on {
				set[a] = true
			}
			update(set)
		}
		return track.WatchAddrs(ctx, track.WatchOptions{Namespace: ns},
			func(evs []track.AddrEvent) {
				clear(on)
				for _, e := range evs {
					apply(e)
				}
				report()
			},
			func(e track.AddrEvent) { apply(e); report() })
	}
}

// suspendChecks is keepalived's ha_suspend: the checks of a virtual server
// with ha_suspend are suspended (not run, their state kept) while none of its
// addresses is local, and run again when one is. Until the first address set
// arrives no address is local.
func (l *lvs) suspendChecks() {
	want := map[string]bool{}
	for _, vs := range l.state.vss {
		if !vs.v.HASuspend {
			continue
		}
		present := false
		for _, s := range vs.services {
			present = present || (s.Key.Addr.IsValid() && l.addrs[s.Key.Addr])
		}
		if present {
			continue
		}
		for _, rs := range vs.rss {
			for _, cs := range rs.checks {
				want[cs.info.ID] = true
			}
		}
	}
	for id := range want {
		if l.health.Suspend(id, true) {
			l.log.Info("suspending healthchecker (ha_suspend: no virtual server address is local)", "check", id)
		}
	}
	for id := range l.suspended {
		if !want[id] && l.health.Suspend(id, false) {
			l.log.Info("activating healthchecker (ha_suspend: a virtual server address is local)", "check", id)
		}
	}
	l.suspended = want
}

// haSuspend reports whether a virtual server uses ha_suspend (keepalived's
// using_ha_suspend): only then are addresses watched.
func (s *lvsState) haSuspend() bool {
	for _, vs := range s.vss {
		if vs.v.HASuspend {
			return true
		}
	}
	return false
}

// watchAddrs starts the address watcher under ctx once a configuration uses
// ha_suspend; its updates go to Run's inbox.
func (l *lvs) watchAddrs(ctx context.Context) {
	if l.watching || !l.state.haSuspend() {
		return
	}
	l.watching = true
	go func() {
		err := l.addrWatch(ctx, func(set map[netip.Addr]bool) {
			l.mu.Lock()
			l.newAddrs = set
			l.mu.Unlock()
			l.kick()
		})
		if err != nil && ctx.Err() == nil {
			l.log.Error("ha_suspend: address watch failed; checks stay as they are", "error", err)
		}
	}()
}

package track

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/nldump"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/lvs-ha/lvs-ha/internal/clock"
)

// LinkUp is keepalived's IF_FLAGS_UP: both IFF_UP and IFF_RUNNING are set.
func LinkUp(rawFlags uint32) bool {
	const want = unix.IFF_UP | unix.IFF_RUNNING
	return rawFlags&want == want
}

// EventFromUpdate maps an rtnetlink link notification to a LinkEvent.
func EventFromUpdate(u netlink.LinkUpdate) LinkEvent {
	ev := LinkEvent{
		Index:   int(u.Index),
		Up:      LinkUp(u.Flags),
		Deleted: u.Header.Type == unix.RTM_DELLINK,
	}
	if u.Link != nil {
		ev.Name = u.Link.Attrs().Name
		if ev.Index == 0 {
			ev.Index = u.Link.Attrs().Index
		}
	}
	return ev
}

// EventFromLink maps a link from a dump to a LinkEvent.
func EventFromLink(l netlink.Link) LinkEvent {
	a := l.Attrs()
	return LinkEvent{Index: a.Index, Name: a.Name, Up: LinkUp(a.RawFlags)}
}

// WatchOptions configures WatchLinks.
type WatchOptions struct {
	// Namespace to watch; nil means the caller's network namespace.
	Namespace *netns.NsHandle
	// OnError, if set, receives non-fatal errors (a lost subscription, a bad message).
	OnError func(error)
	// Clock times the pause before resubscribing; nil means the real clock.
	Clock clock.Clock
	// RetryDelay is that pause; 0 means one second.
	RetryDelay time.Duration
}

// WatchLinks reports the links of a network namespace until ctx is done: onSync gets
// a full dump first and again after each resubscription (the kernel drops
// notifications when a socket's buffer overflows), and onEvent gets every link
// notification in between. The callbacks run on WatchLinks' goroutine. It returns
// ctx.Err(), or an error if subscribing or dumping fails.
func WatchLinks(ctx context.Context, opts WatchOptions, onSync func([]LinkEvent), onEvent func(LinkEvent)) error {
	return watch(ctx, opts, "link",
		func(ch chan netlink.LinkUpdate, done chan struct{}, onErr func(error)) error {
			return netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{Namespace: opts.Namespace, ErrorCallback: onErr})
		},
		func() ([]LinkEvent, error) {
			links, err := listLinks(opts.Namespace)
			evs := make([]LinkEvent, 0, len(links))
			for _, l := range links {
				evs = append(evs, EventFromLink(l))
			}
			return evs, err
		},
		EventFromUpdate, onSync, onEvent)
}

// watch is WatchLinks and WatchAddrs: subscribe to what's notifications,
// then dump (so no change falls between the two) and report the dump to
// onSync and each notification, converted by event, to onEvent (either may
// be nil); when the kernel drops the subscription, report that through
// opts.OnError and start again after opts.RetryDelay.
func watch[U, E any](ctx context.Context, opts WatchOptions, what string,
	subscribe func(ch chan U, done chan struct{}, onErr func(error)) error,
	list func() ([]E, error), event func(U) E, onSync func([]E), onEvent func(E)) error {
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
		lost, err := watchOnce(ctx, what, report, subscribe, list, event, onSync, onEvent)
		if err != nil || !lost {
			return err
		}
		report(fmt.Errorf("%s subscription lost, resubscribing", what))
		t := clk.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C():
		}
	}
}

// watchOnce runs one subscription; lost reports that it ended without ctx being done.
func watchOnce[U, E any](ctx context.Context, what string, report func(error),
	subscribe func(ch chan U, done chan struct{}, onErr func(error)) error,
	list func() ([]E, error), event func(U) E, onSync func([]E), onEvent func(E)) (lost bool, err error) {
	ch := make(chan U, 64)
	done := make(chan struct{})
	// Errors after we close the subscription (the receiver's socket read failing
	// because we closed it) are not worth reporting.
	var closed atomic.Bool
	if err := subscribe(ch, done, func(err error) {
		if !closed.Load() {
			report(err)
		}
	}); err != nil {
		return false, fmt.Errorf("subscribe to %s updates: %w", what, err)
	}
	stop := func() {
		closed.Store(true)
		close(done)
		for range ch { // let the receiver goroutine exit
		}
	}
	evs, err := list()
	if err != nil {
		stop()
		return false, err
	}
	if onSync != nil {
		onSync(evs)
	}
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
			if onEvent != nil {
				onEvent(event(u))
			}
		}
	}
}

// handle is a netlink handle in ns (nil: the current namespace) and its closer.
func handle(ns *netns.NsHandle) (*netlink.Handle, func(), error) {
	if ns == nil {
		return &netlink.Handle{}, func() {}, nil
	}
	h, err := netlink.NewHandleAt(*ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, nil, fmt.Errorf("netlink handle in namespace: %w", err)
	}
	return h, h.Close, nil
}

// listLinks dumps the links of ns (nil: current namespace), retrying a dump the
// kernel reports as interrupted, since an incomplete dump would fail absent links.
func listLinks(ns *netns.NsHandle) ([]netlink.Link, error) {
	h, closeH, err := handle(ns)
	if err != nil {
		return nil, err
	}
	defer closeH()
	links, err := nldump.Retry(h.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	return links, nil
}

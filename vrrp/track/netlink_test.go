package track

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

func TestLinkUp(t *testing.T) {
	tests := []struct {
		flags uint32
		want  bool
	}{
		{0, false},
		{unix.IFF_UP, false},
		{unix.IFF_RUNNING, false},
		{unix.IFF_UP | unix.IFF_RUNNING, true},
		{unix.IFF_UP | unix.IFF_RUNNING | unix.IFF_LOWER_UP | unix.IFF_BROADCAST, true},
	}
	for _, tt := range tests {
		if got := LinkUp(tt.flags); got != tt.want {
			t.Errorf("LinkUp(%#x) = %v", tt.flags, got)
		}
	}
}

func TestEventFromUpdate(t *testing.T) {
	mk := func(typ uint16, idx int32, flags uint32, name string) netlink.LinkUpdate {
		u := netlink.LinkUpdate{Link: &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: name, Index: int(idx)}}}
		u.Header.Type = typ
		u.IfInfomsg = nl.IfInfomsg{IfInfomsg: unix.IfInfomsg{Index: idx, Flags: flags}}
		return u
	}
	tests := []struct {
		u    netlink.LinkUpdate
		want LinkEvent
	}{
		{mk(unix.RTM_NEWLINK, 3, unix.IFF_UP|unix.IFF_RUNNING, "eth0"), LinkEvent{Index: 3, Name: "eth0", Up: true}},
		{mk(unix.RTM_NEWLINK, 3, unix.IFF_UP, "eth0"), LinkEvent{Index: 3, Name: "eth0"}},
		{mk(unix.RTM_DELLINK, 3, unix.IFF_UP|unix.IFF_RUNNING, "eth0"), LinkEvent{Index: 3, Name: "eth0", Up: true, Deleted: true}},
	}
	for _, tt := range tests {
		if got := EventFromUpdate(tt.u); got != tt.want {
			t.Errorf("EventFromUpdate = %+v, want %+v", got, tt.want)
		}
	}
	if got := EventFromUpdate(netlink.LinkUpdate{}); got != (LinkEvent{}) {
		t.Errorf("empty update: %+v", got)
	}
	l := &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "d0", Index: 5, RawFlags: unix.IFF_UP | unix.IFF_RUNNING}}
	if got := EventFromLink(l); got != (LinkEvent{Index: 5, Name: "d0", Up: true}) {
		t.Errorf("EventFromLink = %+v", got)
	}
}

func TestWatchLinksNetns(t *testing.T) {
	ns := netns.New(t).Handle()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	tr, err := NewInterfaceTracker(InterfaceConfig{Name: "trk0"})
	if err != nil {
		t.Fatal(err)
	}
	// The watcher's callbacks hand work to this goroutine, which owns the tracker.
	type upd struct {
		sync []LinkEvent
		ev   *LinkEvent
	}
	updates := make(chan upd, 128)
	watchCtx, stop := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		errc <- WatchLinks(watchCtx, WatchOptions{Namespace: &ns, OnError: func(err error) { t.Logf("watch: %v", err) }},
			func(evs []LinkEvent) { updates <- upd{sync: evs} },
			func(ev LinkEvent) { updates <- upd{ev: &ev} })
	}()

	// apply feeds one update to the tracker and returns the event's link name.
	apply := func(u upd) string {
		if u.sync != nil {
			tr.Sync(u.sync)
			return ""
		}
		tr.Apply(*u.ev)
		return u.ev.Name
	}
	// Wait for the initial dump.
	select {
	case u := <-updates:
		if u.sync == nil {
			t.Fatalf("first update is not a dump: %+v", u.ev)
		}
		apply(u)
	case <-ctx.Done():
		t.Fatal("no initial dump")
	}
	if tr.State() != StateFail {
		t.Fatalf("trk0 absent: tracker %v", tr.State())
	}
	lo, err := h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	mtu := lo.Attrs().MTU
	// barrier changes lo and applies updates until lo's notification arrives: the
	// kernel's notifications are ordered, so every earlier change has been applied.
	barrier := func(what string) {
		t.Helper()
		if mtu == 65536 {
			mtu--
		} else {
			mtu++
		}
		if err := h.LinkSetMTU(lo, mtu); err != nil {
			t.Fatalf("%s: barrier: %v", what, err)
		}
		for {
			select {
			case u := <-updates:
				if apply(u) == "lo" {
					return
				}
			case <-ctx.Done():
				t.Fatalf("%s: barrier notification missing", what)
			}
		}
	}

	// A veth pair (dummy may be missing from the host kernel): trk0 is running only
	// while both ends are up, which exercises carrier (IFF_RUNNING) tracking.
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "trk0"}, PeerName: "trk0p"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	link, err := h.LinkByName("trk0")
	if err != nil {
		t.Fatal(err)
	}
	peer, err := h.LinkByName("trk0p")
	if err != nil {
		t.Fatal(err)
	}
	barrier("created down")
	if tr.State() != StateFail || tr.Index() != link.Attrs().Index {
		t.Fatalf("created down: tracker %v index %d", tr.State(), tr.Index())
	}
	// await applies updates until the tracker reaches want. Carrier (IFF_RUNNING)
	// changes reach rtnetlink asynchronously through the kernel's linkwatch work,
	// so a barrier is not enough for them.
	await := func(what string, want State) {
		t.Helper()
		for tr.State() != want {
			select {
			case u := <-updates:
				apply(u)
			case <-ctx.Done():
				t.Fatalf("%s: tracker %v, want %v", what, tr.State(), want)
			}
		}
	}

	if err := h.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	barrier("up without carrier")
	if tr.State() != StateFail {
		t.Fatalf("up without carrier: tracker %v", tr.State())
	}
	steps := []struct {
		what string
		do   func() error
		want State
	}{
		{"peer up: carrier", func() error { return h.LinkSetUp(peer) }, StateOK},
		{"peer down: carrier lost", func() error { return h.LinkSetDown(peer) }, StateFail},
		{"peer up again", func() error { return h.LinkSetUp(peer) }, StateOK},
		{"admin down", func() error { return h.LinkSetDown(link) }, StateFail},
		{"admin up", func() error { return h.LinkSetUp(link) }, StateOK},
		{"deleted", func() error { return h.LinkDel(link) }, StateFail},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		await(s.what, s.want)
		if s.want == StateOK && tr.Index() != link.Attrs().Index {
			t.Fatalf("%s: index %d, want %d", s.what, tr.Index(), link.Attrs().Index)
		}
	}
	barrier("deleted")
	if tr.Index() != 0 {
		t.Fatalf("deleted link still indexed: %d", tr.Index())
	}

	stop()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("WatchLinks returned %v", err)
	}
}

package iproute

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestWatchDeletionsFilter: the deletion watch's socket queues the
// deletion of an address and its routes, and nothing of their addition
// (which would wake its reader on a VRRP takeover's path to its GARP).
func TestWatchDeletionsFilter(t *testing.T) {
	ns, h, link := watchLab(t)
	var fd int
	if err := ns.Do(func() error {
		s, err := subscribeDeletions()
		if err != nil {
			return err
		}
		t.Cleanup(s.Close)
		fd = s.GetFd()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The filter is attached after the socket subscribed (subscribeDeletions):
	// what the lab's link coming up announced in between (its IPv6 routes,
	// RTM_NEWROUTE) may be queued unfiltered; it is not this test's.
	queuedTypes(t, fd)
	addr, _ := netlink.ParseAddr("192.0.2.100/24")
	if err := h.AddrAdd(link, addr); err != nil {
		t.Fatal(err)
	}
	if types := queuedTypes(t, fd); len(types) != 0 {
		t.Errorf("after an address add, queued message types %v, want none", types)
	}
	if err := h.AddrDel(link, addr); err != nil {
		t.Fatal(err)
	}
	types := queuedTypes(t, fd)
	if len(types) == 0 {
		t.Fatal("after an address delete, nothing queued")
	}
	for _, typ := range types {
		if typ != unix.RTM_DELADDR && typ != unix.RTM_DELROUTE {
			t.Errorf("after an address delete, queued message type %d, want only RTM_DELADDR and RTM_DELROUTE", typ)
		}
	}
}

// queuedTypes reads (without waiting) the messages queued on fd and
// returns their types (the kernel queues notifications before the request
// that caused them returns).
func queuedTypes(t *testing.T, fd int) []uint16 {
	t.Helper()
	var types []uint16
	buf := make([]byte, 65536)
	for {
		n, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		if err == unix.EAGAIN {
			return types
		}
		if err != nil {
			t.Fatal(err)
		}
		for b := buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(binary.NativeEndian.Uint32(b))
			types = append(types, binary.NativeEndian.Uint16(b[4:]))
			b = b[min(len(b), max(l, unix.NLMSG_HDRLEN)+3&^3):]
		}
	}
}

// TestWatchDeletionsNetns: WatchDeletions calls onDelete when an address
// is deleted.
func TestWatchDeletionsNetns(t *testing.T) {
	ns, h, link := watchLab(t)
	addr, _ := netlink.ParseAddr("192.0.2.100/24")
	if err := h.AddrAdd(link, addr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	deleted, done := make(chan struct{}, 1), make(chan error, 1)
	go func() {
		done <- ns.Do(func() error {
			return WatchDeletions(ctx, func() {
				select {
				case deleted <- struct{}{}:
				default:
				}
			})
		})
	}()
	// The watch subscribes at some point after the goroutine starts: delete
	// (and re-add) the address until it reports a deletion.
	timeout := time.After(5 * time.Second)
	for del := true; ; del = !del {
		op := h.AddrAdd
		if del {
			op = h.AddrDel
		}
		if err := op(link, addr); err != nil {
			t.Fatal(err)
		}
		select {
		case <-deleted:
		case <-timeout:
			t.Fatal("no onDelete within 5 s of address deletes")
		case <-time.After(10 * time.Millisecond):
			continue
		}
		break
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// watchLab is a new namespace with a handle in it and a veth pair up.
func watchLab(t *testing.T) (*netns.NS, *netlink.Handle, netlink.Link) {
	t.Helper()
	ns := netns.New(t)
	h := ns.Netlink(t)
	return ns, h, netns.AddVethUp(t, h, "wd0", "wdpeer0", nil)
}

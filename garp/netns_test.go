//go:build linux

package garp

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/netns"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// These tests need root: they create two network namespaces joined by a veth
// pair (A sends, B receives) and check the frames on the wire and their
// effect on B's neighbour table. The namespaces are unnamed (nothing in
// /run/netns), so they vanish with the test process even if it crashes.

var (
	vip4      = netip.MustParseAddr("192.0.2.10")
	vip6      = netip.MustParseAddr("2001:db8::10")
	macA      = net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x01, 0x0a}
	macB      = net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x01, 0x0b}
	macOther  = net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x01, 0x99}
	waitLimit = 5 * time.Second
)

type vethEnv struct {
	nsA, nsB   *netns.NS
	hA, hB     *netlink.Handle
	ifA, ifB   string
	linkB      netlink.Link
	announcer  *Announcer
	captureARP *packet.Conn // on B
	captureNA  *packet.Conn // on B
}

func newVethEnv(t *testing.T) *vethEnv {
	t.Helper()
	e := &vethEnv{nsA: netns.New(t), nsB: netns.New(t)}
	base := fmt.Sprintf("gt%d%04x", os.Getpid()%1000000, rand.IntN(0x10000))
	e.ifA, e.ifB = base+"a", base+"b"

	var err error
	if e.hA, err = netlink.NewHandleAt(e.nsA.Handle(), unix.NETLINK_ROUTE); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.hA.Close)
	if e.hB, err = netlink.NewHandleAt(e.nsB.Handle(), unix.NETLINK_ROUTE); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.hB.Close)

	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: e.ifA, HardwareAddr: macA},
		PeerName:         e.ifB,
		PeerHardwareAddr: macB,
		PeerNamespace:    netlink.NsFd(e.nsB.Handle()),
	}
	if err := e.hA.LinkAdd(veth); err != nil {
		t.Fatalf("add veth: %v", err)
	}
	t.Cleanup(func() {
		if l, err := e.hA.LinkByName(e.ifA); err == nil {
			_ = e.hA.LinkDel(l) // deletes the peer too
		}
	})

	setup := func(h *netlink.Handle, ns *netns.NS, name, v4, v6 string) netlink.Link {
		if err := ns.Do(func() error {
			return netns.WriteSysctl("net.ipv6.conf."+name+".accept_dad", "0")
		}); err != nil {
			t.Fatal(err)
		}
		l, err := h.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []struct {
			cidr  string
			flags int
		}{{v4, 0}, {v6, unix.IFA_F_NODAD}} {
			addr, err := netlink.ParseAddr(a.cidr)
			if err != nil {
				t.Fatal(err)
			}
			addr.Flags = a.flags
			if err := h.AddrAdd(l, addr); err != nil {
				t.Fatalf("%s: add %s: %v", name, a.cidr, err)
			}
		}
		if err := h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	setup(e.hA, e.nsA, e.ifA, "192.0.2.10/24", "2001:db8::10/64")
	e.linkB = setup(e.hB, e.nsB, e.ifB, "192.0.2.2/24", "2001:db8::2/64")

	// Until the link watcher marks the links up and attaches a qdisc,
	// frames are silently dropped: wait for operstate up on both ends.
	waitFor(t, "veth up", func() (bool, error) {
		la, err := e.hA.LinkByName(e.ifA)
		if err != nil {
			return false, err
		}
		lb, err := e.hB.LinkByName(e.ifB)
		if err != nil {
			return false, err
		}
		return la.Attrs().OperState == netlink.OperUp && lb.Attrs().OperState == netlink.OperUp, nil
	})

	// Capture sockets on B, opened in B's namespace.
	if err := e.nsB.Do(func() error {
		ifi := &net.Interface{Index: e.linkB.Attrs().Index, Name: e.ifB}
		var err error
		if e.captureARP, err = packet.Listen(ifi, packet.Raw, etherTypeARP, nil); err != nil {
			return err
		}
		e.captureNA, err = packet.Listen(ifi, packet.Raw, etherTypeIPv6, nil)
		return err
	}); err != nil {
		t.Fatalf("capture sockets: %v", err)
	}
	t.Cleanup(func() { e.captureARP.Close(); e.captureNA.Close() })

	e.announcer = NewAnnouncer(AnnouncerConfig{})
	t.Cleanup(func() { e.announcer.Close() })
	return e
}

// waitFor polls cond until it holds, failing the test after waitLimit.
// It waits for asynchronous kernel work (link watch, softirq), not for time.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v", what, waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// send sends one announcement from A (inside A's namespace).
func (e *vethEnv) send(t *testing.T, addr netip.Addr) error {
	t.Helper()
	return e.nsA.Do(func() error {
		return e.announcer.Send(Announcement{At: time.Now(), Interface: e.ifA, Addr: addr})
	})
}

// capture reads frames from c until match accepts one.
func capture(t *testing.T, c *packet.Conn, match func([]byte) bool) []byte {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("capture: %v", err)
		}
		if match(buf[:n]) {
			return bytes.Clone(buf[:n])
		}
	}
}

func (e *vethEnv) captureARPFor(t *testing.T, ip netip.Addr) decodedARP {
	t.Helper()
	var d decodedARP
	capture(t, e.captureARP, func(b []byte) bool {
		x, err := decodeARP(b)
		if err != nil || x.arp.SenderIP != ip || !bytes.Equal(x.eth.Source, macA) {
			return false
		}
		d = x
		return true
	})
	return d
}

func (e *vethEnv) captureNAFor(t *testing.T, ip netip.Addr) decodedNA {
	t.Helper()
	var d decodedNA
	capture(t, e.captureNA, func(b []byte) bool {
		x, err := decodeNA(b)
		if err != nil || x.na.TargetAddress != ip || !bytes.Equal(x.eth.Source, macA) {
			return false
		}
		d = x
		return true
	})
	return d
}

// neighB returns B's neighbour entry for ip, or nil.
func (e *vethEnv) neighB(t *testing.T, ip netip.Addr) *netlink.Neigh {
	t.Helper()
	family := netlink.FAMILY_V4
	if ip.Is6() {
		family = netlink.FAMILY_V6
	}
	ns, err := e.hB.NeighList(e.linkB.Attrs().Index, family)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ns {
		if a, ok := netip.AddrFromSlice(ns[i].IP); ok && a.Unmap() == ip {
			return &ns[i]
		}
	}
	return nil
}

// setMAC gives interface A the hardware address mac and returns its link.
func (e *vethEnv) setMAC(t *testing.T, mac net.HardwareAddr) netlink.Link {
	t.Helper()
	link, err := e.hA.LinkByName(e.ifA)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.hA.LinkSetHardwareAddr(link, mac); err != nil {
		t.Fatal(err)
	}
	return link
}

func (e *vethEnv) addStaleNeighB(t *testing.T, ip netip.Addr, mac net.HardwareAddr) {
	t.Helper()
	family := netlink.FAMILY_V4
	if ip.Is6() {
		family = netlink.FAMILY_V6
	}
	err := e.hB.NeighAdd(&netlink.Neigh{
		LinkIndex:    e.linkB.Attrs().Index,
		Family:       family,
		State:        netlink.NUD_STALE,
		IP:           net.IP(ip.AsSlice()),
		HardwareAddr: mac,
	})
	if err != nil {
		t.Fatalf("add neighbour %s: %v", ip, err)
	}
	n := e.neighB(t, ip)
	if n == nil || n.State != netlink.NUD_STALE || !bytes.Equal(n.HardwareAddr, mac) {
		t.Fatalf("neighbour %s after add: %+v", ip, n)
	}
}

// waitNeighMAC waits until B's entry for ip has mac and returns it.
func (e *vethEnv) waitNeighMAC(t *testing.T, ip netip.Addr, mac net.HardwareAddr) *netlink.Neigh {
	t.Helper()
	var n *netlink.Neigh
	waitFor(t, fmt.Sprintf("neighbour %s -> %s", ip, mac), func() (bool, error) {
		n = e.neighB(t, ip)
		return n != nil && bytes.Equal(n.HardwareAddr, mac), nil
	})
	return n
}

func TestAnnouncerNetns(t *testing.T) {
	e := newVethEnv(t)

	t.Run("Prepare opens the ARP socket before the first Send", func(t *testing.T) {
		if err := e.nsA.Do(func() error { return e.announcer.Prepare(e.ifA) }); err != nil {
			t.Fatal(err)
		}
		e.announcer.mu.Lock()
		ic := e.announcer.ifaces[e.ifA]
		e.announcer.mu.Unlock()
		if ic == nil || ic.arp == nil {
			t.Fatalf("no ARP socket for %s after Prepare", e.ifA)
		}
		if err := e.nsA.Do(func() error { return e.announcer.Prepare("nosuch0") }); err == nil {
			t.Error("Prepare on a missing interface: no error")
		}
	})

	t.Run("gratuitous ARP on the wire", func(t *testing.T) {
		if err := e.send(t, vip4); err != nil {
			t.Fatal(err)
		}
		d := e.captureARPFor(t, vip4)
		if err := d.check(macA, vip4); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("unsolicited NA on the wire", func(t *testing.T) {
		if err := e.send(t, vip6); err != nil {
			t.Fatal(err)
		}
		d := e.captureNAFor(t, vip6)
		if err := d.check(macA, vip6, false); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("NA router flag follows ipv6 forwarding", func(t *testing.T) {
		fwd := "net.ipv6.conf." + e.ifA + ".forwarding"
		if err := e.nsA.Do(func() error { return netns.WriteSysctl(fwd, "1") }); err != nil {
			t.Fatal(err)
		}
		defer e.nsA.Do(func() error { return netns.WriteSysctl(fwd, "0") })
		if err := e.send(t, vip6); err != nil {
			t.Fatal(err)
		}
		if err := e.captureNAFor(t, vip6).check(macA, vip6, true); err != nil {
			t.Fatal(err)
		}
	})

	// Kernel behaviour (net/ipv4/arp.c arp_process): a gratuitous ARP
	// (sender IP == target IP) overrides the address of an existing entry
	// even within locktime and leaves it STALE (requests never confirm
	// reachability). It creates no entry unless arp_accept is set.
	t.Run("GARP updates an existing STALE entry, creates none by default", func(t *testing.T) {
		absent := netip.MustParseAddr("192.0.2.20")
		e.addStaleNeighB(t, vip4, macOther)
		// Frames from one socket are processed in order (the veth delivers
		// within the sender's softirq), so once vip4's update is visible,
		// the earlier GARP for absent was processed too.
		if err := e.send(t, absent); err != nil {
			t.Fatal(err)
		}
		if err := e.send(t, vip4); err != nil {
			t.Fatal(err)
		}
		n := e.waitNeighMAC(t, vip4, macA)
		if n.State != netlink.NUD_STALE {
			t.Errorf("state after GARP = %s, want STALE", neighState(n.State))
		}
		if n := e.neighB(t, absent); n != nil {
			t.Errorf("GARP created an entry with arp_accept=0: %+v", n)
		}
	})

	t.Run("GARP creates an entry with arp_accept=1", func(t *testing.T) {
		ip := netip.MustParseAddr("192.0.2.21")
		if err := e.nsB.Do(func() error {
			return netns.WriteSysctl("net.ipv4.conf."+e.ifB+".arp_accept", "1")
		}); err != nil {
			t.Fatal(err)
		}
		if err := e.send(t, ip); err != nil {
			t.Fatal(err)
		}
		n := e.waitNeighMAC(t, ip, macA)
		if n.State != netlink.NUD_STALE {
			t.Errorf("state = %s, want STALE", neighState(n.State))
		}
	})

	// Kernel behaviour (net/ipv6/ndisc.c ndisc_recv_na): an unsolicited NA
	// with Override replaces the address of an existing entry and leaves it
	// STALE; with accept_untracked_na=0 (default) it creates none.
	t.Run("NA updates an existing STALE entry, creates none by default", func(t *testing.T) {
		absent := netip.MustParseAddr("2001:db8::20")
		e.addStaleNeighB(t, vip6, macOther)
		if err := e.send(t, absent); err != nil {
			t.Fatal(err)
		}
		if err := e.send(t, vip6); err != nil {
			t.Fatal(err)
		}
		n := e.waitNeighMAC(t, vip6, macA)
		if n.State != netlink.NUD_STALE {
			t.Errorf("state after NA = %s, want STALE", neighState(n.State))
		}
		if n := e.neighB(t, absent); n != nil {
			t.Errorf("NA created an entry with accept_untracked_na=0: %+v", n)
		}
	})

	t.Run("NOARP interface gets no ARP", func(t *testing.T) {
		l, err := e.hA.LinkByName(e.ifA)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.hA.LinkSetARPOff(l); err != nil {
			t.Fatal(err)
		}
		defer e.hA.LinkSetARPOn(l)
		before := e.announcer.Counters(e.ifA)
		err = e.send(t, vip4)
		if !errors.Is(err, ErrNoARP) {
			t.Fatalf("err = %v, want ErrNoARP", err)
		}
		if after := e.announcer.Counters(e.ifA); after != before {
			t.Fatalf("counters changed: %+v -> %+v", before, after)
		}
	})

	t.Run("scheduler + announcer: first burst of 5 per VIP", func(t *testing.T) {
		before := e.announcer.Counters(e.ifA)
		s := mustScheduler(t, DefaultOptions())
		now := time.Now()
		if err := s.Start(now, []VIP{{e.ifA, vip4}, {e.ifA, vip6}}); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := e.nsA.Do(func() error {
			var err error
			n, err = Flush(s, e.announcer, now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if n != 10 {
			t.Fatalf("flushed %d, want 10", n)
		}
		for range 5 {
			if err := e.captureARPFor(t, vip4).check(macA, vip4); err != nil {
				t.Fatal(err)
			}
			if err := e.captureNAFor(t, vip6).check(macA, vip6, false); err != nil {
				t.Fatal(err)
			}
		}
		after := e.announcer.Counters(e.ifA)
		if after.ARP-before.ARP != 5 || after.NA-before.NA != 5 || after.Errors != before.Errors {
			t.Fatalf("counters %+v -> %+v, want +5 ARP +5 NA", before, after)
		}
	})

	t.Run("counters", func(t *testing.T) {
		// 1 + 2 (absent, vip4) + 1 (arp_accept) + 5 ARPs; 2 + 2 + 5 NAs.
		want := Counters{ARP: 9, NA: 9}
		if got := e.announcer.Counters(e.ifA); got != want {
			t.Errorf("Counters(%s) = %+v, want %+v", e.ifA, got, want)
		}
		if got := e.announcer.Stats(); len(got) != 1 || got[e.ifA] != want {
			t.Errorf("Stats() = %+v", got)
		}
	})
}

func neighState(s int) string {
	switch s {
	case netlink.NUD_STALE:
		return "STALE"
	case netlink.NUD_REACHABLE:
		return "REACHABLE"
	case netlink.NUD_DELAY:
		return "DELAY"
	case netlink.NUD_PROBE:
		return "PROBE"
	case netlink.NUD_FAILED:
		return "FAILED"
	case netlink.NUD_PERMANENT:
		return "PERMANENT"
	default:
		return fmt.Sprintf("%#x", s)
	}
}

// TestAnnouncerRecreatedInterface: the interface lookup runs on the kept ARP
// socket; an interface deleted and recreated under the same name is seen
// with its new index and MAC, and its GARPs go out on it through a new
// socket.
func TestAnnouncerRecreatedInterface(t *testing.T) {
	ns := netns.New(t)
	h := ns.Netlink(t)
	mkVeth := func(mac net.HardwareAddr) int { return addVethG0(t, h, mac) }
	an := NewAnnouncer(AnnouncerConfig{})
	t.Cleanup(func() { an.Close() })
	first := mkVeth(macA)
	send := func() {
		t.Helper()
		if err := ns.Do(func() error { return an.Send(Announcement{Interface: "g0", Addr: vip4}) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := ns.Do(func() error { return an.Prepare("g0") }); err != nil {
		t.Fatal(err)
	}
	send()
	l, err := h.LinkByName("g0")
	if err == nil {
		err = h.LinkDel(l)
	}
	if err != nil {
		t.Fatal(err)
	}
	second := mkVeth(macOther)
	if second == first {
		t.Fatalf("recreated g0 kept index %d", first)
	}
	// The kept socket's lookup sees the new interface by name.
	an.mu.Lock()
	old := an.ifaces["g0"].arp
	an.mu.Unlock()
	rc, err := old.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var (
		info ifInfo
		lerr error
	)
	if err := rc.Control(func(fd uintptr) { info, lerr = lookupIfOn(int(fd), "g0") }); err != nil || lerr != nil {
		t.Fatalf("lookup on the kept socket: %v %v", err, lerr)
	}
	if info.index != second || !bytes.Equal(info.mac, macOther) {
		t.Fatalf("lookup on the kept socket: index %d mac %v, want %d %v", info.index, info.mac, second, macOther)
	}
	send()
	an.mu.Lock()
	ic := an.ifaces["g0"]
	an.mu.Unlock()
	if ic.index != second || ic.arp == old {
		t.Fatalf("after the recreation: socket for index %d (new socket %v), want index %d on a new socket", ic.index, ic.arp != old, second)
	}
	if c := an.Counters("g0"); c.ARP != 2 || c.Errors != 0 {
		t.Fatalf("counters %+v, want 2 ARPs", c)
	}
}

// TestAnnouncerKeptInterfaceChanges: Send keeps the interface's hardware
// address, flags and ARP frames between sends, and a change of the
// interface after that (a new MAC, the NOARP flag) is seen at the next
// Send, through the link notification socket, as keepalived sees it.
func TestAnnouncerKeptInterfaceChanges(t *testing.T) {
	e := newVethEnv(t)
	if err := e.nsA.Do(func() error { return e.announcer.Prepare(e.ifA) }); err != nil {
		t.Fatal(err)
	}
	if err := e.send(t, vip4); err != nil {
		t.Fatal(err)
	}
	if err := e.captureARPFor(t, vip4).check(macA, vip4); err != nil {
		t.Fatal(err)
	}
	e.announcer.mu.Lock()
	ic := e.announcer.ifaces[e.ifA]
	kept := ic != nil && ic.ok && ic.frames[vip4] != nil
	e.announcer.mu.Unlock()
	if !kept {
		t.Fatal("the interface and its ARP frame are not kept after a Send")
	}

	linkA := e.setMAC(t, macOther)
	if err := e.send(t, vip4); err != nil {
		t.Fatal(err)
	}
	var d decodedARP
	capture(t, e.captureARP, func(b []byte) bool {
		x, err := decodeARP(b)
		if err != nil || x.arp.SenderIP != vip4 || bytes.Equal(x.eth.Source, macA) {
			return false
		}
		d = x
		return true
	})
	if err := d.check(macOther, vip4); err != nil {
		t.Fatalf("after the MAC change: %v", err)
	}

	if err := e.hA.LinkSetARPOff(linkA); err != nil {
		t.Fatal(err)
	}
	if err := e.send(t, vip4); !errors.Is(err, ErrNoARP) {
		t.Fatalf("Send after NOARP was set: %v, want ErrNoARP", err)
	}
	if err := e.hA.LinkSetARPOn(linkA); err != nil {
		t.Fatal(err)
	}
	if err := e.send(t, vip4); err != nil {
		t.Fatalf("Send after NOARP was cleared: %v", err)
	}
}

// TestAnnouncerKeptInterfaceChangesNA is TestAnnouncerKeptInterfaceChanges
// for unsolicited NAs: Send keeps the interface's index and hardware address
// and the NA frames between sends, and a new MAC, or the interface deleted
// and recreated under its name, is seen at the next Send through the link
// notification socket.
func TestAnnouncerKeptInterfaceChangesNA(t *testing.T) {
	e := newVethEnv(t)
	if err := e.send(t, vip6); err != nil {
		t.Fatal(err)
	}
	if err := e.captureNAFor(t, vip6).check(macA, vip6, false); err != nil {
		t.Fatal(err)
	}
	e.announcer.mu.Lock()
	ic := e.announcer.ifaces[e.ifA]
	kept := ic != nil && ic.naOK && ic.naFrames[vip6].b != nil
	e.announcer.mu.Unlock()
	if !kept {
		t.Fatal("the interface and its NA frame are not kept after a Send")
	}
	if err := e.send(t, vip6); err != nil { // from the kept frame
		t.Fatal(err)
	}
	if err := e.captureNAFor(t, vip6).check(macA, vip6, false); err != nil {
		t.Fatalf("kept frame: %v", err)
	}

	e.setMAC(t, macOther)
	if err := e.send(t, vip6); err != nil {
		t.Fatal(err)
	}
	var d decodedNA
	capture(t, e.captureNA, func(b []byte) bool {
		x, err := decodeNA(b)
		if err != nil || x.na.TargetAddress != vip6 || bytes.Equal(x.eth.Source, macA) {
			return false
		}
		d = x
		return true
	})
	if err := d.check(macOther, vip6, false); err != nil {
		t.Fatalf("after the MAC change: %v", err)
	}
}

// TestAnnouncerRecreatedInterfaceNA: an interface deleted and recreated
// under the same name after an NA was sent on it is seen at the next NA: it
// goes out on the new interface, through a new socket, with its new MAC.
func TestAnnouncerRecreatedInterfaceNA(t *testing.T) {
	ns := netns.New(t)
	h := ns.Netlink(t)
	mkVeth := func(mac net.HardwareAddr) int { return addVethG0(t, h, mac) }
	an := NewAnnouncer(AnnouncerConfig{})
	t.Cleanup(func() { an.Close() })
	first := mkVeth(macA)
	send := func() {
		t.Helper()
		if err := ns.Do(func() error { return an.Send(Announcement{Interface: "g0", Addr: vip6}) }); err != nil {
			t.Fatal(err)
		}
	}
	send()
	an.mu.Lock()
	old := an.ifaces["g0"].na
	kept := an.ifaces["g0"].naOK
	an.mu.Unlock()
	if !kept {
		t.Fatal("the interface is not kept after a Send")
	}
	l, err := h.LinkByName("g0")
	if err == nil {
		err = h.LinkDel(l)
	}
	if err != nil {
		t.Fatal(err)
	}
	second := mkVeth(macOther)
	if second == first {
		t.Fatalf("recreated g0 kept index %d", first)
	}
	peer, err := h.LinkByName("g1")
	if err != nil {
		t.Fatal(err)
	}
	var capNA *packet.Conn
	if err := ns.Do(func() error {
		var err error
		capNA, err = packet.Listen(&net.Interface{Index: peer.Attrs().Index, Name: "g1"}, packet.Raw, etherTypeIPv6, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { capNA.Close() })
	waitFor(t, "g1 up", func() (bool, error) {
		l, err := h.LinkByName("g1")
		return err == nil && l.Attrs().OperState == netlink.OperUp, err
	})
	send()
	an.mu.Lock()
	ic := an.ifaces["g0"]
	an.mu.Unlock()
	if ic.index != second || ic.na == old || !bytes.Equal(ic.naInfo.mac, macOther) {
		t.Fatalf("after the recreation: socket for index %d (new socket %v, mac %v), want index %d on a new socket, mac %v", ic.index, ic.na != old, ic.naInfo.mac, second, macOther)
	}
	var d decodedNA
	capture(t, capNA, func(b []byte) bool {
		x, err := decodeNA(b)
		if err != nil || x.na.TargetAddress != vip6 {
			return false
		}
		d = x
		return true
	})
	if err := d.check(macOther, vip6, false); err != nil {
		t.Fatalf("after the recreation: %v", err)
	}
	if c := an.Counters("g0"); c.NA != 2 || c.Errors != 0 {
		t.Fatalf("counters %+v, want 2 NAs", c)
	}
}

// addVethG0 adds the veth pair g0/g1 through h, g0 with mac, sets both up
// and returns g0's index.
func addVethG0(t *testing.T, h *netlink.Handle, mac net.HardwareAddr) int {
	t.Helper()
	return netns.AddVethUp(t, h, "g0", "g1", mac).Attrs().Index
}

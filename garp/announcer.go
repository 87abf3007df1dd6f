package garp

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/lvs-ha/lvs-ha/internal/linkwatch"
	"github.com/lvs-ha/lvs-ha/internal/rawsys"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Sender sends one announcement. *Announcer is the real one; the VRRP
// runner's tests use a fake.
type Sender interface {
	Send(a Announcement) error
}

var _ Sender = (*Announcer)(nil)

// ErrNoARP is returned (wrapped) by Announcer.Send for a gratuitous ARP on
// an interface flagged NOARP; keepalived sends nothing there either.
// Callers normally ignore it.
var ErrNoARP = errors.New("interface has the NOARP flag")

// Flush sends, through snd, every announcement s has due at now. A failed
// send does not stop the others; the errors are joined. It returns how many
// were sent successfully. Typical use in an event loop:
//
//	n, err := garp.Flush(sched, announcer, now)
//	// log err; re-arm the timer to sched.NextDeadline()
func Flush(s *Scheduler, snd Sender, now time.Time) (int, error) {
	var (
		sent int
		errs []error
	)
	for _, a := range s.Due(now) {
		if err := snd.Send(a); err != nil {
			errs = append(errs, err)
			continue
		}
		sent++
	}
	return sent, errors.Join(errs...)
}

// Counters counts the packets an Announcer sent on one interface.
type Counters struct {
	ARP    uint64 // gratuitous ARPs sent
	NA     uint64 // unsolicited neighbour advertisements sent
	Errors uint64 // sends that failed (ErrNoARP not counted)
}

// AnnouncerConfig tunes an Announcer. The zero value is keepalived's
// behaviour.
type AnnouncerConfig struct {
	// NARouter returns the Router flag of the NAs sent on iface. Nil means
	// keepalived's rule: the value of net.ipv6.conf.<base>.forwarding, base
	// being the parent of a macvlan (VMAC) interface or iface itself.
	// It is called with the Announcer's lock held: it must not call the
	// Announcer.
	NARouter func(iface string) bool
}

// Announcer sends gratuitous ARPs and unsolicited NAs as whole Ethernet frames
// (AF_PACKET sockets, like keepalived), so that the VIP need not have passed DAD
// and the interface needs no IPv4 address (arp.Client would). It works in the
// network namespace of the thread that opens the per-interface sockets, i.e. the
// caller's. Sockets are opened on first use and reopened when the interface is
// recreated. An interface's index, flags and hardware address (for NAs its index,
// hardware address and the interface whose forwarding sysctl gives the Router
// flag, itself read at every NA) and the frames built from them are kept between
// sends while a link notification socket (opened by Prepare or the first send, in
// the caller's namespace) reports no change of any link. It is safe for concurrent
// use; one Announcer can serve all VRRP instances. It needs CAP_NET_RAW (and CAP_NET_ADMIN for the netlink lookups).
type Announcer struct {
	cfg AnnouncerConfig

	mu       sync.Mutex
	ifaces   map[string]*ifaceConns
	counters map[string]*Counters
	links    *linkwatch.Watch // nil: not open (yet), and no ifaceConns.info is kept
}

type ifaceConns struct {
	index int
	arp   *packet.Conn
	arpFD int // arp's descriptor, -1 if unknown; used with an.mu held
	na    *packet.Conn
	naFD  int // na's descriptor, -1 if unknown; used with an.mu held

	// info is the interface as last looked up, kept (ok) while no link
	// notification arrived since, with the ARP frames built from it.
	info   ifInfo
	ok     bool
	frames map[netip.Addr][]byte

	// naInfo and naFrames are the same for the NA path, kept (naOK) on
	// the same terms.
	naInfo   naInfo
	naOK     bool
	naFrames map[netip.Addr]naFrame
}

// naInfo is what an unsolicited NA needs of its interface.
type naInfo struct {
	index int
	mac   net.HardwareAddr
	base  string // whose forwarding sysctl gives the Router flag (see AnnouncerConfig.NARouter)
}

// naFrame is a kept NA frame and the Router flag it was built with.
type naFrame struct {
	b      []byte
	router bool
}

func (c *ifaceConns) close() error {
	var errs []error
	if c.arp != nil {
		errs = append(errs, c.arp.Close())
	}
	if c.na != nil {
		errs = append(errs, c.na.Close())
	}
	return errors.Join(errs...)
}

// NewAnnouncer returns an Announcer; it opens nothing until Send.
func NewAnnouncer(cfg AnnouncerConfig) *Announcer {
	return &Announcer{
		cfg:      cfg,
		ifaces:   make(map[string]*ifaceConns),
		counters: make(map[string]*Counters),
	}
}

// Send sends a's packet now on a.Interface, using the interface's current
// hardware address as sender MAC.
func (an *Announcer) Send(a Announcement) error {
	kind := a.Kind()
	err := an.send(a, kind)
	an.mu.Lock()
	defer an.mu.Unlock()
	c := an.counters[a.Interface]
	if c == nil {
		c = &Counters{}
		an.counters[a.Interface] = c
	}
	switch {
	case errors.Is(err, ErrNoARP):
	case err != nil:
		c.Errors++
	case kind == KindARP:
		c.ARP++
	default:
		c.NA++
	}
	if err != nil {
		return fmt.Errorf("garp: send %s for %s on %s: %w", kind, a.Addr, a.Interface, err)
	}
	return nil
}

func (an *Announcer) send(a Announcement, kind Kind) error {
	if err := (VIP{Interface: a.Interface, Addr: a.Addr}).validate(); err != nil {
		return err
	}
	var (
		frame []byte
		index int
	)
	if kind == KindARP {
		if sent, err := an.sendKept(a.Interface, a.Addr); sent || err != nil {
			return err
		}
		info, err := an.lookup(a.Interface)
		if err != nil {
			return fmt.Errorf("look up interface: %w", err)
		}
		if info.flags&unix.IFF_NOARP != 0 {
			an.remember(a.Interface, info)
			return ErrNoARP
		}
		index = info.index
		if frame, err = ARPFrame(info.mac, a.Addr); err != nil {
			return err
		}
		defer an.remember(a.Interface, info) // after conn has opened the socket
	} else {
		if sent, err := an.sendKeptNA(a.Interface, a.Addr); sent || err != nil {
			return err
		}
		link, err := netlink.LinkByName(a.Interface)
		if err != nil {
			return fmt.Errorf("look up interface: %w", err)
		}
		info := naInfo{index: link.Attrs().Index, mac: link.Attrs().HardwareAddr, base: an.routerBase(link)}
		index = info.index
		router := an.router(a.Interface, info.base)
		if frame, err = NAFrame(info.mac, a.Addr, router); err != nil {
			return err
		}
		defer an.rememberNA(a.Interface, info, a.Addr, naFrame{b: frame, router: router}) // after conn has opened the socket
	}
	conn, dst, err := an.conn(a.Interface, index, kind)
	if err != nil {
		return err
	}
	if _, err := conn.WriteTo(frame, &packet.Addr{HardwareAddr: dst}); err != nil {
		return err
	}
	return nil
}

// sendKept sends the gratuitous ARP for addr on iface with the kept
// socket and the frame built from the interface's kept hardware address,
// if the interface was looked up since the last link notification: a
// takeover's GARP then takes one read (of no link notification) and one
// write (keepalived too reads its netlink socket before its GARPs, and
// keeps interfaces' addresses from it), where a lookup takes three ioctls
// and the frame's build and the socket library's write eight allocations.
// sent false, nil: look the interface up. ErrNoARP for a kept interface
// flagged NOARP.
func (an *Announcer) sendKept(iface string, addr netip.Addr) (sent bool, err error) {
	ic := an.lockKept(iface, KindARP)
	defer an.mu.Unlock() // held through the write: Close cannot close fd under it
	if ic == nil {
		return false, nil
	}
	if ic.info.flags&unix.IFF_NOARP != 0 {
		return false, ErrNoARP
	}
	frame := ic.frames[addr]
	if frame == nil {
		if frame, err = ARPFrame(ic.info.mac, addr); err != nil {
			return false, err
		}
		if ic.frames == nil {
			ic.frames = make(map[netip.Addr][]byte)
		}
		ic.frames[addr] = frame
	}
	return true, writeFrame(ic.arpFD, ic.arp, frame, broadcastMAC)
}

// lockKept is sendKept's and sendKeptNA's prologue: it locks an.mu (the
// caller unlocks it after its write), polls the link notifications and
// returns iface's sockets if its interface is kept for kind (looked up
// since the last link notification, with kind's socket open), else nil.
func (an *Announcer) lockKept(iface string, kind Kind) *ifaceConns {
	an.mu.Lock()
	an.pollLinksLocked()
	ic := an.ifaces[iface]
	switch {
	case ic == nil:
		return nil
	case kind == KindARP && ic.ok && ic.arp != nil && ic.arpFD >= 0,
		kind == KindNA && ic.naOK && ic.na != nil && ic.naFD >= 0:
		return ic
	}
	return nil
}

// writeFrame sends frame on a kept packet socket bound to its interface
// (fd is c's descriptor): the frame carries its destination, so it is a
// plain write, without the socket library's sockaddr; a full send buffer
// falls back to c.WriteTo to dst, which waits for room.
func writeFrame(fd int, c *packet.Conn, frame []byte, dst net.HardwareAddr) error {
	var err error
	for {
		// Raw: the socket is non-blocking (a full buffer is EAGAIN).
		_, e := rawsys.Write(uintptr(fd), frame)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			err = e
		}
		break
	}
	if err == unix.EAGAIN {
		_, err = c.WriteTo(frame, &packet.Addr{HardwareAddr: dst})
	}
	return err
}

// sendKeptNA is sendKept for the unsolicited NA for addr on iface: with
// the kept socket and a frame built from the interface's kept hardware
// address, if the interface was looked up since the last link notification
// (a lookup is a netlink LinkByName: a socket, a dump of the link's
// attributes and their parsing). The Router flag is evaluated at every
// send, as before: a forwarding sysctl's change brings no link
// notification.
func (an *Announcer) sendKeptNA(iface string, addr netip.Addr) (sent bool, err error) {
	ic := an.lockKept(iface, KindNA)
	defer an.mu.Unlock() // held through the write: Close cannot close fd under it
	if ic == nil {
		return false, nil
	}
	router := an.router(iface, ic.naInfo.base)
	f, ok := ic.naFrames[addr]
	if !ok || f.router != router {
		b, err := NAFrame(ic.naInfo.mac, addr, router)
		if err != nil {
			return false, err
		}
		if ic.naFrames == nil {
			ic.naFrames = make(map[netip.Addr]naFrame)
		}
		f = naFrame{b: b, router: router}
		ic.naFrames[addr] = f
	}
	return true, writeFrame(ic.naFD, ic.na, f.b, allNodesMAC)
}

// rememberNA is remember for the NA path, keeping f, built from info, as
// addr's frame.
func (an *Announcer) rememberNA(iface string, info naInfo, addr netip.Addr, f naFrame) {
	an.mu.Lock()
	defer an.mu.Unlock()
	if ic := an.ifaces[iface]; an.links != nil && ic != nil && ic.index == info.index {
		ic.naInfo, ic.naOK, ic.naFrames = info, true, map[netip.Addr]naFrame{addr: f}
	}
}

// remember keeps info as iface's, if the link notifications are watched
// and iface's kept sockets are for its index.
func (an *Announcer) remember(iface string, info ifInfo) {
	an.mu.Lock()
	defer an.mu.Unlock()
	if ic := an.ifaces[iface]; an.links != nil && ic != nil && ic.index == info.index {
		ic.info, ic.ok, ic.frames = info, true, nil
	}
}

// pollLinksLocked opens the link notification socket if it is not open,
// and forgets every kept interface if a notification arrived (or may have:
// an overrun, a failed read) since the last call; an.mu held.
func (an *Announcer) pollLinksLocked() {
	if an.links == nil {
		w, err := linkwatch.Open()
		if err != nil {
			return // no cache: every send looks its interface up
		}
		an.links = w
		an.forgetLocked()
		return
	}
	changed, err := an.links.Changed()
	if err != nil {
		_ = an.links.Close()
		an.links = nil
	}
	if changed || err != nil {
		an.forgetLocked()
	}
}

func (an *Announcer) forgetLocked() {
	for _, ic := range an.ifaces {
		ic.ok, ic.frames = false, nil
		ic.naOK, ic.naFrames = false, nil
	}
}

// lookup is lookupIf with the ioctls on the interface's kept gratuitous ARP
// socket if there is one (in the namespace the ARPs go out in): the socket
// and close of lookupIf cost 20-60 us each on an idle CPU, on a VRRP
// takeover's path to its first GARP. An interface recreated under the same
// name shows a new index, for which conn opens a new socket.
func (an *Announcer) lookup(name string) (ifInfo, error) {
	an.mu.Lock()
	var c *packet.Conn
	if ic := an.ifaces[name]; ic != nil {
		c = ic.arp
	}
	an.mu.Unlock()
	if c != nil {
		if rc, err := c.SyscallConn(); err == nil {
			var (
				info ifInfo
				lerr error
			)
			if err := rc.Control(func(fd uintptr) { info, lerr = lookupIfOn(int(fd), name) }); err == nil && lerr == nil {
				return info, nil
			}
		}
	}
	return lookupIf(name) // none kept, closed meanwhile, or the lookup failed there
}

// Prepare opens the gratuitous ARP socket of iface now, so that the first
// Send on it (a VRRP takeover's first GARP) does not pay for opening it
// (some 100-300 us). Best effort: Send opens it anyway if this failed.
//
// It also opens the socket watching link notifications (RTNLGRP_LINK, in
// the caller's namespace), which lets Send keep the interface's index,
// flags and hardware address and its ARP frames until a notification
// arrives, e.g. of a new hardware address or a recreated interface.
func (an *Announcer) Prepare(iface string) error {
	an.mu.Lock()
	an.pollLinksLocked()
	an.mu.Unlock()
	info, err := lookupIf(iface)
	if err != nil {
		return fmt.Errorf("garp: prepare %s: %w", iface, err)
	}
	if info.flags&unix.IFF_NOARP != 0 {
		return nil
	}
	if _, _, err := an.conn(iface, info.index, KindARP); err != nil {
		return fmt.Errorf("garp: prepare %s: %w", iface, err)
	}
	an.remember(iface, info)
	return nil
}

// conn returns the socket for kind on the interface, opening it if needed.
func (an *Announcer) conn(name string, index int, kind Kind) (*packet.Conn, net.HardwareAddr, error) {
	an.mu.Lock()
	defer an.mu.Unlock()
	ic := an.ifaces[name]
	if ic != nil && ic.index != index {
		// The interface was deleted and recreated under the same name.
		_ = ic.close()
		ic = nil
	}
	if ic == nil {
		ic = &ifaceConns{index: index, arpFD: -1, naFD: -1}
		an.ifaces[name] = ic
	}
	slot, proto, dst := &ic.arp, etherTypeARP, net.HardwareAddr(broadcastMAC)
	if kind == KindNA {
		slot, proto, dst = &ic.na, etherTypeIPv6, allNodesMAC
	}
	if *slot == nil {
		c, err := listenSendOnly(&net.Interface{Index: index, Name: name}, proto)
		if err != nil {
			return nil, nil, err
		}
		*slot = c
		if kind == KindARP {
			ic.arpFD = fdOf(c)
		} else {
			ic.naFD = fdOf(c)
		}
	}
	return *slot, dst, nil
}

// fdOf returns c's descriptor, or -1.
func fdOf(c *packet.Conn) int {
	fd := -1
	if rc, err := c.SyscallConn(); err == nil {
		_ = rc.Control(func(f uintptr) { fd = int(f) })
	}
	return fd
}

var broadcastMAC = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// dropAll is a socket filter accepting nothing: the sockets only send, and
// without it every received ARP/IPv6 frame would be queued on them.
var dropAll = func() []bpf.RawInstruction {
	raw, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	if err != nil {
		panic(err) // a constant program: cannot fail
	}
	return raw
}()

func listenSendOnly(ifi *net.Interface, proto int) (*packet.Conn, error) {
	c, err := packet.Listen(ifi, packet.Raw, proto, &packet.Config{Filter: dropAll})
	if err != nil {
		return nil, fmt.Errorf("open packet socket: %w", err)
	}
	return c, nil
}

// routerBase returns the interface whose forwarding sysctl gives link's NA
// Router flag: the parent of a macvlan (VMAC) interface, or link itself
// ("" when cfg.NARouter decides).
func (an *Announcer) routerBase(link netlink.Link) string {
	if an.cfg.NARouter != nil {
		return ""
	}
	base := link.Attrs().Name
	if _, ok := link.(*netlink.Macvlan); ok && link.Attrs().ParentIndex != 0 {
		if p, err := netlink.LinkByIndex(link.Attrs().ParentIndex); err == nil {
			base = p.Attrs().Name
		}
	}
	return base
}

// router returns the NA Router flag for iface, base being its routerBase.
func (an *Announcer) router(iface, base string) bool {
	if an.cfg.NARouter != nil {
		return an.cfg.NARouter(iface)
	}
	return ipv6Forwarding(base)
}

// ipv6Forwarding reads iface's forwarding sysctl: true unless it is
// unreadable, empty or 0. It reads into a small buffer with plain system
// calls (os.ReadFile's file object, buffer and string took 7 allocations
// and 1.8 KB at every NA).
func ipv6Forwarding(iface string) bool {
	fd, err := unix.Open("/proc/sys/net/ipv6/conf/"+iface+"/forwarding", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var buf [32]byte
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false
		}
		if m == 0 {
			break
		}
		n += m
	}
	v := bytes.TrimSpace(buf[:n])
	return len(v) != 0 && !(len(v) == 1 && v[0] == '0')
}

// Counters returns what was sent on iface so far.
func (an *Announcer) Counters(iface string) Counters {
	an.mu.Lock()
	defer an.mu.Unlock()
	if c := an.counters[iface]; c != nil {
		return *c
	}
	return Counters{}
}

// Stats returns a snapshot of the counters of every interface used so far.
func (an *Announcer) Stats() map[string]Counters {
	an.mu.Lock()
	defer an.mu.Unlock()
	out := make(map[string]Counters, len(an.counters))
	for k, c := range an.counters {
		out[k] = *c
	}
	return out
}

// Close closes every socket. The Announcer may be used again afterwards
// (sockets are reopened on demand); counters are kept.
func (an *Announcer) Close() error {
	an.mu.Lock()
	defer an.mu.Unlock()
	var errs []error
	for name, ic := range an.ifaces {
		errs = append(errs, ic.close())
		delete(an.ifaces, name)
	}
	if an.links != nil {
		errs = append(errs, an.links.Close())
		an.links = nil
	}
	return errors.Join(errs...)
}

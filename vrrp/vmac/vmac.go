// Package vmac creates and removes the VRRP virtual MAC interfaces of
// keepalived's use_vmac: a macvlan (mode private) on the instance's
// interface with the MAC 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID
// (IPv6), keepalived's sysctls on it and on its parent, restored when the
// last VMAC of a parent goes.
//
// An IPv6 VMAC that sends adverts gets a link-local address of its own, as
// keepalived's (RFC 5798 5.1.2.1: adverts come from a link-local address):
// the configured source address, else the parent's link-local address, else
// the EUI-64 one of the parent's MAC; never one made from the virtual MAC,
// which would be the same on every router (addr_gen_mode none, RFC 5798 7.4).
//
// The plan (Name, MAC, the sysctls, the link-local address) is pure; Manager
// does the I/O through the Links and Sysctls interfaces (NetlinkLinks and
// ProcSys on a real system).
package vmac

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// DefaultPrefix is keepalived's prefix of generated VMAC names (vmac_prefix).
const DefaultPrefix = "vrrp"

// Name is the generated VMAC interface name: PREFIX.VRID (keepalived's
// "%s.%d"; an empty prefix means DefaultPrefix).
func Name(prefix string, vrid int) string {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return prefix + "." + strconv.Itoa(vrid)
}

// ifNameMax is the longest interface name (IFNAMSIZ - 1).
const ifNameMax = 15

// UniqueName is keepalived's create_vmac_name: the first of PREFIX.VRID,
// then PREFIXn.VRID (n = 1, 2, ...; an IPv6 VMAC tries PREFIX6.VRID first,
// then 1, 2, 3, 4, 5, 7, ...) that taken does not report as used, the
// prefix shortened so the name fits in IFNAMSIZ.
func UniqueName(prefix string, vrid int, ipv6 bool, taken func(string) bool) string {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	name := func(num string) string {
		tail := num + "." + strconv.Itoa(vrid)
		p := prefix
		if len(p)+len(tail) > ifNameMax {
			p = p[:max(ifNameMax-len(tail), 0)]
		}
		return p + tail
	}
	n := name("")
	for num := 0; taken(n); {
		switch {
		case !ipv6:
			num++
		case num == 0:
			num = 6
		case num == 6:
			num = 1
		default:
			if num++; num == 6 {
				num++
			}
		}
		n = name(strconv.Itoa(num))
	}
	return n
}

// EUI64LinkLocal is the modified EUI-64 link-local address of mac
// (RFC 4291 appendix A; keepalived's make_link_local_address).
func EUI64LinkLocal(mac net.HardwareAddr) netip.Addr {
	var a [16]byte
	a[0], a[1] = 0xfe, 0x80
	if len(mac) == 6 {
		a[8], a[9], a[10], a[11], a[12] = mac[0]^0x02, mac[1], mac[2], 0xff, 0xfe
		a[13], a[14], a[15] = mac[3], mac[4], mac[5]
	}
	return netip.AddrFrom16(a)
}

// LinkLocalFor is the link-local address an IPv6 VMAC gets (keepalived's
// set_link_local_address): src when it is an IPv6 address (the configured
// mcast_src_ip / unicast_src_ip), else the parent's first link-local
// address, else the EUI-64 one of the parent's MAC.
func LinkLocalFor(src netip.Addr, parentLL []netip.Addr, parentMAC net.HardwareAddr) netip.Addr {
	if src.Is6() && !src.Is4In6() {
		return src.WithZone("")
	}
	for _, a := range parentLL {
		if a.Is6() && a.IsLinkLocalUnicast() {
			return a.WithZone("")
		}
	}
	return EUI64LinkLocal(parentMAC)
}

// MAC is the VRRP virtual router MAC address of RFC 5798 7.3:
// 00:00:5e:00:01:VRID for IPv4, 00:00:5e:00:02:VRID for IPv6.
func MAC(vrid uint8, ipv6 bool) net.HardwareAddr {
	m := net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, vrid}
	if ipv6 {
		m[4] = 0x02
	}
	return m
}

// Spec is one VMAC interface.
type Spec struct {
	Name   string           // the macvlan's name
	Parent string           // the instance's interface
	MAC    net.HardwareAddr // the virtual MAC (use_vmac's MAC, or MAC(VRID))
	IPv6   bool             // an IPv6 instance (fewer sysctls, as keepalived)
	// LinkLocal (IPv6): the VMAC gets a link-local address, LinkLocalFor(Src,
	// the parent's): it sends adverts (not vmac_xmit_base), or it is a
	// use_vmac_addr VMAC (keepalived gives those one too).
	LinkLocal bool
	Src       netip.Addr // the configured IPv6 source address, if any
}

// Equal reports whether s and o are the same interface.
func (s Spec) Equal(o Spec) bool {
	return s.Name == o.Name && s.Parent == o.Parent && s.MAC.String() == o.MAC.String() && s.IPv6 == o.IPv6 &&
		s.LinkLocal == o.LinkLocal && s.Src == o.Src
}

// Sysctl is one net.ipv4.conf.IFACE.PARAM setting.
type Sysctl struct {
	Iface, Param string
	Value        int
}

// Path is the setting's /proc/sys path relative to /proc/sys.
func (s Sysctl) Path() string { return filepath.Join("net/ipv4/conf", s.Iface, s.Param) }

// VMACSysctls are the settings keepalived (vrrp_if_config.c) puts on a
// VMAC interface: arp_ignore 1 (the VMAC answers ARP only for its own
// addresses); for IPv4 also accept_local 1 and rp_filter 0 (adverts from
// the peer's VMAC and our own VIPs are accepted) and promote_secondaries 1.
func VMACSysctls(s Spec) []Sysctl {
	out := []Sysctl{{s.Name, "arp_ignore", 1}}
	if s.IPv6 {
		return out
	}
	return append(out,
		Sysctl{s.Name, "accept_local", 1},
		Sysctl{s.Name, "rp_filter", 0},
		Sysctl{s.Name, "promote_secondaries", 1})
}

// ParentSysctls are the settings put on an IPv4 VMAC's parent: keepalived's
// arp_ignore 1 and arp_filter 1 (the parent does not answer ARP for the
// VIPs on the VMAC with its own MAC), and, unlike keepalived, arp_announce 2:
// replies from a VIP leave through the parent (its subnet route comes
// first), and with arp_announce 0 the parent's ARP requests for the client
// would carry the VIP as sender address with the parent's MAC, repointing
// the client's neighbour entry for the VIP away from the virtual MAC (seen
// in the VMAC drill, integration/vmvmac). The old values are restored when
// the last VMAC on the parent is removed. None for IPv6.
func ParentSysctls(s Spec) []Sysctl {
	if s.IPv6 {
		return nil
	}
	return []Sysctl{{s.Parent, "arp_ignore", 1}, {s.Parent, "arp_filter", 1}, {s.Parent, "arp_announce", 2}}
}

// Links creates and deletes macvlan interfaces.
type Links interface {
	// AddMacvlan creates s (mode private, down); an existing macvlan of
	// that name on that parent with that MAC is reused.
	AddMacvlan(s Spec) error
	// SetUp sets the interface up.
	SetUp(name string) error
	// Delete removes the interface; a missing one is not an error.
	Delete(name string) error
	// Parent returns an interface's IPv6 link-local addresses (kernel
	// order) and its MAC.
	Parent(name string) ([]netip.Addr, net.HardwareAddr, error)
	// AddLinkLocal adds a/64 to the interface without duplicate address
	// detection (keepalived's IFA_F_NODAD); an existing one is kept.
	AddLinkLocal(name string, a netip.Addr) error
}

// Sysctls reads and writes /proc/sys entries.
type Sysctls interface {
	Get(path string) (int, error)
	Set(path string, v int) error
}

// Manager owns the VMAC interfaces it created and the parent settings it
// changed. Its methods are safe for concurrent use.
type Manager struct {
	links   Links
	sysctls Sysctls

	mu      sync.Mutex
	up      []Spec                    // created, in order
	saved   map[string]map[string]int // parent -> param -> value before us
	parents map[string]int            // parent -> VMACs on it
}

// NewManager returns a Manager using l and s.
func NewManager(l Links, s Sysctls) *Manager {
	return &Manager{links: l, sysctls: s, saved: map[string]map[string]int{}, parents: map[string]int{}}
}

// Apply makes the VMAC interfaces next: it removes those of the previous
// Apply that are not in next (restoring their parents' settings when the
// parent has no VMAC left) and creates the new ones with their settings.
// It carries on after an error and returns them all.
func (m *Manager) Apply(next []Spec) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	var keep []Spec
	for _, s := range m.up {
		if slices.ContainsFunc(next, s.Equal) {
			keep = append(keep, s)
			continue
		}
		errs = append(errs, m.remove(s))
	}
	m.up = keep
	for _, s := range next {
		if slices.ContainsFunc(m.up, s.Equal) {
			continue
		}
		if err := m.links.AddMacvlan(s); err != nil {
			errs = append(errs, fmt.Errorf("vmac: create %s on %s: %w", s.Name, s.Parent, err))
			continue
		}
		m.up = append(m.up, s)
		// No automatic IPv6 link-local on a VMAC (keepalived sets
		// addr_gen_mode none, RFC 5798 7.4): one made from the virtual MAC
		// is the same on every router, and the backup's VMAC would send
		// DAD and router solicitations from the master's MAC, moving the
		// VMAC to the backup in the switches. Before it is up.
		for _, c := range ipv6Sysctls(s) {
			if err := m.sysctls.Set(c.path, c.value); err != nil && (s.IPv6 || !errors.Is(err, fs.ErrNotExist)) {
				errs = append(errs, fmt.Errorf("vmac: %w", err))
			}
		}
		for _, c := range VMACSysctls(s) {
			if err := m.sysctls.Set(c.Path(), c.Value); err != nil {
				errs = append(errs, fmt.Errorf("vmac: %w", err))
			}
		}
		if err := m.links.SetUp(s.Name); err != nil {
			errs = append(errs, fmt.Errorf("vmac: set %s up: %w", s.Name, err))
		}
		if s.IPv6 && s.LinkLocal {
			errs = append(errs, m.addLinkLocal(s))
		}
		if ps := ParentSysctls(s); len(ps) > 0 {
			m.parents[s.Parent]++
			errs = append(errs, m.setParent(s.Parent, ps))
		}
	}
	return errors.Join(errs...)
}

// ipv6Sysctl is one net.ipv6.conf setting.
type ipv6Sysctl struct {
	path  string
	value int
}

// ipv6Sysctls are the IPv6 settings of a new VMAC: addr_gen_mode 1 (none);
// accept_ra 0, unlike keepalived (which drops the VMAC's router
// solicitations with nftables): a backup's VMAC sends no router
// solicitation from the virtual MAC when it gets its link-local address,
// and learns no route through itself from router advertisements, whose
// traffic would leave with the virtual MAC; and, for an IPv6 one,
// disable_ipv6 0 (keepalived's link_set_ipv6, in case
// net.ipv6.conf.default.disable_ipv6 is 1).
func ipv6Sysctls(s Spec) []ipv6Sysctl {
	dir := filepath.Join("net/ipv6/conf", s.Name)
	out := []ipv6Sysctl{{filepath.Join(dir, "addr_gen_mode"), 1}, {filepath.Join(dir, "accept_ra"), 0}}
	if s.IPv6 {
		out = append(out, ipv6Sysctl{filepath.Join(dir, "disable_ipv6"), 0})
	}
	return out
}

// addLinkLocal gives the IPv6 VMAC s its link-local address.
func (m *Manager) addLinkLocal(s Spec) error {
	var ll []netip.Addr
	var mac net.HardwareAddr
	if !s.Src.Is6() {
		var err error
		if ll, mac, err = m.links.Parent(s.Parent); err != nil {
			return fmt.Errorf("vmac: link-local address of %s: %w", s.Parent, err)
		}
	}
	a := LinkLocalFor(s.Src, ll, mac)
	if err := m.links.AddLinkLocal(s.Name, a); err != nil {
		return fmt.Errorf("vmac: add %s to %s: %w", a, s.Name, err)
	}
	return nil
}

func (m *Manager) setParent(parent string, ps []Sysctl) error {
	saved := m.saved[parent]
	if saved == nil {
		saved = map[string]int{}
		m.saved[parent] = saved
	}
	var errs []error
	for _, c := range ps {
		if _, ok := saved[c.Param]; ok {
			continue
		}
		old, err := m.sysctls.Get(c.Path())
		if err != nil {
			errs = append(errs, fmt.Errorf("vmac: %w", err))
			continue
		}
		if old == c.Value {
			continue
		}
		if err := m.sysctls.Set(c.Path(), c.Value); err != nil {
			errs = append(errs, fmt.Errorf("vmac: %w", err))
			continue
		}
		saved[c.Param] = old
	}
	return errors.Join(errs...)
}

func (m *Manager) remove(s Spec) error {
	var errs []error
	if err := m.links.Delete(s.Name); err != nil {
		errs = append(errs, fmt.Errorf("vmac: delete %s: %w", s.Name, err))
	}
	if len(ParentSysctls(s)) == 0 {
		return errors.Join(errs...)
	}
	if m.parents[s.Parent]--; m.parents[s.Parent] > 0 {
		return errors.Join(errs...)
	}
	delete(m.parents, s.Parent)
	params := make([]string, 0, len(m.saved[s.Parent]))
	for p := range m.saved[s.Parent] {
		params = append(params, p)
	}
	slices.Sort(params)
	for _, p := range params {
		c := Sysctl{s.Parent, p, m.saved[s.Parent][p]}
		if err := m.sysctls.Set(c.Path(), c.Value); err != nil {
			errs = append(errs, fmt.Errorf("vmac: restore: %w", err))
		}
	}
	delete(m.saved, s.Parent)
	return errors.Join(errs...)
}

// Close removes every VMAC interface and restores the parents' settings.
func (m *Manager) Close() error { return m.Apply(nil) }

// NetlinkLinks implements Links with rtnetlink in the calling thread's
// network namespace.
type NetlinkLinks struct{}

var _ Links = NetlinkLinks{}

// AddMacvlan implements Links.
func (NetlinkLinks) AddMacvlan(s Spec) error {
	parent, err := netlink.LinkByName(s.Parent)
	if err != nil {
		return fmt.Errorf("parent %s: %w", s.Parent, err)
	}
	if l, err := netlink.LinkByName(s.Name); err == nil {
		mv, ok := l.(*netlink.Macvlan)
		if !ok || mv.Attrs().ParentIndex != parent.Attrs().Index || mv.Attrs().HardwareAddr.String() != s.MAC.String() {
			return fmt.Errorf("interface %s exists and is not this VMAC", s.Name)
		}
		return nil
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = s.Name
	attrs.ParentIndex = parent.Attrs().Index
	attrs.HardwareAddr = s.MAC
	mv := &netlink.Macvlan{LinkAttrs: attrs, Mode: netlink.MACVLAN_MODE_PRIVATE}
	return netlink.LinkAdd(mv)
}

// SetUp implements Links.
func (NetlinkLinks) SetUp(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	return netlink.LinkSetUp(l)
}

// Delete implements Links.
func (NetlinkLinks) Delete(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return err
	}
	return netlink.LinkDel(l)
}

// Parent implements Links.
func (NetlinkLinks) Parent(name string) ([]netip.Addr, net.HardwareAddr, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil, nil, err
	}
	list, err := netlink.AddrList(l, netlink.FAMILY_V6)
	if err != nil {
		return nil, nil, err
	}
	var out []netip.Addr
	for _, a := range list {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.IsLinkLocalUnicast() && a.Flags&unix.IFA_F_DADFAILED == 0 {
			out = append(out, ip)
		}
	}
	return out, l.Attrs().HardwareAddr, nil
}

// AddLinkLocal implements Links.
func (NetlinkLinks) AddLinkLocal(name string, a netip.Addr) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(64, 128)}, Flags: unix.IFA_F_NODAD}
	if err := netlink.AddrAdd(l, addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return err
	}
	return nil
}

// ProcSys implements Sysctls with /proc/sys (of the calling thread's
// network namespace).
type ProcSys struct{}

var _ Sysctls = ProcSys{}

// Get implements Sysctls.
func (ProcSys) Get(path string) (int, error) {
	b, err := os.ReadFile(filepath.Join("/proc/sys", path))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// Set implements Sysctls.
func (ProcSys) Set(path string, v int) error {
	return os.WriteFile(filepath.Join("/proc/sys", path), []byte(strconv.Itoa(v)), 0o644)
}

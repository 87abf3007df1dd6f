// Package vmac creates and removes the VRRP virtual MAC interfaces of
// keepalived's use_vmac: a macvlan (mode private) on the instance's
// interface with the MAC 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID
// (IPv6), keepalived's sysctls on it and on its parent, restored when the
// last VMAC of a parent goes.
//
// The plan (Name, MAC, the sysctls) is pure; Manager does the I/O through
// the Links and Sysctls interfaces (NetlinkLinks and ProcSys on a real
// system).
package vmac

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
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
}

// Equal reports whether s and o are the same interface.
func (s Spec) Equal(o Spec) bool {
	return s.Name == o.Name && s.Parent == o.Parent && s.MAC.String() == o.MAC.String() && s.IPv6 == o.IPv6
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
		if !s.IPv6 {
			// No IPv6 link-local on an IPv4 VMAC (keepalived sets
			// addr_gen_mode none): the backup's VMAC would send DAD and
			// router solicitations from the master's MAC and the
			// switches would move the VMAC to the backup. Before it is up.
			p := filepath.Join("net/ipv6/conf", s.Name, "addr_gen_mode")
			if err := m.sysctls.Set(p, 1); err != nil && !errors.Is(err, fs.ErrNotExist) {
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
		if ps := ParentSysctls(s); len(ps) > 0 {
			m.parents[s.Parent]++
			errs = append(errs, m.setParent(s.Parent, ps))
		}
	}
	return errors.Join(errs...)
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

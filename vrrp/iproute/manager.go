package iproute

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Manager adds and removes routes and rules in one network namespace. Every
// method is idempotent: adding what is there, or removing what is not, is
// not an error.
type Manager struct {
	h *netlink.Handle
}

// New returns a Manager that works in the network namespace of the thread
// calling each method (a netlink socket is opened per call).
func New() *Manager { return &Manager{h: &netlink.Handle{}} }

// NewAt returns a Manager working through h (tests: a handle in a namespace).
func NewAt(h *netlink.Handle) *Manager { return &Manager{h: h} }

// AddRoute adds r. A route already there (same destination, table, metric
// and type) is left as it is.
func (m *Manager) AddRoute(r Route) error {
	nr, err := m.toNetlinkRoute(r)
	if err != nil {
		return fmt.Errorf("iproute: add route %s: %w", r, err)
	}
	if err := m.h.RouteAdd(nr); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("iproute: add route %s: %w", r, err)
	}
	return nil
}

// RemoveRoute deletes r. A route or device that is not there is not an error.
func (m *Manager) RemoveRoute(r Route) error {
	nr, err := m.toNetlinkRoute(r)
	if errors.Is(err, errNoDevice) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("iproute: remove route %s: %w", r, err)
	}
	nr.Scope = netlink.Scope(ScopeNowhere) // match any scope, as keepalived and ip do
	if err := m.h.RouteDel(nr); err != nil && !errors.Is(err, unix.ESRCH) && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("iproute: remove route %s: %w", r, err)
	}
	return nil
}

// AddRule adds r. An identical rule already there is left as it is.
func (m *Manager) AddRule(r Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if err := m.h.RuleAdd(toNetlinkRule(r)); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("iproute: add rule %s: %w", r, err)
	}
	return nil
}

// RemoveRule deletes r. A rule that is not there is not an error.
func (m *Manager) RemoveRule(r Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if err := m.h.RuleDel(toNetlinkRule(r)); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("iproute: remove rule %s: %w", r, err)
	}
	return nil
}

var errNoDevice = errors.New("no such device")

func (m *Manager) toNetlinkRoute(r Route) (*netlink.Route, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	nr := &netlink.Route{
		Dst:      ipNet(r.Dst),
		Type:     int(r.typ()),
		Table:    int(r.table()),
		Priority: int(r.Metric),
		Scope:    netlink.Scope(r.Scope),
		Protocol: netlink.RouteProtocol(r.protocol()),
		Family:   famOf(r.Dst.Addr()),
	}
	if r.Src.IsValid() {
		nr.Src = r.Src.AsSlice()
	}
	if r.Via.IsValid() {
		nr.Gw = r.Via.AsSlice()
	}
	if r.OnLink {
		nr.Flags |= int(netlink.FLAG_ONLINK)
	}
	if r.Dev != "" {
		i, err := m.ifindex(r.Dev)
		if err != nil {
			return nil, err
		}
		nr.LinkIndex = i
	}
	for _, nh := range r.Nexthops {
		ni := &netlink.NexthopInfo{}
		if nh.Via.IsValid() {
			ni.Gw = nh.Via.AsSlice()
		}
		if nh.Dev != "" {
			i, err := m.ifindex(nh.Dev)
			if err != nil {
				return nil, err
			}
			ni.LinkIndex = i
		}
		if nh.Weight > 1 {
			ni.Hops = nh.Weight - 1
		}
		if nh.OnLink {
			ni.Flags |= int(netlink.FLAG_ONLINK)
		}
		nr.MultiPath = append(nr.MultiPath, ni)
	}
	return nr, nil
}

func (m *Manager) ifindex(dev string) (int, error) {
	link, err := m.h.LinkByName(dev)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
			return 0, fmt.Errorf("device %s: %w", dev, errNoDevice)
		}
		return 0, fmt.Errorf("look up device %s: %w", dev, err)
	}
	return link.Attrs().Index, nil
}

func toNetlinkRule(r Rule) *netlink.Rule {
	nr := netlink.NewRule()
	nr.Family = r.Family()
	if r.From.IsValid() {
		nr.Src = ipNet(r.From)
	}
	if r.To.IsValid() {
		nr.Dst = ipNet(r.To)
	}
	nr.Invert = r.Invert
	if r.HasPriority {
		nr.Priority = int(r.Priority)
	}
	if r.HasFwmark {
		nr.Mark = r.Fwmark
		if r.HasFwmask {
			mask := r.Fwmask
			nr.Mask = &mask
		}
	}
	nr.Tos = uint(r.Tos)
	nr.IifName, nr.OifName = r.IIf, r.OIf
	nr.IPProto = int(r.IPProto)
	if r.Sport.Start != 0 {
		nr.Sport = netlink.NewRulePortRange(r.Sport.Start, r.Sport.End)
	}
	if r.Dport.Start != 0 {
		nr.Dport = netlink.NewRulePortRange(r.Dport.Start, r.Dport.End)
	}
	nr.Protocol = r.protocol()
	switch r.Action {
	case ToTable:
		nr.Table = int(r.Table)
		if r.HasSuppressPrefixLen {
			nr.SuppressPrefixlen = int(r.SuppressPrefixLen)
		}
	case Goto:
		nr.Goto = int(r.GotoTarget)
	default:
		nr.Type = uint8(r.Action)
	}
	return nr
}

func ipNet(p netip.Prefix) *net.IPNet {
	p = p.Masked()
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

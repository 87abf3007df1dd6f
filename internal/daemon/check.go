package daemon

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/conf/syntax"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
)

// Check builds what run and reload build from cfg, which conf has
// validated: the complete translation into every component's options,
// validated by the components (newPlan), without touching the system. A
// refusal is an error at the position of the offending object, so that
// check-config refuses what run would refuse, where it is.
func Check(cfg *conf.Config) syntax.Diagnostics {
	_, ds := check(cfg, &Options{})
	return ds
}

// check is Check with the daemon's options; it also returns the plan
// (nil on a refusal), so that a reload builds it once.
func check(cfg *conf.Config, o *Options) (*plan, syntax.Diagnostics) {
	p, err := newPlan(cfg, o)
	if err != nil {
		pos := positionOf(err)
		if pos == (syntax.Pos{}) {
			pos = firstPos(cfg)
		}
		return nil, syntax.Diagnostics{{Pos: pos, Severity: syntax.Error, Msg: err.Error()}}
	}
	return p, p.warnings
}

// firstPos is the position of cfg's first VRRP instance or virtual server,
// for an error no single object owns.
func firstPos(cfg *conf.Config) syntax.Pos {
	switch {
	case len(cfg.VRRPInstances) > 0:
		return cfg.VRRPInstances[0].Pos
	case len(cfg.VirtualServers) > 0:
		return cfg.VirtualServers[0].Pos
	}
	return syntax.Pos{}
}

// locatedError is a translation error of the object at pos.
type locatedError struct {
	pos syntax.Pos
	err error
}

func (e *locatedError) Error() string { return e.err.Error() }
func (e *locatedError) Unwrap() error { return e.err }

// at marks err as an error of the configuration object at pos.
func at(pos syntax.Pos, err error) error { return &locatedError{pos: pos, err: err} }

// positionOf is the position of the most specific object err names.
func positionOf(err error) syntax.Pos {
	var pos syntax.Pos
	for e := err; e != nil; e = errors.Unwrap(e) {
		if l, ok := e.(*locatedError); ok {
			pos = l.pos
		}
	}
	return pos
}

// validateVRRP runs the VRRP runner's validation (the one its New and
// Update run) on the translated instances: each alone first, so that an
// error is located at its vrrp_instance, then all together.
func validateVRRP(cfg *conf.Config, insts []runner.InstanceConfig, groups []runner.SyncGroupConfig) error {
	for i, ic := range insts {
		if err := runner.Validate([]runner.InstanceConfig{ic}, nil); err != nil {
			in := cfg.VRRPInstances[i]
			return at(in.Pos, fmt.Errorf("vrrp_instance %s: %w", in.Name, err))
		}
	}
	if err := runner.Validate(insts, groups); err != nil {
		pos := syntax.Pos{}
		if len(cfg.SyncGroups) > 0 {
			pos = cfg.SyncGroups[0].Pos
		} else if len(cfg.VRRPInstances) > 0 {
			pos = cfg.VRRPInstances[0].Pos
		}
		return at(pos, err)
	}
	return nil
}

// syncWarnings are the lessons keepalived's users learned the hard way
// about lvs_sync_daemon, located at its keyword: the default multicast
// group, a maxlen the sync interface cannot carry unfragmented (when the
// interface exists where the check runs; mtu nil reads it with
// net.InterfaceByName), and NAT real servers, whose conntrack state the
// sync protocol does not carry.
func syncWarnings(cfg *conf.Config, mtu func(string) (int, bool)) syntax.Diagnostics {
	s := cfg.Global.LVSSyncDaemon
	if s == nil {
		return nil
	}
	if mtu == nil {
		mtu = interfaceMTU
	}
	var ds syntax.Diagnostics
	warn := func(format string, args ...any) {
		ds = append(ds, syntax.Diagnostic{Pos: s.Pos, Severity: syntax.Warning, Msg: fmt.Sprintf(format, args...)})
	}
	if !s.Group.IsValid() {
		warn("lvs_sync_daemon: no group given: the kernel sends sync messages to 224.0.0.81, a link-local group that switches flood to every port of the segment (IGMP snooping never prunes 224.0.0.0/24); give an administratively scoped group, e.g. \"group 239.0.0.81\" (lvs_sync_daemon in global_defs)")
	}
	if m, ok := mtu(s.Interface); ok {
		hlen, hdrs := 28, "IPv4+UDP headers"
		if s.Group.Is6() {
			hlen, hdrs = 48, "IPv6+UDP headers"
		}
		switch {
		case s.MaxLen > m-hlen:
			warn("lvs_sync_daemon: maxlen %d is larger than interface %s's MTU %d minus the %s (%d): the master's sync messages are IP fragments, which firewalls and lossy links drop", s.MaxLen, s.Interface, m, hdrs, m-hlen)
		case s.MaxLen == 0 && m < 1500:
			warn("lvs_sync_daemon: interface %s's MTU %d is below 1500 and the kernel's master sync daemon sizes its messages for 1500 without maxlen: its sync messages are IP fragments; set \"maxlen %d\"", s.Interface, m, m-hlen)
		}
	}
	for _, vs := range cfg.VirtualServers {
		nat := ""
		for _, rs := range vs.RealServers {
			if strings.EqualFold(rs.Forwarding.Method, "NAT") {
				nat = rs.Addr.String()
				break
			}
		}
		if nat == "" {
			continue
		}
		warn("lvs_sync_daemon: virtual_server %s (%s) forwards to real server %s by NAT: IPVS sync carries the IPVS connection, not its netfilter conntrack entry, so on the backup a firewall rule that depends on ct state (accepting only established/related, or dropping invalid or new non-SYN packets) drops the NAT connections it takes over; let the virtual and real servers' traffic through without a ct state match", vs.String(), vs.Pos, nat)
		break
	}
	return ds
}

// interfaceMTU is the MTU of interface name in the current namespace.
func interfaceMTU(name string) (int, bool) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0, false
	}
	return ifi.MTU, true
}

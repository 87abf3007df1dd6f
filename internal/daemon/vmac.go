package daemon

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
	"github.com/lvs-ha/lvs-ha/vrrp/vmac"
)

// vmacs creates and removes the use_vmac interfaces (*vmac.Manager).
type vmacs interface {
	Apply(next []vmac.Spec) error
}

var _ vmacs = (*vmac.Manager)(nil)

// vmacPlan is the configuration's VMAC interfaces as keepalived 2.2.7
// builds them (vrrp_complete_instance), instance by instance in file order:
// the instance's own (use_vmac), then those of its VIPs and eVIPs
// (use_vmac_addr, a VIP's use_vmac). Names are unique across the
// configuration (keepalived's create_vmac_name).
type vmacPlan struct {
	specs []vmac.Spec
	inst  map[*conf.VRRPInstance]string // the instance's VMAC (use_vmac)
	dev   map[*conf.VIP]string          // the VMAC a VIP or eVIP goes on
}

// planVMACs builds the configuration's vmacPlan.
func planVMACs(cfg *conf.Config) (vmacPlan, error) {
	p := vmacPlan{inst: map[*conf.VRRPInstance]string{}, dev: map[*conf.VIP]string{}}
	named := map[string]bool{} // use_vmac NAMEs: keepalived reserves them at parse time
	for _, in := range cfg.VRRPInstances {
		if in.UseVMAC && in.VMACName != "" {
			named[in.VMACName] = true
		}
	}
	taken := func(n string) bool {
		return named[n] || slices.ContainsFunc(p.specs, func(s vmac.Spec) bool { return s.Name == n })
	}
	g := cfg.Global
	for _, in := range cfg.VRRPInstances {
		vrid := uint8(in.VRID)
		ipv6 := in.Family == conf.Inet6
		var mac net.HardwareAddr // use_vmac's MAC, also for the VIPs' VMACs
		if in.VMACAddr != "" {
			m, err := parseVMAC(in.VMACAddr, vrid)
			if err != nil {
				return p, at(in.Pos, fmt.Errorf("vrrp_instance %s: use_vmac address %q: %w", in.Name, in.VMACAddr, err))
			}
			mac = m
		}
		if in.UseVMAC {
			s := vmac.Spec{Name: in.VMACName, Parent: in.Interface, IPv6: ipv6, MAC: mac}
			if s.Name == "" {
				s.Name = vmac.UniqueName(g.VMACPrefix, in.VRID, ipv6, taken)
			}
			if s.MAC == nil {
				s.MAC = vmac.MAC(vrid, ipv6)
			}
			// keepalived gives an IPv6 VMAC that sends adverts a
			// link-local address: the configured source or the parent's.
			s.LinkLocal = ipv6 && !in.VMACXmitBase
			if s.LinkLocal && in.SrcIP.Is6() {
				s.Src = in.SrcIP
			}
			p.specs = append(p.specs, s)
			p.inst[in] = s.Name
		}
		prefix := g.VMACAddrPrefix
		if prefix == "" {
			prefix = g.VMACPrefix
		}
		for _, v := range slices.Concat(in.VIPs, in.ExcludedVIPs) {
			onBase := v.Dev == "" || v.Dev == in.Interface
			v6 := v.Addr.Addr().Is6()
			sameFam := v6 == ipv6
			if onBase && sameFam && in.UseVMAC {
				p.dev[v] = p.inst[in]
				continue
			}
			if !v.UseVMAC && !(in.UseVMACAddr && (!onBase || !sameFam)) {
				continue // on its own interface
			}
			base := v.Dev
			if base == "" {
				base = in.Interface
			}
			m := mac
			if m == nil {
				m = vmac.MAC(vrid, v6)
			}
			i := slices.IndexFunc(p.specs, func(s vmac.Spec) bool { return s.Parent == base && s.MAC.String() == m.String() })
			if i < 0 {
				// keepalived adds an IPv6 one a link-local address too.
				p.specs = append(p.specs, vmac.Spec{Name: vmac.UniqueName(prefix, in.VRID, v6, taken), Parent: base, MAC: m, IPv6: v6, LinkLocal: v6})
				i = len(p.specs) - 1
			}
			p.dev[v] = p.specs[i].Name
		}
	}
	return p, nil
}

// place puts the instance on its VMAC (its adverts unless vmac_xmit_base)
// and its VIPs and eVIPs on theirs; ic's VIPs are in's, in order.
func (p vmacPlan) place(ic *runner.InstanceConfig, in *conf.VRRPInstance) {
	if name, ok := p.inst[in]; ok && !in.VMACXmitBase {
		ic.Interface = name
	}
	for i, v := range in.VIPs {
		if name, ok := p.dev[v]; ok && i < len(ic.VIPs) {
			ic.VIPs[i].Dev = name
		}
	}
	for i, v := range in.ExcludedVIPs {
		if name, ok := p.dev[v]; ok && i < len(ic.ExcludedVIPs) {
			ic.ExcludedVIPs[i].Dev = name
		}
	}
}

// vmacsOf lists the configuration's VMAC interfaces.
func vmacsOf(cfg *conf.Config) ([]vmac.Spec, error) {
	p, err := planVMACs(cfg)
	return p.specs, err
}

// applyVMACs makes the VMAC interfaces next, logging what fails (an
// instance whose VMAC is missing stays in FAULT, as keepalived's).
func (d *Daemon) applyVMACs(next []vmac.Spec) {
	if len(next) == 0 && d.vmacs == nil {
		return
	}
	if err := d.vmacs.Apply(next); err != nil {
		d.log.Error("VMAC interfaces", "error", err)
	}
}

// parseVMAC parses use_vmac's MAC as keepalived: 5 or 6 octets of 1 or 2
// hex digits; with 5 the sixth is the VRID.
func parseVMAC(s string, vrid uint8) (net.HardwareAddr, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 5 && len(parts) != 6 {
		return nil, errors.New("not 5 or 6 octets")
	}
	m := make(net.HardwareAddr, 0, 6)
	for _, p := range parts {
		b, err := strconv.ParseUint(p, 16, 8)
		if err != nil || len(p) > 2 {
			return nil, fmt.Errorf("octet %q", p)
		}
		m = append(m, byte(b))
	}
	if len(m) == 5 {
		m = append(m, vrid)
	}
	return m, nil
}

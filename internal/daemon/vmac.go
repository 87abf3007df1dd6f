package daemon

import (
	"fmt"
	"net"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/vrrp/vmac"
)

// vmacs creates and removes the use_vmac interfaces (*vmac.Manager).
type vmacs interface {
	Apply(next []vmac.Spec) error
}

var _ vmacs = (*vmac.Manager)(nil)

// vmacOf is the instance's VMAC interface (keepalived use_vmac), if any:
// named use_vmac's NAME or vmac_prefix.VRID, with use_vmac's MAC or the
// VRRP virtual router MAC of the instance's family, on its interface.
func vmacOf(g conf.GlobalDefs, in *conf.VRRPInstance) (vmac.Spec, bool, error) {
	if !in.UseVMAC {
		return vmac.Spec{}, false, nil
	}
	s := vmac.Spec{Name: in.VMACName, Parent: in.Interface, IPv6: in.Family == conf.Inet6}
	if s.Name == "" {
		s.Name = vmac.Name(g.VMACPrefix, in.VRID)
	}
	s.MAC = vmac.MAC(uint8(in.VRID), s.IPv6)
	if in.VMACAddr != "" {
		m, err := net.ParseMAC(in.VMACAddr)
		if err != nil || len(m) != 6 {
			return s, false, fmt.Errorf("vrrp_instance %s: use_vmac address %q is not a MAC address", in.Name, in.VMACAddr)
		}
		s.MAC = m
	}
	return s, true, nil
}

// vmacsOf lists the configuration's VMAC interfaces.
func vmacsOf(cfg *conf.Config) ([]vmac.Spec, error) {
	var out []vmac.Spec
	for _, in := range cfg.VRRPInstances {
		s, ok, err := vmacOf(cfg.Global, in)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, s)
		}
	}
	return out, nil
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

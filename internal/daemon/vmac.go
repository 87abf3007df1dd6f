package daemon

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

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
		m, err := parseVMAC(in.VMACAddr, uint8(in.VRID))
		if err != nil {
			return s, false, fmt.Errorf("vrrp_instance %s: use_vmac address %q: %w", in.Name, in.VMACAddr, err)
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

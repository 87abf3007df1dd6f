package daemon

import (
	"errors"
	"fmt"

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

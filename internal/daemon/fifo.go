package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/conf/syntax"
	"github.com/lvs-ha/lvs-ha/internal/notifyfifo"
	"github.com/lvs-ha/lvs-ha/internal/script"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
)

// fifoPlan is the notify FIFOs of global_defs: notify_fifo, vrrp_notify_fifo
// and lvs_notify_fifo (nil when not configured).
type fifoPlan struct {
	global, vrrp, lvs *notifyfifo.Config
}

// newFifoPlan translates the notify FIFOs. A FIFO whose directory does not
// exist is an error at its keyword (keepalived only logs "Unable to create
// notify fifo" at run time and goes on without it); a _script without its
// FIFO is a warning (keepalived ignores it).
func newFifoPlan(g *conf.GlobalDefs) (fifoPlan, syntax.Diagnostics, error) {
	var (
		fp   fifoPlan
		warn syntax.Diagnostics
	)
	one := func(f *conf.Fifo, what string) (*notifyfifo.Config, error) {
		if f == nil {
			return nil, nil
		}
		if f.Name == "" {
			if f.Script != nil {
				warn = append(warn, syntax.Diagnostic{Pos: f.Script.Pos, Severity: syntax.Warning,
					Msg: fmt.Sprintf("%s_script without %s is ignored", what, what)})
			}
			return nil, nil
		}
		dir := filepath.Dir(f.Name)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			if err == nil {
				err = fmt.Errorf("not a directory")
			}
			return nil, &locatedError{pos: f.Pos, err: fmt.Errorf("%s %s: directory %s: %w", what, f.Name, dir, err)}
		}
		c := &notifyfifo.Config{Path: f.Name, User: f.User, Group: f.Group, What: what}
		if c.User == "" { // keepalived's get_default_script_user
			c.User, c.Group = g.ScriptUser, g.ScriptGroup
		}
		if s := f.Script; s != nil && len(s.Argv) > 0 {
			spec := script.Spec{Argv: s.Argv, User: s.User, Group: s.Group}
			if spec.User == "" {
				spec.User, spec.Group = g.ScriptUser, g.ScriptGroup
			}
			c.Script = &spec
		}
		return c, nil
	}
	var err error
	if fp.global, err = one(g.NotifyFifo, "notify_fifo"); err != nil {
		return fp, nil, err
	}
	if fp.vrrp, err = one(g.VRRPNotifyFifo, "vrrp_notify_fifo"); err != nil {
		return fp, nil, err
	}
	if fp.lvs, err = one(g.LVSNotifyFifo, "lvs_notify_fifo"); err != nil {
		return fp, nil, err
	}
	return fp, warn, nil
}

// open opens the FIFOs and starts their readers; a FIFO that cannot be
// opened is logged and left out (as keepalived).
func (fp fifoPlan) open(d *Daemon) *notifyfifo.Set {
	if fp.global == nil && fp.vrrp == nil && fp.lvs == nil {
		return nil
	}
	s, _ := notifyfifo.OpenSet(fp.global, fp.vrrp, fp.lvs, d.log)
	return s
}

// reopen is a reload's change of FIFOs: the changed ones are closed and
// opened anew (their readers restarted), the unchanged ones kept as they are
// (their readers and the lines on their way untouched); keepalived closes
// and reopens every FIFO at a reload.
func (fp fifoPlan) reopen(d *Daemon) {
	s, _ := d.fifos.Load().Reopen(fp.global, fp.vrrp, fp.lvs, d.log)
	if s.Empty() {
		s = nil
	}
	d.log.Info("reload: notify FIFOs reopened where changed")
	d.fifos.Store(s)
}

// writeVRRPStates is fifo_write_vrrp_states_on_reload: after a reload the
// instances that kept their state (the others wrote their new one) and the
// sync groups write their state to the VRRP FIFOs, as keepalived's
// vrrp_init_state at a reload.
func (d *Daemon) writeVRRPStates(res runner.UpdateResult) {
	s := d.fifos.Load()
	if s == nil || d.vrrp == nil {
		return
	}
	kept := map[string]bool{}
	for _, n := range append(slices.Clone(res.Unchanged), res.Reconfigured...) {
		kept[n] = true
	}
	st := d.vrrp.Snapshot()
	for _, g := range st.SyncGroups {
		if w := stateWord(g.State); w != "" {
			s.VRRP(notifyfifo.VRRPLine(notifyfifo.KindGroup, g.Name, w, 0))
		}
	}
	for _, in := range st.Instances {
		if w := stateWord(in.State); w != "" && kept[in.Name] {
			s.VRRP(notifyfifo.VRRPLine(notifyfifo.KindInstance, in.Name, w, int(in.EffectivePriority)))
		}
	}
}

// stateWord is keepalived's notify word for a VRRP state ("" for INIT).
func stateWord(s vrrp.State) string {
	switch s {
	case vrrp.StateMaster:
		return script.StateMaster
	case vrrp.StateBackup:
		return script.StateBackup
	case vrrp.StateFault:
		return script.StateFault
	}
	return ""
}

// equal reports whether two plans configure the same FIFOs and readers.
func (fp fifoPlan) equal(o fifoPlan) bool {
	same := func(a, b *notifyfifo.Config) bool {
		if a == nil || b == nil {
			return a == b
		}
		return reflect.DeepEqual(*a, *b)
	}
	return same(fp.global, o.global) && same(fp.vrrp, o.vrrp) && same(fp.lvs, o.lvs)
}

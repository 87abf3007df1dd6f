package notifyfifo

import (
	"errors"
	"log/slog"
	"reflect"
)

// Set is keepalived's three notify FIFOs: Global gets every line, VRRP the
// VRRP lines and LVS the virtual and real server lines. Nil members are not
// configured. A Set is safe for concurrent use; lines sent from one goroutine
// reach each FIFO in the order they were sent, and lines from several
// goroutines in the order their Send calls were made.
type Set struct {
	global, vrrp, lvs *FIFO
}

// OpenSet opens the configured FIFOs (nil Configs are not configured). As
// keepalived's global_data checks: a VRRP or LVS FIFO at the global FIFO's
// path is ignored (its lines already go there), and VRRP and LVS FIFOs at one
// path are one FIFO, whose reader is the VRRP script when both have one.
// A FIFO that cannot be opened is left out and its error returned (joined);
// the others work.
func OpenSet(global, vrrp, lvs *Config, log *slog.Logger) (*Set, error) {
	return (*Set)(nil).Reopen(global, vrrp, lvs, log)
}

// Reopen is a reload's Set for new Configs (as OpenSet's): each FIFO of s
// whose configuration (path, owner, reader script) is unchanged is kept as
// it is, with its reader, its queue and the lines on their way, and goes on
// in the new Set; the other FIFOs of s are closed (Close: their queued lines
// are written first, their readers stopped) before the new ones are opened,
// so that a FIFO whose path stays but whose reader or owner changed is
// created afresh. Lines sent to s while Reopen runs reach the kept FIFOs in
// order; those for a closed FIFO after its Close are dropped. A nil s opens
// every FIFO.
func (s *Set) Reopen(global, vrrp, lvs *Config, log *slog.Logger) (*Set, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g, v, l, shared := layout(global, vrrp, lvs, log)
	old := s.fifos()
	kept := map[*FIFO]bool{}
	keep := func(c *Config) *FIFO {
		if c == nil {
			return nil
		}
		for _, f := range old {
			if reflect.DeepEqual(f.cfg, withDefaults(*c)) {
				kept[f] = true
				return f
			}
		}
		return nil
	}
	n := &Set{global: keep(g), vrrp: keep(v), lvs: keep(l)}
	for _, f := range old {
		if !kept[f] {
			log.Info("notify FIFO closed: not in the new configuration or changed", "fifo", f.cfg.Path, "what", f.cfg.What)
			if err := f.Close(); err != nil {
				log.Warn("closing notify FIFO", "fifo", f.cfg.Path, "err", err)
			}
		}
	}
	var errs []error
	open := func(c *Config, have *FIFO) *FIFO {
		if c == nil || have != nil {
			return have
		}
		f, err := Open(*c, log)
		if err != nil {
			log.Warn("notify FIFO not opened", "err", err)
			errs = append(errs, err)
			return nil
		}
		return f
	}
	n.global = open(g, n.global)
	n.vrrp = open(v, n.vrrp)
	if shared {
		n.lvs = n.vrrp
	} else {
		n.lvs = open(l, n.lvs)
	}
	return n, errors.Join(errs...)
}

// layout is the FIFOs OpenSet opens for the Configs: a VRRP or LVS FIFO at
// the global FIFO's path dropped, and VRRP and LVS FIFOs at one path merged
// into one (shared; l is then nil).
func layout(global, vrrp, lvs *Config, log *slog.Logger) (g, v, l *Config, shared bool) {
	if global != nil {
		if vrrp != nil && vrrp.Path == global.Path {
			log.Info("notify FIFO specified for global and vrrp FIFO: ignoring vrrp FIFO", "fifo", vrrp.Path)
			vrrp = nil
		}
		if lvs != nil && lvs.Path == global.Path {
			log.Info("notify FIFO specified for global and LVS FIFO: ignoring LVS FIFO", "fifo", lvs.Path)
			lvs = nil
		}
	}
	if vrrp != nil && lvs != nil && vrrp.Path == lvs.Path {
		c := *vrrp
		if c.Script == nil {
			c.Script = lvs.Script
		} else if lvs.Script != nil {
			log.Info("LVS notify FIFO and vrrp FIFO are the same both with scripts: ignoring LVS FIFO script", "fifo", lvs.Path)
		}
		return global, &c, nil, true
	}
	return global, vrrp, lvs, false
}

// Empty reports whether no FIFO is open.
func (s *Set) Empty() bool { return s == nil || (s.global == nil && s.vrrp == nil && s.lvs == nil) }

// VRRP sends a VRRP line (VRRPLine) to the global and VRRP FIFOs.
func (s *Set) VRRP(line string) {
	if s == nil {
		return
	}
	s.send(s.global, line)
	s.send(s.vrrp, line)
}

// LVS sends a virtual or real server line (VSLine, RSLine) to the global
// and LVS FIFOs.
func (s *Set) LVS(line string) {
	if s == nil {
		return
	}
	s.send(s.global, line)
	s.send(s.lvs, line)
}

func (s *Set) send(f *FIFO, line string) {
	if f != nil {
		f.Send(line)
	}
}

// Dropped is the number of lines dropped by all the FIFOs.
func (s *Set) Dropped() uint64 {
	var n uint64
	for _, f := range s.fifos() {
		n += f.Dropped()
	}
	return n
}

func (s *Set) fifos() []*FIFO {
	if s == nil {
		return nil
	}
	var out []*FIFO
	for _, f := range []*FIFO{s.global, s.vrrp, s.lvs} {
		if f != nil && (len(out) == 0 || out[len(out)-1] != f) {
			out = append(out, f)
		}
	}
	return out
}

// Close closes every FIFO (see FIFO.Close).
func (s *Set) Close() error {
	var errs []error
	for _, f := range s.fifos() {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

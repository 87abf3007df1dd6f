package notifyfifo

import (
	"errors"
	"log/slog"
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
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Set{}
	var errs []error
	open := func(c *Config) *FIFO {
		f, err := Open(*c, log)
		if err != nil {
			log.Warn("notify FIFO not opened", "err", err)
			errs = append(errs, err)
			return nil
		}
		return f
	}
	if global != nil {
		if vrrp != nil && vrrp.Path == global.Path {
			log.Info("notify FIFO specified for global and vrrp FIFO: ignoring vrrp FIFO", "fifo", vrrp.Path)
			vrrp = nil
		}
		if lvs != nil && lvs.Path == global.Path {
			log.Info("notify FIFO specified for global and LVS FIFO: ignoring LVS FIFO", "fifo", lvs.Path)
			lvs = nil
		}
		s.global = open(global)
	}
	if vrrp != nil && lvs != nil && vrrp.Path == lvs.Path {
		c := *vrrp
		if c.Script == nil {
			c.Script = lvs.Script
		} else if lvs.Script != nil {
			log.Info("LVS notify FIFO and vrrp FIFO are the same both with scripts: ignoring LVS FIFO script", "fifo", lvs.Path)
		}
		s.vrrp = open(&c)
		s.lvs = s.vrrp
		return s, errors.Join(errs...)
	}
	if vrrp != nil {
		s.vrrp = open(vrrp)
	}
	if lvs != nil {
		s.lvs = open(lvs)
	}
	return s, errors.Join(errs...)
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

package conf

import (
	"time"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
)

// ---- vrrp_track_process ---------------------------------------------------

var trackProcessTable *table[*TrackProcess]

func init() {
	delay := func(which string) func(*loader, *syntax.Node, *TrackProcess) {
		return func(l *loader, n *syntax.Node, p *TrackProcess) {
			d, ok := l.timerArg(n, Duration(time.Microsecond), Duration(3600*time.Second))
			if !ok {
				return
			}
			if which != "fork" {
				p.TerminateDelay = d
			}
			if which != "terminate" {
				p.ForkDelay = d
			}
		}
	}
	trackProcessTable = newTable("vrrp_track_process", []keyword[*TrackProcess]{
		impl("process", "NAME [PARAM ...]: the process name (/proc/PID/comm), or argv[0] and its parameters", "", func(l *loader, n *syntax.Node, p *TrackProcess) {
			if p.Process != "" {
				l.errf(n.Keyword.Pos, "process already set for vrrp_track_process %s", p.Name)
				return
			}
			if !l.nargs(n, 1, -1) {
				return
			}
			p.Process = n.Args[0].Text
			for _, w := range n.Args[1:] {
				p.Params = append(p.Params, w.Text)
			}
			if len(p.Params) > 0 && p.ParamMatch == "" {
				p.ParamMatch = "exact"
			}
		}),
		impl("param_match", "[initial|partial]: the parameters must match exactly (no value), the first ones (partial), or with the last one a prefix (initial)", "exact", func(l *loader, n *syntax.Node, p *TrackProcess) {
			if !l.nargs(n, 0, 1) {
				return
			}
			p.ParamMatch = "exact"
			if len(n.Args) == 1 {
				switch n.Args[0].Text {
				case "initial", "partial":
					p.ParamMatch = n.Args[0].Text
				default:
					l.errf(n.Args[0].Pos, "invalid param_match type %q: want initial or partial", n.Args[0].Text)
				}
			}
		}),
		impl("weight", "W [reverse], W in [-254, 254]: added while the quorum holds (W > 0) or subtracted while it does not (W < 0); 0: FAULT without quorum", "0", func(l *loader, n *syntax.Node, p *TrackProcess) {
			l.weightReverse(n, "vrrp_track_process", 254, &p.Weight, &p.Reverse)
		}),
		impl("quorum", "minimum number of matching processes for OK", "1", func(l *loader, n *syntax.Node, p *TrackProcess) {
			v, ok := l.uintArg(n, 1, 65535)
			if !ok {
				return
			}
			if p.QuorumMax >= 0 && int(v) > p.QuorumMax {
				l.warnf(n.Args[0].Pos, "vrrp_track_process %s: quorum is greater than quorum_max - ignoring", p.Name)
				return
			}
			p.Quorum = int(v)
		}),
		impl("quorum_max", "maximum number of matching processes for OK (0: OK only while none runs)", "unlimited", func(l *loader, n *syntax.Node, p *TrackProcess) {
			v, ok := l.uintArg(n, 0, 65535)
			if !ok {
				return
			}
			if (v != 0 || p.Quorum > 1) && int(v) < p.Quorum {
				l.warnf(n.Args[0].Pos, "vrrp_track_process %s: quorum_max is less than quorum - ignoring", p.Name)
				return
			}
			p.QuorumMax = int(v)
			switch {
			case v == 0:
				p.Quorum = 0
			case p.Quorum == 0:
				p.Quorum = 1
			}
		}),
		impl("delay", "seconds the quorum must be gained or lost before the state changes (sets fork_delay and terminate_delay)", "0", delay("both")),
		impl("terminate_delay", "seconds the quorum must be lost before failed", "0", delay("terminate")),
		impl("fork_delay", "seconds the quorum must hold before OK", "0", delay("fork")),
		impl("full_command", "match argv[0] (/proc/PID/cmdline) instead of the process name", "off", func(l *loader, n *syntax.Node, p *TrackProcess) {
			p.FullCommand = l.flag(n)
		}),
	})
}

func (l *loader) trackProcessBlock(n *syntax.Node, c *Config) {
	name, ok := l.blockName(n)
	if !ok {
		return
	}
	for _, prev := range c.TrackProcesses {
		if prev.Name == name.Text {
			l.duplicate("vrrp_track_process", name, prev.Pos)
			return
		}
	}
	p := &TrackProcess{Name: name.Text, Pos: name.Pos, Quorum: 1, QuorumMax: -1}
	walk(l, trackProcessTable, n, p)
	if p.Process == "" {
		l.errf(name.Pos, "vrrp_track_process %q has no process", name.Text)
		return
	}
	c.TrackProcesses = append(c.TrackProcesses, p)
}

// trackProcesses parses a track_process block of a vrrp_instance or sync
// group (the same syntax as track_file).
func (l *loader) trackProcesses(n *syntax.Node) []TrackedFile {
	return l.trackNamed(n, "track_process")
}

// resolveTrackProcesses checks names and fills the blocks' default weights.
func (l *loader) resolveTrackProcesses(owner string, ts []TrackedFile) {
	for i := range ts {
		t := &ts[i]
		var p *TrackProcess
		for _, x := range l.cfg.TrackProcesses {
			if x.Name == t.Name {
				p = x
			}
		}
		if p == nil {
			l.errf(t.Pos, "%s: track_process %q names no vrrp_track_process block", owner, t.Name)
			continue
		}
		if !t.weightSet {
			t.Weight, t.Reverse = p.Weight, p.Reverse
		}
	}
}

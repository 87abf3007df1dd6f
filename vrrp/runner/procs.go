package runner

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lvs-ha/lvs-ha/vrrp/track"
)

// DefaultProcessPoll is how often the process list is read for track_process
// when Options.ProcessPoll is zero. keepalived follows the kernel's process
// events connector; lvs-ha polls /proc.
const DefaultProcessPoll = 500 * time.Millisecond

// ProcessLister lists the host's processes for track_process.
type ProcessLister interface {
	Processes() ([]track.ProcInfo, error)
}

// ProcFS lists processes from /proc.
type ProcFS struct {
	// Root is the proc mount; "" means /proc.
	Root string
}

var _ ProcessLister = ProcFS{}

// Processes reads comm and cmdline of every process; processes that exit
// while being read are skipped.
func (p ProcFS) Processes() ([]track.ProcInfo, error) {
	root := p.Root
	if root == "" {
		root = "/proc"
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	out := make([]track.ProcInfo, 0, len(ents))
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		dir := root + "/" + e.Name()
		comm, err := os.ReadFile(dir + "/comm")
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(dir + "/cmdline")
		if err != nil {
			continue
		}
		out = append(out, track.ProcInfo{Comm: strings.TrimSuffix(string(comm), "\n"), Cmdline: cmd})
	}
	return out, nil
}

// TrackProcess is one track_process entry of an instance.
type TrackProcess struct {
	// Process is the vrrp_track_process definition; every instance tracking
	// the same Name must give the same Process.
	Process track.ProcessConfig
	// Weight (-254..254) and Reverse are this instance's effect; the caller
	// copies the block's defaults when track_process gives none. Weight 0
	// means FAULT while the quorum is not met (with Reverse: while it is).
	Weight  int
	Reverse bool
}

// procState is a tracked process's state, owned by the loop.
type procState struct {
	t *track.ProcessTracker
}

type instProc struct {
	p       *procState
	weight  int
	reverse bool
}

func newProc(c track.ProcessConfig) *procState {
	t, _ := track.NewProcessTracker(c) // validated by normalize
	return &procState{t: t}
}

// observeProcs counts the matching processes of every tracker in ps and
// tells the instances tracking one whose state changed.
func (r *Runner) observeProcs(ps []*procState, list []track.ProcInfo) {
	for _, p := range ps {
		n := 0
		for _, pi := range list {
			if p.t.Config().Matches(pi) {
				n++
			}
		}
		if p.t.Observe(r.now, n) {
			r.procChanged(p)
		}
	}
}

func (r *Runner) procChanged(p *procState) {
	c := p.t.Config()
	st := p.t.State()
	r.log.Info("track_process state changed", "track_process", c.Name, "process", c.Process, "count", p.t.Count(), "state", st.String())
	reason := fmt.Sprintf("track_process %s %s", c.Name, st)
	for _, in := range r.insts {
		for _, x := range in.procs {
			if x.p == p {
				r.updateTrackers(in, reason)
				break
			}
		}
	}
}

// listProcs lists processes synchronously (at startup).
func (r *Runner) listProcs(ps []*procState) {
	list, err := r.opts.Processes.Processes()
	if err != nil {
		r.log.Warn("track_process: cannot list processes", "err", err)
		return
	}
	r.observeProcs(ps, list)
}

// startProcPoll lists processes on a goroutine; the result comes back
// through r.in and is applied to the trackers still configured.
func (r *Runner) startProcPoll() {
	r.procListing = true
	ps := r.procs
	ctx := r.asyncCtx
	r.async.Go(func() {
		list, err := r.opts.Processes.Processes()
		r.send(ctx, func() {
			r.procListing = false
			r.nextProcPoll = r.now.Add(r.opts.ProcessPoll)
			if err != nil {
				r.log.Warn("track_process: cannot list processes", "err", err)
				return
			}
			var still []*procState
			for _, p := range ps {
				for _, q := range r.procs {
					if p == q {
						still = append(still, p)
					}
				}
			}
			r.observeProcs(still, list)
		})
	})
}

// tickProcs applies the fork and terminate delays that expired.
func (r *Runner) tickProcs() {
	for _, p := range r.procs {
		if due(p.t.NextDeadline(), r.now) && p.t.Tick(r.now) {
			r.procChanged(p)
		}
	}
}

package daemon

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/internal/strictfw"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
)

// strictPlan is what the strict mode / no_accept firewall needs of a plan:
// the nftables settings and the instances that drop traffic to their
// addresses while MASTER. As in keepalived 2.2.7 (vrrp_handle_accept_mode),
// those are the instances without accept mode that are not the address
// owner (priority 255); their VIPs and excluded VIPs are dropped while
// they are MASTER (the addresses are on the host and must not be
// answered); a BACKUP does not hold them, so nothing is dropped for it.
type strictPlan struct {
	opts  strictfw.Options
	insts []strictInst // the instances without accept
}

type strictInst struct {
	name  string
	drops []strictfw.Drop
}

func strictPlanOf(g conf.GlobalDefs, insts []runner.InstanceConfig) strictPlan {
	sp := strictPlan{opts: strictfw.Options{Table: g.Nftables, Priority: g.NftablesPriority, Counters: g.NftablesCounters}}
	for _, in := range insts {
		if in.Machine.Accept || in.Machine.Priority == 255 {
			continue
		}
		si := strictInst{name: in.Machine.Name}
		for _, a := range slices.Concat(in.VIPs, in.ExcludedVIPs) {
			si.drops = append(si.drops, strictfw.Drop{Addr: a.Prefix.Addr(), Dev: a.Dev})
		}
		sp.insts = append(sp.insts, si)
	}
	return sp
}

// needed: some instance has no accept mode, so the table exists (from
// start to stop, empty while no such instance is MASTER).
func (sp strictPlan) needed() bool { return len(sp.insts) > 0 }

// strictDrops is what the table drops given the instances' states.
func strictDrops(sp strictPlan, states map[string]vrrp.State) []strictfw.Drop {
	var out []strictfw.Drop
	for _, si := range sp.insts {
		if states[si.name] == vrrp.StateMaster {
			out = append(out, si.drops...)
		}
	}
	return out
}

// strictd keeps the strict mode / no_accept nftables table in step with the
// plan and the instances' states. One goroutine, Run, owns the firewall;
// reloads (commit), the runner (setSource) and its transitions (kick)
// hand it their news. The table exists only while some instance lacks
// accept mode; Run deletes it when ctx ends. Failures are logged and
// retried at the next change or every 10 s.
type strictd struct {
	log   *slog.Logger
	newFW func(strictfw.Options) strictfw.Firewall

	mu   sync.Mutex
	next *strictPlan
	wake chan struct{}
	src  atomic.Pointer[vrrpSource]

	// Owned by Run.
	plan    strictPlan
	fw      strictfw.Firewall // nil: no table made
	fwOpts  strictfw.Options
	applied []strictfw.Drop
	ok      bool // applied is what the table holds
}

func newStrictd(p strictPlan, log *slog.Logger, newFW func(strictfw.Options) strictfw.Firewall) *strictd {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if newFW == nil {
		newFW = func(o strictfw.Options) strictfw.Firewall { return &strictfw.NFT{Options: o} }
	}
	return &strictd{log: log, newFW: newFW, plan: p, wake: make(chan struct{}, 1)}
}

func (s *strictd) setSource(v vrrpSource) {
	if v == nil {
		s.src.Store(nil)
	} else {
		s.src.Store(&v)
	}
	s.kick()
}

func (s *strictd) commit(p strictPlan) {
	s.mu.Lock()
	s.next = &p
	s.mu.Unlock()
	s.kick()
}

func (s *strictd) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *strictd) states() map[string]vrrp.State {
	m := map[string]vrrp.State{}
	if src := s.src.Load(); src != nil {
		for _, in := range (*src).Snapshot().Instances {
			m[in.Name] = in.State
		}
	}
	return m
}

const strictRetry = 10 * time.Second

// Run applies the table until ctx ends, then removes it.
func (s *strictd) Run(ctx context.Context) error {
	retry := time.NewTimer(strictRetry)
	defer retry.Stop()
	for {
		s.mu.Lock()
		if s.next != nil {
			s.plan, s.next = *s.next, nil
		}
		s.mu.Unlock()
		s.apply(ctx)
		select {
		case <-ctx.Done():
			s.remove()
			return nil
		case <-s.wake:
		case <-retry.C:
		}
		retry.Reset(strictRetry)
	}
}

func (s *strictd) apply(ctx context.Context) {
	if s.fw != nil && (!s.plan.needed() || s.fwOpts != s.plan.opts) {
		s.remove()
	}
	if !s.plan.needed() {
		return
	}
	want := strictDrops(s.plan, s.states())
	if s.fw != nil && s.ok && slices.Equal(want, s.applied) {
		return
	}
	if s.fw == nil {
		s.fw, s.fwOpts = s.newFW(s.plan.opts), s.plan.opts
	}
	if err := s.fw.Set(ctx, want); err != nil {
		s.ok = false
		s.log.Error("strict mode: setting the nftables rules failed", "table", s.fwOpts.Table, "error", err)
		return
	}
	s.applied, s.ok = want, true
	s.log.Info("strict mode: nftables rules set", "table", s.fwOpts.Table, "dropped", len(want))
}

// remove deletes the table lvs-ha made, if any.
func (s *strictd) remove() {
	if s.fw == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.fw.Remove(ctx); err != nil {
		s.log.Error("strict mode: removing the nftables table failed", "table", s.fwOpts.Table, "error", err)
	}
	s.fw, s.applied, s.ok = nil, nil, false
}

// noFirewall is the firewall of tests with a fake VRRP runner.
type noFirewall struct{}

func (noFirewall) Set(context.Context, []strictfw.Drop) error { return nil }
func (noFirewall) Remove(context.Context) error               { return nil }

var _ strictfw.Firewall = noFirewall{}

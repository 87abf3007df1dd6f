package daemon

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/internal/strictfw"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
)

// strictPlan is what the strict mode / no_accept firewall needs of a plan:
// the nftables settings and the addresses to drop while they are on the
// host. As in keepalived 2.2.7 (vrrp_handle_accept_mode), those are the
// VIPs and excluded VIPs of the instances without accept mode that are not
// the address owner (priority 255); they are dropped while the VRRP runner
// holds them (a MASTER: it must not answer them), from just before the
// runner adds one to just after it removes it, so no packet reaches a VIP
// in between. A BACKUP does not hold them, so nothing is dropped for it.
type strictPlan struct {
	opts  strictfw.Options
	addrs map[strictfw.Drop]bool
}

// dropOf is the firewall's key of a VIP.
func dropOf(a vip.Address) strictfw.Drop {
	return strictfw.Drop{Addr: a.Prefix.Addr().WithZone(""), Dev: a.Dev}
}

func strictPlanOf(g conf.GlobalDefs, insts []runner.InstanceConfig) strictPlan {
	sp := strictPlan{opts: strictfw.Options{Table: g.Nftables, Priority: g.NftablesPriority, Counters: g.NftablesCounters},
		addrs: map[strictfw.Drop]bool{}}
	for _, in := range insts {
		if in.Machine.Accept || in.Machine.Priority == 255 {
			continue
		}
		for _, a := range slices.Concat(in.VIPs, in.ExcludedVIPs) {
			sp.addrs[dropOf(a)] = true
		}
	}
	return sp
}

// needed: some instance has no accept mode, so the table exists (from
// start to stop, empty while no such instance is MASTER).
func (sp strictPlan) needed() bool { return len(sp.addrs) > 0 }

// strictDrops is what the table drops: the held addresses of the plan, in
// order.
func strictDrops(sp strictPlan, held map[strictfw.Drop]bool) []strictfw.Drop {
	var out []strictfw.Drop
	for d := range held {
		if sp.addrs[d] {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b strictfw.Drop) int {
		if c := a.Addr.Compare(b.Addr); c != 0 {
			return c
		}
		return strings.Compare(a.Dev, b.Dev)
	})
	return out
}

// strictd keeps the strict mode / no_accept nftables table in step with the
// plan and the VIPs the VRRP runner holds. One goroutine, Run, owns the
// firewall; reloads (commit) and the runner's VIP manager (strictVIPs:
// hold before adding a VIP, release after removing it) hand it their news.
// The table exists only while some instance lacks accept mode; Run deletes
// it when ctx ends. Failures are logged and retried at the next change or
// every 10 s.
type strictd struct {
	log   *slog.Logger
	newFW func(strictfw.Options) strictfw.Firewall

	mu   sync.Mutex
	next *strictPlan
	held map[strictfw.Drop]bool // the VIPs on the host, by the runner
	// planAddrs is the latest plan's addrs (committed or not), for hold.
	planAddrs map[strictfw.Drop]bool
	wake      chan struct{}
	reqs      chan chan struct{} // hold's: apply, then close
	stopped   chan struct{}      // closed when Run returns

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
	return &strictd{log: log, newFW: newFW, plan: p, planAddrs: p.addrs, held: map[strictfw.Drop]bool{},
		wake: make(chan struct{}, 1), reqs: make(chan chan struct{}), stopped: make(chan struct{})}
}

func (s *strictd) commit(p strictPlan) {
	s.mu.Lock()
	s.next, s.planAddrs = &p, p.addrs
	s.mu.Unlock()
	s.kick()
}

func (s *strictd) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// strictHoldTimeout bounds how long adding a VIP waits for its drop rule.
const strictHoldTimeout = 5 * time.Second

// hold records that d is about to be added and, when the plan drops it,
// waits until the table drops it (or Run has stopped, or a timeout).
func (s *strictd) hold(d strictfw.Drop) {
	s.mu.Lock()
	s.held[d] = true
	drops := s.planAddrs[d]
	s.mu.Unlock()
	if !drops {
		return
	}
	done := make(chan struct{})
	t := time.NewTimer(strictHoldTimeout)
	defer t.Stop()
	select {
	case s.reqs <- done:
	case <-s.stopped:
		return
	case <-t.C:
		s.log.Error("strict mode: adding a VIP before its drop rule is set", "address", d.Addr)
		return
	}
	select {
	case <-done:
	case <-t.C:
		s.log.Error("strict mode: adding a VIP before its drop rule is set", "address", d.Addr)
	}
}

// release records that d was removed.
func (s *strictd) release(d strictfw.Drop) {
	s.mu.Lock()
	delete(s.held, d)
	s.mu.Unlock()
	s.kick()
}

const strictRetry = 10 * time.Second

// Run applies the table until ctx ends, then removes it.
func (s *strictd) Run(ctx context.Context) error {
	defer close(s.stopped)
	retry := time.NewTimer(strictRetry)
	defer retry.Stop()
	var waiting []chan struct{}
	for {
		s.mu.Lock()
		if s.next != nil {
			s.plan, s.next = *s.next, nil
		}
		held := maps.Clone(s.held)
		s.mu.Unlock()
		s.apply(ctx, held)
		for _, c := range waiting {
			close(c)
		}
		waiting = waiting[:0]
		select {
		case <-ctx.Done():
			s.remove()
			return nil
		case <-s.wake:
		case c := <-s.reqs:
			waiting = append(waiting, c)
		case <-retry.C:
		}
		retry.Reset(strictRetry)
	}
}

func (s *strictd) apply(ctx context.Context, held map[strictfw.Drop]bool) {
	if s.fw != nil && (!s.plan.needed() || s.fwOpts != s.plan.opts) {
		s.remove()
	}
	if !s.plan.needed() {
		return
	}
	want := strictDrops(s.plan, held)
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

// strictVIPs is the runner's VIP manager: the firewall drops a VIP of an
// instance without accept mode from before it is added until after it is
// removed.
type strictVIPs struct {
	runner.VIPManager
	s *strictd
}

var _ runner.VIPManager = strictVIPs{}

func (v strictVIPs) Add(a vip.Address) error {
	v.s.hold(dropOf(a))
	return v.VIPManager.Add(a)
}

func (v strictVIPs) Remove(a vip.Address) error {
	err := v.VIPManager.Remove(a)
	v.s.release(dropOf(a))
	return err
}

// noFirewall is the firewall of tests with a fake VRRP runner.
type noFirewall struct{}

func (noFirewall) Set(context.Context, []strictfw.Drop) error { return nil }
func (noFirewall) Remove(context.Context) error               { return nil }

var _ strictfw.Firewall = noFirewall{}

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
// the nftables settings and the addresses to drop. As in keepalived 2.2.7
// (vrrp_handle_accept_mode), those are the VIPs and excluded VIPs of the
// instances without accept mode that are not the address owner (priority
// 255): a MASTER holding them must not answer them. keepalived adds an
// instance's addresses to its sets when it becomes MASTER, before the VIPs,
// and removes them after the VIPs when it leaves MASTER; lvs-ha keeps every
// such address in the table from start (or the reload that configures it)
// to stop (or the reload that removes it, after the runner has removed the
// VIP), so the rule is there before a VIP is added and until after it is
// removed without the VRRP loop ever waiting for nft. On a BACKUP the rule
// drops nothing: the address is not the host's.
type strictPlan struct {
	opts  strictfw.Options
	addrs map[strictfw.Drop]bool
}

// union is the plan dropping the addresses of both plans, with p's
// settings: a reload's table while the VRRP runner moves from o to p.
func (p strictPlan) union(o strictPlan) strictPlan {
	u := strictPlan{opts: p.opts, addrs: maps.Clone(p.addrs)}
	if u.addrs == nil {
		u.addrs = map[strictfw.Drop]bool{}
	}
	maps.Copy(u.addrs, o.addrs)
	return u
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
// start to stop).
func (sp strictPlan) needed() bool { return len(sp.addrs) > 0 }

// strictDrops is what the table drops: the plan's addresses, in order.
func strictDrops(sp strictPlan) []strictfw.Drop {
	out := slices.Collect(maps.Keys(sp.addrs))
	slices.SortFunc(out, func(a, b strictfw.Drop) int {
		if c := a.Addr.Compare(b.Addr); c != 0 {
			return c
		}
		return strings.Compare(a.Dev, b.Dev)
	})
	return out
}

// strictd keeps the strict mode / no_accept nftables table in step with the
// plan. One goroutine, Run, owns the firewall; reloads hand it their plans
// (commit, or commitWait, which waits until it is applied) and the runner's
// VIP manager (strictVIPs) checks, before adding a VIP, that the table
// drops it: it does unless the reload that configured it, or nft, failed,
// and only then does the add wait (hold, at most strictHoldTimeout). The
// table exists only while some instance lacks accept mode; Run deletes it
// when ctx ends. Failures are logged and retried at the next change or
// every 10 s.
type strictd struct {
	log   *slog.Logger
	newFW func(strictfw.Options) strictfw.Firewall

	mu   sync.Mutex
	next *strictPlan
	// planAddrs is the latest plan's addrs (committed or not), for hold.
	planAddrs map[strictfw.Drop]bool
	// dropping is what the table drops now.
	dropping map[strictfw.Drop]bool
	wake     chan struct{}
	reqs     chan chan struct{} // hold's and commitWait's: apply, then close
	stopped  chan struct{}      // closed when Run returns

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
	return &strictd{log: log, newFW: newFW, plan: p, planAddrs: p.addrs, dropping: map[strictfw.Drop]bool{},
		wake: make(chan struct{}, 1), reqs: make(chan chan struct{}), stopped: make(chan struct{})}
}

func (s *strictd) commit(p strictPlan) {
	s.mu.Lock()
	s.next, s.planAddrs = &p, p.addrs
	s.mu.Unlock()
	s.kick()
}

// commitWait commits p and waits (at most strictHoldTimeout) until Run has
// applied it or has stopped; false when it timed out. A reload calls it
// before the VRRP runner adds or removes VIPs.
func (s *strictd) commitWait(p strictPlan) bool {
	s.commit(p)
	return s.request()
}

// request asks Run to apply its latest plan and waits for it (at most
// strictHoldTimeout): false when it timed out.
func (s *strictd) request() bool {
	done := make(chan struct{})
	t := time.NewTimer(strictHoldTimeout)
	defer t.Stop()
	select {
	case s.reqs <- done:
	case <-s.stopped:
		return true
	case <-t.C:
		return false
	}
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

func (s *strictd) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// strictHoldTimeout bounds how long adding a VIP waits for its drop rule.
const strictHoldTimeout = 5 * time.Second

// hold returns once the table drops d, which is about to be added, when
// the plan drops it: at once unless its rule is not in yet (a reload's
// commitWait or nft failed), else after Run has applied the plan again (or
// has stopped, or a timeout).
func (s *strictd) hold(d strictfw.Drop) {
	s.mu.Lock()
	wait := s.planAddrs[d] && !s.dropping[d]
	s.mu.Unlock()
	if wait && !s.request() {
		s.log.Error("strict mode: adding a VIP before its drop rule is set", "address", d.Addr)
	}
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
		s.mu.Unlock()
		s.apply(ctx)
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

func (s *strictd) apply(ctx context.Context) {
	if s.fw != nil && (!s.plan.needed() || s.fwOpts != s.plan.opts) {
		s.remove()
	}
	if !s.plan.needed() {
		return
	}
	want := strictDrops(s.plan)
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
	s.setDropping(want)
	s.log.Info("strict mode: nftables rules set", "table", s.fwOpts.Table, "dropped", len(want))
}

func (s *strictd) setDropping(ds []strictfw.Drop) {
	m := make(map[strictfw.Drop]bool, len(ds))
	for _, d := range ds {
		m[d] = true
	}
	s.mu.Lock()
	s.dropping = m
	s.mu.Unlock()
}

// remove deletes the table lvs-ha made, if any.
func (s *strictd) remove() {
	if s.fw == nil {
		return
	}
	s.setDropping(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.fw.Remove(ctx); err != nil {
		s.log.Error("strict mode: removing the nftables table failed", "table", s.fwOpts.Table, "error", err)
	}
	s.fw, s.applied, s.ok = nil, nil, false
}

// strictVIPs is the runner's VIP manager: adding a VIP of an instance
// without accept mode first makes sure the firewall drops it (hold).
type strictVIPs struct {
	runner.VIPManager
	s *strictd
}

var _ runner.VIPManager = strictVIPs{}

func (v strictVIPs) Add(a vip.Address) error {
	v.s.hold(dropOf(a))
	return v.VIPManager.Add(a)
}

// noFirewall is the firewall of tests with a fake VRRP runner.
type noFirewall struct{}

func (noFirewall) Set(context.Context, []strictfw.Drop) error { return nil }
func (noFirewall) Remove(context.Context) error               { return nil }

var _ strictfw.Firewall = noFirewall{}

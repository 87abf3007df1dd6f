package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lvs-ha/lvs-ha/bgp"
	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/internal/clock"
	"github.com/lvs-ha/lvs-ha/internal/metrics"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
)

// bgpSpeaker is what the daemon needs of the BGP speaker (*bgp.Speaker).
type bgpSpeaker interface {
	bgp.Announcer
	Run(ctx context.Context) error
	Update(opts bgp.Options) error
	Status() bgp.Status
}

var _ bgpSpeaker = (*bgp.Speaker)(nil)

// newBGPSpeaker is bgp.New behind the consumer interface.
func newBGPSpeaker(o bgp.Options, reg prometheus.Registerer, log *slog.Logger) (bgpSpeaker, error) {
	return bgp.New(o, reg, log)
}

// bgpPlan is bgp_speaker and the virtual servers with bgp_announce,
// translated. The zero value is "no bgp_speaker".
type bgpPlan struct {
	on        bool         // bgp_speaker is configured
	speaker   *bgp.Options // the speaker's options; nil in route-only mode
	routeOnly string       // route-only mode's interface
	delay     time.Duration
	drain     time.Duration
	vips      []bgpVIP // sorted by prefix
}

// bgpVIP is one announced prefix and the virtual servers that name it.
type bgpVIP struct {
	prefix netip.Prefix
	vss    []bgpVS
}

// bgpVS is a virtual server with bgp_announce: its lvsState name and its
// min_healthy.
type bgpVS struct {
	id         string
	minHealthy int
}

// newBGPPlan translates cfg's bgp_speaker and its virtual servers' (vss)
// bgp_announce; the speaker's options are validated as bgp.New validates
// them, the error located at bgp_speaker.
func newBGPPlan(cfg *conf.Config, vss []*vsState) (bgpPlan, error) {
	b := cfg.BGPSpeaker
	if b == nil {
		return bgpPlan{}, nil
	}
	p := bgpPlan{on: true, routeOnly: b.RouteOnly, delay: b.AnnounceDelay.Std(), drain: b.DrainTime.Std()}
	if b.RouteOnly == "" {
		o := bgpOptions(b)
		// Each neighbor alone first, so that its error is at its line.
		for i, n := range b.Neighbors {
			one := bgp.Options{RouterID: o.RouterID, LocalAS: o.LocalAS, Neighbors: o.Neighbors[i : i+1]}
			if err := one.Validate(); err != nil {
				return p, at(n.Pos, fmt.Errorf("bgp_speaker (%s): %w", n.Pos, err))
			}
		}
		if err := o.Validate(); err != nil {
			return p, at(b.Pos, fmt.Errorf("bgp_speaker (%s): %w", b.Pos, err))
		}
		p.speaker = &o
	}
	byPrefix := map[netip.Prefix]*bgpVIP{}
	for _, vs := range vss {
		a := vs.v.BGPAnnounce
		if a == nil {
			continue
		}
		for _, s := range vs.services {
			if s.Key.IsFWMark() {
				continue
			}
			pfx := netip.PrefixFrom(s.Key.Addr, s.Key.Addr.BitLen())
			v := byPrefix[pfx]
			if v == nil {
				v = &bgpVIP{prefix: pfx}
				byPrefix[pfx] = v
			}
			if !slices.ContainsFunc(v.vss, func(x bgpVS) bool { return x.id == vs.name }) {
				v.vss = append(v.vss, bgpVS{id: vs.name, minHealthy: a.MinHealthy})
			}
		}
	}
	for _, v := range byPrefix {
		p.vips = append(p.vips, *v)
	}
	slices.SortFunc(p.vips, func(a, b bgpVIP) int { return comparePrefix(a.prefix, b.prefix) })
	return p, nil
}

func comparePrefix(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}

// bgpOptions translates bgp_speaker into the speaker's options.
func bgpOptions(b *conf.BGPSpeaker) bgp.Options {
	o := bgp.Options{RouterID: b.RouterID, LocalAS: b.LocalAS}
	for _, n := range b.Neighbors {
		nb := bgp.Neighbor{Address: n.Addr, RemoteAS: n.RemoteAS, Port: n.Port, HoldTime: n.HoldTime.Std(), Password: n.Password,
			Passive: n.Passive, EBGPMultihop: n.EBGPMultihop, LocalAddress: n.LocalAddress}
		if f := n.BFD; f != nil {
			nb.BFD = &bgp.BFD{MinTx: f.MinTx.Std(), MinRx: f.MinRx.Std(), Multiplier: f.Multiplier}
		}
		o.Neighbors = append(o.Neighbors, nb)
	}
	return o
}

// lvsHealth is what lvs tells bgpd after each apply: whether an apply of
// the table has succeeded yet, and each virtual server's healthy real
// servers (up, weight > 0), by lvsState name.
type lvsHealth struct {
	applied bool
	healthy map[string]int
}

// Reasons of the gate's inputs.
const (
	reasonNotProgrammed = "IPVS not programmed yet"
	reasonDraining      = "draining (stopping)"
)

// bgpEligibility is the gate's input: a VIP is eligible once the table has
// been applied, while every virtual server with bgp_announce that names it
// has at least its min_healthy healthy real servers; none is while
// draining.
func bgpEligibility(p *bgpPlan, h lvsHealth, draining bool) []bgp.GateInput {
	in := make([]bgp.GateInput, 0, len(p.vips))
	for _, v := range p.vips {
		g := bgp.GateInput{Prefix: v.prefix}
		switch {
		case draining:
			g.Reason = reasonDraining
		case !h.applied:
			g.Reason = reasonNotProgrammed
		default:
			g.Eligible = true
			var ok []string
			for _, vs := range v.vss {
				n := h.healthy[vs.id]
				if n < vs.minHealthy {
					g.Eligible = false
					g.Reason = fmt.Sprintf("virtual_server %s: %d healthy real servers, min_healthy %d", vs.id, n, vs.minHealthy)
					break
				}
				ok = append(ok, fmt.Sprintf("%s %d/%d", vs.id, n, vs.minHealthy))
			}
			if g.Eligible {
				g.Reason = "healthy: " + strings.Join(ok, ", ")
			}
		}
		in = append(in, g)
	}
	return in
}

// BGPPrefix is a prefix's gate state (/status).
type BGPPrefix = metrics.BGPPrefix

// bgpdOptions configure a bgpd.
type bgpdOptions struct {
	Logger *slog.Logger
	Clock  clock.Clock
	Addrs  runner.VIPManager // the host addresses on lo and the route-only interface
}

// bgpd gates the VIPs of virtual servers with bgp_announce: it computes
// their eligibility from lvs's health reports, runs the pure bgp.Gate on
// every change and at the gate's next deadline, and carries out its
// decisions on the announcer (the speaker, or route-only mode's interface
// addresses). In speaker mode every configured VIP is a /32 (/128) on lo
// from the moment it is configured until it is removed or lvs-ha stops,
// announced or not: IPVS keeps receiving the connections still in flight
// after a withdrawal (drain). It is the one owner of the gate's state.
type bgpd struct {
	log   *slog.Logger
	clk   clock.Clock
	addrs runner.VIPManager

	// The inbox.
	mu       sync.Mutex
	health   *lvsHealth
	next     *bgpCommit
	drainReq chan chan bool // answered by Run with whether anything was announced
	wake     chan struct{}

	// Owned by Run.
	plan      bgpPlan
	ann       bgp.Announcer // nil without bgp_speaker
	gate      *bgp.Gate
	h         lvsHealth
	draining  bool
	onLo      map[netip.Prefix]bool // host addresses put on lo
	foundLo   map[netip.Prefix]bool // of those, the ones already there: never removed
	announced map[netip.Prefix]bool

	smu    sync.Mutex
	status []BGPPrefix
}

type bgpCommit struct {
	p   bgpPlan
	ann bgp.Announcer
}

func newBGPD(p bgpPlan, ann bgp.Announcer, o bgpdOptions) *bgpd {
	b := &bgpd{log: o.Logger, clk: clock.OrReal(o.Clock), addrs: o.Addrs, plan: p, ann: ann, gate: bgp.NewGate(p.delay),
		wake: make(chan struct{}, 1), drainReq: make(chan chan bool), onLo: map[netip.Prefix]bool{}, foundLo: map[netip.Prefix]bool{}, announced: map[netip.Prefix]bool{}}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	return b
}

func (b *bgpd) kick() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// setHealth is lvs's report; it never blocks.
func (b *bgpd) setHealth(h lvsHealth) {
	b.mu.Lock()
	b.health = &h
	b.mu.Unlock()
	b.kick()
}

// commit hands a reload's plan and announcer to Run.
func (b *bgpd) commit(p bgpPlan, ann bgp.Announcer) {
	b.mu.Lock()
	b.next = &bgpCommit{p: p, ann: ann}
	b.mu.Unlock()
	b.kick()
}

// drain withdraws every prefix (SIGTERM) and reports whether any was
// announced. It returns false at once when Run is not running.
func (b *bgpd) drain(ctx context.Context) bool {
	reply := make(chan bool, 1)
	select {
	case b.drainReq <- reply:
		select {
		case was := <-reply:
			return was
		case <-ctx.Done():
		}
	case <-ctx.Done():
	}
	return false
}

// Prefixes is the gate's state, for /status.
func (b *bgpd) Prefixes() []BGPPrefix {
	b.smu.Lock()
	defer b.smu.Unlock()
	return slices.Clone(b.status)
}

// Run drives the gate until ctx ends, then withdraws what is announced and
// removes the host addresses it added.
func (b *bgpd) Run(ctx context.Context) error {
	var timer clock.Timer
	var fire <-chan time.Time
	b.syncLo()
	for {
		b.mu.Lock()
		h, next := b.health, b.next
		b.health, b.next = nil, nil
		b.mu.Unlock()
		if h != nil {
			b.h = *h
		}
		if next != nil {
			b.adopt(next.p, next.ann)
		}
		deadline := b.step()
		fire = nil
		if !deadline.IsZero() {
			d := max(deadline.Sub(b.clk.Now()), 0)
			if timer == nil {
				timer = b.clk.NewTimer(d)
			} else {
				timer.Stop()
				timer.Reset(d)
			}
			fire = timer.C()
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			b.stop()
			return nil
		case <-b.wake:
		case <-fire:
		case reply := <-b.drainReq:
			was := len(b.announced) > 0
			b.draining = true
			b.step()
			if b.ann != nil {
				if err := b.ann.WithdrawAll(reasonDraining); err != nil {
					b.log.Error("bgp: withdrawing every prefix failed", "error", err)
				}
			}
			reply <- was
		}
	}
}

// adopt switches to a reload's plan: prefixes no longer configured are
// withdrawn by the next step (absent from the gate's input); a changed
// announce_delay starts a new gate that knows what is announced.
func (b *bgpd) adopt(p bgpPlan, ann bgp.Announcer) {
	if ann != b.ann && b.ann != nil {
		// The announcer changed (route-only <-> speaker, or none): what the
		// old one announced goes.
		if err := b.ann.WithdrawAll("reload: announcer replaced"); err != nil {
			b.log.Error("bgp: withdrawing every prefix failed", "error", err)
		}
		clear(b.announced)
	}
	if p.delay != b.plan.delay || ann != b.ann {
		b.gate = bgp.NewGate(p.delay)
		// The new gate has no state: the prefixes still announced are
		// withdrawn now and announced again after the delay at worst;
		// without it they would stay announced unchecked.
		for _, pfx := range sortedPrefixes(b.announced) {
			b.withdraw(bgp.Decision{Prefix: pfx, Reason: "reload: announce_delay changed"})
		}
	}
	b.plan, b.ann = p, ann
	b.syncLo()
}

// step runs the gate on the current eligibility and carries out its
// decisions; it returns the gate's next deadline.
func (b *bgpd) step() time.Time {
	in := bgpEligibility(&b.plan, b.h, b.draining)
	now := b.clk.Now()
	announce, withdraw, next := b.gate.Step(now, in)
	errs := map[netip.Prefix]string{}
	for _, d := range withdraw {
		if err := b.withdraw(d); err != nil {
			errs[d.Prefix] = err.Error()
		}
	}
	for _, d := range announce {
		if b.ann == nil {
			continue
		}
		if err := b.ann.Announce(d.Prefix, d.Reason); err != nil {
			b.log.Error("bgp: announce failed", "prefix", d.Prefix, "reason", d.Reason, "error", err)
			errs[d.Prefix] = err.Error()
			continue
		}
		b.log.Info("bgp: announced", "prefix", d.Prefix, "reason", d.Reason)
		b.announced[d.Prefix] = true
		b.setSince(d.Prefix, now)
	}
	b.publish(in, errs)
	return next
}

func (b *bgpd) withdraw(d bgp.Decision) error {
	if b.ann == nil {
		delete(b.announced, d.Prefix)
		return nil
	}
	if err := b.ann.Withdraw(d.Prefix, d.Reason); err != nil {
		b.log.Error("bgp: withdraw failed", "prefix", d.Prefix, "reason", d.Reason, "error", err)
		return err
	}
	if b.announced[d.Prefix] {
		b.log.Info("bgp: withdrawn", "prefix", d.Prefix, "reason", d.Reason)
		b.setSince(d.Prefix, b.clk.Now())
	}
	delete(b.announced, d.Prefix)
	return nil
}

// since records when each prefix's announced state last changed.
func (b *bgpd) setSince(p netip.Prefix, t time.Time) {
	b.smu.Lock()
	defer b.smu.Unlock()
	for i := range b.status {
		if b.status[i].Prefix == p {
			b.status[i].Since = t
			return
		}
	}
	b.status = append(b.status, BGPPrefix{Prefix: p, Since: t})
}

// publish refreshes the status rows from the gate's input.
func (b *bgpd) publish(in []bgp.GateInput, errs map[netip.Prefix]string) {
	b.smu.Lock()
	defer b.smu.Unlock()
	since := map[netip.Prefix]time.Time{}
	for _, s := range b.status {
		since[s.Prefix] = s.Since
	}
	out := make([]BGPPrefix, 0, len(in))
	for _, g := range in {
		out = append(out, BGPPrefix{Prefix: g.Prefix, Eligible: g.Eligible, Announced: b.announced[g.Prefix], Reason: g.Reason,
			Since: since[g.Prefix], Error: errs[g.Prefix]})
	}
	b.status = out
}

// loAddrs are the host addresses that must be on lo: every configured VIP
// in speaker mode (and in route-only mode on another interface).
func (b *bgpd) loAddrs() map[netip.Prefix]bool {
	want := map[netip.Prefix]bool{}
	if !b.plan.on || b.plan.routeOnly == "lo" {
		return want
	}
	for _, v := range b.plan.vips {
		want[v.prefix] = true
	}
	return want
}

// syncLo adds and removes the host addresses on lo to match the plan.
func (b *bgpd) syncLo() {
	want := b.loAddrs()
	for _, p := range sortedPrefixes(b.onLo) {
		if !want[p] {
			b.delAddr(p, "lo")
			delete(b.onLo, p)
		}
	}
	for _, v := range b.plan.vips {
		if want[v.prefix] && !b.onLo[v.prefix] {
			// An address someone else put on lo is used and left there.
			if h, ok := b.addrs.(addrHas); ok {
				if has, err := h.Has(hostAddr(v.prefix, "lo")); err == nil && has {
					b.log.Info("bgp: the VIP is already on lo; it stays there when lvs-ha stops", "prefix", v.prefix)
					b.onLo[v.prefix], b.foundLo[v.prefix] = true, true
					continue
				}
			}
			if err := b.addrs.Add(hostAddr(v.prefix, "lo")); err != nil {
				b.log.Error("bgp: adding the VIP to lo failed (IPVS does not receive its traffic)", "prefix", v.prefix, "error", err)
				continue
			}
			b.onLo[v.prefix] = true
		}
	}
}

func (b *bgpd) delAddr(p netip.Prefix, dev string) {
	if dev == "lo" && b.foundLo[p] {
		delete(b.foundLo, p)
		return
	}
	if err := b.addrs.Remove(hostAddr(p, dev)); err != nil {
		b.log.Error("bgp: removing the VIP's host address failed", "prefix", p, "dev", dev, "error", err)
	}
}

// stop withdraws what is announced (speaker: the sessions close anyway;
// route-only: the addresses go) and removes the lo addresses.
func (b *bgpd) stop() {
	if b.ann != nil && len(b.announced) > 0 {
		if err := b.ann.WithdrawAll("stopping"); err != nil {
			b.log.Error("bgp: withdrawing every prefix failed", "error", err)
		}
	}
	clear(b.announced)
	for _, p := range sortedPrefixes(b.onLo) {
		b.delAddr(p, "lo")
	}
	clear(b.onLo)
}

// addrHas is the optional part of the address manager (*vip.Manager) that
// tells an address already on its device.
type addrHas interface {
	Has(a vip.Address) (bool, error)
}

var _ addrHas = (*vip.Manager)(nil)

func hostAddr(p netip.Prefix, dev string) vip.Address {
	return vip.Address{Prefix: p, Dev: dev}
}

// routeOnly is route-only mode's announcer: an announced VIP is a host
// address on the interface, which the site's routing daemon redistributes.
type routeOnly struct {
	addrs runner.VIPManager
	dev   string

	mu  sync.Mutex
	out map[netip.Prefix]bool
}

var _ bgp.Announcer = (*routeOnly)(nil)

func newRouteOnly(addrs runner.VIPManager, dev string) *routeOnly {
	return &routeOnly{addrs: addrs, dev: dev, out: map[netip.Prefix]bool{}}
}

func (r *routeOnly) Announce(p netip.Prefix, _ string) error {
	if err := r.addrs.Add(hostAddr(p, r.dev)); err != nil {
		return err
	}
	r.mu.Lock()
	r.out[p] = true
	r.mu.Unlock()
	return nil
}

func (r *routeOnly) Withdraw(p netip.Prefix, _ string) error {
	if err := r.addrs.Remove(hostAddr(p, r.dev)); err != nil {
		return err
	}
	r.mu.Lock()
	delete(r.out, p)
	r.mu.Unlock()
	return nil
}

func (r *routeOnly) WithdrawAll(reason string) error {
	r.mu.Lock()
	ps := make([]netip.Prefix, 0, len(r.out))
	for p := range r.out {
		ps = append(ps, p)
	}
	r.mu.Unlock()
	var first error
	for _, p := range ps {
		if err := r.Withdraw(p, reason); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// healthOf is lvs's report for bgpd: each virtual server's healthy real
// servers (up with a weight above 0).
func healthOf(s *lvsState, applied bool) lvsHealth {
	h := lvsHealth{applied: applied, healthy: make(map[string]int, len(s.vss))}
	for _, vs := range s.vss {
		n := 0
		for _, rs := range vs.rss {
			if rs.up && rs.weight() > 0 {
				n++
			}
		}
		h.healthy[vs.name] = n
	}
	return h
}

// newSpeaker makes the BGP speaker for o, its metrics on the daemon's
// registry.
func (d *Daemon) newSpeaker(o bgp.Options) (bgpSpeaker, error) {
	mk := d.opts.newSpeaker
	if mk == nil {
		mk = newBGPSpeaker
	}
	reg := &trackedRegisterer{Registerer: d.reg}
	s, err := mk(o, reg, d.log.With("component", "bgp"))
	if err != nil {
		reg.unregisterAll()
		return nil, fmt.Errorf("bgp_speaker: %w", err)
	}
	d.speakerReg = reg
	return s, nil
}

// trackedRegisterer remembers the collectors a speaker registers, so that
// a reload that removes bgp_speaker unregisters them (and one that adds it
// again can register a new speaker's).
type trackedRegisterer struct {
	prometheus.Registerer
	cs []prometheus.Collector
}

func (t *trackedRegisterer) Register(c prometheus.Collector) error {
	if err := t.Registerer.Register(c); err != nil {
		return err
	}
	t.cs = append(t.cs, c)
	return nil
}

func (t *trackedRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := t.Register(c); err != nil {
			panic(err)
		}
	}
}

func (t *trackedRegisterer) unregisterAll() {
	for _, c := range t.cs {
		t.Registerer.Unregister(c)
	}
	t.cs = nil
}

// announcer is what bgpd announces through under p: the speaker, route-only
// mode's interface, or nothing.
func (d *Daemon) announcer(p *plan) bgp.Announcer {
	switch {
	case p.bgp.speaker != nil && d.speaker != nil:
		return d.speaker
	case p.bgp.on && p.bgp.routeOnly != "":
		return newRouteOnly(d.net, p.bgp.routeOnly)
	}
	return nil
}

// startSpeakerLocked runs the speaker under Run's group, until Run ends or
// a reload removes it.
func (d *Daemon) startSpeakerLocked() {
	ctx, stop := context.WithCancel(d.gctx)
	s := d.speaker
	d.speakerStop = stop
	d.g.Go(func() error {
		if err := s.Run(ctx); err != nil && ctx.Err() == nil {
			return fmt.Errorf("bgp: %w", err)
		}
		return nil
	})
}

// reloadBGPLocked applies a reload's bgp_speaker: the running speaker gets
// the new options through Update only when they changed (sessions whose
// neighbor did not change stay up), one is started or stopped when
// bgp_speaker appears or goes, and bgpd gets the new VIPs (those of removed
// virtual servers are withdrawn at once).
func (d *Daemon) reloadBGPLocked(old, p *plan) error {
	switch o := p.bgp.speaker; {
	case o != nil && d.speaker != nil:
		if old.bgp.speaker == nil || !reflect.DeepEqual(*old.bgp.speaker, *o) {
			if err := d.speaker.Update(*o); errors.Is(err, bgp.ErrRestartRequired) {
				d.log.Warn("reload: bgp_speaker change takes effect at the next restart; the speaker keeps its settings", "error", err)
			} else if err != nil {
				return fmt.Errorf("bgp: %w", err)
			} else {
				d.log.Info("reload: bgp speaker updated", "neighbors", len(o.Neighbors))
			}
		}
	case o != nil:
		s, err := d.newSpeaker(*o)
		if err != nil {
			return err
		}
		d.speaker = s
		d.startSpeakerLocked()
		d.log.Info("reload: bgp speaker started", "neighbors", len(o.Neighbors))
	case d.speaker != nil:
		stop, reg := d.speakerStop, d.speakerReg
		d.speaker, d.speakerStop, d.speakerReg = nil, nil, nil
		defer d.log.Info("reload: bgp speaker stopped")
		defer reg.unregisterAll()
		defer stop()
	}
	// bgpd withdraws what a removed speaker announced when it adopts the
	// plan; the sessions close when the speaker stops (deferred above).
	d.bgp.commit(p.bgp, d.announcer(p))
	return nil
}

// drainBGP is SIGTERM with bgp_speaker: every prefix is withdrawn, then
// lvs-ha keeps forwarding for drain_time (when something was announced)
// so that the router moves the flows away before IPVS goes.
func (d *Daemon) drainBGP(ctx context.Context) {
	p := d.plan.Load().bgp
	if !p.on {
		return
	}
	if !d.bgp.drain(ctx) || p.drain <= 0 {
		d.log.Info("bgp: every prefix withdrawn")
		return
	}
	d.log.Info("bgp: every prefix withdrawn; draining", "drain_time", p.drain)
	t := clock.OrReal(d.opts.clk).NewTimer(p.drain)
	defer t.Stop()
	select {
	case <-t.C():
	case <-ctx.Done():
	}
}

// sortedPrefixes are m's keys in order (a stable order of operations).
func sortedPrefixes(m map[netip.Prefix]bool) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, comparePrefix)
	return out
}

// bgpState is /status's BGP section.
func (d *Daemon) bgpState() metrics.BGPState {
	p := d.plan.Load().bgp
	st := metrics.BGPState{Mode: "speaker", Prefixes: d.bgp.Prefixes()}
	if p.routeOnly != "" {
		st.Mode, st.Interface = "route_only", p.routeOnly
	}
	d.mu.Lock()
	s := d.speaker
	d.mu.Unlock()
	if s != nil {
		ss := s.Status()
		st.Speaker = &ss
	}
	return st
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/lvs-ha/lvs-ha/garp"
	"github.com/lvs-ha/lvs-ha/internal/script"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/iproute"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
	"github.com/lvs-ha/lvs-ha/vrrp/vrrpsock"
)

// onPacket dispatches a received packet to its instance by VRID, decodes
// it with the instance's checks and steps the machine.
func (r *Runner) onPacket(cs *connState, p vrrpsock.Packet) {
	if len(p.Payload) < 2 {
		r.rx.tooShort.Add(1)
		return
	}
	in := cs.byVRID[p.Payload[1]]
	if in == nil {
		k := vridKey{cs.cfg.Interface, vrrp.FamilyIPv4, p.Payload[1]}
		if cs.cfg.IPv6 {
			k.fam = vrrp.FamilyIPv6
		}
		if !r.cfg.vridUsed[k] {
			r.rx.unknownVRID.Add(1)
			if r.opts.LogUnknownVRIDs {
				r.log.Info("Unknown VRID received, ignoring", "vrid", k.vrid, "interface", k.iface, "from", p.Src)
			}
		}
		return
	}
	// The addresses go to a reused buffer: the machine keeps none of them.
	d, err := vrrp.DecodeBuf(p.Payload, vrrp.RxInfo{Src: p.Src, Dst: p.Dst, TTL: p.TTL}, in.m.Expect(p.Src), r.rxAddrs)
	if cap(d.Addrs) > cap(r.rxAddrs) {
		r.rxAddrs = d.Addrs[:0]
	}
	if err != nil {
		reason := vrrp.ReasonOf(err)
		in.stats.RxErrors[reason]++
		r.log.Debug("VRRP packet rejected", "instance", in.name, "from", p.Src, "reason", reason.String(), "err", err)
		return
	}
	in.stats.AdvertsReceived++
	in.hot.received.Store(in.stats.AdvertsReceived)
	if d.Priority == vrrp.PriorityStop {
		in.stats.PriorityZeroReceived++
	}
	if d.AddressListMismatch {
		in.stats.AddressListMismatch++
		r.log.Debug("VRRP advert address list differs from ours", "instance", in.name, "from", p.Src, "addrs", d.Addrs)
	}
	if d.IntervalMismatch {
		r.log.Debug("VRRP advert interval differs from ours", "instance", in.name, "from", p.Src, "interval", d.Interval)
	}
	r.step(in, vrrp.AdvertReceived{Advertisement: d.Advertisement, From: p.Src.Unmap()})
}

// onLinks applies a link dump (sync) or one link event to the interface
// trackers; the first dump starts the instances.
func (r *Runner) onLinks(evs []track.LinkEvent, sync bool) {
	if sync {
		clear(r.links)
		r.linksKnown = true
	}
	for _, ev := range evs {
		if ev.Deleted {
			delete(r.links, ev.Index)
		} else {
			r.links[ev.Index] = ev
		}
	}
	r.dynamicLinks()
	for _, in := range r.insts {
		if t := in.primary; t != nil {
			before := t.State()
			if r.applyLinks(t, evs, sync) {
				switch st := t.State(); {
				case st == track.StateFail:
					r.log.Info("VRRP interface down", "instance", in.name, "interface", in.cfg.Interface)
					r.step(in, vrrp.LinkDown{})
				case st == track.StateOK && before == track.StateFail:
					r.log.Info("VRRP interface up", "instance", in.name, "interface", in.cfg.Interface)
					r.step(in, vrrp.LinkUp{})
				}
			}
		}
		var changed []string
		for _, t := range in.ifaces {
			if r.applyLinks(t, evs, sync) {
				changed = append(changed, fmt.Sprintf("track_interface %s %s", t.Config().Name, linkWord(t.State())))
			}
		}
		if len(changed) > 0 && r.started {
			r.updateTrackers(in, joinReasons(changed))
		}
	}
	if sync && !r.started && r.canStart() {
		r.startup()
	}
}

func (r *Runner) applyLinks(t *track.InterfaceTracker, evs []track.LinkEvent, sync bool) bool {
	if sync {
		return t.Sync(evs)
	}
	changed := false
	for _, ev := range evs {
		changed = t.Apply(ev) || changed
	}
	return changed
}

func linkWord(s track.State) string {
	if s == track.StateOK {
		return "up"
	}
	return "down"
}

func joinReasons(rs []string) string {
	out := rs[0]
	for _, s := range rs[1:] {
		out += ", " + s
	}
	return out
}

// startScript starts a run of a tracking script on its own goroutine; the
// result comes back through r.in.
func (r *Runner) startScript(s *scriptState) {
	s.t.Start(r.now)
	spec := r.spec(&s.cmd, slices.Clone(s.cmd.Argv), s.t.Timeout())
	ctx := r.asyncCtx
	r.async.Go(func() {
		res := r.opts.Checker.Run(ctx, spec)
		r.send(ctx, func() { r.onScriptResult(s, res) })
	})
}

func (r *Runner) onScriptResult(s *scriptState, res script.Result) {
	if s.retired {
		return
	}
	name := s.t.Config().Name
	if !res.OK() {
		r.log.Debug("vrrp_script failed", "script", name, "result", res.String())
	}
	if !s.t.Result(r.now, res.OK()) {
		return
	}
	st := s.t.State()
	r.log.Info("vrrp_script state changed", "script", name, "state", st.String(), "result", res.String())
	reason := fmt.Sprintf("track_script %s %s", name, st)
	for _, in := range r.insts {
		for _, is := range in.scripts {
			if is.s == s {
				r.updateTrackers(in, reason)
				break
			}
		}
	}
}

// trackerStatuses lists the instance's trackers with its weights.
func (in *instance) trackerStatuses() []track.Status {
	return in.appendTrackerStatuses(nil)
}

// appendTrackerStatuses is trackerStatuses appending to out.
func (in *instance) appendTrackerStatuses(out []track.Status) []track.Status {
	for _, is := range in.scripts {
		out = append(out, is.s.t.Status().WithWeight(is.weight, is.reverse))
	}
	for _, t := range in.ifaces {
		out = append(out, t.Status())
	}
	for _, f := range in.files {
		out = append(out, f.f.status().WithWeight(f.weight, f.reverse))
	}
	for _, p := range in.procs {
		out = append(out, p.p.t.Status().WithWeight(p.weight, p.reverse))
	}
	return out
}

// updateTrackers tells the machine its trackers' combined effect.
func (r *Runner) updateTrackers(in *instance, reason string) {
	prio, fault := track.Effective(int(in.stats.BasePriority), in.trackerStatuses()...)
	r.step(in, vrrp.TrackersUpdated{Priority: uint8(prio), Fault: fault, Reason: reason})
}

// do carries out one action of in's machine.
func (r *Runner) do(in *instance, a vrrp.Action) {
	switch a := a.(type) {
	case vrrp.SendAdvert:
		r.sendAdvert(in, a.Advertisement)
	case vrrp.AddVIPs:
		r.addVIPs(in)
	case vrrp.RemoveVIPs:
		r.removeVIPs(in)
	case vrrp.SendGARP:
		switch a.Reason {
		case vrrp.GARPBecomeMaster:
			r.announce(in)
		case vrrp.GARPLowerPrio:
			in.sched.LowerPriority(r.now)
			r.flushGARP(in)
		}
	case vrrp.RxLowerPriority:
		key := notifyKey(script.NotifyInstance, in.name)
		if c := in.cfg.Notify.MasterRxLowerPri; c != nil {
			r.runNotify(key, in.name, "notify_master_rx_lower_pri", r.spec(c, c.Argv, r.opts.NotifyTimeout), false)
		}
		if f := r.opts.OnNotify; f != nil {
			f(script.NotifyInstance, in.name, StateMasterRxLowerPri, int(in.m.Priority()))
		}
	case vrrp.Notify:
		r.transition(in, a)
	case vrrp.PriorityChanged:
		r.log.Info("VRRP priority changed", "instance", in.name, "from", a.From, "to", a.To)
		if f := r.opts.OnNotify; f != nil && in.cfg.NotifyPriorityChanges {
			st := StateBackupPriority
			if in.m.State() == vrrp.StateMaster {
				st = StateMasterPriority
			}
			f(script.NotifyInstance, in.name, st, int(a.To))
		}
	}
}

func (r *Runner) sendAdvert(in *instance, a vrrp.Advertisement) {
	cs := in.conn
	if cs == nil {
		return
	}
	sent := false
	for _, dst := range cs.dsts {
		b, err := a.AppendMarshal(r.txBuf[:0], vrrp.EncodeOptions{Src: cs.src, Dst: dst, V3ChecksumAsV2: in.cfg.Machine.V3ChecksumAsV2})
		r.txBuf = b[:0] // reused: Send does not keep the payload
		if err == nil {
			err = cs.c.Send(b, dst)
		}
		if err != nil {
			in.stats.SendErrors++
			r.log.Warn("VRRP advert not sent", "instance", in.name, "to", dst, "err", err)
			continue
		}
		sent = true
	}
	if sent {
		in.stats.AdvertsSent++
		in.hot.sent.Store(in.stats.AdvertsSent)
		if a.Priority == vrrp.PriorityStop {
			in.stats.PriorityZeroSent++
		}
	}
}

// addVIPs adds in's addresses (allVIPs' order, without its copy: this is
// a takeover's path to its first GARP), then its virtual routes and rules
// (which may use the addresses), as keepalived does on becoming master.
func (r *Runner) addVIPs(in *instance) {
	in.vipsUp = true
	for _, v := range in.cfg.VIPs {
		r.addVIP(in, v)
	}
	for _, v := range in.cfg.ExcludedVIPs {
		r.addVIP(in, v)
	}
	r.addRoutes(in, in.cfg.Routes, in.cfg.Rules)
}

// removeVIPs removes in's virtual rules and routes, then its addresses.
func (r *Runner) removeVIPs(in *instance) {
	ok := r.removeRoutes(in, in.cfg.Routes, in.cfg.Rules)
	for _, v := range in.cfg.allVIPs() {
		ok = r.removeVIP(in, v) && ok
	}
	in.vipsUp = !ok
}

// addRoutes adds routes then rules of in, counting and logging failures.
func (r *Runner) addRoutes(in *instance, routes []iproute.Route, rules []iproute.Rule) {
	for _, rt := range routes {
		if err := r.opts.Routes.AddRoute(rt); err != nil {
			in.stats.VIPErrors++
			r.log.Error("adding virtual route failed", "instance", in.name, "route", rt.String(), "err", err)
		}
	}
	for _, ru := range rules {
		if err := r.opts.Routes.AddRule(ru); err != nil {
			in.stats.VIPErrors++
			r.log.Error("adding virtual rule failed", "instance", in.name, "rule", ru.String(), "err", err)
		}
	}
}

// removeRoutes removes rules then routes of in; false if one failed.
func (r *Runner) removeRoutes(in *instance, routes []iproute.Route, rules []iproute.Rule) bool {
	ok := true
	for _, ru := range rules {
		if err := r.opts.Routes.RemoveRule(ru); err != nil {
			ok = false
			in.stats.VIPErrors++
			r.log.Error("removing virtual rule failed", "instance", in.name, "rule", ru.String(), "err", err)
		}
	}
	for _, rt := range routes {
		if err := r.opts.Routes.RemoveRoute(rt); err != nil {
			ok = false
			in.stats.VIPErrors++
			r.log.Error("removing virtual route failed", "instance", in.name, "route", rt.String(), "err", err)
		}
	}
	return ok
}

// addVIP adds one of in's addresses, counting and logging a failure.
func (r *Runner) addVIP(in *instance, v vip.Address) {
	if err := r.opts.VIPs.Add(v); err != nil {
		in.stats.VIPErrors++
		r.log.Error("adding VIP failed", "instance", in.name, "vip", v.String(), "err", err)
	}
}

// removeVIP removes one of in's addresses, counting and logging a failure.
func (r *Runner) removeVIP(in *instance, v vip.Address) bool {
	if err := r.opts.VIPs.Remove(v); err != nil {
		in.stats.VIPErrors++
		r.log.Error("removing VIP failed", "instance", in.name, "vip", v.String(), "err", err)
		return false
	}
	return true
}

// announce (re)starts the instance's GARP schedule, as on becoming master.
// The addresses go through a reused buffer: Start copies them.
func (r *Runner) announce(in *instance) {
	r.garpVIPs = in.cfg.appendGARPVIPs(r.garpVIPs[:0])
	err := in.sched.Start(r.now, r.garpVIPs)
	clear(r.garpVIPs)
	if err != nil {
		in.stats.GARPErrors++
		r.log.Error("gratuitous ARP schedule", "instance", in.name, "err", err)
	}
	r.flushGARP(in)
}

func (r *Runner) flushGARP(in *instance) {
	r.garpSent.Sender = r.opts.Announcer
	n, err := garp.Flush(in.sched, &r.garpSent, r.now)
	in.stats.GARPsSent += uint64(n)
	if err != nil {
		for _, e := range unjoin(err) {
			if errors.Is(e, garp.ErrNoARP) {
				continue
			}
			in.stats.GARPErrors++
			r.log.Warn("gratuitous ARP / NA not sent", "instance", in.name, "err", e)
		}
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// logTransition logs a state change with the time of the decision (the
// step's r.now, though it is written after the step's actions) and, on
// becoming master, how long after the decision the first advert and the
// first GARP were sent (kept in the instance's statistics too).
func (r *Runner) logTransition(l transitionLog) {
	ctx := context.Background()
	h := r.log.Handler()
	if l.n.To == vrrp.StateMaster {
		l.in.stats.TakeoverAdvert, l.in.stats.TakeoverGARP = l.advert, l.garp
	}
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	rec := slog.NewRecord(r.now, slog.LevelInfo, "VRRP state change", 0)
	rec.AddAttrs(slog.String("instance", l.in.name), slog.String("from", l.n.From.String()),
		slog.String("to", l.n.To.String()), slog.String("reason", l.n.Reason))
	if l.n.To == vrrp.StateMaster && l.late >= 0 {
		rec.AddAttrs(slog.Duration("timer_late", l.late))
	}
	if l.n.To == vrrp.StateMaster && l.advOK {
		rec.AddAttrs(slog.Duration("advert_after", l.advert))
	}
	if l.n.To == vrrp.StateMaster && l.garpOK {
		rec.AddAttrs(slog.Duration("garp_after", l.garp))
	}
	_ = h.Handle(ctx, rec)
}

// transition keeps the statistics of a state change, stops GARPs when
// leaving master and runs the notify scripts.
func (r *Runner) transition(in *instance, n vrrp.Notify) {
	r.transited = true
	in.stats.LastTransition = r.now
	in.stats.LastTransitionReason = n.Reason
	if n.From == vrrp.StateMaster {
		in.stats.ReleaseMaster++
		in.sched.Stop()
	}
	if n.To == vrrp.StateMaster {
		in.stats.BecomeMaster++
	}
	if in.deleting && n.To == vrrp.StateInitialize {
		r.notifyDeleted(in, n.From)
		return
	}
	r.notifyScripts(script.NotifyInstance, in.name, in.cfg.Notify, n.To, int(in.m.Priority()))
}

// notifyDeleted runs the notify scripts of an instance removed by a reload,
// as keepalived's clear_diff_vrrp: DELETED (notify_deleted's script, then
// "notify") with notify_deleted, else FAULT unless it was in FAULT already.
func (r *Runner) notifyDeleted(in *instance, from vrrp.State) {
	ns, prio := in.cfg.Notify, int(in.m.Priority())
	switch {
	case in.cfg.NotifyDeleted:
		r.runNotifies(script.NotifyInstance, in.name, ns, script.StateDeleted, ns.Deleted, prio)
	case from != vrrp.StateFault:
		r.runNotifies(script.NotifyInstance, in.name, ns, script.StateFault, ns.Fault, prio)
	}
}

// checkGroup logs a sync group's state change and runs its notify scripts.
func (r *Runner) checkGroup(gs *groupState) {
	st := gs.g.State()
	if st == gs.state {
		return
	}
	from := gs.state
	gs.state = st
	r.log.Info("VRRP sync group state change", "group", gs.cfg.Name, "from", from.String(), "to", st.String())
	if st != vrrp.StateInitialize {
		r.notifyScripts(script.NotifyGroup, gs.cfg.Name, gs.cfg.Notify, st, 0)
	}
}

// notifyScripts runs the state-specific script, then the generic one, each
// on its own goroutine (keepalived waits for neither).
func (r *Runner) notifyScripts(kind script.NotifyKind, name string, ns NotifyScripts, to vrrp.State, prio int) {
	var (
		word     string
		specific *Command
	)
	switch to {
	case vrrp.StateMaster:
		word, specific = script.StateMaster, ns.Master
	case vrrp.StateBackup:
		word, specific = script.StateBackup, ns.Backup
	case vrrp.StateFault:
		word, specific = script.StateFault, ns.Fault
	case vrrp.StateInitialize:
		if kind == script.NotifyGroup {
			return
		}
		word, specific = script.StateStop, ns.Stop
	default:
		return
	}
	r.runNotifies(kind, name, ns, word, specific, prio)
}

// runNotifies runs specific (if any), then ns.Any with keepalived's four
// arguments for state word, then tells Options.OnNotify (keepalived's
// send_instance_notifies order).
func (r *Runner) runNotifies(kind script.NotifyKind, name string, ns NotifyScripts, word string, specific *Command, prio int) {
	stop := word == script.StateStop
	timeout := r.opts.NotifyTimeout
	if stop {
		timeout = script.StopNotifyTimeout
	}
	key := notifyKey(kind, name)
	what := fmt.Sprintf("%s %s %s", kind, name, word)
	if specific != nil {
		r.runNotify(key, what, "notify_"+strings.ToLower(word), r.spec(specific, slices.Clone(specific.Argv), timeout), stop)
	}
	if ns.Any != nil {
		r.runNotify(key, what, "notify", r.spec(ns.Any, script.NotifyArgs(ns.Any.Argv, kind, name, word, prio), timeout), stop)
	}
	if f := r.opts.OnNotify; f != nil {
		if kind == script.NotifyGroup {
			prio = 0
		}
		f(kind, name, word, prio)
	}
}

// notifyKey names the queue of an instance's or a group's notify scripts.
func notifyKey(kind script.NotifyKind, name string) string { return string(kind) + " " + name }

func (r *Runner) spec(c *Command, argv []string, timeout time.Duration) script.Spec {
	s := script.Spec{Argv: argv, User: c.User, Group: c.Group, Timeout: timeout}
	if s.User == "" {
		s.User, s.Group = r.opts.ScriptUser, r.opts.ScriptGroup
	}
	return s
}

// runNotify runs a notify script on its own goroutine, after the previous
// notify scripts queued under key (one instance's or one group's) have
// finished: unlike keepalived, which starts each without waiting (its issues
// #584, #996, #1055, #2158), the scripts of one instance run one at a time,
// in the order of the transitions. Scripts of different instances still run
// concurrently. STOP scripts are waited for when Run returns (they have a
// short timeout); the others are terminated when the shutdown starts, so
// that the STOP scripts queued behind them run.
func (r *Runner) runNotify(key, what, which string, spec script.Spec, stop bool) {
	ctx, wg := r.notifyCtx, &r.async
	if stop {
		ctx, wg = context.WithoutCancel(ctx), &r.stops
	}
	prev, done := r.notifyTail[key], make(chan struct{})
	r.notifyTail[key] = done
	log, notifier := r.log, r.opts.Notifier
	wg.Go(func() {
		defer close(done)
		if prev != nil {
			<-prev
		}
		res := notifier.Run(ctx, spec)
		lvl := slog.LevelDebug
		if !res.OK() {
			lvl = slog.LevelWarn
		}
		log.Log(context.Background(), lvl, "notify script finished", "for", what, "script", which, "argv", spec.Argv, "result", res.String())
	})
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/lvs-ha/lvs-ha/garp"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
)

// ErrNotRunning is returned by Update when Run is not running.
var ErrNotRunning = errors.New("vrrp: runner is not running")

// UpdateResult says what Update did, by instance name (the new name for a
// kept instance).
type UpdateResult struct {
	// Unchanged instances were not touched: same state, same timers.
	Unchanged []string
	// Reconfigured instances kept their state and took the new options
	// (see Reconfigure).
	Reconfigured []string
	// Restarted instances changed sync group membership: the old instance
	// was shut down (a master sends priority 0) and the new one started.
	Restarted []string
	// Added instances were started; Removed ones shut down.
	Added, Removed []string
}

// Changed reports whether Update changed anything.
func (u UpdateResult) Changed() bool {
	return len(u.Reconfigured)+len(u.Restarted)+len(u.Added)+len(u.Removed) > 0
}

type updateReq struct {
	p    *plan
	res  UpdateResult
	done chan error
}

// Update replaces the configuration of a running Runner, changing only what
// differs, as keepalived does on reload. An instance is the same instance
// when its interface, family and VRID are (keepalived's rule), whatever its
// name:
//
//   - an equal configuration is left alone: its state, timers and advert
//     rhythm go on as if nothing happened;
//   - a changed one keeps its state and counters and takes the new options
//     (Reconfigure): a master adds and removes the VIPs that changed and
//     announces the new set, its advert carries the new priority at once;
//     trackers that are still configured keep their state;
//   - an instance whose sync group membership changed is restarted, as are
//     the other members of its old and new group;
//   - instances no longer configured are shut down (a master sends
//     priority 0 and removes its VIPs); new ones start.
//
// Sockets are shared as before: new ones are opened first, and if one
// cannot be opened nothing is changed. An invalid configuration changes
// nothing either. Update may be called from any goroutine while Run runs;
// it returns ErrNotRunning otherwise.
func (r *Runner) Update(ctx context.Context, instances []InstanceConfig, groups []SyncGroupConfig) (UpdateResult, error) {
	if !r.ran.Load() {
		return UpdateResult{}, ErrNotRunning
	}
	p, err := newPlan(instances, groups, r.clock.Now())
	if err != nil {
		return UpdateResult{}, err
	}
	req := &updateReq{p: p, done: make(chan error, 1)}
	select {
	case r.updates <- req:
	case <-r.stopped:
		return UpdateResult{}, ErrNotRunning
	case <-ctx.Done():
		return UpdateResult{}, ctx.Err()
	}
	err = <-req.done
	return req.res, err
}

// groupSig identifies an instance's sync group membership across an
// update: the group's name and its members' identities.
func groupSig(in *instance) string {
	if in.group == nil {
		return ""
	}
	sig := in.group.cfg.Name
	for _, m := range in.group.members {
		sig += fmt.Sprintf("|%v", m.key())
	}
	return sig
}

func (in *instance) key() vridKey {
	return vridKey{in.cfg.Interface, in.cfg.Machine.Family, in.cfg.Machine.VRID}
}

// merge is Update on the owner goroutine; it fills res.
func (r *Runner) merge(p *plan, res *UpdateResult) error {
	old := map[vridKey]*instance{}
	for _, in := range r.insts {
		old[in.key()] = in
	}
	// Decide the fate of every new instance; final[i] is the object that
	// runs p.insts[i] from now on.
	type fate uint8
	const (
		keep fate = iota
		reconf
		restart
		add
	)
	fates := make([]fate, len(p.insts))
	final := make([]*instance, len(p.insts))
	olds := make([]instanceBefore, len(p.insts)) // reconfigured ones' previous settings
	matched := map[*instance]bool{}
	var retire []*instance // old instances to shut down, in old order
	for i, ni := range p.insts {
		oi := old[ni.key()]
		switch {
		case oi == nil:
			fates[i], final[i] = add, ni
		case groupSig(oi) != groupSig(ni):
			fates[i], final[i] = restart, ni
			matched[oi] = true
			retire = append(retire, oi)
		case reflect.DeepEqual(oi.cfg, ni.cfg):
			fates[i], final[i] = keep, oi
			matched[oi] = true
		default:
			fates[i], final[i] = reconf, oi
			matched[oi] = true
		}
	}

	// Sockets: reuse open ones by key, open the missing ones first.
	byKey := map[string]*connState{}
	for _, cs := range r.conns {
		byKey[sockKey(cs.cfg)] = cs
	}
	var opened []*connState
	connOf := make([]*connState, len(p.insts))
	for i, ni := range p.insts {
		key := sockKey(ni.cfg.sockConfig())
		cs := byKey[key]
		if cs == nil {
			var err error
			if cs, err = r.openConn(ni); err != nil {
				for _, o := range opened {
					o.c.Close()
				}
				return err
			}
			byKey[key] = cs
			opened = append(opened, cs)
		}
		connOf[i] = cs
	}

	// From here on nothing fails. Stop what goes away.
	for _, oi := range r.insts {
		if !matched[oi] {
			retire = append(retire, oi)
			res.Removed = append(res.Removed, oi.name)
		}
	}
	for _, oi := range r.insts {
		if slices.Contains(retire, oi) {
			r.retire(oi)
		}
	}

	// Scripts: a script with the same definition keeps its tracker.
	oldScripts := map[string]*scriptState{}
	for _, s := range r.scripts {
		oldScripts[s.t.Config().Name] = s
	}
	scriptFor := map[*scriptState]*scriptState{}
	var scripts []*scriptState
	for _, s := range p.scripts {
		if o := oldScripts[s.t.Config().Name]; o != nil && o.t.Config() == s.t.Config() && o.cmd.equal(&s.cmd) {
			scriptFor[s] = o
			delete(oldScripts, s.t.Config().Name)
			scripts = append(scripts, o)
			continue
		}
		scriptFor[s] = s
		scripts = append(scripts, s)
	}
	for _, o := range oldScripts {
		o.retired = true
	}
	r.scripts = scripts
	for _, ni := range p.insts {
		for j := range ni.scripts {
			ni.scripts[j].s = scriptFor[ni.scripts[j].s]
		}
	}

	// Rebuild the indexes in the new order.
	clear(r.byMachine)
	r.byName = map[string]*instance{}
	r.insts = r.insts[:0:0]
	for i, ni := range p.insts {
		in := final[i]
		cs := connOf[i]
		switch fates[i] {
		case keep:
			res.Unchanged = append(res.Unchanged, in.name)
		case reconf:
			olds[i] = r.takeConfig(in, ni)
			res.Reconfigured = append(res.Reconfigured, in.name)
		case restart:
			res.Restarted = append(res.Restarted, in.name)
		case add:
			res.Added = append(res.Added, in.name)
		}
		if in.conn != cs {
			if in.conn != nil && in.conn.byVRID[in.cfg.Machine.VRID] == in {
				delete(in.conn.byVRID, in.cfg.Machine.VRID)
			}
			in.conn = cs
		}
		cs.byVRID[in.cfg.Machine.VRID] = in
		if fates[i] == restart || fates[i] == add {
			if err := in.newMachine(); err != nil {
				// Cannot happen: newPlan validated the options with a
				// placeholder source of the socket's family.
				r.log.Error("VRRP instance with its socket's address", "instance", in.name, "err", err)
				in.m, _ = vrrp.NewMachine(in.cfg.Machine)
			}
		}
		r.insts = append(r.insts, in)
		r.byName[in.name] = in
		r.byMachine[in.m] = in
	}
	r.vridUsed = p.vridUsed
	r.needLinks = p.needLinks

	// Sync groups: a group whose membership is unchanged keeps its
	// SyncGroup (its members were kept or reconfigured); the others are new,
	// over freshly started members.
	oldGroups := map[string]*groupState{}
	for _, gs := range r.groups {
		if len(gs.members) > 0 {
			oldGroups[groupSig(gs.members[0])] = gs
		}
	}
	r.groups = r.groups[:0:0]
	for _, ngs := range p.groups {
		members := make([]*instance, len(ngs.members))
		for i, m := range ngs.members {
			members[i] = final[slices.Index(p.insts, m)]
		}
		gs := oldGroups[groupSig(ngs.members[0])]
		if gs != nil && gs.members[0] == members[0] {
			gs.cfg = ngs.cfg
			gs.members = members
		} else {
			gs = ngs
			gs.members = members
			ms := make([]*vrrp.Machine, len(members))
			for i, in := range members {
				ms[i] = in.m
			}
			g, err := vrrp.NewSyncGroup(gs.cfg.Name, ms...)
			if err != nil { // members are new machines: cannot happen
				r.log.Error("VRRP sync group not rebuilt", "group", gs.cfg.Name, "err", err)
			} else {
				gs.g = g
				gs.state = g.State()
			}
		}
		for _, in := range members {
			in.group = gs
			in.stats.SyncGroup = gs.cfg.Name
		}
		r.groups = append(r.groups, gs)
	}
	for _, in := range r.insts {
		if in.group != nil && !slices.Contains(r.groups, in.group) {
			in.group = nil
			in.stats.SyncGroup = ""
		}
	}

	// Sockets no instance uses any more are closed; new ones get a reader.
	var conns []*connState
	for _, cs := range r.conns {
		if len(cs.byVRID) == 0 {
			cs.retired.Store(true)
			if err := cs.c.Close(); err != nil {
				r.log.Warn("closing VRRP socket", "interface", cs.cfg.Interface, "err", err)
			}
			continue
		}
		conns = append(conns, cs)
	}
	for _, cs := range opened {
		conns = append(conns, cs)
		if r.group != nil {
			gctx := r.gctx
			r.group.Go(func() error { return r.receive(gctx, cs) })
		}
	}
	r.conns = conns
	if r.needLinks && r.opts.Links != nil && !r.watching && r.group != nil {
		r.watching = true
		gctx := r.gctx
		r.group.Go(func() error { return r.watchLinks(gctx) })
	}

	// Reconfigure the changed instances, now that every index is right (a
	// sync group may move other members). Every VIP that goes away goes
	// first, so that one moving between two masters ends up present.
	for i, in := range final {
		if fates[i] == reconf && in.vipsUp {
			r.removeStaleVIPs(in, olds[i])
		}
	}
	for i, in := range final {
		if fates[i] == reconf {
			r.reconfigure(in, olds[i])
		}
	}

	// Start the new instances (once the runner itself has started).
	for i, in := range final {
		if fates[i] != restart && fates[i] != add {
			continue
		}
		r.syncInterfaceTrackers(in)
		if !r.started {
			continue
		}
		if in.trackers {
			r.updateTrackers(in, "initial tracker state")
		}
		r.step(in, vrrp.Startup{})
	}
	for _, gs := range r.groups {
		if gs.g != nil {
			r.checkGroup(gs)
		}
	}
	return nil
}

// retire shuts an instance down for good: a master sends priority 0, its
// VIPs go, its socket stops delivering to it.
func (r *Runner) retire(in *instance) {
	acts := in.m.Step(r.now, vrrp.Shutdown{})
	for _, a := range acts {
		if n, ok := a.(vrrp.Notify); ok {
			r.logTransition(in, vrrp.Notify{From: n.From, To: n.To, Reason: "removed by configuration reload"})
		}
	}
	for _, a := range acts {
		r.do(in, a)
	}
	in.sched.Stop()
	if in.vipsUp {
		r.removeVIPs(in)
	}
	if in.conn != nil && in.conn.byVRID[in.cfg.Machine.VRID] == in {
		delete(in.conn.byVRID, in.cfg.Machine.VRID)
	}
}

// instanceBefore is what reconfigure needs of a kept instance's previous
// configuration.
type instanceBefore struct {
	vips     []vip.Address
	garpVIPs []garp.VIP
	garp     garp.Options
	primary  bool
}

// takeConfig moves ni's configuration into the running instance in,
// keeping the trackers and scripts that are still configured (merge has
// pointed ni's scripts at the kept ones). The machine
// is told by reconfigure.
func (r *Runner) takeConfig(in, ni *instance) instanceBefore {
	before := instanceBefore{vips: in.vips, garpVIPs: in.garpVIPs, garp: in.sched.Options(), primary: in.primary != nil}
	in.cfg, in.name = ni.cfg, ni.name
	in.vips, in.garpVIPs = ni.vips, ni.garpVIPs
	if *ni.cfg.GARP != before.garp {
		in.sched.Stop()
		in.sched = ni.sched
	}
	switch {
	case ni.primary == nil:
		in.primary = nil
	case in.primary == nil:
		in.primary = ni.primary
		r.syncTracker(in.primary)
	}
	ifaces := make([]*track.InterfaceTracker, 0, len(ni.ifaces))
	for _, t := range ni.ifaces {
		i := slices.IndexFunc(in.ifaces, func(o *track.InterfaceTracker) bool { return o.Config() == t.Config() })
		if i >= 0 {
			t = in.ifaces[i]
		} else {
			r.syncTracker(t)
		}
		ifaces = append(ifaces, t)
	}
	in.ifaces = ifaces
	in.scripts = ni.scripts
	in.trackers = ni.trackers
	in.stats.Name = ni.name
	in.stats.BasePriority = ni.stats.BasePriority
	return before
}

// reconfigure tells a kept instance's machine its new options and carries
// out the VIP additions (removeStaleVIPs has run) and announcements.
func (r *Runner) reconfigure(in *instance, before instanceBefore) {
	if in.vipsUp {
		for _, v := range in.vips {
			if !slices.Contains(before.vips, v) {
				r.addVIP(in, v)
			}
		}
	}
	o := in.cfg.Machine
	o.PrimaryAddr = in.conn.src
	ev := vrrp.Reconfigure{Options: o}
	if in.trackers {
		prio, fault := track.Effective(int(in.stats.BasePriority), in.trackerStatuses()...)
		ev.Trackers = &vrrp.TrackersUpdated{Priority: uint8(prio), Fault: fault, Reason: "configuration reloaded"}
	}
	r.step(in, ev)
	if before.primary && in.primary == nil && in.m.Fault() {
		r.step(in, vrrp.LinkUp{})
	}
	if t := in.primary; t != nil && !before.primary && t.State() == track.StateFail {
		r.step(in, vrrp.LinkDown{})
	}
	if in.m.State() == vrrp.StateMaster && (*in.cfg.GARP != before.garp || !slices.Equal(in.garpVIPs, before.garpVIPs)) {
		if err := in.sched.Start(r.now, in.garpVIPs); err != nil {
			in.stats.GARPErrors++
			r.log.Error("gratuitous ARP schedule", "instance", in.name, "err", err)
		}
		r.flushGARP(in)
	}
}

// removeStaleVIPs removes the VIPs a reconfigured master no longer has.
func (r *Runner) removeStaleVIPs(in *instance, before instanceBefore) {
	for _, v := range before.vips {
		if !slices.Contains(in.vips, v) {
			r.removeVIP(in, v)
		}
	}
}

// syncTracker gives a tracker made by an update the last known link state.
func (r *Runner) syncTracker(t *track.InterfaceTracker) {
	if !r.linksKnown {
		return
	}
	links := make([]track.LinkEvent, 0, len(r.links))
	for _, ev := range r.links {
		links = append(links, ev)
	}
	t.Sync(links)
}

// syncInterfaceTrackers prepares a new instance's interface trackers and
// link state before it starts.
func (r *Runner) syncInterfaceTrackers(in *instance) {
	for _, t := range in.ifaces {
		r.syncTracker(t)
	}
	if t := in.primary; t != nil {
		r.syncTracker(t)
		if r.linksKnown && t.State() == track.StateFail {
			r.step(in, vrrp.LinkDown{})
		}
	}
}

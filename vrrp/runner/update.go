package runner

import (
	"context"
	"errors"
	"slices"

	"github.com/lvs-ha/lvs-ha/garp"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vrrpsock"
)

// ErrNotRunning is returned by Update when Run is not running.
var ErrNotRunning = errors.New("vrrp: runner is not running")

// UpdateResult says what Update did, by instance name (the new name for a
// kept instance).
type UpdateResult struct {
	// Unchanged instances were not touched: same state, same timers.
	Unchanged []string
	// Reconfigured instances kept their state and took the new options
	// (see vrrp.Reconfigure).
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
	next, err := parse(instances, groups)
	if err != nil {
		return UpdateResult{}, err
	}
	var res UpdateResult
	done := make(chan error, 1)
	select {
	case r.updates <- func() { done <- r.apply(next, &res) }:
	case <-r.stopped:
		return UpdateResult{}, ErrNotRunning
	case <-ctx.Done():
		return UpdateResult{}, ctx.Err()
	}
	err = <-done
	return res, err
}

// apply is Update on the loop: it carries out diff's plan and fills res.
func (r *Runner) apply(next *config, res *UpdateResult) error {
	p := diff(r.cfg, next)

	// Sockets first: if one cannot be opened, nothing changes.
	conns := map[string]*connState{}
	for _, cs := range r.conns {
		conns[sockKey(cs.cfg)] = cs
	}
	var opened []*connState
	for _, i := range p.open {
		cs, err := r.openConn(&next.insts[i])
		if r.opts.DynamicInterfaces && r.opts.Links != nil && errors.Is(err, vrrpsock.ErrNoInterface) {
			continue // attached when the interface appears
		}
		if err != nil {
			for _, o := range opened {
				o.c.Close()
			}
			return err
		}
		conns[sockKey(cs.cfg)] = cs
		opened = append(opened, cs)
	}

	// From here on nothing fails. Shut down what goes away or restarts, in
	// the old order.
	retire := slices.Clone(p.removed)
	for _, ip := range p.insts {
		if ip.fate == restarted {
			retire = append(retire, ip.old)
		}
	}
	for i, in := range r.insts {
		if slices.Contains(retire, i) {
			in.deleting = slices.Contains(p.removed, i)
			r.retire(in)
		}
	}
	for _, i := range p.removed {
		res.Removed = append(res.Removed, r.insts[i].name)
	}

	// A script with the same definition keeps its tracker.
	scripts := make([]*scriptState, len(next.scripts))
	for j, o := range p.scripts {
		if o >= 0 {
			scripts[j] = r.scripts[o]
		} else {
			scripts[j] = newScript(next.scripts[j], r.now)
		}
	}
	for _, s := range r.scripts {
		s.retired = !slices.Contains(scripts, s)
	}

	// A file with the same definition keeps its state; a new one is read
	// now (after init_file).
	files := make([]*fileState, len(next.files))
	var fresh []*fileState
	for j, o := range p.files {
		if o >= 0 {
			files[j] = r.files[o]
		} else {
			files[j] = &fileState{cfg: next.files[j]}
			fresh = append(fresh, files[j])
		}
	}
	if r.started {
		r.initFiles(fresh, true)
		if r.nextFilePoll.IsZero() {
			r.nextFilePoll = r.now.Add(r.opts.FilePoll)
		}
	}

	// A process tracker with the same definition keeps its state; a new one
	// is decided by the next listing.
	procs := make([]*procState, len(next.procs))
	for j, o := range p.procs {
		if o >= 0 {
			procs[j] = r.procs[o]
		} else {
			procs[j] = newProc(next.procs[j])
		}
	}

	insts := make([]*instance, len(p.insts))
	for i, ip := range p.insts {
		c := next.insts[i]
		var in *instance
		switch ip.fate {
		case unchanged:
			in = r.insts[ip.old]
			res.Unchanged = append(res.Unchanged, in.name)
		case reconfigured:
			in = r.insts[ip.old]
			r.takeConfig(in, c, ip, next, scripts, files, procs)
			res.Reconfigured = append(res.Reconfigured, in.name)
		case restarted:
			in = newInstance(c, next, scripts, files, procs)
			res.Restarted = append(res.Restarted, in.name)
		case added:
			in = newInstance(c, next, scripts, files, procs)
			res.Added = append(res.Added, in.name)
		}
		in.conn = conns[sockKey(c.sockConfig())]
		if in.m == nil {
			if err := in.newMachine(); err != nil {
				// Cannot happen: parse validated the options with a
				// placeholder source of the socket's family.
				r.log.Error("VRRP instance with its socket's address", "instance", in.name, "err", err)
				in.m, _ = vrrp.NewMachine(c.Machine)
			}
		}
		insts[i] = in
	}
	r.insts, r.scripts, r.files, r.procs, r.cfg = insts, scripts, files, procs, next
	clear(r.byMachine)
	for _, cs := range conns {
		clear(cs.byVRID)
	}
	for _, in := range insts {
		r.byMachine[in.m] = in
		if in.conn != nil {
			in.conn.byVRID[in.cfg.Machine.VRID] = in
		}
	}

	// A sync group whose members all kept their state keeps its SyncGroup;
	// the others are new, over freshly started members.
	groups := make([]*groupState, len(next.groups))
	for j, o := range p.groups {
		gs := &groupState{}
		if o >= 0 {
			gs = r.groups[o]
		}
		gs.cfg, gs.members = next.groups[j], r.members(next.groups[j], insts)
		if o < 0 {
			if err := gs.newSyncGroup(); err != nil { // cannot happen: new members
				r.log.Error("VRRP sync group not rebuilt", "group", gs.cfg.Name, "err", err)
			}
		}
		groups[j] = gs
	}
	r.setGroups(groups)

	// Sockets no instance uses any more are closed; new ones get a reader.
	var kept []*connState
	for _, cs := range r.conns {
		if slices.Contains(p.close, sockKey(cs.cfg)) {
			cs.retired.Store(true)
			if err := cs.c.Close(); err != nil {
				r.log.Warn("closing VRRP socket", "interface", cs.cfg.Interface, "err", err)
			}
			continue
		}
		kept = append(kept, cs)
	}
	for _, cs := range opened {
		r.startReader(cs)
	}
	r.conns = append(kept, opened...)
	r.startLinkWatcher()
	r.startAddrWatcher()
	r.promoteSecondaries()

	// Reconfigure the changed instances, now that every index is right (a
	// sync group may move other members). Every VIP that goes away goes
	// first, so that one moving between two masters ends up present.
	for i, ip := range p.insts {
		if in := insts[i]; ip.fate == reconfigured && in.vipsUp {
			r.removeRoutes(in, ip.routesGone, ip.rulesGone)
			for _, v := range ip.vipsGone {
				r.removeVIP(in, v)
			}
		}
	}
	for i, ip := range p.insts {
		if ip.fate == reconfigured {
			r.reconfigure(insts[i], ip)
		}
	}

	// Start the new instances (once the runner itself has started).
	for i, ip := range p.insts {
		if ip.fate != restarted && ip.fate != added {
			continue
		}
		in := insts[i]
		r.syncInterfaceTrackers(in)
		if !r.started {
			continue
		}
		if in.trackers {
			r.updateTrackers(in, "initial tracker state")
		}
		if r.srcMissing(in) {
			r.step(in, vrrp.SrcAddr{Missing: true})
		}
		r.missingLink(in)
		r.step(in, vrrp.Startup{HoldUntil: r.holdUntil})
	}
	for _, gs := range r.groups {
		if gs.g != nil {
			r.checkGroup(gs)
		}
	}
	return nil
}

// retire shuts an instance down for good: a master sends priority 0 and
// its VIPs go.
func (r *Runner) retire(in *instance) {
	r.carryOut(tag(in.m, in.m.Step(r.now, vrrp.Shutdown{})), "removed by configuration reload")
	in.sched.Stop()
	if in.vipsUp {
		r.removeVIPs(in)
	}
}

// takeConfig gives a reconfigured instance its new configuration c, keeping
// the trackers and scripts that are still configured. The machine is told
// by reconfigure.
func (r *Runner) takeConfig(in *instance, c InstanceConfig, ip instPlan, next *config, scripts []*scriptState, files []*fileState, procs []*procState) {
	in.cfg, in.name = c, c.Machine.Name
	if ip.newGARP {
		in.sched.Stop()
		in.sched, _ = garp.NewScheduler(*c.GARP)
	}
	switch {
	case ip.primaryDropped:
		in.primary = nil
	case ip.primaryAdded:
		in.primary, _ = track.NewInterfaceTracker(track.InterfaceConfig{Name: c.Interface})
		r.syncTracker(in.primary)
	}
	ifaces := make([]*track.InterfaceTracker, len(ip.ifaces))
	for k, o := range ip.ifaces {
		if o >= 0 {
			ifaces[k] = in.ifaces[o]
		} else {
			ifaces[k], _ = track.NewInterfaceTracker(c.TrackInterfaces[k])
			r.syncTracker(ifaces[k])
		}
	}
	in.ifaces = ifaces
	in.setScripts(next, scripts, files, procs)
	in.stats.Name = in.name
	in.stats.BasePriority = c.basePriority()
}

// reconfigure tells a reconfigured instance's machine its new options and
// carries out the VIP additions (the removals are done) and announcements.
func (r *Runner) reconfigure(in *instance, ip instPlan) {
	if in.vipsUp {
		for _, v := range ip.vipsNew {
			r.addVIP(in, v)
		}
		r.addRoutes(in, ip.routesNew, ip.rulesNew)
	}
	o := in.cfg.Machine
	o.PrimaryAddr = in.m.Options().PrimaryAddr
	if in.conn != nil {
		o.PrimaryAddr = in.conn.src
	}
	ev := vrrp.Reconfigure{Options: o}
	if in.trackers {
		prio, fault := track.Effective(int(in.stats.BasePriority), in.trackerStatuses()...)
		ev.Trackers = &vrrp.TrackersUpdated{Priority: uint8(prio), Fault: fault, Reason: "configuration reloaded"}
	}
	r.step(in, ev)
	if ip.primaryDropped && in.m.Fault() {
		r.step(in, vrrp.LinkUp{})
	}
	if t := in.primary; t != nil && ip.primaryAdded && t.State() == track.StateFail {
		r.step(in, vrrp.LinkDown{})
	}
	// track_src_ip may have been turned on or off.
	r.step(in, vrrp.SrcAddr{Missing: r.srcMissing(in)})
	if in.m.State() == vrrp.StateMaster && ip.reannounce {
		r.announce(in)
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

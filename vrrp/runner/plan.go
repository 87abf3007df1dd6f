package runner

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/iproute"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
)

// config is a validated configuration: New runs one, Update replaces the
// running one with another after diff has planned the change.
type config struct {
	insts  []InstanceConfig // normalized
	groups []SyncGroupConfig
	// scripts are the tracked vrrp_scripts, each once in order of first
	// use, with track's defaults applied to Script.
	scripts []TrackScript
	// files are the tracked files, each once in order of first use.
	files []track.FileConfig
	// procs are the tracked processes, each once in order of first use.
	procs     []track.ProcessConfig
	vridUsed  map[vridKey]bool
	needLinks bool // some instance tracks a link
	needAddrs bool // some instance tracks its source address
}

type vridKey struct {
	iface string
	fam   vrrp.Family
	vrid  uint8
}

// key identifies an instance across a reload (keepalived's rule).
func (c *InstanceConfig) key() vridKey {
	return vridKey{c.Interface, c.Machine.Family, c.Machine.VRID}
}

// parse validates a configuration.
func parse(instances []InstanceConfig, groups []SyncGroupConfig) (*config, error) {
	cfg := &config{vridUsed: map[vridKey]bool{}}
	names := map[string]bool{}
	scripts := map[string]int{}
	for _, ic := range instances {
		c, err := ic.normalize()
		if err != nil {
			return nil, err
		}
		name := c.Machine.Name
		if names[name] {
			return nil, fmt.Errorf("vrrp: instance %s defined twice", name)
		}
		names[name] = true
		cfg.needLinks = cfg.needLinks || !c.DontTrackPrimary || len(c.TrackInterfaces) > 0
		cfg.needAddrs = cfg.needAddrs || c.TrackSrcIP
		for _, ts := range c.TrackScripts {
			t, err := track.NewScriptTracker(ts.Script, time.Time{})
			if err != nil {
				return nil, fmt.Errorf("vrrp: instance %s: %w", name, err)
			}
			ts.Script = t.Config()
			i, ok := scripts[ts.Script.Name]
			if !ok {
				scripts[ts.Script.Name] = len(cfg.scripts)
				ts.Command.Argv = slices.Clone(ts.Command.Argv)
				cfg.scripts = append(cfg.scripts, ts)
			} else if s := &cfg.scripts[i]; s.Script != ts.Script || !s.Command.equal(&ts.Command) {
				return nil, fmt.Errorf("vrrp: instance %s: vrrp_script %s is defined differently by another instance", name, ts.Script.Name)
			}
		}
		for _, tf := range c.TrackFiles {
			j := slices.IndexFunc(cfg.files, func(f track.FileConfig) bool { return f.Name == tf.File.Name })
			switch {
			case j < 0:
				cfg.files = append(cfg.files, tf.File)
			case cfg.files[j] != tf.File:
				return nil, fmt.Errorf("vrrp: instance %s: track_file %s is defined differently by another instance", name, tf.File.Name)
			}
		}
		for _, tp := range c.TrackProcesses {
			j := slices.IndexFunc(cfg.procs, func(p track.ProcessConfig) bool { return p.Name == tp.Process.Name })
			switch {
			case j < 0:
				tp.Process.Params = slices.Clone(tp.Process.Params)
				cfg.procs = append(cfg.procs, tp.Process)
			case !cfg.procs[j].Equal(tp.Process):
				return nil, fmt.Errorf("vrrp: instance %s: track_process %s is defined differently by another instance", name, tp.Process.Name)
			}
		}
		k := c.key()
		if cfg.vridUsed[k] {
			return nil, fmt.Errorf("vrrp: instance %s: VRID %d is already used by another %v instance on %s", name, k.vrid, k.fam, k.iface)
		}
		cfg.vridUsed[k] = true
		cfg.insts = append(cfg.insts, c)
	}
	inGroup := map[string]string{}
	for _, gc := range groups {
		gc.Members = slices.Clone(gc.Members)
		if gc.Name == "" {
			return nil, errors.New("vrrp: sync group without a name")
		}
		if len(gc.Members) == 0 {
			return nil, fmt.Errorf("vrrp: sync group %s has no members", gc.Name)
		}
		if err := gc.Notify.validate("vrrp: sync group " + gc.Name); err != nil {
			return nil, err
		}
		for _, name := range gc.Members {
			if !names[name] {
				return nil, fmt.Errorf("vrrp: sync group %s: no instance %s", gc.Name, name)
			}
			if g, ok := inGroup[name]; ok {
				return nil, fmt.Errorf("vrrp: sync group %s: instance %s is already in sync group %s", gc.Name, name, g)
			}
			inGroup[name] = gc.Name
		}
		cfg.groups = append(cfg.groups, gc)
	}
	return cfg, nil
}

// groupSig identifies an instance's sync group membership across a
// reload: the group's name and its members' keys; "" outside any group.
func (c *config) groupSig(i int) string {
	name := c.insts[i].Machine.Name
	for _, g := range c.groups {
		if slices.Contains(g.Members, name) {
			return c.membersSig(g)
		}
	}
	return ""
}

func (c *config) membersSig(g SyncGroupConfig) string {
	sig := g.Name
	for _, m := range g.Members {
		i := slices.IndexFunc(c.insts, func(ic InstanceConfig) bool { return ic.Machine.Name == m })
		sig += fmt.Sprintf("|%v", c.insts[i].key())
	}
	return sig
}

// fate is what a reload does with an instance of the new configuration.
type fate uint8

const (
	unchanged    fate = iota // equal configuration: not touched
	reconfigured             // same instance, new options: it keeps its state
	restarted                // sync group membership changed: shut down and started anew
	added                    // not configured before: started
)

// plan is what Update changes, computed by diff from the old and the new
// configuration alone; the runner carries it out.
type plan struct {
	insts []instPlan // by instance of the new configuration, in its order
	// removed are the old instances no longer configured (old indexes, in
	// the old order).
	removed []int
	// open: for every socket the new configuration needs and the old one
	// did not have, the first new instance that needs it. close: the sockets
	// (sockKey) no instance needs any more.
	open  []int
	close []string
	// scripts: per vrrp_script of the new configuration, the old one whose
	// tracker it keeps (same definition), or -1.
	scripts []int
	// files: per tracked file of the new configuration, the old one whose
	// state it keeps (same definition), or -1.
	files []int
	// procs: per tracked process of the new configuration, the old one
	// whose state it keeps (same definition), or -1.
	procs []int
	// groups: per sync group of the new configuration, the old group it
	// keeps (same name and members, which all keep their state), or -1.
	groups []int
}

type instPlan struct {
	fate fate
	old  int // index in the old configuration; -1 when added
	// The rest is for reconfigured instances.
	vipsGone, vipsNew     []vip.Address   // VIPs or excluded VIPs that go, that come
	routesGone, routesNew []iproute.Route // virtual routes that go, that come
	rulesGone, rulesNew   []iproute.Rule  // virtual rules that go, that come
	newGARP               bool            // GARP timing changed: a new garp.Scheduler
	reannounce            bool            // GARP timing or announced addresses changed: a master announces again
	// primaryDropped and primaryAdded: dont_track_primary was turned on, off.
	primaryDropped, primaryAdded bool
	// ifaces: per track_interface, the old tracker it keeps (same
	// configuration), or -1.
	ifaces []int
}

// diff plans the change from old to next. An instance is the same when its
// interface, family and VRID are, whatever its name.
func diff(old, next *config) *plan {
	p := &plan{}
	byKey := map[vridKey]int{}
	for i := range old.insts {
		byKey[old.insts[i].key()] = i
	}
	matched := make([]bool, len(old.insts))
	for i := range next.insts {
		nc := &next.insts[i]
		o, ok := byKey[nc.key()]
		ip := instPlan{fate: added, old: -1}
		if ok {
			matched[o] = true
			ip.old = o
			oc := &old.insts[o]
			switch {
			case old.groupSig(o) != next.groupSig(i):
				ip.fate = restarted
			case reflect.DeepEqual(*oc, *nc):
				ip.fate = unchanged
			default:
				ip.fate = reconfigured
				ip.plan(oc, nc)
			}
		}
		p.insts = append(p.insts, ip)
	}
	for o, m := range matched {
		if !m {
			p.removed = append(p.removed, o)
		}
	}

	oldSocks := map[string]bool{}
	for i := range old.insts {
		oldSocks[sockKey(old.insts[i].sockConfig())] = true
	}
	newSocks := map[string]bool{}
	for i := range next.insts {
		k := sockKey(next.insts[i].sockConfig())
		if !oldSocks[k] && !newSocks[k] {
			p.open = append(p.open, i)
		}
		newSocks[k] = true
	}
	for i := range old.insts {
		k := sockKey(old.insts[i].sockConfig())
		if !newSocks[k] && !slices.Contains(p.close, k) {
			p.close = append(p.close, k)
		}
	}

	for _, ns := range next.scripts {
		i := slices.IndexFunc(old.scripts, func(os TrackScript) bool {
			return os.Script == ns.Script && os.Command.equal(&ns.Command)
		})
		p.scripts = append(p.scripts, i)
	}

	for _, nf := range next.files {
		p.files = append(p.files, slices.Index(old.files, nf))
	}

	for _, np := range next.procs {
		p.procs = append(p.procs, slices.IndexFunc(old.procs, np.Equal))
	}

	for _, ng := range next.groups {
		sig := next.membersSig(ng)
		p.groups = append(p.groups, slices.IndexFunc(old.groups, func(og SyncGroupConfig) bool {
			return old.membersSig(og) == sig
		}))
	}
	return p
}

// plan fills in the changes of an instance reconfigured from oc to nc.
func (ip *instPlan) plan(oc, nc *InstanceConfig) {
	ov, nv := oc.allVIPs(), nc.allVIPs()
	for _, v := range ov {
		if !slices.Contains(nv, v) {
			ip.vipsGone = append(ip.vipsGone, v)
		}
	}
	for _, v := range nv {
		if !slices.Contains(ov, v) {
			ip.vipsNew = append(ip.vipsNew, v)
		}
	}
	eqRoute := iproute.Route.Equal
	eqRule := func(a, b iproute.Rule) bool { return a == b }
	ip.routesGone, ip.routesNew = gone(oc.Routes, nc.Routes, eqRoute), gone(nc.Routes, oc.Routes, eqRoute)
	ip.rulesGone, ip.rulesNew = gone(oc.Rules, nc.Rules, eqRule), gone(nc.Rules, oc.Rules, eqRule)
	ip.newGARP = *oc.GARP != *nc.GARP
	ip.reannounce = ip.newGARP || !slices.Equal(oc.garpVIPs(), nc.garpVIPs())
	ip.primaryDropped = !oc.DontTrackPrimary && nc.DontTrackPrimary
	ip.primaryAdded = oc.DontTrackPrimary && !nc.DontTrackPrimary
	for _, t := range nc.TrackInterfaces {
		ip.ifaces = append(ip.ifaces, slices.IndexFunc(oc.TrackInterfaces, func(o track.InterfaceConfig) bool { return o == t }))
	}
}

// gone returns the elements of a that b lacks.
func gone[T any](a, b []T, eq func(x, y T) bool) []T {
	var out []T
	for _, x := range a {
		if !slices.ContainsFunc(b, func(y T) bool { return eq(x, y) }) {
			out = append(out, x)
		}
	}
	return out
}

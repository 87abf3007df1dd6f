package daemon

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/conf/syntax"
	"github.com/lvs-ha/lvs-ha/internal/script"
)

// scriptChecker is script.CheckScriptSecurity: nil, an *script.InsecureError,
// or an error saying the script cannot be found.
type scriptChecker func(argv0 string, uid, gid uint32) error

// scriptSecurity is keepalived's check_vrrp_script_security and
// check_check_script_security: every script the configuration runs (vrrp_script,
// the instances' and sync groups' notify scripts, MISC_CHECK, notify_up /
// notify_down, quorum_up / quorum_down) that runs as root (or is set-uid/gid
// root) is checked for a path component a non-root user could replace.
//
// With enable_script_security an insecure script is disabled, as keepalived
// does ("Unsafe permissions found for script ... - disabling"): a vrrp_script
// is removed from the instances and sync groups tracking it, a notify script is
// not run, a MISC_CHECK is removed from its real server. The daemon still
// starts. Without it the scripts run and keepalived's "SECURITY VIOLATION -
// scripts are being executed but script_security not enabled" is a warning
// whenever the configuration has a script. Each finding is a warning at the
// script's position naming the path and the unsafe component.
//
// It returns cfg itself when nothing is disabled, else a copy without the
// disabled scripts (cfg is not modified).
func scriptSecurity(cfg *conf.Config, check scriptChecker) (*conf.Config, syntax.Diagnostics) {
	g := cfg.Global
	enabled := g.EnableScriptSecurity
	var ds syntax.Diagnostics
	bad := map[*conf.Script]bool{}
	var first *conf.Script
	insecure := false
	seen := map[*conf.Script]bool{}
	visit := func(s *conf.Script) {
		if s == nil || len(s.Argv) == 0 || seen[s] {
			return
		}
		seen[s] = true
		if first == nil {
			first = s
		}
		user, group := s.User, s.Group
		if user == "" {
			user, group = g.ScriptUser, g.ScriptGroup
		}
		uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
		cred, err := script.LookupCredential(user, group)
		if err != nil {
			return // the run fails and says why
		}
		if cred != nil {
			uid, gid = cred.Uid, cred.Gid
		}
		var ie *script.InsecureError
		if err := check(s.Argv[0], uid, gid); !errors.As(err, &ie) {
			return // secure, or not found (the run fails and says so)
		}
		insecure = true
		elem := ie.Elem
		if elem == "" {
			elem = ie.Script
		}
		msg := fmt.Sprintf("Unsafe permissions found for script '%s' (%s: %s)", s.Argv[0], elem, ie.Reason)
		if enabled {
			bad[s] = true
			msg += " - disabling"
		}
		ds = append(ds, syntax.Diagnostic{Pos: s.Pos, Severity: syntax.Warning, Msg: msg})
	}
	notify := func(n *conf.Notify) {
		for _, s := range []*conf.Script{n.Master, n.Backup, n.Fault, n.Stop, n.Deleted, n.Any, n.MasterRxLowerPri} {
			visit(s)
		}
	}
	used := map[string]bool{}
	for _, in := range cfg.VRRPInstances {
		for _, t := range in.TrackScripts {
			used[t.Name] = true
		}
	}
	for _, sg := range cfg.SyncGroups {
		for _, t := range sg.TrackScripts {
			used[t.Name] = true
		}
	}
	for _, s := range cfg.VRRPScripts {
		if used[s.Name] {
			visit(s.Script)
		}
	}
	for _, in := range cfg.VRRPInstances {
		notify(&in.Notify)
	}
	for _, sg := range cfg.SyncGroups {
		notify(&sg.Notify)
	}
	for _, v := range cfg.VirtualServers {
		visit(v.QuorumUp)
		visit(v.QuorumDown)
		for _, r := range v.RealServers {
			visit(r.NotifyUp)
			visit(r.NotifyDown)
			for _, c := range r.Checkers {
				if c.Type == conf.MiscCheck && c.Misc != nil {
					visit(c.Misc.Path)
				}
			}
		}
	}
	for _, f := range []*conf.Fifo{g.NotifyFifo, g.VRRPNotifyFifo, g.LVSNotifyFifo} {
		if f != nil && f.Name != "" {
			visit(f.Script) // keepalived checks the notify FIFO readers too
		}
	}
	if !enabled && first != nil {
		msg := "SECURITY VIOLATION - scripts are being executed but script_security not enabled."
		if insecure {
			msg += " There are insecure scripts."
		}
		ds = append(ds, syntax.Diagnostic{Pos: first.Pos, Severity: syntax.Warning, Msg: msg})
	}
	if len(bad) == 0 {
		return cfg, ds
	}
	return withoutScripts(cfg, bad), ds
}

// withoutScripts is a copy of cfg without the scripts in bad: tracked
// vrrp_scripts removed from instances and sync groups, notify scripts unset,
// MISC_CHECKs removed. Only the blocks that change are copied.
func withoutScripts(cfg *conf.Config, bad map[*conf.Script]bool) *conf.Config {
	out := *cfg
	badTrack := map[string]bool{}
	for _, s := range cfg.VRRPScripts {
		if bad[s.Script] {
			badTrack[s.Name] = true
		}
	}
	dropTracks := func(ts []conf.TrackedScript) []conf.TrackedScript {
		return slices.DeleteFunc(slices.Clone(ts), func(t conf.TrackedScript) bool { return badTrack[t.Name] })
	}
	notify := func(n conf.Notify) conf.Notify {
		for _, p := range []**conf.Script{&n.Master, &n.Backup, &n.Fault, &n.Stop, &n.Deleted, &n.Any, &n.MasterRxLowerPri} {
			if bad[*p] {
				*p = nil
			}
		}
		return n
	}
	out.VRRPInstances = make([]*conf.VRRPInstance, len(cfg.VRRPInstances))
	for i, in := range cfg.VRRPInstances {
		c := *in
		c.TrackScripts = dropTracks(in.TrackScripts)
		c.Notify = notify(in.Notify)
		out.VRRPInstances[i] = &c
	}
	out.SyncGroups = make([]*conf.SyncGroup, len(cfg.SyncGroups))
	for i, sg := range cfg.SyncGroups {
		c := *sg
		c.TrackScripts = dropTracks(sg.TrackScripts)
		c.Notify = notify(sg.Notify)
		out.SyncGroups[i] = &c
	}
	unset := func(s *conf.Script) *conf.Script {
		if bad[s] {
			return nil
		}
		return s
	}
	for _, p := range []**conf.Fifo{&out.Global.NotifyFifo, &out.Global.VRRPNotifyFifo, &out.Global.LVSNotifyFifo} {
		if *p != nil && bad[(*p).Script] {
			f := **p
			f.Script = nil
			*p = &f
		}
	}
	out.VirtualServers = make([]*conf.VirtualServer, len(cfg.VirtualServers))
	for i, v := range cfg.VirtualServers {
		c := *v
		c.QuorumUp, c.QuorumDown = unset(v.QuorumUp), unset(v.QuorumDown)
		c.RealServers = make([]*conf.RealServer, len(v.RealServers))
		for j, r := range v.RealServers {
			rc := *r
			rc.NotifyUp, rc.NotifyDown = unset(r.NotifyUp), unset(r.NotifyDown)
			rc.Checkers = slices.DeleteFunc(slices.Clone(r.Checkers), func(c *conf.Checker) bool {
				return c.Type == conf.MiscCheck && c.Misc != nil && bad[c.Misc.Path]
			})
			c.RealServers[j] = &rc
		}
		out.VirtualServers[i] = &c
	}
	return &out
}

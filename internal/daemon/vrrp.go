package daemon

import (
	"fmt"
	"slices"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/garp"
	"github.com/lvs-ha/lvs-ha/vrrp"
	"github.com/lvs-ha/lvs-ha/vrrp/runner"
	"github.com/lvs-ha/lvs-ha/vrrp/track"
	"github.com/lvs-ha/lvs-ha/vrrp/vip"
)

// vrrpConfig translates the configuration's VRRP part into the runner's option
// types. cfg has been validated by conf; an error here names the instance.
func vrrpConfig(cfg *conf.Config) ([]runner.InstanceConfig, []runner.SyncGroupConfig, error) {
	scripts := map[string]*conf.VRRPScript{}
	for _, s := range cfg.VRRPScripts {
		scripts[s.Name] = s
	}
	files := map[string]*conf.TrackFile{}
	for _, f := range cfg.TrackFiles {
		files[f.Name] = f
	}
	procs := map[string]*conf.TrackProcess{}
	for _, p := range cfg.TrackProcesses {
		procs[p.Name] = p
	}
	g := cfg.Global
	vp, err := planVMACs(cfg)
	if err != nil {
		return nil, nil, err
	}
	var out []runner.InstanceConfig
	for _, in := range cfg.VRRPInstances {
		ic, err := instanceConfig(g, scripts, in)
		if err == nil {
			vp.place(&ic, in) // use_vmac, use_vmac_addr: the VMACs
			ic.TrackFiles, err = trackFiles(files, in.TrackFiles, true)
		}
		if err == nil {
			ic.TrackProcesses, err = trackProcesses(procs, in.TrackProcesses, true)
		}
		if err != nil {
			return nil, nil, at(in.Pos, fmt.Errorf("vrrp_instance %s (%s): %w", in.Name, in.Pos, err))
		}
		out = append(out, ic)
	}
	var groups []runner.SyncGroupConfig
	for _, sg := range cfg.SyncGroups {
		groups = append(groups, runner.SyncGroupConfig{
			Name:    sg.Name,
			Members: append([]string(nil), sg.Members...),
			Notify:  notifyScripts(sg.Notify),
		})
		// keepalived: a sync group's trackers apply to every member, unweighted
		// unless sync_group_tracking_weight.
		for i := range out {
			if !slices.Contains(sg.Members, out[i].Machine.Name) {
				continue
			}
			for _, ti := range sg.TrackInterfaces {
				out[i].TrackInterfaces = append(out[i].TrackInterfaces, trackIface(ti, sg.SyncGroupTrackingWeight))
			}
			for _, ts := range sg.TrackScripts {
				t, err := trackScript(scripts, ts, sg.SyncGroupTrackingWeight)
				if err != nil {
					return nil, nil, at(sg.Pos, fmt.Errorf("vrrp_sync_group %s: %w", sg.Name, err))
				}
				out[i].TrackScripts = append(out[i].TrackScripts, t)
			}
			tfs, err := trackFiles(files, sg.TrackFiles, sg.SyncGroupTrackingWeight)
			if err != nil {
				return nil, nil, at(sg.Pos, fmt.Errorf("vrrp_sync_group %s: %w", sg.Name, err))
			}
			out[i].TrackFiles = mergeTracked(out[i].TrackFiles, tfs, trackFileFields)
			tps, err := trackProcesses(procs, sg.TrackProcesses, sg.SyncGroupTrackingWeight)
			if err != nil {
				return nil, nil, at(sg.Pos, fmt.Errorf("vrrp_sync_group %s: %w", sg.Name, err))
			}
			out[i].TrackProcesses = mergeTracked(out[i].TrackProcesses, tps, trackProcessFields)
		}
	}
	return out, groups, nil
}

// vrrpGlobals sets the runner options that come from global_defs.
func vrrpGlobals(g conf.GlobalDefs, ro *runner.Options) {
	ro.StartupDelay = g.VRRPStartupDelay.Std()
	ro.LogUnknownVRIDs = g.LogUnknownVRIDs
	ro.DynamicInterfaces = g.DynamicInterfaces
	ro.MaxAutoPriority = max(g.MaxAutoPriority, 0) // -1: off, without keepalived's notice
	ro.Nice, ro.RTPriority, ro.NoSwap = g.VRRPPriority, g.VRRPRTPriority, g.VRRPNoSwap
	slice := conf.DefaultVRRPSchedSlice
	if g.VRRPSchedSlice != nil {
		slice = *g.VRRPSchedSlice
	}
	ro.Slice = time.Duration(slice) * time.Microsecond
}

func instanceConfig(g conf.GlobalDefs, scripts map[string]*conf.VRRPScript, in *conf.VRRPInstance) (runner.InstanceConfig, error) {
	fam := vrrp.FamilyIPv4
	if in.Family == conf.Inet6 {
		fam = vrrp.FamilyIPv6
	}
	state := vrrp.StateBackup
	if in.State == conf.StateMaster {
		state = vrrp.StateMaster
	}
	m := vrrp.Options{
		Name:                 in.Name,
		VRID:                 uint8(in.VRID),
		Version:              in.Version,
		Family:               fam,
		Priority:             uint8(in.Priority),
		AdvertInterval:       in.AdvertInt.Std(),
		NoPreempt:            in.NoPreempt,
		PreemptDelay:         in.PreemptDelay.Std(),
		Accept:               in.Accept,
		InitialState:         state,
		CheckUnicastSource:   in.CheckUnicastSrc,
		DownTimerAdverts:     in.DownTimerAdverts,
		LowerPrioNoAdvert:    in.LowerPrioNoAdvert,
		HigherPrioSendAdvert: in.HigherPrioSendAdvert,
		SkipCheckAdvAddr:     in.SkipCheckAdvAddr,
		V3ChecksumAsV2:       in.V3ChecksumAsV2,
		OwnerIgnoreAdverts:   in.OwnerIgnoreAdverts,
	}
	if in.Auth != nil && in.Version == 2 {
		switch in.Auth.Type {
		case "PASS":
			m.AuthType, m.AuthPass = vrrp.AuthPass, in.Auth.Pass
		default:
			return runner.InstanceConfig{}, fmt.Errorf("authentication %s is not supported", in.Auth.Type)
		}
	}
	if in.UnicastFaultNoPeer && len(in.UnicastPeers) == 0 {
		m.ConfigFault = "unicast without any unicast_peer (unicast_fault_no_peer)"
	}
	for _, p := range in.UnicastPeers {
		m.UnicastPeers = append(m.UnicastPeers, p.Addr)
		if p.MinTTL != 0 || p.MaxTTL != 255 {
			m.UnicastPeerTTLs = append(m.UnicastPeerTTLs, vrrp.PeerTTL{Peer: p.Addr, Min: uint8(p.MinTTL), Max: uint8(p.MaxTTL)})
		}
	}
	// use_vmac: vrrpConfig moves the instance and its VIPs to their VMACs.
	iface, vipIface := in.Interface, in.Interface
	ic := runner.InstanceConfig{
		Machine:            m,
		Interface:          iface,
		SrcAddr:            in.SrcIP,
		DontTrackPrimary:   in.DontTrackPrimary,
		Notify:             notifyScripts(in.Notify),
		NotifyDeleted:      in.Notify.DeletedSet,
		TrackSrcIP:         in.TrackSrcIP,
		PromoteSecondaries: in.PromoteSecondaries,
	}
	ic.NotifyPriorityChanges = in.NotifyPriorityChanges
	if in.Unicast {
		// conf resolves unicast_ttl (255 for IPv4 unicast when unset).
		ic.UnicastTTL = in.UnicastTTL
	}
	if !in.Unicast {
		ic.McastGroup = in.McastDstIP
	}
	for _, v := range in.VIPs {
		a, err := vipAddress(v, vipIface)
		if err != nil {
			return ic, err
		}
		ic.VIPs = append(ic.VIPs, a)
	}
	for _, v := range in.ExcludedVIPs {
		a, err := vipAddress(v, vipIface)
		if err != nil {
			return ic, err
		}
		ic.ExcludedVIPs = append(ic.ExcludedVIPs, a)
	}
	if err := virtualRoutes(&ic, in); err != nil {
		return ic, err
	}
	ic.GARP = &garp.Options{
		MasterRepeat:        in.GarpMasterRepeat,
		MasterDelay:         in.GarpMasterDelay.Std(),
		LowerPrioRepeat:     in.GarpLowerPrioRepeat,
		LowerPrioDelay:      in.GarpLowerPrioDelay.Std(),
		MasterRefresh:       in.GarpMasterRefresh.Std(),
		MasterRefreshRepeat: in.GarpMasterRefreshRepeat,
		ARPInterval:         g.VRRPGarpInterval.Std(),
		NAInterval:          g.VRRPGnaInterval.Std(),
	}
	for _, ti := range in.TrackInterfaces {
		ic.TrackInterfaces = append(ic.TrackInterfaces, trackIface(ti, true))
	}
	for _, ts := range in.TrackScripts {
		t, err := trackScript(scripts, ts, true)
		if err != nil {
			return ic, err
		}
		ic.TrackScripts = append(ic.TrackScripts, t)
	}
	return ic, nil
}

func vipAddress(v *conf.VIP, iface string) (vip.Address, error) {
	a := vip.Address{
		Prefix:        v.Addr,
		Dev:           v.Dev,
		Broadcast:     v.Broadcast,
		Label:         v.Label,
		Peer:          v.Peer.Addr(),
		DAD:           v.NoDAD, // keepalived's "-nodad" keyword keeps DAD on
		Home:          v.Home,
		MngTmpAddr:    v.MngTmpAddr,
		NoPrefixRoute: v.NoPrefixRoute,
		AutoJoin:      v.AutoJoin,
		PreferredLft:  v.PreferredLft,
	}
	if a.Dev == "" {
		a.Dev = iface
	}
	if v.Scope != "" {
		s, err := vip.ParseScope(v.Scope)
		if err != nil {
			return a, at(v.Pos, fmt.Errorf("virtual_ipaddress %s (%s): %w", v.Addr, v.Pos, err))
		}
		a.Scope = s
	}
	return a, nil
}

func trackIface(ti conf.TrackedIface, weighted bool) track.InterfaceConfig {
	w := ti.Weight
	if !weighted {
		w = 0
	}
	return track.InterfaceConfig{Name: ti.Name, Weight: w, Reverse: ti.Reverse}
}

func trackScript(scripts map[string]*conf.VRRPScript, ts conf.TrackedScript, weighted bool) (runner.TrackScript, error) {
	s := scripts[ts.Name]
	if s == nil || s.Script == nil {
		return runner.TrackScript{}, at(ts.Pos, fmt.Errorf("track_script %s (%s): no such vrrp_script", ts.Name, ts.Pos))
	}
	w := ts.Weight
	if !weighted {
		w = 0
	}
	return runner.TrackScript{
		Script: track.ScriptConfig{
			Name:     s.Name,
			Interval: s.Interval.Std(),
			Timeout:  s.Timeout.Std(),
			Rise:     s.Rise,
			Fall:     s.Fall,
			Weight:   s.Weight,
			Reverse:  s.Reverse,
			InitFail: s.InitFail,
		},
		Command: command(s.Script),
		Weight:  w,
		Reverse: ts.Reverse,
	}, nil
}

// trackFiles translates track_file entries; weighted false forces weight 0
// (sync group members without sync_group_tracking_weight).
func trackFiles(files map[string]*conf.TrackFile, ts []conf.TrackedFile, weighted bool) ([]runner.TrackFile, error) {
	return tracked(files, ts, weighted, "track_file", "track_file", func(f *conf.TrackFile, w int, reverse bool) runner.TrackFile {
		return runner.TrackFile{
			File: track.FileConfig{
				Name: f.Name, Path: f.File,
				Init: f.Init, InitValue: f.InitValue, Overwrite: f.Overwrite,
			},
			Weight:  w,
			Reverse: reverse,
		}
	})
}

// tracked translates an instance's or group's track_file or track_process
// entries with the blocks they name (defs); weighted false forces weight 0.
func tracked[D, T any](defs map[string]*D, ts []conf.TrackedFile, weighted bool, entry, block string, build func(d *D, weight int, reverse bool) T) ([]T, error) {
	var out []T
	for _, t := range ts {
		d := defs[t.Name]
		if d == nil {
			return nil, at(t.Pos, fmt.Errorf("%s %s (%s): no such %s", entry, t.Name, t.Pos, block))
		}
		w := t.Weight
		if !weighted {
			w = 0
		}
		out = append(out, build(d, w, t.Reverse))
	}
	return out, nil
}

// mergeTracked adds a sync group's track_file or track_process entries to
// a member's. keepalived: a tracker the instance tracks itself takes the
// group's weight, unless the instance's entry is unweighted. fields gives
// an entry's name and its weight and reverse to update.
func mergeTracked[T any](own, group []T, fields func(*T) (name string, weight *int, reverse *bool)) []T {
	for _, g := range group {
		name, gw, gr := fields(&g)
		i := slices.IndexFunc(own, func(o T) bool { n, _, _ := fields(&o); return n == name })
		if i < 0 {
			own = append(own, g)
			continue
		}
		if _, w, r := fields(&own[i]); *w != 0 {
			*w, *r = *gw, *gr
		}
	}
	return own
}

func trackFileFields(t *runner.TrackFile) (string, *int, *bool) {
	return t.File.Name, &t.Weight, &t.Reverse
}

func trackProcessFields(t *runner.TrackProcess) (string, *int, *bool) {
	return t.Process.Name, &t.Weight, &t.Reverse
}

var paramMatches = map[string]track.ParamMatch{
	"": track.ParamMatchNone, "exact": track.ParamMatchExact,
	"partial": track.ParamMatchPartial, "initial": track.ParamMatchInitial,
}

// trackProcesses translates track_process entries; weighted false forces
// weight 0 (sync group members without sync_group_tracking_weight).
func trackProcesses(procs map[string]*conf.TrackProcess, ts []conf.TrackedFile, weighted bool) ([]runner.TrackProcess, error) {
	return tracked(procs, ts, weighted, "track_process", "vrrp_track_process", func(p *conf.TrackProcess, w int, reverse bool) runner.TrackProcess {
		return runner.TrackProcess{
			Process: track.ProcessConfig{
				Name: p.Name, Process: p.Process, Params: slices.Clone(p.Params),
				ParamMatch: paramMatches[p.ParamMatch], FullCommand: p.FullCommand,
				Quorum: p.Quorum, QuorumMax: p.QuorumMax,
				ForkDelay: p.ForkDelay.Std(), TerminateDelay: p.TerminateDelay.Std(),
			},
			Weight:  w,
			Reverse: reverse,
		}
	})
}

func command(s *conf.Script) runner.Command {
	return runner.Command{Argv: append([]string(nil), s.Argv...), User: s.User, Group: s.Group}
}

func notifyScripts(n conf.Notify) runner.NotifyScripts {
	opt := func(s *conf.Script) *runner.Command {
		if s == nil {
			return nil
		}
		c := command(s)
		return &c
	}
	return runner.NotifyScripts{
		Master: opt(n.Master), Backup: opt(n.Backup), Fault: opt(n.Fault), Stop: opt(n.Stop),
		Deleted: opt(n.Deleted), Any: opt(n.Any), MasterRxLowerPri: opt(n.MasterRxLowerPri),
	}
}

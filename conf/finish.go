package conf

import (
	"fmt"
	"math"
	"net/netip"
	"time"
)

// finish resolves defaults that depend on other blocks and checks references.
// It mirrors keepalived's vrrp_complete_instance / validate_check_config:
// where keepalived "corrects" a setting with a config error and carries on,
// lvs-ha does the same correction and reports a warning; where keepalived
// drops the instance/server, lvs-ha reports an error.
func (l *loader) finish() {
	l.finishGlobals()
	l.finishSyncGroups()
	for _, v := range l.cfg.VRRPInstances {
		l.finishInstance(v)
	}
	l.checkVRIDs()
	l.finishSyncDaemon()
	for _, v := range l.cfg.VirtualServers {
		l.finishVirtualServer(v)
	}
	l.checkDuplicateVS()
	l.finishBGP()
}

func (l *loader) finishSyncGroups() {
	member := map[string]*SyncGroup{}
	var kept []*SyncGroup
	for _, g := range l.cfg.SyncGroups {
		g.Members = []string{}
		for _, w := range g.memberWords {
			v := l.instances[w.Text]
			if v == nil {
				l.errf(w.Pos, "vrrp_sync_group %q: unknown vrrp_instance %q", g.Name, w.Text)
				continue
			}
			if other := member[w.Text]; other != nil {
				if other == g {
					l.warnf(w.Pos, "vrrp_instance %q listed twice in vrrp_sync_group %q", w.Text, g.Name)
				} else {
					l.errf(w.Pos, "vrrp_instance %q is already in vrrp_sync_group %q", w.Text, other.Name)
				}
				continue
			}
			member[w.Text] = g
			v.SyncGroup = g.Name
			g.Members = append(g.Members, w.Text)
		}
		switch len(g.Members) {
		case 0:
			// keepalived: "Sync group %s has no virtual router(s). removing"
			l.warnf(g.Pos, "vrrp_sync_group %q has no members (use group { ... }); removing it", g.Name)
			continue
		case 1:
			l.warnf(g.Pos, "vrrp_sync_group %q has only 1 member - this probably isn't what you want", g.Name)
		}
		l.resolveTrackScripts(g.Name, g.TrackScripts)
		l.resolveTrackFiles("vrrp_sync_group "+g.Name, g.TrackFiles)
		l.resolveTrackProcesses("vrrp_sync_group "+g.Name, g.TrackProcesses)
		g.SMTPAlert = l.vrrpSMTPAlert(g.smtpAlert)
		kept = append(kept, g)
	}
	l.cfg.SyncGroups = kept
}

func (l *loader) vrrpSMTPAlert(own *bool) bool {
	g := &l.cfg.Global
	switch {
	case own != nil:
		return *own
	case g.SMTPAlertVRRP != nil:
		return *g.SMTPAlertVRRP
	case g.SMTPAlert != nil:
		return *g.SMTPAlert
	}
	return false
}

// resolveTrackScripts checks names and fills default weights.
func (l *loader) resolveTrackScripts(owner string, ts []TrackedScript) {
	for i := range ts {
		t := &ts[i]
		s := l.scripts[t.Name]
		if s == nil {
			l.errf(t.Pos, "%s: track_script %q names no vrrp_script", owner, t.Name)
			continue
		}
		if !t.weightSet {
			t.Weight, t.Reverse = s.Weight, s.Reverse
		}
	}
}

const (
	centi = Duration(10 * time.Millisecond)
	sec   = Duration(time.Second)
)

func (l *loader) finishInstance(v *VRRPInstance) {
	// An address listed twice is added once (keepalived adds it twice, the
	// kernel keeps one); the VRRP advert lists it once.
	seen := map[netip.Addr]bool{}
	vips := v.VIPs[:0]
	for _, a := range v.VIPs {
		if seen[a.Addr.Addr()] {
			l.warnf(a.Pos, "virtual address %s is listed twice in vrrp_instance %q - ignoring", a.Addr.Addr(), v.Name)
			continue
		}
		seen[a.Addr.Addr()] = true
		vips = append(vips, a)
	}
	v.VIPs = vips
	g := &l.cfg.Global
	warn := func(format string, args ...any) {
		l.warnf(v.Pos, "vrrp_instance %s: "+format, append([]any{v.Name}, args...)...)
	}
	fail := func(format string, args ...any) {
		l.errf(v.Pos, "vrrp_instance %s: "+format, append([]any{v.Name}, args...)...)
	}

	v.StrictMode = g.VRRPStrict
	if v.strict != nil {
		v.StrictMode = *v.strict
	}
	if v.Family == "" {
		v.Family = Inet
	}
	if v.Family == Inet6 && v.Version == 2 && v.StrictMode {
		l.warnf(v.version.Pos, "cannot use IPv6 with VRRP version 2 in strict mode; using version 3")
		v.Version = 3
	}
	if v.Version == 0 {
		v.Version = g.VRRPVersion
		if v.Family == Inet6 {
			v.Version = 3
		}
	}

	if v.NoVirtualIPAddress && v.StrictMode {
		warn("no_virtual_ipaddress and strict mode incompatible, clearing no_virtual_ipaddress")
		v.NoVirtualIPAddress = false
	}
	if len(v.VIPs) == 0 && !v.NoVirtualIPAddress {
		if v.Version == 3 || v.StrictMode {
			fail("no virtual_ipaddress; at least one is required")
		} else {
			warn("no virtual_ipaddress; at least one is sensible")
		}
	}

	// priority and state derive from each other
	if v.Priority == 0 {
		v.Priority = 100
		if v.State == StateMaster {
			v.Priority = 255
		}
	}
	if v.State == "" {
		v.State = StateBackup
		if v.Priority == 255 {
			v.State = StateMaster
		}
	} else if v.StrictMode && (v.State == StateMaster) != (v.Priority == 255) {
		l.warnf(v.stateWord.Pos, "vrrp_instance %s: strict mode: state MASTER must match being address owner (priority 255); using %s", v.Name, map[bool]State{true: StateMaster, false: StateBackup}[v.Priority == 255])
		v.State = StateBackup
		if v.Priority == 255 {
			v.State = StateMaster
		}
	}

	if a := v.Auth; a != nil {
		drop := ""
		switch {
		case a.Type == "":
			drop = "authentication without auth_type"
		case v.StrictMode:
			drop = "strict mode does not support authentication"
		case v.Version == 3:
			drop = "VRRP version 3 does not support authentication"
		case a.Pass == "":
			drop = "authentication specified but no auth_pass given"
		case v.Family == Inet6 && a.Type == "AH":
			drop = "AH authentication cannot be used with IPv6"
		}
		if drop != "" {
			warn("%s - ignoring authentication", drop)
			v.Auth = nil
		} else if a.Type == "AH" {
			// keepalived 2.2.7 implements IPsec AH; lvs-ha refuses it rather
			// than run without the authentication the peers expect.
			l.errf(a.typePos, "AH authentication is not supported by lvs-ha")
		}
	}

	// unicast
	if len(v.UnicastPeers) > 0 {
		v.Unicast = true
	} else if v.unicastKeyword && !v.UnicastFaultNoPeer {
		warn("a unicast keyword is given without any unicast_peer; using multicast (deprecated)")
	}
	if v.Unicast && v.StrictMode {
		fail("unicast peers are not allowed in strict mode")
	}
	if v.Interface == "" {
		switch {
		case !v.Unicast:
			fail("missing interface (required unless using unicast with unicast_src_ip)")
		case !v.SrcIP.IsValid():
			fail("unicast instances need an interface or unicast_src_ip")
		case v.SrcIP.Is6() && v.SrcIP.IsLinkLocalUnicast():
			l.errf(v.srcWord.Pos, "vrrp_instance %s: a non link-local source address is required when interface is omitted", v.Name)
		default:
			// keepalived finds the interface holding unicast_src_ip when
			// it starts; lvs-ha's VRRP runner needs it in the configuration.
			fail("missing interface: lvs-ha does not derive it from unicast_src_ip")
		}
	}
	if v.VRID == 0 {
		fail("missing virtual_router_id")
	}
	if v.unicastTTLSet && len(v.UnicastPeers) == 0 {
		warn("unicast_ttl without unicast peers - ignoring")
		v.UnicastTTL, v.unicastTTLSet = 0, false
	}
	if v.Family == Inet && v.Unicast && !v.unicastTTLSet {
		v.UnicastTTL = 255
	}
	if g.VRRPCheckUnicastSrc && v.Unicast {
		v.CheckUnicastSrc = true
	}
	if !v.Unicast {
		if !v.McastDstIP.IsValid() {
			v.McastDstIP = g.VRRPMcastGroup4
			if v.Family == Inet6 {
				v.McastDstIP = g.VRRPMcastGroup6
			}
		}
	} else if v.McastDstIP.IsValid() {
		warn("mcast_dst_ip given with unicast peers - ignoring")
		v.McastDstIP = netip.Addr{}
	}
	if v.Family == Inet6 && !v.Unicast && len(v.VIPs) > 0 && !v.VIPs[0].Addr.Addr().IsLinkLocalUnicast() {
		if v.StrictMode {
			l.warnf(v.VIPs[0].Pos, "vrrp_instance %s: the first IPv6 VIP must be link local in strict mode", v.Name)
		}
	}
	if !v.SrcIP.IsValid() {
		v.TrackSrcIP = false
	}

	// preemption (keepalived clears nopreempt/preempt_delay it cannot honour)
	if v.NoPreempt && v.Priority == 255 {
		l.warnf(v.nopreemptPos, "vrrp_instance %s: nopreempt is incompatible with priority 255 - clearing nopreempt", v.Name)
		v.NoPreempt = false
	}
	if v.State == StateMaster {
		if v.NoPreempt {
			l.warnf(v.nopreemptPos, "vrrp_instance %s: nopreempt will not work with initial state MASTER - clearing nopreempt", v.Name)
			v.NoPreempt = false
		}
		if v.PreemptDelay > 0 {
			l.warnf(v.preemptDelayPos, "vrrp_instance %s: preempt_delay will not work with initial state MASTER - clearing", v.Name)
			v.PreemptDelay = 0
		}
	}
	if v.PreemptDelay > 0 {
		if v.StrictMode {
			l.warnf(v.preemptDelayPos, "vrrp_instance %s: preempt_delay is incompatible with strict mode - clearing", v.Name)
			v.PreemptDelay = 0
		} else if v.NoPreempt {
			l.warnf(v.preemptDelayPos, "vrrp_instance %s: preempt_delay is incompatible with nopreempt - clearing", v.Name)
			v.PreemptDelay = 0
		}
	}

	// gratuitous ARP and advert behaviour default to the globals
	if v.GarpMasterDelay < 0 {
		v.GarpMasterDelay = g.VRRPGarpMasterDelay
	}
	if v.GarpMasterRepeat < 0 {
		v.GarpMasterRepeat = g.VRRPGarpMasterRepeat
	}
	if v.GarpMasterRefresh < 0 {
		v.GarpMasterRefresh = g.VRRPGarpMasterRefresh
	}
	if v.GarpMasterRefreshRepeat < 0 {
		v.GarpMasterRefreshRepeat = g.VRRPGarpMasterRefreshRepeat
	}
	if v.DownTimerAdverts < 0 {
		v.DownTimerAdverts = g.VRRPDownTimerAdverts
	}
	if v.DownTimerAdverts != 3 && v.StrictMode {
		warn("down_timer_adverts is incompatible with strict mode - using 3")
		v.DownTimerAdverts = 3
	}
	switch {
	case v.garpLowerPrioDelay == nil && v.StrictMode:
		v.GarpLowerPrioDelay = 0
	case v.garpLowerPrioDelay == nil:
		v.GarpLowerPrioDelay = g.VRRPGarpLowerPrioDelay
	case v.StrictMode && *v.garpLowerPrioDelay != 0:
		warn("strict mode requires no repeat garp delay - using 0")
	default:
		v.GarpLowerPrioDelay = *v.garpLowerPrioDelay
	}
	switch {
	case v.garpLowerPrioRepeat == nil && v.StrictMode:
		v.GarpLowerPrioRepeat = 0
	case v.garpLowerPrioRepeat == nil:
		v.GarpLowerPrioRepeat = g.VRRPGarpLowerPrioRepeat
	case v.StrictMode && *v.garpLowerPrioRepeat != 0:
		warn("strict mode requires no repeat garps - using 0")
	default:
		v.GarpLowerPrioRepeat = *v.garpLowerPrioRepeat
	}
	switch {
	case v.lowerPrioNoAdvert == nil:
		v.LowerPrioNoAdvert = v.StrictMode || g.VRRPLowerPrioNoAdvert
	case v.StrictMode && !*v.lowerPrioNoAdvert:
		warn("strict mode requires lower_prio_no_advert - setting it")
		v.LowerPrioNoAdvert = true
	default:
		v.LowerPrioNoAdvert = *v.lowerPrioNoAdvert
	}
	v.V3ChecksumAsV2 = g.VRRPV3ChecksumAsV2
	if v.v3ChecksumAsV2 != nil {
		v.V3ChecksumAsV2 = *v.v3ChecksumAsV2
	}
	// keepalived 2.3.4: only an address owner ignores adverts (and, unlike
	// keepalived 2.3.4+, strict mode does not turn it on: 2.2.7's behaviour).
	v.OwnerIgnoreAdverts = g.VRRPOwnerIgnoreAdverts
	if v.ownerIgnoreAdverts != nil {
		v.OwnerIgnoreAdverts = *v.ownerIgnoreAdverts
	}
	if v.OwnerIgnoreAdverts && v.Priority != 255 {
		if v.ownerIgnoreAdverts != nil {
			warn("ignoring owner_ignore_adverts since priority is not 255")
		}
		v.OwnerIgnoreAdverts = false
	}
	switch {
	case v.higherPrioSendAdvert == nil:
		v.HigherPrioSendAdvert = !v.StrictMode && g.VRRPHigherPrioSendAdvert
	case v.StrictMode && *v.higherPrioSendAdvert:
		warn("strict mode requires higher_prio_send_advert to be clear - clearing it")
		v.HigherPrioSendAdvert = false
	default:
		v.HigherPrioSendAdvert = *v.higherPrioSendAdvert
	}
	if v.accept == nil {
		v.Accept = v.Priority == 255 || !v.StrictMode
	} else {
		v.Accept = *v.accept
		if v.Accept && v.Priority != 255 && v.StrictMode && v.Version == 2 {
			warn("accept mode for VRRP version 2 does not comply with RFC3768 - clearing")
			v.Accept = false
		}
	}
	v.SMTPAlert = l.vrrpSMTPAlert(v.smtpAlert)
	switch {
	case v.notifyPrio != nil:
		v.NotifyPriorityChanges = *v.notifyPrio
	case v.SyncGroup != "" && l.groups[v.SyncGroup].NotifyPriorityChanges != nil:
		v.NotifyPriorityChanges = *l.groups[v.SyncGroup].NotifyPriorityChanges
	default:
		v.NotifyPriorityChanges = g.VRRPNotifyPriorityChanges
	}

	// advert_int: keepalived rounds to the protocol's resolution
	if v.AdvertInt == 0 {
		v.AdvertInt = sec
	}
	pos := v.Pos
	if v.advertInt != nil {
		pos = v.advertInt.Pos
	}
	if v.Version == 2 {
		if v.AdvertInt%sec != 0 {
			r := (v.AdvertInt + sec/2) / sec * sec
			if r == 0 {
				r = sec
			}
			l.warnf(pos, "vrrp_instance %s: VRRPv2 advert_int %gs must be whole seconds - rounding to %gs", v.Name, v.AdvertInt.Seconds(), r.Seconds())
			v.AdvertInt = r
		}
	} else {
		if v.AdvertInt >= 4096*centi {
			l.warnf(pos, "vrrp_instance %s: VRRPv3 advert_int %gs is out of range (max 40.95s) - using 40.95s", v.Name, v.AdvertInt.Seconds())
			v.AdvertInt = 4095 * centi
		} else if v.AdvertInt%centi != 0 {
			r := (v.AdvertInt + centi/2) / centi * centi
			if r == 0 {
				r = centi
			}
			l.warnf(pos, "vrrp_instance %s: VRRPv3 advert_int %gs must be in units of 10ms - rounding to %gs", v.Name, v.AdvertInt.Seconds(), r.Seconds())
			v.AdvertInt = r
		}
	}

	// tracking
	l.resolveTrackScripts("vrrp_instance "+v.Name, v.TrackScripts)
	l.resolveTrackFiles("vrrp_instance "+v.Name, v.TrackFiles)
	l.resolveTrackProcesses("vrrp_instance "+v.Name, v.TrackProcesses)
	if v.SyncGroup != "" && !l.groups[v.SyncGroup].SyncGroupTrackingWeight {
		for i := range v.TrackProcesses {
			if v.TrackProcesses[i].Weight != 0 {
				l.warnf(v.TrackProcesses[i].Pos, "vrrp_instance %s is in sync group %s: ignoring weight of track_process %s (set sync_group_tracking_weight to keep it)", v.Name, v.SyncGroup, v.TrackProcesses[i].Name)
				v.TrackProcesses[i].Weight = 0
			}
		}
		for i := range v.TrackFiles {
			if v.TrackFiles[i].Weight != 0 {
				l.warnf(v.TrackFiles[i].Pos, "vrrp_instance %s is in sync group %s: ignoring weight of track_file %s (set sync_group_tracking_weight to keep it)", v.Name, v.SyncGroup, v.TrackFiles[i].Name)
				v.TrackFiles[i].Weight = 0
			}
		}
		for i := range v.TrackScripts {
			if v.TrackScripts[i].Weight != 0 {
				l.warnf(v.TrackScripts[i].Pos, "vrrp_instance %s is in sync group %s: ignoring weight of track_script %s (set sync_group_tracking_weight to keep it)", v.Name, v.SyncGroup, v.TrackScripts[i].Name)
				v.TrackScripts[i].Weight = 0
			}
		}
		for i := range v.TrackInterfaces {
			if v.TrackInterfaces[i].Weight != 0 {
				l.warnf(v.TrackInterfaces[i].Pos, "vrrp_instance %s is in sync group %s: ignoring weight of track_interface %s (set sync_group_tracking_weight to keep it)", v.Name, v.SyncGroup, v.TrackInterfaces[i].Name)
				v.TrackInterfaces[i].Weight = 0
			}
		}
	}
	if v.Priority == 255 {
		for i := range v.TrackProcesses {
			if v.TrackProcesses[i].Weight != 0 {
				l.warnf(v.TrackProcesses[i].Pos, "vrrp_instance %s is address owner (priority 255): ignoring weight of track_process %s", v.Name, v.TrackProcesses[i].Name)
				v.TrackProcesses[i].Weight = 0
			}
		}
		for i := range v.TrackFiles {
			if v.TrackFiles[i].Weight != 0 {
				l.warnf(v.TrackFiles[i].Pos, "vrrp_instance %s is address owner (priority 255): ignoring weight of track_file %s", v.Name, v.TrackFiles[i].Name)
				v.TrackFiles[i].Weight = 0
			}
		}
		for i := range v.TrackScripts {
			if v.TrackScripts[i].Weight != 0 {
				l.warnf(v.TrackScripts[i].Pos, "vrrp_instance %s is address owner (priority 255): ignoring weight of track_script %s", v.Name, v.TrackScripts[i].Name)
				v.TrackScripts[i].Weight = 0
			}
		}
		for i := range v.TrackInterfaces {
			if v.TrackInterfaces[i].Weight != 0 {
				l.warnf(v.TrackInterfaces[i].Pos, "vrrp_instance %s is address owner (priority 255): ignoring weight of track_interface %s", v.Name, v.TrackInterfaces[i].Name)
				v.TrackInterfaces[i].Weight = 0
			}
		}
	}
	if v.UseVMAC && v.Unicast && !v.VMACXmitBase {
		warn("unicast with use_vmac requires vmac_xmit_base - setting it")
		v.VMACXmitBase = true
	}
	if v.UseVMAC && v.Family == Inet6 {
		// Not built yet: keepalived gives an IPv6 VMAC a link-local
		// address of its own; without one the adverts cannot leave it.
		warn("use_vmac on an IPv6 instance is not supported by lvs-ha yet - ignoring")
		v.UseVMAC = false
	}
	if v.UseVMAC && v.StrictMode && v.VMACAddr != "" {
		warn("cannot specify a VMAC address in strict mode - clearing")
		v.VMACAddr = ""
	}
}

// checkVRIDs reports instances that would share a VRID on the same wire.
func (l *loader) checkVRIDs() {
	vs := l.cfg.VRRPInstances
	for i, a := range vs {
		if a.VRID == 0 {
			continue
		}
		for _, b := range vs[:i] {
			if b.VRID != a.VRID || b.Family != a.Family || b.Unicast != a.Unicast {
				continue
			}
			if a.Unicast {
				if a.Interface != "" && b.Interface != "" && a.Interface != b.Interface {
					continue
				}
				if a.SrcIP.IsValid() && b.SrcIP.IsValid() && a.SrcIP != b.SrcIP {
					continue
				}
				if !peersOverlap(a.UnicastPeers, b.UnicastPeers) {
					continue
				}
				l.errf(a.Pos, "vrrp_instance %s: virtual_router_id %d conflicts with vrrp_instance %s (%s) on the same unicast peers", a.Name, a.VRID, b.Name, b.Pos)
				continue
			}
			if a.Interface != b.Interface || a.McastDstIP != b.McastDstIP {
				continue
			}
			l.errf(a.Pos, "vrrp_instance %s: virtual_router_id %d with %s on interface %s is already used by vrrp_instance %s (%s)",
				a.Name, a.VRID, familyName(a.Family), a.Interface, b.Name, b.Pos)
		}
	}
}

func peersOverlap(a, b []UnicastPeer) bool {
	for _, p := range a {
		for _, q := range b {
			if p.Addr == q.Addr {
				return true
			}
		}
	}
	return false
}

func (l *loader) finishSyncDaemon() {
	s := l.cfg.Global.LVSSyncDaemon
	if s == nil || s.VRRPInstance == "" {
		return
	}
	if l.instances[s.VRRPInstance] == nil {
		l.errf(s.Pos, "lvs_sync_daemon: unknown vrrp_instance %q", s.VRRPInstance)
	}
}

// ---- virtual servers -----------------------------------------------------

func (l *loader) finishVirtualServer(v *VirtualServer) {
	g := &l.cfg.Global
	name := v.String()
	warn := func(format string, args ...any) {
		l.warnf(v.Pos, "virtual_server %s: "+format, append([]any{name}, args...)...)
	}

	var vsg *VirtualServerGroup
	if v.Group != "" {
		vsg = l.vsgs[v.Group]
		if vsg == nil {
			l.errf(v.groupWord.Pos, "virtual_server group %q names no virtual_server_group", v.Group)
		}
	}
	hasAddrs := !v.IsFWMark && (vsg == nil || vsgHasAddrs(vsg))
	fwmarkOnly := v.IsFWMark || (vsg != nil && !vsgHasAddrs(vsg) && len(vsg.Entries) > 0)

	// family: from the address, ip_family, the group, or non-tunnelled servers
	if v.Family == "" && v.ipFamily != "" {
		v.Family = v.ipFamily
	}
	if v.Family == "" && vsg != nil {
		for _, e := range vsg.Entries {
			if e.IsFWMark {
				continue
			}
			v.Family = familyOf(e.First)
			break
		}
	}

	if len(v.RealServers) == 0 {
		warn("no real_server (keepalived ignores such a virtual server)")
	}
	if v.HASuspend && (v.IsFWMark || (vsg != nil && vsgHasFWMarks(vsg))) {
		warn("cannot use ha_suspend with fwmarks - clearing ha_suspend")
		v.HASuspend = false
	}
	if hasAddrs {
		if v.Protocol == "" {
			warn("no protocol set - defaulting to UDP (as keepalived)")
			v.Protocol = UDP
		}
		if v.OnePacket && v.Protocol != UDP {
			warn("one packet scheduling (ops) requires UDP - clearing")
			v.OnePacket = false
		}
		if v.PersistenceTimeout == 0 && vsg == nil && !v.IsFWMark && v.Port == 0 {
			warn("zero port only valid for persistent services - setting persistence_timeout 360")
			v.PersistenceTimeout = seconds(360)
		}
	}
	if v.PersistenceTimeout == 0 && vsg != nil {
		for _, e := range vsg.Entries {
			if !e.IsFWMark && e.Port == 0 {
				warn("zero port only valid for persistent services - setting persistence_timeout 360")
				v.PersistenceTimeout = seconds(360)
				break
			}
		}
	}
	if fwmarkOnly && v.Protocol != "" {
		warn("protocol specified for a fwmark service - ignored")
		v.Protocol = ""
	}
	if v.PersistenceGranularity != "" && v.PersistenceTimeout == 0 {
		v.PersistenceTimeout = seconds(360)
	}
	if !v.schedSet {
		warn("no lvs_sched set - using %s", defaultSched)
		v.Scheduler = defaultSched
	}
	kept := v.SchedFlags[:0]
	for _, f := range v.SchedFlags {
		switch {
		case (f == "sh-port" || f == "sh-fallback") && v.Scheduler != "sh":
			warn("%s only applies to the sh scheduler - ignoring", f)
		case (f == "mh-port" || f == "mh-fallback") && v.Scheduler != "mh":
			warn("%s only applies to the mh scheduler - ignoring", f)
		default:
			kept = append(kept, f)
		}
	}
	v.SchedFlags = kept
	if !v.fwdSet {
		v.Forwarding = Forwarding{Method: "NAT"}
	}
	switch {
	case v.smtpAlert != nil:
		v.SMTPAlert = *v.smtpAlert
	case g.SMTPAlertChecker != nil:
		v.SMTPAlert = *g.SMTPAlertChecker
	case g.SMTPAlert != nil:
		v.SMTPAlert = *g.SMTPAlert
	}

	var weightSum uint64
	seen := map[netip.AddrPort]*RealServer{}
	kept2 := v.RealServers[:0]
	for _, r := range v.RealServers {
		if !r.fwdSet {
			r.Forwarding = v.Forwarding
		}
		if r.Forwarding.Method != "TUN" {
			if v.Family == "" {
				v.Family = familyOf(r.Addr)
			} else if v.Family != familyOf(r.Addr) {
				l.errf(r.Pos, "real_server %s is %s but virtual_server %s is %s", r.Addr, familyName(familyOf(r.Addr)), name, familyName(v.Family))
			}
		}
		// ports: NAT keeps its own, otherwise they follow the virtual server
		if r.Forwarding.Method == "NAT" {
			if r.Port == 0 && !v.IsFWMark && vsg == nil {
				r.Port = v.Port
			}
		} else if v.IsFWMark {
			if r.Port != 0 {
				l.warnf(r.Pos, "fwmark virtual_server %s, real_server %s has a port - clearing it", name, r.Addr)
				r.Port = 0
			}
		} else if vsg == nil {
			if r.Port == 0 {
				r.Port = v.Port
			} else if r.Port != v.Port {
				l.warnf(r.Pos, "virtual_server %s and real_server %s ports don't match - using %d", name, r.Addr, v.Port)
				r.Port = v.Port
			}
		}
		key := netip.AddrPortFrom(r.Addr, r.Port)
		if prev := seen[key]; prev != nil {
			l.errf(r.Pos, "virtual_server %s: real_server %s is duplicated (first at %s)", name, key, prev.Pos)
			continue
		}
		seen[key] = r
		l.finishRealServer(v, r)
		weightSum += uint64(r.Weight)
		kept2 = append(kept2, r)
	}
	v.RealServers = kept2
	if v.Family == "" {
		v.Family = Inet
	}
	if s := v.SorryServer; s != nil {
		if !s.fwdSet {
			s.Forwarding = v.Forwarding
		}
		if s.Forwarding.Method != "TUN" && familyOf(s.Addr) != v.Family {
			l.errf(s.Pos, "sorry_server %s and virtual_server %s address families don't match", s.Addr, name)
		}
		if s.Forwarding.Method != "NAT" {
			if v.IsFWMark {
				s.Port = 0
			} else if vsg == nil && s.Port == 0 {
				s.Port = v.Port
			}
		} else if s.Port == 0 && vsg == nil && !v.IsFWMark {
			s.Port = v.Port
		}
	}
	if len(v.RealServers) > 0 && uint64(v.Quorum) > weightSum {
		warn("quorum %d exceeds the total weight of real servers %d - using %d", v.Quorum, weightSum, weightSum)
		v.Quorum = uint32(min(weightSum, math.MaxUint32))
	}
	if v.Quorum > 0 && v.Hysteresis >= v.Quorum {
		warn("hysteresis %d >= quorum %d - using %d", v.Hysteresis, v.Quorum, v.Quorum-1)
		v.Hysteresis = v.Quorum - 1
	}
}

func vsgHasAddrs(g *VirtualServerGroup) bool {
	for _, e := range g.Entries {
		if !e.IsFWMark {
			return true
		}
	}
	return false
}

func vsgHasFWMarks(g *VirtualServerGroup) bool {
	for _, e := range g.Entries {
		if e.IsFWMark {
			return true
		}
	}
	return false
}

func (l *loader) finishRealServer(v *VirtualServer, r *RealServer) {
	g := &l.cfg.Global
	r.Weight = v.Weight
	if r.weight != nil {
		r.Weight = *r.weight
	}
	r.InhibitOnFailure = v.InhibitOnFailure
	if r.inhibit != nil {
		r.InhibitOnFailure = *r.inhibit
	}
	r.Alpha = v.Alpha
	if r.alpha != nil {
		r.Alpha = *r.alpha
	}
	switch {
	case r.smtpAlert != nil:
		r.SMTPAlert = *r.smtpAlert
	case g.SMTPAlertChecker != nil:
		r.SMTPAlert = *g.SMTPAlertChecker
	case g.SMTPAlert != nil:
		r.SMTPAlert = *g.SMTPAlert
	default:
		r.SMTPAlert = true // keepalived's backward compatible default
	}
	connectTimeout := v.ConnectTimeout
	if r.connectTimeout != nil {
		connectTimeout = *r.connectTimeout
	}
	delayLoop := v.DelayLoop
	if r.delayLoop != nil {
		delayLoop = *r.delayLoop
	}
	retry, dbr, warmup := v.retry, v.delayBeforeRetry, v.warmup
	if r.retry != nil {
		retry = r.retry
	}
	if r.delayBeforeRetry != nil {
		dbr = r.delayBeforeRetry
	}
	if r.warmup != nil {
		warmup = r.warmup
	}
	vhost := r.Virtualhost
	if vhost == "" {
		vhost = v.Virtualhost
	}
	for _, ck := range r.Checkers {
		ck.Alpha = r.Alpha
		if ck.alpha != nil {
			ck.Alpha = *ck.alpha
		}
		if !ck.LogAllFailures {
			ck.LogAllFailures = g.CheckerLogAllFailures
		}
		defRetry, defDBR := 1, Duration(sec)
		switch ck.Type {
		case DNSCheck:
			defRetry, defDBR = 3, 0
		case MiscCheck:
			defRetry = 0
		case HTTPGet, SSLGet:
			defDBR = 3 * sec
		}
		ck.DelayLoop = delayLoop
		if ck.delayLoop != nil {
			ck.DelayLoop = *ck.delayLoop
		}
		switch {
		case ck.retry != nil:
			ck.Retry = *ck.retry
		case retry != nil:
			ck.Retry = *retry
		default:
			ck.Retry = defRetry
		}
		switch {
		case ck.warmup != nil:
			ck.Warmup = *ck.warmup
		case warmup != nil:
			ck.Warmup = *warmup
		default:
			ck.Warmup = ck.DelayLoop
		}
		switch {
		case ck.delayBeforeRetry != nil:
			ck.DelayBeforeRetry = *ck.delayBeforeRetry
		case dbr != nil:
			ck.DelayBeforeRetry = *dbr
		case defDBR != 0:
			ck.DelayBeforeRetry = defDBR
		default:
			ck.DelayBeforeRetry = ck.DelayLoop
		}
		if ck.Type != MiscCheck {
			ck.ConnectTimeout = connectTimeout
			if ck.connectTimeout != nil {
				ck.ConnectTimeout = *ck.connectTimeout
			}
			l.checkConnOpts(r, &ck.ConnOpts, ck)
		}
		if ck.SMTP != nil {
			for i := range ck.SMTP.Hosts {
				h := &ck.SMTP.Hosts[i]
				h.ConnectTimeout = ck.ConnectTimeout
				if h.connectTimeout != nil {
					h.ConnectTimeout = *h.connectTimeout
				}
				l.checkConnOpts(r, h, ck)
			}
			if ck.SMTP.HeloName == "" {
				ck.SMTP.HeloName = g.SMTPHeloName
			}
		}
		if ck.HTTP != nil && ck.HTTP.Virtualhost == "" {
			ck.HTTP.Virtualhost = vhost
		}
		if ck.Misc != nil && ck.Misc.Timeout == 0 {
			ck.Misc.Timeout = ck.DelayLoop
		}
	}
}

// checkConnOpts applies keepalived's rule that an IPv6 link-local target needs bind_if.
func (l *loader) checkConnOpts(r *RealServer, co *ConnOpts, ck *Checker) {
	dst := r.Addr
	if co.ConnectIP.IsValid() {
		dst = co.ConnectIP
	}
	if dst.Is6() && dst.IsLinkLocalUnicast() && co.BindIf == "" {
		l.errf(ck.Pos, "%s: link-local address %s requires bind_if", ck.Type, dst)
	}
	if co.BindTo.IsValid() && co.BindTo.Is4() != dst.Is4() {
		l.errf(ck.Pos, "%s: bindto %s and target %s have different address families", ck.Type, co.BindTo, dst)
	}
}

// String names the virtual server the way keepalived logs it.
func (v *VirtualServer) String() string {
	switch {
	case v.Group != "":
		return "group " + v.Group
	case v.IsFWMark:
		return fmt.Sprintf("FWM %d", v.FWMark)
	case v.Port != 0:
		return netip.AddrPortFrom(v.Addr, v.Port).String()
	}
	return v.Addr.String()
}

func (l *loader) checkDuplicateVS() {
	seen := map[string]*VirtualServer{}
	for _, v := range l.cfg.VirtualServers {
		key := v.String() + "/" + string(v.Protocol) + "/" + string(v.Family)
		if prev := seen[key]; prev != nil {
			l.errf(v.Pos, "duplicate virtual_server %s (first at %s)", v.String(), prev.Pos)
			continue
		}
		seen[key] = v
	}
}

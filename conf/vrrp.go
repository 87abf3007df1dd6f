package conf

import (
	"math"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
)

// ---- vrrp_script ---------------------------------------------------------

var scriptTable *table[*VRRPScript]

func init() {
	scriptTable = newTable("vrrp_script", []keyword[*VRRPScript]{
		impl("script", "command to run (quote it to pass arguments)", "", func(l *loader, n *syntax.Node, s *VRRPScript) {
			l.setCommand(n, &s.Script)
		}),
		impl("interval", "seconds between runs", "1", func(l *loader, n *syntax.Node, s *VRRPScript) {
			if v, ok := l.uintArg(n, 0, maxSecs); ok {
				if v == 0 {
					l.warnf(n.Args[0].Pos, "vrrp_script interval must be greater than 0, setting to 1")
					v = 1
				}
				s.Interval = seconds(int(v))
			}
		}),
		impl("timeout", "seconds after which a run counts as failed", "interval", func(l *loader, n *syntax.Node, s *VRRPScript) {
			if v, ok := l.uintArg(n, 0, maxSecs); ok {
				if v == 0 {
					l.warnf(n.Args[0].Pos, "vrrp_script timeout must be greater than 0, setting to 1")
					v = 1
				}
				s.Timeout = seconds(int(v))
			}
		}),
		impl("weight", "priority adjustment: W [reverse], W in [-253, 253] (0: FAULT on failure)", "0", func(l *loader, n *syntax.Node, s *VRRPScript) {
			l.weightReverse(n, "vrrp_script", 253, &s.Weight, &s.Reverse)
		}),
		impl("rise", "successes needed for OK", "1", func(l *loader, n *syntax.Node, s *VRRPScript) {
			if v, ok := l.uintArg(n, 1, 1<<31-1); ok {
				s.Rise = int(v)
			}
		}),
		impl("fall", "failures needed for KO", "1", func(l *loader, n *syntax.Node, s *VRRPScript) {
			if v, ok := l.uintArg(n, 1, 1<<31-1); ok {
				s.Fall = int(v)
			}
		}),
		impl("user", "user [group] to run the script as", "script_user", func(l *loader, n *syntax.Node, s *VRRPScript) {
			if !l.nargs(n, 1, 2) {
				return
			}
			if s.Script == nil {
				s.Script = &Script{Pos: n.Keyword.Pos}
			}
			s.Script.User = n.Args[0].Text
			if len(n.Args) > 1 {
				s.Script.Group = n.Args[1].Text
			}
		}),
		impl("init_fail", "start in the failed state", "off", func(l *loader, n *syntax.Node, s *VRRPScript) { s.InitFail = l.flag(n) }),
	})
}

func (l *loader) vrrpScriptBlock(n *syntax.Node, c *Config) {
	name, ok := l.blockName(n)
	if !ok {
		return
	}
	if prev := l.scripts[name.Text]; prev != nil {
		l.duplicate("vrrp_script", name, prev.Pos)
		return
	}
	s := &VRRPScript{Name: name.Text, Pos: name.Pos, Interval: seconds(1), Rise: 1, Fall: 1}
	walk(l, scriptTable, n, s)
	if s.Script == nil || len(s.Script.Argv) == 0 {
		l.errf(name.Pos, "vrrp_script %q has no script", name.Text)
	}
	if s.Timeout == 0 {
		s.Timeout = s.Interval
	}
	l.scripts[name.Text] = s
	c.VRRPScripts = append(c.VRRPScripts, s)
}

// ---- vrrp_instance -------------------------------------------------------

var (
	instanceTable *table[*VRRPInstance]
	authTable     *table[*Auth]
)

type vi = VRRPInstance

func viFlag(f func(*vi) *bool) func(*loader, *syntax.Node, *vi) {
	return func(l *loader, n *syntax.Node, v *vi) { *f(v) = l.flag(n) }
}

func viTriBool(f func(*vi) **bool) func(*loader, *syntax.Node, *vi) {
	return func(l *loader, n *syntax.Node, v *vi) {
		if b, ok := l.boolArg(n); ok {
			*f(v) = &b
		}
	}
}

func viScript(f func(*vi) **Script) func(*loader, *syntax.Node, *vi) {
	return func(l *loader, n *syntax.Node, v *vi) {
		if s := l.script(n); s != nil {
			if *f(v) != nil {
				l.warnf(n.Keyword.Pos, "%s already specified - replacing", n.Keyword.Text)
			}
			*f(v) = s
		}
	}
}

func init() {
	authTable = newTable("authentication", []keyword[*Auth]{
		impl("auth_type", "PASS (simple password) or AH (IPsec AH)", "", func(l *loader, n *syntax.Node, a *Auth) {
			if t, ok := l.stringArg(n); ok {
				if t != "PASS" && t != "AH" {
					l.errf(n.Args[0].Pos, "invalid auth_type %q: want PASS or AH", t)
					return
				}
				a.Type, a.typePos = t, n.Args[0].Pos
			}
		}),
		impl("auth_pass", "password; only the first 8 characters are used", "", func(l *loader, n *syntax.Node, a *Auth) {
			if p, ok := l.stringArg(n); ok {
				if len(p) > 8 {
					l.warnf(n.Args[0].Pos, "auth_pass longer than 8 characters: truncated")
					p = p[:8]
				}
				a.Pass = p
			}
		}),
	})

	instanceTable = newTable("vrrp_instance", append([]keyword[*vi]{
		impl("state", "initial state: MASTER or BACKUP", "MASTER if priority is 255, else BACKUP", (*loader).viState),
		impl("interface", "interface VRRP runs on", "", func(l *loader, n *syntax.Node, v *vi) {
			if s, ok := l.stringArg(n); ok {
				if len(s) >= 16 || strings.ContainsAny(s, "/ ") {
					l.errf(n.Args[0].Pos, "invalid interface name %q", s)
					return
				}
				v.Interface = s
			}
		}),
		impl("virtual_router_id", "VRID, 1-255", "", func(l *loader, n *syntax.Node, v *vi) {
			if x, ok := l.uintArg(n, 1, 255); ok {
				v.VRID = int(x)
			}
		}),
		impl("priority", "priority, 1-255 (255: address owner)", "255 if state MASTER, else 100", func(l *loader, n *syntax.Node, v *vi) {
			if x, ok := l.uintArg(n, 1, 255); ok {
				v.Priority = int(x)
				w := n.Args[0]
				v.priority = &w
			}
		}),
		impl("advert_int", "advertisement interval, seconds (v2: whole seconds up to 255; v3: 0.01-40.95, rounded to centiseconds)", "1", func(l *loader, n *syntax.Node, v *vi) {
			if d, ok := l.timerArg(n, Duration(10e6), seconds(255)); ok {
				v.AdvertInt = d
				w := n.Args[0]
				v.advertInt = &w
			}
		}),
		impl("version", "VRRP version, 2 or 3", "vrrp_version (3 for IPv6)", func(l *loader, n *syntax.Node, v *vi) {
			if x, ok := l.uintArg(n, 2, 3); ok {
				v.Version = int(x)
				w := n.Args[0]
				v.version = &w
			}
		}),
		impl("nopreempt", "do not preempt a lower priority master", "off", func(l *loader, n *syntax.Node, v *vi) {
			v.NoPreempt = l.flag(n)
			v.nopreemptPos = n.Keyword.Pos
		}),
		impl("preempt", "preempt (the default; cancels nopreempt)", "on", func(l *loader, n *syntax.Node, v *vi) {
			l.flag(n)
			v.NoPreempt = false
		}),
		impl("preempt_delay", "delay before preempting, seconds (0-1000)", "0", func(l *loader, n *syntax.Node, v *vi) {
			if d, ok := l.timerArg(n, 0, seconds(1000)); ok {
				v.PreemptDelay = d
				v.preemptDelayPos = n.Keyword.Pos
			}
		}),
		implBlock("authentication", "VRRPv2 authentication block", "none", func(l *loader, n *syntax.Node, v *vi) {
			l.nargs(n, 0, 0)
			a := &Auth{}
			walk(l, authTable, n, a)
			v.Auth = a
		}),
		impl("mcast_src_ip", "source address of adverts", "primary address of interface", (*loader).viSrcIP),
		impl("unicast_src_ip", "source address of unicast adverts", "primary address of interface", func(l *loader, n *syntax.Node, v *vi) {
			v.unicastKeyword = true
			l.viSrcIP(n, v)
		}),
		impl("mcast_dst_ip", "multicast group for adverts", "vrrp_mcast_group4/6", func(l *loader, n *syntax.Node, v *vi) {
			a, ok := l.ipArg(n)
			if !ok {
				return
			}
			if !(a.Is4() && a.IsMulticast()) && !(a.Is6() && a.IsLinkLocalMulticast()) {
				l.errf(n.Args[0].Pos, "mcast_dst_ip %q is not a multicast address (IPv6: link-local scope)", n.Args[0].Text)
				return
			}
			if l.viFamily(v, a, n.Args[0], "mcast_dst_ip") {
				v.McastDstIP = a
			}
		}),
		implBlock("unicast_peer", "unicast peers: IP [min_ttl N] [max_ttl N] per line", "multicast", (*loader).viUnicastPeers),
		impl("unicast_ttl", "TTL/hop limit of unicast adverts, 0-255", "255 (IPv4)", func(l *loader, n *syntax.Node, v *vi) {
			v.unicastKeyword = true
			if x, ok := l.uintArg(n, 0, 255); ok {
				v.UnicastTTL = int(x)
				v.unicastTTLSet = true
			}
		}),
		impl("unicast_fault_no_peer", "FAULT instead of multicast when there are no peers", "off", func(l *loader, n *syntax.Node, v *vi) {
			v.unicastKeyword = true
			v.UnicastFaultNoPeer = l.flag(n)
		}),
		impl("check_unicast_src", "check unicast adverts come from a peer", "vrrp_check_unicast_src", func(l *loader, n *syntax.Node, v *vi) {
			v.unicastKeyword = true
			v.CheckUnicastSrc = l.flag(n)
		}),
		implBlock("virtual_ipaddress", "VIPs: IP[/LEN] [brd IP|+|-] [dev IF] [scope S] [label L] [peer IP] [home] [-nodad] [mngtmpaddr] [noprefixroute] [autojoin] [no_track] [use_vmac] [preferred_lft N|forever]", "", func(l *loader, n *syntax.Node, v *vi) {
			l.nargs(n, 0, 0)
			l.valueLines(n, func(c *syntax.Node) {
				ip := l.vip(c, false)
				if ip == nil {
					return
				}
				if !l.viFamily(v, ip.Addr.Addr(), c.Keyword, "virtual_ipaddress") {
					return
				}
				v.VIPs = append(v.VIPs, ip)
			})
		}),
		implBlock("virtual_ipaddress_excluded", "addresses handled like VIPs but not advertised (either family)", "", func(l *loader, n *syntax.Node, v *vi) {
			l.nargs(n, 0, 0)
			l.valueLines(n, func(c *syntax.Node) {
				if ip := l.vip(c, false); ip != nil {
					v.ExcludedVIPs = append(v.ExcludedVIPs, ip)
				}
			})
		}),
		implBlock("virtual_routes", "routes added on becoming MASTER and removed on leaving it, static_routes syntax", "", func(l *loader, n *syntax.Node, v *vi) {
			v.Routes = append(v.Routes, l.routeBlock(n)...)
		}),
		implBlock("virtual_rules", "policy rules added on becoming MASTER and removed on leaving it, static_rules syntax", "", func(l *loader, n *syntax.Node, v *vi) {
			v.Rules = append(v.Rules, l.ruleBlock(n)...)
		}),
		implBlock("track_interface", "interfaces to track: IF [weight W [reverse]] per line, W in [-253, 253]", "weight 0: FAULT when down", func(l *loader, n *syntax.Node, v *vi) {
			v.TrackInterfaces = append(v.TrackInterfaces, l.trackIfaces(n)...)
		}),
		implBlock("track_script", "vrrp_scripts to track: NAME [weight W [reverse|noreverse]] per line", "the script's weight", func(l *loader, n *syntax.Node, v *vi) {
			v.TrackScripts = append(v.TrackScripts, l.trackScripts(n)...)
		}),
		impl("dont_track_primary", "ignore faults of the VRRP interface", "off", viFlag(func(v *vi) *bool { return &v.DontTrackPrimary })),
		impl("notify_master", "script run on transition to MASTER: SCRIPT [user [group]]", "", viScript(func(v *vi) **Script { return &v.Notify.Master })),
		impl("notify_backup", "script run on transition to BACKUP", "", viScript(func(v *vi) **Script { return &v.Notify.Backup })),
		impl("notify_fault", "script run on transition to FAULT", "", viScript(func(v *vi) **Script { return &v.Notify.Fault })),
		impl("notify_stop", "script run when the instance stops", "", viScript(func(v *vi) **Script { return &v.Notify.Stop })),
		impl("notify_deleted", "send DELETED rather than FAULT on removal: [SCRIPT [user [group]]]", "", func(l *loader, n *syntax.Node, v *vi) {
			v.Notify.DeletedSet = true
			if len(n.Args) > 0 {
				v.Notify.Deleted = l.script(n)
			}
		}),
		impl("notify", "script run on every transition, with TYPE NAME STATE PRIORITY appended", "", viScript(func(v *vi) **Script { return &v.Notify.Any })),
		impl("notify_master_rx_lower_pri", "script run when MASTER receives a lower priority advert", "", viScript(func(v *vi) **Script { return &v.Notify.MasterRxLowerPri })),
		impl("notify_priority_changes", "send priority changes to notify FIFOs", "vrrp_notify_priority_changes", viTriBool(func(v *vi) **bool { return &v.notifyPrio })),
		impl("smtp_alert", "e-mail on transitions", "smtp_alert_vrrp, else smtp_alert, else off", viTriBool(func(v *vi) **bool { return &v.smtpAlert })),
		impl("garp_master_delay", "delay of the second gratuitous ARP burst, seconds", "vrrp_garp_master_delay", func(l *loader, n *syntax.Node, v *vi) {
			if d, ok := l.wholeSecondsArg(n, 0, maxSecs); ok {
				v.GarpMasterDelay = d
			}
		}),
		impl("garp_master_repeat", "gratuitous ARPs per burst", "vrrp_garp_master_repeat", viRepeat(func(v *vi) *int { return &v.GarpMasterRepeat })),
		impl("garp_master_refresh", "gratuitous ARP refresh interval while MASTER, seconds", "vrrp_garp_master_refresh", func(l *loader, n *syntax.Node, v *vi) {
			if d, ok := l.wholeSecondsArg(n, 0, math.MaxUint32); ok {
				v.GarpMasterRefresh = d
			}
		}),
		impl("garp_master_refresh_repeat", "gratuitous ARPs per refresh", "vrrp_garp_master_refresh_repeat", viRepeat(func(v *vi) *int { return &v.GarpMasterRefreshRepeat })),
		impl("garp_lower_prio_delay", "delay of gratuitous ARPs after a lower priority advert, seconds", "vrrp_garp_lower_prio_delay", func(l *loader, n *syntax.Node, v *vi) {
			if d, ok := l.wholeSecondsArg(n, 0, maxSecs); ok {
				v.garpLowerPrioDelay = &d
			}
		}),
		impl("garp_lower_prio_repeat", "gratuitous ARPs after a lower priority advert", "vrrp_garp_lower_prio_repeat", func(l *loader, n *syntax.Node, v *vi) {
			if x, ok := l.uintArg(n, 0, 1<<31-1); ok {
				r := int(x)
				v.garpLowerPrioRepeat = &r
			}
		}),
		impl("down_timer_adverts", "adverts missed before master down, 1-100", "vrrp_down_timer_adverts", func(l *loader, n *syntax.Node, v *vi) {
			if x, ok := l.uintArg(n, 1, 100); ok {
				v.DownTimerAdverts = int(x)
			}
		}),
		impl("lower_prio_no_advert", "do not answer lower priority adverts", "vrrp_lower_prio_no_advert", viTriBool(func(v *vi) **bool { return &v.lowerPrioNoAdvert })),
		impl("higher_prio_send_advert", "advert before yielding to a higher priority", "vrrp_higher_prio_send_advert", viTriBool(func(v *vi) **bool { return &v.higherPrioSendAdvert })),
		impl("accept", "accept packets to VIPs when not address owner", "on (off with strict_mode unless priority 255)", func(l *loader, n *syntax.Node, v *vi) {
			b := l.flag(n)
			v.accept = &b
		}),
		impl("no_accept", "drop packets to VIPs when not address owner", "", func(l *loader, n *syntax.Node, v *vi) {
			l.flag(n)
			b := false
			v.accept = &b
		}),
		impl("skip_check_adv_addr", "skip checking addresses of adverts from the same master", "vrrp_skip_check_adv_addr", func(l *loader, n *syntax.Node, v *vi) {
			if b, ok := l.boolArg(n); ok {
				v.SkipCheckAdvAddr = b
			}
		}),
		impl("strict_mode", "strict RFC compliance for this instance", "vrrp_strict", viTriBool(func(v *vi) **bool { return &v.strict })),
		impl("promote_secondaries", "set promote_secondaries on the interface", "off", viFlag(func(v *vi) *bool { return &v.PromoteSecondaries })),
		impl("native_ipv6", "force IPv6 (deprecated: VIPs decide)", "", func(l *loader, n *syntax.Node, v *vi) {
			l.flag(n)
			if v.Family == Inet {
				l.errf(n.Keyword.Pos, "cannot specify native_ipv6 with IPv4 addresses")
				return
			}
			v.Family = Inet6
			v.familyFrom = n.Keyword
		}),
		impl("track_src_ip", "FAULT if the configured source address disappears", "off", viFlag(func(v *vi) *bool { return &v.TrackSrcIP })),
		impl("use_vmac", "use a VRRP virtual MAC (macvlan): [NAME] [MAC]", "off", (*loader).viUseVMAC),
		impl("vmac_xmit_base", "send/receive adverts on the base interface", "off", viFlag(func(v *vi) *bool { return &v.VMACXmitBase })),
		keyword[*vi]{name: "lvs_sync_daemon_interface", meaning: "legacy: lvs_sync_daemon IF inst THIS_INSTANCE", status: parsed, aliasOf: "lvs_sync_daemon", deprecated: true,
			fn: func(l *loader, n *syntax.Node, v *vi) {
				ifname, ok := l.stringArg(n)
				if !ok {
					return
				}
				g := &l.cfg.Global
				if g.LVSSyncDaemon != nil {
					l.errf(n.Keyword.Pos, "lvs_sync_daemon already specified at %s", g.LVSSyncDaemon.Pos)
					return
				}
				g.LVSSyncDaemon = &LVSSyncDaemon{Interface: ifname, VRRPInstance: v.Name, Pos: n.Keyword.Pos}
				l.syncdPos = n.Keyword.Pos
			}},
		ignored[*vi]("debug", "debug level (not implemented by keepalived either)"),
		impl("use_vmac_addr", "VMACs for the VIPs on other interfaces or of the other address family", "off", viFlag(func(v *vi) *bool { return &v.UseVMACAddr })),
		ignored[*vi]("use_ipvlan", "use an ipvlan interface"),
		ignored[*vi]("vrf", "VRF for unicast without interface"),
		implBlock("track_file", "track_files to track: NAME [weight W [reverse|noreverse]] per line, W in [-254, 254]", "the track_file's weight", func(l *loader, n *syntax.Node, v *vi) {
			v.TrackFiles = append(v.TrackFiles, l.trackFiles(n)...)
		}),
		implBlock("track_process", "vrrp_track_processes to track: NAME [weight W [reverse|noreverse]] per line, W in [-254, 254]", "the vrrp_track_process's weight", func(l *loader, n *syntax.Node, v *vi) {
			v.TrackProcesses = append(v.TrackProcesses, l.trackProcesses(n)...)
		}),
		ignored[*vi]("track_bfd", "track BFD sessions"),
		ignored[*vi]("old_unicast_checksum", "pre-1.3.6 VRRPv3 unicast checksum"),
		ignored[*vi]("garp_extra_if", "periodic GARP on other interfaces"),
		ignored[*vi]("vmac_garp_intvl", "deprecated garp_extra_if"),
		ignored[*vi]("kernel_rx_buf_size", "socket receive buffer size"),
		ignored[*vi]("linkbeat_use_polling", "poll the interface for link state"),
	}, instanceKeywords24()...))
}

func viRepeat(f func(*vi) *int) func(*loader, *syntax.Node, *vi) {
	return func(l *loader, n *syntax.Node, v *vi) {
		x, ok := l.uintArg(n, 0, math.MaxUint32)
		if !ok {
			return
		}
		if x == 0 {
			l.warnf(n.Args[0].Pos, "%s must be greater than 0, setting to 1", n.Keyword.Text)
			x = 1
		}
		*f(v) = int(x)
	}
}

func (l *loader) vrrpInstanceBlock(n *syntax.Node, c *Config) {
	c.Counts.VRRPInstances++
	name, ok := l.blockName(n)
	if !ok {
		return
	}
	if prev := l.instances[name.Text]; prev != nil {
		l.duplicate("vrrp_instance", name, prev.Pos)
		return
	}
	g := &l.cfg.Global
	v := &VRRPInstance{
		Name: name.Text, Pos: name.Pos,
		GarpMasterDelay:         -1,
		GarpMasterRepeat:        -1,
		GarpMasterRefresh:       -1,
		GarpMasterRefreshRepeat: -1,
		DownTimerAdverts:        -1,
		SkipCheckAdvAddr:        g.VRRPSkipCheckAdvAddr,
		VIPs:                    []*VIP{},
	}
	walk(l, instanceTable, n, v)
	l.instances[name.Text] = v
	c.VRRPInstances = append(c.VRRPInstances, v)
}

func (l *loader) viState(n *syntax.Node, v *vi) {
	s, ok := l.stringArg(n)
	if !ok {
		return
	}
	switch s {
	case "MASTER":
		v.State = StateMaster
	case "BACKUP":
		if v.State == StateMaster {
			l.warnf(n.Args[0].Pos, "state previously set as MASTER - ignoring BACKUP")
			return
		}
		v.State = StateBackup
	default:
		l.errf(n.Args[0].Pos, "invalid state %q: want MASTER or BACKUP", s)
		return
	}
	v.stateWord = n.Args[0]
}

// viFamily sets or checks the instance's address family.
func (l *loader) viFamily(v *vi, a netip.Addr, w syntax.Word, what string) bool {
	f := familyOf(a)
	if v.Family == "" {
		v.Family = f
		v.familyFrom = w
		return true
	}
	if v.Family != f {
		l.errf(w.Pos, "%s %q is %s but vrrp_instance %q is %s (set by %q at %s)", what, w.Text, familyName(f), v.Name, familyName(v.Family), v.familyFrom.Text, v.familyFrom.Pos)
		return false
	}
	return true
}

func familyName(f Family) string {
	if f == Inet6 {
		return "IPv6"
	}
	return "IPv4"
}

func (l *loader) viSrcIP(n *syntax.Node, v *vi) {
	a, ok := l.ipArg(n)
	if !ok {
		return
	}
	if l.viFamily(v, a, n.Args[0], n.Keyword.Text) {
		v.SrcIP = a
		v.srcWord = n.Args[0]
	}
}

func (l *loader) viUnicastPeers(n *syntax.Node, v *vi) {
	v.unicastKeyword = true
	l.nargs(n, 0, 0)
	l.valueLines(n, func(c *syntax.Node) {
		a, ok := l.ip(c.Keyword, "unicast_peer")
		if !ok {
			return
		}
		if !l.viFamily(v, a, c.Keyword, "unicast_peer") {
			return
		}
		p := UnicastPeer{Addr: a, MinTTL: 0, MaxTTL: 255, Pos: c.Keyword.Pos}
		for i := 0; i < len(c.Args); i += 2 {
			opt := c.Args[i]
			if opt.Text != "min_ttl" && opt.Text != "max_ttl" {
				l.errf(opt.Pos, "unknown unicast_peer option %q: want min_ttl or max_ttl", opt.Text)
				break
			}
			if i+1 >= len(c.Args) {
				l.errf(opt.Pos, "%s needs a value", opt.Text)
				break
			}
			x, ok := l.uint(c.Args[i+1], opt.Text, 0, 255)
			if !ok {
				continue
			}
			if opt.Text == "min_ttl" {
				p.MinTTL = int(x)
			} else {
				p.MaxTTL = int(x)
			}
			v.CheckUnicastSrc = true
		}
		if p.MinTTL > p.MaxTTL {
			l.warnf(c.Keyword.Pos, "min_ttl %d > max_ttl %d: all adverts from %s will be discarded", p.MinTTL, p.MaxTTL, a)
		}
		for _, q := range v.UnicastPeers {
			if q.Addr == a {
				l.warnf(c.Keyword.Pos, "duplicate unicast_peer %s", a)
			}
		}
		v.UnicastPeers = append(v.UnicastPeers, p)
	})
}

var (
	macRE      = regexp.MustCompile(`^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){4,5}$`)
	rfc5798MAC = regexp.MustCompile(`^0{0,2}:0{0,2}:5e:0{0,2}:0?[12]:`)
)

func (l *loader) viUseVMAC(n *syntax.Node, v *vi) {
	v.UseVMAC = true
	l.nargs(n, 0, 2)
	for _, w := range n.Args {
		if macRE.MatchString(w.Text) {
			if v.VMACAddr != "" {
				l.errf(w.Pos, "use_vmac MAC address given twice")
				continue
			}
			mac := strings.ToLower(w.Text)
			first, _ := strconv.ParseUint(strings.Split(mac, ":")[0], 16, 8)
			switch {
			case first&1 != 0:
				l.warnf(w.Pos, "VMAC MAC address is multicast %s - ignoring", w.Text)
			case strings.Count(mac, ":") == 5 && rfc5798MAC.MatchString(mac):
				l.warnf(w.Pos, "VMAC MAC address not allowed to be RFC5798 address (%s) - ignoring", w.Text)
			default:
				v.VMACAddr = mac // 5 octets: the VRID is the sixth (keepalived)
			}
			continue
		}
		if v.VMACName != "" {
			l.errf(w.Pos, "use_vmac interface name given twice")
			continue
		}
		if len(w.Text) >= 16 {
			l.errf(w.Pos, "VMAC interface name %q too long", w.Text)
			continue
		}
		v.VMACName = w.Text
	}
}

// vip parses one address line of virtual_ipaddress(_excluded).
func (l *loader) vip(c *syntax.Node, static bool) *VIP {
	w := c.Keyword
	addrText, lenText, hasLen := strings.Cut(w.Text, "/")
	a, err := netip.ParseAddr(addrText)
	if err != nil || a.Zone() != "" {
		l.errf(w.Pos, "invalid IP address %q", w.Text)
		return nil
	}
	a = a.Unmap()
	bits := a.BitLen()
	if hasLen {
		x, ok := l.uint(syntax.Word{Text: lenText, Pos: w.Pos}, "prefix length of "+w.Text, 0, uint64(a.BitLen()))
		if !ok {
			return nil
		}
		bits = int(x)
	}
	ip := &VIP{Addr: netip.PrefixFrom(a, bits), Pos: w.Pos}
	brd := ""
	var lft *uint32
	args := c.Args
	for i := 0; i < len(args); i++ {
		opt := args[i]
		val := func() (syntax.Word, bool) {
			if i+1 >= len(args) {
				l.errf(opt.Pos, "no %s parameter specified for %s", opt.Text, w.Text)
				return syntax.Word{}, false
			}
			i++
			return args[i], true
		}
		switch opt.Text {
		case "dev":
			d, ok := val()
			if !ok {
				return nil
			}
			if ip.Dev != "" {
				l.errf(d.Pos, "cannot specify dev more than once for %s", w.Text)
				return nil
			}
			if len(d.Text) >= 16 {
				l.errf(d.Pos, "invalid interface name %q", d.Text)
				return nil
			}
			ip.Dev = d.Text
		case "scope":
			s, ok := val()
			if !ok {
				return nil
			}
			sc, ok := parseScope(s.Text)
			if !ok {
				// keepalived: "Invalid scope ... - ignoring", and goes on.
				l.warnf(s.Pos, "invalid scope %q specified for %s - ignoring", s.Text, w.Text)
				continue
			}
			ip.Scope = sc
		case "brd", "broadcast":
			b, ok := val()
			if !ok {
				return nil
			}
			if a.Is6() {
				l.errf(b.Pos, "cannot assign a broadcast address to IPv6 address %s", w.Text)
				return nil
			}
			if b.Text == "+" || b.Text == "-" {
				brd = b.Text
				continue
			}
			ba, err := netip.ParseAddr(b.Text)
			if err != nil || !ba.Is4() {
				l.errf(b.Pos, "invalid broadcast address %q", b.Text)
				return nil
			}
			ip.Broadcast = ba
		case "label":
			lb, ok := val()
			if !ok {
				return nil
			}
			if len(lb.Text) >= 16 {
				l.errf(lb.Pos, "address label %q is longer than 15 characters", lb.Text)
				return nil
			}
			ip.Label = lb.Text
		case "peer":
			p, ok := val()
			if !ok {
				return nil
			}
			pt, plen, hasPlen := strings.Cut(p.Text, "/")
			pa, err := netip.ParseAddr(pt)
			if err != nil || pa.Zone() != "" {
				l.errf(p.Pos, "invalid peer address %q", p.Text)
				continue
			}
			pa = pa.Unmap()
			if pa.Is4() != a.Is4() {
				l.errf(p.Pos, "peer address %s does not match the family of %s", p.Text, w.Text)
				continue
			}
			pbits := pa.BitLen()
			if hasPlen {
				x, ok := l.uint(syntax.Word{Text: plen, Pos: p.Pos}, "peer prefix length", 0, uint64(pa.BitLen()))
				if !ok {
					continue
				}
				pbits = int(x)
			}
			if ip.Addr.Bits() != a.BitLen() {
				l.warnf(p.Pos, "cannot specify an address prefix with a peer address - ignoring the prefix")
			}
			ip.Peer = netip.PrefixFrom(pa, pbits)
			ip.Addr = netip.PrefixFrom(a, pbits)
		case "home":
			ip.Home = true
		case "-nodad", "nodad":
			ip.NoDAD = true
		case "mngtmpaddr":
			ip.MngTmpAddr = true
		case "noprefixroute":
			ip.NoPrefixRoute = true
		case "autojoin":
			ip.AutoJoin = true
		case "no_track":
			ip.NoTrack = true
		case "use_vmac":
			if static {
				l.errf(opt.Pos, "use_vmac is not valid for static addresses")
				continue
			}
			ip.UseVMAC = true
		case "preferred_lft":
			p, ok := val()
			if !ok {
				return nil
			}
			if p.Text == "forever" {
				f := uint32(0xffffffff)
				lft = &f
				continue
			}
			x, ok := l.uint(p, "preferred_lft", 0, 0xffffffff)
			if !ok {
				continue
			}
			f := uint32(x)
			lft = &f
		case "track_group":
			if _, ok := val(); !ok {
				return nil
			}
			l.warnf(opt.Pos, "track_group is only valid for static addresses (ignored)")
		default:
			l.warnf(opt.Pos, "unknown option %q for ip address %s (ignored)", opt.Text, w.Text)
		}
	}
	if brd != "" {
		switch {
		case ip.Peer.IsValid():
			l.warnf(c.Keyword.Pos, "cannot specify broadcast and peer addresses - ignoring broadcast address")
		case ip.Addr.Bits() > 30:
			l.warnf(c.Keyword.Pos, "address prefix length %d too long for broadcast", ip.Addr.Bits())
		default:
			base := a
			if ip.Peer.IsValid() {
				base = ip.Peer.Addr()
			}
			b := base.As4()
			host := ^uint32(0) >> ip.Addr.Bits()
			u := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			if brd == "+" {
				u |= host
			} else {
				u &^= host
			}
			ip.Broadcast = netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
		}
	} else if ip.Peer.IsValid() && ip.Broadcast.IsValid() {
		l.warnf(c.Keyword.Pos, "cannot specify broadcast and peer addresses - ignoring broadcast address")
		ip.Broadcast = netip.Addr{}
	}
	if a.Is6() {
		if ip.Scope != "" {
			l.warnf(c.Keyword.Pos, "cannot specify scope for IPv6 address %s - ignoring scope", w.Text)
			ip.Scope = ""
		}
		if ip.Label != "" {
			l.warnf(c.Keyword.Pos, "cannot specify label for IPv6 address %s - ignoring label", w.Text)
			ip.Label = ""
		}
		if lft == nil { // keepalived's defaults: /128 deprecated, others forever
			f := uint32(0xffffffff)
			if ip.Addr.Bits() == 128 {
				f = 0
			}
			lft = &f
		}
	}
	ip.PreferredLft = lft
	return ip
}

// rtScopesFile is iproute2's scope names file, which keepalived reads.
var rtScopesFile = "/etc/iproute2/rt_scopes"

// scopeNames are keepalived's built-in scope names (lib/rttables.c), used
// for numbers rt_scopes does not name.
var scopeNames = map[uint64]string{0: "global", 255: "nowhere", 254: "host", 253: "link", 200: "site"}

// parseScope resolves a VIP scope as keepalived's find_rttables_scope: a
// number (C strtoul, base 0: decimal, 0x hex or 0 octal) up to 255, or a name
// from /etc/iproute2/rt_scopes or keepalived's defaults. It returns the
// scope's canonical form: its built-in name, else its decimal number.
func parseScope(s string) (string, bool) {
	if v, ok := parseCUint(s); ok {
		if v > 255 {
			return "", false
		}
		return canonicalScope(v), true
	}
	names := map[string]uint64{}
	ids := map[uint64]bool{}
	if b, err := os.ReadFile(rtScopesFile); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 || strings.HasPrefix(f[0], "-") {
				continue
			}
			if v, ok := parseCUint(f[0]); ok && v <= 255 {
				if _, dup := names[f[1]]; !dup {
					names[f[1]] = v
				}
				ids[v] = true
			}
		}
	}
	// keepalived adds a default name only when the file names no scope with its number.
	for v, n := range scopeNames {
		if _, dup := names[n]; !dup && !ids[v] {
			names[n] = v
		}
	}
	v, ok := names[s]
	if !ok {
		return "", false
	}
	return canonicalScope(v), true
}

func canonicalScope(v uint64) string {
	if n, ok := scopeNames[v]; ok {
		return n
	}
	return strconv.FormatUint(v, 10)
}

// parseCUint parses an unsigned number as C's strtoul with base 0 does when
// it consumes the whole string.
func parseCUint(s string) (uint64, bool) {
	if s == "" || strings.ContainsAny(s, "_oObB") {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		// ParseUint's base 0 wants 0o for octal; C takes a leading 0.
		if len(s) > 1 && s[0] == '0' && s[1] != 'x' && s[1] != 'X' {
			v, err = strconv.ParseUint(s[1:], 8, 64)
		}
		if err != nil {
			return 0, false
		}
	}
	return v, true
}

// trackIfaces parses a track_interface block.
func (l *loader) trackIfaces(n *syntax.Node) []TrackedIface {
	l.nargs(n, 0, 0)
	var out []TrackedIface
	l.valueLines(n, func(c *syntax.Node) {
		t := TrackedIface{Name: c.Keyword.Text, Pos: c.Keyword.Pos}
		if len(t.Name) >= 16 {
			l.errf(c.Keyword.Pos, "invalid interface name %q", t.Name)
			return
		}
		if !l.trackWeight(c, &t.Weight, &t.Reverse, nil) {
			return
		}
		for _, o := range out {
			if o.Name == t.Name {
				l.warnf(c.Keyword.Pos, "duplicate track_interface %s - ignoring", t.Name)
				return
			}
		}
		out = append(out, t)
	})
	return out
}

// trackScripts parses a track_script block.
func (l *loader) trackScripts(n *syntax.Node) []TrackedScript {
	l.nargs(n, 0, 0)
	var out []TrackedScript
	l.valueLines(n, func(c *syntax.Node) {
		t := TrackedScript{Name: c.Keyword.Text, Pos: c.Keyword.Pos}
		if !l.trackWeight(c, &t.Weight, &t.Reverse, &t.weightSet) {
			return
		}
		for _, o := range out {
			if o.Name == t.Name {
				l.warnf(c.Keyword.Pos, "duplicate track_script %s - ignoring", t.Name)
				return
			}
		}
		out = append(out, t)
	})
	return out
}

// trackWeight reads `NAME [weight W [reverse|noreverse|no_reverse]]`.
func (l *loader) trackWeight(c *syntax.Node, weight *int, reverse *bool, set *bool) bool {
	if len(c.Args) == 0 {
		return true
	}
	if c.Args[0].Text != "weight" {
		l.errf(c.Args[0].Pos, "unknown option %q for %s: want weight", c.Args[0].Text, c.Keyword.Text)
		return false
	}
	if len(c.Args) < 2 {
		l.errf(c.Args[0].Pos, "weight without value for %s", c.Keyword.Text)
		return false
	}
	x, ok := l.int(c.Args[1], "weight", -254, 254)
	if !ok {
		return false
	}
	if x == 254 || x == -254 {
		// keepalived 2.2.7 (vrrp_track.c) still accepts the old limit.
		l.warnf(c.Args[1].Pos, "weight for %s cannot be +/-254, setting to +/-253", c.Keyword.Text)
		x = x / 254 * 253
	}
	*weight = int(x)
	if set != nil {
		*set = true
	}
	if len(c.Args) > 2 {
		switch c.Args[2].Text {
		case "reverse":
			*reverse = true
		case "noreverse", "no_reverse":
			*reverse = false
		default:
			l.errf(c.Args[2].Pos, "unknown weight option %q: want reverse or noreverse", c.Args[2].Text)
			return false
		}
	}
	if len(c.Args) > 3 {
		l.warnf(c.Args[3].Pos, "extra arguments ignored")
	}
	return true
}

// ---- vrrp_sync_group -----------------------------------------------------

var syncGroupTable *table[*SyncGroup]

type sg = SyncGroup

func sgScript(f func(*sg) **Script) func(*loader, *syntax.Node, *sg) {
	return func(l *loader, n *syntax.Node, g *sg) {
		if s := l.script(n); s != nil {
			*f(g) = s
		}
	}
}

func init() {
	syncGroupTable = newTable("vrrp_sync_group", []keyword[*sg]{
		implBlock("group", "member vrrp_instances, one per line", "", func(l *loader, n *syntax.Node, g *sg) {
			l.nargs(n, 0, 0)
			l.valueLines(n, func(c *syntax.Node) {
				if len(c.Args) > 0 {
					l.warnf(c.Args[0].Pos, "extra words after instance name ignored")
				}
				g.memberWords = append(g.memberWords, c.Keyword)
			})
		}),
		implBlock("track_interface", "interfaces tracked by every member", "", func(l *loader, n *syntax.Node, g *sg) {
			g.TrackInterfaces = append(g.TrackInterfaces, l.trackIfaces(n)...)
		}),
		implBlock("track_script", "vrrp_scripts tracked by every member", "", func(l *loader, n *syntax.Node, g *sg) {
			g.TrackScripts = append(g.TrackScripts, l.trackScripts(n)...)
		}),
		impl("notify_master", "script run when the group becomes MASTER", "", sgScript(func(g *sg) **Script { return &g.Notify.Master })),
		impl("notify_backup", "script run when the group becomes BACKUP", "", sgScript(func(g *sg) **Script { return &g.Notify.Backup })),
		impl("notify_fault", "script run when the group goes to FAULT", "", sgScript(func(g *sg) **Script { return &g.Notify.Fault })),
		impl("notify_stop", "script run when the group stops", "", sgScript(func(g *sg) **Script { return &g.Notify.Stop })),
		impl("notify", "script run on every group transition", "", sgScript(func(g *sg) **Script { return &g.Notify.Any })),
		impl("notify_deleted", "send DELETED rather than FAULT on removal: [SCRIPT]", "", func(l *loader, n *syntax.Node, g *sg) {
			g.Notify.DeletedSet = true
			if len(n.Args) > 0 {
				g.Notify.Deleted = l.script(n)
			}
		}),
		impl("notify_priority_changes", "send priority changes to notify FIFOs", "vrrp_notify_priority_changes", func(l *loader, n *syntax.Node, g *sg) {
			if b, ok := l.boolArg(n); ok {
				g.NotifyPriorityChanges = &b
			}
		}),
		impl("smtp_alert", "e-mail on group transitions", "smtp_alert_vrrp, else smtp_alert, else off", func(l *loader, n *syntax.Node, g *sg) {
			if b, ok := l.boolArg(n); ok {
				g.smtpAlert = &b
			}
		}),
		impl("sync_group_tracking_weight", "allow members to keep differing tracking weights", "off", func(l *loader, n *syntax.Node, g *sg) {
			g.SyncGroupTrackingWeight = l.flag(n)
		}),
		keyword[*sg]{name: "global_tracking", meaning: "legacy: members keep their tracking weights (now: no effect)", status: parsed, deprecated: true,
			hint: "use track_interface/track_script on the vrrp_sync_group",
			fn:   func(l *loader, n *syntax.Node, g *sg) { l.flag(n) }},
		implBlock("track_file", "track_files tracked by every member", "", func(l *loader, n *syntax.Node, g *sg) {
			g.TrackFiles = append(g.TrackFiles, l.trackFiles(n)...)
		}),
		implBlock("track_process", "vrrp_track_processes tracked by every member", "", func(l *loader, n *syntax.Node, g *sg) {
			g.TrackProcesses = append(g.TrackProcesses, l.trackProcesses(n)...)
		}),
		ignored[*sg]("track_bfd", "track BFD sessions"),
	})
}

func (l *loader) syncGroupBlock(n *syntax.Node, c *Config) {
	name, ok := l.blockName(n)
	if !ok {
		return
	}
	if prev := l.groups[name.Text]; prev != nil {
		l.duplicate("vrrp_sync_group", name, prev.Pos)
		return
	}
	g := &SyncGroup{Name: name.Text, Pos: name.Pos}
	walk(l, syncGroupTable, n, g)
	l.groups[name.Text] = g
	c.SyncGroups = append(c.SyncGroups, g)
}

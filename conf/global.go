package conf

import (
	"math"
	"net/netip"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
	"github.com/lvs-ha/lvs-ha/internal/strictfw"
)

func defaultGlobals() GlobalDefs {
	return GlobalDefs{
		SMTPConnectTimeout:          seconds(30),
		DefaultInterface:            "eth0",
		Nftables:                    "keepalived",
		NftablesPriority:            -1,
		VRRPMcastGroup4:             netip.MustParseAddr("224.0.0.18"),
		VRRPMcastGroup6:             netip.MustParseAddr("ff02::12"),
		VRRPGarpMasterDelay:         seconds(5),
		VRRPGarpMasterRepeat:        5,
		VRRPGarpLowerPrioDelay:      -1, // resolved in finishGlobals
		VRRPGarpLowerPrioRepeat:     -1,
		VRRPGarpMasterRefreshRepeat: 1,
		VRRPDownTimerAdverts:        3,
		VRRPVersion:                 2,
		VMACPrefix:                  "vrrp",
	}
}

var globalTable *table[*GlobalDefs]

type gd = GlobalDefs

func gStr(f func(*gd) *string) func(*loader, *syntax.Node, *gd) {
	return func(l *loader, n *syntax.Node, g *gd) {
		if v, ok := l.stringArg(n); ok {
			*f(g) = v
		}
	}
}

func gBool(f func(*gd) *bool) func(*loader, *syntax.Node, *gd) {
	return func(l *loader, n *syntax.Node, g *gd) {
		if v, ok := l.boolArg(n); ok {
			*f(g) = v
		}
	}
}

func gTriBool(f func(*gd) **bool) func(*loader, *syntax.Node, *gd) {
	return func(l *loader, n *syntax.Node, g *gd) {
		if v, ok := l.boolArg(n); ok {
			*f(g) = &v
		}
	}
}

func gFlag(f func(*gd) *bool) func(*loader, *syntax.Node, *gd) {
	return func(l *loader, n *syntax.Node, g *gd) { *f(g) = l.flag(n) }
}

func gTimer(f func(*gd) *Duration, min, max Duration) func(*loader, *syntax.Node, *gd) {
	return func(l *loader, n *syntax.Node, g *gd) {
		if v, ok := l.timerArg(n, min, max); ok {
			*f(g) = v
		}
	}
}

func gSecs(f func(*gd) *Duration, min, max uint64) func(*loader, *syntax.Node, *gd) {
	return func(l *loader, n *syntax.Node, g *gd) {
		if v, ok := l.wholeSecondsArg(n, min, max); ok {
			*f(g) = v
		}
	}
}

func gInt(f func(*gd) *int, min, max int64) func(*loader, *syntax.Node, *gd) {
	return func(l *loader, n *syntax.Node, g *gd) {
		if v, ok := l.intArg(n, min, max); ok {
			*f(g) = int(v)
		}
	}
}

func gFifo(f func(*gd) **Fifo) func(*loader, *syntax.Node, *gd) {
	return func(l *loader, n *syntax.Node, g *gd) {
		if !l.nargs(n, 1, 3) {
			return
		}
		fi := *f(g)
		if fi == nil {
			fi = &Fifo{}
			*f(g) = fi
		}
		fi.Name, fi.Pos = n.Args[0].Text, n.Keyword.Pos
		if len(n.Args) > 1 {
			fi.User = n.Args[1].Text
		}
		if len(n.Args) > 2 {
			fi.Group = n.Args[2].Text
		}
	}
}

func gFifoScript(f func(*gd) **Fifo) func(*loader, *syntax.Node, *gd) {
	return func(l *loader, n *syntax.Node, g *gd) {
		s := l.script(n)
		if s == nil {
			return
		}
		fi := *f(g)
		if fi == nil {
			fi = &Fifo{}
			*f(g) = fi
		}
		fi.Script = s
	}
}

// keepalived keeps most timers in 32-bit microseconds: UINT_MAX/TIMER_HZ
// whole seconds, or UINT_MAX microseconds for the ones read with decimals.
const (
	maxSecs   = 4294
	maxMicros = Duration(math.MaxUint32 * 1000)
)

func init() {
	globalTable = newTable("global_defs", append([]keyword[*gd]{
		impl("router_id", "string identifying this machine", "local host name", gStr(func(g *gd) *string { return &g.RouterID })),
		implBlock("notification_email", "block of e-mail addresses to notify", "", func(l *loader, n *syntax.Node, g *gd) {
			l.nargs(n, 0, 0)
			l.valueLines(n, func(c *syntax.Node) {
				g.NotificationEmail = append(g.NotificationEmail, c.Keyword.Text)
				if len(c.Args) > 0 {
					l.warnf(c.Args[0].Pos, "extra words after e-mail address ignored")
				}
			})
		}),
		impl("notification_email_from", "From: address of notification e-mails", "keepalived@<host name>", gStr(func(g *gd) *string { return &g.NotificationEmailFrom })),
		impl("smtp_server", "SMTP server: HOST [PORT]", "port 25", func(l *loader, n *syntax.Node, g *gd) {
			if !l.nargs(n, 1, 2) {
				return
			}
			g.SMTPServer, g.SMTPPort = n.Args[0].Text, 25
			if len(n.Args) > 1 {
				if p, ok := l.port(n.Args[1], "smtp_server port", 1); ok {
					g.SMTPPort = p
				}
			}
		}),
		impl("smtp_helo_name", "name sent in SMTP HELO", "local host name", gStr(func(g *gd) *string { return &g.SMTPHeloName })),
		impl("smtp_connect_timeout", "SMTP connection timeout, seconds", "30", gSecsMin1(func(g *gd) *Duration { return &g.SMTPConnectTimeout })),
		impl("smtp_alert", "default for every smtp_alert", "unset", gTriBool(func(g *gd) **bool { return &g.SMTPAlert })),
		impl("smtp_alert_vrrp", "default for VRRP smtp_alert", "unset", gTriBool(func(g *gd) **bool { return &g.SMTPAlertVRRP })),
		impl("smtp_alert_checker", "default for checker smtp_alert", "unset", gTriBool(func(g *gd) **bool { return &g.SMTPAlertChecker })),
		impl("no_email_faults", "no e-mail for FAULT transitions", "off", gFlag(func(g *gd) *bool { return &g.NoEmailFaults })),
		ignoredWhy[*gd]("email_faults", "e-mail FAULT transitions",
			"no keepalived release has it (renamed no_email_faults before 2.0.0): FAULT transitions are mailed unless no_email_faults"),
		impl("no_checker_emails", "e-mail only when a real server is added/removed", "off", gFlag(func(g *gd) *bool { return &g.NoCheckerEmails })),
		impl("checker_log_all_failures", "log every failed check", "off", gBool(func(g *gd) *bool { return &g.CheckerLogAllFailures })),
		impl("rs_init_notifies", "notify for real servers at startup", "off", gFlag(func(g *gd) *bool { return &g.RSInitNotifies })),
		impl("default_interface", "interface for static addresses without dev", "eth0", gStr(func(g *gd) *string { return &g.DefaultInterface })),
		impl("dynamic_interfaces", "allow interfaces that do not exist at startup: [allow_if_changes]", "off", func(l *loader, n *syntax.Node, g *gd) {
			l.nargs(n, 0, 1)
			g.DynamicInterfaces = true
		}),
		impl("vrrp_mcast_group4", "IPv4 VRRP multicast group", "224.0.0.18", func(l *loader, n *syntax.Node, g *gd) {
			if a, ok := l.ipArg(n); ok {
				if !a.Is4() || !a.IsMulticast() {
					l.errf(n.Args[0].Pos, "vrrp_mcast_group4 %q is not an IPv4 multicast address", n.Args[0].Text)
					return
				}
				g.VRRPMcastGroup4 = a
			}
		}),
		impl("vrrp_mcast_group6", "IPv6 VRRP multicast group (link-local scope)", "ff02::12", func(l *loader, n *syntax.Node, g *gd) {
			if a, ok := l.ipArg(n); ok {
				if !a.Is6() || !a.IsLinkLocalMulticast() {
					l.errf(n.Args[0].Pos, "vrrp_mcast_group6 %q is not an IPv6 link-local multicast address", n.Args[0].Text)
					return
				}
				g.VRRPMcastGroup6 = a
			}
		}),
		impl("vrrp_garp_master_delay", "delay of the second gratuitous ARP burst after becoming MASTER, seconds (0: none)", "5", gSecs(func(g *gd) *Duration { return &g.VRRPGarpMasterDelay }, 0, maxSecs)),
		impl("vrrp_garp_master_repeat", "gratuitous ARPs per burst after becoming MASTER", "5", gRepeat(func(g *gd) *int { return &g.VRRPGarpMasterRepeat })),
		impl("vrrp_garp_lower_prio_delay", "delay of gratuitous ARPs after a lower priority advert while MASTER, seconds", "vrrp_garp_master_delay", gSecs(func(g *gd) *Duration { return &g.VRRPGarpLowerPrioDelay }, 0, maxSecs)),
		impl("vrrp_garp_lower_prio_repeat", "gratuitous ARPs sent after a lower priority advert while MASTER", "vrrp_garp_master_repeat", gInt(func(g *gd) *int { return &g.VRRPGarpLowerPrioRepeat }, 0, 1<<31-1)),
		impl("vrrp_garp_master_refresh", "interval of gratuitous ARP refreshes while MASTER, seconds (0: none)", "0", gSecs(func(g *gd) *Duration { return &g.VRRPGarpMasterRefresh }, 0, math.MaxUint32)),
		impl("vrrp_garp_master_refresh_repeat", "gratuitous ARPs per refresh", "1", gRepeat(func(g *gd) *int { return &g.VRRPGarpMasterRefreshRepeat })),
		impl("vrrp_garp_interval", "delay between gratuitous ARPs on an interface, seconds", "0", gTimer(func(g *gd) *Duration { return &g.VRRPGarpInterval }, 0, maxMicros)),
		impl("vrrp_gna_interval", "delay between unsolicited NAs on an interface, seconds", "0", gTimer(func(g *gd) *Duration { return &g.VRRPGnaInterval }, 0, maxMicros)),
		impl("vrrp_min_garp", "send one gratuitous ARP/NA and no repeats", "off", func(l *loader, n *syntax.Node, g *gd) {
			if v, ok := l.boolArg(n); ok {
				g.VRRPMinGarp = v
			}
		}),
		impl("vrrp_down_timer_adverts", "adverts missed before master down (RFC: 3)", "3", gInt(func(g *gd) *int { return &g.VRRPDownTimerAdverts }, 1, 100)),
		impl("vrrp_lower_prio_no_advert", "do not answer a lower priority advert with an advert", "off (on with vrrp_strict)", gBool(func(g *gd) *bool { return &g.VRRPLowerPrioNoAdvert })),
		impl("vrrp_higher_prio_send_advert", "as MASTER, send an advert before yielding to a higher priority", "off", gBool(func(g *gd) *bool { return &g.VRRPHigherPrioSendAdvert })),
		impl("vrrp_version", "default VRRP version, 2 or 3 (IPv6 always uses 3)", "2", gInt(func(g *gd) *int { return &g.VRRPVersion }, 2, 3)),
		impl("vrrp_check_unicast_src", "check unicast adverts come from a configured peer", "off", gFlag(func(g *gd) *bool { return &g.VRRPCheckUnicastSrc })),
		impl("vrrp_skip_check_adv_addr", "skip checking advert addresses from the same master", "off", gFlag(func(g *gd) *bool { return &g.VRRPSkipCheckAdvAddr })),
		impl("vrrp_v3_checksum_as_v2", "lvs-ha extension: send VRRPv3-over-IPv4 checksums without the pseudo-header, as pre-1.3.6 keepalived and tshark's v3_checksum_as_in_v2; both forms are always accepted", "off", gFlag(func(g *gd) *bool { return &g.VRRPV3ChecksumAsV2 })),
		impl("vrrp_strict", "strict RFC compliance (see keepalived.conf(5))", "off", gFlag(func(g *gd) *bool { return &g.VRRPStrict })),
		impl("vrrp_iptables", "iptables chains for no_accept: [IN_CHAIN [OUT_CHAIN]]", "INPUT", func(l *loader, n *syntax.Node, g *gd) {
			l.nargs(n, 0, 2)
			t := &IPTables{InChain: "INPUT", OutChain: "OUTPUT"}
			if len(n.Args) > 0 {
				t.InChain, t.OutChain = n.Args[0].Text, ""
			}
			if len(n.Args) > 1 {
				t.OutChain = n.Args[1].Text
			}
			g.VRRPIPTables = t
		}),
		impl("vrrp_startup_delay", "delay before VRRP instances start, seconds", "0", gTimer(func(g *gd) *Duration { return &g.VRRPStartupDelay }, 0, seconds(maxSecs))),
		impl("vrrp_notify_priority_changes", "send priority changes to notify FIFOs", "off", gBool(func(g *gd) *bool { return &g.VRRPNotifyPriorityChanges })),
		impl("log_unknown_vrids", "log adverts for unconfigured VRIDs", "off", gFlag(func(g *gd) *bool { return &g.LogUnknownVRIDs })),
		impl("vmac_prefix", "prefix of generated VMAC interface names", "vrrp", gStr(func(g *gd) *string { return &g.VMACPrefix })),
		impl("script_user", "default user [group] to run scripts as", "keepalived_script, else root", func(l *loader, n *syntax.Node, g *gd) {
			if !l.nargs(n, 1, 2) {
				return
			}
			g.ScriptUser = n.Args[0].Text
			if len(n.Args) > 1 {
				g.ScriptGroup = n.Args[1].Text
			}
		}),
		impl("enable_script_security", "refuse root scripts writable by non-root", "off", gFlag(func(g *gd) *bool { return &g.EnableScriptSecurity })),
		impl("notify_fifo", "FIFO for all notify events: FIFO [user [group]]", "", gFifo(func(g *gd) **Fifo { return &g.NotifyFifo })),
		impl("notify_fifo_script", "script reading notify_fifo", "", gFifoScript(func(g *gd) **Fifo { return &g.NotifyFifo })),
		impl("vrrp_notify_fifo", "FIFO for VRRP notify events", "", gFifo(func(g *gd) **Fifo { return &g.VRRPNotifyFifo })),
		impl("vrrp_notify_fifo_script", "script reading vrrp_notify_fifo", "", gFifoScript(func(g *gd) **Fifo { return &g.VRRPNotifyFifo })),
		impl("lvs_notify_fifo", "FIFO for checker notify events", "", gFifo(func(g *gd) **Fifo { return &g.LVSNotifyFifo })),
		impl("lvs_notify_fifo_script", "script reading lvs_notify_fifo", "", gFifoScript(func(g *gd) **Fifo { return &g.LVSNotifyFifo })),
		impl("lvs_sync_daemon", "IPVS connection sync daemon: IF [[inst] VRRP_INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group IP]", "", (*loader).lvsSyncDaemon),
		impl("lvs_flush", "flush IPVS at startup", "off", gFlag(func(g *gd) *bool { return &g.LVSFlush })),
		impl("lvs_flush_on_stop", "remove managed IPVS services at shutdown: [VS]", "off", func(l *loader, n *syntax.Node, g *gd) {
			l.nargs(n, 0, 1)
			g.LVSFlushOnStop = "RS"
			if len(n.Args) > 0 {
				switch n.Args[0].Text {
				case "VS":
					g.LVSFlushOnStop = "VS"
				case "RS":
				default:
					l.errf(n.Args[0].Pos, "invalid lvs_flush_on_stop option %q: want VS or RS", n.Args[0].Text)
				}
			}
		}),
		keyword[*gd]{name: "lvs_flush_onstop", meaning: "legacy name of lvs_flush_on_stop", status: parsed, aliasOf: "lvs_flush_on_stop", deprecated: true,
			fn: func(l *loader, n *syntax.Node, g *gd) { globalTable.index["lvs_flush_on_stop"].fn(l, n, g) }},
		impl("lvs_timeouts", "IPVS timeouts: [tcp SECS] [tcpfin SECS] [udp SECS]", "unchanged", (*loader).lvsTimeouts),
		impl("lvs_sloppy_tcp", "lvs-ha extension: net.ipv4.vs.sloppy_tcp, create IPVS connections from any TCP packet (a backup taking over mid-flow connections it has no sync entry for): [on|off]", "unchanged", gTriBool(func(g *gd) **bool { return &g.LVSSloppyTCP })),
		impl("lvs_sloppy_sctp", "lvs-ha extension: net.ipv4.vs.sloppy_sctp, create IPVS connections from any SCTP packet: [on|off]", "unchanged", gTriBool(func(g *gd) **bool { return &g.LVSSloppySCTP })),
		impl("lvs_sync_threshold", "lvs-ha extension: net.ipv4.vs.sync_threshold, THRESHOLD PERIOD: sync a connection at its THRESHOLDth packet and every PERIOD packets after (0 <= THRESHOLD < PERIOD, or PERIOD 0: once)", "unchanged (kernel: 3 50)", (*loader).lvsSyncThreshold),
		impl("lvs_sync_refresh_period", "lvs-ha extension: net.ipv4.vs.sync_refresh_period, seconds: resync a connection whose state did not change only when its timer moved this much (0: use lvs_sync_threshold)", "unchanged (kernel: 0)", func(l *loader, n *syntax.Node, g *gd) {
			if v, ok := l.uintArg(n, 0, maxSyncRefreshSecs); ok {
				s := int(v)
				g.LVSSyncRefreshPeriod = &s
			}
		}),
		impl("lvs_sync_retries", "lvs-ha extension: net.ipv4.vs.sync_retries, resends of a sync message every sync_refresh_period/8 (0..3)", "unchanged (kernel: 0)", func(l *loader, n *syntax.Node, g *gd) {
			if v, ok := l.uintArg(n, 0, 3); ok {
				r := int(v)
				g.LVSSyncRetries = &r
			}
		}),
		impl("lvs_sync_persist_mode", "lvs-ha extension: net.ipv4.vs.sync_persist_mode, sync persistent connections' templates and not their connections: [on|off]", "unchanged", gTriBool(func(g *gd) **bool { return &g.LVSSyncPersistMode })),
		impl("max_auto_priority", "maximum realtime priority raised automatically when late: [-1..99]", "0", func(l *loader, n *syntax.Node, g *gd) {
			if len(n.Args) == 0 {
				g.MaxAutoPriority = 99
				return
			}
			if v, ok := l.intArg(n, -1, 99); ok {
				g.MaxAutoPriority = int(v)
			}
		}),

		// accepted but not implemented
		ignored[*gd]("tmp_config_directory", "directory for the configuration copy"),
		ignored[*gd]("config_save_dir", "save configurations on reload"),
		ignored[*gd]("process_names", "default process names"),
		ignored[*gd]("process_name", "parent process name"),
		ignored[*gd]("vrrp_process_name", "VRRP process name"),
		ignored[*gd]("checker_process_name", "checker process name"),
		ignored[*gd]("lvs_process_name", "deprecated checker process name"),
		ignored[*gd]("bfd_process_name", "BFD process name"),
		ignored[*gd]("startup_script", "script run at startup"),
		ignored[*gd]("startup_script_timeout", "startup script timeout"),
		ignored[*gd]("shutdown_script", "script run at shutdown"),
		ignored[*gd]("shutdown_script_timeout", "shutdown script timeout"),
		ignored[*gd]("min_auto_priority_delay", "lateness that raises priority"),
		ignored[*gd]("vrrp_garp_extra_if", "periodic GARP on extra interfaces"),
		ignored[*gd]("vrrp_vmac_garp_intvl", "deprecated name of vrrp_garp_extra_if"),
		ignored[*gd]("vrrp_ipsets", "ipset names"),
		impl("nftables", "nftables table of the no_accept and VMAC rules: [TABLE]", "keepalived", func(l *loader, n *syntax.Node, g *gd) {
			if !l.nargs(n, 0, 1) || len(n.Args) == 0 {
				return
			}
			if !strictfw.ValidTable(n.Args[0].Text) { // the name strictfw writes unquoted
				l.errf(n.Args[0].Pos, "nftables: bad table name %q", n.Args[0].Text)
				return
			}
			g.Nftables = n.Args[0].Text
		}),
		impl("nftables_priority", "priority of the no_accept rules' chains", "-1", gInt(func(g *gd) *int { return &g.NftablesPriority }, -2147483648, 2147483647)),
		ignored[*gd]("nftables_ifindex", "nftables ifindex sets"),
		impl("nftables_counters", "counters on the no_accept rules", "off", gFlag(func(g *gd) *bool { return &g.NftablesCounters })),
		ignored[*gd]("nftables_ipvs", "nftables for virtual server groups"),
		ignored[*gd]("nftables_ipvs_priority", "nftables IPVS priority"),
		ignored[*gd]("nftables_ipvs_start_fwmark", "first fwmark for groups"),
		ignored[*gd]("disable_local_igmp", "disable IGMP link-local reports"),
		keyword[*gd]{name: "vrrp_priority", meaning: "VRRP process nice value", status: parsed, fn: func(l *loader, n *syntax.Node, g *gd) {
			if v, ok := l.intArg(n, -20, 19); ok {
				g.VRRPPriority = int(v)
			}
		}},
		keyword[*gd]{name: "vrrp_no_swap", meaning: "lock VRRP process memory", status: parsed, fn: gFlag(func(g *gd) *bool { return &g.VRRPNoSwap })},
		keyword[*gd]{name: "vrrp_rt_priority", meaning: "VRRP realtime priority", status: parsed, fn: func(l *loader, n *syntax.Node, g *gd) {
			// keepalived clamps to SCHED_RR's 1..99 with a warning.
			if v, ok := l.intArg(n, -1<<31, 1<<31-1); ok {
				switch {
				case v < 1:
					l.warnf(n.Keyword.Pos, "vrrp_rt_priority %d less than minimum 1 - setting to minimum", v)
					v = 1
				case v > 99:
					l.warnf(n.Keyword.Pos, "vrrp_rt_priority %d greater than maximum 99 - setting to maximum", v)
					v = 99
				}
				g.VRRPRTPriority = int(v)
			}
		}},
		impl("vrrp_sched_slice", "lvs-ha extension: microseconds, the fair scheduler's slice asked for the daemon's threads (EEVDF, Linux 6.12+; not realtime threads): a woken thread with a short slice runs before threads with longer ones, with no larger share of the CPU; 0: the kernel's default (100..100000)", "100", func(l *loader, n *syntax.Node, g *gd) {
			if v, ok := l.intArg(n, 0, 100000); ok {
				if v > 0 && v < 100 {
					l.errf(n.Args[0].Pos, "vrrp_sched_slice %d: want 0 (the kernel's default) or 100..100000 microseconds", v)
					return
				}
				us := int(v)
				g.VRRPSchedSlice = &us
			}
		}),
		ignored[*gd]("vrrp_cpu_affinity", "VRRP CPU affinity"),
		ignored[*gd]("vrrp_rlimit_rttime", "VRRP RLIMIT_RTTIME"),
		ignored[*gd]("vrrp_rlimit_rtime", "deprecated vrrp_rlimit_rttime"),
		ignored[*gd]("checker_priority", "checker process nice value"),
		ignored[*gd]("checker_no_swap", "lock checker process memory"),
		ignored[*gd]("checker_rt_priority", "checker realtime priority"),
		ignored[*gd]("checker_cpu_affinity", "checker CPU affinity"),
		ignored[*gd]("checker_rlimit_rttime", "checker RLIMIT_RTTIME"),
		ignored[*gd]("checker_rlimit_rtime", "deprecated checker_rlimit_rttime"),
		ignored[*gd]("bfd_priority", "BFD process nice value"),
		ignored[*gd]("bfd_no_swap", "lock BFD process memory"),
		ignored[*gd]("bfd_rt_priority", "BFD realtime priority"),
		ignored[*gd]("bfd_cpu_affinity", "BFD CPU affinity"),
		ignored[*gd]("bfd_rlimit_rttime", "BFD RLIMIT_RTTIME"),
		ignored[*gd]("bfd_rlimit_rtime", "deprecated bfd_rlimit_rttime"),
		ignored[*gd]("snmp_socket", "SNMP agentx socket"),
		ignored[*gd]("enable_traps", "SNMP traps"),
		ignored[*gd]("enable_snmp_vrrp", "SNMP VRRP MIB"),
		ignored[*gd]("enable_snmp_keepalived", "deprecated enable_snmp_vrrp"),
		ignored[*gd]("enable_snmp_rfc", "SNMP RFC VRRP MIBs"),
		ignored[*gd]("enable_snmp_rfcv2", "SNMP RFC2787 MIB"),
		ignored[*gd]("enable_snmp_rfcv3", "SNMP RFC6527 MIB"),
		ignored[*gd]("enable_snmp_checker", "SNMP checker MIB"),
		ignored[*gd]("enable_dbus", "DBus interface"),
		ignored[*gd]("dbus_service_name", "DBus service name"),
		ignored[*gd]("vrrp_netlink_cmd_rcv_bufs", "netlink buffer size"),
		ignored[*gd]("vrrp_netlink_cmd_rcv_bufs_force", "netlink buffer force"),
		ignored[*gd]("vrrp_netlink_monitor_rcv_bufs", "netlink buffer size"),
		ignored[*gd]("vrrp_netlink_monitor_rcv_bufs_force", "netlink buffer force"),
		ignored[*gd]("lvs_netlink_cmd_rcv_bufs", "netlink buffer size"),
		ignored[*gd]("lvs_netlink_cmd_rcv_bufs_force", "netlink buffer force"),
		ignored[*gd]("lvs_netlink_monitor_rcv_bufs", "netlink buffer size"),
		ignored[*gd]("lvs_netlink_monitor_rcv_bufs_force", "netlink buffer force"),
		ignored[*gd]("process_monitor_rcv_bufs", "process monitor buffer size"),
		ignored[*gd]("process_monitor_rcv_bufs_force", "process monitor buffer force"),
		impl("fifo_write_vrrp_states_on_reload", "write states to FIFOs on reload", "off", gFlag(func(g *gd) *bool { return &g.FIFOWriteVRRPStatesOnReload })),
		ignored[*gd]("vrrp_rx_bufs_policy", "socket receive buffer policy"),
		ignored[*gd]("vrrp_rx_bufs_multiplier", "socket receive buffer multiplier"),
		impl("vmac_addr_prefix", "prefix of generated use_vmac_addr / per-VIP use_vmac VMAC names", "vmac_prefix", gStr(func(g *gd) *string { return &g.VMACAddrPrefix })),
		ignored[*gd]("umask", "file creation mask"),
		ignored[*gd]("random_seed", "seed for ${_RANDOM}"),
		ignored[*gd]("reload_check_config", "check configuration before reload"),
		ignored[*gd]("reload_time_file", "scheduled reloads"),
		ignored[*gd]("reload_repeat", "repeat scheduled reloads"),
		ignored[*gd]("reload_file", "reload-in-progress file"),
		ignored[*gd]("include_check", "errors for missing include files"),
		ignored[*gd]("data_use_instance", "instance name in .data files"),
		ignored[*gd]("linkbeat_use_polling", "poll interfaces for link state"),
		ignored[*gd]("net_namespace", "run in a network namespace"),
		ignored[*gd]("net_namespace_ipvs", "IPVS network namespace"),
		ignored[*gd]("namespace_with_ipsets", "allow ipsets with a namespace"),
		ignored[*gd]("use_pid_dir", "pid files in /run/keepalived"),
		ignored[*gd]("instance", "instance name for pid files"),
		ignored[*gd]("child_wait_time", "time allowed for children to exit"),
	}, globalKeywords24()...))
}

// gSecsMin1 reads whole seconds up to maxSecs: keepalived turns 0 into 1
// with a warning (smtp_connect_timeout).
func gSecsMin1(f func(*gd) *Duration) func(*loader, *syntax.Node, *gd) {
	return func(l *loader, n *syntax.Node, g *gd) {
		v, ok := l.uintArg(n, 0, maxSecs)
		if !ok {
			return
		}
		if v == 0 {
			l.warnf(n.Args[0].Pos, "%s must be greater than 0, setting to 1", n.Keyword.Text)
			v = 1
		}
		*f(g) = seconds(int(v))
	}
}

// gRepeat reads a repeat count (keepalived: 0..UINT_MAX) and turns 0 into 1
// with a warning, as keepalived does.
func gRepeat(f func(*gd) *int) func(*loader, *syntax.Node, *gd) {
	return func(l *loader, n *syntax.Node, g *gd) {
		v, ok := l.uintArg(n, 0, math.MaxUint32)
		if !ok {
			return
		}
		if v == 0 {
			l.warnf(n.Args[0].Pos, "%s must be greater than 0, setting to 1", n.Keyword.Text)
			v = 1
		}
		*f(g) = int(v)
	}
}

// maxSyncRefreshSecs is the largest net.ipv4.vs.sync_refresh_period the
// kernel's proc_dointvec_jiffies stores with HZ 1000 (INT_MAX jiffies).
const maxSyncRefreshSecs = math.MaxInt32 / 1000

// lvsSyncThreshold is lvs_sync_threshold THRESHOLD PERIOD, validated as the
// kernel's proc_do_sync_threshold does: both >= 0 and THRESHOLD < PERIOD
// unless PERIOD is 0.
func (l *loader) lvsSyncThreshold(n *syntax.Node, g *gd) {
	if !l.nargs(n, 2, 2) {
		return
	}
	t, ok1 := l.uint(n.Args[0], "lvs_sync_threshold threshold", 0, math.MaxInt32)
	p, ok2 := l.uint(n.Args[1], "lvs_sync_threshold period", 0, math.MaxInt32)
	if !ok1 || !ok2 {
		return
	}
	if p != 0 && t >= p {
		l.errf(n.Args[0].Pos, "lvs_sync_threshold %d %d: the threshold must be less than the period (or the period 0), as the kernel requires", t, p)
		return
	}
	g.LVSSyncThreshold = &[2]int{int(t), int(p)}
}

func (l *loader) lvsSyncDaemon(n *syntax.Node, g *gd) {
	if g.LVSSyncDaemon != nil {
		l.errf(n.Keyword.Pos, "lvs_sync_daemon already specified at %s", g.LVSSyncDaemon.Pos)
		return
	}
	if !l.nargs(n, 1, -1) {
		return
	}
	s := &LVSSyncDaemon{Interface: n.Args[0].Text, Pos: n.Keyword.Pos}
	if len(s.Interface) >= 16 {
		l.errf(n.Args[0].Pos, "lvs_sync_daemon interface name %q too long", s.Interface)
		return
	}
	args := n.Args[1:]
	for i := 0; i < len(args); i++ {
		opt := args[i]
		val := func() (syntax.Word, bool) {
			if i+1 >= len(args) {
				l.errf(opt.Pos, "lvs_sync_daemon %s needs a value", opt.Text)
				return syntax.Word{}, false
			}
			i++
			return args[i], true
		}
		switch opt.Text {
		case "inst":
			if w, ok := val(); ok {
				s.VRRPInstance = w.Text
			}
		case "id":
			if w, ok := val(); ok {
				if v, ok := l.uint(w, "lvs_sync_daemon id", 0, 255); ok {
					id := int(v)
					s.SyncID = &id
				}
			}
		case "maxlen":
			if w, ok := val(); ok {
				if v, ok := l.uint(w, "lvs_sync_daemon maxlen", 1, 65535-20-8); ok {
					s.MaxLen = int(v)
				}
			}
		case "port":
			if w, ok := val(); ok {
				if v, ok := l.port(w, "lvs_sync_daemon port", 1); ok {
					s.Port = v
				}
			}
		case "ttl":
			if w, ok := val(); ok {
				if v, ok := l.uint(w, "lvs_sync_daemon ttl", 1, 255); ok {
					s.TTL = int(v)
				}
			}
		case "group":
			if w, ok := val(); ok {
				if a, ok := l.ip(w, "lvs_sync_daemon group"); ok {
					if !a.IsMulticast() {
						l.errf(w.Pos, "lvs_sync_daemon group %q is not a multicast address", w.Text)
					} else {
						s.Group = a
					}
				}
			}
		default:
			if i == 0 { // backward compatible: the instance without "inst"
				s.VRRPInstance = opt.Text
				continue
			}
			l.errf(opt.Pos, "unknown lvs_sync_daemon option %q", opt.Text)
		}
	}
	g.LVSSyncDaemon = s
	l.syncdPos = n.Keyword.Pos
}

func (l *loader) lvsTimeouts(n *syntax.Node, g *gd) {
	if !l.nargs(n, 2, -1) {
		return
	}
	t := &LVSTimeouts{}
	for i := 0; i < len(n.Args); i += 2 {
		opt := n.Args[i]
		if i+1 >= len(n.Args) {
			l.errf(opt.Pos, "lvs_timeouts %s needs a value", opt.Text)
			break
		}
		v, ok := l.uint(n.Args[i+1], "lvs_timeouts "+opt.Text, 0, 86400*31)
		if !ok {
			continue
		}
		d := seconds(int(v))
		switch opt.Text {
		case "tcp":
			t.TCP = &d
		case "tcpfin":
			t.TCPFin = &d
		case "udp":
			t.UDP = &d
		default:
			l.errf(opt.Pos, "unknown lvs_timeouts option %q: want tcp, tcpfin or udp", opt.Text)
		}
	}
	g.LVSTimeouts = t
}

// finishGlobals resolves globals that default to other globals.
func (l *loader) finishGlobals() {
	g := &l.cfg.Global
	if g.VRRPMinGarp {
		// keepalived: one GARP, no repeats, unless set explicitly (we cannot
		// tell explicit defaults apart, like keepalived).
		if g.VRRPGarpMasterRepeat == 5 {
			g.VRRPGarpMasterRepeat = 1
		}
		if g.VRRPGarpMasterRefreshRepeat == 1 {
			g.VRRPGarpMasterRefreshRepeat = 0
		}
		if g.VRRPGarpMasterDelay == seconds(5) {
			g.VRRPGarpMasterDelay = 0
		}
	}
	if g.VRRPGarpLowerPrioDelay < 0 {
		g.VRRPGarpLowerPrioDelay = g.VRRPGarpMasterDelay
	}
	if g.VRRPGarpLowerPrioRepeat < 0 {
		g.VRRPGarpLowerPrioRepeat = g.VRRPGarpMasterRepeat
	}
	if g.VRRPStrict {
		g.VRRPLowerPrioNoAdvert = true
	}
}

package conf

import "github.com/lvs-ha/lvs-ha/conf/syntax"

// Keywords keepalived added in 2.3 and 2.4 (and its master since), which
// users copy from the current keepalived.conf(5). The ones lvs-ha acts on
// are parsed (their status comes from evidence.go); the others are accepted
// with a warning at their location saying why they have no effect.

// ignoredWhy is ignored with the reason its warning gives.
func ignoredWhy[T any](name, meaning, note string) keyword[T] {
	k := ignored[T](name, meaning)
	k.note = note
	return k
}

// refusedWhy is an error with the reason: lvs-ha cannot do what the
// keyword asks, and running without it would break the pair.
func refusedWhy[T any](name, meaning, note string) keyword[T] {
	k := ignoredWhy[T](name, meaning, note)
	k.status = Refused
	return k
}

const (
	noteJSONDump = "lvs-ha has no keepalived JSON dump signal; SIGUSR1 writes lvs-ha's own JSON state dump (state_dump_file, else -dump-file)"
)

// globalKeywords24 are the global_defs keywords of keepalived 2.3/2.4.
func globalKeywords24() []keyword[*gd] {
	return []keyword[*gd]{
		impl("state_dump_file", "file SIGUSR1 writes the state dump to (keepalived 2.3.4)", "-dump-file (/tmp/lvs-ha.state)", func(l *loader, n *syntax.Node, g *gd) {
			if !l.nargs(n, 1, 1) {
				return
			}
			if n.Args[0].Text == "" {
				l.errf(n.Keyword.Pos, "state_dump_file requires a non-empty path")
				return
			}
			g.StateDumpFile = n.Args[0].Text
		}),
		ignoredWhy[*gd]("json_dump_file", "file of the JSON dump (keepalived 2.3.4)", noteJSONDump),
		ignoredWhy[*gd]("json_version", "JSON dump format version (keepalived 2.3)", noteJSONDump),
		ignoredWhy[*gd]("stats_dump_file", "file SIGUSR2 writes statistics to (keepalived 2.3.4)",
			"lvs-ha writes no statistics file on SIGUSR2; its counters are on /metrics and in the SIGUSR1 state dump"),
		impl("vrrp_owner_ignore_adverts", "default of vrrp_instance owner_ignore_adverts (keepalived 2.3.4)", "off", gBool(func(g *gd) *bool { return &g.VRRPOwnerIgnoreAdverts })),
		impl("vrrp_delay_after_boot", "VRRP instances start no earlier than this many seconds after boot; the longer of it and vrrp_startup_delay applies (keepalived 2.4)", "0", gTimer(func(g *gd) *Duration { return &g.VRRPDelayAfterBoot }, 0, seconds(maxSecs))),
		impl("v3_checksum_as_v2", "default of vrrp_instance v3_checksum_as_v2 (keepalived 2.3; there it only shows in SNMP)", "off", gBool(func(g *gd) *bool { return &g.VRRPV3ChecksumAsV2 })),
		ignoredWhy[*gd]("iproute_usr_dir", "iproute2 configuration directory under /usr (keepalived 2.3.4)",
			"lvs-ha does not read iproute2's configuration directories"),
		ignoredWhy[*gd]("iproute_etc_dir", "iproute2 configuration directory under /etc (keepalived 2.3.4)",
			"lvs-ha does not read iproute2's configuration directories"),
		ignoredWhy[*gd]("dbus_no_interface_name", "DBus name for no interface (keepalived 2.3)", "lvs-ha has no DBus interface"),
		ignoredWhy[*gd]("snmp_vs_stats_update_interval", "SNMP virtual server statistics refresh (keepalived 2.3)",
			"lvs-ha has no SNMP agent; IPVS statistics are on /metrics"),
		ignoredWhy[*gd]("snmp_rs_stats_update_interval", "SNMP real server statistics refresh (keepalived 2.3)",
			"lvs-ha has no SNMP agent; IPVS statistics are on /metrics"),
		ignoredWhy[*gd]("use_symlink_paths", "keep symlinks in script paths (keepalived 2.3)",
			"lvs-ha runs scripts by the path given; enable_script_security still checks the resolved path"),
		ignoredWhy[*gd]("set_supplementary_groups", "scripts get script_user's supplementary groups (keepalived after 2.4.3)",
			"scripts run with script_user's user and group only, keepalived's default"),
	}
}

// instanceKeywords24 are the vrrp_instance keywords of keepalived 2.3/2.4.
func instanceKeywords24() []keyword[*vi] {
	return []keyword[*vi]{
		impl("no_virtual_ipaddress", "the instance has no VIPs on purpose (floating addresses managed elsewhere): no warning, and VRRPv3 adverts without addresses, which RFC 5798 does not allow (keepalived 2.3)", "off",
			func(l *loader, n *syntax.Node, v *vi) { v.NoVirtualIPAddress = l.flag(n) }),
		impl("owner_ignore_adverts", "with priority 255, drop every received advert (keepalived 2.3.4)", "global vrrp_owner_ignore_adverts", viTriBool(func(v *vi) **bool { return &v.ownerIgnoreAdverts })),
		impl("v3_checksum_as_v2", "send VRRPv3 IPv4 checksums without the pseudo-header, as RFC 9568 (keepalived 2.3)", "global v3_checksum_as_v2", viTriBool(func(v *vi) **bool { return &v.v3ChecksumAsV2 })),
		ignoredWhy[*vi]("timer_expired_backup", "nopreempt: back to BACKUP when this node ran late (keepalived 2.3)",
			"lvs-ha does not watch its own scheduling lateness; a MASTER leaves only on a higher-priority advert"),
		ignoredWhy[*vi]("thread_timer_expired", "name of timer_expired_backup in keepalived 2.3.4's release notes",
			"lvs-ha does not watch its own scheduling lateness; a MASTER leaves only on a higher-priority advert"),
		refusedWhy[*vi]("auth_hmac", "HMAC-signed adverts: key, active_key, time_window, anti_replay, mode (keepalived 2.4)",
			"lvs-ha cannot sign or check adverts with an HMAC, so a keepalived peer with auth_hmac would drop its adverts and both could become MASTER (refused rather than ignored, like auth_type AH)"),
	}
}

// sslGetKeywords24 are the SSL_GET keywords of keepalived 2.3 (sni_name,
// added to HTTP_GET and SSL_GET alike, is in httpExtra).
func sslGetKeywords24() []keyword[*Checker] {
	return []keyword[*Checker]{
		ignoredWhy[*Checker]("tls_compliant", "send a TLS close_notify alert (keepalived 2.3)", noteTLSCompliant),
	}
}

const noteTLSCompliant = "lvs-ha's TLS client (Go's crypto/tls) sends close_notify when it closes a connection, which is what tls_compliant asks for"

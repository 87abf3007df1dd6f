package conf

import (
	"fmt"
	"sort"
	"strings"
)

// blockOrder is the order of blocks in the keyword reference, with the
// heading each is shown under.
var blockOrder = []struct{ block, heading string }{
	{rootBlock, "Top level"},
	{"global_defs", "global_defs"},
	{"vrrp_script", "vrrp_script NAME"},
	{"track_file", "track_file NAME (vrrp_track_file NAME)"},
	{"vrrp_track_process", "vrrp_track_process NAME"},
	{"vrrp_instance", "vrrp_instance NAME"},
	{"authentication", "vrrp_instance → authentication"},
	{"vrrp_sync_group", "vrrp_sync_group NAME"},
	{"virtual_server", "virtual_server IP [PORT] | fwmark N | group NAME"},
	{"real_server", "virtual_server → real_server IP [PORT]"},
	{"TCP_CHECK", "real_server → TCP_CHECK"},
	{"HTTP_GET", "real_server → HTTP_GET"},
	{"SSL_GET", "real_server → SSL_GET"},
	{"url", "HTTP_GET / SSL_GET → url"},
	{"SMTP_CHECK", "real_server → SMTP_CHECK"},
	{"host", "SMTP_CHECK → host (deprecated)"},
	{"DNS_CHECK", "real_server → DNS_CHECK"},
	{"MISC_CHECK", "real_server → MISC_CHECK"},
	{"UDP_CHECK", "real_server → UDP_CHECK"},
	{"PING_CHECK", "real_server → PING_CHECK"},
	{"SSL", "SSL (top level)"},
	{"bgp_speaker", "bgp_speaker (top level, lvs-ha extension)"},
	{"neighbor", "bgp_speaker → neighbor ADDR"},
}

// Keywords lists every keyword lvs-ha accepts, block by block (in the order
// of the reference documentation), keywords sorted within a block.
func Keywords() []KeywordInfo {
	byBlock := map[string][]KeywordInfo{}
	for _, t := range registry {
		for _, k := range t.info() {
			byBlock[k.Block] = append(byBlock[k.Block], k)
		}
	}
	var out []KeywordInfo
	for _, b := range blockOrder {
		ks := byBlock[b.block]
		sort.SliceStable(ks, func(i, j int) bool { return ks[i].Keyword < ks[j].Keyword })
		out = append(out, ks...)
		delete(byBlock, b.block)
	}
	if len(byBlock) != 0 {
		panic(fmt.Sprintf("conf: blocks missing from blockOrder: %v", byBlock))
	}
	return out
}

const docHeader = `# keepalived.conf keywords supported by lvs-ha

<!-- Generated from the keyword tables in conf/ by
     go test ./conf -run TestKeywordDoc -update
     Do not edit by hand. -->

lvs-ha reads keepalived.conf as specified by keepalived 2.2.7's
keepalived.conf(5). The preprocessor (include, @ID conditionals, $VARIABLES,
~SEQ/~LST) is described there too and is implemented by conf/syntax.

**Status** of a keyword:

- **works** — the keyword has its keepalived run-time effect in lvs-ha. Each
  such keyword names, in conf/evidence.go, the model field the daemon reads
  and the tests that show its effect; a test fails when the field is read
  nowhere outside conf or a named test does not exist.
- **warned** — accepted, but lvs-ha does not do what keepalived does with it:
  ` + "`check-config`" + ` and ` + "`run`" + ` say "KEYWORD is not supported by lvs-ha (ignored)"
  at its FILE:LINE:COL (sometimes with what is and is not done), and the
  metric ` + "`lvs_ha_config_unsupported_keywords`" + ` counts its uses. Its value
  is still checked when lvs-ha knows its syntax; a block is dropped with
  everything inside it.
- **refused** — using the keyword is an error, where running without it
  would break the pair (` + "`auth_hmac`" + `); values are refused for the
  same reason, e.g. ` + "`auth_type AH`" + `.

A **legacy** keyword is an older name mapped to its current meaning (for
example ` + "`lb_algo`" + ` → ` + "`lvs_sched`" + `, ` + "`lb_kind`" + ` → ` + "`lvs_method`" + `,
` + "`nb_get_retry`" + `/` + "`nb_sock_retry`" + ` → ` + "`retry`" + `); the deprecated ones draw a warning, as in keepalived.

## Diagnostics

Every problem is reported as ` + "`FILE:LINE:COL: message`" + ` (warnings say
` + "`warning:`" + `), at the offending word. ` + "`lvs-ha check-config`" + ` exits 1 if there is
any error.

- **Errors**: syntax errors (unbalanced braces, unterminated quotes, include
  cycles), unknown top-level blocks or keywords, values that do not
  parse or are out of range (virtual_router_id and priority 1-255, advert_int
  0.01-255 s, ports, weights...: keepalived 2.2.7's ranges), bad IP addresses or prefixes, addresses of
  the wrong family (VIPs, unicast peers, real servers), unknown schedulers
  (rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos) and forwarding
  methods (NAT DR TUN), a vrrp_instance without virtual_router_id or without
  interface (keepalived derives it from unicast_src_ip; lvs-ha does not), two instances with the same
  VRID, family and interface (and multicast group, or overlapping unicast
  peers), references to nothing (track_script, vrrp_sync_group members,
  virtual_server group, lvs_sync_daemon instance), duplicate names
  (vrrp_instance, vrrp_script, vrrp_sync_group, virtual_server_group) and
  duplicate virtual or real servers, checkers without their required parts
  (HTTP_GET/SSL_GET without url, MISC_CHECK without misc_path).
  keepalived reports most of these as configuration errors and drops the
  offending item; lvs-ha refuses the configuration instead. ` + "`check-config`" + `
  then builds what ` + "`run`" + ` and a SIGHUP reload build (every component's
  options, regexes compiled, scripts and addresses resolved) without touching
  the system, so it refuses whatever ` + "`run`" + ` would refuse, at the
  offending object. A missing include file is a warning (keepalived logs it
  and goes on) unless includem/includew/includea/includeb or include_check
  ask for it.
- **Warnings**: unknown keywords inside blocks, warned keywords,
  deprecated keywords, and every case where keepalived silently corrects a
  setting (lvs-ha makes the same correction): e.g. nopreempt or preempt_delay
  with state MASTER (keepalived 2.2.7 clears them and keeps the initial
  state MASTER), VRRPv2 advert_int rounded to whole
  seconds, VRRPv3 advert_int rounded to centiseconds or clamped to 40.95 s,
  strict-mode adjustments, a virtual_server without real_server, a
  virtual_server without protocol (UDP, as keepalived) or lvs_sched (wlc),
  tracking weights zeroed for sync group members and address owners.

An unknown top-level block is an error (keepalived only warns): a misspelt
block name would otherwise silently drop a whole part of the configuration.

## Defaults and the model

Defaults are keepalived's: advert_int 1, priority 100 (255 when state is
MASTER and no priority is given; state is MASTER when priority is 255),
VRRP version 2 (3 for IPv6), delay_loop 60, connect_timeout 5, retry 1
(DNS_CHECK 3, MISC_CHECK 0), delay_before_retry 1 (HTTP_GET/SSL_GET 3,
DNS_CHECK delay_loop), warmup = delay_loop, weight 1, quorum 1. Options of
a virtual_server are defaults for its real servers, whose options are
defaults for their checkers; the model holds resolved values.

In JSON, durations are seconds (numbers, microsecond resolution); in Go they
are ` + "`conf.Duration`" + ` (a ` + "`time.Duration`" + `). Addresses are strings.

Value blocks take one entry per line: ` + "`virtual_ipaddress`" + `,
` + "`virtual_ipaddress_excluded`" + `, ` + "`unicast_peer`" + `, ` + "`track_interface`" + `,
` + "`track_script`" + `, ` + "`notification_email`" + `, ` + "`group`" + ` (sync group members) and
` + "`virtual_server_group`" + ` entries (` + "`IP [PORT]`" + `, ` + "`IP-LAST [PORT]`" + `,
` + "`IP-IP [PORT]`" + `, ` + "`IP/LEN [PORT]`" + `, ` + "`fwmark N [inet|inet6]`" + `).
`

// KeywordDoc renders the keyword reference (docs/config.md).
func KeywordDoc() string {
	var b strings.Builder
	b.WriteString(docHeader)
	ks := Keywords()
	for _, blk := range blockOrder {
		fmt.Fprintf(&b, "\n## %s\n\n", blk.heading)
		b.WriteString("| Keyword | Meaning | Default | Status |\n|---|---|---|---|\n")
		for _, k := range ks {
			if k.Block != blk.block {
				continue
			}
			name := "`" + k.Keyword + "`"
			if k.OpensBlock {
				name += " `{…}`"
			}
			meaning := k.Meaning
			status := string(k.Status)
			if k.AliasOf != "" {
				status += " (legacy name of `" + k.AliasOf + "`)"
			}
			if k.Note != "" {
				status += ": " + k.Note
			}
			if k.Deprecated {
				status += ", deprecated"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, mdEscape(meaning), mdEscape(k.Default), status)
		}
	}
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}

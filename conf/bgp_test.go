package conf

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
)

const bgpSpeakerSrc = `bgp_speaker {
    router_id 10.251.0.11
    local_as 65101
    neighbor 10.251.0.1 {
        remote_as 65000
        hold_time 9
        bfd min_tx 100 multiplier 5
        port 1179
        password "s3cret"
        passive
        ebgp_multihop
        local_address 10.251.0.11
    }
    neighbor 2001:db8::1 {
        remote_as 65000
        ebgp_multihop 4
    }
    announce_delay 1.5
    drain_time 5
}
`

// bgpVS is a DR virtual server on 10.251.9.1:80 with lb_algo algo, three
// real servers and the given bgp_announce line.
func bgpVS(algo, announce string) string {
	return "virtual_server 10.251.9.1 80 {\n    lb_algo " + algo + "\n    lb_kind DR\n    protocol TCP\n    " + announce + "\n" +
		"    real_server 10.251.2.1 80 {\n    }\n    real_server 10.251.2.2 80 {\n    }\n    real_server 10.251.2.3 80 {\n    }\n}\n"
}

func TestBGPSpeakerParse(t *testing.T) {
	cfg, ds := loadSrc(t, "bgp.conf", "global_defs {\n    lvs_sloppy_tcp\n}\n"+bgpSpeakerSrc+bgpVS("mh", "bgp_announce min_healthy 2"))
	if len(ds) != 0 {
		t.Fatalf("diagnostics:\n%s", dump(ds))
	}
	b := cfg.BGPSpeaker
	if b == nil {
		t.Fatal("no BGPSpeaker")
	}
	if b.RouterID != netip.MustParseAddr("10.251.0.11") || b.LocalAS != 65101 || b.AnnounceDelay.Std() != 1500*time.Millisecond || b.DrainTime.Std() != 5*time.Second || b.RouteOnly != "" {
		t.Errorf("speaker = %+v", b)
	}
	if len(b.Neighbors) != 2 {
		t.Fatalf("neighbors = %d", len(b.Neighbors))
	}
	n := b.Neighbors[0]
	want := BGPNeighbor{Addr: netip.MustParseAddr("10.251.0.1"), RemoteAS: 65000, HoldTime: seconds(9), Port: 1179, Password: "s3cret",
		Passive: true, EBGPMultihop: 255, LocalAddress: netip.MustParseAddr("10.251.0.11"), Pos: n.Pos}
	bfd := n.BFD
	n2 := *n
	n2.BFD = nil
	if n2 != want {
		t.Errorf("neighbor = %+v, want %+v", n2, want)
	}
	if bfd == nil || *bfd != (BGPBFD{MinTx: Duration(100 * time.Millisecond), MinRx: Duration(DefaultBFDInterval), Multiplier: 5}) {
		t.Errorf("bfd = %+v", bfd)
	}
	if m := b.Neighbors[1]; m.Port != 179 || m.EBGPMultihop != 4 || m.BFD != nil || m.HoldTime != 0 {
		t.Errorf("second neighbor = %+v", m)
	}
	if a := cfg.VirtualServers[0].BGPAnnounce; a == nil || a.MinHealthy != 2 || a.Pos.Line != 28 {
		t.Errorf("bgp_announce = %+v", a)
	}
}

func TestBGPSpeakerDefaults(t *testing.T) {
	cfg, ds := loadSrc(t, "bgp.conf", "global_defs {\n    lvs_sloppy_tcp\n}\nbgp_speaker {\n    route_only\n}\n"+bgpVS("mh", "bgp_announce"))
	if len(ds) == 1 && strings.Contains(ds[0].Msg, "route_only on lo") && ds[0].Pos.Line == 4 {
		ds = nil
	}
	if len(ds) != 0 {
		t.Fatalf("diagnostics:\n%s", dump(ds))
	}
	b := cfg.BGPSpeaker
	if b.RouteOnly != "lo" || b.AnnounceDelay.Std() != DefaultBGPAnnounceDelay || b.DrainTime.Std() != DefaultBGPDrainTime {
		t.Errorf("speaker = %+v", b)
	}
	if a := cfg.VirtualServers[0].BGPAnnounce; a == nil || a.MinHealthy != 1 {
		t.Errorf("bgp_announce = %+v", a)
	}
}

// TestBGPErrors: every bad value or combination is a diagnostic at the
// line marked "# <--" (col 0: any column).
func TestBGPErrors(t *testing.T) {
	sp := func(body string) string { return "bgp_speaker {\n" + body + "\n}\n" }
	nb := func(body string) string {
		return sp("    router_id 10.0.0.1\n    local_as 65001\n    neighbor 10.0.0.2 {\n        remote_as 65000\n" + body + "\n    }")
	}
	mh := bgpVS("mh", "bgp_announce")
	tests := []struct {
		name, src, msg string
		sev            syntax.Severity
	}{
		{"router_id v6", sp("    router_id ::1 # <--\n    route_only"), "invalid router_id", syntax.Error},
		{"router_id junk", sp("    router_id x # <--\n    route_only"), "not an IP address", syntax.Error},
		{"local_as 0", sp("    local_as 0 # <--\n    route_only"), "invalid local_as", syntax.Error},
		{"local_as too big", sp("    local_as 4294967296 # <--\n    route_only"), "invalid local_as", syntax.Error},
		{"no router_id", "bgp_speaker { # <--\n    local_as 1\n    neighbor 10.0.0.2 {\n        remote_as 2\n    }\n}\n", "needs router_id", syntax.Error},
		{"no neighbor", "bgp_speaker { # <--\n    local_as 1\n    router_id 1.1.1.1\n}\n", "has no neighbor", syntax.Error},
		{"neighbor no remote_as", sp("    router_id 10.0.0.1\n    local_as 65001\n    neighbor 10.0.0.2 { # <--\n    }"), "needs remote_as", syntax.Error},
		{"neighbor dup", sp("    router_id 10.0.0.1\n    local_as 65001\n    neighbor 10.0.0.2 {\n        remote_as 1\n    }\n    neighbor 10.0.0.2 { # <--\n        remote_as 1\n    }"), "duplicate neighbor", syntax.Error},
		{"hold_time 2", nb("        hold_time 2 # <--"), "invalid hold_time", syntax.Error},
		{"hold_time junk", nb("        hold_time 9s # <--"), "invalid hold_time", syntax.Error},
		{"bfd unknown", nb("        bfd min_tx 10 fast 1 # <--"), "unknown bfd option", syntax.Error},
		{"bfd no value", nb("        bfd min_rx # <--"), "needs a value", syntax.Error},
		{"bfd zero", nb("        bfd min_rx 0 # <--"), "invalid bfd min_rx", syntax.Error},
		{"bfd multiplier", nb("        bfd multiplier 256 # <--"), "invalid bfd multiplier", syntax.Error},
		{"port 0", nb("        port 0 # <--"), "invalid port", syntax.Error},
		{"ebgp_multihop 0", nb("        ebgp_multihop 0 # <--"), "invalid ebgp_multihop", syntax.Error},
		{"password long", nb("        password " + strings.Repeat("x", 81) + " # <--"), "longer than 80", syntax.Error},
		{"local_address family", sp("    router_id 10.0.0.1\n    local_as 65001\n    neighbor 10.0.0.2 { # <--\n        remote_as 1\n        local_address ::1\n    }"), "other address family", syntax.Error},
		{"announce_delay", sp("    route_only\n    announce_delay -1 # <--"), "invalid announce_delay", syntax.Error},
		{"drain_time", sp("    route_only\n    drain_time 7200 # <--"), "invalid drain_time", syntax.Error},
		{"route_only long", sp("    route_only abcdefghijklmnopq # <--"), "too long", syntax.Error},
		{"twice", sp("    route_only") + "bgp_speaker { # <--\n    route_only\n}\n", "already specified", syntax.Error},
		{"unknown keyword", sp("    route_only\n    med 5 # <--"), `unknown keyword "med"`, syntax.Warning},
		{"announce without speaker", strings.Replace(mh, "bgp_announce", "bgp_announce # <--", 1), "without a bgp_speaker", syntax.Error},
		{"announce NAT", sp("    route_only") + strings.Replace(strings.Replace(bgpVS("mh", "bgp_announce # <--"), "lb_kind DR", "lb_kind NAT", 1), "10.251.2.1 80 {", "10.251.2.1 80 {\n        lvs_method NAT", 1), "lb_kind NAT", syntax.Error},
		{"announce NAT default", sp("    route_only") + strings.Replace(bgpVS("mh", "bgp_announce # <--"), "    lb_kind DR\n", "", 1), "lb_kind NAT", syntax.Error},
		{"announce wlc no sync", sp("    route_only") + bgpVS("wlc", "bgp_announce # <--"), "no lvs_sync_daemon", syntax.Warning},
		{"announce fwmark", sp("    route_only") + "virtual_server fwmark 5 {\n    lb_algo mh\n    lb_kind DR\n    bgp_announce # <--\n    real_server 10.0.0.9 80 {\n    }\n}\n", "fwmark virtual server has none", syntax.Error},
		{"min_healthy 0", sp("    route_only") + bgpVS("mh", "bgp_announce min_healthy 0 # <--"), "invalid bgp_announce min_healthy", syntax.Error},
		{"min_healthy junk", sp("    route_only") + bgpVS("mh", "bgp_announce min_healty 2 # <--"), "unknown bgp_announce option", syntax.Error},
		{"min_healthy missing", sp("    route_only") + bgpVS("mh", "bgp_announce min_healthy # <--"), "needs a value", syntax.Error},
		{"route_only lo", "bgp_speaker { # <--\n    route_only lo\n}\n", "route_only on lo", syntax.Warning},
		{"no sloppy_tcp", sp("    route_only") + bgpVS("mh", "bgp_announce # <--"), "without lvs_sloppy_tcp on", syntax.Warning},
		{"min_healthy unreachable", sp("    route_only") + bgpVS("mh", "bgp_announce min_healthy 4 # <--"), "never announced", syntax.Warning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := loadSrc(t, "bgp.conf", tt.src)
			line := markerLine(t, tt.src)
			for _, d := range ds {
				if d.Severity == tt.sev && strings.Contains(d.Msg, tt.msg) {
					if d.Pos.Line != line || d.Pos.File != "bgp.conf" {
						t.Fatalf("%q at %s, want line %d", d.Msg, d.Pos, line)
					}
					return
				}
			}
			t.Fatalf("no %v containing %q; got:\n%s", tt.sev, tt.msg, dump(ds))
		})
	}
}

// TestBGPAnnounceHashingWithSync: a non-hashing scheduler is fine with
// lvs_sync_daemon, and a hashing one without.
func TestBGPAnnounceHashingWithSync(t *testing.T) {
	for _, src := range []string{
		"global_defs {\n    lvs_sync_daemon eth0 id 1\n    lvs_sloppy_tcp\n}\nbgp_speaker {\n    route_only\n}\n" + bgpVS("wlc", "bgp_announce"),
		"global_defs {\n    lvs_sloppy_tcp on\n}\nbgp_speaker {\n    route_only\n}\n" + bgpVS("sh", "bgp_announce"),
	} {
		_, ds := loadSrc(t, "bgp.conf", src)
		for _, d := range ds {
			if strings.Contains(d.Msg, "bgp_announce") {
				t.Errorf("unexpected %s", d)
			}
		}
	}
}

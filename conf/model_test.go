package conf

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvs-ha/lvs-ha/conf/syntax"
)

var update = flag.Bool("update", false, "rewrite golden files")

func mustLoad(t *testing.T, src string) (*Config, syntax.Diagnostics) {
	t.Helper()
	cfg, ds := loadSrc(t, "t.conf", src)
	if ds.HasErrors() {
		t.Fatalf("unexpected errors:\n%s", dump(ds))
	}
	return cfg, ds
}

func hasWarning(ds syntax.Diagnostics, line int, substr string) bool {
	for _, d := range ds {
		if d.Severity == syntax.Warning && (line == 0 || d.Pos.Line == line) && strings.Contains(d.Msg, substr) {
			return true
		}
	}
	return false
}

func TestInstanceDefaults(t *testing.T) {
	cfg, _ := mustLoad(t, inst("VI_1", instBody))
	v := cfg.VRRPInstances[0]
	g := cfg.Global
	checks := []struct {
		what      string
		got, want any
	}{
		{"state", v.State, StateBackup},
		{"priority", v.Priority, 100},
		{"advert_int", v.AdvertInt, Duration(time.Second)},
		{"version", v.Version, 2},
		{"family", v.Family, Inet},
		{"mcast_dst_ip", v.McastDstIP, netip.MustParseAddr("224.0.0.18")},
		{"accept", v.Accept, true},
		{"garp_master_delay", v.GarpMasterDelay, seconds(5)},
		{"garp_master_repeat", v.GarpMasterRepeat, 5},
		{"garp_lower_prio_delay", v.GarpLowerPrioDelay, seconds(5)},
		{"garp_master_refresh_repeat", v.GarpMasterRefreshRepeat, 1},
		{"down_timer_adverts", v.DownTimerAdverts, 3},
		{"smtp_alert", v.SMTPAlert, false},
		{"vip", v.VIPs[0].Addr, netip.MustParsePrefix("192.0.2.10/24")},
		{"global smtp_connect_timeout", g.SMTPConnectTimeout, seconds(30)},
		{"global vrrp_mcast_group6", g.VRRPMcastGroup6, netip.MustParseAddr("ff02::12")},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestMasterWithoutPriorityIsOwner(t *testing.T) {
	// keepalived: no priority + state MASTER => 255; priority 255 + no state => MASTER.
	cfg, _ := mustLoad(t, inst("A", "    state MASTER\n    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress {\n        192.0.2.1\n    }")+
		inst("B", "    priority 255\n    interface eth0\n    virtual_router_id 2\n    virtual_ipaddress {\n        192.0.2.2\n    }"))
	if a := cfg.VRRPInstances[0]; a.Priority != 255 || a.State != StateMaster {
		t.Errorf("A: priority %d state %s", a.Priority, a.State)
	}
	if b := cfg.VRRPInstances[1]; b.State != StateMaster {
		t.Errorf("B: state %s", b.State)
	}
}

func TestNopreemptWithMasterIsClearedWithWarning(t *testing.T) {
	// keepalived 2.2.7 (vrrp.c): "nopreempt will not work with initial state MASTER - clearing".
	src := inst("VI_1", instBody+"\n    state MASTER\n    nopreempt\n    preempt_delay 10")
	cfg, ds := mustLoad(t, src)
	v := cfg.VRRPInstances[0]
	if v.NoPreempt || v.PreemptDelay != 0 || v.State != StateMaster {
		t.Errorf("nopreempt %v preempt_delay %v state %s", v.NoPreempt, v.PreemptDelay, v.State)
	}
	if !hasWarning(ds, 9, "nopreempt will not work with initial state MASTER") || !hasWarning(ds, 10, "preempt_delay will not work") {
		t.Errorf("warnings:\n%s", dump(ds))
	}
}

func TestAdvertIntRounding(t *testing.T) {
	tests := []struct {
		version, in string
		want        Duration
		warn        bool
	}{
		{"2", "1", seconds(1), false},
		{"2", "2.5", seconds(3), true},
		{"2", "0.4", seconds(1), true},
		{"2", "255", seconds(255), false},
		{"3", "0.01", Duration(10 * time.Millisecond), false},
		{"3", "0.333", Duration(330 * time.Millisecond), true},
		{"3", "0.005", Duration(10 * time.Millisecond), false}, // below 0.01 is an error, see below
		{"3", "40.95", Duration(40950 * time.Millisecond), false},
		{"3", "100", Duration(40950 * time.Millisecond), true},
	}
	for _, tc := range tests {
		src := inst("VI_1", instBody+"\n    version "+tc.version+"\n    advert_int "+tc.in)
		cfg, ds := loadSrc(t, "t.conf", src)
		if tc.in == "0.005" {
			if !ds.HasErrors() {
				t.Errorf("advert_int 0.005 accepted")
			}
			continue
		}
		if ds.HasErrors() {
			t.Fatalf("%s: %s", tc.in, dump(ds))
		}
		if got := cfg.VRRPInstances[0].AdvertInt; got != tc.want {
			t.Errorf("v%s advert_int %s = %v, want %v", tc.version, tc.in, got, tc.want)
		}
		if w := hasWarning(ds, 9, "advert_int"); w != tc.warn {
			t.Errorf("v%s advert_int %s: warning %v, want %v\n%s", tc.version, tc.in, w, tc.warn, dump(ds))
		}
	}
}

func TestIPv6InstanceUsesVersion3(t *testing.T) {
	cfg, _ := mustLoad(t, inst("VI6", "    interface eth0\n    virtual_router_id 9\n    virtual_ipaddress {\n        fe80::1\n        2001:db8::1/64\n    }"))
	v := cfg.VRRPInstances[0]
	if v.Version != 3 || v.Family != Inet6 || v.McastDstIP != netip.MustParseAddr("ff02::12") {
		t.Errorf("version %d family %s mcast %s", v.Version, v.Family, v.McastDstIP)
	}
	if v.VIPs[0].PreferredLft == nil || *v.VIPs[0].PreferredLft != 0 || *v.VIPs[1].PreferredLft != 0xffffffff {
		t.Errorf("preferred_lft defaults wrong")
	}
}

func TestSameVRIDDifferentInterfaceOrFamilyIsFine(t *testing.T) {
	mustLoad(t, inst("A", instBody)+
		inst("B", strings.Replace(instBody, "eth0", "eth1", 1))+
		inst("C", "    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        2001:db8::1\n    }"))
}

func TestUnicast(t *testing.T) {
	cfg, _ := mustLoad(t, inst("U", instBody+"\n    unicast_src_ip 192.0.2.1\n    unicast_peer {\n        192.0.2.2\n        192.0.2.3 min_ttl 200 max_ttl 255\n    }"))
	v := cfg.VRRPInstances[0]
	if !v.Unicast || len(v.UnicastPeers) != 2 || v.McastDstIP.IsValid() || v.UnicastTTL != 255 || !v.CheckUnicastSrc {
		t.Errorf("%+v", v)
	}
	if p := v.UnicastPeers[1]; p.MinTTL != 200 || p.MaxTTL != 255 {
		t.Errorf("peer %+v", p)
	}
	// keepalived allows unicast without an interface when it can find the
	// one holding unicast_src_ip; lvs-ha's VRRP runner needs it given, and
	// conf refuses what run would refuse.
	_, ds := loadSrc(t, "t.conf", inst("U", "    virtual_router_id 5\n    unicast_src_ip 192.0.2.1\n    unicast_peer {\n        192.0.2.2\n    }\n    virtual_ipaddress {\n        192.0.2.9 dev eth3\n    }"))
	if errs := errorsOf(ds); len(errs) != 1 || !strings.Contains(errs[0].Msg, "missing interface: lvs-ha does not derive it from unicast_src_ip") {
		t.Errorf("unicast without interface:\n%s", dump(ds))
	}
}

func TestTrackScriptWeights(t *testing.T) {
	src := "vrrp_script s1 {\n    script /bin/true\n    weight -7\n}\nvrrp_script s2 {\n    script \"/bin/x 'a b'\"\n}\n" +
		inst("VI_1", instBody+"\n    track_script {\n        s1\n        s2 weight 4 reverse\n    }\n    track_interface {\n        eth9 weight -3\n    }")
	cfg, _ := mustLoad(t, src)
	ts := cfg.VRRPInstances[0].TrackScripts
	if ts[0].Weight != -7 || ts[1].Weight != 4 || !ts[1].Reverse {
		t.Errorf("%+v", ts)
	}
	if got := cfg.VRRPScripts[1].Script.Argv; len(got) != 2 || got[1] != "a b" {
		t.Errorf("argv %q", got)
	}
	if cfg.VRRPScripts[0].Timeout != cfg.VRRPScripts[0].Interval {
		t.Errorf("timeout default")
	}
}

func TestSyncGroupZeroesMemberWeights(t *testing.T) {
	src := "vrrp_script s1 {\n    script /bin/true\n    weight 10\n}\n" +
		inst("A", instBody+"\n    track_script {\n        s1\n    }") +
		inst("B", strings.Replace(instBody, "51", "52", 1)) +
		"vrrp_sync_group G {\n    group {\n        A\n        B\n    }\n}\n"
	cfg, ds := mustLoad(t, src)
	if w := cfg.VRRPInstances[0].TrackScripts[0].Weight; w != 0 {
		t.Errorf("weight %d", w)
	}
	if cfg.VRRPInstances[0].SyncGroup != "G" || len(cfg.SyncGroups[0].Members) != 2 {
		t.Errorf("membership")
	}
	if !hasWarning(ds, 0, "ignoring weight of track_script s1") {
		t.Errorf("warnings:\n%s", dump(ds))
	}
}

func TestLegacyNames(t *testing.T) {
	src := vsWith("", "    lb_algo wrr\n    lb_kind TUN", "    real_server 192.0.2.21 80 {\n        HTTP_GET {\n            nb_get_retry 7\n            url {\n                path /\n            }\n        }\n        TCP_CHECK {\n            nb_sock_retry 2\n        }\n    }") +
		"global_defs {\n    lvs_flush_onstop\n}\n"
	cfg, ds := mustLoad(t, src)
	v := cfg.VirtualServers[0]
	if v.Scheduler != "wrr" || v.Forwarding.Method != "TUN" || v.Forwarding.TunnelType != "ipip" {
		t.Errorf("sched %s method %+v", v.Scheduler, v.Forwarding)
	}
	ck := v.RealServers[0].Checkers
	if ck[0].Retry != 7 || ck[1].Retry != 2 {
		t.Errorf("retry %d %d", ck[0].Retry, ck[1].Retry)
	}
	if cfg.Global.LVSFlushOnStop != "RS" {
		t.Errorf("lvs_flush_onstop")
	}
	if !hasWarning(ds, 0, `"nb_get_retry" is deprecated; use "retry"`) {
		t.Errorf("warnings:\n%s", dump(ds))
	}
}

func TestCheckerInheritance(t *testing.T) {
	src := `virtual_server 192.0.2.10 80 {
    delay_loop 7
    connect_timeout 4
    retry 2
    lvs_sched rr
    protocol TCP
    virtualhost vs.example
    real_server 192.0.2.21 80 {
        delay_before_retry 9
        HTTP_GET {
            url {
                path /
            }
        }
        DNS_CHECK {
            retry 5
        }
        MISC_CHECK {
            misc_path /bin/true
        }
    }
    real_server 192.0.2.22 {
        connect_timeout 1.5
        warmup 0
        TCP_CHECK {
            delay_loop 3
        }
        DNS_CHECK {
        }
    }
}
`
	cfg, _ := mustLoad(t, src)
	r1, r2 := cfg.VirtualServers[0].RealServers[0], cfg.VirtualServers[0].RealServers[1]
	http, dns, misc := r1.Checkers[0], r1.Checkers[1], r1.Checkers[2]
	tcp, dns2 := r2.Checkers[0], r2.Checkers[1]
	checks := []struct {
		what      string
		got, want any
	}{
		{"http delay_loop", http.DelayLoop, seconds(7)},
		{"http connect_timeout", http.ConnectTimeout, seconds(4)},
		{"http retry (vs)", http.Retry, 2},
		{"http delay_before_retry (rs)", http.DelayBeforeRetry, seconds(9)},
		{"http warmup = delay_loop", http.Warmup, seconds(7)},
		{"http virtualhost (vs)", http.HTTP.Virtualhost, "vs.example"},
		{"dns retry (own)", dns.Retry, 5},
		{"misc retry (vs)", misc.Retry, 2},
		{"misc timeout = delay_loop", misc.Misc.Timeout, seconds(7)},
		{"rs2 port follows NAT? no: NAT keeps its own, VS port fills zero", r2.Port, uint16(80)},
		{"tcp connect_timeout (rs)", tcp.ConnectTimeout, Duration(1500 * time.Millisecond)},
		{"tcp warmup (rs)", tcp.Warmup, Duration(0)},
		{"tcp delay_loop (own)", tcp.DelayLoop, seconds(3)},
		{"tcp delay_before_retry default", tcp.DelayBeforeRetry, seconds(1)},
		{"dns2 retry (vs)", dns2.Retry, 2},
		{"dns2 delay_before_retry = delay_loop", dns2.DelayBeforeRetry, seconds(7)},
		{"rs weight default", r1.Weight, 1},
		{"rs smtp_alert default", r1.SMTPAlert, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	// without retry anywhere: per-checker defaults
	cfg, _ = mustLoad(t, vsWith("", "", "    real_server 192.0.2.21 80 {\n        DNS_CHECK {\n        }\n        MISC_CHECK {\n            misc_path /bin/true\n        }\n        TCP_CHECK {\n        }\n    }"))
	ck := cfg.VirtualServers[0].RealServers[0].Checkers
	if ck[0].Retry != 3 || ck[1].Retry != 0 || ck[2].Retry != 1 || ck[2].DelayLoop != seconds(60) || ck[2].ConnectTimeout != seconds(5) {
		t.Errorf("defaults: dns %d misc %d tcp %d %v %v", ck[0].Retry, ck[1].Retry, ck[2].Retry, ck[2].DelayLoop, ck[2].ConnectTimeout)
	}
}

func TestVirtualServerDefaultsAndCorrections(t *testing.T) {
	src := "virtual_server 192.0.2.10 80 {\n    real_server 192.0.2.21 8080 {\n        lvs_method DR\n    }\n}\n"
	cfg, ds := mustLoad(t, src)
	v := cfg.VirtualServers[0]
	if v.Scheduler != "wlc" || v.Protocol != UDP || v.Forwarding.Method != "NAT" || v.Quorum != 1 || v.DelayLoop != seconds(60) {
		t.Errorf("%+v", v)
	}
	if r := v.RealServers[0]; r.Port != 80 || r.Forwarding.Method != "DR" {
		t.Errorf("DR real server port %d", r.Port)
	}
	for _, w := range []string{"no lvs_sched set - using wlc", "no protocol set - defaulting to UDP", "ports don't match"} {
		if !hasWarning(ds, 0, w) {
			t.Errorf("missing warning %q:\n%s", w, dump(ds))
		}
	}
}

func TestVirtualServerWithoutRealServersWarns(t *testing.T) {
	_, ds := mustLoad(t, "virtual_server 192.0.2.10 80 {\n    lvs_sched rr\n    protocol TCP\n}\n")
	if !hasWarning(ds, 1, "no real_server") {
		t.Errorf("warnings:\n%s", dump(ds))
	}
}

func TestUnknownAndIgnoredKeywordsWarnWithPosition(t *testing.T) {
	src := inst("VI_1", instBody+"\n    frobnicate 1\n    track_bfd {\n        bfd_1\n    }") + "bfd_instance bfd_1 {\n    neighbor_ip 192.0.2.1\n}\n"
	_, ds := mustLoad(t, src)
	want := []struct {
		line int
		msg  string
	}{
		{8, `unknown keyword "frobnicate" in vrrp_instance`},
		{9, `"track_bfd" in vrrp_instance is not supported by lvs-ha (ignored)`},
		{13, `"bfd_instance" is not supported by lvs-ha (ignored)`},
	}
	for _, w := range want {
		if !hasWarning(ds, w.line, w.msg) {
			t.Errorf("missing warning at line %d %q:\n%s", w.line, w.msg, dump(ds))
		}
	}
}

func TestVIPOptions(t *testing.T) {
	src := inst("VI_1", "    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress {\n        10.1.2.3/24 brd - dev eth1 scope link label eth1:x\n        10.1.2.4 peer 10.1.2.5/32 home -nodad noprefixroute autojoin no_track use_vmac\n        10.1.2.6/16 brd 10.1.255.255\n    }")
	cfg, _ := mustLoad(t, src)
	v := cfg.VRRPInstances[0].VIPs
	if v[0].Broadcast != netip.MustParseAddr("10.1.2.0") || v[0].Dev != "eth1" || v[0].Scope != "link" || v[0].Label != "eth1:x" {
		t.Errorf("%+v", v[0])
	}
	if v[1].Peer != netip.MustParsePrefix("10.1.2.5/32") || !v[1].Home || !v[1].NoDAD || !v[1].NoPrefixRoute || !v[1].AutoJoin || !v[1].NoTrack || !v[1].UseVMAC {
		t.Errorf("%+v", v[1])
	}
	if v[2].Broadcast != netip.MustParseAddr("10.1.255.255") {
		t.Errorf("%+v", v[2])
	}
}

func TestVSGRanges(t *testing.T) {
	cfg, _ := mustLoad(t, "virtual_server_group G {\n    192.0.2.1-9 80\n    192.0.2.20-192.0.2.30\n    2001:db8::a-ff 443\n    10.0.0.8/29\n    fwmark 3 inet6\n}\n")
	e := cfg.VirtualServerGroups[0].Entries
	want := [][2]string{{"192.0.2.1", "192.0.2.9"}, {"192.0.2.20", "192.0.2.30"}, {"2001:db8::a", "2001:db8::ff"}, {"10.0.0.8", "10.0.0.15"}}
	for i, w := range want {
		if e[i].First.String() != w[0] || e[i].Last.String() != w[1] {
			t.Errorf("entry %d: %s-%s, want %s-%s", i, e[i].First, e[i].Last, w[0], w[1])
		}
	}
	if !e[4].IsFWMark || e[4].FWMark != 3 || e[4].FWMFamily != Inet6 {
		t.Errorf("%+v", e[4])
	}
}

func TestScriptArgvIsSplitLikeKeepalived(t *testing.T) {
	cfg, ds := loadSrc(t, "k.conf", "vrrp_script chk {\n    script \"/bin/x 'a b' c\"\n}\n")
	if ds.HasErrors() {
		t.Fatalf("errors:\n%s", dump(ds))
	}
	got := strings.Join(cfg.VRRPScripts[0].Script.Argv, "|")
	if want := "/bin/x|a b|c"; got != want {
		t.Errorf("argv %q, want %q", got, want)
	}
	_, ds = loadSrc(t, "k.conf", "vrrp_script chk {\n    script \"/bin/x 'a b\"\n}\n")
	found := false
	for _, d := range errorsOf(ds) {
		found = found || d.Pos.Line == 2 && strings.Contains(d.Msg, "missing terminating")
	}
	if !found {
		t.Errorf("unterminated quote inside a script: want an error at line 2, got:\n%s", dump(ds))
	}
}

func TestParseTimer(t *testing.T) {
	tests := map[string]Duration{"3": seconds(3), "2.71828": Duration(2718280 * time.Microsecond), "0.000001": Duration(time.Microsecond), "0": 0}
	for in, want := range tests {
		if got, ok := parseTimer(in); !ok || got != want {
			t.Errorf("parseTimer(%q) = %v %v, want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "-1", "1e3", "inf", "NaN", "0x10", "1s", "+1"} {
		if _, ok := parseTimer(bad); ok {
			t.Errorf("parseTimer(%q) accepted", bad)
		}
	}
}

// TestGolden pins the JSON of dump-config for testdata/full.conf.
func TestGolden(t *testing.T) {
	cfg, ds := Load("testdata/full.conf", Options{ConfigID: testConfigID})
	if ds.HasErrors() {
		t.Fatalf("errors:\n%s", dump(ds))
	}
	got := marshal(t, cfg)
	const golden = "testdata/full.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./conf -run TestGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("JSON differs from %s (run with -update if intended); got:\n%s", golden, got)
	}
	// diagnostics are part of the contract too
	wantDiag := []string{
		`testdata/full.conf:24:5: warning: "lvs_flush_onstop" is deprecated; use "lvs_flush_on_stop"`,
		`testdata/full.conf:27:5: warning: "snmp_socket" in global_defs is not supported by lvs-ha (ignored)`,
		`testdata/full.conf:49:16: warning: vrrp_instance VI_WEB: VRRPv2 advert_int 1.4s must be whole seconds - rounding to 1s`,
	}
	for _, w := range wantDiag {
		if !strings.Contains(dump(ds), w+"\n") {
			t.Errorf("missing diagnostic %s; got:\n%s", w, dump(ds))
		}
	}
}

func marshal(t *testing.T, cfg *Config) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(cfg); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestJSONRoundTrip: the dump decodes into a Config that dumps identically,
// for the golden input and every keepalived sample.
func TestJSONRoundTrip(t *testing.T) {
	files := []string{"testdata/full.conf"}
	if s, _ := filepath.Glob("/usr/share/doc/keepalived/samples/keepalived.conf.*"); s != nil {
		files = append(files, s...)
	}
	for _, f := range files {
		cfg, _ := loadFile(t, f)
		a := marshal(t, cfg)
		var back Config
		if err := json.Unmarshal(a, &back); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if b := marshal(t, &back); !bytes.Equal(a, b) {
			t.Errorf("%s: round trip differs:\n%s\n---\n%s", f, a, b)
		}
		// stable: loading twice gives the same bytes
		cfg2, _ := loadFile(t, f)
		if c := marshal(t, cfg2); !bytes.Equal(a, c) {
			t.Errorf("%s: not stable", f)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	for _, d := range []Duration{0, Duration(time.Microsecond), Duration(330 * time.Millisecond), seconds(86400)} {
		b, _ := json.Marshal(d)
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil || back != d {
			t.Errorf("%v -> %s -> %v %v", d, b, back, err)
		}
	}
	var d Duration
	if err := json.Unmarshal([]byte(`1e300`), &d); err == nil {
		t.Errorf("1e300 accepted")
	}
}

func TestErrorsInIncludedFileNameThatFile(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "keepalived.conf")
	sub := filepath.Join(dir, "vs.conf")
	if err := os.WriteFile(main, []byte("global_defs {\n    router_id a\n}\ninclude vs.conf\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sub, []byte(vsWith("", "    lvs_sched nope", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, ds := Load(main, Options{ConfigID: testConfigID})
	errs := errorsOf(ds)
	if len(errs) != 1 || errs[0].Pos.File != sub || errs[0].Pos.Line != 5 {
		t.Errorf("diagnostics:\n%s", dump(ds))
	}
}

func TestUnsupportedCheckersAreCountedAndWarned(t *testing.T) {
	cfg, ds := mustLoad(t, vsWith("", "", "    real_server 192.0.2.21 80 {\n        BFD_CHECK {\n            name b1\n        }\n        TCP_CHECK {\n        }\n    }"))
	if cfg.Counts.Checkers != 2 || len(cfg.VirtualServers[0].RealServers[0].Checkers) != 1 {
		t.Errorf("counts %v", cfg.Counts)
	}
	if !hasWarning(ds, 7, `"BFD_CHECK" in real_server is not supported by lvs-ha (ignored)`) {
		t.Errorf("warnings:\n%s", dump(ds))
	}
}

// TestVRRPSchedSliceParse: vrrp_sched_slice is unset (the daemon's default),
// 0 (the kernel's) or microseconds.
func TestVRRPSchedSliceParse(t *testing.T) {
	for src, want := range map[string]string{"": "<nil>", "vrrp_sched_slice 0": "0", "vrrp_sched_slice 2500": "2500"} {
		cfg, _ := mustLoad(t, "global_defs {\n    "+src+"\n}\n")
		got := "<nil>"
		if p := cfg.Global.VRRPSchedSlice; p != nil {
			got = fmt.Sprint(*p)
		}
		if got != want {
			t.Errorf("%q: VRRPSchedSlice %s, want %s", src, got, want)
		}
	}
}

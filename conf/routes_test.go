package conf

import (
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestRoutesAndRules(t *testing.T) {
	src := "static_ipaddress {\n    192.0.2.5/24 dev eth1 scope link\n    192.0.2.6\n}\n" +
		"static_routes {\n    src 192.0.2.5 10.1.0.0/16 via 192.0.2.254 dev eth1 table 100 metric 7 protocol static onlink\n    blackhole 10.2.0.0/16\n    to unreachable 2001:db8:9::/48 table main\n    10.3.0.0/16 dev eth1 scope link\n    0.0.0.0/0 gw 192.0.2.1 table 100\n}\n" +
		"static_rules {\n    from 192.0.2.0/24 table 100 preference 100\n    not to 10.9.0.0/16 fwmark 0x10/0xff iif eth1 oif eth2 ipproto tcp dport 80-90 sport 1024 prohibit pref 101\n    inet6 lookup main suppress_prefixlength 0 priority 102\n    from all goto 200 pref 103\n    to 10.8.0.0/16 type nop\n}\n" +
		inst("VI_1", instBody+"\n    virtual_routes {\n        10.4.0.0/16 via 192.0.2.254\n    }\n    virtual_rules {\n        from 10.4.0.0/16 table 4 preference 40\n    }")
	cfg, ds := mustLoad(t, src)
	if len(cfg.StaticAddresses) != 2 || cfg.StaticAddresses[0].Dev != "eth1" || cfg.StaticAddresses[1].Dev != "" {
		t.Errorf("static_ipaddress = %+v", cfg.StaticAddresses)
	}
	rs := cfg.StaticRoutes
	if len(rs) != 5 {
		t.Fatalf("static_routes: %d, want 5:\n%s", len(rs), dump(ds))
	}
	want0 := Route{Dst: netip.MustParsePrefix("10.1.0.0/16"), Src: netip.MustParseAddr("192.0.2.5"), Via: netip.MustParseAddr("192.0.2.254"),
		Dev: "eth1", Table: 100, Metric: 7, Protocol: 4, OnLink: true, Pos: rs[0].Pos}
	if !reflect.DeepEqual(*rs[0], want0) {
		t.Errorf("route 0 = %+v, want %+v", *rs[0], want0)
	}
	if rs[1].Type != "blackhole" || rs[2].Type != "unreachable" || rs[2].Table != 254 || !rs[2].Dst.Addr().Is6() || rs[3].Scope != 253 || rs[4].Via != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("routes = %+v %+v %+v %+v", *rs[1], *rs[2], *rs[3], *rs[4])
	}
	if !hasWarning(ds, 10, `"gw" for routes is deprecated`) {
		t.Errorf("no gw warning:\n%s", dump(ds))
	}
	ru := cfg.StaticRules
	if len(ru) != 5 {
		t.Fatalf("static_rules: %d, want 5:\n%s", len(ru), dump(ds))
	}
	if r := ru[0]; r.Action != "table" || r.Table != 100 || *r.Priority != 100 || r.From != netip.MustParsePrefix("192.0.2.0/24") {
		t.Errorf("rule 0 = %+v", *r)
	}
	if r := ru[1]; !r.Not || r.Action != "prohibit" || *r.Fwmark != 16 || *r.Fwmask != 255 || r.IIf != "eth1" || r.OIf != "eth2" || r.IPProto != 6 || r.Dport != [2]uint16{80, 90} || r.Sport != [2]uint16{1024, 1024} || *r.Priority != 101 {
		t.Errorf("rule 1 = %+v", *r)
	}
	if r := ru[2]; !r.IPv6 || r.Table != 254 || *r.SuppressPrefixLen != 0 {
		t.Errorf("rule 2 = %+v", *r)
	}
	if r := ru[3]; r.Action != "goto" || r.Goto != 200 || r.From.IsValid() {
		t.Errorf("rule 3 = %+v", *r)
	}
	if r := ru[4]; r.Action != "nop" || *r.Priority != 16384 {
		t.Errorf("rule 4 = %+v", *r)
	}
	if !hasWarning(ds, 17, "rule has no preference specified - setting to 16384") {
		t.Errorf("no preference warning:\n%s", dump(ds))
	}
	v := cfg.VRRPInstances[0]
	if len(v.Routes) != 1 || len(v.Rules) != 1 || v.Routes[0].Dst != netip.MustParsePrefix("10.4.0.0/16") || v.Rules[0].Table != 4 {
		t.Errorf("virtual routes %+v rules %+v", v.Routes, v.Rules)
	}
}

// Bad entries are skipped with a warning at the offending word, as
// keepalived reports them and runs without them.
func TestRouteAndRuleErrorsLocated(t *testing.T) {
	for _, tc := range []struct {
		block, line, msg string
		col              int
	}{
		{"static_routes", "10.1.0.0/16 via 192.0.2.300", `invalid route via address "192.0.2.300"`, 21},
		{"static_routes", "10.1.0.0/16 frobnicate 3", `unknown route option or invalid destination "frobnicate"`, 17},
		{"static_routes", "10.1.0.0/16 via 2001:db8::1", "cannot mix IPv4 and IPv6", 21},
		{"static_routes", "10.1.0.0/16 table nosuch", `routing table "nosuch" not found`, 23},
		{"static_routes", "10.1.0.0/16 scope far", `scope "far" not found`, 23},
		{"static_routes", "10.1.0.0/16 metric -1", `invalid route metric "-1"`, 24},
		{"static_routes", "10.1.0.0/16 or 192.0.2.2", `"or" needs one "via" before it`, 17},
		{"static_routes", "10.1.0.0/16 nexthop via 192.0.2.1 weight 0", `invalid nexthop weight "0"`, 46},
		{"static_routes", "10.1.0.0/16 nexthop via 192.0.2.1 frob", "trailing nonsense after nexthops - frob", 39},
		{"static_routes", "10.1.0.0/16 nexthop weight 2", "nexthop needs via or dev", 32},
		{"static_routes", "10.1.0.0/16 via 192.0.2.1 nexthop dev eth0", "takes via and dev in its nexthops", 5},
		{"static_routes", "via 192.0.2.1", "route must have a destination", 5},
		{"static_routes", "blackhole 10.1.0.0/16 via 192.0.2.1", "cannot have a gateway", 5},
		{"static_routes", "10.1.0.0/16 dev", `route option "dev" needs a value`, 17},
		{"static_rules", "from 10.0.0.0/33 table 5", `invalid rule from address "10.0.0.0/33"`, 10},
		{"static_rules", "from 10.0.0.0/8 frobnicate", `unknown rule option "frobnicate"`, 21},
		{"static_rules", "from 10.0.0.0/8 pref 1", "no action specified for rule", 5},
		{"static_rules", "from 10.0.0.0/8 table 5 blackhole pref 1", "more than one of", 29},
		{"static_rules", "from 10.0.0.0/8 goto 5 pref 9", "goto 5 needs a preference below it", 5},
		{"static_rules", "from 10.0.0.0/8 fwmark 1/x table 5 pref 1", `invalid rule fwmark "1/x"`, 28},
		{"static_rules", "from 10.0.0.0/8 to 2001:db8::/32 table 5 pref 1", "cannot mix IPv4 and IPv6", 24},
		{"static_rules", "from 10.0.0.0/8 table 0 pref 1", "table 0 is not valid", 27},
	} {
		t.Run(tc.line, func(t *testing.T) {
			cfg, ds := mustLoad(t, tc.block+" {\n    "+tc.line+"\n}\n")
			if len(cfg.StaticRoutes)+len(cfg.StaticRules) != 0 {
				t.Errorf("entry kept")
			}
			found := false
			for _, d := range ds {
				if d.Pos.Line == 2 && d.Pos.Col == tc.col && strings.Contains(d.Msg, tc.msg) && strings.HasSuffix(d.Msg, "skipped") {
					found = true
				}
			}
			if !found {
				t.Errorf("want %q at 2:%d:\n%s", tc.msg, tc.col, dump(ds))
			}
		})
	}
}

// keepalived's specials and named tables (iproute2's rt_tables).
func TestRouteDefaultsAndNamedTables(t *testing.T) {
	f := t.TempDir() + "/rt_tables"
	if err := os.WriteFile(f, []byte("# names\n255\tlocal\n100 vips # ours\n0x65 edge\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := rtTablesFiles
	rtTablesFiles = []string{f + ".missing", f}
	t.Cleanup(func() { rtTablesFiles = old })
	cfg, ds := mustLoad(t, "static_routes {\n    default via 192.0.2.1 table vips\n    inet6 default via 2001:db8::1 table edge\n    default6 dev eth0\n}\n"+
		"static_rules {\n    from any to default lookup vips pref 5\n}\n")
	rs := cfg.StaticRoutes
	if len(rs) != 3 || rs[0].Dst != netip.MustParsePrefix("0.0.0.0/0") || rs[0].Table != 100 ||
		rs[1].Dst != netip.MustParsePrefix("::/0") || rs[1].Table != 101 || rs[2].Dst != netip.MustParsePrefix("::/0") {
		t.Fatalf("routes %+v:\n%s", rs, dump(ds))
	}
	if r := cfg.StaticRules; len(r) != 1 || r[0].From.IsValid() || r[0].To.IsValid() || r[0].Table != 100 {
		t.Errorf("rules %+v", r)
	}
}

func TestMultipathRoutes(t *testing.T) {
	cfg, ds := mustLoad(t, "static_routes {\n    10.1.0.0/16 via 192.0.2.1 or 192.0.2.2 table 5\n    10.2.0.0/16 table 6 nexthop via 192.0.2.1 dev eth0 weight 2 nexthop dev eth1 onlink\n}\n")
	rs := cfg.StaticRoutes
	if len(rs) != 2 {
		t.Fatalf("routes %+v\n%s", rs, dump(ds))
	}
	want0 := []Nexthop{{Via: netip.MustParseAddr("192.0.2.1")}, {Via: netip.MustParseAddr("192.0.2.2")}}
	if !reflect.DeepEqual(rs[0].Nexthops, want0) || rs[0].Via.IsValid() || rs[0].Table != 5 {
		t.Errorf("or route %+v", *rs[0])
	}
	want1 := []Nexthop{{Via: netip.MustParseAddr("192.0.2.1"), Dev: "eth0", Weight: 2}, {Dev: "eth1", OnLink: true}}
	if !reflect.DeepEqual(rs[1].Nexthops, want1) || rs[1].Table != 6 {
		t.Errorf("nexthop route %+v", *rs[1])
	}
	if !hasWarning(ds, 2, `"or" for routes is deprecated`) {
		t.Errorf("no deprecation warning:\n%s", dump(ds))
	}
}

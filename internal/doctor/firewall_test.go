package doctor

import (
	"errors"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
)

const fwConf = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.0.0.100/24
    }
}
virtual_server 10.0.0.100 80 {
    lb_kind NAT
    protocol TCP
    real_server 10.1.1.5 80 {
    }
}
`

func needNft(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft not installed")
	}
}

func TestFirewallVRRPNetns(t *testing.T) {
	needNft(t)
	l := newLab(t)
	cfg := load(t, fwConf)
	l.sh("nft", "add table inet f")
	l.sh("nft", "add chain inet f input { type filter hook input priority 0; policy accept; }")
	l.sh("nft", "add rule inet f input ip protocol { tcp, vrrp } drop")
	want(t, l.director(cfg, Options{}, "firewall-vrrp"), 1, "keepalived.conf:1:15:", "VI_1", "protocol 112 to 224.0.0.18", "chain inet/f/input (hook input) does drop", "nft insert rule inet f input ip daddr 224.0.0.18 ip protocol vrrp accept")

	// A default-drop firewall that lets VRRP in is fine; one that does not is not.
	l.sh("nft", "flush chain inet f input")
	l.sh("nft", "add chain inet f input { policy drop; }")
	want(t, l.director(cfg, Options{}, "firewall-vrrp"), 1, "policy drop")
	l.sh("nft", "add rule inet f input ct state established,related accept")
	l.sh("nft", "add rule inet f input ip daddr 224.0.0.18 meta l4proto 112 accept")
	want(t, l.director(cfg, Options{}, "firewall-vrrp"), 0)
}

func TestFirewallVIPNetns(t *testing.T) {
	needNft(t)
	l := newLab(t)
	cfg := load(t, fwConf)
	l.sh("nft", "add table ip n")
	l.sh("nft", "add chain ip n pre { type nat hook prerouting priority -100; }")
	l.sh("nft", "add rule ip n pre ip daddr 10.0.0.0/24 tcp dport { 80, 443 } dnat to 10.1.1.9")
	want(t, l.director(cfg, Options{}, "firewall-vip"), 1, "keepalived.conf:9:1:", "10.0.0.100:80", "chain ip/n/pre (hook prerouting) does dnat")
	l.sh("nft", "flush chain ip n pre")
	l.sh("nft", "add rule ip n pre ip daddr 10.0.0.100 tcp dport 443 dnat to 10.1.1.9")
	want(t, l.director(cfg, Options{}, "firewall-vip"), 0)

	l.sh("nft", "add table inet f")
	l.sh("nft", "add chain inet f input { type filter hook input priority 0; }")
	l.sh("nft", "add chain inet f web")
	l.sh("nft", "add rule inet f web tcp dport 80 reject")
	l.sh("nft", "add rule inet f input ip daddr 10.0.0.100 jump web")
	want(t, l.director(cfg, Options{}, "firewall-vip"), 1, "chain inet/f/web does reject", "nft insert rule inet f web ip daddr 10.0.0.100 tcp dport 80 accept")
	l.sh("nft", "insert rule inet f input tcp dport 80 accept")
	want(t, l.director(cfg, Options{}, "firewall-vip"), 0)
}

// TestVSConntrackFake: net.ipv4.vs.conntrack exists only with ip_vs, which this
// host's kernel lacks, so the check runs on a fake system.
func TestVSConntrackFake(t *testing.T) {
	cfg := load(t, fwConf)
	stateful := `{"nftables":[{"chain":{"family":"inet","table":"f","name":"forward","hook":"forward","policy":"drop"}},
{"rule":{"family":"inet","table":"f","chain":"forward","handle":2,"expr":[{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":["established","related"]}},{"accept":null}]}}]}`
	sys := &fakeSystem{ruleset: stateful, sysctls: map[string]string{"net.ipv4.vs.conntrack": "0"}, modules: Modules{Present: map[string]bool{"ip_vs": true, "ip_vs_wlc": true}}}
	run := func() []Finding {
		fs, err := Director(cfg, sys, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return only(fs, "vs-conntrack")
	}
	want(t, run(), 1, "keepalived.conf:9:1:", "net.ipv4.vs.conntrack=0", "sysctl -w net.ipv4.vs.conntrack=1")
	sys.sysctls["net.ipv4.vs.conntrack"] = "1"
	want(t, run(), 0)
	sys.sysctls["net.ipv4.vs.conntrack"] = "0"
	sys.ruleset = `{"nftables":[]}`
	want(t, run(), 0)
}

// TestCheckSkipped: a check that cannot read its input (nft without root)
// does not hide the other checks' findings.
func TestCheckSkipped(t *testing.T) {
	sys := &fakeSystem{nftErr: errors.New("nft -j list ruleset: Operation not permitted"),
		sysctls: map[string]string{"net.ipv4.ip_forward": "0"}, modules: Modules{Present: map[string]bool{"ip_vs": true}}}
	fs, err := Director(load(t, fwConf), sys, Options{})
	if err == nil || !strings.Contains(err.Error(), "Operation not permitted") {
		t.Errorf("error %v, want nft's", err)
	}
	want(t, only(fs, "forwarding"), 1, "net.ipv4.ip_forward=1")
}

// TestFirewallMatches covers the rule shapes the namespace tests do not write.
func TestFirewallMatches(t *testing.T) {
	rule := func(exprs string) string {
		return `{"nftables":[{"chain":{"family":"inet","table":"f","name":"in","hook":"input","prio":0,"policy":"accept"}},
{"rule":{"family":"inet","table":"f","chain":"in","handle":7,"expr":[` + exprs + `]}}]}`
	}
	vrrp := packet{proto: 112, daddr: netip.MustParseAddr("224.0.0.18")}
	web6 := packet{proto: 6, daddr: netip.MustParseAddr("2001:db8::100"), dport: 443}
	for _, tc := range []struct {
		exprs string
		p     packet
		drop  bool
	}{
		{`{"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":112}},{"drop":null}`, vrrp, true},
		{`{"match":{"op":"!=","left":{"meta":{"key":"l4proto"}},"right":"vrrp"}},{"drop":null}`, vrrp, false},
		{`{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":{"prefix":{"addr":"224.0.0.0","len":4}}}},{"reject":null}`, vrrp, true},
		{`{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":{"range":["224.0.0.1","224.0.0.17"]}}},{"drop":null}`, vrrp, false},
		{`{"match":{"op":"==","left":{"iifname":"eth0"},"right":"eth0"}},{"drop":null}`, vrrp, false}, // not understood: not reported
		{`{"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"daddr"}},"right":"2001:db8::100"}},{"match":{"op":"==","left":{"payload":{"protocol":"th","field":"dport"}},"right":{"range":[400,500]}}},{"drop":null}`, web6, true},
		{`{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":"10.0.0.1"}},{"drop":null}`, web6, false},
		{`{"counter":{"packets":0,"bytes":0}},{"drop":null}`, web6, true},
	} {
		rs, err := parseRuleset([]byte(rule(tc.exprs)))
		if err != nil {
			t.Fatal(err)
		}
		if v, drop := rs.fate(tc.p); drop != tc.drop {
			t.Errorf("%s with %+v: dropped %v (%v), want %v", tc.exprs, tc.p, drop, v, tc.drop)
		}
	}
}

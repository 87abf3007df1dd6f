package strictfw

import (
	"net/netip"
	"strings"
	"testing"
)

func drop(addr, dev string) Drop { return Drop{Addr: netip.MustParseAddr(addr), Dev: dev} }

func TestScript(t *testing.T) {
	got := Script(Options{Priority: -1, Counters: true}, []Drop{
		drop("192.0.2.20", "eth0"),
		drop("2001:db8::1", "eth0"),
		drop("192.0.2.10", "eth1"),
		drop("192.0.2.20", "eth1"),
		drop("fe80::1", "eth0"),
		drop("fe80::1%eth1", "eth1"),
	})
	want := `add table inet keepalived
delete table inet keepalived
table inet keepalived {
	set vips {
		type ipv4_addr
		elements = { 192.0.2.10, 192.0.2.20 }
	}
	set vips6 {
		type ipv6_addr
		elements = { 2001:db8::1 }
	}
	set vips_link_local {
		type ipv6_addr . ifname
		elements = { fe80::1 . "eth0", fe80::1 . "eth1" }
	}
	chain in {
		type filter hook input priority -1; policy accept;
		ip daddr @vips counter drop
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } counter accept
		ip6 daddr @vips6 counter drop
		ip6 daddr . iifname @vips_link_local counter drop
	}
	chain out {
		type filter hook output priority -1; policy accept;
		ip saddr @vips counter drop
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } counter accept
		ip6 saddr @vips6 counter drop
		ip6 saddr . oifname @vips_link_local counter drop
	}
}
`
	if got != want {
		t.Errorf("Script:\n%s\nwant\n%s", got, want)
	}
}

func TestScriptEmptyAndNamed(t *testing.T) {
	got := Script(Options{Table: "lvs-ha", Priority: 5}, nil)
	for _, s := range []string{"table inet lvs-ha {", "priority 5;", "ip daddr @vips drop"} {
		if !strings.Contains(got, s) {
			t.Errorf("Script lacks %q:\n%s", s, got)
		}
	}
	if strings.Contains(got, "elements") || strings.Contains(got, "counter") {
		t.Errorf("Script has elements or counters:\n%s", got)
	}
	if r := RemoveScript(Options{Table: "lvs-ha"}); r != "add table inet lvs-ha\ndelete table inet lvs-ha\n" {
		t.Errorf("RemoveScript = %q", r)
	}
}

func TestValidTable(t *testing.T) {
	for name, want := range map[string]bool{"keepalived": true, "lvs-ha": true, "a_1": true, "": false, "1a": false, "a b": false, `a"`: false, "-a": false} {
		if got := ValidTable(name); got != want {
			t.Errorf("ValidTable(%q) = %v", name, got)
		}
	}
}

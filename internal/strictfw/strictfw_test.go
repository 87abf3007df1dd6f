package strictfw

import (
	"net/netip"
	"strings"
	"testing"
)

func TestScript(t *testing.T) {
	got := Script(Options{Priority: -1, Counters: true}, []netip.Addr{
		netip.MustParseAddr("192.0.2.20"),
		netip.MustParseAddr("2001:db8::1"),
		netip.MustParseAddr("192.0.2.10"),
		netip.MustParseAddr("192.0.2.20"),
		netip.MustParseAddr("fe80::1%eth0"),
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
		elements = { 2001:db8::1, fe80::1 }
	}
	chain in {
		type filter hook prerouting priority -1; policy accept;
		ip daddr @vips counter drop
		ip6 daddr @vips6 icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
		ip6 daddr @vips6 counter drop
	}
	chain out {
		type filter hook output priority -1; policy accept;
		ip saddr @vips counter drop
		ip6 saddr @vips6 icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
		ip6 saddr @vips6 counter drop
	}
}
`
	if got != want {
		t.Errorf("Script:\n%s\nwant\n%s", got, want)
	}
}

func TestScriptEmptyAndNamed(t *testing.T) {
	got := Script(Options{Table: "lvs-ha", Priority: 5}, nil)
	for _, s := range []string{`table inet lvs-ha {`, "priority 5;", "ip daddr @vips drop"} {
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

package strictfw

import "testing"

func TestVMACScript(t *testing.T) {
	got := VMACScript(Options{Priority: -1, Counters: false}, []VMAC{
		{Name: "vrrp6.52", Parent: "eth1", IPv6: true},
		{Name: "vrrp.51", Parent: "eth0"},
		{Name: "vrrp.51", Parent: "eth0"},
		{Name: "vrrp.53", Parent: "eth0", IPv6: true},
	})
	want := `add table ip keepalived
delete table ip keepalived
table ip keepalived {
	map vmac_map {
		type ifname : iface_index
		elements = { "vrrp.51" : "eth0" }
	}
	chain out {
		type filter hook output priority -1; policy accept;
		ip protocol igmp dup to ip daddr device oifname map @vmac_map counter drop
	}
}
add table ip6 keepalived
delete table ip6 keepalived
table ip6 keepalived {
	map vmac_map {
		type ifname : iface_index
		elements = { "vrrp.53" : "eth0", "vrrp6.52" : "eth1" }
	}
	set vmac_set {
		type ifname
		elements = { "vrrp.53", "vrrp6.52" }
	}
	chain out {
		type filter hook output priority -1; policy accept;
		icmpv6 type { mld-listener-report, mld-listener-done, mld2-listener-report } dup to ip6 daddr device oifname map @vmac_map counter drop
		icmpv6 type nd-router-solicit oifname @vmac_set counter drop
	}
}
`
	if got != want {
		t.Errorf("VMACScript:\n%s\nwant\n%s", got, want)
	}
}

// A family without VMACs has no table; none at all deletes both, which is
// how the rules go at stop.
func TestVMACScriptOneFamilyAndNone(t *testing.T) {
	got := VMACScript(Options{Table: "lvs-ha", Priority: 7}, []VMAC{{Name: "vrrp6.1", Parent: "eth0", IPv6: true}})
	want := `add table ip lvs-ha
delete table ip lvs-ha
add table ip6 lvs-ha
delete table ip6 lvs-ha
table ip6 lvs-ha {
	map vmac_map {
		type ifname : iface_index
		elements = { "vrrp6.1" : "eth0" }
	}
	set vmac_set {
		type ifname
		elements = { "vrrp6.1" }
	}
	chain out {
		type filter hook output priority 7; policy accept;
		icmpv6 type { mld-listener-report, mld-listener-done, mld2-listener-report } dup to ip6 daddr device oifname map @vmac_map counter drop
		icmpv6 type nd-router-solicit oifname @vmac_set counter drop
	}
}
`
	if got != want {
		t.Errorf("VMACScript:\n%s\nwant\n%s", got, want)
	}
	if got, want := VMACScript(Options{}, nil), "add table ip keepalived\ndelete table ip keepalived\nadd table ip6 keepalived\ndelete table ip6 keepalived\n"; got != want {
		t.Errorf("VMACScript(nil) = %q, want %q", got, want)
	}
}

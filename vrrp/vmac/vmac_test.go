package vmac

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
)

func TestNameAndMAC(t *testing.T) {
	if got := Name("", 51); got != "vrrp.51" {
		t.Errorf("Name default = %q, want vrrp.51 (keepalived's default)", got)
	}
	if got := Name("vm", 7); got != "vm.7" {
		t.Errorf("Name(vm, 7) = %q", got)
	}
	if got := MAC(51, false).String(); got != "00:00:5e:00:01:33" {
		t.Errorf("IPv4 MAC = %s", got)
	}
	if got := MAC(255, true).String(); got != "00:00:5e:00:02:ff" {
		t.Errorf("IPv6 MAC = %s", got)
	}
}

func TestSysctlPlanIsKeepalived(t *testing.T) {
	s := Spec{Name: "vrrp.1", Parent: "eth0", MAC: MAC(1, false)}
	want := []Sysctl{{"vrrp.1", "arp_ignore", 1}, {"vrrp.1", "accept_local", 1}, {"vrrp.1", "rp_filter", 0}, {"vrrp.1", "promote_secondaries", 1}}
	if got := VMACSysctls(s); !slices.Equal(got, want) {
		t.Errorf("VMACSysctls = %v, want %v", got, want)
	}
	if got, want := ParentSysctls(s), []Sysctl{{"eth0", "arp_ignore", 1}, {"eth0", "arp_filter", 1}, {"eth0", "arp_announce", 2}}; !slices.Equal(got, want) {
		t.Errorf("ParentSysctls = %v, want %v", got, want)
	}
	s.IPv6 = true
	if got := VMACSysctls(s); !slices.Equal(got, []Sysctl{{"vrrp.1", "arp_ignore", 1}}) {
		t.Errorf("IPv6 VMACSysctls = %v", got)
	}
	if got := ParentSysctls(s); got != nil {
		t.Errorf("IPv6 ParentSysctls = %v, want none", got)
	}
	if got := (Sysctl{"eth0", "arp_filter", 1}).Path(); got != "net/ipv4/conf/eth0/arp_filter" {
		t.Errorf("Path = %q", got)
	}
}

type fakeLinks struct {
	links map[string]Spec
	log   []string
	fail  string
	ll    []netip.Addr // the parent's link-local addresses
}

var parentMAC = net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

func (f *fakeLinks) Parent(string) ([]netip.Addr, net.HardwareAddr, error) {
	return f.ll, parentMAC, nil
}

func (f *fakeLinks) AddLinkLocal(name string, a netip.Addr) error {
	f.log = append(f.log, "addr "+name+" "+a.String())
	return nil
}

func (f *fakeLinks) AddMacvlan(s Spec) error {
	if s.Name == f.fail {
		return errors.New("boom")
	}
	f.links[s.Name] = s
	f.log = append(f.log, "add "+s.Name)
	return nil
}

func (f *fakeLinks) SetUp(name string) error {
	f.log = append(f.log, "up "+name)
	return nil
}

func (f *fakeLinks) Delete(name string) error {
	delete(f.links, name)
	f.log = append(f.log, "del "+name)
	return nil
}

type fakeSys map[string]int

func (f fakeSys) Get(p string) (int, error) { return f[p], nil }
func (f fakeSys) Set(p string, v int) error { f[p] = v; return nil }

func TestManagerCreatesSetsAndRestores(t *testing.T) {
	links := &fakeLinks{links: map[string]Spec{}}
	sys := fakeSys{"net/ipv4/conf/eth0/arp_ignore": 2, "net/ipv4/conf/eth0/arp_filter": 0}
	m := NewManager(links, sys)
	a := Spec{Name: "vrrp.1", Parent: "eth0", MAC: MAC(1, false)}
	b := Spec{Name: "vrrp.2", Parent: "eth0", MAC: MAC(2, false)}
	if err := m.Apply([]Spec{a, b}); err != nil {
		t.Fatal(err)
	}
	if len(links.links) != 2 {
		t.Fatalf("links = %v", links.links)
	}
	for p, v := range map[string]int{
		"net/ipv4/conf/vrrp.1/arp_ignore": 1, "net/ipv4/conf/vrrp.1/accept_local": 1, "net/ipv4/conf/vrrp.1/rp_filter": 0,
		"net/ipv4/conf/vrrp.2/promote_secondaries": 1, "net/ipv4/conf/eth0/arp_ignore": 1, "net/ipv4/conf/eth0/arp_filter": 1,
		"net/ipv6/conf/vrrp.1/addr_gen_mode": 1,
	} {
		if sys[p] != v {
			t.Errorf("%s = %d, want %d", p, sys[p], v)
		}
	}
	if want := []string{"add vrrp.1", "up vrrp.1", "add vrrp.2", "up vrrp.2"}; !slices.Equal(links.log, want) {
		t.Errorf("links %q, want %q", links.log, want)
	}
	// Dropping one VMAC keeps the parent's settings (b is still on it).
	if err := m.Apply([]Spec{b}); err != nil {
		t.Fatal(err)
	}
	if _, ok := links.links["vrrp.1"]; ok || sys["net/ipv4/conf/eth0/arp_ignore"] != 1 {
		t.Errorf("after dropping vrrp.1: links %v, eth0 arp_ignore %d", links.links, sys["net/ipv4/conf/eth0/arp_ignore"])
	}
	// Apply again is a no-op.
	n := len(links.log)
	if err := m.Apply([]Spec{b}); err != nil || len(links.log) != n {
		t.Errorf("re-Apply: err %v, log %v", err, links.log[n:])
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if len(links.links) != 0 {
		t.Errorf("after Close links = %v", links.links)
	}
	if sys["net/ipv4/conf/eth0/arp_ignore"] != 2 || sys["net/ipv4/conf/eth0/arp_filter"] != 0 {
		t.Errorf("parent not restored: %v", sys)
	}
}

func TestManagerCarriesOnAfterAnError(t *testing.T) {
	links := &fakeLinks{links: map[string]Spec{}, fail: "vrrp.1"}
	m := NewManager(links, fakeSys{})
	err := m.Apply([]Spec{{Name: "vrrp.1", Parent: "eth0", MAC: MAC(1, false)}, {Name: "vrrp.2", Parent: "eth0", MAC: MAC(2, false)}})
	if err == nil {
		t.Fatal("no error for the failed VMAC")
	}
	if _, ok := links.links["vrrp.2"]; !ok {
		t.Errorf("vrrp.2 not created after vrrp.1 failed")
	}
}

func TestUniqueNameIsKeepalived(t *testing.T) {
	used := map[string]bool{}
	taken := func(n string) bool { return used[n] }
	for _, tc := range []struct {
		prefix string
		vrid   int
		ipv6   bool
		want   string
	}{
		{"", 51, false, "vrrp.51"},
		{"", 51, true, "vrrp6.51"}, // the IPv4 instance has vrrp.51
		{"", 51, false, "vrrp1.51"},
		{"", 51, true, "vrrp2.51"},
		{"", 51, true, "vrrp3.51"},
		{"", 51, true, "vrrp4.51"},
		{"", 51, true, "vrrp5.51"},
		{"", 51, true, "vrrp7.51"}, // 6 was taken first
		{"averyveryverylongprefix", 200, false, "averyveryve.200"},
		{"averyveryverylongprefix", 200, true, "averyveryv6.200"},
	} {
		got := UniqueName(tc.prefix, tc.vrid, tc.ipv6, taken)
		if got != tc.want {
			t.Errorf("UniqueName(%q, %d, %v) = %q, want %q", tc.prefix, tc.vrid, tc.ipv6, got, tc.want)
		}
		used[got] = true
	}
}

func TestLinkLocalIsKeepalived(t *testing.T) {
	// keepalived's make_link_local_address: modified EUI-64 of the MAC.
	if got := EUI64LinkLocal(parentMAC).String(); got != "fe80::5054:ff:fe12:3456" {
		t.Errorf("EUI64LinkLocal = %s", got)
	}
	src := netip.MustParseAddr("fe80::1")
	ll := []netip.Addr{netip.MustParseAddr("2001:db8::5"), netip.MustParseAddr("fe80::abcd")}
	for _, tc := range []struct {
		src  netip.Addr
		ll   []netip.Addr
		want string
	}{
		{src, ll, "fe80::1"}, // the configured source
		{netip.MustParseAddr("192.0.2.1"), ll, "fe80::abcd"}, // not IPv6: the parent's
		{netip.Addr{}, ll, "fe80::abcd"},                     // the parent's link-local
		{netip.Addr{}, ll[:1], "fe80::5054:ff:fe12:3456"},    // none: EUI-64 of its MAC
		{netip.Addr{}, nil, "fe80::5054:ff:fe12:3456"},
	} {
		if got := LinkLocalFor(tc.src, tc.ll, parentMAC).String(); got != tc.want {
			t.Errorf("LinkLocalFor(%v, %v) = %s, want %s", tc.src, tc.ll, got, tc.want)
		}
	}
}

// TestManagerIPv6VMAC: an IPv6 VMAC gets addr_gen_mode none, accept_ra 0
// and IPv6 enabled before it is up, then the parent's link-local address (or the
// configured source) when it sends adverts, none with vmac_xmit_base; no
// IPv4 sysctls on its parent.
func TestManagerIPv6VMAC(t *testing.T) {
	links := &fakeLinks{links: map[string]Spec{}, ll: []netip.Addr{netip.MustParseAddr("fe80::abcd")}}
	sys := fakeSys{"net/ipv6/conf/vrrp.1/disable_ipv6": 1, "net/ipv6/conf/vrrp.1/accept_ra": 1}
	m := NewManager(links, sys)
	a := Spec{Name: "vrrp.1", Parent: "eth0", MAC: MAC(1, true), IPv6: true, LinkLocal: true}
	b := Spec{Name: "vrrp.2", Parent: "eth0", MAC: MAC(2, true), IPv6: true, LinkLocal: true, Src: netip.MustParseAddr("fe80::2")}
	c := Spec{Name: "vrrp.3", Parent: "eth0", MAC: MAC(3, true), IPv6: true} // vmac_xmit_base
	if err := m.Apply([]Spec{a, b, c}); err != nil {
		t.Fatal(err)
	}
	want := []string{"add vrrp.1", "up vrrp.1", "addr vrrp.1 fe80::abcd", "add vrrp.2", "up vrrp.2", "addr vrrp.2 fe80::2", "add vrrp.3", "up vrrp.3"}
	if !slices.Equal(links.log, want) {
		t.Errorf("links %q, want %q", links.log, want)
	}
	for p, v := range map[string]int{"net/ipv6/conf/vrrp.1/addr_gen_mode": 1, "net/ipv6/conf/vrrp.1/disable_ipv6": 0, "net/ipv6/conf/vrrp.1/accept_ra": 0, "net/ipv6/conf/vrrp.3/addr_gen_mode": 1} {
		if sys[p] != v {
			t.Errorf("%s = %d, want %d", p, sys[p], v)
		}
	}
	for p := range sys {
		if slices.Contains([]string{"net/ipv4/conf/eth0/arp_ignore", "net/ipv4/conf/eth0/arp_filter", "net/ipv4/conf/eth0/arp_announce"}, p) {
			t.Errorf("IPv6 VMAC set %s on its parent", p)
		}
	}
	// A Spec that changes its link-local (vmac_xmit_base dropped) is a new VMAC.
	c.LinkLocal = true
	if err := m.Apply([]Spec{a, b, c}); err != nil {
		t.Fatal(err)
	}
	if got := links.log[len(want):]; !slices.Equal(got, []string{"del vrrp.3", "add vrrp.3", "up vrrp.3", "addr vrrp.3 fe80::abcd"}) {
		t.Errorf("after changing vrrp.3: %q", got)
	}
}

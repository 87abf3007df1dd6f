package vip

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestValidate(t *testing.T) {
	pfx := netip.MustParsePrefix
	ip := netip.MustParseAddr
	for _, tc := range []struct {
		name string
		a    Address
		want string // error substring; "" = valid
	}{
		{"v4 full", Address{Prefix: pfx("192.0.2.1/24"), Dev: "eth0", Broadcast: ip("192.0.2.255"), Scope: ScopeLink, Label: "eth0:vip"}, ""},
		{"v4 label equals dev", Address{Prefix: pfx("192.0.2.1/32"), Dev: "eth0", Label: "eth0"}, ""},
		{"v6 minimal", Address{Prefix: pfx("2001:db8::1/128"), Dev: "eth0"}, ""},
		{"v6 link-local", Address{Prefix: pfx("fe80::1/64"), Dev: "eth0"}, ""},
		{"no address", Address{Dev: "eth0"}, "no address"},
		{"no device", Address{Prefix: pfx("192.0.2.1/32")}, "no device"},
		{"long device", Address{Prefix: pfx("192.0.2.1/32"), Dev: "abcdefghijklmnop"}, "not a valid interface name"},
		{"slash device", Address{Prefix: pfx("192.0.2.1/32"), Dev: "a/b"}, "not a valid interface name"},
		{"multicast", Address{Prefix: pfx("224.0.0.1/32"), Dev: "eth0"}, "not a unicast"},
		{"unspecified", Address{Prefix: pfx("::/128"), Dev: "eth0"}, "not a unicast"},
		{"mapped", Address{Prefix: pfx("::ffff:192.0.2.1/128"), Dev: "eth0"}, "IPv4-mapped"},
		{"v6 broadcast", Address{Prefix: pfx("2001:db8::1/64"), Dev: "eth0", Broadcast: ip("192.0.2.255")}, "only IPv4"},
		{"v6 broadcast on v4", Address{Prefix: pfx("192.0.2.1/24"), Dev: "eth0", Broadcast: ip("2001:db8::ff")}, "only IPv4"},
		{"v6 scope", Address{Prefix: pfx("2001:db8::1/64"), Dev: "eth0", Scope: ScopeHost}, "IPv6 addresses take their scope"},
		{"v6 label", Address{Prefix: pfx("2001:db8::1/64"), Dev: "eth0", Label: "eth0:x"}, "only IPv4 addresses have labels"},
		{"label prefix", Address{Prefix: pfx("192.0.2.1/32"), Dev: "eth0", Label: "eth1:vip"}, `must start with the device name "eth0"`},
		{"label long", Address{Prefix: pfx("192.0.2.1/32"), Dev: "eth0", Label: "eth0:0123456789a"}, "longer than 15"},
		{"peer family", Address{Prefix: pfx("192.0.2.1/32"), Dev: "eth0", Peer: ip("2001:db8::2")}, "peer"},
		{"peer and brd", Address{Prefix: pfx("192.0.2.1/32"), Dev: "eth0", Peer: ip("192.0.2.2"), Broadcast: ip("192.0.2.255")}, "exclusive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.a.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var e *Error
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) || !errors.As(err, &e) {
				t.Fatalf("Validate: %v, want *Error matching ErrInvalid containing %q", err, tc.want)
			}
		})
	}
}

func TestParseScope(t *testing.T) {
	for in, want := range map[string]Scope{
		"global": ScopeGlobal, "site": ScopeSite, "link": ScopeLink, "host": ScopeHost, "nowhere": ScopeNowhere,
		"0": 0, "253": ScopeLink, "17": 17, "255": 255,
	} {
		got, err := ParseScope(in)
		if err != nil || got != want {
			t.Errorf("ParseScope(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "256", "-1", "Global", "universe", "0x10"} {
		if _, err := ParseScope(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseScope(%q): %v, want ErrInvalid", in, err)
		}
	}
	if s := Scope(17).String(); s != "17" {
		t.Errorf("Scope(17) = %q", s)
	}
	if s := ScopeHost.String(); s != "host" {
		t.Errorf("ScopeHost = %q", s)
	}
}

func TestString(t *testing.T) {
	a := Address{
		Prefix: netip.MustParsePrefix("192.0.2.10/24"), Dev: "eth0", Broadcast: netip.MustParseAddr("192.0.2.255"),
		Scope: ScopeLink, Label: "eth0:1", NoPrefixRoute: true,
	}
	if got, want := a.String(), "192.0.2.10/24 brd 192.0.2.255 dev eth0 scope link label eth0:1 noprefixroute"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	b := Address{Prefix: netip.MustParsePrefix("2001:db8::1/128"), Dev: "eth0", DAD: true, PreferredLft: lft(Forever)}
	if got, want := b.String(), "2001:db8::1/128 dev eth0 scope global -nodad preferred_lft forever"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestToNetlink(t *testing.T) {
	pfx := netip.MustParsePrefix
	for _, tc := range []struct {
		name      string
		a         Address
		brd       net.IP
		flags     int
		pref, val int
	}{
		{"v4 no brd disables auto brd", Address{Prefix: pfx("192.0.2.1/24")}, net.IPv4zero, 0, 0, 0},
		{"v4 brd", Address{Prefix: pfx("192.0.2.1/24"), Broadcast: netip.MustParseAddr("192.0.2.255")}, net.IPv4(192, 0, 2, 255).To4(), 0, 0, 0},
		{"v4 preferred", Address{Prefix: pfx("192.0.2.1/24"), PreferredLft: lft(60)}, net.IPv4zero, 0, 60, int(^uint32(0))},
		{"v6 nodad", Address{Prefix: pfx("2001:db8::1/64")}, nil, unix.IFA_F_NODAD, 0, 0},
		{"v6 dad", Address{Prefix: pfx("2001:db8::1/64"), DAD: true}, nil, 0, 0, 0},
		{"v6 /128 deprecated", Address{Prefix: pfx("2001:db8::1/128")}, nil, unix.IFA_F_NODAD, 0, int(^uint32(0))},
		{"v6 flags", Address{Prefix: pfx("2001:db8::1/64"), Home: true, MngTmpAddr: true, NoPrefixRoute: true, AutoJoin: true}, nil,
			unix.IFA_F_NODAD | unix.IFA_F_HOMEADDRESS | unix.IFA_F_MANAGETEMPADDR | unix.IFA_F_NOPREFIXROUTE | unix.IFA_F_MCAUTOJOIN, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			na := toNetlink(tc.a)
			if ones, _ := na.Mask.Size(); ones != tc.a.Prefix.Bits() || !na.IP.Equal(tc.a.Prefix.Addr().AsSlice()) {
				t.Errorf("IPNet %v, want %v", na.IPNet, tc.a.Prefix)
			}
			if !na.Broadcast.Equal(tc.brd) {
				t.Errorf("broadcast %v, want %v", na.Broadcast, tc.brd)
			}
			if na.Flags != tc.flags {
				t.Errorf("flags %#x, want %#x", na.Flags, tc.flags)
			}
			if na.PreferedLft != tc.pref || na.ValidLft != tc.val {
				t.Errorf("lifetimes %d/%d, want %d/%d", na.PreferedLft, na.ValidLft, tc.pref, tc.val)
			}
		})
	}
}

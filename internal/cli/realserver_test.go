package cli

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/realserver"
)

// Only the command-line errors are tested here: they are reported before the kernel
// is touched. The command itself runs in a namespace in internal/realserver's tests
// and in the VM traffic tests.
func TestRealserverUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"realserver"}, "no VIP given"},
		{[]string{"realserver", "-down"}, "no VIP given"},
		{[]string{"realserver", "nope"}, `bad VIP "nope": not an IP address`},
		{[]string{"realserver", "192.0.2.1/24"}, "host address (/32), not a /24"},
		{[]string{"realserver", "2001:db8::1/64"}, "host address (/128), not a /64"},
		{[]string{"realserver", "0.0.0.0"}, "unspecified"},
		{[]string{"realserver", "127.0.0.1"}, "loopback"},
		{[]string{"realserver", "224.0.0.18"}, "multicast"},
		{[]string{"realserver", "fe80::1"}, "link-local"},
		{[]string{"realserver", "fe80::1%eth0"}, "zones are not allowed"},
		{[]string{"realserver", "-tun", "2001:db8::1"}, "IPv4 VIPs only"},
		{[]string{"realserver", "192.0.2.1", "-down"}, "flag -down after a VIP"},
		{[]string{"realserver", "-frob", "192.0.2.1"}, "flag provided but not defined: -frob"},
	}
	for _, tc := range tests {
		code, out, errOut := run(t, tc.args...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, code, ExitUsage, errOut)
		}
		if out != "" {
			t.Errorf("%v: stdout %q, want nothing", tc.args, out)
		}
		if !strings.Contains(errOut, tc.err) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, errOut, tc.err)
		}
	}
}

func TestRealserverHelp(t *testing.T) {
	code, out, _ := run(t, "help", "realserver")
	if code != ExitOK || !strings.Contains(out, "Usage: lvs-ha realserver [flags] VIP...") || !strings.Contains(out, "-tun") || !strings.Contains(out, "-down") {
		t.Errorf("help realserver: exit %d, output:\n%s", code, out)
	}
	if code, out, _ := run(t, "help"); code != ExitOK || !strings.Contains(out, "realserver") {
		t.Errorf("help does not list realserver:\n%s", out)
	}
}

func TestRealserverConfig(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		tun  bool
		args []string
		want realserver.Config
	}{
		{false, []string{"192.0.2.100"}, realserver.Config{VIPs: []netip.Addr{a("192.0.2.100")}}},
		{false, []string{"192.0.2.100/32", "2001:db8::100/128", "192.0.2.100", "::ffff:198.51.100.7"},
			realserver.Config{VIPs: []netip.Addr{a("192.0.2.100"), a("2001:db8::100"), a("198.51.100.7")}}},
		{true, []string{"203.0.113.5"}, realserver.Config{VIPs: []netip.Addr{a("203.0.113.5")}, Mode: realserver.TUN}},
	}
	for _, tc := range tests {
		got, err := realserverConfig(tc.tun, tc.args)
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if got.Mode != tc.want.Mode || !slices.Equal(got.VIPs, tc.want.VIPs) {
			t.Errorf("%v (tun %v): got %+v, want %+v", tc.args, tc.tun, got, tc.want)
		}
	}
}

package realserver

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

var (
	vip4 = netip.MustParseAddr("192.0.2.100")
	vip6 = netip.MustParseAddr("2001:db8::100")
	pfx  = netip.MustParsePrefix
)

func TestParseVIPs(t *testing.T) {
	tests := []struct {
		args []string
		want []netip.Addr
		err  string
	}{
		{args: []string{"192.0.2.100"}, want: []netip.Addr{vip4}},
		{args: []string{"2001:db8::100/128", "192.0.2.100/32", "192.0.2.100"}, want: []netip.Addr{vip6, vip4}},
		{args: []string{"::ffff:192.0.2.100"}, want: []netip.Addr{vip4}},
		{args: nil, err: "no VIP given"},
		{args: []string{""}, err: "not an IP address"},
		{args: []string{"192.0.2.300"}, err: "not an IP address"},
		{args: []string{"192.0.2.0/24"}, err: "not a /24"},
		{args: []string{"192.0.2.1/33"}, err: "bad VIP"},
		{args: []string{"::"}, err: "unspecified"},
		{args: []string{"::1"}, err: "loopback"},
		{args: []string{"ff02::12"}, err: "multicast"},
		{args: []string{"169.254.1.1"}, err: "link-local"},
		{args: []string{"255.255.255.255"}, err: "broadcast"},
		{args: []string{"fe80::1%lo"}, err: "zones"},
	}
	for _, tc := range tests {
		got, err := ParseVIPs(tc.args)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrBadVIP) {
				t.Errorf("ParseVIPs(%q) = %v, %v; want error with %q wrapping ErrBadVIP", tc.args, got, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseVIPs(%q) = %v, %v; want %v", tc.args, got, err, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		cfg Config
		err string
	}{
		{Config{VIPs: []netip.Addr{vip4, vip6}}, ""},
		{Config{VIPs: []netip.Addr{vip4}, Mode: TUN}, ""},
		{Config{}, "no VIP"},
		{Config{VIPs: []netip.Addr{vip6}, Mode: TUN}, "IPv4 VIPs only"},
		{Config{VIPs: []netip.Addr{{}}}, "invalid"},
		{Config{VIPs: []netip.Addr{vip4}, Mode: 7}, "unknown mode"},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%+v: Validate() = %v, want %q", tc.cfg, err, tc.err)
		}
	}
}

func sysctls(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// defaults are the kernel's values in a fresh namespace (tunl0 present when tun).
func defaults(tun bool) map[string]string {
	m := sysctls(
		"net.ipv4.conf.all.arp_ignore", "0", "net.ipv4.conf.all.arp_announce", "0",
		"net.ipv4.conf.lo.arp_ignore", "0", "net.ipv4.conf.lo.arp_announce", "0",
	)
	if tun {
		maps.Copy(m, sysctls(
			"net.ipv4.conf.tunl0.arp_ignore", "0", "net.ipv4.conf.tunl0.arp_announce", "0",
			"net.ipv4.conf.all.rp_filter", "1", "net.ipv4.conf.tunl0.rp_filter", "1",
		))
	}
	return m
}

func strs(chs []Change) []string {
	var out []string
	for _, c := range chs {
		out = append(out, c.String())
	}
	return out
}

func TestPlanUp(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		st   State
		want []string
	}{
		{
			name: "dr fresh",
			cfg:  Config{VIPs: []netip.Addr{vip4, vip6}},
			st:   State{Addrs: []netip.Prefix{pfx("127.0.0.1/8"), pfx("::1/128")}, Sysctls: defaults(false)},
			want: []string{
				"set net.ipv4.conf.all.arp_ignore=1 (was 0)",
				"set net.ipv4.conf.all.arp_announce=2 (was 0)",
				"set net.ipv4.conf.lo.arp_ignore=1 (was 0)",
				"set net.ipv4.conf.lo.arp_announce=2 (was 0)",
				"added 192.0.2.100/32 to lo",
				"added 2001:db8::100/128 to lo",
			},
		},
		{
			name: "dr configured",
			cfg:  Config{VIPs: []netip.Addr{vip4}},
			st: State{Addrs: []netip.Prefix{pfx("192.0.2.100/32")}, Sysctls: sysctls(
				"net.ipv4.conf.all.arp_ignore", "1", "net.ipv4.conf.all.arp_announce", "2",
				"net.ipv4.conf.lo.arp_ignore", "1", "net.ipv4.conf.lo.arp_announce", "2")},
			want: nil,
		},
		{
			name: "dr vip present with another length, one sysctl off",
			cfg:  Config{VIPs: []netip.Addr{vip4}},
			st: State{Addrs: []netip.Prefix{pfx("192.0.2.100/24")}, Sysctls: sysctls(
				"net.ipv4.conf.all.arp_ignore", "2", "net.ipv4.conf.all.arp_announce", "2",
				"net.ipv4.conf.lo.arp_ignore", "1", "net.ipv4.conf.lo.arp_announce", "2")},
			want: []string{"set net.ipv4.conf.all.arp_ignore=1 (was 2)"},
		},
		{
			name: "tun without tunl0",
			cfg:  Config{VIPs: []netip.Addr{vip4}, Mode: TUN},
			st:   State{Sysctls: defaults(false)},
			want: []string{"created tunl0"},
		},
		{
			name: "tun fresh",
			cfg:  Config{VIPs: []netip.Addr{vip4}, Mode: TUN},
			st:   State{TunnelExists: true, Sysctls: defaults(true)},
			want: []string{
				"set net.ipv4.conf.all.arp_ignore=1 (was 0)",
				"set net.ipv4.conf.all.arp_announce=2 (was 0)",
				"set net.ipv4.conf.lo.arp_ignore=1 (was 0)",
				"set net.ipv4.conf.lo.arp_announce=2 (was 0)",
				"set net.ipv4.conf.tunl0.arp_ignore=1 (was 0)",
				"set net.ipv4.conf.tunl0.arp_announce=2 (was 0)",
				"set net.ipv4.conf.tunl0.rp_filter=0 (was 1)",
				"set net.ipv4.conf.all.rp_filter=2 (was 1)",
				"added 192.0.2.100/32 to tunl0",
				"set tunl0 up",
			},
		},
		{
			name: "tun loose or off rp_filter left alone",
			cfg:  Config{VIPs: []netip.Addr{vip4}, Mode: TUN},
			st: State{TunnelExists: true, TunnelUp: true, Addrs: []netip.Prefix{pfx("192.0.2.100/32")}, Sysctls: func() map[string]string {
				m := defaults(true)
				for _, d := range []string{"all", "lo", "tunl0"} {
					m["net.ipv4.conf."+d+".arp_ignore"], m["net.ipv4.conf."+d+".arp_announce"] = "1", "2"
				}
				m["net.ipv4.conf.all.rp_filter"], m["net.ipv4.conf.tunl0.rp_filter"] = "0", "0"
				return m
			}()},
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := strs(PlanUp(tc.cfg, tc.st)); !slices.Equal(got, tc.want) {
				t.Errorf("PlanUp:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestPlanDown(t *testing.T) {
	configured := sysctls(
		"net.ipv4.conf.all.arp_ignore", "1", "net.ipv4.conf.all.arp_announce", "2",
		"net.ipv4.conf.lo.arp_ignore", "1", "net.ipv4.conf.lo.arp_announce", "0",
		"net.ipv4.conf.tunl0.arp_ignore", "1", "net.ipv4.conf.tunl0.arp_announce", "2",
		"net.ipv4.conf.all.rp_filter", "2", "net.ipv4.conf.tunl0.rp_filter", "0")
	tests := []struct {
		name string
		cfg  Config
		st   State
		want []string
	}{
		{
			name: "dr",
			cfg:  Config{VIPs: []netip.Addr{vip4, vip6}},
			st:   State{Addrs: []netip.Prefix{pfx("127.0.0.1/8"), pfx("192.0.2.100/24"), pfx("2001:db8::100/128")}, Sysctls: configured},
			want: []string{
				"removed 192.0.2.100/24 from lo",
				"removed 2001:db8::100/128 from lo",
				"set net.ipv4.conf.all.arp_ignore=0 (was 1)",
				"set net.ipv4.conf.all.arp_announce=0 (was 2)",
				"set net.ipv4.conf.lo.arp_ignore=0 (was 1)",
			},
		},
		{
			name: "dr already down",
			cfg:  Config{VIPs: []netip.Addr{vip4}},
			st:   State{Addrs: []netip.Prefix{pfx("127.0.0.1/8")}, Sysctls: defaults(false)},
		},
		{
			name: "tun",
			cfg:  Config{VIPs: []netip.Addr{vip4}, Mode: TUN},
			st:   State{TunnelExists: true, TunnelUp: true, Addrs: []netip.Prefix{pfx("192.0.2.100/32")}, Sysctls: configured},
			want: []string{
				"removed 192.0.2.100/32 from tunl0",
				"set net.ipv4.conf.all.arp_ignore=0 (was 1)",
				"set net.ipv4.conf.all.arp_announce=0 (was 2)",
				"set net.ipv4.conf.lo.arp_ignore=0 (was 1)",
				"set net.ipv4.conf.tunl0.arp_ignore=0 (was 1)",
				"set net.ipv4.conf.tunl0.arp_announce=0 (was 2)",
			},
		},
		{
			name: "tun without tunl0",
			cfg:  Config{VIPs: []netip.Addr{vip4}, Mode: TUN},
			st:   State{Sysctls: defaults(false)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := strs(PlanDown(tc.cfg, tc.st)); !slices.Equal(got, tc.want) {
				t.Errorf("PlanDown:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// fakeSystem is an in-memory kernel: one VIP device, tunl0 creation making its
// sysctls appear like the ipip module does.
type fakeSystem struct {
	tunnel, tunnelUp bool
	addrs            map[string][]netip.Prefix
	sysctls          map[string]string
	failOn           Op
	applied          int
}

func newFake() *fakeSystem {
	return &fakeSystem{
		addrs:   map[string][]netip.Prefix{Loopback: {pfx("127.0.0.1/8"), pfx("::1/128")}},
		sysctls: defaults(false),
	}
}

func (f *fakeSystem) State(c Config) (State, error) {
	st := State{TunnelExists: f.tunnel, TunnelUp: f.tunnelUp, Addrs: slices.Clone(f.addrs[c.Device()]), Sysctls: map[string]string{}}
	for _, k := range c.SysctlKeys() {
		if v, ok := f.sysctls[k]; ok {
			st.Sysctls[k] = v
		}
	}
	return st, nil
}

func (f *fakeSystem) Apply(ch Change) error {
	if ch.Op == f.failOn {
		return errors.New("injected failure")
	}
	f.applied++
	switch ch.Op {
	case CreateTunnel:
		f.tunnel = true
		maps.Copy(f.sysctls, sysctls("net.ipv4.conf.tunl0.arp_ignore", "0", "net.ipv4.conf.tunl0.arp_announce", "0",
			"net.ipv4.conf.tunl0.rp_filter", "1", "net.ipv4.conf.all.rp_filter", "1"))
	case LinkUp:
		f.tunnelUp = true
	case AddAddr:
		f.addrs[ch.Dev] = append(f.addrs[ch.Dev], ch.Prefix)
	case DelAddr:
		f.addrs[ch.Dev] = slices.DeleteFunc(f.addrs[ch.Dev], func(p netip.Prefix) bool { return p == ch.Prefix })
	case SetSysctl:
		if _, ok := f.sysctls[ch.Key]; !ok {
			return fmt.Errorf("no sysctl %s", ch.Key)
		}
		f.sysctls[ch.Key] = ch.To
	}
	return nil
}

func TestUpDownIdempotent(t *testing.T) {
	for _, cfg := range []Config{
		{VIPs: []netip.Addr{vip4, vip6}},
		{VIPs: []netip.Addr{vip4}, Mode: TUN},
	} {
		t.Run(cfg.Mode.String(), func(t *testing.T) {
			f := newFake()
			chs, err := Up(f, cfg)
			if err != nil || len(chs) == 0 {
				t.Fatalf("first Up = %q, %v", strs(chs), err)
			}
			if cfg.Mode == TUN && chs[0].Op != CreateTunnel {
				t.Errorf("first TUN change %v, want tunnel creation", chs[0])
			}
			if chs, err := Up(f, cfg); err != nil || len(chs) != 0 {
				t.Errorf("second Up = %q, %v; want no change", strs(chs), err)
			}
			if chs, err := Down(f, cfg); err != nil || len(chs) == 0 {
				t.Errorf("Down = %q, %v", strs(chs), err)
			}
			if chs, err := Down(f, cfg); err != nil || len(chs) != 0 {
				t.Errorf("second Down = %q, %v; want no change", strs(chs), err)
			}
			for _, d := range cfg.arpDevices() {
				if v := f.sysctls[arpIgnore(d)] + f.sysctls[arpAnnounce(d)]; v != "00" {
					t.Errorf("%s arp_ignore/arp_announce after Down = %q, want 0 0", d, v)
				}
			}
			for _, a := range cfg.VIPs {
				if _, ok := findAddr(f.addrs[cfg.Device()], a); ok {
					t.Errorf("%v still on %s after Down", a, cfg.Device())
				}
			}
		})
	}
}

func TestUpErrors(t *testing.T) {
	f := newFake()
	f.failOn = AddAddr
	chs, err := Up(f, Config{VIPs: []netip.Addr{vip4}})
	if err == nil || !strings.Contains(err.Error(), "added 192.0.2.100/32 to lo: injected failure") {
		t.Errorf("Up error = %v", err)
	}
	if len(chs) != 4 {
		t.Errorf("changes before the failure = %q, want the 4 sysctls", strs(chs))
	}
	if _, err := Up(newFake(), Config{}); !errors.Is(err, ErrBadVIP) {
		t.Errorf("Up with no VIP = %v, want ErrBadVIP", err)
	}
	// A tunnel that never appears.
	f = newFake()
	f.failOn = 0
	stuck := &stuckTunnel{f}
	if _, err := Up(stuck, Config{VIPs: []netip.Addr{vip4}, Mode: TUN}); err == nil || !strings.Contains(err.Error(), "tunl0 still not ready") {
		t.Errorf("Up with a tunnel that never appears = %v", err)
	}
}

type stuckTunnel struct{ *fakeSystem }

func (s *stuckTunnel) Apply(ch Change) error {
	if ch.Op == CreateTunnel {
		return nil
	}
	return s.fakeSystem.Apply(ch)
}

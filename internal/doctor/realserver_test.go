package doctor

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/lvs-ha/lvs-ha/internal/realserver"
	"github.com/vishvananda/netlink"
)

// realServer runs the real server checks inside the namespace.
func (l *lab) realServer(c realserver.Config) []Finding {
	l.t.Helper()
	return l.run(nil, func(k *Kernel) ([]Finding, error) { return RealServer(c, k) })
}

func TestRealServerDRNetns(t *testing.T) {
	l := newLab(t)
	c := realserver.Config{VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
	fs := l.realServer(c)
	want(t, only(fs, "rs-vip"), 1, "VIP 10.0.0.100 is not on lo", "ip addr add 10.0.0.100/32 dev lo")
	want(t, only(fs, "rs-arp"), 4, "lvs-ha realserver 10.0.0.100")
	want(t, only(fs, "rs-arp")[:1], 1, "net.ipv4.conf.all.arp_ignore=0, want 1")

	l.addr("lo", "10.0.0.100/32", true)
	l.sysctl("net.ipv4.conf.all.arp_ignore", "1")
	l.sysctl("net.ipv4.conf.lo.arp_ignore", "1")
	l.sysctl("net.ipv4.conf.lo.arp_announce", "2")
	want(t, l.realServer(c), 1, "[rs-arp] net.ipv4.conf.all.arp_announce=0, want 2")
	l.sysctl("net.ipv4.conf.all.arp_announce", "2")
	want(t, l.realServer(c), 0)
}

func TestRealServerTUNNetns(t *testing.T) {
	l := newLab(t)
	c := realserver.Config{Mode: realserver.TUN, VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
	// Fix everything but rp_filter with lvs-ha realserver's own code.
	var err error
	l.ns.Do(func() error {
		k, e := realserver.NewKernel()
		if e != nil {
			return e
		}
		defer k.Close()
		_, err = realserver.Up(k, c)
		return nil
	})
	if errors.Is(err, realserver.ErrNoTunnel) {
		t.Skipf("kernel without ipip: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	want(t, l.realServer(c), 0)
	l.sysctl("net.ipv4.conf.tunl0.rp_filter", "1")
	l.sysctl("net.ipv4.conf.all.rp_filter", "1")
	want(t, l.realServer(c), 2, "[rs-rp-filter]", "rp_filter=1, want", "decapsulated")
	l.sysctl("net.ipv4.conf.tunl0.rp_filter", "0")
	l.sysctl("net.ipv4.conf.all.rp_filter", "2")
	want(t, l.realServer(c), 0)
	l.sh("ip", "addr", "del", "10.0.0.100/32", "dev", "tunl0")
	want(t, l.realServer(c), 1, "[rs-vip] VIP 10.0.0.100 is not on tunl0", "lvs-ha realserver -tun 10.0.0.100")
}

func TestRealServerTUNMissingTunnelNetns(t *testing.T) {
	l := newLab(t)
	exists := false
	l.do(func() error {
		_, err := netlink.LinkByName("tunl0")
		exists = err == nil
		return nil
	})
	if exists {
		t.Skip("tunl0 exists in every namespace (ipip loaded)")
	}
	c := realserver.Config{Mode: realserver.TUN, VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
	want(t, l.realServer(c), 1, "[rs-vip] tunl0 does not exist", "modprobe ipip")
}

// TestRealServerTUNFake covers what the ipip-less host cannot stage: tunl0
// down, its rp_filter, and the clean state.
func TestRealServerTUNFake(t *testing.T) {
	c := realserver.Config{Mode: realserver.TUN, VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
	good := map[string]string{"net.ipv4.conf.all.rp_filter": "2", "net.ipv4.conf.tunl0.rp_filter": "0"}
	for _, d := range []string{"all", "lo", "tunl0"} {
		good["net.ipv4.conf."+d+".arp_ignore"] = "1"
		good["net.ipv4.conf."+d+".arp_announce"] = "2"
	}
	st := realserver.State{TunnelExists: true, TunnelUp: true, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.100/32")}, Sysctls: good}
	fs, err := RealServer(c, &fakeSystem{rs: st})
	if err != nil {
		t.Fatal(err)
	}
	want(t, fs, 0)

	bad := map[string]string{}
	for k, v := range good {
		bad[k] = v
	}
	bad["net.ipv4.conf.all.rp_filter"] = "1"
	bad["net.ipv4.conf.tunl0.rp_filter"] = "1"
	st.Sysctls, st.TunnelUp = bad, false
	fs, err = RealServer(c, &fakeSystem{rs: st})
	if err != nil {
		t.Fatal(err)
	}
	want(t, only(fs, "rs-rp-filter"), 2, "rp_filter=1, want", "decapsulated", "lvs-ha realserver -tun 10.0.0.100")
	want(t, only(fs, "rs-vip"), 1, "tunl0 is down", "ip link set tunl0 up")
}

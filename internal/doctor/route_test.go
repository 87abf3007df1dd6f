package doctor

import (
	"net/netip"
	"testing"
)

const natRouteConf = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.0.0.100/24
        10.2.2.1/24 dev eth1
    }
}
virtual_server 10.0.0.100 80 {
    lb_kind NAT
    protocol TCP
    real_server 10.1.1.5 80 {
    }
    real_server 10.2.2.5 80 {
    }
    real_server 10.3.3.5 80 {
        lb_kind DR
    }
}
virtual_server 10.0.0.100 443 {
    lb_kind NAT
    protocol TCP
    real_server 10.1.1.5 443 {
    }
}
`

// TestNATRouteNetns: a NAT real server on no subnet of the director is
// reported once (10.1.1.5 serves two virtual servers); one on the subnet of
// a VIP (10.2.2.1/24, on the director while MASTER) and a DR one are not.
func TestNATRouteNetns(t *testing.T) {
	l := newLab(t)
	cfg := load(t, natRouteConf)
	want(t, l.director(cfg, Options{}, "nat-rs-route"), 1, "keepalived.conf:13:5:", "NAT real server 10.1.1.5 (virtual server 10.0.0.100:80) is not on a subnet", "lvs-ha doctor -realserver -nat VIP")
	l.addr("eth1", "10.1.1.1/24", true)
	want(t, l.director(cfg, Options{}, "nat-rs-route"), 0)
}

// realServerNAT runs the NAT real server check inside the namespace.
func (l *lab) realServerNAT(gw string) []Finding {
	l.t.Helper()
	return l.run(nil, func(k *Kernel) ([]Finding, error) { return NATRealServer(netip.MustParseAddr(gw), k) })
}

func TestNATRealServerNetns(t *testing.T) {
	l := newLab(t)
	l.addr("eth0", "10.1.1.5/24", true)
	want(t, l.realServerNAT("10.1.1.1"), 1, "[rs-nat-gateway] no default route", "ip -4 route add default via 10.1.1.1")
	l.sh("ip", "route", "add", "default", "via", "10.1.1.9", "dev", "eth0")
	want(t, l.realServerNAT("10.1.1.1"), 1, "the default route is via 10.1.1.9 dev eth0, not via the director 10.1.1.1", "ip -4 route replace default via 10.1.1.1")
	// A second default route with a higher metric does not count.
	l.sh("ip", "route", "add", "default", "via", "10.1.1.1", "dev", "eth0", "metric", "100")
	want(t, l.realServerNAT("10.1.1.1"), 1, "via 10.1.1.9")
	l.sh("ip", "route", "replace", "default", "via", "10.1.1.1", "dev", "eth0")
	want(t, l.realServerNAT("10.1.1.1"), 0)

	// IPv6 is checked apart.
	l.addr("eth0", "2001:db8:1::5/64", true)
	want(t, l.realServerNAT("2001:db8:1::1"), 1, "no default route", "ip -6 route add default via 2001:db8:1::1")
}

func TestNATRealServerFake(t *testing.T) {
	gw := netip.MustParseAddr("10.1.1.1")
	sys := &fakeSystem{routes: []DefaultRoute{{Gateways: []netip.Addr{netip.MustParseAddr("10.1.1.9"), gw}, Dev: "eth0"}}}
	fs, err := NATRealServer(gw, sys)
	if err != nil || len(fs) != 0 {
		t.Errorf("multipath via the director: %v, %v", fs, err)
	}
	sys.routes = []DefaultRoute{{Dev: "ppp0"}}
	fs, err = NATRealServer(gw, sys)
	if err != nil {
		t.Fatal(err)
	}
	want(t, fs, 1, "the default route is dev ppp0 (no gateway), not via the director 10.1.1.1")
	if _, err := NATRealServer(netip.IPv4Unspecified(), sys); err == nil {
		t.Error("0.0.0.0 accepted as gateway")
	}
}

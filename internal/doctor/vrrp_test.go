package doctor

import "testing"

const vrrpConf = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    unicast_src_ip 10.1.1.2
    unicast_peer {
        10.1.1.3
    }
    virtual_ipaddress {
        10.1.1.100/24
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.1.2.100/24
    }
}
vrrp_instance VI_3 {
    interface eth1
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.1.3.100/24
    }
}
`

func TestRPFilterNetns(t *testing.T) {
	l := newLab(t)
	cfg := load(t, vrrpConf)
	l.sysctl("net.ipv4.conf.all.rp_filter", "0")
	l.sysctl("net.ipv4.conf.eth0.rp_filter", "1")
	l.sysctl("net.ipv4.conf.eth1.rp_filter", "2")
	want(t, l.director(cfg, Options{}, "rp-filter"), 1, "keepalived.conf:1:15:", "VI_1", "eth0", "net.ipv4.conf.eth0.rp_filter=2")
	l.sysctl("net.ipv4.conf.all.rp_filter", "1")
	want(t, l.director(cfg, Options{}, "rp-filter"), 2, "net.ipv4.conf.all.rp_filter=2")

	l.sysctl("net.ipv4.conf.all.rp_filter", "0")
	l.sysctl("net.ipv4.conf.eth0.rp_filter", "2")
	want(t, l.director(cfg, Options{}, "rp-filter"), 0)
}

func TestVRIDNetns(t *testing.T) {
	l := newLab(t)
	want(t, l.director(load(t, vrrpConf), Options{}, "vrid"), 1, "keepalived.conf:13:15:", "VI_2", "51", "VI_1", "keepalived.conf:1:15)")
	fixed := load(t, `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.1.1.100/24
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 100
    virtual_ipaddress {
        10.1.2.100/24
    }
}
vrrp_instance VI_6 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        2001:db8::100/64
    }
}
`)
	want(t, l.director(fixed, Options{}, "vrid"), 0)
}

func TestUnicastSrcNetns(t *testing.T) {
	l := newLab(t)
	cfg := load(t, vrrpConf)
	l.addr("eth0", "10.1.1.1/24", true)
	want(t, l.director(cfg, Options{}, "unicast-src"), 1, "keepalived.conf:1:15:", "unicast_src_ip 10.1.1.2 is not an address of eth0")
	l.addr("eth0", "10.1.1.2/24", true)
	want(t, l.director(cfg, Options{}, "unicast-src"), 0)
}

func TestStaticVIPNetns(t *testing.T) {
	l := newLab(t)
	cfg := load(t, vrrpConf)
	l.addr("eth1", "10.1.2.100/24", true)
	want(t, l.director(cfg, Options{}, "static-vip"), 1, "keepalived.conf:18:9:", "VI_2", "10.1.2.100 is already on eth1", "ip addr del 10.1.2.100/24 dev eth1")
	// With lvs-ha running, the VIP is its own.
	want(t, l.director(cfg, Options{Running: true}, "static-vip"), 0)
	l.addr("eth1", "10.1.2.100/24", false)
	want(t, l.director(cfg, Options{}, "static-vip"), 0)

	// The address owner (priority 255) owns its VIP: it is its address.
	l.addr("eth0", "10.1.1.1/24", true)
	owner := load(t, `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 255
    virtual_ipaddress {
        10.1.1.1/24
    }
}
`)
	want(t, l.director(owner, Options{}, "static-vip"), 0)
}

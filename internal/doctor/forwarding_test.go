package doctor

import "testing"

const natConf = `virtual_server 10.0.0.100 80 {
    lb_kind NAT
    protocol TCP
    real_server 10.1.1.5 80 {
    }
}
virtual_server 2001:db8::100 80 {
    lb_kind DR
    protocol TCP
    real_server 2001:db8::5 80 {
        lb_kind NAT
    }
}
`

func TestForwardingNetns(t *testing.T) {
	l := newLab(t)
	cfg := load(t, natConf)
	l.sysctl("net.ipv4.ip_forward", "0")
	l.sysctl("net.ipv6.conf.all.forwarding", "0")
	fs := l.director(cfg, Options{}, "forwarding")
	want(t, fs, 2, "keepalived.conf:", "sysctl -w net.")
	want(t, fs[:1], 1, "keepalived.conf:1:1:", "10.0.0.100:80", "net.ipv4.ip_forward=1")
	want(t, fs[1:], 1, "keepalived.conf:7:1:", "net.ipv6.conf.all.forwarding=1")

	l.sysctl("net.ipv4.ip_forward", "1")
	l.sysctl("net.ipv6.conf.all.forwarding", "1")
	want(t, l.director(cfg, Options{}, "forwarding"), 0)
}

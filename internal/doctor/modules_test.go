package doctor

import (
	"os"
	"path/filepath"
	"testing"
)

const ipvsConf = `virtual_server 10.0.0.100 80 {
    lb_algo wlc
    lb_kind DR
    protocol TCP
    real_server 10.1.1.5 80 {
    }
}
virtual_server 10.0.0.101 80 {
    lb_algo mh
    lb_kind DR
    protocol TCP
    real_server 10.1.1.5 80 {
    }
}
`

func TestModulesHostNetns(t *testing.T) {
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		t.Skip("this kernel has ip_vs")
	}
	l := newLab(t)
	fs := l.director(load(t, ipvsConf), Options{}, "ip-vs")
	want(t, fs, 1, "keepalived.conf:1:1:", "has no IP_VS", "use a kernel with CONFIG_IP_VS")
}

func TestModulesTreeNetns(t *testing.T) {
	l := newLab(t)
	cfg := load(t, ipvsConf)
	root := t.TempDir()
	dir := filepath.Join(root, "lib/modules/6.1.0-test")
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(check string) []Finding {
		t.Helper()
		return only(l.run(func(k *Kernel) { k.Root, k.Release = root, "6.1.0-test" },
			func(k *Kernel) ([]Finding, error) { return Director(cfg, k, Options{}) }), check)
	}
	// No tree at all.
	want(t, run("ip-vs"), 1, "/lib/modules/6.1.0-test does not exist", "CONFIG_IP_VS")
	// A tree without ip_vs.
	write("modules.dep", "kernel/net/ipv4/ipip.ko: kernel/net/ipv4/ip_tunnel.ko\n")
	want(t, run("ip-vs"), 1, "no module in /lib/modules/6.1.0-test/modules.dep")
	// ip_vs loadable, wlc built in, mh missing.
	write("modules.dep", "kernel/net/netfilter/ipvs/ip_vs.ko.xz: kernel/net/netfilter/nf_conntrack.ko.xz\nkernel/net/netfilter/ipvs/ip_vs_rr.ko.xz: kernel/net/netfilter/ipvs/ip_vs.ko.xz\n")
	write("modules.builtin", "kernel/net/netfilter/ipvs/ip_vs_wlc.ko\n")
	want(t, run("ip-vs"), 0)
	want(t, run("scheduler"), 1, "keepalived.conf:8:1:", "lb_algo mh needs module ip_vs_mh", "CONFIG_IP_VS_MH")
	write("modules.dep", "kernel/net/netfilter/ipvs/ip_vs.ko.xz:\nkernel/net/netfilter/ipvs/ip_vs_mh.ko.xz: kernel/net/netfilter/ipvs/ip_vs.ko.xz\n")
	want(t, run("scheduler"), 0)
}

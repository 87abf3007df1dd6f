package doctor

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sort"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/conf/syntax"
	"github.com/lvs-ha/lvs-ha/internal/realserver"
)

// Finding is one problem and how to fix it.
type Finding struct {
	Check   string      `json:"check"`
	Pos     *syntax.Pos `json:"pos,omitempty"` // the config object involved, if any
	Problem string      `json:"problem"`
	Fix     string      `json:"fix"`
}

// String renders the finding like check-config's diagnostics:
// FILE:LINE:COL: [check] problem; fix: ...
func (f Finding) String() string {
	s := fmt.Sprintf("[%s] %s; fix: %s", f.Check, f.Problem, f.Fix)
	if f.Pos != nil {
		return f.Pos.String() + ": " + s
	}
	return s
}

// Check names one check for the help text and README.
type Check struct {
	Name string
	Doc  string
}

// Checks are every check, in the order they run.
var Checks = []Check{
	{"forwarding", "NAT virtual servers need net.ipv4.ip_forward=1 (net.ipv6.conf.all.forwarding=1 for IPv6 ones)"},
	{"nat-rs-route", "a NAT real server not on a subnet of the director (an interface address or a VIP): its replies bypass the director unless routed back"},
	{"rp-filter", "strict reverse-path filtering (rp_filter=1 on all or the interface) on a VRRP instance's interface"},
	{"vrid", "two VRRP instances with the same virtual_router_id and family on one interface"},
	{"unicast-src", "unicast_src_ip/mcast_src_ip not an address of the instance's interface"},
	{"static-vip", "a VIP already on an interface while lvs-ha is not running (VRRP cannot move it); not for priority 255 address owners"},
	{"ip-vs", "the ip_vs module neither built in, loaded nor loadable"},
	{"scheduler", "the ip_vs_LB_ALGO scheduler module of a virtual server neither built in, loaded nor loadable"},
	{"firewall-vrrp", "nftables or iptables-legacy input/prerouting rules dropping VRRP (protocol 112, 224.0.0.18)"},
	{"firewall-vip", "nftables or iptables-legacy input/prerouting rules dropping or DNATing traffic to a virtual server address"},
	{"vs-conntrack", "NAT virtual servers with a stateful firewall (nft ct, iptables -m conntrack/state) but net.ipv4.vs.conntrack=0"},
	{"rs-vip", "real server (-realserver): a VIP not on lo (tunl0 with -tun), tunl0 missing or down"},
	{"rs-arp", "real server: arp_ignore/arp_announce not 1/2 on all and lo (and tunl0)"},
	{"rs-rp-filter", "real server with -tun: rp_filter on tunl0 not 0 or on all strict (1), dropping decapsulated traffic"},
	{"rs-nat-gateway", "NAT real server (-realserver -nat GATEWAY): the default route not via GATEWAY, the director's inside address"},
}

// Modules describes the kernel modules of the running kernel.
type Modules struct {
	Release string
	// Present: names (ip_vs, ip_vs_rr...) built in or loaded.
	Present map[string]bool
	// Loadable: names with a module file in modules.dep.
	Loadable map[string]bool
	// Tree is false when /lib/modules/RELEASE does not exist.
	Tree bool
}

// System is the part of the running system the checks read.
type System interface {
	// Sysctl returns a dotted sysctl's trimmed value; an error wrapping
	// os.ErrNotExist when it does not exist.
	Sysctl(key string) (string, error)
	// Addrs returns the addresses of every interface, by name.
	Addrs() (map[string][]netip.Prefix, error)
	// Ruleset returns the output of `nft -j list ruleset` (nil: nft not installed).
	Ruleset() ([]byte, error)
	// LegacyRules returns the output of iptables-legacy-save and
	// ip6tables-legacy-save (nil: not installed).
	LegacyRules() (v4, v6 []byte, err error)
	// DefaultRoutes lists the default routes of the main table.
	DefaultRoutes() ([]DefaultRoute, error)
	// Modules describes the kernel's modules.
	Modules() (Modules, error)
	// RealServer reads the state realserver.PlanUp needs.
	RealServer(c realserver.Config) (realserver.State, error)
}

// Options are what the checks need besides the system.
type Options struct {
	// Running: lvs-ha runs on this host (its VIPs are expected on the interfaces).
	Running bool
}

// sysctl reads key; ok is false when it does not exist.
func sysctl(sys System, key string) (string, bool, error) {
	v, err := sys.Sysctl(key)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return v, true, nil
}

func pos(p syntax.Pos) *syntax.Pos { return &p }

// Director runs the director checks for cfg. A check that cannot read what it
// needs (e.g. nft without root) is skipped: its error is joined into the
// returned one while the other checks still run.
func Director(cfg *conf.Config, sys System, o Options) ([]Finding, error) {
	var out []Finding
	var errs []error
	for _, f := range []func(*conf.Config, System, Options) ([]Finding, error){
		checkForwarding, checkNATRoute, checkRPFilter, checkVRID, checkUnicastSrc, checkStaticVIP,
		checkModules, checkFirewall,
	} {
		fs, err := f(cfg, sys, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, fs...)
	}
	return out, errors.Join(errs...)
}

// checkForwarding: NAT needs the director to route the real servers' replies.
func checkForwarding(cfg *conf.Config, sys System, _ Options) ([]Finding, error) {
	var out []Finding
	keys := map[conf.Family]string{conf.Inet: "net.ipv4.ip_forward", conf.Inet6: "net.ipv6.conf.all.forwarding"}
	for _, fam := range []conf.Family{conf.Inet, conf.Inet6} {
		vs := firstNAT(cfg, fam)
		if vs == nil {
			continue
		}
		key := keys[fam]
		v, ok, err := sysctl(sys, key)
		if err != nil {
			return nil, err
		}
		if ok && v != "1" {
			out = append(out, Finding{Check: "forwarding", Pos: pos(vs.Pos),
				Problem: fmt.Sprintf("NAT virtual server %s but %s=%s: the real servers' replies are not forwarded back to the clients", vsName(vs), key, v),
				Fix:     fmt.Sprintf("sysctl -w %s=1 (and persist it in /etc/sysctl.d/)", key)})
		}
	}
	return out, nil
}

func isNAT(vs *conf.VirtualServer) bool {
	if vs.Forwarding.Method == "NAT" {
		return true
	}
	for _, rs := range vs.RealServers {
		if rs.Forwarding.Method == "NAT" {
			return true
		}
	}
	return false
}

func firstNAT(cfg *conf.Config, fam conf.Family) *conf.VirtualServer {
	for _, vs := range cfg.VirtualServers {
		if vs.Family == fam && isNAT(vs) {
			return vs
		}
	}
	return nil
}

func vsName(vs *conf.VirtualServer) string {
	switch {
	case vs.IsFWMark:
		return fmt.Sprintf("fwmark %d", vs.FWMark)
	case vs.Group != "":
		return "group " + vs.Group
	}
	return netip.AddrPortFrom(vs.Addr, vs.Port).String()
}

func ifaceOf(cfg *conf.Config, in *conf.VRRPInstance) string {
	if in.Interface != "" {
		return in.Interface
	}
	return cfg.Global.DefaultInterface
}

// checkRPFilter: the kernel applies max(all, dev); 1 (strict) drops adverts and
// VIP traffic whose source is routed via another interface.
func checkRPFilter(cfg *conf.Config, sys System, _ Options) ([]Finding, error) {
	var out []Finding
	seen := map[string]bool{}
	for _, in := range cfg.VRRPInstances {
		dev := ifaceOf(cfg, in)
		if in.Family == conf.Inet6 || dev == "" || seen[dev] {
			continue
		}
		seen[dev] = true
		var strict []string
		for _, d := range []string{"all", dev} {
			key := "net.ipv4.conf." + d + ".rp_filter"
			v, ok, err := sysctl(sys, key)
			if err != nil {
				return nil, err
			}
			if ok && v == "1" {
				strict = append(strict, key)
			}
		}
		if len(strict) > 0 {
			fix := ""
			for _, k := range strict {
				fix += " " + k + "=2"
			}
			out = append(out, Finding{Check: "rp-filter", Pos: pos(in.Pos),
				Problem: fmt.Sprintf("vrrp_instance %s: strict reverse-path filtering on %s (%s=1): packets from sources routed via another interface are dropped", in.Name, dev, strict[0]),
				Fix:     "sysctl -w" + fix + " (loose; 0 turns it off)"})
		}
	}
	return out, nil
}

// checkVRID: VRRP tells routers apart by VRID per interface and family.
func checkVRID(cfg *conf.Config, _ System, _ Options) ([]Finding, error) {
	var out []Finding
	type key struct {
		dev string
		fam conf.Family
		id  int
	}
	first := map[key]*conf.VRRPInstance{}
	for _, in := range cfg.VRRPInstances {
		k := key{ifaceOf(cfg, in), in.Family, in.VRID}
		if f, ok := first[k]; ok {
			out = append(out, Finding{Check: "vrid", Pos: pos(in.Pos),
				Problem: fmt.Sprintf("vrrp_instance %s has virtual_router_id %d on %s like vrrp_instance %s (%s): each takes the other's adverts as its own router's", in.Name, in.VRID, k.dev, f.Name, f.Pos),
				Fix:     "give each instance on an interface its own virtual_router_id"})
			continue
		}
		first[k] = in
	}
	return out, nil
}

func hasAddr(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Addr() == a {
			return true
		}
	}
	return false
}

// checkUnicastSrc: the source address must be the interface's.
func checkUnicastSrc(cfg *conf.Config, sys System, _ Options) ([]Finding, error) {
	var out []Finding
	var addrs map[string][]netip.Prefix
	for _, in := range cfg.VRRPInstances {
		if !in.SrcIP.IsValid() {
			continue
		}
		if addrs == nil {
			var err error
			if addrs, err = sys.Addrs(); err != nil {
				return nil, err
			}
		}
		dev := ifaceOf(cfg, in)
		if ps, ok := addrs[dev]; ok && !hasAddr(ps, in.SrcIP) {
			kw := "mcast_src_ip"
			if in.Unicast {
				kw = "unicast_src_ip"
			}
			out = append(out, Finding{Check: "unicast-src", Pos: pos(in.Pos),
				Problem: fmt.Sprintf("vrrp_instance %s: %s %v is not an address of %s", in.Name, kw, in.SrcIP, dev),
				Fix:     fmt.Sprintf("ip addr add %v/PREFIX dev %s, or set %s to one of %s's addresses", in.SrcIP, dev, kw, dev)})
		}
	}
	return out, nil
}

// checkStaticVIP: a VIP configured by hand stays when VRRP moves it away.
func checkStaticVIP(cfg *conf.Config, sys System, o Options) ([]Finding, error) {
	if o.Running {
		return nil, nil
	}
	var out []Finding
	var addrs map[string][]netip.Prefix
	for _, in := range cfg.VRRPInstances {
		if in.Priority == 255 {
			continue // the address owner: its VIPs are its own addresses (RFC 5798)
		}
		for _, v := range append(append([]*conf.VIP(nil), in.VIPs...), in.ExcludedVIPs...) {
			if addrs == nil {
				var err error
				if addrs, err = sys.Addrs(); err != nil {
					return nil, err
				}
			}
			devs := make([]string, 0, len(addrs))
			for d := range addrs {
				devs = append(devs, d)
			}
			sort.Strings(devs)
			for _, d := range devs {
				if hasAddr(addrs[d], v.Addr.Addr()) {
					out = append(out, Finding{Check: "static-vip", Pos: pos(v.Pos),
						Problem: fmt.Sprintf("vrrp_instance %s: VIP %v is already on %s while lvs-ha is not running: it stays there when VRRP moves the VIP to another director (both answer ARP)", in.Name, v.Addr.Addr(), d),
						Fix:     fmt.Sprintf("ip addr del %v dev %s (and remove it from the network configuration); lvs-ha adds it when MASTER", v.Addr, d)})
				}
			}
		}
	}
	return out, nil
}

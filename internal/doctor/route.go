package doctor

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/lvs-ha/lvs-ha/conf"
)

// DefaultRoute is a default route of the main table.
type DefaultRoute struct {
	Gateways []netip.Addr // next hops (several for a multipath route); none for a device route
	Dev      string
	Metric   int
	V6       bool
}

// checkNATRoute: a NAT real server's replies must come back through the
// director, which un-NATs them; on a subnet of the director with its default
// route via the director's (inside VIP) address they do. On another subnet
// they do only if that network routes them here: the director cannot tell,
// so it says so.
func checkNATRoute(cfg *conf.Config, sys System, _ Options) ([]Finding, error) {
	var addrs map[string][]netip.Prefix
	var vips []netip.Prefix // the VRRP VIPs: connected while MASTER
	for _, in := range cfg.VRRPInstances {
		for _, v := range append(slices.Clone(in.VIPs), in.ExcludedVIPs...) {
			vips = append(vips, v.Addr)
		}
	}
	var out []Finding
	seen := map[netip.Addr]bool{}
	for _, vs := range cfg.VirtualServers {
		for _, rs := range vs.RealServers {
			if rs.Forwarding.Method != "NAT" || seen[rs.Addr] {
				continue
			}
			seen[rs.Addr] = true
			if addrs == nil {
				var err error
				if addrs, err = sys.Addrs(); err != nil {
					return nil, err
				}
			}
			if connected(addrs, vips, rs.Addr) {
				continue
			}
			out = append(out, Finding{Check: "nat-rs-route", Pos: pos(rs.Pos),
				Problem: fmt.Sprintf("NAT real server %v (virtual server %s) is not on a subnet of this director: its replies come back through the director only if its network routes them here; if they go straight to the clients, the clients drop them (wrong source address)", rs.Addr, vsName(vs)),
				Fix:     fmt.Sprintf("put the real server on a subnet of the director's inside interface with its default route via the director's inside VIP (check on it: lvs-ha doctor -realserver -nat VIP), or route %v's replies to the clients through this director", rs.Addr)})
		}
	}
	return out, nil
}

// connected reports whether a is on a subnet of an interface address or VIP.
func connected(addrs map[string][]netip.Prefix, vips []netip.Prefix, a netip.Addr) bool {
	for _, ps := range addrs {
		for _, p := range ps {
			if p.Masked().Contains(a) {
				return true
			}
		}
	}
	for _, p := range vips {
		if p.Masked().Contains(a) {
			return true
		}
	}
	return false
}

// NATRealServer checks this host as a NAT real server whose director's
// inside address is gw: its default route must go via gw, or the replies to
// the clients bypass the director, which never un-NATs them.
func NATRealServer(gw netip.Addr, sys System) ([]Finding, error) {
	if !gw.IsValid() || gw.IsUnspecified() || gw.IsMulticast() {
		return nil, fmt.Errorf("bad gateway address %v", gw)
	}
	routes, err := sys.DefaultRoutes()
	if err != nil {
		return nil, err
	}
	fam := "-4"
	if gw.Is6() {
		fam = "-6"
	}
	var best *DefaultRoute
	for i := range routes {
		r := &routes[i]
		if r.V6 == gw.Is6() && (best == nil || r.Metric < best.Metric) {
			best = r
		}
	}
	switch {
	case best == nil:
		return []Finding{{Check: "rs-nat-gateway",
			Problem: fmt.Sprintf("no default route: replies to clients outside this host's subnets are not sent back through the director %v", gw),
			Fix:     fmt.Sprintf("ip %s route add default via %v (and persist it in the network configuration)", fam, gw)}}, nil
	case slices.Contains(best.Gateways, gw):
		return nil, nil
	}
	var via []string
	for _, g := range best.Gateways {
		via = append(via, "via "+g.String())
	}
	if best.Dev != "" {
		via = append(via, "dev "+best.Dev)
	}
	if len(best.Gateways) == 0 {
		via = append(via, "(no gateway)")
	}
	return []Finding{{Check: "rs-nat-gateway",
		Problem: fmt.Sprintf("the default route is %s, not via the director %v: replies to the clients bypass the director, which never un-NATs them, and the clients drop them", strings.Join(via, " "), gw),
		Fix:     fmt.Sprintf("ip %s route replace default via %v (and persist it in the network configuration)", fam, gw)}}, nil
}

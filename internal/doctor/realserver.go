package doctor

import (
	"fmt"
	"strings"

	"github.com/lvs-ha/lvs-ha/internal/realserver"
)

// RealServer runs the real server checks: what `lvs-ha realserver` would change
// is what is wrong.
func RealServer(c realserver.Config, sys System) ([]Finding, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	st, err := sys.RealServer(c)
	if err != nil {
		return nil, err
	}
	tun := ""
	if c.Mode == realserver.TUN {
		tun = "-tun "
	}
	var vips []string
	for _, a := range c.VIPs {
		vips = append(vips, a.String())
	}
	all := fmt.Sprintf("lvs-ha realserver %s%s", tun, strings.Join(vips, " "))
	var out []Finding
	for _, ch := range realserver.PlanUp(c, st) {
		f := Finding{Check: "rs-vip"}
		switch ch.Op {
		case realserver.CreateTunnel:
			f.Problem = fmt.Sprintf("%s does not exist: IP-in-IP packets from the director are not decapsulated", ch.Dev)
			f.Fix = "modprobe ipip, or " + all
		case realserver.LinkUp:
			f.Problem = ch.Dev + " is down"
			f.Fix = "ip link set " + ch.Dev + " up, or " + all
		case realserver.AddAddr:
			f.Problem = fmt.Sprintf("VIP %v is not on %s: the real server drops the packets the director forwards to it", ch.Prefix.Addr(), ch.Dev)
			f.Fix = fmt.Sprintf("ip addr add %v dev %s, or %s", ch.Prefix, ch.Dev, all)
		case realserver.SetSysctl:
			f.Check = "rs-arp"
			why := "the real server answers ARP for the VIP (or announces it), stealing it from the director"
			if strings.HasSuffix(ch.Key, ".rp_filter") {
				f.Check = "rs-rp-filter"
				why = "reverse-path filtering drops the decapsulated packets (their clients are not routed via " + realserver.Tunnel + ")"
			}
			f.Problem = fmt.Sprintf("%s=%s, want %s: %s", ch.Key, ch.From, ch.To, why)
			f.Fix = fmt.Sprintf("sysctl -w %s=%s, or %s", ch.Key, ch.To, all)
		default:
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

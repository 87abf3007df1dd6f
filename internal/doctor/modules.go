package doctor

import (
	"fmt"
	"strings"

	"github.com/lvs-ha/lvs-ha/conf"
)

func (m Modules) available(name string) bool { return m.Present[name] || m.Loadable[name] }

// checkModules: IPVS needs ip_vs and one ip_vs_SCHED module per lb_algo.
func checkModules(cfg *conf.Config, sys System, _ Options) ([]Finding, error) {
	if len(cfg.VirtualServers) == 0 {
		return nil, nil
	}
	m, err := sys.Modules()
	if err != nil {
		return nil, err
	}
	if !m.available("ip_vs") {
		why := fmt.Sprintf("kernel %s has no IP_VS: ip_vs is not built in, not loaded, and has no module in /lib/modules/%s/modules.dep", m.Release, m.Release)
		if !m.Tree {
			why = fmt.Sprintf("kernel %s has no IP_VS: ip_vs is not built in or loaded, and /lib/modules/%s does not exist", m.Release, m.Release)
		}
		return []Finding{{Check: "ip-vs", Pos: pos(cfg.VirtualServers[0].Pos),
			Problem: why + "; no virtual server can be set up",
			Fix:     "use a kernel with CONFIG_IP_VS (and its schedulers), or install its modules package"}}, nil
	}
	var out []Finding
	seen := map[string]bool{}
	for _, vs := range cfg.VirtualServers {
		mod := "ip_vs_" + vs.Scheduler
		if vs.Scheduler == "" || seen[mod] {
			continue
		}
		seen[mod] = true
		if !m.available(mod) {
			out = append(out, Finding{Check: "scheduler", Pos: pos(vs.Pos),
				Problem: fmt.Sprintf("virtual server %s: lb_algo %s needs module %s, which kernel %s neither has built in, loaded nor in modules.dep", vsName(vs), vs.Scheduler, mod, m.Release),
				Fix:     fmt.Sprintf("use a kernel with CONFIG_IP_VS_%s, or another lb_algo", strings.ToUpper(vs.Scheduler))})
		}
	}
	return out, nil
}

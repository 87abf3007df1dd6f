package daemon

// Run-time parts of keepalived 2.3/2.4 keywords: vrrp_delay_after_boot and
// no_virtual_ipaddress.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lvs-ha/lvs-ha/conf"
	"github.com/lvs-ha/lvs-ha/conf/syntax"
)

// procUptime is the time since boot from /proc/uptime.
func procUptime() (time.Duration, error) {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("/proc/uptime: empty")
	}
	secs, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/uptime: %w", err)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// delayAfterBoot is what is left of vrrp_delay_after_boot now (0 once the
// system has been up that long), keepalived 2.4's computation; an unreadable
// uptime is logged and ignored, as keepalived does.
func (d *Daemon) delayAfterBoot(boot time.Duration) time.Duration {
	up := d.opts.uptime
	if up == nil {
		up = procUptime
	}
	u, err := up()
	if err != nil {
		d.log.Warn("Unable to read /proc/uptime for vrrp_delay_after_boot - ignoring", "error", err)
		return 0
	}
	return max(boot-u, 0)
}

// noVIPWarnings: a VRRPv3 instance without addresses (no_virtual_ipaddress,
// keepalived 2.3) sends adverts RFC 5798 forbids (Count IPvX Addr must be at
// least 1); keepalived's own man page warns that other implementations may
// not accept them.
func noVIPWarnings(cfg *conf.Config) syntax.Diagnostics {
	var ds syntax.Diagnostics
	for _, v := range cfg.VRRPInstances {
		if v.NoVirtualIPAddress && len(v.VIPs) == 0 && v.Version == 3 {
			ds = append(ds, syntax.Diagnostic{Pos: v.Pos, Severity: syntax.Warning, Msg: fmt.Sprintf(
				"vrrp_instance %s: no_virtual_ipaddress with VRRPv3 sends adverts without addresses, which RFC 5798 does not allow: routers other than keepalived 2.3 or later may drop them", v.Name)})
		}
	}
	return ds
}

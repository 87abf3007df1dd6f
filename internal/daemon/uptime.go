package daemon

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
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

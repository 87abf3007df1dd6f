// Package realserver prepares a Linux host (or network namespace) to act as an LVS
// real server for direct routing (DR) or IP-in-IP tunnelling (TUN), as the LVS and
// keepalived documentation tell administrators to do by hand with ip(8) and
// sysctl(8): [PlanUp] and [PlanDown] compute the changes (pure) and a [System] such
// as [Kernel] reads the state and applies them, through netlink and /proc/sys.
package realserver

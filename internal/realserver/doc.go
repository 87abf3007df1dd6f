// Package realserver prepares a Linux host (or network namespace) to act as an LVS
// real server for direct routing (DR) or IP-in-IP tunnelling (TUN): what the LVS and
// keepalived documentation tell administrators to do by hand with ip(8) and sysctl(8).
//
// Up, for DR: every VIP goes on lo as a host address (/32 or /128), and
// net.ipv4.conf.{all,lo}.arp_ignore=1 and arp_announce=2 stop the host from answering
// ARP for the VIP or using it as the source of its own ARP requests, so only the
// director owns the VIP on the segment. IPv6 needs no sysctl: Linux answers neighbour
// solicitations only for addresses of the receiving interface.
//
// Up, for TUN (IPv4 VIPs only): the ipip fallback device tunl0 is created if needed
// (creating a link of kind ipip loads the module, which creates tunl0 in every
// namespace), brought up, and carries the VIPs; arp_ignore/arp_announce are also set on
// tunl0, tunl0's rp_filter is set to 0, and all.rp_filter is lowered from 1 (strict) to
// 2 (loose) when it is strict, because the kernel applies the larger of the "all" and
// the device value and decapsulated packets arrive on tunl0 from clients routed via
// another interface.
//
// Down removes the VIPs from lo (or tunl0 with TUN) and sets the arp_ignore and
// arp_announce values it manages back to 0 and 0, the kernel defaults. It leaves
// tunl0 in place and rp_filter as it is (their previous values are not recorded).
//
// Both directions are idempotent: they read the current state, plan the changes
// ([PlanUp], [PlanDown] are pure) and apply only those; no change means "already
// configured". Everything uses netlink and /proc/sys of the calling thread's network
// namespace; nothing shells out.
package realserver

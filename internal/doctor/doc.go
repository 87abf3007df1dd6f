// Package doctor finds the host settings that break an LVS director or real
// server although the configuration is valid: the classic mistakes of the LVS
// guides (forwarding off with NAT, NAT real servers whose replies bypass the
// director, rp_filter, ARP sysctls on real servers, missing ip_vs modules,
// nftables or iptables-legacy rules eating VRRP or VIP traffic). The checks
// are pure functions of the configuration and a [System] snapshot; [Kernel]
// reads the current network namespace.
package doctor

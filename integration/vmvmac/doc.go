// Package vmvmac is the VMAC drill of issue #13 (keepalived's use_vmac), run
// in the VM test tier because it needs macvlan (make test-vm
// VM_PKGS=./integration/vmvmac): two directors running the VM image's
// lvs-ha with use_vmac and a client on one bridge; across a failover the
// client's neighbour entry for the VIP keeps the VRRP virtual MAC and the
// client keeps reaching the VIP, and a stopped director has removed its
// VMAC and restored its interface's settings. TestVMACFailoverIPv6 does the
// same for an IPv6 instance (adverts from the VMAC with the interface's
// link-local source address, NAs from the VMAC) with use_vmac_addr giving
// its IPv4 eVIP a VMAC of its own, and pairs it with keepalived's IPv6
// use_vmac in both roles. In the drills with an lvs-ha backup (not
// vmac_xmit_base) its VMAC joins a multicast group and its IGMP or MLD
// report reaches the client with the interface's MAC (keepalived's nftables
// VMAC rules), and a stopped lvs-ha leaves an empty nftables ruleset. TestVMACMixedKeepalived pairs
// lvs-ha with keepalived 2.2.7's use_vmac in both roles (the VM image has
// keepalived through VM_OPTIONAL_TOOLS, default "keepalived"; skipped
// without it). It shows two IPv4 keepalived faults lvs-ha does not have:
// when keepalived is master, the client's entry for the VIP can end up on
// the interface's own MAC (keepalived leaves arp_announce 0, lvs-ha sets 2
// on the parent), and a stopped keepalived leaves the parent's arp_ignore at
// 1.
package vmvmac

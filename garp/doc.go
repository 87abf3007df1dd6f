// Package garp announces VRRP virtual addresses (VIPs) to the local link when
// an instance becomes master, with keepalived's packets and timing:
// gratuitous ARPs for IPv4 VIPs and unsolicited neighbour advertisements for
// IPv6 VIPs. It imports neither vrrp nor conf; vrrp uses it.
//
// # Packets (keepalived's vrrp_arp.c / vrrp_ndisc.c)
//
// Gratuitous ARP (ARPFrame): Ethernet broadcast ff:ff:ff:ff:ff:ff from the
// interface MAC, ARP *request* (opcode 1), sender MAC = interface MAC,
// sender IP = target IP = VIP, target MAC ff:ff:ff:ff:ff:ff. With use_vmac
// the VIP lives on the VMAC (macvlan) interface, whose MAC is the VMAC.
//
// Unsolicited NA (NAFrame): Ethernet 33:33:00:00:00:01 from the interface
// MAC, IPv6 VIP -> ff02::1 with hop limit 255, ICMPv6 neighbour
// advertisement with Override set, Solicited clear, Router set when the
// (base) interface has net.ipv6.conf.IF.forwarding=1, target = VIP and a
// target link-layer address option carrying the interface MAC. Packets are
// encoded with github.com/mdlayher/arp and github.com/mdlayher/ndp and sent
// as whole frames on AF_PACKET sockets (github.com/mdlayher/packet), like
// keepalived, so the VIP need not have passed DAD and no IPv4 address is
// needed on the interface (arp.Client would require one). TestFramesMatchKeepalived
// pins both frames byte for byte to what keepalived 2.2.7 sends.
//
// # Schedule
//
// Scheduler is pure (explicit now, no goroutine, no clock). With keepalived's
// defaults (DefaultOptions):
//
//   - Start(now, vips), on becoming master: MasterRepeat (garp_master_repeat,
//     5) packets per VIP at now, round-robin over the VIPs; the same again at
//     now+MasterDelay (garp_master_delay, 5 s; 0 = no second burst); if
//     MasterRefresh (garp_master_refresh) > 0, MasterRefreshRepeat
//     (garp_master_refresh_repeat, 1) per VIP at now+k*MasterRefresh.
//   - LowerPriority(now), master got a lower-priority advert:
//     LowerPrioRepeat per VIP at now and again at now+LowerPrioDelay.
//   - ARPInterval / NAInterval (garp_interval / gna_interval, 0): minimum
//     spacing between two ARPs (resp. NAs) on one interface; later packets
//     queue behind earlier ones, as in keepalived.
//   - Stop(): cancels everything (leaving master).
//
// Differences from keepalived, by design: refresh bursts fall on the exact
// grid now+k*MasterRefresh (keepalived checks at advert time and re-arms
// from the send time) and missed periods are coalesced into one burst;
// pacing is per Scheduler (one VRRP instance), whereas keepalived's
// garp_group pacing is shared by all instances on an interface; the NOARP
// check is per VIP interface (Announcer returns ErrNoARP) rather than on the
// instance's interface.
//
// # Using it from the VRRP runner
//
// The runner owns one Scheduler per instance and one shared Announcer (or a
// fake Sender in tests). On becoming master: sched.Start(now, vips), then
// garp.Flush(sched, sender, now); whenever its timer fires: Flush again;
// after each call re-arm the timer to sched.NextDeadline() (zero = none). On
// leaving master: sched.Stop(). No goroutine of this package is involved.
// Announcer.Counters / Stats give per-interface sent counts for metrics.
package garp

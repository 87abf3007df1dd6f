// Package vmsync is the connection-sync drill of issue #12, run in the VM test
// tier (make test-vm VM_PKGS=./integration/vmsync): established TCP flows
// survive a director failure and the failback when the kernel's IPVS sync
// daemons carry the connection table from master to backup.
//
// Lab (namespaces inside the VM, internal/netlab): a client, two directors
// running the VM image's lvs-ha with a keepalived.conf the test writes, two
// real servers. The directors have three links: eth0 on the client segment
// (192.0.2.0/24, the VIP 192.0.2.100), in NAT eth1 on the real servers'
// segment (198.51.100.0/24, the inside VIP 198.51.100.254 that the real
// servers use as their gateway, so it moves with the instance), and eth2 on a
// segment of their own (203.0.113.0/24) that carries only VRRP (interface eth2)
// and the sync messages (multicast group 239.0.2.81, not the default
// 224.0.0.81); virtual_ipaddress ... dev puts the VIPs on eth0/eth1. In DR the
// real servers sit on the client segment with the VIP on lo (lvs-ha
// realserver).
//
// The drill, for DR and NAT: open 50 long-lived flows through the VIP, each
// sending a heartbeat line every 100 ms that the real server echoes with its
// name; wait until the backup lists every flow in /proc/net/ip_vs_conn_sync
// with origin SYNC (the time from opening is the sync lag); open 5 more flows
// just before the failure, after the last sync message, and count them apart
// (a flow counts as synced when the new master listed it before the event);
// fail the master as a machine fails: netem loss 100% on each of its
// interfaces and on their switch-side veth peers, and its lvs-ha killed (a
// killed daemon alone is no failure: the kernel keeps forwarding). A flow
// survives when it sees no reset or error, the same real server keeps
// answering, it gets echoes after the switch, and its stall (longest gap
// between echoes) is within the VRRP switch time plus one second. The switch
// time runs from the failure until the client's ARP entry for the VIP names
// the new master (VRRP takeover and its gratuitous ARP); for the failback,
// from the returning director holding the VIP until that entry names it.
// The bound also adds the longest pause of the test process during the event
// (a 10 ms timer firing late: TCG vCPUs descheduled on a loaded host), which
// the table prints; on an idle host it is 10-50 ms.
//
// Failback: a machine that failed comes back rebooted, with an empty IPVS
// connection table. The drill models that with a fresh namespace (lvs1r) with
// lvs1's addresses and lvs-ha -i lvs1, rather than healing the old namespace,
// whose intact table would make the failback pass without any sync. Its backup
// sync daemon must receive the flows from lvs2 before it takes the VIP: both
// directors start BACKUP (keepalived honours preempt_delay only then) and
// lvs1 has preempt_delay 8, as keepalived users with lvs_sync_daemon do
// (they use minutes; the drill only needs a few resync rounds). The drill
// checks that lvs1 listed every flow with origin SYNC when it preempted.
//
// Controls: the same runs without sync daemons. In NAT every flow breaks (the
// new master has no entry; the non-SYN packet goes to its own stack, which
// resets it). In DR they are rescheduled (sloppy_tcp): about half land on the
// other real server, which resets them.
//
// Settings made explicit, and why:
//
//   - lvs_sync_threshold 3 10 (net.ipv4.vs.sync_threshold, an lvs-ha
//     extension in global_defs): a flow is synced on its 3rd packet and again
//     every 10 (default 3 50). The returning director only learns flows that
//     the master resends after it came up; with 10 the heartbeat resends every
//     flow about every second, well inside preempt_delay.
//   - lvs_sloppy_tcp (net.ipv4.vs.sloppy_tcp): on in DR, so that the DR
//     control shows the rescheduling the issue describes (with off the
//     backup's own stack resets every unsynced flow); off (the kernel default)
//     in NAT, where the control then breaks every flow. Synced flows have an
//     entry and never depend on it. The test checks that lvs-ha set both.
//   - net.ipv4.vs.conntrack 0 (the default): IPVS creates no conntrack
//     entries, so nothing on the new master needs state that sync does not
//     carry. Sync carries no conntrack state: with conntrack 1 the new master
//     meets every flow mid-stream, which a firewall that admits new flows
//     only on SYN drops, as does conntrack itself with
//     nf_conntrack_tcp_loose 0 (the packets are INVALID).
//   - net.ipv4.ip_forward 1 on NAT directors: the real servers' replies are
//     forwarded (and rewritten) by the director.
//   - VRRPv3, advert_int 0.5: the backup takes over 3 x 0.5 s + skew = 1.8 s
//     after the last advert.
//   - The client and the real servers: tcp_thin_linear_timeouts 1 and Nagle
//     on (one heartbeat segment in flight: a "thin" stream); rto_min 400ms on
//     the client's route to the VIP and on the NAT real servers' default route
//     (in DR their replies go straight to the client). TCP then retransmits
//     every 0.4 s for six tries (2.4 s, past the switch) instead of at 0.2,
//     0.6, 1.4, 3.0, 6.2 s: with exponential backoff a flow resumes at its
//     next retry, up to twice the failover time, and the stall would measure
//     the client's TCP, not the directors. A flow's stall is then at most the
//     switch time, plus up to one heartbeat before the failure, plus one
//     retransmission interval.
//
// The sync daemons are lvs-ha's: global_defs has lvs_sync_daemon eth2 VI_1
// id 51 group 239.0.2.81, so each director runs the master daemon while VI_1
// is MASTER and the backup daemon otherwise; the drill checks with ipvsadm
// -L --daemon that they follow the failover and the reboot. The controls
// leave lvs_sync_daemon out and keep everything else.
//
// TestSyncDrill prints the figures as a table: per run and event the VRRP
// switch time, the stall bound, synced flows survived/total, stall
// p50/p99/max, unsynced flows survived/total, sync lag p50/p99/max (failback:
// from the rebooted director's start, its namespace created) and why flows
// were lost.
package vmsync

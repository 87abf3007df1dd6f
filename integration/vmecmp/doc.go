// Package vmecmp holds the active-active data-plane drills of issue 14, run in
// the VM tier (make test-vm VM_PKGS=./integration/vmecmp): several lvs-ha
// directors, each with its own IPVS in a namespace of the VM, behind one
// router.
//
// TestMHDeterminism: with lb_algo mh, two directors pick the same real server
// for a flow only if they fill Maglev's lookup table from the same list of real
// servers in the same order (ip_vs_mh_populate walks the service's destination
// list; a slot two destinations want goes to the one listed first). lvs-ha adds
// real servers in sorted order whatever the order of the configuration, so two
// directors whose keepalived.conf lists the same real servers in different
// orders agree. The test sends 1,000 SYNs (16 client addresses, mh-port on so
// the port is hashed too) through each director and compares the real server
// each one recorded in /proc/net/ip_vs_conn; the control is the same two
// orders given to the kernel by ipvsadm, which disagree on some flows. The
// real servers do not exist: the director's choice is recorded when the SYN
// arrives, before the frame for the real server is dropped for want of ARP.
//
// TestECMPDrill: a client with 16 source addresses (10.251.1.100-115) behind
// a router (BIRD 2, internal/bgplab: ECMP via "merge paths", L4 multipath
// hash) whose other side, 10.251.0.0/24, holds the directors lvs1-lvs4 (.11-.14,
// lvs-ha programming IPVS in DR, putting the VIP 10.251.9.1 on lo and
// announcing it over its own BGP speaker: hold time 9 s, no BFD under TCG,
// announce_delay 2 s, drain_time 10 s) and three real servers (.21-.23,
// `lvs-ha realserver`, default route via the router, an echo server). For each
// event 240 fresh flows send a heartbeat every 500 ms; each flow's director is
// the one whose /proc/net/ip_vs_conn_sync lists it with origin LOCAL. Events:
// drain lvs3 (SIGTERM: lvs-ha withdraws the VIP and keeps IPVS for
// drain_time), join a fresh lvs4 (empty connection table, announced
// announce_delay after its first IPVS apply; its FIB figure runs from its
// start), crash lvs1 (netem loss 100% on its link, lvs-ha killed). A flow is disrupted
// when it is reset, answered by another real server, or stalls longer than
// 1 s plus the longest pause of the test process (TCG on a loaded host). The
// schemes: mh + lvs_sloppy_tcp, wlc without sync (sloppy_tcp off), wlc with
// the kernel's sync daemons (master and backup on every director, started by
// the test with ipvsadm: lvs-ha ties lvs_sync_daemon to a VRRP instance).
// Linux ECMP uses hash-threshold: removing or adding a next hop moves flows
// between the remaining ones too, which is what makes collateral damage
// possible without consistent hashing.
//
// TestDemoECMP is `make demo-ecmp`: the mh + sloppy_tcp run of the drill with
// its progress, the router's FIB changes and the figures printed as a
// timeline (test flag -lvsha.demo; skipped otherwise).
package vmecmp

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
package vmecmp

// Package vmhealth drills lvs-ha's health checking against kernel IPVS inside
// the VM test tier (VM_PKGS=./integration/vmhealth): the real daemon
// (/usr/local/bin/lvs-ha run) in a director namespace of an internal/netlab
// lab, HTTP real servers in their own namespaces, and `ipvsadm -Ln` in the
// director's namespace (both from internal/vmlab) polled to measure how long
// a killed real server takes to leave the table (against connect_timeout,
// retry, delay_before_retry and delay_loop), that it comes back,
// inhibit_on_failure, quorum scripts and the sorry server.
//
// The tests carry the `vm` build tag and call vmtest.Require; addresses are
// from the documentation ranges only.
package vmhealth

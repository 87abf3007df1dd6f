// Package vmscale measures lvs-ha's control plane at scale inside the VM test
// tier, side by side with ipvsadm and keepalived: the real lvs-ha binary loads
// a keepalived.conf of 10,000 virtual servers x 10 real servers (first apply,
// re-apply of the unchanged table, one weight change, a /metrics scrape and a
// /status request, its memory), `ipvsadm -R` restores the same table and
// keepalived 2.2.7 (-C, checker only) loads the same config. It prints one
// `BENCH name=... lvsha=... ref=... unit=... ratio=...` line per figure (read
// by integration/bench/compare.sh). Opt-in, not part of make test-vm's default
// run:
//
//	VM_PKGS=./integration/vmscale VM_TESTFLAGS="-lvsha.scale" make test-vm
//
// (-lvsha.scale.services=1000 for a short run). Addresses are from the
// benchmarking range 198.18.0.0/15.
package vmscale

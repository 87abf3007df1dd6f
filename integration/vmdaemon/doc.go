// Package vmdaemon runs lvs-ha's daemon against kernel IPVS inside the VM test
// tier (make test-vm VM_PKGS=./integration/vmdaemon): the real binary programs
// virtual servers from a keepalived.conf, Debian's ipvsadm lists the result, a
// foreign service survives start and SIGTERM; and a benchmark compares the
// daemon's apply of 1,000 virtual servers x 10 real servers with `ipvsadm -R` of
// the same rules; the real binary runs the IPVS sync daemon of
// lvs_sync_daemon as its VRRP instance moves from BACKUP to MASTER and stops it
// on SIGTERM.
//
// All tests carry the `vm` build tag and call vmtest.Require; addresses are from
// the documentation and benchmarking ranges only.
package vmdaemon

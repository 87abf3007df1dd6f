// Package vmdemo is `make demo`: the lab drill, run inside the VM test tier
// (integration/vm) on a host whose kernel has no IP_VS, and on the host
// itself where it has (integration/demo picks). Two lvs-ha daemons run the
// shipped examples/keepalived-lab.conf (a copy is in testdata/, kept identical
// by TestExampleCopy) as an LVS-DR master/backup pair in a namespace lab with a
// client and two real servers, and TestDemo prints a timeline: the election,
// requests spread over both real servers, a stopped real server ejected, the
// master killed and the backup taking over, the master back and preempting,
// and a metrics excerpt.
//
// TestDemo carries the `vm` build tag, calls vmtest.Require and runs only with
// the test flag -lvsha.demo (VM_TESTFLAGS=-lvsha.demo), so `make test-vm`
// skips it.
package vmdemo

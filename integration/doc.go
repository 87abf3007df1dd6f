// Package integration holds the network-namespace test tier: lvs-ha directors,
// keepalived peers, clients and real servers run as real processes inside a lab built
// by internal/netlab (namespaces, veth pairs and a bridge on the host kernel, or on the
// test VM's kernel).
//
// The tests need root; without it they skip, or fail when LVSHA_REQUIRE_ROOT_TESTS=1.
// They run the lvs-ha binary named by LVSHA_BIN, or build ./cmd/lvs-ha once per run
// when it is unset. Set LVSHA_TEST_LOGDIR to keep the processes' logs after the run.
// TestMain sweeps namespaces left by earlier, interrupted runs and tears labs down on
// SIGINT/SIGTERM.
//
//	sudo -E go test -count=1 ./integration/
package integration

#!/usr/bin/env bash
# Failover benchmark: the same as takeover.sh (TestBenchFailover in
# ../bench_failover_test.go): SIGKILL and SIGTERM takeovers of an lvs-ha pair and a
# keepalived pair, interleaved, at advert_int 1, 0.2 and 0.05, on the wire; one
# BENCH line per figure.
#
#   usage: integration/bench/failover.sh [LVS_HA_BINARY]     (as root)
#   env:   LVSHA_BENCH_RUNS   repetitions per pair and setting (default 5)
#          GO                 go command (default go)
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
	echo "bench-failover needs root (it builds a network-namespace lab)" >&2
	exit 1
fi
if [ $# -ge 1 ]; then
	LVSHA_BIN=$(readlink -f "$1")
	export LVSHA_BIN
fi
export LVSHA_BENCH=1 LVSHA_REQUIRE_ROOT_TESTS=1
set +e
"${GO:-go}" test -count=1 -p 1 -timeout 30m -v -run '^TestBenchFailover$' ./integration/ 2>&1 |
	grep --line-buffered -v -e '^=== RUN' -e '^=== PAUSE' -e '^=== CONT'
exit "${PIPESTATUS[0]}"

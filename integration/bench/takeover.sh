#!/usr/bin/env bash
# Takeover benchmark: an lvs-ha pair and a keepalived pair in a network-namespace
# lab, interleaved run by run, at advert_int 1 (v2), 0.2 and 0.05 (v3); SIGKILL of
# the master (against Master_Down_Interval) and SIGTERM (priority 0, against the
# skew time), measured on the wire from the master's last advert to the backup's
# first (see TestBenchFailover in ../bench_failover_test.go). Prints one line
# per run, then p50 / max, and one machine-readable line per figure:
#   BENCH name=<figure> lvsha=<v> ref=<v> unit=<u> ratio=<lvsha/ref>
#
#   usage: integration/bench/takeover.sh [LVS_HA_BINARY]     (as root)
#   env:   LVSHA_BENCH_RUNS      runs per pair and setting (default 5)
#          LVSHA_BENCH_SETTINGS  comma list of adv1,adv0.2,adv0.05 (default all)
#          GO                    go command (default go)
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
	echo "takeover.sh needs root (it builds a network-namespace lab)" >&2
	exit 1
fi
if [ $# -ge 1 ]; then
	LVSHA_BIN=$(readlink -f "$1")
	export LVSHA_BIN
fi
export LVSHA_BENCH=1 LVSHA_REQUIRE_ROOT_TESTS=1
set +e
"${GO:-go}" test -count=1 -p 1 -timeout 60m -v -run '^TestBenchFailover$' ./integration/ 2>&1 |
	grep --line-buffered -v -e '^=== RUN' -e '^=== PAUSE' -e '^=== CONT'
exit "${PIPESTATUS[0]}"

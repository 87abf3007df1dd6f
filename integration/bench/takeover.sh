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
# shellcheck source=gotest.bash
source "$(dirname "$0")/gotest.bash"
bench_gotest takeover.sh TestBenchFailover 60m "$@"

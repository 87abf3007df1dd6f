#!/usr/bin/env bash
# Stability benchmark: an lvs-ha pair and a keepalived pair side by side on one
# bridge (network-namespace lab), VRRPv3 with 10 ms adverts, both at default
# priority, under CPU oversubscription (4 busy loops per CPU at nice 0), busy
# loops at nice -10 and, if asked, memory pressure; counts false transitions and
# backup adverts, the gaps between the masters' adverts and the CPU time the
# two pairs used during the load (see TestBenchStability in
# ../bench_stability_test.go). One machine-readable line per figure:
#   BENCH name=<figure> lvsha=<v> ref=<v> unit=<u> ratio=<lvsha/ref>
# Not part of `make test`: it loads the whole machine for the duration.
#
#   usage: integration/bench/stability.sh [LVS_HA_BINARY]     (as root)
#   env:   LVSHA_BENCH_DURATION  per load (default 60s; issue #15 asks for 10m)
#          LVSHA_BENCH_LOADS     comma list of oversub,nice,mem,none (default oversub,nice)
#          LVSHA_BENCH_MEM_RESERVE_MB  memory left available under "mem" (default 1024)
#          GO                    go command (default go)
set -euo pipefail
# shellcheck source=gotest.bash
source "$(dirname "$0")/gotest.bash"
bench_gotest stability.sh TestBenchStability 120m "$@"

#!/usr/bin/env bash
# Idle benchmark: an lvs-ha pair and a keepalived pair side by side on one bridge
# (network-namespace lab) with keepalived's defaults (VRRPv2, advert_int 1) and
# nothing else to do: the CPU time and context switches of each daemon per
# minute, all threads (see TestBenchIdle in ../bench_idle_test.go). One
# machine-readable line per figure:
#   BENCH name=<figure> lvsha=<v> ref=<v> unit=<u> ratio=<lvsha/ref>
#
#   usage: integration/bench/idle.sh [LVS_HA_BINARY]     (as root)
#   env:   LVSHA_BENCH_IDLE_DURATION  measurement window (default 60s)
#          GO                         go command (default go)
set -euo pipefail
# shellcheck source=gotest.bash
source "$(dirname "$0")/gotest.bash"
cat <<'NOTES'
BENCHNOTE Idle at keepalived's defaults (session 18; not in the reports before): a director pair spends nearly all its life here. Until session 18 every wait of lvs-ha's VRRP loop at advert_int 1 was a ppoll system call: sysmon retook the loop's P 10 ms into it and, every P idle, slept; the wait's end woke it (exitsyscall) with its polling reset to 20 us for ~50 rounds, then doubling towards 10 ms, ~60 wake-ups of sysmon per wait (perf of an idle master: 45% of its samples are sysmon's nanosleep context switches). In this lab each daemon also wakes for the other pair's adverts, so two such storms a second: session 18's first runs (60 s, 2 alternating rounds, the binary before the change) lvs-ha's master 142-155 ms of CPU and 7,417-7,561 context switches a minute, its backup 144-147 ms and 7,414-7,616, against keepalived's 17-18 ms and 200 (master) and 6-9 ms and 150 (backup): pair CPU 11.4 times keepalived's, context switches 43 times. A master's wait with no deadline within 250 ms (vrrp/runner parkHorizon) now parks in the Go runtime's poller (parker): its P idle, sysmon sleeps through it and the runtime's thread in epoll_wait wakes for the event (one wake-up), so the master's figures are 30-35 ms and 215-233 switches a minute, 1.7-2.2 and 1.1-1.2 times keepalived's master. A backup keeps the ppoll wait: parked, its switches fell to ~210 a minute too (~28 ms of CPU), but its takeovers looked slower (compare-failover.sh's notes), so the backup (16-20 times keepalived's backup's CPU) is what is left here.
NOTES
bench_gotest idle.sh TestBenchIdle 20m "$@"

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
BENCHNOTE Idle at keepalived's defaults (session 18; not in the reports before): a director pair spends nearly all its life here. Until session 18 every wait of lvs-ha's VRRP loop at advert_int 1 was a ppoll system call: sysmon retook the loop's P 10 ms into it and, every P idle, slept; the wait's end woke it (exitsyscall) with its polling reset to 20 us for ~50 rounds, then doubling towards 10 ms, ~60 wake-ups of sysmon per wait (perf of an idle master: 45% of its samples are sysmon's nanosleep context switches). In this lab each daemon also wakes for the other pair's adverts, so two such storms a second: session 18's first runs (60 s, 2 alternating rounds, the binary before the change) lvs-ha's master 142-155 ms of CPU and 7,417-7,561 context switches a minute, its backup 144-147 ms and 7,414-7,616, against keepalived's 17-18 ms and 200 (master) and 6-9 ms and 150 (backup): pair CPU 11.4 times keepalived's, context switches 43 times. A wait of the loop with no deadline within 250 ms (vrrp/runner parkHorizon) now parks in the Go runtime's poller (parker): its P idle, sysmon sleeps through it and the runtime's thread in epoll_wait wakes for the event (one wake-up). A master's wait for its next advert parks; a backup's wait for its master down deadline parks until 70 ms before it and then waits 20 ms in ppoll as a system call, so that its approach and takeover begin as before (compare-failover.sh's notes). First the master alone (2 alternating rounds against the binary before): master 30-35 ms and 215-233 switches a minute, backup unchanged (147-167 ms, 7,421-7,428). With the backup parked too (one run): master 30.4 ms and 213 switches, backup 18.4 ms and 183, against keepalived's 16.5 ms and 187, 4.7 ms and 125: pair CPU 48.9 against 21.2 ms a minute (2.31 times keepalived's, 11.4 before), context switches 396 against 312 (1.27 times, 43 before). What is left is the Go runtime around each wake-up (the park and the scheduler's search for work, sysmon's few polls while the loop runs) and the daemon's other goroutines (the status server, link watches).
NOTES
bench_gotest idle.sh TestBenchIdle 20m "$@"

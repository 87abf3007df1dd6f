#!/usr/bin/env bash
# Failover benchmark: the same as takeover.sh (TestBenchFailover in
# ../bench_failover_test.go): SIGKILL and SIGTERM takeovers of an lvs-ha pair and a
# keepalived pair, interleaved, at advert_int 1, 0.2 and 0.05, on the wire; one
# BENCH line per figure.
#
#   usage: integration/bench/failover.sh [LVS_HA_BINARY]     (as root)
#   env:   as takeover.sh (`make bench-failover` keeps this name)
exec bash "$(dirname "$0")/takeover.sh" "$@"

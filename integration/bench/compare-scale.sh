#!/usr/bin/env bash
# Control-plane scale, side by side (issue #15 item 4): 10,000 virtual servers x
# 10 real servers loaded by lvs-ha, by `ipvsadm -R` and by keepalived -C in the
# VM tier (integration/vmscale), plus the native /metrics and /status figures
# and promtool on a scrape of that size (internal/metrics, internal/status).
# Prints BENCH lines (see integration/bench/compare.sh).
#   env: BENCH_QUICK=1  1,000 virtual servers instead of 10,000
#        SCALE_VM_LOG   take the VM figures from this earlier `make test-vm
#                       VM_PKGS=./integration/vmscale ...` output instead of
#                       booting the VM again (said so in the report)
#        GO             go command
set -uo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
services=10000
[[ ${BENCH_QUICK:-0} == 1 ]] && services=1000
rc=0

# Native: one /metrics scrape and one /status at 10,000 x 10 against an
# in-memory table (the table read excluded), promtool on the scrape.
bench_ns() { # pkg bench -> ns/op of the first result line
	"$GO" test -run '^$' -bench "$2" -benchtime 3x "$1" 2>&1 | awk '/^Benchmark/ { for (i = 1; i <= NF; i++) if ($(i+1) == "ns/op") { print $i; exit } }'
}
g=$(bench_ns ./internal/metrics 'ScrapeIPVS/gather$')
d=$(bench_ns ./internal/metrics 'ScrapeIPVS/direct$')
s=$(bench_ns ./internal/status '^BenchmarkStatus$')
echo "BENCHENV host (native), in-memory table"
[[ -n $d && -n $g ]] && echo "BENCH name=metrics_scrape_10000x10_native lvsha=$(echo "scale=4; $d/1000000000" | bc) ref=- unit=s ratio=- note=direct text writer; through client_golang's Gather it took $(echo "scale=2; $g/1000000000" | bc) s"
[[ -n $s ]] && echo "BENCH name=status_10000x10_native lvsha=$(echo "scale=4; $s/1000000000" | bc) ref=- unit=s ratio=-"
if LVSHA_SCALE=1 LVSHA_REQUIRE_PROMTOOL=1 "$GO" test -count=1 -run '^TestScrapeScalePromtool$' ./internal/metrics >/dev/null 2>&1; then
	echo "BENCH name=metrics_scrape_10000x10_promtool_problems lvsha=0 ref=- unit=problems ratio=-"
else
	echo "BENCH name=metrics_scrape_10000x10_promtool_problems lvsha=1 ref=- unit=problems ratio=- note=promtool check metrics failed or is missing"
	rc=1
fi

# VM: the real binary against kernel IPVS, ipvsadm and keepalived on the same table.
if [[ -n ${SCALE_VM_LOG:-} ]]; then
	n=$(sed -n 's/.*scale_test.go:[0-9]*: \([0-9]*\) virtual servers x.*/\1/p' "$SCALE_VM_LOG" | head -1)
	echo "BENCHENV VM: qemu tcg, 2 vCPUs, 1 GiB, ${n:-?} x 10 (from $(basename "$SCALE_VM_LOG"), an earlier run)"
	grep '^BENCH ' "$SCALE_VM_LOG" || rc=1
	grep -q '^--- PASS: TestScale' "$SCALE_VM_LOG" || rc=1
	exit $rc
fi
accel=tcg
[[ -w /dev/kvm ]] && accel=kvm
echo "BENCHENV VM: qemu $accel, 2 vCPUs, 1 GiB, $services x 10"
make --no-print-directory test-vm VM_ACCEL=$accel VM_PKGS=./integration/vmscale \
	VM_TESTFLAGS="-lvsha.scale -lvsha.scale.services=$services" VM_TIMEOUT=3600 VM_TEST_TIMEOUT=58m || rc=1
exit $rc

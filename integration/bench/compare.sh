#!/usr/bin/env bash
# Side-by-side benchmarks (issue #15): runs each comparison script, collects the
# figures they print as
#   BENCH name=<figure> lvsha=<v> ref=<v> unit=<u> ratio=<lvsha/ref>
# and renders docs/benchmarks.md with internal/benchreport, with the reasons for
# ratios above 1.00 from integration/bench/why.txt. A script that is
# missing is listed as skipped; one that exits 77 is skipped with the reason on
# its last "SKIP: ..." line; any other non-zero exit is listed as failed (its
# figures printed before the failure are kept).
#
#   usage: integration/bench/compare.sh [OUT.md]      (as root; `make bench-compare`)
#   env:   BENCH_QUICK=1     short runs (smaller tables, fewer repetitions)
#          BENCH_SCRIPTS     the scripts to run (default: compare-scale.sh,
#                            compare-failover.sh, then every other
#                            integration/bench/*.sh but failover.sh and
#                            takeover.sh, which compare-failover.sh runs)
#          LVSHA_BIN         the lvs-ha binary (default build/bin/lvs-ha)
#          GO                go command (default go)
#          VM_ACCEL          compare-scale.sh's qemu accelerator (default tcg)
# Raw output: build/bench/compare.out, one log per script in build/bench/.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:-docs/benchmarks.md}
GO=${GO:-go}
export GO BENCH_QUICK=${BENCH_QUICK:-0} LVSHA_BIN=${LVSHA_BIN:-$PWD/build/bin/lvs-ha}
# The settings given explicitly are named in the report's commands, so that
# they reproduce this run.
overrides=""
for v in LVSHA_BENCH_DURATION LVSHA_BENCH_LOADS LVSHA_BENCH_MEM_RESERVE_MB LVSHA_BENCH_ROUNDS LVSHA_BENCH_WINDOW SCALE_VM_LOG; do
	[[ -n ${!v:-} ]] && overrides+="$v=${!v} "
done
# Quick mode shortens the scripts that take their length from the environment
# (an explicit setting wins): stability 20 s per load instead of issue #15's
# 10 minutes, health checks 2 rounds of 10 s.
if [[ $BENCH_QUICK == 1 ]]; then
	export LVSHA_BENCH_DURATION=${LVSHA_BENCH_DURATION:-20s}
	export LVSHA_BENCH_ROUNDS=${LVSHA_BENCH_ROUNDS:-2} LVSHA_BENCH_WINDOW=${LVSHA_BENCH_WINDOW:-10s}
else
	export LVSHA_BENCH_DURATION=${LVSHA_BENCH_DURATION:-10m}
fi
mkdir -p build/bench
raw=build/bench/compare.out
: >"$raw"
# The command named as the report's generator (`make bench-render` renders the
# report again from this file, for instance after why.txt changed).
command="make bench-compare"
[[ $BENCH_QUICK == 1 ]] && command="make bench-compare BENCH_QUICK=1"
[[ -n $overrides ]] && command="$overrides$command"
printf 'COMMAND\t%s\n' "$command" >>"$raw"

if [[ -z ${BENCH_SCRIPTS:-} ]]; then
	BENCH_SCRIPTS="integration/bench/compare-scale.sh integration/bench/compare-failover.sh"
	for s in integration/bench/*.sh; do
		case $(basename "$s") in compare*.sh | failover.sh | takeover.sh) continue ;; esac
		BENCH_SCRIPTS+=" $s"
	done
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
virt=$(systemd-detect-virt 2>/dev/null || true)
# compare-scale.sh's accelerator: TCG unless VM_ACCEL says otherwise.
if [[ ${VM_ACCEL:-tcg} == tcg ]]; then vmaccel="qemu TCG"; else vmaccel="qemu ${VM_ACCEL}"; fi
{
	printf 'MACHINE\tCPU\t%s, %s cores\n' "${cpu:-unknown}" "$(nproc)"
	printf 'MACHINE\thost kernel\t%s (%s)\n' "$(uname -r)" "${virt:-bare metal or unknown}"
	printf 'MACHINE\tVM tier\t%s, 2 vCPUs, 1 GiB\n' "$vmaccel"
	printf 'MACHINE\tload at start\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg) (shared machine: prefer the ratios and CPU-seconds)"
	printf 'MACHINE\tlvs-ha\t%s\n' "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	printf 'MACHINE\tkeepalived\t%s\n' "$(dpkg-query -W -f='${Version}' keepalived 2>/dev/null || echo absent) (Debian package)"
	printf 'MACHINE\tipvsadm\t%s\n' "$(dpkg-query -W -f='${Version}' ipvsadm 2>/dev/null || echo absent) (Debian package)"
	printf 'MACHINE\tmode\t%s\n' "$([[ $BENCH_QUICK == 1 ]] && echo "quick (BENCH_QUICK=1)" || echo full)"
	printf 'MACHINE\tdate\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
} >>"$raw"

for s in $BENCH_SCRIPTS; do
	cmd="${overrides}bash $s"
	[[ $BENCH_QUICK == 1 ]] && cmd="BENCH_QUICK=1 $cmd"
	printf 'SOURCE\t%s\t%s\n' "$s" "$cmd" >>"$raw"
	if [[ ! -f $s ]]; then
		printf 'STATUS\tskipped\tscript not on this branch\t0\n' >>"$raw"
		echo "bench-compare: $s: missing, skipped" >&2
		continue
	fi
	log=build/bench/$(basename "$s" .sh).log
	echo "bench-compare: $s (log: $log)" >&2
	start=$(date +%s.%N)
	bash "$s" >"$log" 2>&1
	rc=$?
	secs=$(echo "$(date +%s.%N) - $start" | bc)
	grep -E '^(BENCH|BENCHENV|BENCHNOTE) ' "$log" >>"$raw"
	grep -E '^BENCH ' "$log" >&2
	case $rc in
	0) printf 'STATUS\tok\t\t%s\n' "$secs" >>"$raw" ;;
	77) printf 'STATUS\tskipped\t%s\t%s\n' "$(sed -n 's/^SKIP: //p' "$log" | tail -1)" "$secs" >>"$raw" ;;
	*) printf 'STATUS\tfailed\texit %s, see %s: %s\t%s\n' "$rc" "$log" "$(tail -1 "$log" | tr '\t' ' ' | cut -c1-200)" "$secs" >>"$raw" ;;
	esac
done

"$GO" run ./internal/benchreport/render -why integration/bench/why.txt -o "$out" <"$raw" && echo "bench-compare: wrote $out" >&2

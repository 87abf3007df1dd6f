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
cat <<'NOTES'
BENCHNOTE Read each load's counts as lvs-ha against keepalived in the same run, never across runs: on this 2-vCPU host both pairs flap hundreds of times under each load (10-minute runs on an otherwise idle machine as well as 2-minute runs on a shared one), and in repeated 2-minute runs the ratio moved by +-0.1 from run to run. Under oversubscription and busy loops at nice -10 lvs-ha flapped about 1.2 times as often as keepalived; under memory pressure slightly less often.
BENCHNOTE Allocations on the advert path: a master allocated 9 objects per advert and a backup 5 per advert received in the runner (Stats published per loop round, action and deadline slices, encode and decode buffers), vrrpsock 3 per send and 10 per receive (x/sys Sockaddr, closures, x/net control message parsing); now none (TestAdvertPathAllocs, vrrpsock TestAdvertAllocs), and each daemon collected 3 times per loaded 2-minute run instead of 7-8 (GODEBUG=gctrace=1). What remains: the first collection after startup, the runtime's forced one every 2 minutes, and gratuitous ARPs while flapping (each MASTER hearing a lower priority advert sends garp_lower_prio_repeat GARPs, as keepalived; lvs-ha's garp.Announcer looked the interface up with a socket, three ioctls and a close per packet, now three ioctls on its kept socket, and allocates the frame). A loaded stop-the-world took up to 20 ms on a master and 276 ms on a backup, but the few left could not be tied to flaps against the background rate: no GC tuning.
BENCHNOTE CPU (vrrp_stability_*_cpu, both daemons of a pair from /proc): lvs-ha 3.4-4.3 times keepalived in the 10-minute runs (about 3 times in 2-minute runs). perf: the VRRP thread costs about what keepalived's VRRP process does; Go's sysmon thread takes a third of the process and the other runtime threads the rest.
BENCHNOTE Go runtime on the advert path (perf record -e syscalls:sys_enter_futex -g on the VRRP thread, oversub): about 40% of its futex calls are runtime.exitsyscall waking sysmon after ppoll (sysmon retook the thread's P during the ~10 ms wait and slept once every P was idle), about 60% come from sysmon's forced preemption of the locked VRRP goroutine: it never passes through the scheduler, so its schedtick stays the same and sysmon preempts it as running for 10 ms; it yields at its first call after ppoll and, locked to its thread, is handed to another thread and back (stoplockedm, startm: thread wake-ups on the advert path). keepalived has neither. Not locking the thread (an experiment, not kept) made no clear difference in its one run (oversub 270 transitions against 240, nice 596 against 674).
BENCHNOTE Why the fixes tried do not close the gap (Go 1.26 runtime/proc.go retake): a P whose schedtick has not moved for 10 ms (forcePreemptNS) is retaken with sysretake set, which skips the only branch that refreshes syscallwhen, so the exemption for system calls shorter than 10 ms is checked against a stale time: the P is taken in every ppoll whatever the wait, and capping the wait below 10 ms cannot help. schedtick only moves in execute(), which a goroutine that only waits in system calls never reaches. perf trace of a master under oversubscription, 20 s: 520 sysmon preemption signals (tgkill), 2042 futex calls for 2273 ppolls, 875 ms blocked in futex, worst 156 ms (the master-down interval is ~36 ms); context switches 36-42k against keepalived's ~4.9k. Parking the loop in the runtime's poller instead (tried, commit c24c0a1, reverted in fb323ed) cut preemption signals to 22, context switches to ~2.8 times keepalived's and the CPU ratio from 3.2-4.5 to ~2.3, and oversub false transitions from 1.11 to 1.04 times keepalived's (4 one-minute rounds each), but raised nice -10 from 1.11 to 1.31 (8 rounds each; worse in 53 of 64 round pairs), so it was not kept. An unlocked thread still blocking in ppoll (1.26 / 1.20) and GOMAXPROCS=1 (1.47 / 1.27) did not help either (one round each). Not yet tried: an unlocked loop that passes through the scheduler once per wake-up (runtime.Gosched, so schedtick moves and the 10 ms exemption holds) with the wait capped under 10 ms.
NOTES
bench_gotest stability.sh TestBenchStability 120m "$@"

#!/usr/bin/env bash
# Failover, side by side: `make bench-failover` (integration/bench/failover.sh,
# network-namespace lab, root) with its medians turned into BENCH lines (see
# integration/bench/compare.sh); if failover.sh prints BENCH lines itself they
# are passed through instead.
#   env: BENCH_QUICK=1  3 runs per pair and setting instead of 5
#        LVSHA_BIN      the lvs-ha binary
set -uo pipefail
cd "$(dirname "$0")/../.."
if [[ $(id -u) != 0 ]]; then
	echo "SKIP: needs root (network-namespace lab)"
	exit 77
fi
runs=5
[[ ${BENCH_QUICK:-0} == 1 ]] && runs=3
out=$(LVSHA_BENCH_RUNS=$runs bash integration/bench/failover.sh "${LVSHA_BIN:-build/bin/lvs-ha}" 2>&1)
rc=$?
echo "$out"
echo "BENCHENV host (native), network namespaces"
cat <<'NOTES'
BENCHNOTE Time over the bound (over_bound: from the master's last advert to the backup's first, on the wire, minus Master_Down_Interval or, planned, the skew time): the backup restarts its master down timer at the advert's kernel receive time (SO_TIMESTAMPNS), not when its thread woke to read it, and its VRRP thread wakes 1 ms before a master down deadline and spins on the clock to it, never acting before it; so neither the receive wake-up nor the timer wake-up of an idle vCPU (0.1-0.5 ms on this host, `timer_late` before) is added to a takeover. keepalived anchors the timer when it processes the advert and wakes on its timer. `timer_late` is now the spin's residual. In session 9's report the kill_adv1 maximum (2.1 ms over the bound, ratio 3.1) is the script's first takeover, right after the VM scale benchmark: its timer was 1.98 ms late and its decision to advert 0.74 ms, while runs 2 and 3 were 0.12-0.13 ms over the bound with the timer on time (build/bench/compare-failover.log); keepalived's three runs were 0.43-0.68 ms.
BENCHNOTE Advert to GARP (`advert_to_garp`): the order is keepalived's (vrrp_state_master_tx sends the advert first; vrrp_state_become_master adds the addresses, polls its netlink socket, then sends the GARPs). From the advert's send to the first GARP's, lvs-ha makes 5 system calls, none allocating: an empty read of the address manager's link watch, the RTM_NEWADDR write and the read of its ack (the add request and the device index are kept while no link changes: no SIOCGIFINDEX per add, 17 allocations to 0, vip TestAddRecreatedInterface, TestAddKeptAllocs), an empty read of the GARP announcer's link watch and one write(2) of a prebuilt frame (garp BenchmarkAnnouncerSend 4-6 us); keepalived makes about 4 (the add's sendmsg and recvmsg, kernel_netlink_poll, the GARP's send). In process, from the advert sent to the first GARP written (vrrp/runner BenchmarkTakeoverAdvertToGARP, real vip and garp on a veth, 2 ms idle before each): 119 -> 114 us median, 28 -> 8 allocations. What remains is scheduling: a perf trace (sched_switch, sched_wakeup, syscalls) of 8 takeovers at load 9-26 on 2 cores showed the VRRP thread preempted after each send by the tasks the send wakes (the peer's and the capture's readers), which keepalived pays too, and, before the loop stopped locking its thread, a Go runtime preemption with a 0.3-1.4 ms futex hand-off, which is gone. In session 9's report (after the deletion watch's filter) advert to GARP is 1.25-2.65 times keepalived's at p50 (1.25-1.36 at advert_int 0.05, 1.26-2.65 at 0.2 s, 1.85-1.93 at 1 s) and decision to first GARP p50 0.31-0.79 ms, max 0.33-1.13 ms; in session 8's it was 0.94-2.60 times at p50 and decision to first GARP p50 0.38-0.83 ms, max 0.58-1.47 ms: slower than session 7's report (p50 0.33-0.42) for both binaries alike, the machine being slower that day (keepalived's own health-check CPU per check was 20-28% above its figure of session 7). Side by side right after it, session 7's binary against this one, 2 alternating rounds of 4 takeovers per setting at advert_int 1 and 0.2: over the bound p50 0.16-0.23 ms (old) against 0.12-0.16 (new), advert to GARP 0.22-1.03 ms (old) against 0.23-0.64 (new); no regression, and the issue's decision-to-GARP p99 < 0.5 ms is not met on this machine by either. In runs on the shared machine during the changes (load 7-16) the advert-to-GARP ratio moved between 0.6 and 4 from run to run with the same binary.
BENCHNOTE Advert to GARP, session 9: strace -f -tt -T of a takeover (planned, advert_int 1) showed the RTM_NEWADDR write waking a thread of the daemon itself: the watch of deleted addresses, routes and rules that guards the static entries (iproute.WatchDeletions, in Go's netpoller) read the add's RTM_NEWADDR and three RTM_NEWROUTE, ran on the other vCPU and pushed the VRRP thread's ack read to 0.5 ms under strace; keepalived's netlink monitor is read on its one thread, after the GARPs. Its socket now carries a classic BPF filter that queues only RTM_DELADDR, RTM_DELROUTE and RTM_DELRULE (iproute TestWatchDeletionsFilter: an IPv4 add queued 4 messages, now none), so nothing in lvs-ha wakes between the advert and the first GARP (runtime threads aside); the link watch reads, the GARP write and the ack read are also raw system calls now (no measurable change alone). In process with the watch running (vrrp/runner BenchmarkTakeoverAdvertToGARPWatched, 6 alternating pairs of 300 takeovers, load 6.6-7.9): first GARP 161 -> 116 us median (better in 5 of 6 pairs), 18-21 -> 8 allocations per takeover (the watch's reads gone); without the watch (BenchmarkTakeoverAdvertToGARP) 108 -> 117 us, unchanged within the noise. On the wire, 4 alternating rounds per binary of 4 takeovers per setting and mode (session 8's binary against this one, load 2-20): advert to GARP p50 0.54 -> 0.51 ms at advert_int 1 and 0.46 -> 0.42 at 0.2 (keepalived 0.21-0.26 in the same rounds), max 3.8 -> 3.3 and 6.4 -> 2.2 ms; in the daemon (garp_after - advert_after) p50 0.49 -> 0.46 and 0.43 -> 0.40 ms, max 4.3 -> 0.87 and 15.1 -> 0.77 ms. So the change cut the tail, not the median: lvs-ha's p50 stays about twice keepalived's. What remains is not on lvs-ha's own path: with GODEBUG=asyncpreemptoff=1 (8 takeovers per setting) the in-daemon p50 was the same 0.41 ms, and in process the same path takes two to three times as long after 200 ms of idleness as after 2 ms (vrrp/runner BenchmarkTakeoverAdvertToGARPAfterIdle against BenchmarkTakeoverAdvertToGARP, 30 takeovers each, twice, load 2-2.4: the address add 54-62 -> 156-161 us, the first GARP 99-104 -> 246-263 us after the add's start), against ~0.4 ms in the daemon after 0.2-1 s, so most of the rest is the cost of the path's first system calls on a CPU that idled (kernel and Go code and data out of cache, on a shared 2-vCPU guest) (and the runtime's wake-up of sysmon when the loop leaves its wait, traced as sysmon preempting the loop right after the wake-up in 2 of 4 strace'd takeovers), which the VRRP wait (vrrp/runner poll.go) owns. The issue's decision-to-GARP p99 < 0.5 ms is not met: p50 0.64-0.71 ms, max 2.5-3.4 ms in these rounds.
BENCHNOTE Advert to GARP, session 10: reading the address add's ack after the first GARP instead of before it (the kernel adds the address inside the request's write: another netlink socket sees it before the ack is read; 0b40d8d, reverted in 6082ca8) took one system call off the path and no measurable time: in process 83 against 86 us to the first GARP (6 alternating rounds, load ~5.5), on the wire in two alternating runs (takeover.sh, load 3-19) p50 0.37 -> 0.42 and 0.42 -> 0.33 ms, noise either way, so it was not kept. The cold path is the kernel's insertion of the address, which keepalived pays too: an add after 200 ms of idleness takes 106-117 us against 27-38 us after 2 ms (vrrp/vip BenchmarkAddAfterIdle, 3 runs of 40), an add of an address already there just before it (the same system calls, EEXIST) recovers only a third of that, and the loop's 1 ms spin before a master down deadline none; why keepalived's advert-to-GARP is still shorter on the wire (0.16-0.26 ms against 0.3-0.4) is not found (ftrace is not permitted in this container). In session 10's report (the same takeover path as session 9's) advert to GARP p50 is 0.88-2.16 times keepalived's (below 1.00 at advert_int 0.2 killed and 0.05 planned), decision to first GARP p50 0.36-0.67 ms and max 0.48-0.82 ms, and every takeover is 0.11-0.18 ms over the bound (keepalived 0.34-0.81 ms): the kill_adv1 maximum of session 9's report (2.1 ms, its first takeover) did not recur.
BENCHNOTE Takeover and vrrp_sched_slice, session 11: the short scheduler slice (stability.sh's notes) changes nothing on this idle machine's takeovers: takeover.sh side by side, 2 alternating rounds of 5 runs per setting with the slice at the kernel's default and at 100 us (one binary), advert->GARP p50 0.256 against 0.258 ms (geometric mean of the 6 settings' p50s; 1.49 against 1.46 times keepalived's), decision->GARP p50 0.426 against 0.441 ms, decision->advert 0.147 against 0.147 ms. This report's kill adv1 figures (advert->GARP p50 0.44 ms, decision->advert max 3.16 ms) are its first takeover after the VM scale benchmark again: the same 3.2 ms came in the side-by-side round without the slice.
NOTES
if grep -q '^BENCH ' <<<"$out"; then
	exit $rc
fi
# "bench-failover: <setting, 18 wide> <impl, 10 wide> <kill->GARP> ms <decision->GARP> ms"
echo "$out" | awk '
/^bench-failover: / && / ms / && !/ run [0-9]+:/ {
	line = substr($0, 17)
	setting = substr(line, 1, 18); gsub(/ +$/, "", setting); gsub(/[ .]/, "_", setting)
	impl = substr(line, 20, 10); gsub(/ +$/, "", impl)
	split(substr(line, 31), f, " ")
	kill[setting, impl] = f[1]; dec[setting, impl] = f[3]; settings[setting] = 1
}
END {
	for (s in settings) {
		l = kill[s, "lvs-ha"]; k = kill[s, "keepalived"]
		if (l != "" && k != "")
			printf "BENCH name=failover_kill_to_garp_%s lvsha=%s ref=%s unit=ms ratio=%.2f note=median\n", s, l, k, l / k
		l = dec[s, "lvs-ha"]; k = dec[s, "keepalived"]
		# keepalived'"'"'s decision time is its log line'"'"'s arrival, which can
		# come after its GARP (negative): no ratio then.
		if (l != "" && k != "" && k > 0)
			printf "BENCH name=failover_decision_to_garp_%s lvsha=%s ref=%s unit=ms ratio=%.2f note=median; keepalived from its log arrival, approximate\n", s, l, k, l / k
		else if (l != "")
			printf "BENCH name=failover_decision_to_garp_%s lvsha=%s ref=- unit=ms ratio=- note=median; keepalived%s from its log arrival, after its GARP\n", s, l, (k != "" ? " " k " ms" : "")
	}
}'
exit $rc

# Failover benchmark (root): the SIGKILL drill repeated for an lvs-ha pair and a
# keepalived pair in a network-namespace lab; prints medians and lvs-ha/keepalived.
#   make bench-failover                     5 runs per pair and setting
#   make bench-failover LVSHA_BENCH_RUNS=9
#
# Side-by-side report (root; VM tier for IPVS): runs every comparison script
# (integration/bench/compare.sh: control-plane scale with ipvsadm -R and
# keepalived, failover, and the other integration/bench/*.sh) and writes
# docs/benchmarks.md. Raw output and per-script logs in build/bench/.
#   make bench-compare                      full run (10,000 x 10 in the VM: long under TCG)
#   make bench-compare BENCH_QUICK=1        short run
#   make bench-compare BENCH_SCRIPTS="integration/bench/compare-scale.sh"
# The report names the reason for each ratio above 1.00 from
# integration/bench/why.txt; after editing it, render the last run again:
#   make bench-render                       build/bench/compare.out -> docs/benchmarks.md

.PHONY: bench-failover bench-compare bench-render

bench-failover: build
	@LVSHA_BENCH_RUNS=$(or $(LVSHA_BENCH_RUNS),5) GO=$(GO) bash integration/bench/failover.sh $(BIN)/lvs-ha

bench-compare: build
	@BENCH_QUICK=$(or $(BENCH_QUICK),0) BENCH_SCRIPTS="$(BENCH_SCRIPTS)" LVSHA_BIN=$(abspath $(BIN))/lvs-ha GO=$(GO) \
		bash integration/bench/compare.sh docs/benchmarks.md

bench-render:
	$(GO) run ./internal/benchreport/render -why integration/bench/why.txt -o docs/benchmarks.md <build/bench/compare.out

# Failover benchmark (root): the SIGKILL drill repeated for an lvs-ha pair and a
# keepalived pair in a network-namespace lab; prints medians and lvs-ha/keepalived.
#   make bench-failover                     5 runs per pair and setting
#   make bench-failover LVSHA_BENCH_RUNS=9

.PHONY: bench-failover

bench-failover: build
	@LVSHA_BENCH_RUNS=$(or $(LVSHA_BENCH_RUNS),5) GO=$(GO) bash integration/bench/failover.sh $(BIN)/lvs-ha

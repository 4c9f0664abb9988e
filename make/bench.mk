# Benchmarks. Each area adds its own recipe to the double-colon `bench::` target; they report
# numbers and never fail on timing.
# var BENCH_RUNS  runs per variant in the benchmarks (default 30)
BENCH_RUNS ?= 30

bench:: build ## run the benchmarks (passthrough overhead, and whatever other areas add)
	cd $(TONGS_ROOT) && BENCH_RUNS=$(BENCH_RUNS) $(NODE) dist/test/bench/passthrough-bench.js

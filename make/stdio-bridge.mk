# The stdio bridge (issue #13, sidecars/stdio-bridge): `npm run build` bundles it (make/stdio-bridge.sh).
.PHONY: bench-stdio-bridge

bench-stdio-bridge: build ## benchmark the stdio bridge: added latency per tool call over stdio directly, idle RSS
	cd $(TONGS_ROOT) && $(NODE) dist/test/bench/stdio-bridge-bench.js

bench:: bench-stdio-bridge

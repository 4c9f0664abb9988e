# Test tong images for the Docker runtime tests (issue #3), built on tongs-base:local with no registry.
# test/fixtures/tongs/build-images.sh rebuilds an image only when its inputs (sources, the npm lockfile,
# the base image) changed, so these recipes are cheap when nothing did.

# var TEST_TONG_IMAGES  test tong images to build (default: tongs-test-mcp/port/health:local)
TEST_TONG_IMAGES ?= tongs-test-mcp:local tongs-test-port:local tongs-test-health:local
# var LAUNCH_BENCH_RUNS  runs per scenario of bench-launch (default 5: each run starts 11 tongs, 11 bare tong containers and 11 compose services)
LAUNCH_BENCH_RUNS ?= 5

.PHONY: test-images bench-launch

test-images: ## build the test tong images (MCP server, port service, healthcheck) if their inputs changed
	bash $(TONGS_ROOT)/make/ensure-docker.sh
	bash $(TONGS_ROOT)/test/fixtures/tongs/build-images.sh $(TEST_TONG_IMAGES)

test-prep:: test-images

bench-launch: build test-images anvil-image github-image ## benchmark tongs' launch overhead against docker run and docker-compose
	bash $(TONGS_ROOT)/make/ensure-compose.sh
	cd $(TONGS_ROOT) && BENCH_RUNS=$(LAUNCH_BENCH_RUNS) $(NODE) dist/test/bench/launch-bench.js

bench:: bench-launch

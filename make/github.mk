# The GitHub tong (sidecars/github): its image, staged on the host so the build needs no network,
# and its benchmark. See sidecars/github/build-image.sh.
# var GITHUB_IMAGE  tag of the GitHub tong image (default tongs-github:local)
GITHUB_IMAGE ?= tongs-github:local
# var GITHUB_BASE_IMAGE  base image of the GitHub tong (default tongs-base:local, made from this host's Node)
GITHUB_BASE_IMAGE ?= tongs-base:local

# var BENCH_SCALE_RUNS  runs per call in bench-git-scale (default 5)
BENCH_SCALE_RUNS ?= 5

GITHUB_DIR := $(TONGS_ROOT)/sidecars/github
GITHUB_APP := $(GITHUB_DIR)/.build/app

.PHONY: github-image bench-github bench-git-scale

# Production dependencies for the image, installed on the host (the build has no network).
$(GITHUB_APP)/node_modules/.package-lock.json: $(GITHUB_DIR)/package.json $(GITHUB_DIR)/package-lock.json
	rm -rf $(GITHUB_APP) && mkdir -p $(GITHUB_APP)
	cp $(GITHUB_DIR)/package.json $(GITHUB_DIR)/package-lock.json $(GITHUB_APP)/
	cd $(GITHUB_APP) && $(NPM) ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline
	@touch $@

github-image: build $(GITHUB_APP)/node_modules/.package-lock.json ## build the GitHub tong image (only when its inputs changed)
	bash $(GITHUB_DIR)/build-image.sh $(GITHUB_IMAGE) $(GITHUB_BASE_IMAGE)

test-prep:: github-image

bench-github: build ## benchmark the GitHub tong: MCP-over-HTTP overhead, calls/s, idle memory
	cd $(TONGS_ROOT) && $(NODE) dist/test/bench/github-bench.js

bench:: bench-github

bench-git-scale: build ## benchmark what the git tong's calls cost the forge: requests and bytes, create_pr at 10 vs 100,000 files
	cd $(TONGS_ROOT) && BENCH_SCALE_RUNS=$(BENCH_SCALE_RUNS) $(NODE) dist/test/bench/git-scale-bench.js

bench:: bench-git-scale

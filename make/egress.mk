# The egress tong (sidecars/egress): its image, staged on the host so the build needs no network,
# and its benchmark. See sidecars/egress/build-image.sh.
# var EGRESS_IMAGE  tag of the egress tong image (default tongs-egress:local)
EGRESS_IMAGE ?= tongs-egress:local
# var EGRESS_BASE_IMAGE  base image of the egress tong (default tongs-base:local, made from this host's Node)
EGRESS_BASE_IMAGE ?= tongs-base:local

EGRESS_DIR := $(TONGS_ROOT)/sidecars/egress
EGRESS_APP := $(EGRESS_DIR)/.build/app

.PHONY: egress-image bench-egress

# Production dependencies for the image, installed on the host (the build has no network).
$(EGRESS_APP)/node_modules/.package-lock.json: $(EGRESS_DIR)/package.json $(EGRESS_DIR)/package-lock.json
	rm -rf $(EGRESS_APP) && mkdir -p $(EGRESS_APP)
	cp $(EGRESS_DIR)/package.json $(EGRESS_DIR)/package-lock.json $(EGRESS_APP)/
	cd $(EGRESS_APP) && $(NPM) ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline
	@touch $@

egress-image: build $(EGRESS_APP)/node_modules/.package-lock.json ## build the egress tong image (only when its inputs changed)
	bash $(TONGS_ROOT)/make/ensure-docker.sh
	bash $(EGRESS_DIR)/build-image.sh $(EGRESS_IMAGE) $(EGRESS_BASE_IMAGE)

test-prep:: egress-image

bench-egress: egress-image ## benchmark the egress tong: idle memory, latency added to a proxied request
	cd $(TONGS_ROOT) && BENCH_RUNS=$(BENCH_RUNS) $(NODE) dist/test/bench/egress-bench.js

bench:: bench-egress

# The model tong (sidecars/model-api): its image, staged on the host so the build needs no network,
# and its benchmark. See sidecars/model-api/build-image.sh.
# var MODEL_API_IMAGE  tag of the model tong image (default tongs-model-api:local)
MODEL_API_IMAGE ?= tongs-model-api:local
# var MODEL_API_BASE_IMAGE  base image of the model tong (default tongs-base:local, made from this host's Node)
MODEL_API_BASE_IMAGE ?= tongs-base:local

MODEL_API_DIR := $(TONGS_ROOT)/sidecars/model-api
MODEL_API_APP := $(MODEL_API_DIR)/.build/app

.PHONY: model-api-image bench-model

# Production dependencies for the image, installed on the host (the build has no network).
$(MODEL_API_APP)/node_modules/.package-lock.json: $(MODEL_API_DIR)/package.json $(MODEL_API_DIR)/package-lock.json
	rm -rf $(MODEL_API_APP) && mkdir -p $(MODEL_API_APP)
	cp $(MODEL_API_DIR)/package.json $(MODEL_API_DIR)/package-lock.json $(MODEL_API_APP)/
	cd $(MODEL_API_APP) && $(NPM) ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline
	@touch $@

model-api-image: build $(MODEL_API_APP)/node_modules/.package-lock.json ## build the model tong image (only when its inputs changed)
	bash $(MODEL_API_DIR)/build-image.sh $(MODEL_API_IMAGE) $(MODEL_API_BASE_IMAGE)

test-prep:: model-api-image

bench-model: build model-api-image ## benchmark the model tong: time to first byte through it vs direct, idle RSS
	cd $(TONGS_ROOT) && $(NODE) dist/test/bench/model-bench.js

bench:: bench-model

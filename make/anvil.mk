# The anvil image (issue #4): Claude Code and OpenCode in one image, tongs-anvil:local.
# make/anvil-image.sh rebuilds it only when an input changed and says which base it used.

# var ANVIL_IMAGE       the anvil image tag (default tongs-anvil:local)
ANVIL_IMAGE ?= tongs-anvil:local
# var ANVIL_BASE_IMAGE  base for the anvil image (default: node:20-bookworm if present or pullable, else tongs-base:local)
ANVIL_BASE_IMAGE ?=
export ANVIL_BASE_IMAGE

.PHONY: anvil-deps anvil-image

# `npm install --no-save`, not `npm ci`: the lockfile holds only the platform packages of the harnesses
# that its registry served (linux-x64), and `npm ci` refuses a lock without every optional platform
# entry. Versions and integrity still come from the lock; the lock is never rewritten.
$(TONGS_ROOT)/anvil/node_modules/.package-lock.json: $(TONGS_ROOT)/anvil/package-lock.json $(TONGS_ROOT)/anvil/package.json
	cd $(TONGS_ROOT)/anvil && $(NPM) install --no-save --no-audit --no-fund
	@touch $@

anvil-deps: $(TONGS_ROOT)/anvil/node_modules/.package-lock.json ## install the pinned harnesses into anvil/node_modules (on the host)

# Compile only when a TypeScript source changed (`make build` always runs tsc: too slow for every run).
TS_SOURCES := $(shell find $(TONGS_ROOT)/launcher $(TONGS_ROOT)/anvil/src $(TONGS_ROOT)/sidecars/github/src \
  $(TONGS_ROOT)/sidecars/shared $(TONGS_ROOT)/sidecars/stdio-bridge/src \
  -name '*.ts' 2>/dev/null)
$(TONGS_ROOT)/.build/tsc.stamp: $(TS_SOURCES) $(TONGS_ROOT)/tsconfig.json $(TONGS_ROOT)/node_modules/.package-lock.json
	cd $(TONGS_ROOT) && $(NPM) run --silent build >&2
	@mkdir -p $(@D) && touch $@

anvil-image: anvil-deps $(TONGS_ROOT)/.build/tsc.stamp ## build the anvil image (both harnesses) if an input changed
	@bash $(TONGS_ROOT)/make/ensure-docker.sh
	@bash $(TONGS_ROOT)/make/anvil-image.sh $(ANVIL_IMAGE)

test-prep:: anvil-image

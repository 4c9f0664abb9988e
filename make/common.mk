# Build and test. Other make/*.mk files add recipes to the double-colon `test-prep::` target
# (images the tests need) and their own targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
NPM ?= npm
NODE ?= node
TEST_DIRS ?= dist/test/unit dist/test/integration dist/test/e2e

.PHONY: build test test-unit test-prep help deps bench

$(TONGS_ROOT)/node_modules/.package-lock.json: $(TONGS_ROOT)/package-lock.json
	cd $(TONGS_ROOT) && $(NPM) ci --no-audit --no-fund
	@touch $@

deps: $(TONGS_ROOT)/node_modules/.package-lock.json ## install npm dependencies (pinned by package-lock.json)

build: deps ## compile the TypeScript into dist/
	cd $(TONGS_ROOT) && $(NPM) run --silent build

test-prep:: build

test: test-prep ## run every test: unit, integration (real Docker engine) and e2e (real harnesses)
	cd $(TONGS_ROOT) && $(NODE) --test $(wildcard $(addprefix $(TONGS_ROOT)/,$(TEST_DIRS)))

test-unit: build ## run the unit tests only (no Docker)
	cd $(TONGS_ROOT) && $(NODE) --test dist/test/unit

help: ## list targets and variables
	@echo "tongs — targets:"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort -u | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'
	@echo
	@echo "Variables:"
	@grep -hE '^# var ' $(MAKEFILE_LIST) | sed 's/^# var /  /'

# Secrets and trust (issue #6): the secret delivery tests and benchmark run containers from
# tongs-base:local; make/base-image.sh rebuilds it only when its inputs changed.

.PHONY: secrets-prep bench-secrets

secrets-prep: ## build tongs-base:local for the secret delivery tests (no-op when up to date)
	bash $(TONGS_ROOT)/make/ensure-docker.sh
	bash $(TONGS_ROOT)/make/base-image.sh

test-prep:: secrets-prep

bench-secrets: build secrets-prep ## benchmark what secret delivery adds to a tong's start (budget: 150 ms median)
	cd $(TONGS_ROOT) && $(NODE) dist/test/bench/secret-delivery-bench.js

bench:: bench-secrets

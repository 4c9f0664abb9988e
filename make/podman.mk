# Podman as a second engine (issue #16): the integration suite runs again on Podman's Docker-compatible
# API. make/ensure-podman.sh installs and starts it when needed and prints its DOCKER_HOST; images are
# built into Podman's own store by Podman's builder through that API (the same scripts, DOCKER_HOST set).

# var PODMAN_SOCKET  the Podman API socket test-podman uses (default /run/podman/podman.sock, rootful)
PODMAN_SOCKET ?= /run/podman/podman.sock

.PHONY: test-podman

test-podman: build ## run the integration tests on Podman (installed and started when missing)
	host=$$(bash $(TONGS_ROOT)/make/ensure-podman.sh $(PODMAN_SOCKET)) && \
	  DOCKER_HOST=$$host DOCKER_CONTEXT= $(MAKE) --no-print-directory -C $(TONGS_ROOT) test-prep && \
	  cd $(TONGS_ROOT) && DOCKER_HOST=$$host DOCKER_CONTEXT= $(NODE) --test dist/test/integration

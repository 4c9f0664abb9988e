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

# Rootless Podman (issue #16): the same integration suite, run as the unprivileged user of
# make/ensure-podman-rootless.sh against that user's own Podman, from a copy of this checkout that the
# user owns (tests and image scripts write into the checkout; the copy leaves out .git and the anvil's
# node_modules, which only building the anvil image reads). The images come from the rootful store
# (built by test-podman's test-prep; `docker save | docker load` keeps their ids and input labels, so
# nothing rebuilds). Test files that need host root themselves are left out, named in ROOTLESS_SKIP:
# engine-context and engine-ssh (a private mount namespace; sshd), seal-network (host network
# namespaces), make-anvil-image (builds the anvil image from the checkout).
# var ROOTLESS_SKIP  integration test files not run rootless (they need host root, not the engine's)
ROOTLESS_SKIP ?= engine-context engine-ssh make-anvil-image seal-network
# var ROOTLESS_COPY  where the rootless user's copy of this checkout goes (default: in its home)
ROOTLESS_COPY ?=

.PHONY: test-podman-rootless

test-podman-rootless: build ## run the integration tests on rootless Podman, as an unprivileged user (after test-podman built the images)
	host=$$(bash $(TONGS_ROOT)/make/ensure-podman-rootless.sh) && \
	  user=$${TONGS_ROOTLESS_USER:-tongs-rootless} && uid=$$(id -u $$user) && home=$$(getent passwd $$user | cut -d: -f6) && \
	  copy=$${ROOTLESS_COPY:-$$home/tongs} && \
	  as_user() { runuser -u $$user -- env HOME=$$home XDG_RUNTIME_DIR=/run/user/$$uid PATH="$$PATH" "$$@"; } && \
	  echo "tongs: copying this checkout to $$copy for $$user" >&2 && \
	  rm -rf "$$copy" && mkdir -p "$$copy" && \
	  tar -C $(TONGS_ROOT) --exclude=./.git --exclude=./anvil/node_modules -cf - . | tar -C "$$copy" -xf - && \
	  chown -R $$user: "$$copy" && \
	  images=$$(DOCKER_HOST=unix://$(PODMAN_SOCKET) DOCKER_CONTEXT= docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^(localhost/|docker.io/library/)?tongs-(base|anvil|github|model-api|egress|stdio-bridge|test-[a-z-]+):local$$' | sed -E 's#^(localhost|docker.io/library)/##' | sort -u) && \
	  echo "tongs: loading $$(echo $$images | wc -w) images into $$user's Podman store" >&2 && \
	  DOCKER_HOST=unix://$(PODMAN_SOCKET) DOCKER_CONTEXT= docker save $$images | as_user env DOCKER_HOST=$$host docker load -q >/dev/null && \
	  files=$$(cd "$$copy" && ls dist/test/integration/*.test.js | grep -vE "/($$(echo $(ROOTLESS_SKIP) | tr ' ' '|'))\.test\.js$$") && \
	  cd "$$copy" && as_user env DOCKER_HOST=$$host DOCKER_CONTEXT= TONGS_REQUIRE_DOCKER=$${TONGS_REQUIRE_DOCKER:-} $(NODE) --test $$files

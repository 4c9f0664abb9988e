# `make run_claude` / `make run_opencode` / `make run_codex` / `make run_gemini` (issues #4, #14): build what is missing, then
# `tongs run --harness … <layers> --workspace PROJECT_DIR -- docker run … tongs-anvil:local HARNESS ARGS`.
# make/run-anvil.sh builds the docker argv; `make anvil-argv` prints it (NUL-separated) without running.

# var PROJECT_DIR      the project the agent works on, mounted at /workspace (default: the current directory)
PROJECT_DIR ?= $(CURDIR)
# var CLAUDE_ARGS      arguments for claude, split like a shell command line (e.g. CLAUDE_ARGS='-p "hi"')
CLAUDE_ARGS ?=
# var OPENCODE_ARGS    arguments for opencode, split like a shell command line
OPENCODE_ARGS ?=
# var CODEX_ARGS       arguments for codex, split like a shell command line (e.g. CODEX_ARGS='mcp list')
CODEX_ARGS ?=
# var GEMINI_ARGS      arguments for gemini, split like a shell command line (e.g. GEMINI_ARGS='mcp list')
GEMINI_ARGS ?=
# var ANVIL_DOCKER_ARGS  extra `docker run` options for the anvil, split like a shell command line
ANVIL_DOCKER_ARGS ?=
# var SHARE_LOGIN      1: mount your own Claude Code credentials / OpenCode auth.json / Codex auth.json / Gemini oauth_creds.json read-only into the anvil (default: each project logs in on its own, kept in its private state)
SHARE_LOGIN ?= $(TONGS_SHARE_LOGIN)
TONGS_SHARE_LOGIN := $(SHARE_LOGIN)
# var USER_TONGS       user layer of tong definitions (default $TONGS_HOME/tongs, TONGS_HOME default ~/.tongs)
USER_TONGS ?= $(or $(TONGS_HOME),$(HOME)/.tongs)/tongs
# var ORG_TONGS        org layer of tong definitions (default: none)
ORG_TONGS ?=
# var REPO_TONGS       repo layer of tong definitions (default: this repository's sidecars/)
REPO_TONGS ?= $(TONGS_ROOT)/sidecars
# var WORKSPACE_TONGS  workspace layer (default PROJECT_DIR/.tongs/tongs; needs first-run approval)
WORKSPACE_TONGS ?= $(PROJECT_DIR)/.tongs/tongs
# var HARNESS          harness for `make doctor` / `make anvil-argv` / `make tongs-images` (claude, opencode, codex or gemini)
HARNESS ?= claude
# var DOCTOR_ARGS      options for `tongs doctor` (make doctor), e.g. DOCTOR_ARGS=--json
DOCTOR_ARGS ?=
# Tong images that a make target here builds (IMAGE=TARGET); others are built by `tongs run` from `build:`.
TONG_IMAGE_TARGETS ?= $(GITHUB_IMAGE)=github-image $(EGRESS_IMAGE)=egress-image $(MODEL_API_IMAGE)=model-api-image \
  $(POSTGRES_IMAGE)=postgres-image $(POSTGRES_MCP_IMAGE)=postgres-mcp-image

# Passed unexpanded, so a `$` in them reaches the harness as typed (the script splits them like a shell).
TONGS_CLAUDE_ARGS := $(value CLAUDE_ARGS)
TONGS_OPENCODE_ARGS := $(value OPENCODE_ARGS)
TONGS_CODEX_ARGS := $(value CODEX_ARGS)
TONGS_GEMINI_ARGS := $(value GEMINI_ARGS)
TONGS_ANVIL_DOCKER_ARGS := $(value ANVIL_DOCKER_ARGS)

export DOCTOR_ARGS TONGS_SHARE_LOGIN TONGS_ROOT PROJECT_DIR TONGS_CLAUDE_ARGS TONGS_OPENCODE_ARGS TONGS_CODEX_ARGS TONGS_GEMINI_ARGS TONGS_ANVIL_DOCKER_ARGS USER_TONGS ORG_TONGS REPO_TONGS WORKSPACE_TONGS \
  ANVIL_IMAGE TONG_IMAGE_TARGETS NODE

RUN_ANVIL := bash $(TONGS_ROOT)/make/run-anvil.sh

.PHONY: run_claude run_opencode run_codex run_gemini doctor tongs-images anvil-argv

tongs-images: anvil-image ## build the missing images of the tongs discovered for PROJECT_DIR
	@$(RUN_ANVIL) images $(HARNESS)

run_claude: HARNESS = claude
run_claude: tongs-images ## run Claude Code in the anvil on PROJECT_DIR with the tongs beside it (CLAUDE_ARGS)
	@$(RUN_ANVIL) run claude

run_opencode: HARNESS = opencode
run_opencode: tongs-images ## run OpenCode in the anvil on PROJECT_DIR with the tongs beside it (OPENCODE_ARGS)
	@$(RUN_ANVIL) run opencode

run_codex: HARNESS = codex
run_codex: tongs-images ## run Codex CLI in the anvil on PROJECT_DIR with the tongs beside it (CODEX_ARGS)
	@$(RUN_ANVIL) run codex

run_gemini: HARNESS = gemini
run_gemini: tongs-images ## run Gemini CLI in the anvil on PROJECT_DIR with the tongs beside it (GEMINI_ARGS)
	@$(RUN_ANVIL) run gemini

doctor: tongs-images ## check the seal from inside the anvil that make run_claude (HARNESS=…) starts: one ✔/✘ line per check (DOCTOR_ARGS=--json)
	@$(RUN_ANVIL) doctor $(HARNESS)

anvil-argv: ## print the anvil's direct `docker run` argv for HARNESS, NUL-separated (no tongs, runs nothing)
	@$(RUN_ANVIL) print-argv $(HARNESS)

bench:: anvil-image test-images
	cd $(TONGS_ROOT) && $(NODE) dist/test/bench/make-run-bench.js

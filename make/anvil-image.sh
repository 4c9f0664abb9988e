#!/usr/bin/env bash
# Build the anvil image (issue #4 item 1) from anvil/Dockerfile, only when an input changed.
#
# Base: $ANVIL_BASE_IMAGE when set; else $ANVIL_DEFAULT_BASE (node:20-bookworm) when it is present or a
# registry answers for it; else tongs-base:local, made from this host's Node runtime by
# make/base-image.sh. The base used is printed either way.
# Inputs (hashed into the image label tongs.anvil.inputs): the base image id, this script, the
# Dockerfile, entrypoint and default config, the harness lockfile and installed tree, the compiled
# merge tool and its two dependencies. The harnesses must already be installed in anvil/node_modules
# (`make anvil-deps`) and the TypeScript compiled (`make build`).
#
# Usage: make/anvil-image.sh [IMAGE]   (default tongs-anvil:local)
set -euo pipefail

image=${1:-tongs-anvil:local}
root=$(cd "$(dirname "$0")/.." && pwd)
anvil="$root/anvil"
stage="$root/.build/anvil-context"
default_base=${ANVIL_DEFAULT_BASE:-node:20-bookworm}

claude_bin="$anvil/node_modules/@anthropic-ai/claude-code/bin/claude.exe"
opencode_bin="$anvil/node_modules/opencode-ai/bin/opencode.exe"
codex_vendor="$anvil/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl"
gemini_pkg="$anvil/node_modules/@google/gemini-cli"
merge_js=("$root/dist/anvil/src/merge-opencode-json.js" "$root/dist/anvil/src/opencode-config.js" "$root/dist/anvil/src/relay.js"
  "$root/dist/anvil/src/seal-checks.js" "$root/dist/anvil/src/seal-checks-core.js" "$root/dist/anvil/src/codex-config.js")
merge_deps=(deepmerge-ts jsonc-parser smol-toml)
for f in "$claude_bin" "$opencode_bin" "$codex_vendor/bin/codex" "$gemini_pkg/bundle/gemini.js"; do
  [ -e "$f" ] || { echo "tongs: $f is missing: run \`make anvil-deps\`" >&2; exit 1; }
done
for f in "${merge_js[@]}"; do
  [ -f "$f" ] || { echo "tongs: $f is missing: run \`make build\`" >&2; exit 1; }
done

# --- the warm path (issue #12: `make run_claude` checks this on every run) ------------------------------
# The full check below costs several docker CLI calls, a registry probe and hashing. When no input
# file changed since the last check (names, sizes and mtimes, plus the loader cache for the host
# libraries) and the image and its base still have the ids recorded then, one docker call decides.
stamp="$root/.build/anvil-image-$(printf '%s' "$image" | tr -c 'a-zA-Z0-9' _).stamp"
quick=$(
  {
    printf '%s\n' "$image" "${ANVIL_BASE_IMAGE:-}" "$default_base"
    stat -L -c '%n %s %Y' "$0" "$anvil/Dockerfile" "$anvil/entrypoint.sh" "$anvil/opencode.defaults.json" \
      "$anvil/package-lock.json" "$anvil/node_modules/.package-lock.json" "${merge_js[@]}" /etc/ld.so.cache
    for dep in "${merge_deps[@]}"; do stat -L -c '%n %s %Y' "$root/node_modules/$dep/package.json"; done
  } | sha256sum | cut -c1-16
)
if [ -f "$stamp" ] && read -r s_quick s_base s_ids <"$stamp" && [ "$s_quick" = "$quick" ] &&
  [ "$(docker image inspect -f '{{.Id}}' "$image" "$s_base" 2>/dev/null | tr '\n' ,)" = "$s_ids" ]; then
  echo "tongs: anvil image $image is up to date (base $s_base: no input changed since the last check)" >&2
  exit 0
fi
rm -f "$stamp"
record_stamp() { # after a check or a build: the quick key, the base, and both image ids
  local ids
  ids=$(docker image inspect -f '{{.Id}}' "$image" "$base" 2>/dev/null | tr '\n' ,) || return 0
  printf '%s %s %s\n' "$quick" "$base" "$ids" >"$stamp"
}

# --- the base ----------------------------------------------------------------------------------------
if [ -n "${ANVIL_BASE_IMAGE:-}" ]; then
  base=$ANVIL_BASE_IMAGE why="ANVIL_BASE_IMAGE"
elif docker image inspect "$default_base" >/dev/null 2>&1; then
  base=$default_base why="present locally"
elif timeout 120 docker pull -q "$default_base" >/dev/null 2>&1; then
  base=$default_base why="pulled"
else
  # Made once; make/base-image.sh (run by `make test-prep` too) refreshes it when the host's Node changes.
  docker image inspect tongs-base:local >/dev/null 2>&1 || bash "$root/make/base-image.sh" tongs-base:local
  base=tongs-base:local why="no registry answered for $default_base; made from this host's Node runtime"
fi
base_id=$(docker image inspect -f '{{.Id}}' "$base")
# make/run-anvil.sh builds tong images on the same base.
mkdir -p "$root/.build"
[ "$(cat "$root/.build/anvil-base" 2>/dev/null)" = "$base" ] || echo "$base" >"$root/.build/anvil-base"

# Shared libraries the harness binaries link (the Dockerfile copies only those the base lacks).
mapfile -t libs < <(ldd "$claude_bin" "$opencode_bin" | awk '/=> \//{print $3} /^\s*\/lib/{print $1}' | sort -u)

inputs=$(
  {
    echo "$base_id"
    # Contents only (sha256sum < FILE): the same inputs hash the same however this script is invoked.
    for f in "$0" "$anvil/Dockerfile" "$anvil/entrypoint.sh" "$anvil/opencode.defaults.json" \
      "$anvil/package-lock.json" "$anvil/node_modules/.package-lock.json" "${merge_js[@]}" "${libs[@]}"; do
      sha256sum <"$f"
    done
    for dep in "${merge_deps[@]}"; do sha256sum <"$root/node_modules/$dep/package.json"; done
  } | sha256sum | cut -c1-16
)
if [ "$(docker image inspect -f '{{ index .Config.Labels "tongs.anvil.inputs" }}' "$image" 2>/dev/null || true)" = "$inputs" ]; then
  echo "tongs: anvil image $image is up to date (base $base: $why)" >&2
  record_stamp
  exit 0
fi
old_id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
echo "tongs: building anvil image $image on base $base ($why)" >&2

# --- the build context: hard links where possible (the harness binaries are ~570 MB) -------------------
link() { mkdir -p "$(dirname "$2")"; ln -f "$1" "$2" 2>/dev/null || cp -p "$1" "$2"; }
rm -rf "$stage"
mkdir -p "$stage/hostlibs" "$stage/harness" "$stage/merge"
link "$anvil/Dockerfile" "$stage/Dockerfile"
link "$anvil/entrypoint.sh" "$stage/entrypoint.sh"
link "$anvil/opencode.defaults.json" "$stage/opencode.defaults.json"
link "$claude_bin" "$stage/harness/claude"
link "$opencode_bin" "$stage/harness/opencode"
(cd "$codex_vendor" && find . -type f) | while read -r f; do link "$codex_vendor/${f#./}" "$stage/harness/codex/${f#./}"; done
(cd "$gemini_pkg" && find . -type f) | while read -r f; do link "$gemini_pkg/${f#./}" "$stage/harness/gemini/${f#./}"; done
link "$anvil/package-lock.json" "$stage/harness/package-lock.json"
for lib in "${libs[@]}"; do mkdir -p "$stage/hostlibs$(dirname "$lib")"; cp -L "$lib" "$stage/hostlibs$lib"; done
printf '{ "type": "module", "private": true }\n' >"$stage/merge/package.json"
for f in "${merge_js[@]}"; do link "$f" "$stage/merge/${f#"$root/"}"; done
for dep in "${merge_deps[@]}"; do
  mkdir -p "$stage/merge/node_modules"
  cp -a "$root/node_modules/$dep" "$stage/merge/node_modules/$dep"
done

claude_version=$(node -p 'require(process.argv[1]).version' "$anvil/node_modules/@anthropic-ai/claude-code/package.json")
opencode_version=$(node -p 'require(process.argv[1]).version' "$anvil/node_modules/opencode-ai/package.json")
codex_version=$(node -p 'require(process.argv[1]).version' "$anvil/node_modules/@openai/codex/package.json")
gemini_version=$(node -p 'require(process.argv[1]).version' "$gemini_pkg/package.json")
# DOCKER_BUILDKIT=0: the classic builder, as the engine here may have no buildx.
if ! out=$(DOCKER_BUILDKIT=0 docker build -q \
  --build-arg "BASE_IMAGE=$base" \
  --label "tongs.anvil.inputs=$inputs" \
  --label "tongs.anvil.base=$base" \
  --label "tongs.anvil.claude-code=$claude_version" \
  --label "tongs.anvil.opencode=$opencode_version" \
  --label "tongs.anvil.codex=$codex_version" \
  --label "tongs.anvil.gemini-cli=$gemini_version" \
  -t "$image" "$stage" 2>&1); then
  echo "$out" >&2
  echo "tongs: building $image failed" >&2
  exit 1
fi
rm -rf "$stage"
# The previous build is now untagged; drop it (~700 MB) unless a container still uses it or another
# tag still names it (an ANVIL_IMAGE built from the same inputs shares its id).
if [ -n "$old_id" ] && [ "$old_id" != "$(docker image inspect -f '{{.Id}}' "$image")" ] &&
  [ "$(docker image inspect -f '{{len .RepoTags}}' "$old_id" 2>/dev/null)" = 0 ]; then
  docker image rm "$old_id" >/dev/null 2>&1 || true
fi
record_stamp
echo "tongs: anvil image $image built (Claude Code $claude_version, OpenCode $opencode_version, Codex $codex_version, Gemini CLI $gemini_version, base $base)" >&2

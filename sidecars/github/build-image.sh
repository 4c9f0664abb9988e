#!/usr/bin/env bash
# Stage and build the GitHub tong image (called by `make github-image`). The server ships as one file
# (issue #12 "Fast start-up"): the compiled server (dist/sidecars/github/src/*.js and the shared
# request rules, dist/sidecars/shared/) is staged into sidecars/github/.build/app next to the
# production node_modules that make installed there from the tong's own lockfile, and esbuild bundles
# it from there, so the bundle holds exactly the pinned versions: .build/app/tongs-github.cjs, which
# the image gets with its loader (start.cjs). Then `docker build` with no network, whose RUN step
# writes V8's code cache of the server's start beside the bundle. Rebuilds only when the inputs (the
# bundle, the loader, Dockerfile, base image id) change: their hash is kept in the image label
# tongs.github.inputs.
#
# Measured on Node 20.20 (process start → `listening`, median of 9 alternating runs, loaded machine):
# the tsc output with its node_modules 439–516 ms, the bundle 214–265 ms, `node -e 0` 92–99 ms. A
# startup snapshot cannot be built (Node 20's snapshot builder fails in node:http, which the server
# needs). The V8 code cache saves 15–40 ms more; the image's /app is read-only to the server (uid
# 65534), so the cache is made at build time (start.cjs), not at the first start.
#
# Usage: sidecars/github/build-image.sh [IMAGE [BASE_IMAGE]]   (defaults tongs-github:local, tongs-base:local)
set -euo pipefail

image=${1:-tongs-github:local}
base=${2:-tongs-base:local}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
app="$here/.build/app"

[ -d "$app/node_modules" ] || { echo "tongs: $app/node_modules is missing; run 'make github-image'" >&2; exit 1; }
[ -f "$root/dist/sidecars/github/src/main.js" ] || { echo "tongs: dist/sidecars/github/src/main.js is missing; run 'make build'" >&2; exit 1; }

if [ "$base" = tongs-base:local ]; then bash "$root/make/base-image.sh" "$base"; fi

rm -rf "$app/dist" "$app/tongs-github.cjs" "$app/start.cjs"
mkdir -p "$app/dist/sidecars/github/src" "$app/dist/sidecars/shared"
cp "$root"/dist/sidecars/shared/*.js "$app/dist/sidecars/shared/"
cp "$root"/dist/sidecars/github/src/*.js "$app/dist/sidecars/github/src/"
# Resolved from $app/node_modules (the tong's lockfile), not the repository's: the staged files sit there.
"$root/node_modules/.bin/esbuild" "$app/dist/sidecars/github/src/main.js" --bundle --platform=node --format=cjs \
  --target=node20 --legal-comments=none --log-level=warning --outfile="$app/tongs-github.cjs"
rm -rf "$app/dist"
cp "$here/start.cjs" "$app/start.cjs"

base_id=$(docker image inspect -f '{{.Id}}' "$base" 2>/dev/null || echo "$base")
inputs=$( { cd "$here" && sha256sum .build/app/tongs-github.cjs .build/app/start.cjs Dockerfile .dockerignore; echo "$base_id"; } | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{ index .Config.Labels "tongs.github.inputs" }}' "$image" 2>/dev/null || true)" = "$inputs" ]; then
  echo "tongs: image $image is up to date" >&2
  exit 0
fi
echo "tongs: building image $image from $base" >&2
docker build --quiet --network none --build-arg "BASE_IMAGE=$base" --label "tongs.github.inputs=$inputs" -t "$image" "$here" >/dev/null
echo "tongs: image $image built" >&2

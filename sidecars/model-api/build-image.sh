#!/usr/bin/env bash
# Stage and build the model tong image (called by `make model-api-image`). Stages the compiled proxy
# (dist/sidecars/model-api/src/*.js) into sidecars/model-api/.build/app next to the production
# node_modules that make installed there, then runs `docker build` with no network. Rebuilds only
# when the inputs (staged files, Dockerfile, base image id) change: their hash is kept in the image
# label tongs.model-api.inputs.
#
# Usage: sidecars/model-api/build-image.sh [IMAGE [BASE_IMAGE]]   (defaults tongs-model-api:local, tongs-base:local)
set -euo pipefail

image=${1:-tongs-model-api:local}
base=${2:-tongs-base:local}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
app="$here/.build/app"

[ -d "$app/node_modules" ] || { echo "tongs: $app/node_modules is missing; run 'make model-api-image'" >&2; exit 1; }
[ -f "$root/dist/sidecars/model-api/src/main.js" ] || { echo "tongs: dist/sidecars/model-api/src/main.js is missing; run 'make build'" >&2; exit 1; }

if [ "$base" = tongs-base:local ]; then bash "$root/make/base-image.sh" "$base"; fi

rm -rf "$app/dist"
mkdir -p "$app/dist/sidecars/model-api/src" "$app/dist/sidecars/shared"
cp "$root"/dist/sidecars/shared/*.js "$app/dist/sidecars/shared/"
cp "$root"/dist/sidecars/model-api/src/*.js "$app/dist/sidecars/model-api/src/"
chmod 0755 "$app/dist/sidecars/model-api/src/main.js"

base_id=$(docker image inspect -f '{{.Id}}' "$base" 2>/dev/null || echo "$base")
inputs=$( { cd "$here" && find .build/app -path .build/app/node_modules -prune -o -type f -print | LC_ALL=C sort | xargs sha256sum
            sha256sum .build/app/package-lock.json Dockerfile .dockerignore; echo "$base_id"; } | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{ index .Config.Labels "tongs.model-api.inputs" }}' "$image" 2>/dev/null || true)" = "$inputs" ]; then
  echo "tongs: image $image is up to date" >&2
  exit 0
fi
echo "tongs: building image $image from $base" >&2
docker build --quiet --network none --build-arg "BASE_IMAGE=$base" --label "tongs.model-api.inputs=$inputs" -t "$image" "$here" >/dev/null
echo "tongs: image $image built" >&2

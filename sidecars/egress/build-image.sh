#!/usr/bin/env bash
# Stage and build the egress tong image (called by `make egress-image`). Stages the compiled proxy
# (dist/sidecars/egress/src/*.js) and the one core module it shares with the launcher
# (dist/launcher/core/egress-match.js, the allowlist matcher) into sidecars/egress/.build/app next
# to the production node_modules that make installed there, then runs `docker build` with no
# network. Rebuilds only when the inputs (staged files, Dockerfile, base image id) change: their
# hash is kept in the image label tongs.egress.inputs.
#
# Usage: sidecars/egress/build-image.sh [IMAGE [BASE_IMAGE]]   (defaults tongs-egress:local, tongs-base:local)
set -euo pipefail

image=${1:-tongs-egress:local}
base=${2:-tongs-base:local}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
app="$here/.build/app"

[ -d "$app/node_modules" ] || { echo "tongs: $app/node_modules is missing; run 'make egress-image'" >&2; exit 1; }
[ -f "$root/dist/sidecars/egress/src/main.js" ] || { echo "tongs: dist/sidecars/egress/src/main.js is missing; run 'make build'" >&2; exit 1; }

if [ "$base" = tongs-base:local ]; then bash "$root/make/base-image.sh" "$base"; fi

rm -rf "$app/dist"
mkdir -p "$app/dist/sidecars/egress/src" "$app/dist/launcher/core"
cp "$root"/dist/sidecars/egress/src/*.js "$app/dist/sidecars/egress/src/"
cp "$root/dist/launcher/core/egress-match.js" "$app/dist/launcher/core/"
chmod 0755 "$app/dist/sidecars/egress/src/main.js"

base_id=$(docker image inspect -f '{{.Id}}' "$base" 2>/dev/null || echo "$base")
inputs=$( { cd "$here" && find .build/app -path .build/app/node_modules -prune -o -type f -print | LC_ALL=C sort | xargs sha256sum
            sha256sum .build/app/package-lock.json Dockerfile .dockerignore; echo "$base_id"; } | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{ index .Config.Labels "tongs.egress.inputs" }}' "$image" 2>/dev/null || true)" = "$inputs" ]; then
  echo "tongs: image $image is up to date" >&2
  exit 0
fi
echo "tongs: building image $image from $base" >&2
docker build --quiet --network none --build-arg "BASE_IMAGE=$base" --label "tongs.egress.inputs=$inputs" -t "$image" "$here" >/dev/null
echo "tongs: image $image built" >&2

#!/usr/bin/env bash
# Build the postgres-mcp tong image (issue #13 item 2): `npm ci` of package-lock.json on the host
# into .build/app (production dependencies, no install scripts), then `docker build --network none`
# on tongs-base:local. Rebuilds only when the inputs change (label tongs.postgres-mcp.inputs).
#
# Usage: sidecars/postgres-mcp/build-image.sh [IMAGE [BASE_IMAGE]]   (defaults tongs-postgres-mcp:local, tongs-base:local)
set -euo pipefail
image=${1:-tongs-postgres-mcp:local}
base=${2:-tongs-base:local}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
app="$here/.build/app"
# One build at a time (tests build in parallel): the staging directory is rebuilt in place.
mkdir -p "$here/.build"
exec 9>"$here/.build/lock"
flock 9
[ "$base" = tongs-base:local ] && bash "$root/make/base-image.sh" "$base"
if ! cmp -s "$here/package-lock.json" "$app/package-lock.json" 2>/dev/null || [ ! -d "$app/node_modules" ]; then
  rm -rf "$app" && mkdir -p "$app"
  cp "$here/package.json" "$here/package-lock.json" "$app/"
  (cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline >/dev/null)
fi
base_id=$(docker image inspect -f '{{.Id}}' "$base" 2>/dev/null || echo "$base")
inputs=$( { sha256sum "$here/package-lock.json" "$here/Dockerfile"; echo "$base_id"; } | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{ index .Config.Labels "tongs.postgres-mcp.inputs" }}' "$image" 2>/dev/null || true)" = "$inputs" ]; then
  echo "tongs: image $image is up to date" >&2
  exit 0
fi
echo "tongs: building image $image from $base" >&2
docker build --quiet --network none --build-arg "BASE_IMAGE=$base" --label "tongs.postgres-mcp.inputs=$inputs" -t "$image" "$here" >/dev/null
echo "tongs: image $image built" >&2

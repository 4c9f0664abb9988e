#!/usr/bin/env bash
# Build the PostgreSQL tong image (issue #13 item 2: "built without a registry … from the host's
# Debian postgresql package files, the way tongs-base:local is"). Stages, from this host's Debian
# `postgresql` package (installed when missing), the server binaries (postgres, initdb, psql,
# pg_isready), the shared libraries `ldd` lists for them and for the server's own modules, the
# modules (without the LLVM JIT) and the share directory, at their Debian paths, onto
# tongs-base:local; then `docker build --network none`. Rebuilds only when the inputs change.
#
# Usage: sidecars/postgres/build-image.sh [IMAGE [BASE_IMAGE]]   (defaults tongs-postgres:local, tongs-base:local)
set -euo pipefail
image=${1:-tongs-postgres:local}
base=${2:-tongs-base:local}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
stage="$here/.build/rootfs"
# One build at a time (tests build in parallel): the staging directory is rebuilt in place.
mkdir -p "$here/.build"
exec 9>"$here/.build/lock"
flock 9

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$pgbin" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tongs: installing Debian's postgresql for the PostgreSQL tong image" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  else
    echo "tongs: the PostgreSQL tong image needs Debian's postgresql package on this host (apt-get install postgresql)" >&2
    exit 1
  fi
fi
pg=$(dirname "$pgbin")             # /usr/lib/postgresql/15
version=$(basename "$pg")
share=/usr/share/postgresql/$version
[ "$base" = tongs-base:local ] && bash "$root/make/base-image.sh" "$base"

rm -rf "$stage" && mkdir -p "$stage"
copy() { mkdir -p "$stage$(dirname "$1")" && cp -L --preserve=mode "$1" "$stage$1"; }
declare -A libs=()
elves=()
for b in postgres initdb psql pg_isready; do copy "$pgbin/$b"; elves+=("$pgbin/$b"); done
while IFS= read -r so; do copy "$so"; elves+=("$so"); done < <(find "$pg/lib" -maxdepth 1 -name '*.so' ! -name 'llvmjit*')
for e in "${elves[@]}"; do
  while read -r lib; do libs["$lib"]=1; done < <(ldd "$e" 2>/dev/null | awk '/=> \//{print $3}')
done
for lib in "${!libs[@]}"; do
  case "$lib" in "$pg"/*) continue ;; esac   # the server's own modules are copied above
  copy "$lib"
done
mkdir -p "$stage$share" && cp -a "$share/." "$stage$share/"
mkdir -p "$stage/usr/share/zoneinfo/Etc" && cp -L /usr/share/zoneinfo/UTC "$stage/usr/share/zoneinfo/UTC" && cp -L /usr/share/zoneinfo/UTC "$stage/usr/share/zoneinfo/Etc/UTC"
cp "$here/entrypoint.sh" "$stage/entrypoint.sh" && chmod 0755 "$stage/entrypoint.sh"

base_id=$(docker image inspect -f '{{.Id}}' "$base" 2>/dev/null || echo "$base")
inputs=$( { cd "$stage" && find . -type f | LC_ALL=C sort | xargs sha256sum; cd "$here" && sha256sum Dockerfile entrypoint.sh; echo "$base_id $version"; } | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{ index .Config.Labels "tongs.postgres.inputs" }}' "$image" 2>/dev/null || true)" = "$inputs" ]; then
  echo "tongs: image $image is up to date" >&2
  exit 0
fi
echo "tongs: building image $image (PostgreSQL $version from this host's Debian package) on $base" >&2
docker build --quiet --network none --build-arg "BASE_IMAGE=$base" --build-arg "PG_VERSION=$version" \
  --label "tongs.postgres.inputs=$inputs" -t "$image" "$here" >/dev/null
echo "tongs: image $image built" >&2

#!/usr/bin/env bash
# Build dist/stdio-bridge, what a stdio tong mounts read-only at /run/tongs/bridge (issue #13,
# launcher/core/stdio-bridge.ts):
#   bridge.mjs   the bridge (sidecars/stdio-bridge/src/main.ts) bundled by esbuild into one file
#                with the MCP SDK, run by any node 18 or newer (interface.node: image);
#   runtime/     on a Linux host: this host's node, the shared libraries `ldd` lists for it (lib/)
#                and its dynamic loader (loader), so the bridge runs in an image with no node at all,
#                e.g. a Python one (interface.node: host), as
#                runtime/loader --library-path runtime/lib runtime/node bridge.mjs …
# The runtime is copied again only when the node binary or this script changes.
#
# Usage: make/stdio-bridge.sh   (run by `npm run build`)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/dist/stdio-bridge"
mkdir -p "$out"
# The SDK's dependencies include CommonJS modules: give the ES module bundle a `require`.
"$root/node_modules/.bin/esbuild" "$root/sidecars/stdio-bridge/src/main.ts" --bundle --platform=node --format=esm \
  --target=node18 --log-level=warning --outfile="$out/bridge.mjs.tmp" \
  --banner:js="import { createRequire as __tongsRequire } from 'node:module'; const require = __tongsRequire(import.meta.url);"
chmod 0644 "$out/bridge.mjs.tmp"
mv -f "$out/bridge.mjs.tmp" "$out/bridge.mjs"

[ "$(uname -s)" = Linux ] || exit 0
node_bin=$(readlink -f "$(command -v node)")
rt="$out/runtime"
stamp="$(stat -c '%s %Y' "$node_bin") $(sha256sum <"$0" | cut -c1-16)"
if [ -f "$rt/.stamp" ] && [ "$(cat "$rt/.stamp")" = "$stamp" ]; then exit 0; fi
rm -rf "$rt.tmp"
mkdir -p "$rt.tmp/lib"
cp -L --preserve=mode "$node_bin" "$rt.tmp/node"
loader=
while read -r line; do
  case "$line" in
    *'=> /'*) lib=$(echo "$line" | awk '{print $3}'); cp -L "$lib" "$rt.tmp/lib/$(basename "$lib")" ;;
    /*) loader=$(echo "$line" | awk '{print $1}') ;;
  esac
done < <(ldd "$node_bin")
[ -n "$loader" ] || { echo "tongs: cannot find the dynamic loader of $node_bin in its ldd output" >&2; exit 1; }
cp -L "$loader" "$rt.tmp/loader"
chmod -R a+rX "$rt.tmp"
echo "$stamp" >"$rt.tmp/.stamp"
rm -rf "$rt"
mv "$rt.tmp" "$rt"

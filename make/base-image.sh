#!/usr/bin/env bash
# Build tongs-base:local, a minimal image made from this host's own Node runtime, for machines with
# no container registry. It holds node and the shared libraries `ldd` lists for it, git (with its
# helpers), bash (as /bin/bash and /usr/bin/bash: Claude Code's Bash tool needs a bash or zsh and
# refuses busybox sh with "No suitable shell found"), tini, busybox (as /bin/sh and the usual applets)
# and the host's CA bundle, imported with `docker import`. Dockerfiles here take `ARG BASE_IMAGE`;
# elsewhere a normal Node image is used.
#
# Usage: make/base-image.sh [IMAGE]   (default tongs-base:local; rebuilt only when its inputs change)
set -euo pipefail

image=${1:-tongs-base:local}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
stage="$root/.build/base-rootfs"

# busybox (the shell and applets) and tini come from Debian's packages on the host.
missing=()
[ -x /bin/busybox ] || missing+=(busybox-static)
[ -x /usr/bin/tini-static ] || missing+=(tini)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tongs: installing ${missing[*]} for the local base image" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "tongs: the local base image needs ${missing[*]} (Debian packages); install them, or set BASE_IMAGE to an image you have" >&2
    exit 1
  fi
fi

elves=(/usr/bin/node /usr/bin/git "$(readlink -f "$(command -v bash)")")
while IFS= read -r f; do
  if file -b "$f" 2>/dev/null | grep -q ELF || head -c 4 "$f" | grep -q ELF; then elves+=("$f"); fi
done < <(find /usr/lib/git-core -maxdepth 1 -type f -perm -u+x)

# Inputs: the binaries, this script, the busybox and tini binaries. Same inputs => same image.
# (The script is hashed by content: make and tests invoke it by different paths.)
inputs_hash=$( { sha256sum "${elves[@]}" /bin/busybox /usr/bin/tini-static /etc/ssl/certs/ca-certificates.crt 2>/dev/null; sha256sum <"$0"; } | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{ index .Config.Labels "tongs.base.inputs" }}' "$image" 2>/dev/null || true)" = "$inputs_hash" ]; then
  echo "tongs: base image $image is up to date" >&2
  exit 0
fi
echo "tongs: building base image $image from this host's Node runtime ($(node --version))" >&2

rm -rf "$stage"
mkdir -p "$stage"/{bin,usr/bin,usr/local/bin,usr/lib,etc/ssl/certs,tmp,root,home,run,workspace,var/tmp}
chmod 1777 "$stage/tmp" "$stage/var/tmp"

copy() { # copy a file to the same path inside the stage, keeping symlinks resolvable
  local src=$1 dst="$stage$1"
  mkdir -p "$(dirname "$dst")"
  cp -L --preserve=mode "$src" "$dst"
}

declare -A libs=()
for e in "${elves[@]}"; do
  copy "$e"
  while read -r lib; do libs["$lib"]=1; done < <(ldd "$e" 2>/dev/null | awk '/=> \//{print $3} /^\s*\/lib/{print $1}')
done
for lib in "${!libs[@]}"; do copy "$lib"; done
copy /lib64/ld-linux-x86-64.so.2
[ -d /usr/share/git-core/templates ] && { mkdir -p "$stage/usr/share/git-core"; cp -a /usr/share/git-core/templates "$stage/usr/share/git-core/"; }
# git helpers are found relative to the git binary's exec path
for f in /usr/lib/git-core/*; do
  [ -e "$stage$f" ] && continue
  if [ -L "$f" ]; then cp -a "$f" "$stage$f"; fi
done

# bash at both usual paths (the host's may be either, with /bin a symlink to usr/bin).
bash_bin=$(readlink -f "$(command -v bash)")
for p in /bin/bash /usr/bin/bash; do
  [ -e "$stage$p" ] || cp --preserve=mode "$stage$bash_bin" "$stage$p"
done
cp /bin/busybox "$stage/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ -e "$stage/bin/$applet" ] || ln -s busybox "$stage/bin/$applet"
done
ln -sf /bin/busybox "$stage/usr/bin/env"
cp /usr/bin/tini-static "$stage/usr/bin/tini"
cp /etc/ssl/certs/ca-certificates.crt "$stage/etc/ssl/certs/ca-certificates.crt"

cat >"$stage/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$stage/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
echo 'hosts: files dns' >"$stage/etc/nsswitch.conf"

tar -C "$stage" --numeric-owner --owner=0 --group=0 -cf - . |
  docker import \
    -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    -c 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    -c "LABEL tongs.base.inputs=$inputs_hash" \
    -c 'LABEL org.opencontainers.image.description="tongs local base: host Node runtime, git, bash, tini, busybox"' \
    -c 'CMD ["/bin/sh"]' \
    - "$image" >/dev/null
rm -rf "$stage"
echo "tongs: base image $image built ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))" >&2

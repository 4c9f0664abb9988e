#!/usr/bin/env bash
# Make sure a ROOTLESS Podman answers (issue #16: Podman is supported rootful and rootless), for a
# test user of this machine: Podman is installed and configured by make/ensure-podman.sh (rootful
# first: the same package and containers.conf), then the user `tongs-rootless` is created with
# subordinate uid/gid ranges, and `podman system service` runs as that user on its own socket,
# $XDG_RUNTIME_DIR/podman/podman.sock. Prints the DOCKER_HOST to use on stdout. Run as root.
#
# /dev/net/tun: rootless networking (slirp4netns) opens it as the user. It is 0666 on a normal
# Linux machine; a sandbox may make it 0600, and then it is opened up (reported on stderr).
set -euo pipefail

user=${TONGS_ROOTLESS_USER:-tongs-rootless}
bash "$(dirname "$0")/ensure-podman.sh" >/dev/null

if ! id "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$user"
  echo "tongs: created the user $user for rootless Podman" >&2
fi
for f in /etc/subuid /etc/subgid; do
  if ! grep -q "^$user:" "$f" 2>/dev/null; then
    # The next free range of 65536 above every range already given out (at least 100000).
    start=$(awk -F: 'BEGIN { m = 100000 } { e = $2 + $3; if (e > m) m = e } END { print m }' "$f" 2>/dev/null || echo 100000)
    echo "$user:$start:65536" >>"$f"
  fi
done
if [ -e /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
  chmod 0666 /dev/net/tun
  echo "tongs: made /dev/net/tun usable by every user (0666, as on a normal machine) for rootless networking" >&2
fi

uid=$(id -u "$user")
runtime_dir=/run/user/$uid
sock=$runtime_dir/podman/podman.sock
host="unix://$sock"
as_user() { runuser -u "$user" -- env HOME="$(getent passwd "$user" | cut -d: -f6)" XDG_RUNTIME_DIR="$runtime_dir" "$@"; }
answers() { as_user env DOCKER_HOST="$host" DOCKER_CONTEXT= docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

mkdir -p "$runtime_dir/podman"
chown "$user:" "$runtime_dir" "$runtime_dir/podman"
chmod 0700 "$runtime_dir"
if ! answers; then
  rm -f "$sock"
  log=/var/log/tongs-podman-rootless.log
  echo "tongs: starting rootless podman system service for $user on $host (log: $log)" >&2
  as_user podman system migrate >/dev/null 2>&1 || true # picks up new subuid ranges
  nohup runuser -u "$user" -- env HOME="$(getent passwd "$user" | cut -d: -f6)" XDG_RUNTIME_DIR="$runtime_dir" \
    podman system service --time=0 "$host" >"$log" 2>&1 &
  echo $! >/run/tongs-podman-rootless.pid
  for _ in $(seq 1 60); do
    answers && break
    sleep 0.5
  done
fi
if ! answers; then
  echo "tongs: rootless Podman's API did not come up on $host; see /var/log/tongs-podman-rootless.log" >&2
  exit 1
fi
echo "tongs: rootless Podman $(as_user env DOCKER_HOST="$host" docker version --format '{{.Server.Version}}') answers on $host for $user" >&2
echo "$host"

#!/usr/bin/env bash
# Make sure a ROOTLESS Podman answers (issue #16: Podman is supported rootful and rootless), for a
# test user of this machine: Podman is installed and configured by make/ensure-podman.sh (rootful
# first: the same package and containers.conf), then the user `tongs-rootless` is created with
# subordinate uid/gid ranges, and `podman system service` runs as that user on its own socket,
# $XDG_RUNTIME_DIR/podman/podman.sock. Prints the DOCKER_HOST to use on stdout. Run as root.
#
# /dev/net/tun: rootless networking (slirp4netns) opens it as the user. It is 0666 on a normal
# Linux machine; a sandbox may make it 0600, and then it is opened up (reported on stderr).
#
# Storage: the user's store uses the kernel's overlay (unprivileged overlay mounts, Linux >= 5.13),
# set in ~/.config/containers/storage.conf. Without it Podman 4.3 falls back to vfs here (no
# fuse-overlayfs), which copies an image's whole filesystem for every container: 16 s to create the
# anvil, with the store locked meanwhile.
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
  home=$(getent passwd "$user" | cut -d: -f6)
  conf=$home/.config/containers/storage.conf
  if [ ! -f "$conf" ]; then
    mkdir -p "$(dirname "$conf")"
    printf '[storage]\ndriver = "overlay"\n' >"$conf"
    chown -R "$user:" "$home/.config"
  fi
  if [ "$(as_user podman info --format '{{.Store.GraphDriverName}}' 2>/dev/null)" != overlay ]; then
    # A store made with another driver keeps it: start this test user's store afresh.
    echo "tongs: resetting $user's Podman store to the overlay driver" >&2
    as_user podman system reset -f >/dev/null 2>&1
  fi
  as_user podman system migrate >/dev/null 2>&1 || true # picks up new subuid ranges
  # The service's own pid, not runuser's (runuser forks it and stays as its parent): sh records its
  # pid, then becomes podman.
  rm -f "$runtime_dir/podman/service.pid"
  nohup runuser -u "$user" -- env HOME="$home" XDG_RUNTIME_DIR="$runtime_dir" \
    sh -c 'echo $$ >"$0/podman/service.pid"; exec podman system service --time=0 "$1"' "$runtime_dir" "$host" >"$log" 2>&1 &
  for _ in $(seq 1 60); do
    answers && break
    sleep 0.5
  done
  cp "$runtime_dir/podman/service.pid" /run/tongs-podman-rootless.pid 2>/dev/null || true
fi
if ! answers; then
  echo "tongs: rootless Podman's API did not come up on $host; see /var/log/tongs-podman-rootless.log" >&2
  exit 1
fi
echo "tongs: rootless Podman $(as_user env DOCKER_HOST="$host" docker version --format '{{.Server.Version}}') answers on $host for $user" >&2
echo "$host"

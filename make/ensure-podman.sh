#!/usr/bin/env bash
# Make sure Podman's Docker-compatible API answers on a unix socket (issue #16: Podman is a supported
# engine and CI runs the integration suite on it). When it does not on this machine, install
# Debian's podman, fit its default rlimits to this machine's hard limits, and start
# `podman system service` in the background. Prints the DOCKER_HOST to use on stdout.
#
# Usage: make/ensure-podman.sh [SOCKET]   (default /run/podman/podman.sock, the rootful socket)
#
# Rlimits: Podman gives every container nofile/nproc limits of its own (1048576 open files), and a
# container fails to start ("error setting rlimit type 7") where that exceeds the hard limit of the
# sandbox Podman itself runs in. `default_ulimits` in containers.conf is the knob; this script sets
# it to the hard limits it finds (`ulimit -Hn`, and `ulimit -Hu` but at most 32768: Podman 4.3.1
# lowers its own nproc limit to 32768 when it starts, and a container may not exceed it: "error
# setting rlimit type 6"). It writes containers.conf only when none exists yet (an existing one is
# left alone and reported).
set -euo pipefail

sock=${1:-/run/podman/podman.sock}
host="unix://$sock"
answers() { DOCKER_HOST=$host DOCKER_CONTEXT= docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if ! command -v podman >/dev/null 2>&1; then
  echo "tongs: installing Debian's podman" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq podman >/dev/null
fi

conf=/etc/containers/containers.conf
marker='# written by tongs make/ensure-podman.sh'
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[ "$nofile" = unlimited ] && nofile=1048576
[ "$nproc" = unlimited ] && nproc=32768
[ "$nproc" -gt 32768 ] && nproc=32768
if [ ! -e "$conf" ]; then
  mkdir -p /etc/containers
  cat >"$conf" <<EOF
$marker: container rlimits within this machine's hard limits
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
EOF
  echo "tongs: wrote $conf (default_ulimits nofile=$nofile nproc=$nproc)" >&2
elif ! grep -q "^$marker" "$conf" && ! grep -q '^[[:space:]]*default_ulimits' "$conf"; then
  echo "tongs: $conf exists without default_ulimits; if containers fail with 'error setting rlimit', set default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"] in its [containers] table" >&2
fi

if ! answers; then
  mkdir -p "$(dirname "$sock")"
  rm -f "$sock"
  echo "tongs: starting podman system service on $host (log: /var/log/tongs-podman.log)" >&2
  nohup podman system service --time=0 "$host" >/var/log/tongs-podman.log 2>&1 &
  echo $! >/run/tongs-podman.pid
  for _ in $(seq 1 60); do
    answers && break
    sleep 0.5
  done
fi
if ! answers; then
  echo "tongs: Podman's API did not come up on $host; see /var/log/tongs-podman.log" >&2
  exit 1
fi
echo "tongs: Podman $(DOCKER_HOST=$host docker version --format '{{.Server.Version}}') answers on $host" >&2
echo "$host"

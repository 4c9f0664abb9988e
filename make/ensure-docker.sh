#!/usr/bin/env bash
# Make sure a Docker engine answers. When none does on this machine, install Debian's docker.io
# and start dockerd in the background (CI machines and fresh developer machines have no engine).
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "tongs: no Docker engine answers; installing Debian's docker.io" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  echo "tongs: starting dockerd in the background (log: /var/log/tongs-dockerd.log)" >&2
  nohup dockerd >/var/log/tongs-dockerd.log 2>&1 &
  echo $! >/run/tongs-dockerd.pid
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
fi
if ! docker info >/dev/null 2>&1; then
  echo "tongs: the Docker engine did not come up; see /var/log/tongs-dockerd.log" >&2
  exit 1
fi
echo "tongs: Docker engine $(docker version --format '{{.Server.Version}}') is up" >&2

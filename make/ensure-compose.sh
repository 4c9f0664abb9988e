#!/usr/bin/env bash
# bench-launch compares against docker-compose (issue #3, #12): install Debian's docker-compose when
# it is missing (fresh machines have none), as make/ensure-docker.sh does for the engine.
set -euo pipefail
command -v docker-compose >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "tongs: installing Debian's docker-compose for the launch benchmark" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq docker-compose >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null; }
else
  echo "tongs: the launch benchmark needs docker-compose; install it (Debian: apt-get install docker-compose)" >&2
  exit 1
fi

#!/usr/bin/env bash
# The ssh:// engine test (test/integration/engine-ssh.test.ts) runs its own OpenSSH server: install
# Debian's openssh-server when sshd is missing (fresh machines have none), as make/ensure-docker.sh
# does for the engine. Nothing is started here, and the package's own service is not used.
set -euo pipefail
[ -x /usr/sbin/sshd ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "tongs: installing Debian's openssh-server for the ssh:// engine test" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq openssh-server >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq openssh-server >/dev/null; }
else
  echo "tongs: no /usr/sbin/sshd: the ssh:// engine test will be skipped (Debian: apt-get install openssh-server)" >&2
fi

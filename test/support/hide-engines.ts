/**
 * "No other engine was contacted", made observable (issue #16 tests): a shell script for
 * `unshare --mount --propagation private sh SCRIPT CMD…` that covers every usual engine socket with
 * /dev/null (optionally first bind-mounting the engine's real socket at another path), proves that
 * none of them answers any more, then execs CMD. Needs root, as `unshare --mount` does.
 */
import { existsSync, realpathSync, writeFileSync } from 'node:fs';

/** The engine sockets a test should hide: `socket` (the test engine's own) and the usual ones that exist. */
export function engineSockets(socket: string | null): string[] {
  const usual = ['/var/run/docker.sock', '/run/podman/podman.sock'].filter(existsSync);
  return [...new Set([...(socket ? [socket] : []), ...usual].map((p) => realpathSync(p)))];
}

/**
 * Write the script to `file`. `bind`: the real socket and the path it must also answer at, inside.
 * The script exits 90 when a hidden socket still answers.
 */
export function writeHidingScript(file: string, hide: readonly string[], bind?: { socket: string; at: string }): void {
  const q = JSON.stringify;
  writeFileSync(
    file,
    [
      'set -eu',
      ...(bind ? [`mkdir -p "$(dirname ${q(bind.at)})"`, `touch ${q(bind.at)}`, `mount --bind ${q(bind.socket)} ${q(bind.at)}`] : []),
      ...hide.map((p) => `mount --bind /dev/null ${q(p)}`),
      // Prove the hiding works before trusting it: the usual endpoints answer nothing here.
      ...hide.map((p) => `if DOCKER_HOST=unix://${p} DOCKER_CONTEXT= docker version >/dev/null 2>&1; then echo "still reachable: ${p}" >&2; exit 90; fi`),
      'exec "$@"',
    ].join('\n'),
  );
}

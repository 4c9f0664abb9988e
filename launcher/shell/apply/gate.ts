/**
 * The launcher's side of the launch gate (DESIGN.md "Launch order"; the anvil's side is the gate
 * block in anvil/entrypoint.sh, protocol 1 of the `org.tongs.gate` image label): a host dir, mounted
 * read-only in the anvil as `TONGS_GATE`, into which the launcher writes `state` once: `go` when every
 * tong is ready, `stop` when the launch failed. The file appears whole (written aside, then renamed),
 * so the entrypoint never reads half of it. With `go` may come `hosts`, written before `state`: lines
 * for /etc/hosts (`ADDRESS ALIAS`) that the entrypoint appends before the harness starts, so an anvil
 * on the session network does not depend on the engine's DNS (see tongHostEntries in run/anvil.ts).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type GateState = 'go' | 'stop';

/**
 * Create the gate dir, empty (mode 0755: it holds no secret, and the anvil's root reads it whatever
 * uid the launcher has). It must exist before the anvil is created, or docker would create it as root.
 */
export async function prepareGate(hostDir: string): Promise<void> {
  await mkdir(hostDir, { recursive: true, mode: 0o755 });
}

/**
 * Write the gate's state (`go` runs the harness, `stop` makes the entrypoint exit 1 without it), and
 * first the `hosts` lines for `hosts` entries given as `ALIAS:ADDRESS` (docker's `--add-host` form).
 */
export async function openGate(hostDir: string, state: GateState, hosts: readonly string[] = []): Promise<void> {
  if (hosts.length > 0) {
    const lines = hosts.map((h) => {
      const at = h.indexOf(':');
      return `${h.slice(at + 1)} ${h.slice(0, at)}\n`;
    });
    await writeFile(path.join(hostDir, 'hosts'), lines.join(''), { mode: 0o644 });
  }
  const aside = path.join(hostDir, '.state.tmp');
  await writeFile(aside, `${state}\n`, { mode: 0o644 });
  await rename(aside, path.join(hostDir, 'state'));
}

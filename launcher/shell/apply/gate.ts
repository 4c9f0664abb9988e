/**
 * The launcher's side of the launch gate (DESIGN.md "Launch order"; the anvil's side is the gate
 * block in anvil/entrypoint.sh, protocol 1 of the `org.tongs.gate` image label): a host dir, mounted
 * read-only in the anvil as `TONGS_GATE`, into which the launcher writes `state` once: `go` when every
 * tong is ready, `stop` when the launch failed. The file appears whole (written aside, then renamed),
 * so the entrypoint never reads half of it.
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

/** Write the gate's state (`go` runs the harness, `stop` makes the entrypoint exit 1 without it). */
export async function openGate(hostDir: string, state: GateState): Promise<void> {
  const aside = path.join(hostDir, '.state.tmp');
  await writeFile(aside, `${state}\n`, { mode: 0o644 });
  await rename(aside, path.join(hostDir, 'state'));
}

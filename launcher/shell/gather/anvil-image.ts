/**
 * Gathering what the plan needs from the engine (DESIGN.md "Launch order"): whether the anvil image
 * carries the launch gate.
 */
import { parseDockerRunArgv } from '../../core/docker-argv.js';
import { LABEL_GATE } from '../../core/labels.js';
import type { ContainerRuntime } from '../engine/runtime.js';

/**
 * Whether the anvil image has the launch gate (its `org.tongs.gate` label is `1`; DESIGN.md "Launch
 * order"), for planLaunch's `anvilGate`. Read before planning, as the plan's argv depends on it. Returns
 * true or false, or a sentence saying why it could not tell (the image is absent, no engine answered),
 * which keeps the serial order.
 */
export async function readAnvilGate(runtime: ContainerRuntime, anvilArgv: readonly string[]): Promise<boolean | string> {
  const image = parseDockerRunArgv(anvilArgv)?.image;
  if (!image) return false;
  try {
    const info = await runtime.inspectImage(image);
    if (!info) return `the anvil image ${image} is not present locally (docker run pulls it), so its ${LABEL_GATE} label is unknown`;
    return info.labels[LABEL_GATE] === '1';
  } catch (err) {
    return `the anvil image's ${LABEL_GATE} label could not be read: ${(err as Error).message.split('\n')[0]}`;
  }
}

/**
 * The tong side of the relay (DESIGN.md "The seal" rule 5; the program is anvil/src/relay.ts): the
 * session's socket volume, and one container on the session network, from the anvil image, that
 * listens on a unix socket per tong in that volume and forwards to the tong. The anvil, which has no
 * network interface, mounts the same volume. Both are labelled with the session, so teardown and
 * `tongs gc` remove them with the rest.
 */
import { DockerError } from '../../errors.js';
import type { PlannedRelay } from '../../core/plan-types.js';
import type { ContainerRuntime } from '../engine/runtime.js';

/** The relay program inside the anvil image (make/anvil-image.sh stages it with the merge tool). */
export const RELAY_PROGRAM = '/opt/tongs/merge/dist/anvil/src/relay.js';
/** What the relay prints once every socket listens. */
const READY_LINE = 'TONGS RELAY READY';

/**
 * Create the socket volume (labelled with the session). It must exist before the anvil is created:
 * `docker run -v NAME:…` would otherwise create it unlabelled, out of teardown's sight.
 */
export async function createRelayVolume(runtime: ContainerRuntime, relay: PlannedRelay): Promise<void> {
  await runtime.createVolume(relay.volume, relay.labels);
}

/**
 * Start the relay container on `network` and, when given, on `alsoNetwork` (the session's egress
 * network, where the tongs with `egress` are), with the socket volume made by
 * {@link createRelayVolume}; resolves with the container id once every socket listens.
 * @throws DockerError with the relay's output when it exits or does not get ready within `timeoutMs`.
 */
export async function startRelay(
  runtime: ContainerRuntime,
  relay: PlannedRelay,
  network: string,
  alsoNetwork: string | null = null,
  timeoutMs = 15_000,
): Promise<string> {
  const id = await runtime.createContainer({
    name: relay.containerName,
    image: relay.image,
    labels: relay.labels,
    env: { TONGS_RELAY: relay.targets.join(','), TONGS_RELAY_DIR: relay.socketDir },
    entrypoint: ['node'],
    command: [RELAY_PROGRAM, 'tong'],
    mounts: [{ type: 'volume', source: relay.volume, target: relay.socketDir, readOnly: false }],
    // The relay (~40 MB) and, while the tongs start, the readiness probe exec'd beside it (~40 MB).
    memoryBytes: 160 * 1024 * 1024,
    network: { name: network, aliases: [] },
    user: '0:0',
  });
  if (alsoNetwork) await runtime.connectNetwork(alsoNetwork, id, []);
  const streams = await runtime.attach(id, { stdin: false });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DockerError(`the tongs relay did not get ready within ${timeoutMs / 1000} s: ${output.trim()}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes(READY_LINE)) {
        clearTimeout(timer);
        resolve();
      }
    };
    streams.stdout.on('data', onData);
    streams.stderr.on('data', onData);
    const ended = () => {
      clearTimeout(timer);
      if (!output.includes(READY_LINE)) reject(new DockerError(`the tongs relay exited before it was ready: ${output.trim() || '(no output)'}`));
    };
    streams.stdout.once('end', ended);
  });
  ready.catch(() => {});
  await runtime.startContainer(id);
  await ready;
  streams.stdout.resume();
  streams.stderr.resume();
  return id;
}

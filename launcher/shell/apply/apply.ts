/**
 * Applying a LaunchPlan (DESIGN.md "Wiring a session" steps 2–4, issue #3): resolve secrets for the
 * tongs about to be created (before any network or container exists), create the session network and
 * the relay's socket volume, make sure images exist (build from `build:` when absent, never pull),
 * start every tong in parallel under its aliases (reusing a matching shared tong), and probe readiness
 * from inside the network. Resources are labelled, so on any failure the caller (launcher/shell/run/
 * session.ts) removes them by label; the anvil's start is the caller's too, told when it may begin.
 */
import { DockerError, TongsError } from '../../errors.js';
import type { LaunchPlan, PlannedNetns, PlannedTong } from '../../core/plan-types.js';
import { NETNS_DROPPED_CAPABILITIES, NETNS_HOLDER_COMMAND, NETNS_HOLDER_MEMORY_BYTES, SHARED_NETNS_ENV } from '../../core/netns.js';
import { LABEL_CONFIG_HASH, LABEL_ROLE } from '../../core/labels.js';
import { formatBytes } from '../../core/privilege-summary.js';
import type { Progress } from '../progress.js';
import { formatSeconds } from '../progress.js';
import { probeTargets, startExecProbe, startNetworkProbe, type NetworkProbe } from './probe.js';
import { waitForReadiness } from './readiness.js';
import { createRelayVolume, startRelay } from './relay.js';
import type { ContainerRuntime, ContainerSpec, ImageInfo } from '../engine/runtime.js';
import { deliverSecrets, originalArgv, SECRET_TMPFS, wrapCommand } from './secret-delivery.js';

/**
 * Resolves the `secretEnv` templates of the tongs that will actually be created (a reused shared tong
 * resolves nothing — issue #6), on the host, before any container exists. Returns, per tong name, the
 * final secret environment. Throws SecretError.
 */
export type ResolveSecrets = (tongs: PlannedTong[]) => Promise<Map<string, Record<string, string>>>;

/** What applyPlan started: tong name → container id, and what must be left alone at teardown. */
export interface AppliedSession {
  containers: Map<string, string>;
  /** Names of shared tongs reused as they were. */
  reused: string[];
  /** Milliseconds from the start of applyPlan until every tong was started, then ready. */
  startedMs: number;
  readyMs: number;
}

/** Environment override for the image the in-network readiness probe runs (default: the anvil's). */
export const PROBE_IMAGE_ENV = 'TONGS_PROBE_IMAGE';
/** When set, passed as `--build-arg BASE_IMAGE=…` to tong image builds (registry-less machines, tests). */
export const BUILD_BASE_IMAGE_ENV = 'TONGS_BASE_IMAGE';

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Settle every promise, then throw the first failure (so nothing is still in flight at teardown). */
async function allSettledOrThrow<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/**
 * Make sure every tong image exists: inspect, and build from the tong's `build` context when absent
 * (showing progress). Returns image name → ImageInfo. Throws DockerError naming the image and tong when
 * it is absent and has no build context (tongs never pull).
 */
export async function ensureImages(
  runtime: ContainerRuntime,
  tongs: PlannedTong[],
  progress: Progress,
  signal?: AbortSignal,
): Promise<Map<string, ImageInfo>> {
  const byImage = new Map<string, PlannedTong[]>();
  for (const t of tongs) byImage.set(t.image, [...(byImage.get(t.image) ?? []), t]);
  const infos = new Map<string, ImageInfo>();
  await allSettledOrThrow(
    [...byImage].map(async ([image, users]) => {
      let info = await runtime.inspectImage(image);
      if (!info) {
        const builder = users.find((t) => t.build);
        if (!builder?.build) {
          const names = users.map((t) => `'${t.name}'`).join(', ');
          throw new DockerError(
            `image ${image} (tong ${names}) is not present locally and its definition has no build: context; ` +
              `build or load it first (tongs never pulls images)`,
          );
        }
        const t0 = Date.now();
        progress.line(`building image ${image} for tong '${builder.name}' from ${builder.build}`);
        const base = process.env[BUILD_BASE_IMAGE_ENV];
        await runtime.buildImage(builder.build, image, {
          ...(base ? { buildArgs: { BASE_IMAGE: base } } : {}),
          ...(signal ? { signal } : {}),
          onProgress: ({ line }) => {
            progress.phase(`building ${image}: ${line.slice(0, 100)}`);
            if (/^Step \d+\/\d+ :/.test(line)) progress.line(`  ${line}`);
          },
        });
        progress.line(`built image ${image} in ${formatSeconds(Date.now() - t0)}`);
        info = await runtime.inspectImage(image);
        if (!info) throw new DockerError(`image ${image} is still absent after building it from ${builder.build}`);
      }
      infos.set(image, info);
    }),
  );
  return infos;
}

/**
 * The container spec of a tong, with the secret wrapper and tmpfs when it receives secrets (issue #6).
 * `holderId`: the container whose network namespace the tong joins (launcher/core/netns.ts); the tong
 * then has no network, aliases or hosts entries of its own (the holder carries them) and no NET_RAW.
 */
export function tongSpec(tong: PlannedTong, network: string, image: ImageInfo, hasSecrets: boolean, holderId: string | null = null): ContainerSpec {
  const wrapped = hasSecrets ? wrapCommand(originalArgv(tong, image)) : null;
  const net: Pick<ContainerSpec, 'network' | 'extraHosts' | 'networkContainer' | 'capDrop'> = holderId
    ? { network: null, networkContainer: holderId, capDrop: [...NETNS_DROPPED_CAPABILITIES] }
    : { network: { name: network, aliases: [tong.alias, ...tong.aliases] }, extraHosts: tong.hosts };
  return {
    name: tong.containerName,
    image: tong.image,
    labels: tong.labels,
    // Only plain values: secret-bearing values never become Env (they would show in `docker inspect`).
    env: tong.env,
    entrypoint: wrapped ? wrapped.entrypoint : tong.entrypoint,
    command: wrapped ? wrapped.command : tong.command,
    mounts: [...tong.mounts, ...(hasSecrets ? [{ ...SECRET_TMPFS }] : [])],
    memoryBytes: tong.memoryBytes,
    ...net,
  };
}

/**
 * The container spec of a shared namespace's holder: `sleep` from the anvil's image, on the network
 * with every alias and hosts entry of its tongs, with no capabilities at all.
 */
export function netnsHolderSpec(ns: PlannedNetns): ContainerSpec {
  return {
    name: ns.containerName,
    image: ns.image,
    labels: ns.labels,
    env: {},
    entrypoint: NETNS_HOLDER_COMMAND.slice(0, 1),
    command: NETNS_HOLDER_COMMAND.slice(1),
    mounts: [],
    memoryBytes: NETNS_HOLDER_MEMORY_BYTES,
    extraHosts: ns.hosts,
    network: { name: ns.network, aliases: ns.aliases },
    capDrop: ['ALL'],
  };
}

/**
 * Apply the plan's containers: shared-tong reuse, secrets (before any network or container exists),
 * then network, images, parallel start, in-network probe, readiness. Resources are labelled, so on any
 * failure the caller removes them by label; this function waits for every operation it began before it
 * throws (nothing is created after it returns).
 * @throws DockerError, SecretError, ReadinessError, or `signal.reason` when aborted.
 */
export async function applyPlan(
  plan: LaunchPlan,
  runtime: ContainerRuntime,
  options: {
    progress: Progress;
    signal?: AbortSignal;
    resolveSecrets?: ResolveSecrets;
    now?: () => number;
    /**
     * Called once, without waiting for it, as soon as the secrets are resolved and the session network
     * and the relay's socket volume exist: what the anvil needs to be created (DESIGN.md "Launch
     * order": the gated anvil starts here, while the tongs start).
     */
    onAnvilReady?: () => void;
  },
): Promise<AppliedSession> {
  const { progress, signal } = options;
  const now = options.now ?? Date.now;
  const network = plan.network;
  if (!network) throw new TongsError('the plan has no session network (a passthrough plan needs no session)');
  const tStart = now();

  // Secrets first (DESIGN.md "Wiring a session" step 2, issue #6): resolved on the host before any
  // network or container exists, so a failed or declined provider leaves nothing to tear down. Only
  // the shared tongs' state is read first, because a reused shared tong resolves nothing.
  const shared = plan.tongs.filter((t) => t.lifecycle === 'shared');
  const sharedState = await raceAbort(
    Promise.all(shared.map(async (t) => ({ tong: t, info: await runtime.inspectContainer(t.containerName) }))),
    signal,
  );
  const reused = new Map<string, string>();
  const stale: string[] = [];
  for (const { tong, info } of sharedState) {
    if (info && info.running && info.labels[LABEL_CONFIG_HASH] === tong.configHash) reused.set(tong.name, info.id);
    else if (info) stale.push(info.id);
  }
  const toCreate = plan.tongs.filter((t) => !reused.has(t.name));
  let resolved: Map<string, Record<string, string>> | null = null;
  if (options.resolveSecrets) {
    if (toCreate.some((t) => Object.keys(t.secretEnv).length > 0)) progress.phase('resolving secrets');
    resolved = await raceAbort(options.resolveSecrets(toCreate), signal);
    progress.debug('secrets resolved');
  }
  const secretsOf = (t: PlannedTong): Record<string, string> => resolved?.get(t.name) ?? t.secretEnv;
  const tokens = new Map<string, string>();
  for (const t of plan.tongs) {
    const token = reused.has(t.name) ? t.secretEnv.TONGS_MCP_TOKEN : secretsOf(t).TONGS_MCP_TOKEN;
    if (token && !token.includes('${secret:')) tokens.set(t.name, token);
  }
  signal?.throwIfAborted();

  // Then the network, and at once the probe container on it (idle until it gets its targets), so
  // their start-up overlaps the image checks and the tongs' own start.
  const probeImage = process.env[PROBE_IMAGE_ENV] || plan.anvilImage;
  const targetCount = probeTargets(plan.tongs, new Map()).length;
  const networkCreated = runtime.createNetwork(network.name, network.labels, { internal: network.internal }).then(() => {
    progress.debug(`network ${network.name} created${network.internal ? ' (internal)' : ''}`);
    return network.name;
  });
  networkCreated.catch(() => {});
  // The egress network (the seal's rule 5): the tongs with `egress` are on it instead of the internal
  // session network, each tong on one network only (a second endpoint per tong would cost the launch
  // 0.15-0.25 s); the relay and the probe join both, so they reach every tong.
  const egressNetwork = plan.egressNetwork;
  const egressCreated: Promise<string | null> = egressNetwork
    ? runtime.createNetwork(egressNetwork.name, egressNetwork.labels).then(() => {
        progress.debug(`network ${egressNetwork.name} created`);
        return egressNetwork.name;
      })
    : Promise.resolve(null);
  egressCreated.catch(() => {});
  // The shared network namespaces (issue #12 item 4): each holder is created as soon as its network
  // exists and started at once, so the tongs that join it wait only for that start.
  const holders = new Map<string, { created: Promise<string>; started: Promise<string> }>();
  for (const ns of plan.netns ?? []) {
    const failed = (err: unknown): never => {
      throw new DockerError(
        `the network namespace shared by tongs ${ns.tongs.map((n) => `'${n}'`).join(', ')} did not start: ${(err as Error).message} ` +
          `(its holder runs \`${NETNS_HOLDER_COMMAND.join(' ')}\` from the anvil image ${ns.image}; ${SHARED_NETNS_ENV}=0 gives each tong its own)`,
        {
          cause: err,
          ...(err instanceof DockerError ? { kind: err.kind } : {}),
        },
      );
    };
    const holderCreated = (ns.network === egressNetwork?.name ? egressCreated : networkCreated)
      .then(() => runtime.createContainer(netnsHolderSpec(ns)))
      .catch(failed);
    const holderStarted = holderCreated.then(async (id) => {
      await runtime.startContainer(id).catch(failed);
      progress.debug(`network namespace ${ns.containerName} started for ${ns.tongs.join(', ')}`);
      return id;
    });
    holderCreated.catch(() => {});
    holderStarted.catch(() => {});
    holders.set(ns.containerName, { created: holderCreated, started: holderStarted });
  }
  /** The one network a tong is on: the egress network for a tong with `egress` behind the relay, else the session network. */
  const networkOf = (tong: PlannedTong): string => (egressNetwork && tong.egress ? egressNetwork.name : network.name);
  const created = (tong: PlannedTong): Promise<unknown> => (egressNetwork && tong.egress ? egressCreated : networkCreated);
  const joinNetwork = async (tong: PlannedTong, id: string): Promise<void> => {
    await created(tong);
    await runtime.connectNetwork(networkOf(tong), id, [tong.alias, ...tong.aliases]);
  };
  // The relay (DESIGN.md "The seal" rule 5): the anvil reaches its tongs only through it. Its volume is
  // made with the network, as the anvil mounts it; the relay starts with the tongs, and the launch
  // waits for it with their readiness.
  const relay = plan.relay;
  const volumeCreated = relay ? createRelayVolume(runtime, relay) : Promise.resolve();
  volumeCreated.catch(() => {});
  const relayStarted = relay
    ? Promise.all([networkCreated, egressCreated, volumeCreated]).then(([name, egress]) => startRelay(runtime, relay, name, egress))
    : Promise.resolve(null);
  relayStarted.catch(() => {});
  if (options.onAnvilReady) {
    const ready = options.onAnvilReady;
    // After the session network even behind the relay, where the anvil has no network of its own:
    // the network carries the launcher's pid label, which tells other launchers' sweeps that the
    // session (whose anvil has only the session's label) is alive.
    void Promise.all([networkCreated, volumeCreated]).then(() => {
      if (!signal?.aborted) ready();
    }, () => {});
  }
  // The probe: with the relay, exec'd in the relay container (on the network anyway, with node), so no
  // probe container starts beside the tongs; else a probe container of its own (TONGS_PROBE_IMAGE too).
  const probe: NetworkProbe | null =
    targetCount === 0 || !probeImage
      ? null
      : relay && !process.env[PROBE_IMAGE_ENV]
        ? startExecProbe(runtime, {
            host: relayStarted,
            unavailable: 'the tongs relay, where the readiness probe runs, did not start',
            debug: (text) => progress.debug(text),
          })
        : startNetworkProbe(runtime, {
            image: probeImage,
            network: networkCreated,
            alsoNetwork: egressCreated,
            labels: { ...plan.labels, [LABEL_ROLE]: 'probe' },
            debug: (text) => progress.debug(text),
          });

  // A limit the engine would silently ignore is said, once (asked alongside the start-up, off its path).
  const limited = toCreate.filter((t) => t.memoryBytes !== null);
  const limitsChecked = limited.length === 0 ? Promise.resolve() : runtime.memoryLimitsEnforced().then(({ enforced, why }) => {
    if (!enforced) progress.warn(`this engine does not enforce memory limits (${why}): ${limited.map((t) => `tong '${t.name}' (${formatBytes(t.memoryBytes!)})`).join(', ')} run${limited.length === 1 ? 's' : ''} without ${limited.length === 1 ? 'its' : 'their'} limit`);
  });

  try {
    progress.phase('checking images');
    const [images, probeImageInfo] = await raceAbort(
      allSettledOrThrow<unknown>([
        ensureImages(runtime, plan.tongs, progress, signal),
        probeImage ? runtime.inspectImage(probeImage) : Promise.resolve(null),
      ]) as Promise<[Map<string, ImageInfo>, ImageInfo | null]>,
      signal,
    );
    progress.debug('images checked');
    if (targetCount > 0 && !probeImageInfo) {
      throw new DockerError(
        probeImage
          ? `readiness probes run \`node\` from the anvil image ${probeImage}, which is not present locally; ` +
              `build it first, or set ${PROBE_IMAGE_ENV} to a local image that has node`
          : `readiness probes need an image with node: the anvil argv names none; set ${PROBE_IMAGE_ENV}`,
      );
    }

    // Everything at once: session tongs, stale shared tongs recreated, reused shared tongs connected.
    progress.phase(`starting ${plan.tongs.length} tong${plan.tongs.length === 1 ? '' : 's'}`);
    const containers = new Map<string, string>(reused);
    const createOne = async (tong: PlannedTong) => {
      const secrets = secretsOf(tong);
      const hasSecrets = Object.keys(secrets).length > 0;
      // Each tong waits only for its own network (the engine creates networks one at a time), or for the
      // holder of the namespace it joins to exist.
      await created(tong);
      const holder = tong.netns ? holders.get(tong.netns) : undefined;
      const holderId = holder ? await holder.created : null;
      const spec = tongSpec(tong, networkOf(tong), images.get(tong.image)!, hasSecrets, holderId);
      let id: string;
      try {
        id = await runtime.createContainer(spec);
      } catch (err) {
        // Another session may have just created the same shared tong: reuse it if it matches.
        if (tong.lifecycle === 'shared' && err instanceof DockerError && err.kind === 'conflict') {
          const info = await runtime.inspectContainer(tong.containerName);
          if (info?.running && info.labels[LABEL_CONFIG_HASH] === tong.configHash) {
            await joinNetwork(tong, info.id);
            containers.set(tong.name, info.id);
            return;
          }
        }
        throw err;
      }
      containers.set(tong.name, id);
      try {
        progress.debug(`tong '${tong.name}' created`);
        // Joined before it starts, so its process never runs without its way out.
        if (egressNetwork && tong.egress && !holder) await egressCreated.then(() => runtime.connectNetwork(egressNetwork.name, id, []));
        // A namespace exists only while its holder runs.
        if (holder) await holder.started;
        await runtime.startContainer(id);
        progress.debug(`tong '${tong.name}' started`);
        if (hasSecrets) {
          await deliverSecrets(
            async (cid, argv, stdin) => {
              const r = await runtime.exec(cid, argv, { stdin });
              return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` };
            },
            id,
            secrets,
            `tong '${tong.name}'`,
          );
        }
      } catch (err) {
        // A shared tong is not removed by session teardown: remove a failed one here (issue #6: failed
        // delivery removes the container).
        await runtime.removeContainer(id).catch(() => {});
        containers.delete(tong.name);
        throw err;
      }
    };
    await allSettledOrThrow<unknown>([
      ...stale.map((id) => runtime.removeContainer(id)),
      ...[...reused].map(([name, id]) => joinNetwork(plan.tongs.find((x) => x.name === name)!, id)),
    ]);
    await allSettledOrThrow(toCreate.map(createOne));
    probe?.send(probeTargets(plan.tongs, tokens));
    const startedMs = now() - tStart;
    signal?.throwIfAborted();

    progress.phase(`waiting for ${plan.tongs.map((t) => t.name).join(', ')}`);
    await allSettledOrThrow<unknown>([
      waitForReadiness(plan.tongs, {
        runtime,
        containers,
        probe,
        ...(signal ? { signal } : {}),
        onReady: (t) => progress.debug(`tong '${t.name}' ready`),
      }),
      relayStarted.then((id) => id && progress.debug('relay ready')),
    ]);
    const readyMs = now() - tStart;
    await limitsChecked;
    return { containers, reused: [...reused.keys()], startedMs, readyMs };
  } catch (err) {
    // Let the network and probe creations already in flight land first, so that teardown by label
    // (which runs after this throws) sees them: nothing may appear after the caller's clean-up.
    await Promise.allSettled([networkCreated, egressCreated, volumeCreated, probe?.containerId, relayStarted, ...[...holders.values()].map((h) => h.started)]);
    throw err;
  }
}


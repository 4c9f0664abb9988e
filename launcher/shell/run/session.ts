/**
 * Runs a LaunchPlan on a real container engine (issue #3; DESIGN.md "Wiring a session" steps 2–7):
 * sweep dead sessions, resolve secrets for the tongs about to be created (before any network or
 * container exists), create the session network, make sure images exist (build from `build:` when
 * absent, never pull), start every tong in parallel under its aliases (reusing a matching shared
 * tong), probe readiness from inside the network, write the MCP config, run the anvil in the
 * foreground, and tear everything down on every exit path.
 *
 * Signals (SIGINT, SIGTERM, SIGHUP): while tongs start, a signal aborts the start-up; while the anvil
 * runs it is passed to the anvil first (the docker CLI proxies it), and an anvil still running 10 s
 * later is stopped by its labels. Teardown then removes the session by label; signals arriving during
 * teardown are ignored, so a second Ctrl-C cannot leave resources behind. The exit status is 128+n
 * after a signal (130 for SIGINT), otherwise the anvil's own.
 */
import { DockerError, InterruptedError, TongsError } from '../../errors.js';
import type { LaunchPlan, PlannedTong } from '../../core/plan-types.js';
import { LABEL_CONFIG_HASH, LABEL_LIFECYCLE, LABEL_ROLE, LABEL_SESSION } from '../../core/labels.js';
import { signalNumber, startAnvil, stopAnvil, writePlanFiles, type AnvilHandle } from './anvil.js';
import { createDockerRuntime, dockerodeLoadMs } from '../engine/docker-runtime.js';
import { resolveEngine } from '../engine/engine.js';
import { createProgress, formatSeconds, type Progress } from '../progress.js';
import { openGate, prepareGate } from '../apply/gate.js';
import { removeSessionResources, sweepDeadSessions, type Liveness } from '../commands/ps-gc.js';
import { probeTargets, startNetworkProbe, waitForReadiness, type NetworkProbe } from '../apply/readiness.js';
import { createRelayVolume, startRelay } from '../apply/relay.js';
import type { ContainerRuntime, ContainerSpec, ImageInfo } from '../engine/runtime.js';
import { deliverSecrets, originalArgv, SECRET_TMPFS, wrapCommand } from '../apply/secret-delivery.js';

export interface RunSessionOptions {
  /** Silence progress lines (`--quiet`). */
  quiet: boolean;
  /** Removes the session's host temp dir (created by the CLI with tmp-promise before planning). */
  cleanupTemp: () => Promise<void>;
  /**
   * Resolves the `secretEnv` templates of the tongs that will actually be created (a reused shared
   * tong resolves nothing — issue #6), on the host, before any container exists. Returns, per tong
   * name, the final secret environment. Throws SecretError. Absent ⇒ secretEnv values are used as-is.
   */
  resolveSecrets?: (tongs: PlannedTong[]) => Promise<Map<string, Record<string, string>>>;
  /** The engine; defaults to Docker (DOCKER_HOST or the default socket). Tests inject a fake. */
  runtime?: ContainerRuntime;
  /** Where progress lines go; defaults to process.stderr. */
  progressStream?: { write(s: string): unknown; isTTY?: boolean };
  /** Liveness rules for the start-up sweep; defaults to this host and `kill(pid, 0)`. */
  liveness?: Liveness;
  /** Milliseconds an anvil may keep running after a forwarded signal before it is stopped (default 10 000). */
  anvilGraceMs?: number;
}

/** What applyPlan started: tong name → container id, and what must be left alone at teardown. */
export interface AppliedSession {
  containers: Map<string, string>;
  /** Names of shared tongs reused as they were. */
  reused: string[];
  /** Milliseconds from the start of applyPlan until every tong was started, then ready. */
  startedMs: number;
  readyMs: number;
  /** Work applyPlan left running (removing the probe container, whose work is done); never rejects. */
  background: Promise<void>;
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

/** The container spec of a tong, with the secret wrapper and tmpfs when it receives secrets (issue #6). */
export function tongSpec(tong: PlannedTong, network: string, image: ImageInfo, hasSecrets: boolean): ContainerSpec {
  const wrapped = hasSecrets ? wrapCommand(originalArgv(tong, image)) : null;
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
    extraHosts: tong.hosts,
    network: { name: network, aliases: [tong.alias, ...tong.aliases] },
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
    resolveSecrets?: RunSessionOptions['resolveSecrets'];
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
  const networkCreated = runtime.createNetwork(network.name, network.labels).then(() => {
    progress.debug(`network ${network.name} created`);
    return network.name;
  });
  networkCreated.catch(() => {});
  // The relay (DESIGN.md "The seal" rule 5): the anvil reaches its tongs only through it. Its volume is
  // made with the network, as the anvil mounts it; the relay starts with the tongs, and the launch
  // waits for it with their readiness.
  const relay = plan.relay;
  const volumeCreated = relay ? createRelayVolume(runtime, relay) : Promise.resolve();
  volumeCreated.catch(() => {});
  const relayStarted = relay ? Promise.all([networkCreated, volumeCreated]).then(([name]) => startRelay(runtime, relay, name)) : Promise.resolve(null);
  relayStarted.catch(() => {});
  if (options.onAnvilReady) {
    const ready = options.onAnvilReady;
    void Promise.all([networkCreated, volumeCreated]).then(() => {
      if (!signal?.aborted) ready();
    }, () => {});
  }
  const probe: NetworkProbe | null =
    targetCount > 0 && probeImage
      ? startNetworkProbe(runtime, {
          image: probeImage,
          network: networkCreated,
          labels: { ...plan.labels, [LABEL_ROLE]: 'probe' },
          debug: (text) => progress.debug(text),
        })
      : null;

  try {
    progress.phase('checking images');
    const [images, probeImageInfo] = await raceAbort(
      allSettledOrThrow<unknown>([
        ensureImages(runtime, plan.tongs, progress, signal),
        probeImage ? runtime.inspectImage(probeImage) : Promise.resolve(null),
        networkCreated,
      ]) as Promise<[Map<string, ImageInfo>, ImageInfo | null, string]>,
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
      const spec = tongSpec(tong, network.name, images.get(tong.image)!, hasSecrets);
      let id: string;
      try {
        id = await runtime.createContainer(spec);
      } catch (err) {
        // Another session may have just created the same shared tong: reuse it if it matches.
        if (tong.lifecycle === 'shared' && err instanceof DockerError && err.kind === 'conflict') {
          const info = await runtime.inspectContainer(tong.containerName);
          if (info?.running && info.labels[LABEL_CONFIG_HASH] === tong.configHash) {
            await runtime.connectNetwork(network.name, info.id, [tong.alias, ...tong.aliases]);
            containers.set(tong.name, info.id);
            return;
          }
        }
        throw err;
      }
      containers.set(tong.name, id);
      try {
        progress.debug(`tong '${tong.name}' created`);
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
    await allSettledOrThrow([
      ...stale.map((id) => runtime.removeContainer(id)),
      ...[...reused].map(([name, id]) => {
        const t = plan.tongs.find((x) => x.name === name)!;
        return runtime.connectNetwork(network.name, id, [t.alias, ...t.aliases]);
      }),
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
    // The probe's work is done: it goes now, while the harness runs, instead of at teardown.
    const background = probe
      ? probe.containerId.then((id) => (id ? runtime.removeContainer(id) : undefined)).then(() => progress.debug('probe container removed'), () => {})
      : Promise.resolve();
    return { containers, reused: [...reused.keys()], startedMs, readyMs, background };
  } catch (err) {
    // Let the network and probe creations already in flight land first, so that teardown by label
    // (which runs after this throws) sees them: nothing may appear after the caller's clean-up.
    await Promise.allSettled([networkCreated, volumeCreated, probe?.containerId, relayStarted]);
    throw err;
  }
}

/**
 * Once the session's anvil container exits, remove the session's other containers (not a shared
 * tong, which outlives the session). Resolves with how many went and when the
 * removal began (Date.now()), or 0 when the anvil container cannot be found or waited for (then
 * teardown removes everything itself); never rejects.
 */
async function removeAtAnvilExit(
  runtime: ContainerRuntime,
  plan: LaunchPlan,
  applied: AppliedSession,
): Promise<{ containers: number; startedAt: number }> {
  const none = { containers: 0, startedAt: Date.now() };
  try {
    const [anvil] = await runtime.listContainers({ [LABEL_SESSION]: plan.sessionId, [LABEL_ROLE]: 'anvil' });
    // Only a running anvil: the engine's wait returns at once for one created but not yet started (the
    // create → connect → start path), and one not there yet cannot be waited for. Teardown does it all then.
    if (!anvil || anvil.state !== 'running') return none;
    await runtime.waitContainer(anvil.id);
    const startedAt = Date.now();
    await applied.background;
    // By label, as teardown does: the tongs, the relay and anything else of the session but the anvil
    // (the docker CLI removes a `--rm` one) and shared tongs (they outlive the session).
    const doomed = (await runtime.listContainers({ [LABEL_SESSION]: plan.sessionId })).filter(
      (c) => c.labels[LABEL_ROLE] !== 'anvil' && c.labels[LABEL_LIFECYCLE] !== 'shared',
    );
    await Promise.all(doomed.map((c) => runtime.removeContainer(c.id)));
    return { containers: doomed.length, startedAt };
  } catch {
    return none;
  }
}

/** Control flow, never shown: a gated anvil exited before its gate opened, with this status. */
class AnvilExitedEarly extends Error {
  constructor(readonly status: number) {
    super(`the anvil exited (status ${status}) before its tongs were ready`);
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Execute `plan` and return the process exit status to use (the anvil's own status, 128+n after a
 * signal). Throws a TongsError (after teardown) on any launcher failure: DockerError, SecretError,
 * ReadinessError, CommandNotFoundError (docker cannot be executed), InterruptedError (a signal before
 * the harness started).
 *
 * Launch order (DESIGN.md "Launch order", `plan.launchOrder`): `parallel` creates and starts the anvil
 * as soon as the session network and the relay volume exist, while the tongs start; its entrypoint
 * holds the harness at the gate until every tong is ready (`go`), or exits 1 without running it
 * (`stop`) when the launch fails. An anvil that exits while it waits (a bad docker option, a broken
 * config layer, Ctrl-C on its TTY) ends the launch with its own status. `serial` starts the anvil
 * only once every tong is ready.
 */
export async function runSession(plan: LaunchPlan, options: RunSessionOptions): Promise<number> {
  const progress = createProgress({ quiet: options.quiet, ...(options.progressStream ? { stream: options.progressStream } : {}) });
  const controller = new AbortController();
  let runtime: ContainerRuntime | null = null;
  let anvil: AnvilHandle | null = null;
  let signalled: NodeJS.Signals | null = null;
  let tearingDown = false;
  let graceTimer: NodeJS.Timeout | null = null;
  const graceMs = options.anvilGraceMs ?? 10_000;
  const gate = plan.launchOrder?.mode === 'parallel' ? plan.launchOrder.gate : null;
  /** parallel: the anvil's start, once begun. */
  let anvilStarting: Promise<void> | null = null;
  /** The harness may run: the gate said `go`, or (serial) the anvil was started. */
  let harnessFreed = false;

  const onSignal = (sig: NodeJS.Signals) => {
    if (tearingDown) {
      progress.warn(`${sig} received while tearing down; finishing teardown first`);
      return;
    }
    if (signalled) {
      anvil?.kill(sig);
      return;
    }
    signalled = sig;
    if (anvil?.running() && harnessFreed) {
      // The anvil goes first (DESIGN.md step 7); one that ignores the signal is stopped after the grace.
      anvil.kill(sig);
      graceTimer = setTimeout(() => {
        progress.warn(`the anvil is still running ${graceMs / 1000} s after ${sig}; stopping it`);
        if (runtime) void stopAnvil(runtime, plan.sessionId).catch(() => {});
        setTimeout(() => anvil?.kill('SIGKILL'), 5_000).unref();
      }, graceMs);
      graceTimer.unref();
    } else {
      // Before the harness runs, a signal abandons the start-up; a gated anvil is then told `stop`.
      controller.abort(new InterruptedError(sig, 128 + signalNumber(sig)));
    }
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);

  /** parallel: start the anvil; its early exit, or a failed start, aborts the launch. */
  const startGatedAnvil = (rt: ContainerRuntime) => {
    if (anvilStarting) return anvilStarting;
    progress.debug(`starting the anvil while the tongs start (${plan.launchOrder?.reason ?? 'gated'}): ${plan.anvilArgv.slice(0, 2).join(' ')} …`);
    anvilStarting = startAnvil(plan, rt).then((handle) => {
      anvil = handle;
      // The docker CLI may now hold the terminal (raw mode with -t): no spinner, and `\r\n` line ends.
      progress.shareTerminal();
      progress.debug('anvil started; its harness waits at the gate');
      void handle.exited.then(
        (status) => {
          if (!harnessFreed) controller.abort(new AnvilExitedEarly(status));
        },
        (err: unknown) => controller.abort(err),
      );
    });
    anvilStarting.catch((err: unknown) => controller.abort(err));
    return anvilStarting;
  };

  /** parallel, on a failed launch: `stop` at the gate, then wait for the anvil (stopping one that hangs). */
  const stopGatedAnvil = async (rt: ContainerRuntime) => {
    if (!gate) return;
    await openGate(gate.hostDir, 'stop').catch(() => {});
    await anvilStarting?.catch(() => {});
    const handle = anvil as AnvilHandle | null;
    if (!handle?.running()) return;
    const settled = handle.exited.then(() => true, () => true);
    if (await Promise.race([settled, delay(5_000).then(() => false)])) return;
    await stopAnvil(rt, plan.sessionId).catch(() => {});
    if (!(await Promise.race([settled, delay(5_000).then(() => false)]))) handle.kill('SIGKILL');
    await settled;
  };

  let status = 0;
  let failure: unknown = null;
  let earlyTeardown: Promise<{ containers: number; startedAt: number }> | null = null;
  // performance.now() counts from process start: this shows what Node and the CLI cost before the session.
  progress.debug(
    `session starts ${performance.now().toFixed(0)} ms after the launcher process started` +
      (options.runtime ? '' : ` (loading dockerode took ${dockerodeLoadMs.toFixed(0)} ms of it)`),
  );
  try {
    runtime =
      options.runtime ??
      createDockerRuntime({ engine: resolveEngine({ anvilArgv: plan.anvilArgv }), debug: (line) => progress.debug(line) });
    const rt = runtime;
    // Sweep what dead sessions left (issue #3 item 8), concurrently with the start-up.
    const sweep = sweepDeadSessions(rt, {
      shared: false,
      keep: plan.sessionId,
      ...(options.liveness ? { liveness: options.liveness } : {}),
    }).then(
      (r) => {
        progress.debug('sweep done');
        if (r.sessions.length > 0) {
          progress.line(`removed ${r.containers} container(s) and ${r.networks} network(s) of ${r.sessions.length} dead session(s)`);
        }
      },
      (err: unknown) => {
        // No usable engine: the launch fails with that one message (applyPlan meets it too).
        if (err instanceof DockerError && err.engineUnavailable) throw err;
        progress.warn(`could not sweep dead sessions: ${(err as Error).message}`);
      },
    );
    // Handled: awaited below once applyPlan is done; without this, a sweep that fails while applyPlan
    // still runs would be an unhandled rejection (a stack trace instead of one `tongs:` line).
    sweep.catch(() => {});
    progress.debug(`launch order: ${plan.launchOrder?.mode ?? 'serial'} (${plan.launchOrder?.reason ?? 'no order planned'})`);
    // The anvil's files must exist before it is created: docker would make a missing bind source a dir.
    if (gate) await Promise.all([prepareGate(gate.hostDir), writePlanFiles(plan.files)]);
    let applied: AppliedSession;
    try {
      applied = await applyPlan(plan, rt, {
        progress,
        signal: controller.signal,
        resolveSecrets: options.resolveSecrets,
        ...(gate ? { onAnvilReady: () => void startGatedAnvil(rt) } : {}),
      });
      await sweep;
    } catch (err) {
      await stopGatedAnvil(rt);
      throw err;
    }
    const n = plan.tongs.length;
    const reused = applied.reused.length ? ` (${applied.reused.length} shared reused)` : '';
    // Stop the spinner first, so no frame is drawn again under the finished line.
    progress.stop();
    progress.line(
      `started ${n} tong${n === 1 ? '' : 's'}${reused} in ${formatSeconds(applied.startedMs)}; ready in ${formatSeconds(applied.readyMs)}`,
    );
    if (gate) {
      try {
        await startGatedAnvil(rt);
        controller.signal.throwIfAborted();
      } catch (err) {
        await stopGatedAnvil(rt);
        throw err;
      }
      harnessFreed = true;
      await openGate(gate.hostDir, 'go');
      progress.debug('gate open: the harness starts');
    } else {
      await writePlanFiles(plan.files);
      controller.signal.throwIfAborted();
      progress.debug(`starting the anvil: ${plan.anvilArgv.slice(0, 2).join(' ')} …`);
      harnessFreed = true;
      anvil = await startAnvil(plan, rt);
      // A signal that arrived while `docker create`/`connect` ran (the create path) goes to the anvil now.
      const early: NodeJS.Signals | null = signalled;
      if (early) anvil.kill(early);
    }
    // Teardown starts at the anvil container's exit (issue #12 item 3): its tongs go while the docker
    // CLI is still removing the `--rm` anvil; what is left goes once the CLI has exited.
    earlyTeardown = removeAtAnvilExit(rt, plan, applied);
    status = await (anvil as AnvilHandle | null)!.exited;
  } catch (err) {
    if (err instanceof AnvilExitedEarly) {
      progress.debug(err.message);
      status = err.status;
    } else failure = err;
  } finally {
    tearingDown = true;
    if (graceTimer) clearTimeout(graceTimer);
    progress.stop();
    if (runtime) {
      const t0 = Date.now();
      try {
        const early = earlyTeardown ? await earlyTeardown : { containers: 0, startedAt: t0 };
        const removed = await removeSessionResources(runtime, plan.sessionId, plan.network?.name ?? null);
        const count = early.containers + removed.containers;
        if (count + removed.networks > 0 || failure) {
          progress.line(`removed ${count} container${count === 1 ? '' : 's'} and the session network in ${formatSeconds(Date.now() - Math.min(t0, early.startedAt))}`);
        }
      } catch (err) {
        // With no usable engine the launch already fails with that one message; saying it twice helps nobody.
        const sameCause = err instanceof DockerError && err.engineUnavailable && failure instanceof DockerError && failure.engineUnavailable;
        if (!sameCause) progress.warn(`teardown was incomplete (run \`tongs gc\` to finish it): ${(err as Error).message}`);
      }
    }
    try {
      await options.cleanupTemp();
    } catch (err) {
      progress.warn(`could not remove the session temp dir: ${(err as Error).message}`);
    }
    for (const s of signals) process.off(s, onSignal);
  }
  if (signalled) {
    const code = 128 + signalNumber(signalled);
    if (!harnessFreed) throw failure instanceof InterruptedError ? failure : new InterruptedError(signalled, code);
    return code;
  }
  if (failure) throw failure;
  return status;
}

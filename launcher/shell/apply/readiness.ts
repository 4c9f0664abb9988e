/**
 * Readiness (issue #3 "Readiness", DESIGN.md "Wiring a session" step 4): small strategy objects, one per
 * mode (STYLE.md: testcontainers `wait-strategies/`), all tongs probed concurrently.
 *
 * - `tcp` / `mcp` probe from INSIDE the session network, because the host may not route to container
 *   addresses (Docker Desktop, a remote DOCKER_HOST). One short-lived probe container per session,
 *   started from an image the user already has (the anvil's own image, which runs the harness and so
 *   has `node`; override with TONGS_PROBE_IMAGE), joins the session network and runs {@link PROBE_SCRIPT}
 *   with `node -e`. It reads its targets as JSON on stdin — the only channel that carries an MCP bearer
 *   token, which never appears in the probe's env, argv or labels — probes every target concurrently
 *   (tcp: connect to alias:port every 20 ms; mcp: the same, then POST a JSON-RPC `initialize` and
 *   require a valid result) and writes one JSON line per tong as soon as it is ready or has timed out.
 *   The session starts it as soon as the network exists and sends the targets later, so its start-up
 *   overlaps image checks, secret resolution and the tongs' own start.
 * - `healthcheck` execs the definition's command inside the tong (exit 0 = ready), or, when the command is
 *   null, waits for the image's HEALTHCHECK to report `healthy`. Only the engine API is used.
 * - `none` is ready once started.
 *
 * A tong that is not ready in time fails the launch with a ReadinessError naming the tong and what was
 * probed, e.g. `tong 'slow' not ready after 2 s: tcp slow:8080 refused`. A tong whose container exits
 * while being probed fails at once, with the tail of its log.
 */
import { ReadinessError, DockerError } from '../../errors.js';
import type { PlannedTong, ReadinessMode } from '../../core/plan-types.js';
import type { ContainerRuntime } from '../engine/runtime.js';

/** The probe program (`node -e PROBE_SCRIPT`): launcher/shell/apply/probe-program.ts, type-checked there. */
export { PROBE_SCRIPT } from './probe-program.js';
import { PROBE_SCRIPT } from './probe-program.js';

/** One tcp/mcp target for the in-network probe. `token` is sent as a bearer, and travels only on stdin. */
export interface ProbeTarget {
  tong: string;
  mode: 'tcp' | 'mcp';
  host: string;
  port: number;
  path: string | null;
  timeoutMs: number;
  token?: string;
}

/** What the probe said about one tong. */
export type ProbeOutcome = { ready: true; ms: number } | { ready: false; detail: string };

/** The running in-network probe of one session: one promise per target tong. */
export interface NetworkProbe {
  /**
   * Hands the probe its targets (once): they go to the probe's stdin, which also carries any bearer
   * token. Until then the probe container is up and idle, so its start-up overlaps the session's.
   */
  send(targets: ProbeTarget[]): void;
  /** Resolves with the outcome for `tong` (never rejects; probe failures become `ready: false`). */
  outcome(tong: string): Promise<ProbeOutcome>;
  /** Resolves once the probe container exists (its id), or null if it could not be created. */
  readonly containerId: Promise<string | null>;
}

/** How long after a tong's own timeout we still wait for the probe to report (its start-up time). */
const PROBE_GRACE_MS = 5_000;

/**
 * Start the in-network probe container on `network`: call it as soon as the session network exists
 * (before the tongs are even created), then `send` the targets. Never throws: a probe that cannot
 * start reports every target as not ready, with the engine's reason.
 */
export function startNetworkProbe(
  runtime: ContainerRuntime,
  options: {
    image: string;
    /** Resolves with the session network's name once it exists; rejects if it could not be created. */
    network: Promise<string> | string;
    labels: Record<string, string>;
    /** Trace hook (progress.debug). */
    debug?: (text: string) => void;
  },
): NetworkProbe {
  const waiters = new Map<string, { resolve: (o: ProbeOutcome) => void; promise: Promise<ProbeOutcome> }>();
  const waiter = (tong: string) => {
    let w = waiters.get(tong);
    if (!w) {
      let resolve!: (o: ProbeOutcome) => void;
      const promise = new Promise<ProbeOutcome>((r) => (resolve = r));
      w = { resolve, promise };
      waiters.set(tong, w);
    }
    return w;
  };
  let failure: string | null = null;
  const failAll = (detail: string) => {
    failure ??= detail;
    for (const w of waiters.values()) w.resolve({ ready: false, detail });
  };
  let setId!: (id: string | null) => void;
  const containerId = new Promise<string | null>((r) => (setId = r));
  let setStdin!: (stdin: NodeJS.WritableStream | null) => void;
  const stdinReady = new Promise<NodeJS.WritableStream | null>((r) => (setStdin = r));

  const run = async () => {
    let id: string;
    try {
      const network = await options.network;
      id = await runtime.createContainer({
        name: null,
        image: options.image,
        labels: options.labels,
        env: {},
        entrypoint: ['node'],
        command: ['-e', PROBE_SCRIPT],
        mounts: [],
        memoryBytes: null,
        network: { name: network, aliases: [] },
        openStdin: true,
        autoRemove: true,
        user: null,
      });
    } catch (err) {
      setId(null);
      setStdin(null);
      failAll(`the readiness probe could not be created from image ${options.image}: ${(err as Error).message}`);
      return;
    }
    setId(id);
    options.debug?.('probe container created');
    try {
      const streams = await runtime.attach(id, { stdin: true });
      let buffer = '';
      let stderr = '';
      streams.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-2000)));
      streams.stdout.on('data', (c: Buffer) => {
        buffer += c.toString('utf8');
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          try {
            const r = JSON.parse(line) as { tong: string; ready: boolean; ms?: number; detail?: string };
            waiter(r.tong).resolve(r.ready ? { ready: true, ms: r.ms ?? 0 } : { ready: false, detail: r.detail ?? '' });
          } catch {
            // not a probe line: ignore
          }
        }
      });
      streams.stdout.on('end', () => {
        const reason = stderr.trim().split('\n').slice(-3).join(' | ');
        failAll(`the readiness probe (node in image ${options.image}) ended without a result${reason ? `: ${reason}` : ''}`);
      });
      await runtime.startContainer(id);
      options.debug?.('probe container started');
      setStdin(streams.stdin);
    } catch (err) {
      setStdin(null);
      const message = (err as Error).message;
      const hint =
        err instanceof DockerError && err.kind === 'no-executable'
          ? ` (the probe runs \`node\` from the anvil image; set TONGS_PROBE_IMAGE to a local image that has node)`
          : '';
      failAll(`the readiness probe could not start from image ${options.image}: ${message}${hint}`);
    }
  };
  void run();

  let sent = false;
  return {
    containerId,
    send(targets) {
      if (sent) return;
      sent = true;
      for (const t of targets) waiter(t.tong);
      if (failure) failAll(failure);
      void stdinReady.then((stdin) => stdin?.end(JSON.stringify({ targets })));
    },
    outcome(tong) {
      const w = waiter(tong);
      if (failure) w.resolve({ ready: false, detail: failure });
      return w.promise;
    },
  };
}

/** Everything a strategy needs to wait for one tong. */
export interface ReadinessContext {
  runtime: ContainerRuntime;
  /** The tong's container id. */
  containerId: string;
  /** The session's in-network probe (tcp/mcp). */
  probe: NetworkProbe | null;
  signal?: AbortSignal;
  /** Milliseconds clock, injectable for tests. */
  now?: () => number;
  /** Sleep, injectable for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A readiness mode: what it probes (for messages) and how to wait. */
export interface ReadinessStrategy {
  readonly mode: ReadinessMode;
  /** `tcp slow:8080`, `mcp http://github:8080/mcp`, `healthcheck test -S /x`, `HEALTHCHECK`, `none`. */
  describe(tong: PlannedTong): string;
  /** Resolves when ready; rejects with ReadinessError (not ready in time) or DockerError. */
  wait(tong: PlannedTong, ctx: ReadinessContext): Promise<void>;
}

/** `2 s`, `500 ms`, `1.5 s` — a timeout as people read it. */
export function formatTimeout(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

function notReady(tong: PlannedTong, detail: string): ReadinessError {
  return new ReadinessError(`tong '${tong.name}' not ready after ${formatTimeout(tong.readiness.timeoutMs)}: ${detail}`);
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function networkStrategy(mode: 'tcp' | 'mcp'): ReadinessStrategy {
  return {
    mode,
    describe: (tong) =>
      mode === 'mcp'
        ? `mcp http://${tong.readiness.host}:${tong.readiness.port}${tong.readiness.path ?? '/mcp'}`
        : `tcp ${tong.readiness.host}:${tong.readiness.port}`,
    async wait(tong, ctx) {
      if (!ctx.probe) throw new DockerError(`tong '${tong.name}': no readiness probe is running for ${mode} mode`);
      const sleep = ctx.sleep ?? defaultSleep;
      // Watchdog: the probe counts the timeout from its own start; if it never reports, give up anyway.
      const watchdog = new AbortController();
      const abandon = sleep(tong.readiness.timeoutMs + PROBE_GRACE_MS, watchdog.signal).then(
        (): ProbeOutcome => ({ ready: false, detail: `${this.describe(tong)}: the readiness probe did not report` }),
        () => new Promise<ProbeOutcome>(() => {}),
      );
      try {
        const outcome = await Promise.race([ctx.probe.outcome(tong.name), abandon]);
        if (!outcome.ready) throw notReady(tong, outcome.detail);
      } finally {
        watchdog.abort();
      }
    },
  };
}

const healthcheckStrategy: ReadinessStrategy = {
  mode: 'healthcheck',
  describe: (tong) =>
    tong.readiness.command ? `healthcheck \`${tong.readiness.command.join(' ')}\`` : 'the image HEALTHCHECK',
  async wait(tong, ctx) {
    const now = ctx.now ?? Date.now;
    const sleep = ctx.sleep ?? defaultSleep;
    const deadline = now() + tong.readiness.timeoutMs;
    const command = tong.readiness.command;
    let pause = 50;
    let last = 'not tried';
    for (;;) {
      ctx.signal?.throwIfAborted();
      if (command) {
        const left = Math.max(1, deadline - now());
        try {
          const r = await ctx.runtime.exec(ctx.containerId, command, { timeoutMs: Math.min(left, 5000) });
          if (r.exitCode === 0) return;
          const said = (r.stderr || r.stdout).trim().split('\n').pop() ?? '';
          last = `exited ${r.exitCode}${said ? ` (${said.slice(0, 200)})` : ''}`;
        } catch (err) {
          last = (err as Error).message;
        }
      } else {
        const info = await ctx.runtime.inspectContainer(ctx.containerId);
        if (!info) throw new ReadinessError(`tong '${tong.name}': its container is gone`);
        if (info.health === null && info.running) {
          throw new ReadinessError(
            `tong '${tong.name}': readiness mode is healthcheck with no command, but image ${tong.image} has no HEALTHCHECK`,
          );
        }
        if (info.health === 'healthy') return;
        last = `status ${info.health ?? info.status}`;
      }
      if (now() >= deadline) throw notReady(tong, `${this.describe(tong)} ${last}`);
      await sleep(Math.min(pause, Math.max(1, deadline - now())), ctx.signal);
      pause = Math.min(pause * 2, 250);
    }
  },
};

const noneStrategy: ReadinessStrategy = {
  mode: 'none',
  describe: () => 'none',
  async wait() {},
};

/** The strategy objects by mode. */
export const READINESS_STRATEGIES: Readonly<Record<ReadinessMode, ReadinessStrategy>> = {
  tcp: networkStrategy('tcp'),
  mcp: networkStrategy('mcp'),
  healthcheck: healthcheckStrategy,
  none: noneStrategy,
};

/** Targets for the in-network probe: the tcp/mcp tongs, with their bearer token when they have one. */
export function probeTargets(tongs: PlannedTong[], tokens: ReadonlyMap<string, string>): ProbeTarget[] {
  const targets: ProbeTarget[] = [];
  for (const t of tongs) {
    const r = t.readiness;
    if ((r.mode !== 'tcp' && r.mode !== 'mcp') || !r.host || r.port === null) continue;
    const token = tokens.get(t.name);
    targets.push({
      tong: t.name,
      mode: r.mode,
      host: r.host,
      port: r.port,
      path: r.mode === 'mcp' ? (r.path ?? '/mcp') : null,
      timeoutMs: r.timeoutMs,
      ...(r.mode === 'mcp' && token ? { token } : {}),
    });
  }
  return targets;
}

/**
 * Wait until every tong is ready, concurrently. `containers` maps tong name → container id. Rejects with
 * the first ReadinessError (the tong, its timeout and what was probed), or when a tong's container exits
 * before it is ready (with its last log lines). Aborting `signal` rejects with its reason.
 */
export async function waitForReadiness(
  tongs: PlannedTong[],
  options: {
    runtime: ContainerRuntime;
    containers: ReadonlyMap<string, string>;
    probe: NetworkProbe | null;
    signal?: AbortSignal;
    onReady?: (tong: PlannedTong) => void;
  },
): Promise<void> {
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});
  const one = async (tong: PlannedTong) => {
    const containerId = options.containers.get(tong.name);
    if (!containerId) throw new DockerError(`tong '${tong.name}' has no container`);
    const strategy = READINESS_STRATEGIES[tong.readiness.mode];
    const ready = strategy.wait(tong, { runtime: options.runtime, containerId, probe: options.probe, signal });
    // A tong that dies while we wait fails at once, with what it said.
    const died = options.runtime.waitContainer(containerId).then(
      async (status) => {
        const tail = (await options.runtime.logs(containerId, 5).catch(() => '')).trim();
        throw new ReadinessError(
          `tong '${tong.name}' exited with status ${status} before it was ready${tail ? `:\n${tail}` : ''}`,
        );
      },
      () => new Promise<never>(() => {}),
    );
    died.catch(() => {});
    await Promise.race([ready, died, aborted]);
    options.onReady?.(tong);
  };
  try {
    await Promise.all(tongs.map(one));
  } finally {
    stop.abort(new Error('readiness finished'));
  }
}

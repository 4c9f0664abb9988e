/**
 * The in-network readiness probe (issue #3 "Readiness"; used by the `tcp` and `mcp` strategies of
 * launcher/shell/apply/readiness.ts): they probe from INSIDE the session network, because the host may
 * not route to container addresses (Docker Desktop, a remote DOCKER_HOST). One short-lived probe
 * container per session, started from an image the user already has (the anvil's own image, which
 * runs the harness and so has `node`; override with TONGS_PROBE_IMAGE), joins the session network and
 * runs {@link PROBE_SCRIPT} with `node -e`. It reads its targets as JSON on stdin — the only channel
 * that carries an MCP bearer token, which never appears in the probe's env, argv or labels — probes
 * every target concurrently and writes one JSON line per tong as soon as it is ready or has timed out.
 * The session starts it as soon as the network exists and sends the targets later, so its start-up
 * overlaps image checks, secret resolution and the tongs' own start.
 */
import { DockerError } from '../../errors.js';
import type { PlannedTong } from '../../core/plan-types.js';
import type { ContainerRuntime } from '../engine/runtime.js';
import { PROBE_SCRIPT } from './probe-program.js';

/** The probe program (`node -e PROBE_SCRIPT`): launcher/shell/apply/probe-program.ts, type-checked there. */
export { PROBE_SCRIPT } from './probe-program.js';

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
export const PROBE_GRACE_MS = 5_000;

/**
 * One pending outcome per tong, made on first ask, whether the probe's answer or the caller's
 * `outcome(tong)` comes first. `waiters` holds every one made so far.
 */
function outcomeWaiters() {
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
  return { waiter, waiters };
}

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
    /** A second network the probe joins before it starts (the egress network, or null for none). */
    alsoNetwork?: Promise<string | null> | string | null;
    labels: Record<string, string>;
    /** Trace hook (progress.debug). */
    debug?: (text: string) => void;
  },
): NetworkProbe {
  const { waiter, waiters } = outcomeWaiters();
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
      const also = await options.alsoNetwork;
      if (also) await runtime.connectNetwork(also, id, []);
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

/**
 * The probe run with `docker exec` in a container already on the session network (the relay's: it is
 * there anyway and runs `node` from the anvil image), instead of a probe container of its own: no
 * container start on the launch's critical path (measured at 0.3–0.5 s of engine time beside the
 * tongs' own start). `host` resolves with that container's id once it runs, or null when it could not
 * start (every target then fails with `unavailable`). The outcomes come when the probe exits (every
 * target ready or timed out); a tong whose container dies is still seen at once by the readiness
 * strategy. Never throws.
 */
export function startExecProbe(
  runtime: ContainerRuntime,
  options: { host: Promise<string | null>; unavailable: string; debug?: (text: string) => void },
): NetworkProbe {
  const { waiter, waiters } = outcomeWaiters();
  const failAll = (detail: string) => {
    for (const w of waiters.values()) w.resolve({ ready: false, detail });
  };
  let sent = false;
  return {
    containerId: Promise.resolve(null),
    send(targets) {
      if (sent) return;
      sent = true;
      for (const t of targets) waiter(t.tong);
      void (async () => {
        const id = await options.host.catch(() => null);
        if (!id) return failAll(options.unavailable);
        options.debug?.('readiness probe exec started');
        try {
          const r = await runtime.exec(id, ['node', '-e', PROBE_SCRIPT], { stdin: JSON.stringify({ targets }) });
          for (const line of r.stdout.split('\n')) {
            try {
              const o = JSON.parse(line) as { tong: string; ready: boolean; ms?: number; detail?: string };
              waiter(o.tong).resolve(o.ready ? { ready: true, ms: o.ms ?? 0 } : { ready: false, detail: o.detail ?? '' });
            } catch {
              // not a probe line: ignore
            }
          }
          failAll(`the readiness probe ended without a result: ${r.stderr.trim().split('\n').slice(-3).join(' | ') || `exit ${r.exitCode}`}`);
        } catch (err) {
          failAll(`the readiness probe could not run: ${(err as Error).message}`);
        }
      })();
    },
    outcome(tong) {
      return waiter(tong).promise;
    },
  };
}

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

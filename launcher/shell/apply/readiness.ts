/**
 * Readiness (issue #3 "Readiness", DESIGN.md "Wiring a session" step 4): small strategy objects, one per
 * mode (STYLE.md: testcontainers `wait-strategies/`), all tongs probed concurrently.
 *
 * - `tcp` / `mcp` probe from inside the session network, through the session's probe container
 *   (launcher/shell/apply/probe.ts): tcp connects to alias:port every 20 ms; mcp does the same, then
 *   POSTs a JSON-RPC `initialize` and requires a valid result.
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
import { PROBE_GRACE_MS, type NetworkProbe, type ProbeOutcome } from './probe.js';


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
    let cost = 0;
    let last = 'not tried';
    for (;;) {
      ctx.signal?.throwIfAborted();
      if (command) {
        const left = Math.max(1, deadline - now());
        const began = now();
        try {
          const r = await ctx.runtime.exec(ctx.containerId, command, { timeoutMs: Math.min(left, 5000) });
          // Each try is a process start in the tong, while its server (and, with ten tongs, nine others)
          // boots on the same cores: the next waits at least as long as this one took, so checking
          // never takes more than half the CPU it competes for.
          cost = now() - began;
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
      await sleep(Math.min(Math.max(pause, cost), Math.max(1, deadline - now())), ctx.signal);
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

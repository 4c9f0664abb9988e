/**
 * Runs a LaunchPlan on a real container engine (issue #3; DESIGN.md "Wiring a session" steps 2–7,
 * "Launch order"): sweep dead sessions, apply the plan (launcher/shell/apply/apply.ts: secrets,
 * network, images, tongs, readiness), start the anvil in the foreground, with its tongs or after them,
 * and tear everything down on every exit path (launcher/shell/teardown/teardown.ts).
 *
 * Signals (SIGINT, SIGTERM, SIGHUP): while tongs start, a signal aborts the start-up; while the anvil
 * runs it is passed to the anvil first (the docker CLI proxies it), and an anvil still running 10 s
 * later is stopped by its labels. Teardown then removes the session by label; signals arriving during
 * teardown are ignored, so a second Ctrl-C cannot leave resources behind. The exit status is 128+n
 * after a signal (130 for SIGINT), otherwise the anvil's own.
 */
import { DockerError, InterruptedError } from '../../errors.js';
import type { LaunchPlan } from '../../core/plan-types.js';
import { anvilUserNotes, signalNumber, startAnvil, stopAnvil, tongHostEntries, writePlanFiles, type AnvilHandle } from './anvil.js';
import { createDockerRuntime, dockerodeLoadMs } from '../engine/docker-runtime.js';
import { resolveEngine } from '../engine/engine.js';
import { createProgress, formatSeconds } from '../progress.js';
import { openGate, prepareGate } from '../apply/gate.js';
import { removeAtAnvilExit, removeSessionResources, sweepDeadSessions, type Liveness } from '../teardown/teardown.js';
import { applyPlan, type AppliedSession, type ResolveSecrets } from '../apply/apply.js';
import type { ContainerRuntime } from '../engine/runtime.js';

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
  resolveSecrets?: ResolveSecrets;
  /** The engine; defaults to Docker (DOCKER_HOST or the default socket). Tests inject a fake. */
  runtime?: ContainerRuntime;
  /** Where progress lines go; defaults to process.stderr. */
  progressStream?: { write(s: string): unknown; isTTY?: boolean };
  /** Liveness rules for the start-up sweep; defaults to this host and `kill(pid, 0)`. */
  liveness?: Liveness;
  /** Milliseconds an anvil may keep running after a forwarded signal before it is stopped (default 10 000). */
  anvilGraceMs?: number;
  /**
   * Secrets that change while the session runs (issue #15 item 2: GitHub App tokens, refreshed before
   * they expire): `start` gets the tongs' containers once every tong is ready; `close` runs after
   * teardown on every exit path (normal exit, failure, signals), and never throws.
   */
  liveSecrets?: LiveSecrets;
}

/** See {@link RunSessionOptions.liveSecrets}. */
export interface LiveSecrets {
  start(containers: ReadonlyMap<string, string>, runtime: ContainerRuntime): void;
  close(): Promise<void>;
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
    // No getuid (Windows): the engine's files live in its VM, nothing to hand over.
    if (process.getuid) for (const note of anvilUserNotes(plan, process.getuid())) progress.warn(note);
    // The anvil's files must exist before it is created: docker would make a missing bind source a dir.
    if (gate) await Promise.all([prepareGate(gate.hostDir), writePlanFiles(plan.files, plan.anvilUser)]);
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
    options.liveSecrets?.start(applied.containers, rt);
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
      await openGate(gate.hostDir, 'go', await tongHostEntries(plan, rt, applied.containers));
      progress.debug('gate open: the harness starts');
    } else {
      await writePlanFiles(plan.files, plan.anvilUser);
      controller.signal.throwIfAborted();
      progress.debug(`starting the anvil: ${plan.anvilArgv.slice(0, 2).join(' ')} …`);
      const hosts = await tongHostEntries(plan, rt, applied.containers);
      harnessFreed = true;
      anvil = await startAnvil(plan, rt, hosts);
      // A signal that arrived while `docker create`/`connect` ran (the create path) goes to the anvil now.
      const early: NodeJS.Signals | null = signalled;
      if (early) anvil.kill(early);
    }
    // Teardown starts at the anvil container's exit (issue #12 item 3): its tongs go while the docker
    // CLI is still removing the `--rm` anvil; what is left goes once the CLI has exited.
    earlyTeardown = removeAtAnvilExit(rt, plan);
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
    // After the tongs are gone, so no call of theirs meets a revoked token.
    await options.liveSecrets?.close().catch((err: unknown) => progress.warn(`could not revoke the session's tokens: ${(err as Error).message}`));
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

/**
 * The launch pipeline (DESIGN.md "Wiring a session"; issue #12 item 5): `tongs run`, `tongs plan` and
 * `tongs doctor` as gather → one planLaunch → apply → run → teardown.
 *
 * - gather: the workspace, the layers' definitions (validated, or from the definition cache), the
 *   egress allowlist, the anvil image's gate label (the engine's first call, overlapping the loading),
 *   the session id and bearer tokens (launcher/shell/gather/);
 * - plan: launcher/core/plan.ts `planLaunch`, pure; then refusals and first-run approval;
 * - apply → run → teardown: launcher/shell/run/session.ts (with launcher/shell/apply/ and
 *   launcher/shell/teardown/); a passthrough (no tong) runs the anvil argv as it is.
 *
 * launcher/cli.ts parses the command line and reports errors; this module throws TongsErrors and
 * returns exit statuses.
 */
// node:fs's synchronous calls, not node:fs/promises, and node:crypto only when a session is minted:
// the passthrough (no tong defined) loads neither, which is 2-3 ms of its start-up (issue #12).
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandLine } from '../cli.js';
import { DefinitionError, UsageError } from '../errors.js';
import type { MergeResult, MergedTong } from '../core/layers.js';
import type { LaunchPlan } from '../core/plan-types.js';
import type { DefinitionSource } from '../core/validate.js';
import { setEnvNames } from '../core/when.js';
import { enableCodeCache } from './code-cache.js';
import { discoverDefinitions, type LayerDirs } from './gather/discover.js';
import { runPassthrough } from './run/passthrough.js';

/** `$TONGS_HOME`, default `~/.tongs` (DESIGN.md "Tong definitions"). */
export function tongsHome(): string {
  return process.env.TONGS_HOME || path.join(os.homedir(), '.tongs');
}

/** The absolute `--workspace` directory, or null; a path that is not a directory is a usage error. */
export async function resolveWorkspace(values: CommandLine['values']): Promise<string | null> {
  if (values.workspace === undefined) return null;
  const abs = path.resolve(values.workspace);
  const info = statSync(abs, { throwIfNoEntry: false });
  if (!info?.isDirectory()) throw new UsageError(`--workspace ${values.workspace} is not a directory`);
  return abs;
}

/** Layer directories from the options and their defaults (DESIGN.md "Tong definitions"). */
export function layerDirs(values: CommandLine['values'], workspace: string | null): LayerDirs {
  return {
    user: values['user-tongs'] ?? path.join(tongsHome(), 'tongs'),
    org: values['org-tongs'] ?? null,
    repo: values['repo-tongs'] ?? null,
    workspace: values['workspace-tongs'] ?? (workspace ? path.join(workspace, '.tongs', 'tongs') : null),
  };
}

/** Write to stdout and wait until it is flushed (process.exit would otherwise cut a pipe short). */
export function writeStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(text, (error) => (error ? reject(error) : resolve())));
}

export function warn(line: string): void {
  process.stderr.write(`tongs: ${line}\n`);
}

/** Validate and merge discovered definitions; warnings go to stderr, problems throw DefinitionError. */
export async function loadTongs(sources: DefinitionSource[]): Promise<MergedTong[]> {
  const merged = await validateAndMerge(sources);
  for (const line of merged.warnings) warn(line);
  return merged.tongs;
}

async function validateAndMerge(sources: DefinitionSource[]): Promise<MergeResult> {
  const [{ validateDefinitions }, { mergeLayers }] = await Promise.all([import('../core/validate.js'), import('../core/layers.js')]);
  const { tongs, problems } = validateDefinitions(sources);
  if (problems.length > 0) throw new DefinitionError(problems);
  return mergeLayers(tongs);
}

/**
 * `loadTongs` through the definition cache (launcher/shell/gather/definition-cache.ts): unchanged files and
 * code skip yaml and zod entirely. Only `run` uses it; `plan` and `validate` write nothing.
 */
async function loadTongsCached(sources: DefinitionSource[]): Promise<MergedTong[]> {
  const cache = await import('./gather/definition-cache.js');
  const file = cache.definitionCachePath(tongsHome());
  const key = await cache.definitionCacheKey(sources);
  let merged = await cache.readDefinitionCache(file, key);
  if (merged === null) {
    merged = await validateAndMerge(sources);
    await cache.writeDefinitionCache(file, key, merged);
  }
  for (const line of merged.warnings) warn(line);
  return merged.tongs;
}

/** Session id: 12 hex characters from 6 random bytes. */
async function mintSessionId(): Promise<string> {
  const { randomBytes } = await import('node:crypto');
  return randomBytes(6).toString('hex');
}

/**
 * Bearer tokens of the mcp and model tongs (issues #6, #11): a fresh one per session for session
 * tongs; for a shared tong, which outlives the session, its stored per-tong token
 * (launcher/shell/gather/shared-tokens.ts).
 */
async function mintMcpTokens(tongs: readonly MergedTong[]): Promise<Record<string, string>> {
  const [{ sharedTongToken }, { randomBytes }] = await Promise.all([import('./gather/shared-tokens.js'), import('node:crypto')]);
  const tokens: Record<string, string> = {};
  for (const t of tongs) {
    const kind = t.definition.interface?.kind;
    if (kind !== 'mcp' && kind !== 'model') continue;
    tokens[t.name] =
      (t.definition.lifecycle ?? 'session') === 'shared'
        ? await sharedTongToken(path.join(tongsHome(), 'shared-tokens'), t.name)
        : randomBytes(32).toString('base64url');
  }
  return tokens;
}

/** The launch context shared by `run` and `plan`. */
interface LaunchContext {
  harness: string | null;
  anvilArgv: string[];
  workspace: string | null;
  sources: DefinitionSource[];
}

export async function launchContext(cli: CommandLine): Promise<LaunchContext> {
  const workspace = await resolveWorkspace(cli.values);
  const sources = await discoverDefinitions(layerDirs(cli.values, workspace));
  return { harness: cli.values.harness ?? null, anvilArgv: cli.anvilArgv ?? [], workspace, sources };
}

/** Creates the session's private host temp dir (mode 0700); its cleanup is safe to call twice. */
async function createSessionTemp(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  // `default`: tmp-promise is CommonJS, whose exports are the default of a bundle chunk too.
  const { default: tmp } = await import('tmp-promise');
  // Safety net: should the process die on an uncaught error, tmp still removes the dir at exit.
  tmp.setGracefulCleanup();
  const made = await tmp.dir({ unsafeCleanup: true, mode: 0o700, prefix: 'tongs' }); // tmp adds '-<pid>-<random>'
  let cleaned: Promise<void> | undefined;
  return { path: made.path, cleanup: () => (cleaned ??= made.cleanup()) };
}

/**
 * What `tongs doctor` changes in a launch (launcher/shell/commands/doctor.ts): the plan gets no harness
 * arguments, the doctor sees the plan, and it wraps the secret resolver. `tongs run` passes none.
 */
type LaunchHooks = import('./commands/doctor.js').DoctorHooks;

/**
 * `tongs run`: discover → validate → merge → refuse → temp dir and ids → plan → runSession, then the
 * out-of-sight report (DESIGN.md "The seal" rule 3) on every way out, Ctrl-C included.
 */
export async function runCommand(cli: CommandLine, hooks?: LaunchHooks): Promise<number> {
  const ctx = await launchContext(cli);
  if (ctx.workspace === null) return launch(ctx, cli, hooks);
  const workspace = ctx.workspace;
  const { snapshotWorkspace, outOfSightReport } = await import('./teardown/out-of-sight.js');
  const before = await snapshotWorkspace(workspace);
  try {
    return await launch(ctx, cli, hooks);
  } finally {
    const lines = await outOfSightReport(workspace, before).catch((error: unknown) => [
      `could not check for changes git does not show: ${(error as Error).message}`,
    ]);
    for (const line of lines) warn(line);
  }
}

/** The launch itself: passthrough when nothing is defined, else a session. */
async function launch(ctx: LaunchContext, cli: CommandLine, hooks?: LaunchHooks): Promise<number> {
  // Passthrough: nothing discovered ⇒ no yaml/zod/planner/dockerode is even loaded.
  if (ctx.sources.length === 0) return passthrough(ctx, cli);
  enableCodeCache(tongsHome());
  // The engine's first call (the anvil image's gate label, DESIGN.md "Launch order") overlaps loading
  // the definitions; the plan needs its answer.
  const engine = launchRuntime(ctx.anvilArgv);
  engine.catch(() => {});
  const tongs = await loadTongsCached(ctx.sources);
  if (tongs.length === 0) return passthrough(ctx, cli);
  const [{ refuseLaunch, planLaunch }, { launchSummary }] = await Promise.all([import('../core/plan.js'), import('../core/launch-summary.js')]);
  const hostEnv = setEnvNames(process.env);
  const selection = refuseLaunch({ tongs, harness: ctx.harness, anvilArgv: ctx.anvilArgv, workspace: ctx.workspace, hostEnv });
  if (selection.started.length === 0) {
    // Every tong skipped by its `when` condition: say so, then run the anvil argv as it is.
    printSummary(launchSummary({ models: [], skipped: selection.skipped, warnings: [] }), cli);
    return passthrough(ctx, cli);
  }
  const egress = await loadEgress(ctx, cli, selection.started, true);
  const temp = await createSessionTemp();
  try {
    const plan = planLaunch({
      tongs,
      hostEnv,
      egress,
      harness: ctx.harness,
      anvilArgv: ctx.anvilArgv,
      sessionId: await mintSessionId(),
      tempDir: temp.path,
      workspace: ctx.workspace,
      launcherPid: process.pid,
      launcherHost: os.hostname(),
      startedAt: new Date().toISOString(),
      mcpTokens: await mintMcpTokens(selection.started),
      anvilRelay: cli.values['anvil-relay'] ?? false,
      anvilGate: (await engine).gate,
      internalNetworks: (await engine).internalNetworks,
      stdioBridge: (await import('./gather/stdio-bridge.js')).locateStdioBridge(),
      sharedNetns: await sharedNetnsWanted(),
      ...(hooks ? { appendHarnessArgs: hooks.appendHarnessArgs } : {}),
    });
    // Workspace-tong approval (issue #6): after refusals, before any container exists.
    await approveWorkspaceLayer(ctx, cli, plan.tongs);
    printSummary(launchSummary(plan), cli);
    await hooks?.onPlan(plan);
    return await startSession(plan, cli, temp.cleanup, (await engine).runtime, hooks, ctx.workspace);
  } catch (error) {
    await temp.cleanup();
    throw error;
  }
}

/** The launch summary on stderr: warnings always, the rest unless `--quiet`. */
function printSummary(summary: { info: string[]; warnings: string[] }, cli: CommandLine): void {
  if (!cli.values.quiet) for (const line of summary.info) warn(line);
  for (const line of summary.warnings) warn(line);
}

/**
 * The egress allowlist for the session's egress tong (DESIGN.md "The seal" rule 5, issue #11): the user
 * file `$TONGS_HOME/egress.yaml`, then the workspace's `.tongs/egress.yaml`, whose entries count only
 * once approved (asked here when `ask`; `plan` never asks and leaves them out). `egress: open` in the
 * user file or `TONGS_EGRESS=open` opens it, with a warning at every launch. Undefined when no egress
 * tong starts. Throws DefinitionError for a broken file, RefusalError for declined entries.
 */
async function loadEgress(
  ctx: LaunchContext,
  cli: CommandLine,
  started: readonly MergedTong[],
  ask: boolean,
): Promise<{ env: Record<string, string>; open: boolean; allow: string[] } | undefined> {
  if (!started.some((t) => t.definition.interface?.kind === 'egress')) return undefined;
  const [{ readEgressSources }, { parseEgressSources, mergeEgress, egressTongEnv }] = await Promise.all([
    import('./gather/egress-files.js'),
    import('../core/egress.js'),
  ]);
  const { files, problems } = parseEgressSources(await readEgressSources(ctx.workspace ? { workspace: ctx.workspace } : {}));
  if (problems.length > 0) throw new DefinitionError(problems);
  const merged = mergeEgress(files);
  const list = { ...merged, open: merged.open || process.env.TONGS_EGRESS === 'open' };
  let workspaceApproved = false;
  if (ask && ctx.workspace && list.workspaceEntries.length > 0) {
    const { approveWorkspace, defaultApprovalsPath } = await import('./gather/approval.js');
    const { workspaceEgressFile } = await import('./gather/egress-files.js');
    await approveWorkspace({
      tongs: [],
      egressEntries: { file: workspaceEgressFile(ctx.workspace), entries: list.workspaceEntries },
      workspaceRoot: ctx.workspace,
      storePath: cli.values.approvals ?? defaultApprovalsPath(),
      noPrompt: cli.values['no-prompt'] ?? false,
      input: process.stdin,
      stderr: process.stderr,
    });
    workspaceApproved = true;
  }
  if (list.open) {
    warn(`warning: egress is open: the anvil may reach every host (${process.env.TONGS_EGRESS === 'open' ? 'TONGS_EGRESS=open' : `egress: open in ${list.userFile ?? 'the user egress file'}`})`);
  }
  const allow = workspaceApproved ? [...list.allow, ...list.workspaceEntries] : list.allow;
  return { env: egressTongEnv(list, { workspaceApproved }), open: list.open, allow };
}

/** Passthrough (DESIGN.md "Passthrough invariant"), after approval of a workspace `.tongs/env` the argv passes. */
async function passthrough(ctx: LaunchContext, cli: CommandLine): Promise<number> {
  if (workspaceEnvFilePath(ctx) !== null) await approveWorkspaceLayer(ctx, cli, []);
  return runPassthrough(ctx.anvilArgv);
}

/**
 * `<workspace>/.tongs/env` when the anvil argv passes it with `--env-file` (the Make recipe does when the
 * file exists), else null. It is workspace content, so it needs the same approval as workspace tongs.
 */
function workspaceEnvFilePath(ctx: LaunchContext): string | null {
  if (ctx.workspace === null) return null;
  const wanted = path.join(ctx.workspace, '.tongs', 'env');
  const argv = ctx.anvilArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = arg === '--env-file' ? argv[i + 1] : arg.startsWith('--env-file=') ? arg.slice('--env-file='.length) : undefined;
    if (value !== undefined && path.resolve(value) === wanted) return wanted;
  }
  return null;
}

/**
 * First-run approval of the workspace layer (issue #6): tongs whose winning layer is `workspace` and
 * the workspace `.tongs/env` file. Throws RefusalError when declined (or with `--no-prompt`).
 */
async function approveWorkspaceLayer(ctx: LaunchContext, cli: CommandLine, tongs: LaunchPlan['tongs']): Promise<void> {
  if (ctx.workspace === null) return;
  const envPath = workspaceEnvFilePath(ctx);
  if (!tongs.some((t) => t.layer === 'workspace') && envPath === null) return;
  const { approveWorkspace, defaultApprovalsPath } = await import('./gather/approval.js');
  await approveWorkspace({
    tongs,
    envFile: envPath === null ? null : { path: envPath, content: readFileSync(envPath, 'utf8') },
    workspaceRoot: ctx.workspace,
    storePath: cli.values.approvals ?? defaultApprovalsPath(),
    noPrompt: cli.values['no-prompt'] ?? false,
    input: process.stdin,
    stderr: process.stderr,
  });
}

/**
 * Hand the plan to the Docker runtime (loaded only now: it imports dockerode), with the secret
 * resolver of issue #6 (`--providers`, default `$TONGS_HOME/secret-providers.yaml`).
 */
async function startSession(
  plan: LaunchPlan,
  cli: CommandLine,
  cleanupTemp: () => Promise<void>,
  runtime: import('./engine/runtime.js').ContainerRuntime,
  hooks?: LaunchHooks,
  workspace: string | null = null,
): Promise<number> {
  const [{ runSession }, { createResolveSecrets }] = await Promise.all([
    import('./run/session.js'),
    import('./gather/secret-providers.js'),
  ]);
  let resolver = createResolveSecrets(cli.values.providers !== undefined ? { providersPath: cli.values.providers } : {});
  const githubApp = await githubAppSession(plan, workspace);
  if (githubApp) resolver = githubApp.session.wrap(resolver);
  const resolveSecrets = hooks ? hooks.wrapResolveSecrets(resolver) : resolver;
  return runSession(plan, {
    quiet: cli.values.quiet ?? false,
    cleanupTemp,
    resolveSecrets,
    runtime,
    ...(githubApp ? { liveSecrets: githubApp.live } : {}),
  });
}

/**
 * `TONGS_SHARED_NETNS=0` keeps every tong in a network namespace of its own (launcher/core/netns.ts,
 * loaded with the planner, so a passthrough launch never loads it).
 */
const sharedNetnsWanted = async (): Promise<boolean> => process.env[(await import('../core/netns.js')).SHARED_NETNS_ENV] !== '0';

/**
 * The github-app provider of this launch (issue #15 item 2), only when a tong uses it: mints at
 * secret resolution, refreshes in the running tongs, revokes at teardown. Null otherwise (the
 * provider's module, and @octokit/auth-app, are then never loaded).
 */
/**
 * How long one refresh's delivery exec may take, in milliseconds. An exec whose end the engine never
 * reports would otherwise hold the refresh, and the session close that waits for it; a timed-out
 * delivery is retried by the refresh loop before the token expires.
 */
const REFRESH_EXEC_TIMEOUT_MS = 15_000;

async function githubAppSession(plan: LaunchPlan, workspace: string | null) {
  if (!plan.tongs.some((t) => t.githubApp)) return null;
  const [{ GitHubAppSession, revokeDeadSessionTokens }, { deliverRefreshedSecret }, { LABEL_STARTED }, { defaultLiveness }] = await Promise.all([
    import('./gather/github-app-provider.js'),
    import('./apply/secret-delivery.js'),
    import('../core/labels.js'),
    import('./teardown/teardown.js'),
  ]);
  // What killed launchers left valid goes now too, as `tongs gc` would (their containers go in the
  // start-up sweep); in the background, so GitHub's latency never delays the launch.
  const liveness = defaultLiveness();
  void revokeDeadSessionTokens({
    home: tongsHome(),
    keep: plan.sessionId,
    isDead: (pid, host) => host === liveness.hostname && !liveness.isPidAlive(pid),
  }).then((r) => r.warnings.forEach((line) => warn(`warning: ${line}`)), () => {});
  const session = new GitHubAppSession({
    workspace,
    sessionId: plan.sessionId,
    launcher: { pid: process.pid, host: os.hostname() },
    startedAt: plan.labels[LABEL_STARTED] ?? new Date().toISOString(),
    home: tongsHome(),
    warn,
  });
  const live: import('./run/session.js').LiveSecrets = {
    start: (containers, runtime) =>
      session.startRefresh({
        containers,
        deliver: (id, name, value) =>
          deliverRefreshedSecret(
            async (cid, argv, stdin) => {
              const r = await runtime.exec(cid, argv, { stdin, timeoutMs: REFRESH_EXEC_TIMEOUT_MS });
              return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` };
            },
            id,
            name,
            value,
          ),
      }),
    close: () => session.close(),
  };
  return { session, live };
}

/**
 * The engine of a launch, resolved as the docker CLI would with the anvil argv's own `-H`/`--context`
 * (launcher/shell/engine/engine.ts), and whether the anvil image has the launch gate (planLaunch's
 * `anvilGate`). Loads dockerode.
 */
async function launchRuntime(anvilArgv: readonly string[]) {
  const [{ createDockerRuntime }, { resolveEngine }, { createProgress }, { readAnvilGate }] = await Promise.all([
    import('./engine/docker-runtime.js'),
    import('./engine/engine.js'),
    import('./progress.js'),
    import('./gather/anvil-image.js'),
  ]);
  const progress = createProgress({ quiet: true });
  const runtime = createDockerRuntime({ engine: resolveEngine({ anvilArgv }), debug: (line) => progress.debug(line) });
  // The engine's kind decides whether the tongs' network can be internal (planLaunch's `internalNetworks`).
  const [gate, info] = await Promise.all([readAnvilGate(runtime, anvilArgv), runtime.engineInfo().catch(() => null)]);
  return { runtime, gate, internalNetworks: !info?.podman };
}

/** `tongs plan`: like run up to the plan, with a placeholder temp path and no bearer tokens; prints JSON. */
export async function planCommand(cli: CommandLine): Promise<number> {
  const ctx = await launchContext(cli);
  enableCodeCache(tongsHome());
  const tongs = ctx.sources.length > 0 ? await loadTongs(ctx.sources) : [];
  const [{ planLaunch }, { launchSummary }] = await Promise.all([import('../core/plan.js'), import('../core/launch-summary.js')]);
  const sessionId = await mintSessionId();
  const { applyWhen } = await import('../core/when.js');
  const egress = await loadEgress(ctx, cli, applyWhen(tongs, setEnvNames(process.env)).started, false);
  const plan = planLaunch({
    tongs,
    egress,
    hostEnv: setEnvNames(process.env),
    harness: ctx.harness,
    anvilArgv: ctx.anvilArgv,
    sessionId,
    tempDir: path.join(os.tmpdir(), `tongs-${sessionId}`),
    workspace: ctx.workspace,
    launcherPid: process.pid,
    launcherHost: os.hostname(),
    startedAt: new Date().toISOString(),
    mcpTokens: null,
    anvilRelay: cli.values['anvil-relay'] ?? false,
    ...(tongs.length > 0 ? await launchRuntime(ctx.anvilArgv).then((e) => ({ anvilGate: e.gate, internalNetworks: e.internalNetworks })) : { anvilGate: false }),
    stdioBridge: (await import('./gather/stdio-bridge.js')).locateStdioBridge(),
    sharedNetns: await sharedNetnsWanted(),
  });
  printSummary(launchSummary(plan), cli);
  await writeStdout(`${JSON.stringify(plan, null, 2)}\n`);
  return 0;
}


/**
 * `tongs doctor` (DESIGN.md "The seal" rule 6, issue #11 item 4): `tongs run`'s whole path with the
 * check program in place of the harness (launcher/shell/commands/doctor.ts), then the report on stdout.
 */
export async function doctorCommand(cli: CommandLine): Promise<number> {
  enableCodeCache(tongsHome());
  const { prepareDoctor } = await import('./commands/doctor.js');
  const doctor = await prepareDoctor({
    anvilArgv: cli.anvilArgv ?? [],
    workspace: await resolveWorkspace(cli.values),
    json: cli.values.json ?? false,
    quiet: cli.values.quiet ?? false,
  });
  let status: number | null = null;
  let failure: unknown = null;
  try {
    status = await runCommand({ ...cli, anvilArgv: doctor.anvilArgv }, doctor.hooks);
  } catch (error) {
    failure = error;
  }
  return doctor.finish(status, failure, writeStdout);
}

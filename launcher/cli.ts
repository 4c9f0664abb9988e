#!/usr/bin/env node
/**
 * The `tongs` command line (DESIGN.md "The launcher CLI", issue #2).
 *
 *   tongs run  [options] -- <anvil argv…>   launch tongs, then the anvil in the foreground
 *   tongs plan [options] -- <anvil argv…>   print the LaunchPlan as JSON; no Docker, writes nothing
 *   tongs validate [layer options]          check every definition; print all problems
 *   tongs schema                            print the JSON Schema of a definition
 *   tongs ps [--json]                       sessions and tongs that still exist
 *   tongs gc [--shared]                     remove what dead sessions left behind
 *   tongs state ls|rm PROJECT|init DIR      the projects' private harness state (issue #10)
 *   tongs doctor [options] [--json] -- <anvil argv…>   the seal checks, from inside a real anvil (issue #11)
 *
 * Start-up cost matters (issue #2 "Speed": ≤ 60 ms over the bare command), so only Node built-ins and
 * the small shell modules are imported statically; zod, yaml, the planner and dockerode are loaded
 * with `import()` on the paths that need them. The top-level catch at the bottom is the only place
 * that maps errors to exit codes and the only `process.exit`.
 */
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CommandNotFoundError, DefinitionError, DockerError, TongsError, UsageError } from './errors.js';
import type { MergeResult, MergedTong } from './core/layers.js';
import type { LaunchPlan } from './core/plan-types.js';
import type { DefinitionSource } from './core/validate.js';
import { setEnvNames } from './core/when.js';
import { discoverDefinitions, type LayerDirs } from './shell/discover.js';
import { runPassthrough } from './shell/passthrough.js';

const HELP = `Usage:
  tongs run  [options] -- <anvil argv…>   launch the tongs, then the anvil command in the foreground
  tongs plan [options] -- <anvil argv…>   print the launch plan as JSON (no Docker, writes nothing)
  tongs validate [layer options]          check every tong definition and print all problems
  tongs schema                            print the JSON Schema of a tong definition
  tongs ps [--json]                       list the sessions and tongs that tongs started
  tongs gc [--shared]                     remove what sessions whose launcher is gone left behind
  tongs state ls [--json]                 list the projects' private harness state
  tongs state rm PROJECT                  remove a project's private state (a path or a key)
  tongs state init --harness H --workspace P DIR
                                          create and seed a private state dir (make does this)
  tongs doctor [options] [--json] -- <anvil argv…>
                                          start a session as run would, with the seal checks in place
                                          of the harness; one ✔/✘ line per check, exit 1 on any ✘

Everything after the first \`--\` is the anvil command, passed verbatim (normally \`docker run … IMAGE
[harness args…]\`). With no tong defined in any layer, \`tongs run\` just runs it.

Options:
  --harness claude|opencode  harness in the anvil; needed when an mcp tong is defined
  --user-tongs DIR           user layer (default: $TONGS_HOME/tongs, TONGS_HOME default ~/.tongs)
  --org-tongs DIR            org layer (default: none)
  --repo-tongs DIR           repo layer (default: none)
  --workspace-tongs DIR      workspace layer (default: <workspace>/.tongs/tongs with --workspace)
  --workspace PATH           the project directory; the \`workspace\` mount word binds it
  --approvals PATH           approvals store for workspace tongs (default: $TONGS_HOME/approvals.json)
  --providers PATH           secret providers file (default: $TONGS_HOME/secret-providers.yaml)
  --no-prompt                never ask; refuse what would need an approval
  --anvil-relay              the anvil image runs the tongs relay (tongs-anvil:local does): the anvil
                             gets no network interface and reaches only its tongs, through the relay
  --quiet                    no progress lines (run, validate, gc)
  --json                     ps, doctor: machine-readable output
  --shared                   gc: also remove shared tongs
  -h, --help                 show this help

Layers merge by tong name, lowest to highest: user, org, repo, workspace.
With --workspace, run ends by listing the files the agent changed that git status does not show
(under .git, and ignored files where host tools read code or settings: .claude/, .envrc, .vscode/, …).
Exit status: 2 usage error, 1 refusal or launcher failure, 127 anvil command cannot be executed,
130 interrupted, otherwise the anvil's own status. Set DEBUG=tongs* to see causes of failures.
`;

const OPTIONS = {
  harness: { type: 'string' },
  'user-tongs': { type: 'string' },
  'org-tongs': { type: 'string' },
  'repo-tongs': { type: 'string' },
  'workspace-tongs': { type: 'string' },
  workspace: { type: 'string' },
  approvals: { type: 'string' },
  providers: { type: 'string' },
  'no-prompt': { type: 'boolean' },
  'anvil-relay': { type: 'boolean' },
  quiet: { type: 'boolean' },
  json: { type: 'boolean' },
  shared: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;
type OptionName = keyof typeof OPTIONS;

const COMMANDS = ['run', 'plan', 'validate', 'schema', 'ps', 'gc', 'state', 'doctor'] as const;
const STATE_ACTIONS = ['ls', 'rm', 'init'] as const;
type Command = (typeof COMMANDS)[number];

const LAYER_OPTIONS: OptionName[] = ['user-tongs', 'org-tongs', 'repo-tongs', 'workspace-tongs', 'workspace'];
/** Which options each command accepts (anything else is a usage error, so typos do not pass silently). */
const COMMAND_OPTIONS: Record<Command, ReadonlySet<OptionName>> = {
  run: new Set([...LAYER_OPTIONS, 'harness', 'approvals', 'providers', 'no-prompt', 'anvil-relay', 'quiet', 'help']),
  plan: new Set([...LAYER_OPTIONS, 'harness', 'approvals', 'providers', 'no-prompt', 'anvil-relay', 'quiet', 'help']),
  validate: new Set([...LAYER_OPTIONS, 'quiet', 'help']),
  schema: new Set(['help']),
  ps: new Set(['json', 'help']),
  gc: new Set(['shared', 'quiet', 'help']),
  state: new Set(['json', 'harness', 'workspace', 'help']),
  doctor: new Set([...LAYER_OPTIONS, 'harness', 'approvals', 'providers', 'no-prompt', 'anvil-relay', 'quiet', 'json', 'help']),
};

/** The parsed command line. */
interface CommandLine {
  command: Command | 'help';
  values: { [K in OptionName]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean };
  /** Everything after the first `--`, verbatim; null when there was no `--`. */
  anvilArgv: string[] | null;
  /** `state`: the action and its operands (`rm PROJECT`, `init DIR`). */
  operands: string[];
}

/** Parse argv with node:util parseArgs; the first `--` ends the options (a second `--` is anvil argv). */
function parseCommandLine(args: string[]): CommandLine {
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  const terminator = parsed.tokens.find((t) => t.kind === 'option-terminator');
  const before = parsed.tokens.filter((t) => t.kind === 'positional' && (!terminator || t.index < terminator.index));
  const anvilArgv = terminator ? args.slice(terminator.index + 1) : null;
  const values = parsed.values as CommandLine['values'];
  const [first, ...extra] = before.map((t) => (t.kind === 'positional' ? t.value : ''));
  if (first === undefined) {
    if (values.help) return { command: 'help', values, anvilArgv, operands: [] };
    throw new UsageError(`no command given; expected one of: ${COMMANDS.join(', ')} (see tongs --help)`);
  }
  if (!(COMMANDS as readonly string[]).includes(first)) {
    throw new UsageError(`unknown command '${first}'; expected one of: ${COMMANDS.join(', ')}`);
  }
  const command = first as Command;
  if (values.help) return { command: 'help', values, anvilArgv, operands: [] };
  if (command === 'state') return parseStateCommand(values, extra, anvilArgv);
  if (extra.length > 0) {
    throw new UsageError(
      command === 'run' || command === 'plan' || command === 'doctor'
        ? `unexpected argument '${extra[0]}' before \`--\`; put the anvil command after \`--\``
        : `unexpected argument '${extra[0]}' for tongs ${command}`,
    );
  }
  for (const name of Object.keys(values) as OptionName[]) {
    if (!COMMAND_OPTIONS[command].has(name)) throw new UsageError(`tongs ${command} does not take --${name}`);
  }
  if (command === 'run' || command === 'plan' || command === 'doctor') {
    if (anvilArgv === null) throw new UsageError(`tongs ${command} needs the anvil command after \`--\`, e.g. tongs ${command} -- docker run …`);
    if (anvilArgv.length === 0) throw new UsageError(`no anvil command after \`--\``);
  } else if (anvilArgv !== null) {
    throw new UsageError(`tongs ${command} takes no command after \`--\``);
  }
  if (values.harness === '') throw new UsageError('--harness needs a value, e.g. --harness claude');
  return { command, values, anvilArgv, operands: [] };
}

/** `tongs state ls [--json]`, `tongs state rm PROJECT`, `tongs state init --harness H --workspace P DIR`. */
function parseStateCommand(values: CommandLine['values'], operands: string[], anvilArgv: string[] | null): CommandLine {
  if (anvilArgv !== null) throw new UsageError('tongs state takes no command after `--`');
  const [action, ...rest] = operands;
  if (action === undefined || !(STATE_ACTIONS as readonly string[]).includes(action)) {
    throw new UsageError(
      action === undefined ? `tongs state needs an action: ${STATE_ACTIONS.join(', ')}` : `unknown action 'state ${action}'; expected one of: ${STATE_ACTIONS.join(', ')}`,
    );
  }
  const allowed: Record<string, { options: OptionName[]; operands: number; usage: string }> = {
    ls: { options: ['json'], operands: 0, usage: 'tongs state ls [--json]' },
    rm: { options: [], operands: 1, usage: 'tongs state rm PROJECT' },
    init: { options: ['harness', 'workspace'], operands: 1, usage: 'tongs state init --harness H --workspace P DIR' },
  };
  const rule = allowed[action]!;
  for (const name of Object.keys(values) as OptionName[]) {
    if (!rule.options.includes(name)) throw new UsageError(`tongs state ${action} does not take --${name}; usage: ${rule.usage}`);
  }
  if (rest.length !== rule.operands) throw new UsageError(`usage: ${rule.usage}`);
  if (action === 'init' && (!values.harness || !values.workspace)) throw new UsageError(`usage: ${rule.usage}`);
  return { command: 'state', values, anvilArgv: null, operands: [action, ...rest] };
}

/** `$TONGS_HOME`, default `~/.tongs` (DESIGN.md "Tong definitions"). */
function tongsHome(): string {
  return process.env.TONGS_HOME || path.join(os.homedir(), '.tongs');
}

/** The absolute `--workspace` directory, or null; a path that is not a directory is a usage error. */
async function resolveWorkspace(values: CommandLine['values']): Promise<string | null> {
  if (values.workspace === undefined) return null;
  const abs = path.resolve(values.workspace);
  const info = await stat(abs).catch(() => null);
  if (!info?.isDirectory()) throw new UsageError(`--workspace ${values.workspace} is not a directory`);
  return abs;
}

/** Layer directories from the options and their defaults (DESIGN.md "Tong definitions"). */
function layerDirs(values: CommandLine['values'], workspace: string | null): LayerDirs {
  return {
    user: values['user-tongs'] ?? path.join(tongsHome(), 'tongs'),
    org: values['org-tongs'] ?? null,
    repo: values['repo-tongs'] ?? null,
    workspace: values['workspace-tongs'] ?? (workspace ? path.join(workspace, '.tongs', 'tongs') : null),
  };
}

/** Write to stdout and wait until it is flushed (process.exit would otherwise cut a pipe short). */
function writeStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(text, (error) => (error ? reject(error) : resolve())));
}

function warn(line: string): void {
  process.stderr.write(`tongs: ${line}\n`);
}

/** Validate and merge discovered definitions; warnings go to stderr, problems throw DefinitionError. */
async function loadTongs(sources: DefinitionSource[]): Promise<MergedTong[]> {
  const merged = await validateAndMerge(sources);
  for (const line of merged.warnings) warn(line);
  return merged.tongs;
}

async function validateAndMerge(sources: DefinitionSource[]): Promise<MergeResult> {
  const [{ validateDefinitions }, { mergeLayers }] = await Promise.all([import('./core/validate.js'), import('./core/layers.js')]);
  const { tongs, problems } = validateDefinitions(sources);
  if (problems.length > 0) throw new DefinitionError(problems);
  return mergeLayers(tongs);
}

/**
 * `loadTongs` through the definition cache (launcher/shell/definition-cache.ts): unchanged files and
 * code skip yaml and zod entirely. Only `run` uses it; `plan` and `validate` write nothing.
 */
async function loadTongsCached(sources: DefinitionSource[]): Promise<MergedTong[]> {
  const cache = await import('./shell/definition-cache.js');
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

/** Session id: 12 hex characters from 6 random bytes. (node:crypto is loaded only when needed.) */
async function mintSessionId(): Promise<string> {
  const { randomBytes } = await import('node:crypto');
  return randomBytes(6).toString('hex');
}

/**
 * Bearer tokens of the mcp and model tongs (issues #6, #11): a fresh one per session for session
 * tongs; for a shared tong, which outlives the session, its stored per-tong token
 * (launcher/shell/shared-tokens.ts).
 */
async function mintMcpTokens(tongs: readonly MergedTong[]): Promise<Record<string, string>> {
  const [{ randomBytes }, { sharedTongToken }] = await Promise.all([import('node:crypto'), import('./shell/shared-tokens.js')]);
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

async function launchContext(cli: CommandLine): Promise<LaunchContext> {
  const workspace = await resolveWorkspace(cli.values);
  const sources = await discoverDefinitions(layerDirs(cli.values, workspace));
  return { harness: cli.values.harness ?? null, anvilArgv: cli.anvilArgv ?? [], workspace, sources };
}

/** Creates the session's private host temp dir (mode 0700); its cleanup is safe to call twice. */
async function createSessionTemp(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const tmp = await import('tmp-promise');
  // Safety net: should the process die on an uncaught error, tmp still removes the dir at exit.
  tmp.setGracefulCleanup();
  const made = await tmp.dir({ unsafeCleanup: true, mode: 0o700, prefix: 'tongs' }); // tmp adds '-<pid>-<random>'
  let cleaned: Promise<void> | undefined;
  return { path: made.path, cleanup: () => (cleaned ??= made.cleanup()) };
}

/**
 * What `tongs doctor` changes in a launch (launcher/shell/doctor.ts): the plan gets no harness
 * arguments, the doctor sees the plan, and it wraps the secret resolver. `tongs run` passes none.
 */
type LaunchHooks = import('./shell/doctor.js').DoctorHooks;

/**
 * `tongs run`: discover → validate → merge → refuse → temp dir and ids → plan → runSession, then the
 * out-of-sight report (DESIGN.md "The seal" rule 3) on every way out, Ctrl-C included.
 */
async function runCommand(cli: CommandLine, hooks?: LaunchHooks): Promise<number> {
  const ctx = await launchContext(cli);
  if (ctx.workspace === null) return launch(ctx, cli, hooks);
  const workspace = ctx.workspace;
  const { snapshotWorkspace, outOfSightReport } = await import('./shell/out-of-sight.js');
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
  const tongs = await loadTongsCached(ctx.sources);
  if (tongs.length === 0) return passthrough(ctx, cli);
  const [{ refuseLaunch, planLaunch }, { launchSummary }] = await Promise.all([import('./core/plan.js'), import('./core/launch-summary.js')]);
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
      stdioBridge: (await import('./shell/stdio-bridge.js')).locateStdioBridge(),
      ...(hooks ? { appendHarnessArgs: hooks.appendHarnessArgs } : {}),
    });
    // Workspace-tong approval (issue #6): after refusals, before any container exists.
    await approveWorkspaceLayer(ctx, cli, plan.tongs);
    printSummary(launchSummary(plan), cli);
    await hooks?.onPlan(plan);
    return await startSession(plan, cli, temp.cleanup, hooks);
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
    import('./shell/egress-files.js'),
    import('./core/egress.js'),
  ]);
  const { files, problems } = parseEgressSources(await readEgressSources(ctx.workspace ? { workspace: ctx.workspace } : {}));
  if (problems.length > 0) throw new DefinitionError(problems);
  const merged = mergeEgress(files);
  const list = { ...merged, open: merged.open || process.env.TONGS_EGRESS === 'open' };
  let workspaceApproved = false;
  if (ask && ctx.workspace && list.workspaceEntries.length > 0) {
    const { approveWorkspace, defaultApprovalsPath } = await import('./shell/approval.js');
    const { workspaceEgressFile } = await import('./shell/egress-files.js');
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
  const [{ approveWorkspace, defaultApprovalsPath }, { readFile }] = await Promise.all([
    import('./shell/approval.js'),
    import('node:fs/promises'),
  ]);
  await approveWorkspace({
    tongs,
    envFile: envPath === null ? null : { path: envPath, content: await readFile(envPath, 'utf8') },
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
async function startSession(plan: LaunchPlan, cli: CommandLine, cleanupTemp: () => Promise<void>, hooks?: LaunchHooks): Promise<number> {
  const [{ runSession }, { createResolveSecrets }] = await Promise.all([
    import('./shell/session.js'),
    import('./shell/secret-providers.js'),
  ]);
  const resolver = createResolveSecrets(cli.values.providers !== undefined ? { providersPath: cli.values.providers } : {});
  const resolveSecrets = hooks ? hooks.wrapResolveSecrets(resolver) : resolver;
  return runSession(plan, { quiet: cli.values.quiet ?? false, cleanupTemp, resolveSecrets });
}

/** `tongs plan`: like run up to the plan, with a placeholder temp path and no bearer tokens; prints JSON. */
async function planCommand(cli: CommandLine): Promise<number> {
  const ctx = await launchContext(cli);
  const tongs = ctx.sources.length > 0 ? await loadTongs(ctx.sources) : [];
  const [{ planLaunch }, { launchSummary }] = await Promise.all([import('./core/plan.js'), import('./core/launch-summary.js')]);
  const sessionId = await mintSessionId();
  const { applyWhen } = await import('./core/when.js');
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
    stdioBridge: (await import('./shell/stdio-bridge.js')).locateStdioBridge(),
  });
  printSummary(launchSummary(plan), cli);
  await writeStdout(`${JSON.stringify(plan, null, 2)}\n`);
  return 0;
}

/** `tongs validate`: every file problem, then alias collisions; a summary on stderr when all is well. */
async function validateCommand(cli: CommandLine): Promise<number> {
  const ctx = await launchContext(cli);
  const [{ validateDefinitions }, { mergeLayers }, { findAliasCollisions }, { findModelDialectConflicts }] = await Promise.all([
    import('./core/validate.js'),
    import('./core/layers.js'),
    import('./core/aliases.js'),
    import('./core/model-dialects.js'),
  ]);
  const { tongs, problems } = validateDefinitions(ctx.sources);
  if (problems.length > 0) throw new DefinitionError(problems);
  const merged = mergeLayers(tongs);
  for (const line of merged.warnings) warn(line);
  const collisions = [...findAliasCollisions(merged.tongs), ...findModelDialectConflicts(merged.tongs)];
  if (collisions.length > 0) throw new DefinitionError(collisions);
  if (!cli.values.quiet) {
    const active =
      merged.tongs
        .map((t) => {
          const iface = t.definition.interface;
          const kind = iface?.kind === 'model' ? `, model ${iface.dialect}` : iface?.kind === 'mcp' && iface.transport === 'stdio' ? ', mcp over stdio' : '';
          return `${t.name} (${t.layer}${kind})`;
        })
        .join(', ') || 'none';
    warn(`${ctx.sources.length} definition file(s) valid; active tongs: ${active}`);
  }
  return 0;
}

async function schemaCommand(): Promise<number> {
  const { tongDefinitionJsonSchema } = await import('./core/definition-schema.js');
  await writeStdout(`${JSON.stringify(tongDefinitionJsonSchema(), null, 2)}\n`);
  return 0;
}

/**
 * The runtime of the engine a command outside a launch uses (`ps`, `gc`): resolved as the docker CLI
 * would (launcher/shell/engine.ts); `DEBUG=tongs` says which engine and why. `run` resolves in
 * runSession, with the anvil argv's own `-H`/`--context` taken into account.
 */
async function engineRuntime() {
  const [{ createDockerRuntime }, { createProgress }] = await Promise.all([
    import('./shell/docker-runtime.js'),
    import('./shell/progress.js'),
  ]);
  const progress = createProgress({ quiet: true });
  return createDockerRuntime({ debug: (line) => progress.debug(line) });
}

async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args);
  switch (cli.command) {
    case 'help':
      await writeStdout(HELP);
      return 0;
    case 'run':
      return runCommand(cli);
    case 'plan':
      return planCommand(cli);
    case 'validate':
      return validateCommand(cli);
    case 'schema':
      return schemaCommand();
    case 'ps': {
      const [{ psCommand }, runtime] = await Promise.all([import('./shell/ps-gc.js'), engineRuntime()]);
      return psCommand({ json: cli.values.json ?? false, runtime });
    }
    case 'gc': {
      const [{ gcCommand }, runtime] = await Promise.all([import('./shell/ps-gc.js'), engineRuntime()]);
      return gcCommand({ shared: cli.values.shared ?? false, quiet: cli.values.quiet ?? false, runtime });
    }
    case 'state':
      return stateCommand(cli);
    case 'doctor':
      return doctorCommand(cli);
  }
}

/**
 * `tongs doctor` (DESIGN.md "The seal" rule 6, issue #11 item 4): `tongs run`'s whole path with the
 * check program in place of the harness (launcher/shell/doctor.ts), then the report on stdout.
 */
async function doctorCommand(cli: CommandLine): Promise<number> {
  const { prepareDoctor } = await import('./shell/doctor.js');
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

/** `tongs state ls|rm|init` (issue #10 item 1): the private harness state under `$TONGS_HOME/state`. */
async function stateCommand(cli: CommandLine): Promise<number> {
  const state = await import('./shell/harness-state.js');
  const root = path.join(tongsHome(), 'state');
  const [action, operand] = cli.operands;
  if (action === 'init') {
    const workspace = await resolveWorkspace(cli.values);
    const created = await state.initHarnessState({
      harness: cli.values.harness!,
      workspace: workspace!,
      dir: path.resolve(operand!),
      user: state.userHarnessPaths(process.env, os.homedir()),
      now: () => new Date(),
    });
    if (created) warn(`created the private ${cli.values.harness} state of ${workspace} in ${path.resolve(operand!)}`);
    return 0;
  }
  if (action === 'rm') {
    for (const removed of await state.removeHarnessState(root, operand!, process.cwd())) {
      warn(`removed the private state of ${removed.project ?? removed.key} (${removed.harnesses.join(', ') || 'no harness'})`);
    }
    return 0;
  }
  const states = await state.listHarnessStates(root);
  if (cli.values.json) {
    await writeStdout(`${JSON.stringify(states.map((s) => ({ ...s, lastUsed: new Date(s.lastUsedMs).toISOString() })), null, 2)}\n`);
    return 0;
  }
  if (states.length === 0) {
    warn(`no private harness state yet (${root})`);
    return 0;
  }
  const rows = [['KEY', 'HARNESSES', 'LAST USED', 'PROJECT'], ...states.map((s) => [
    s.key,
    s.harnesses.join(',') || '-',
    s.lastUsedMs ? new Date(s.lastUsedMs).toISOString().slice(0, 16).replace('T', ' ') : '-',
    s.project ?? '(unknown)',
  ])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  await writeStdout(rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n');
  return 0;
}

/** True when DEBUG names `tongs` (`DEBUG=tongs*`, `DEBUG=*`, comma/space-separated, `-x` excludes). */
async function debugEnabled(): Promise<boolean> {
  const patterns = (process.env.DEBUG ?? '').split(/[\s,]+/).filter(Boolean);
  if (patterns.length === 0) return false;
  const { default: picomatch } = await import('picomatch');
  const included = patterns.filter((p) => !p.startsWith('-')).some((p) => picomatch.isMatch('tongs', p));
  const excluded = patterns.filter((p) => p.startsWith('-')).some((p) => picomatch.isMatch('tongs', p.slice(1)));
  return included && !excluded;
}

/** Print `error` on stderr, every line prefixed `tongs: `, and return the exit status it maps to. */
async function reportError(error: unknown, args: string[]): Promise<number> {
  const debug = await debugEnabled().catch(() => false);
  const lines: string[] = [];
  let status = 1;
  if (error instanceof TongsError) {
    status = error.exitCode;
    lines.push(...error.message.split('\n'));
    if (error instanceof DefinitionError) {
      lines.push(`${error.problems.length} problem(s) in tong definitions; nothing was started`);
    }
    if (error instanceof UsageError) lines.push('see tongs --help');
    else if (error instanceof DockerError && error.engineUnavailable) {
      // No usable engine (issue #16): the one line says what and what to do; the cause only on DEBUG.
      if (debug && error.cause instanceof Error && error.cause.stack) lines.push(...error.cause.stack.split('\n'));
    } else if (error.cause instanceof Error) {
      if (debug && error.cause.stack) lines.push(...error.cause.stack.split('\n'));
      else if (!debug && !(error instanceof CommandNotFoundError)) lines.push('set DEBUG=tongs* to see the underlying error');
    }
  } else {
    const command = args.find((a) => (COMMANDS as readonly string[]).includes(a));
    const message = error instanceof Error ? error.message : String(error);
    lines.push(`${command ? `tongs ${command}` : 'tongs'} failed unexpectedly: ${message}`);
    if (debug && error instanceof Error && error.stack) lines.push(...error.stack.split('\n'));
    else lines.push('set DEBUG=tongs* for details');
  }
  process.stderr.write(lines.map((line) => `tongs: ${line}\n`).join(''));
  return status;
}

const args = process.argv.slice(2);
const status = await main(args).catch((error: unknown) => reportError(error, args));
process.exit(status);

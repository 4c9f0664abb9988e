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
import { discoverDefinitions, type LayerDirs } from './shell/discover.js';
import { runPassthrough } from './shell/passthrough.js';

const HELP = `Usage:
  tongs run  [options] -- <anvil argv…>   launch the tongs, then the anvil command in the foreground
  tongs plan [options] -- <anvil argv…>   print the launch plan as JSON (no Docker, writes nothing)
  tongs validate [layer options]          check every tong definition and print all problems
  tongs schema                            print the JSON Schema of a tong definition
  tongs ps [--json]                       list the sessions and tongs that tongs started
  tongs gc [--shared]                     remove what sessions whose launcher is gone left behind

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
  --quiet                    no progress lines (run, validate, gc)
  --json                     ps: machine-readable output
  --shared                   gc: also remove shared tongs
  -h, --help                 show this help

Layers merge by tong name, lowest to highest: user, org, repo, workspace.
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
  quiet: { type: 'boolean' },
  json: { type: 'boolean' },
  shared: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;
type OptionName = keyof typeof OPTIONS;

const COMMANDS = ['run', 'plan', 'validate', 'schema', 'ps', 'gc'] as const;
type Command = (typeof COMMANDS)[number];

const LAYER_OPTIONS: OptionName[] = ['user-tongs', 'org-tongs', 'repo-tongs', 'workspace-tongs', 'workspace'];
/** Which options each command accepts (anything else is a usage error, so typos do not pass silently). */
const COMMAND_OPTIONS: Record<Command, ReadonlySet<OptionName>> = {
  run: new Set([...LAYER_OPTIONS, 'harness', 'approvals', 'providers', 'no-prompt', 'quiet', 'help']),
  plan: new Set([...LAYER_OPTIONS, 'harness', 'approvals', 'providers', 'no-prompt', 'quiet', 'help']),
  validate: new Set([...LAYER_OPTIONS, 'quiet', 'help']),
  schema: new Set(['help']),
  ps: new Set(['json', 'help']),
  gc: new Set(['shared', 'quiet', 'help']),
};

/** The parsed command line. */
interface CommandLine {
  command: Command | 'help';
  values: { [K in OptionName]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean };
  /** Everything after the first `--`, verbatim; null when there was no `--`. */
  anvilArgv: string[] | null;
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
    if (values.help) return { command: 'help', values, anvilArgv };
    throw new UsageError('no command given; expected one of: run, plan, validate, schema, ps, gc (see tongs --help)');
  }
  if (!(COMMANDS as readonly string[]).includes(first)) {
    throw new UsageError(`unknown command '${first}'; expected one of: run, plan, validate, schema, ps, gc`);
  }
  const command = first as Command;
  if (values.help) return { command: 'help', values, anvilArgv };
  if (extra.length > 0) {
    throw new UsageError(
      command === 'run' || command === 'plan'
        ? `unexpected argument '${extra[0]}' before \`--\`; put the anvil command after \`--\``
        : `unexpected argument '${extra[0]}' for tongs ${command}`,
    );
  }
  for (const name of Object.keys(values) as OptionName[]) {
    if (!COMMAND_OPTIONS[command].has(name)) throw new UsageError(`tongs ${command} does not take --${name}`);
  }
  if (command === 'run' || command === 'plan') {
    if (anvilArgv === null) throw new UsageError(`tongs ${command} needs the anvil command after \`--\`, e.g. tongs ${command} -- docker run …`);
    if (anvilArgv.length === 0) throw new UsageError(`no anvil command after \`--\``);
  } else if (anvilArgv !== null) {
    throw new UsageError(`tongs ${command} takes no command after \`--\``);
  }
  if (values.harness === '') throw new UsageError('--harness needs a value, e.g. --harness claude');
  return { command, values, anvilArgv };
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
 * Bearer tokens of the mcp tongs (issue #6): a fresh one per session for session tongs; for a shared
 * tong, which outlives the session, its stored per-tong token (launcher/shell/shared-tokens.ts).
 */
async function mintMcpTokens(tongs: readonly MergedTong[]): Promise<Record<string, string>> {
  const [{ randomBytes }, { sharedTongToken }] = await Promise.all([import('node:crypto'), import('./shell/shared-tokens.js')]);
  const tokens: Record<string, string> = {};
  for (const t of tongs) {
    if (t.definition.interface?.kind !== 'mcp') continue;
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

/** `tongs run`: discover → validate → merge → refuse → temp dir and ids → plan → runSession. */
async function runCommand(cli: CommandLine): Promise<number> {
  const ctx = await launchContext(cli);
  // Passthrough: nothing discovered ⇒ no yaml/zod/planner/dockerode is even loaded.
  if (ctx.sources.length === 0) return passthrough(ctx, cli);
  const tongs = await loadTongsCached(ctx.sources);
  if (tongs.length === 0) return passthrough(ctx, cli);
  const { refuseLaunch, planLaunch } = await import('./core/plan.js');
  refuseLaunch({ tongs, harness: ctx.harness, anvilArgv: ctx.anvilArgv, workspace: ctx.workspace });
  const temp = await createSessionTemp();
  try {
    const plan = planLaunch({
      tongs,
      harness: ctx.harness,
      anvilArgv: ctx.anvilArgv,
      sessionId: await mintSessionId(),
      tempDir: temp.path,
      workspace: ctx.workspace,
      launcherPid: process.pid,
      launcherHost: os.hostname(),
      startedAt: new Date().toISOString(),
      mcpTokens: await mintMcpTokens(tongs),
    });
    // Workspace-tong approval (issue #6): after refusals, before any container exists.
    await approveWorkspaceLayer(ctx, cli, plan.tongs);
    return await startSession(plan, cli, temp.cleanup);
  } catch (error) {
    await temp.cleanup();
    throw error;
  }
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
async function startSession(plan: LaunchPlan, cli: CommandLine, cleanupTemp: () => Promise<void>): Promise<number> {
  const [{ runSession }, { createResolveSecrets }] = await Promise.all([
    import('./shell/session.js'),
    import('./shell/secret-providers.js'),
  ]);
  const resolveSecrets = createResolveSecrets(cli.values.providers !== undefined ? { providersPath: cli.values.providers } : {});
  return runSession(plan, { quiet: cli.values.quiet ?? false, cleanupTemp, resolveSecrets });
}

/** `tongs plan`: like run up to the plan, with a placeholder temp path and no bearer tokens; prints JSON. */
async function planCommand(cli: CommandLine): Promise<number> {
  const ctx = await launchContext(cli);
  const tongs = ctx.sources.length > 0 ? await loadTongs(ctx.sources) : [];
  const { planLaunch } = await import('./core/plan.js');
  const sessionId = await mintSessionId();
  const plan = planLaunch({
    tongs,
    harness: ctx.harness,
    anvilArgv: ctx.anvilArgv,
    sessionId,
    tempDir: path.join(os.tmpdir(), `tongs-${sessionId}`),
    workspace: ctx.workspace,
    launcherPid: process.pid,
    launcherHost: os.hostname(),
    startedAt: new Date().toISOString(),
    mcpTokens: null,
  });
  await writeStdout(`${JSON.stringify(plan, null, 2)}\n`);
  return 0;
}

/** `tongs validate`: every file problem, then alias collisions; a summary on stderr when all is well. */
async function validateCommand(cli: CommandLine): Promise<number> {
  const ctx = await launchContext(cli);
  const [{ validateDefinitions }, { mergeLayers }, { findAliasCollisions }] = await Promise.all([
    import('./core/validate.js'),
    import('./core/layers.js'),
    import('./core/aliases.js'),
  ]);
  const { tongs, problems } = validateDefinitions(ctx.sources);
  if (problems.length > 0) throw new DefinitionError(problems);
  const merged = mergeLayers(tongs);
  for (const line of merged.warnings) warn(line);
  const collisions = findAliasCollisions(merged.tongs);
  if (collisions.length > 0) throw new DefinitionError(collisions);
  if (!cli.values.quiet) {
    const active = merged.tongs.map((t) => `${t.name} (${t.layer})`).join(', ') || 'none';
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
  }
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

#!/usr/bin/env node
/**
 * The `tongs` command line (DESIGN.md "The launcher CLI", issue #2).
 *
 *   tongs run  [options] -- <anvil argv…>   launch tongs, then the anvil in the foreground
 *   tongs plan [options] -- <anvil argv…>   print the LaunchPlan as JSON; starts nothing, writes nothing
 *   tongs validate [layer options]          check every definition; print all problems
 *   tongs schema                            print the JSON Schema of a definition
 *   tongs ps [--json]                       sessions and tongs that still exist
 *   tongs gc [--shared]                     remove what dead sessions left behind
 *   tongs state ls|rm PROJECT|init DIR      the projects' private harness state (issue #10)
 *   tongs doctor [options] [--json] -- <anvil argv…>   the seal checks, from inside a real anvil (issue #11)
 *   tongs new NAME --from npm:PKG|pypi:PKG | --image IMAGE [-- ARGS…]   scaffold a stdio tong (issue #13)
 *
 * Start-up cost matters (issue #2 "Speed": ≤ 60 ms over the bare command), so only Node built-ins and
 * the small shell modules are imported statically; zod, yaml, the planner and dockerode are loaded
 * with `import()` on the paths that need them. The top-level catch at the bottom is the only place
 * that maps errors to exit codes and the only `process.exit`.
 */
import { parseArgs } from 'node:util';
import { CommandNotFoundError, DefinitionError, DockerError, TongsError, UsageError } from './errors.js';
import { doctorCommand, planCommand, runCommand, writeStdout } from './shell/launch.js';

const HELP = `Usage:
  tongs run  [options] -- <anvil argv…>   launch the tongs, then the anvil command in the foreground
  tongs plan [options] -- <anvil argv…>   print the launch plan as JSON (starts nothing, writes nothing;
                                          asks the engine only for the anvil image's gate label)
  tongs validate [layer options] [--providers PATH]
                                          check every tong definition and print all problems (an
                                          unknown secret provider included)
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
  tongs new NAME --from npm:PKG[@VERSION] [--bin BIN] [-- ARGS…]
  tongs new NAME --from pypi:PKG[==VERSION] [--bin SCRIPT] [-- ARGS…]
  tongs new NAME --image IMAGE -- SERVER ARGV…
                                          scaffold a stdio MCP server as a tong: NAME.yaml and NAME/
                                          (a Dockerfile with ARG BASE_IMAGE) in a layer, then validate
                                          it and print the next commands to try. npm: installed on the
                                          host, pinned by its lockfile, copied into the image (the build
                                          needs no network); pypi: the Dockerfile pip-installs it, so
                                          its build needs PyPI. ARGS follow the server's command

Everything after the first \`--\` is the anvil command, passed verbatim (normally \`docker run … IMAGE
[harness args…]\`). With no tong defined in any layer, \`tongs run\` just runs it.

Options:
  --harness claude|codex|gemini|opencode  harness in the anvil; needed when an mcp tong is defined
  --user-tongs DIR           user layer (default: $TONGS_HOME/tongs, TONGS_HOME default ~/.tongs)
  --org-tongs DIR            org layer (default: none)
  --repo-tongs DIR           repo layer (default: none)
  --workspace-tongs DIR      workspace layer (default: <workspace>/.tongs/tongs with --workspace)
  --workspace PATH           the project directory; the \`workspace\` mount word binds it
  --approvals PATH           approvals store for workspace tongs (default: $TONGS_HOME/approvals.json)
  --providers PATH           secret providers file (default: $TONGS_HOME/secret-providers.yaml):
                             providers: { NAME: [argv…] | { use: NAME, argv: […], env: {…} } };
                             \${secret:NAME:REF} names an entry
  --no-prompt                never ask; refuse what would need an approval
  --anvil-relay              the anvil image runs the tongs relay (tongs-anvil:local does): the anvil
                             gets no network interface and reaches only its tongs, through the relay
  --quiet                    no progress lines (run, validate, gc)
  --json                     ps, doctor: machine-readable output
  --shared                   gc: also remove shared tongs
  --from npm:PKG|pypi:PKG    new: where the stdio server comes from
  --image IMAGE              new: an image that already holds the server (its argv after --)
  --layer user|workspace|org|repo|DIR
                             new: where to write (default user: $TONGS_HOME/tongs); a DIR is used
                             as the user layer (--user-tongs DIR)
  --tag IMAGE                new: the image the definition names (default tongs-NAME:local)
  --bin NAME                 new: the package's bin (npm) or console script (pypi) to run
  -h, --help                 show this help

Layers merge by tong name, lowest to highest: user, org, repo, workspace.
With --workspace, run ends by listing the files the agent changed that git status does not show
(under .git, and ignored files where host tools read code or settings: .claude/, .envrc, .vscode/, …).
Exit status: 2 usage error, 1 refusal or launcher failure, 127 anvil command cannot be executed,
130 interrupted, otherwise the anvil's own status. Set DEBUG=tongs* to see causes of failures.
Session tongs whose ports differ share one network namespace (and localhost);
TONGS_SHARED_NETNS=0 gives each its own.
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
  from: { type: 'string' },
  image: { type: 'string' },
  layer: { type: 'string' },
  tag: { type: 'string' },
  bin: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
type OptionName = keyof typeof OPTIONS;

const COMMANDS = ['run', 'plan', 'validate', 'schema', 'ps', 'gc', 'state', 'doctor', 'new'] as const;
const STATE_ACTIONS = ['ls', 'rm', 'init'] as const;
type Command = (typeof COMMANDS)[number];

const LAYER_OPTIONS: OptionName[] = ['user-tongs', 'org-tongs', 'repo-tongs', 'workspace-tongs', 'workspace'];
/** Which options each command accepts (anything else is a usage error, so typos do not pass silently). */
const COMMAND_OPTIONS: Record<Command, ReadonlySet<OptionName>> = {
  run: new Set([...LAYER_OPTIONS, 'harness', 'approvals', 'providers', 'no-prompt', 'anvil-relay', 'quiet', 'help']),
  plan: new Set([...LAYER_OPTIONS, 'harness', 'approvals', 'providers', 'no-prompt', 'anvil-relay', 'quiet', 'help']),
  validate: new Set([...LAYER_OPTIONS, 'providers', 'quiet', 'help']),
  schema: new Set(['help']),
  ps: new Set(['json', 'help']),
  gc: new Set(['shared', 'quiet', 'help']),
  state: new Set(['json', 'harness', 'workspace', 'help']),
  doctor: new Set([...LAYER_OPTIONS, 'harness', 'approvals', 'providers', 'no-prompt', 'anvil-relay', 'quiet', 'json', 'help']),
  new: new Set([...LAYER_OPTIONS, 'from', 'image', 'layer', 'tag', 'bin', 'quiet', 'help']),
};

/** The parsed command line. */
export interface CommandLine {
  command: Command | 'help';
  values: { [K in OptionName]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean };
  /** Everything after the first `--`, verbatim; null when there was no `--`. */
  anvilArgv: string[] | null;
  /** `state`: the action and its operands (`rm PROJECT`, `init DIR`); `new`: `[NAME]`. */
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
  if (command === 'new') return parseNewCommand(values, extra, anvilArgv);
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

/**
 * `tongs new NAME (--from SPEC | --image IMAGE) [options] [-- ARGS…]`: one operand; everything after
 * `--` is the server's argv (with --image) or extra arguments to it (npm, pypi).
 */
function parseNewCommand(values: CommandLine['values'], operands: string[], anvilArgv: string[] | null): CommandLine {
  const usage = 'tongs new NAME --from npm:PKG|pypi:PKG | --image IMAGE [--layer user|workspace|DIR] [-- ARGS…]';
  for (const name of Object.keys(values) as OptionName[]) {
    if (!COMMAND_OPTIONS.new.has(name)) throw new UsageError(`tongs new does not take --${name}; usage: ${usage}`);
  }
  if (operands.length !== 1) throw new UsageError(operands.length === 0 ? `tongs new needs a NAME; usage: ${usage}` : `unexpected argument '${operands[1]}'; usage: ${usage}`);
  for (const name of ['from', 'image', 'layer', 'tag', 'bin'] as const) {
    if (values[name] === '') throw new UsageError(`--${name} needs a value; usage: ${usage}`);
  }
  return { command: 'new', values, anvilArgv, operands };
}

/** Run the parsed command; its exit status. The commands live in launcher/shell (launch.ts, commands/). */
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
    case 'doctor':
      return doctorCommand(cli);
    case 'validate':
      return (await import('./shell/commands/admin.js')).validateCommand(cli);
    case 'schema':
      return (await import('./shell/commands/admin.js')).schemaCommand();
    case 'state':
      return (await import('./shell/commands/admin.js')).stateCommand(cli);
    case 'new':
      return (await import('./shell/commands/new.js')).newCommand(cli);
    case 'ps': {
      const [{ psCommand }, { engineRuntime }] = await Promise.all([import('./shell/commands/ps-gc.js'), import('./shell/commands/admin.js')]);
      return psCommand({ json: cli.values.json ?? false, runtime: await engineRuntime() });
    }
    case 'gc': {
      const [{ gcCommand }, { engineRuntime }] = await Promise.all([import('./shell/commands/ps-gc.js'), import('./shell/commands/admin.js')]);
      return gcCommand({ shared: cli.values.shared ?? false, quiet: cli.values.quiet ?? false, runtime: await engineRuntime() });
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
// The one place a status becomes the process's exit (a promise chain, not top-level await, so the
// CommonJS bundle can hold this module too).
void main(args)
  .catch((error: unknown) => reportError(error, args))
  .then((status) => process.exit(status));

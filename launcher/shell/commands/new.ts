/**
 * `tongs new NAME` (issue #13 item 3): scaffold a stdio MCP server as a tong — a definition
 * `NAME.yaml` and a build context `NAME/` with a Dockerfile taking `ARG BASE_IMAGE` — into a layer,
 * then run `tongs validate` and print the next two commands to try.
 *
 *   tongs new NAME --from npm:PKG[@VERSION|@RANGE|@TAG] [--bin BIN] [-- ARGS…]
 *   tongs new NAME --from pypi:PKG[==VERSION] [--bin SCRIPT] [-- ARGS…]
 *   tongs new NAME --image IMAGE -- SERVER ARGV…
 *   options: --layer user|workspace|org|repo|DIR (default user), --tag IMAGE (default tongs-NAME:local),
 *            the layer options of `tongs validate`, --quiet
 *
 * npm: the package is installed on the host (`npm install --save-exact --omit=dev --ignore-scripts`,
 * so package-lock.json pins it) into the build context, which the image copies: the build needs no
 * network. PyPI is not installed here: the Dockerfile pip-installs it, so building needs PyPI.
 *
 * Nothing is half-written: the files are made in a hidden staging directory in the layer, validated
 * with every other layer's definitions (file problems, alias collisions), and only then moved into
 * place. An existing target, a bad NAME, a bad `--from` or `--image` are refused before anything is
 * written. The templates are pure (launcher/core/tong-scaffold.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import npa from 'npm-package-arg';
import type { CommandLine } from '../../cli.js';
import { DefinitionError, RefusalError, TongsError, UsageError } from '../../errors.js';
import { DNS_LABEL, DNS_LABEL_RULE } from '../../core/definition-schema.js';
import type { LayerName } from '../../core/plan-types.js';
import {
  defaultTongImage,
  isImageReference,
  npmContextPackageJson,
  parsePypiSpec,
  pickNpmBin,
  scaffoldTong,
  type ScaffoldSource,
} from '../../core/tong-scaffold.js';
import { discoverDefinitions, displayPathOf } from '../gather/discover.js';
import { stdioBridgeDir } from '../gather/stdio-bridge.js';
import { layerDirs, resolveWorkspace, warn, writeStdout } from '../launch.js';

/** What `--from` / `--image` asked for, before npm is asked anything. */
export type NewSource =
  | { kind: 'npm'; package: string; spec: string }
  | { kind: 'pypi'; package: string; version: string | null }
  | { kind: 'image'; image: string };

/** The forms `--from` accepts, for messages. */
const FROM_FORMS = 'npm:PKG[@VERSION], pypi:PKG[==VERSION]';

/**
 * Parse `--from` / `--image` (exactly one of them).
 * - `npm:SPEC`: npm's own parser (npm-package-arg); only registry specs (a version, range or tag) are
 *   taken: a git, file or URL spec is refused.
 * - `pypi:SPEC`: a PEP 508 name with an optional `==VERSION` (launcher/core/tong-scaffold.ts).
 * - `--image IMAGE`: a Docker image reference.
 * @throws UsageError naming the accepted forms.
 */
export function parseNewSource(from: string | undefined, image: string | undefined): NewSource {
  if ((from === undefined) === (image === undefined)) {
    throw new UsageError(`tongs new needs exactly one of --from ${FROM_FORMS} or --image IMAGE`);
  }
  if (image !== undefined) {
    if (!isImageReference(image)) throw new UsageError(`--image '${image}' is not a Docker image reference (e.g. my-server:1.0)`);
    return { kind: 'image', image };
  }
  const value = from!;
  const colon = value.indexOf(':');
  const scheme = colon < 0 ? '' : value.slice(0, colon);
  const spec = value.slice(colon + 1);
  if (scheme === 'npm') {
    let parsed: npa.Result;
    try {
      parsed = npa(spec);
    } catch (error) {
      throw new UsageError(`--from ${value}: ${(error as Error).message}`, { cause: error });
    }
    if (!parsed.registry || !parsed.name || !['version', 'range', 'tag'].includes(parsed.type)) {
      throw new UsageError(`--from ${value}: expected an npm registry package with an optional @VERSION, @RANGE or @TAG, not a ${parsed.type} spec`);
    }
    return { kind: 'npm', package: parsed.name, spec: parsed.rawSpec === '' || parsed.rawSpec === '*' ? 'latest' : parsed.rawSpec };
  }
  if (scheme === 'pypi') {
    const parsed = parsePypiSpec(spec);
    if ('error' in parsed) throw new UsageError(`--from ${value}: ${parsed.error}`);
    return { kind: 'pypi', ...parsed };
  }
  throw new UsageError(`--from '${value}' is not one of ${FROM_FORMS} (or use --image IMAGE)`);
}

/** Runs npm on the host: its exit status and its output (shown only when it fails). */
export type RunNpm = (args: readonly string[], cwd: string) => Promise<{ status: number | null; output: string }>;

const runNpm: RunNpm = (args, cwd) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output: Buffer.concat(chunks).toString('utf8') }));
  });

/** The layer directory `--layer` names, the layer it is validated as, and the option that selects it. */
interface TargetLayer {
  dir: string;
  layer: LayerName;
  /** Values for `tongs validate` / `tongs plan` with this layer in place. */
  values: CommandLine['values'];
  /** `tongs …` options and `make` variables that make a launch see this layer (beyond the defaults). */
  cliArgs: string[];
  makeArgs: string[];
}

async function targetLayer(values: CommandLine['values']): Promise<TargetLayer> {
  const layer = values.layer ?? 'user';
  if (layer === 'workspace') {
    const workspace = (await resolveWorkspace(values)) ?? process.cwd();
    const dir = values['workspace-tongs'] ?? path.join(workspace, '.tongs', 'tongs');
    return {
      dir: path.resolve(dir),
      layer: 'workspace',
      values: { ...values, workspace },
      cliArgs: ['--workspace', workspace],
      makeArgs: [`PROJECT_DIR=${workspace}`],
    };
  }
  const dirs = layerDirs(values, await resolveWorkspace(values));
  if (layer === 'user') return { dir: path.resolve(dirs.user!), layer: 'user', values, cliArgs: values['user-tongs'] ? ['--user-tongs', dirs.user!] : [], makeArgs: values['user-tongs'] ? [`USER_TONGS=${dirs.user!}`] : [] };
  if (layer === 'org' || layer === 'repo') {
    const dir = dirs[layer];
    if (!dir) throw new UsageError(`--layer ${layer} needs --${layer}-tongs DIR (the ${layer} layer has no default directory)`);
    const variable = layer === 'org' ? 'ORG_TONGS' : 'REPO_TONGS';
    return { dir: path.resolve(dir), layer, values, cliArgs: [`--${layer}-tongs`, dir], makeArgs: [`${variable}=${path.resolve(dir)}`] };
  }
  // Anything else is a directory, used as the user layer (`--user-tongs DIR`, `USER_TONGS=DIR`).
  if (!layer.includes('/') && !layer.startsWith('.')) {
    throw new UsageError(`--layer '${layer}' is not user, workspace, org or repo; for a directory, write a path (./${layer})`);
  }
  const dir = path.resolve(layer);
  return { dir, layer: 'user', values: { ...values, 'user-tongs': dir }, cliArgs: ['--user-tongs', dir], makeArgs: [`USER_TONGS=${dir}`] };
}

/** `word` as one sh word (for the printed commands). */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface NewCommandDeps {
  /** Runs npm; default: the host's `npm`. */
  runNpm?: RunNpm;
}

/**
 * `tongs new NAME …`: see the module comment. Stdout lists the files written (one path a line);
 * stderr gets progress, `tongs validate`'s summary and the next two commands.
 * @throws UsageError (bad NAME, `--from`, `--image`, `--tag`, `--layer`), RefusalError (a target that
 *   exists, npm failing, a package with no bin), DefinitionError (the result would not validate).
 */
export async function newCommand(cli: CommandLine, deps: NewCommandDeps = {}): Promise<number> {
  const [name] = cli.operands;
  const values = cli.values;
  const quiet = values.quiet ?? false;
  if (!name || !DNS_LABEL.test(name)) {
    throw new UsageError(`tong name '${name ?? ''}' is not ${DNS_LABEL_RULE}`);
  }
  const source = parseNewSource(values.from, values.image);
  const image = values.tag ?? defaultTongImage(name);
  if (!isImageReference(image)) throw new UsageError(`--tag '${image}' is not a Docker image reference`);
  if (values.bin !== undefined && source.kind === 'image') throw new UsageError('--bin is for --from npm: and pypi:; with --image, give the argv after --');
  const args = cli.anvilArgv ?? [];
  if (source.kind === 'image' && args.length === 0) {
    throw new UsageError(`tongs new --image needs the server's argv in the image after --, e.g. tongs new ${name} --image ${source.image} -- node /srv/server.js`);
  }
  const target = await targetLayer(values);
  const cwd = process.cwd();
  const show = (file: string) => displayPathOf(file, cwd);
  for (const existing of [`${name}.yaml`, `${name}.yml`, name].map((f) => path.join(target.dir, f))) {
    if (existsSync(existing)) throw new RefusalError(`${show(existing)} already exists; remove it or choose another name (nothing was written)`);
  }

  await mkdir(target.dir, { recursive: true });
  // Hidden, and a directory: discovery reads only the layer's *.yaml files, so a staging dir left by
  // a killed run is never taken for a definition.
  const staging = await mkdtemp(path.join(target.dir, `.tongs-new-${name}-`));
  try {
    const context = path.join(staging, name);
    await mkdir(context);
    const resolved = source.kind === 'npm' ? await installNpm(source, name, context, values.bin, deps.runNpm ?? runNpm, quiet) : scaffoldSource(source, values.bin);
    const scaffold = scaffoldTong({ name, source: resolved, image, args });
    for (const file of scaffold.files) await writeFile(path.join(staging, file.path), file.content);

    // Validate the result among every other definition before anything is in place.
    const definitionFile = path.join(target.dir, scaffold.definitionPath);
    const [{ validateDefinitions }, { mergeLayers }, { findAliasCollisions }] = await Promise.all([
      import('../../core/validate.js'),
      import('../../core/layers.js'),
      import('../../core/aliases.js'),
    ]);
    const others = await discoverDefinitions(layerDirs(target.values, await resolveWorkspace(target.values)));
    const mine = { layer: target.layer, name, file: definitionFile, displayPath: show(definitionFile), source: scaffold.files[0]!.content };
    const checked = validateDefinitions([...others, mine]);
    const problems = checked.problems.filter((p) => p.startsWith(`${mine.displayPath}:`));
    if (problems.length > 0) throw new DefinitionError(problems);
    // Only the collisions the new tong brings (others are reported by the validate run below).
    const before = new Set(findAliasCollisions(mergeLayers(checked.tongs.filter((t) => t.file !== definitionFile)).tongs));
    const collisions = findAliasCollisions(mergeLayers(checked.tongs).tongs).filter((c) => !before.has(c));
    if (collisions.length > 0) throw new DefinitionError(collisions);

    // In place: the context first, then the definition (which discovery sees); undo the first if the second fails.
    const contextTarget = path.join(target.dir, scaffold.contextDir);
    await rename(context, contextTarget);
    try {
      await rename(path.join(staging, scaffold.definitionPath), definitionFile);
    } catch (error) {
      await rm(contextTarget, { recursive: true, force: true });
      throw error;
    }
    const written = [definitionFile, ...scaffold.files.slice(1).map((f) => path.join(target.dir, f.path))];
    if (resolved.kind === 'npm') written.push(path.join(contextTarget, 'package.json'), path.join(contextTarget, 'package-lock.json'), path.join(contextTarget, 'node_modules'));
    await writeStdout(written.map((f) => `${show(f)}\n`).join(''));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }

  // `tongs validate` on the result, with the same layers.
  const { validateCommand } = await import('./admin.js');
  await validateCommand({ command: 'validate', values: pickLayerValues(target.values, quiet), anvilArgv: null, operands: [] });
  printNext(name, target, source, image);
  return 0;
}

function pickLayerValues(values: CommandLine['values'], quiet: boolean): CommandLine['values'] {
  const out: CommandLine['values'] = { quiet };
  for (const key of ['user-tongs', 'org-tongs', 'repo-tongs', 'workspace-tongs', 'workspace'] as const) {
    if (values[key] !== undefined) out[key] = values[key];
  }
  return out;
}

function scaffoldSource(source: Exclude<NewSource, { kind: 'npm' }>, bin: string | undefined): ScaffoldSource {
  if (source.kind === 'image') return source;
  return { kind: 'pypi', package: source.package, version: source.version, script: bin ?? source.package };
}

/**
 * Install `PKG@SPEC` into the build context on the host (npm writes the exact version into
 * package.json and package-lock.json), then read which version it got and its bin.
 * @throws RefusalError when npm fails (its last lines quoted) or the package has no usable bin.
 */
async function installNpm(
  source: Extract<NewSource, { kind: 'npm' }>,
  name: string,
  context: string,
  bin: string | undefined,
  run: RunNpm,
  quiet: boolean,
): Promise<ScaffoldSource> {
  await writeFile(path.join(context, 'package.json'), npmContextPackageJson(name));
  const spec = `${source.package}@${source.spec}`;
  if (!quiet) warn(`installing ${spec} from npm on the host (the image build then needs no network)`);
  let result;
  try {
    result = await run(['install', '--save-exact', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', spec], context);
  } catch (error) {
    throw new RefusalError(`cannot run npm to install ${spec}: ${(error as Error).message} (nothing was written)`, { cause: error });
  }
  if (result.status !== 0) {
    const tail = result.output.trim().split('\n').slice(-6).join('\n  ');
    throw new RefusalError(`npm could not install ${spec} (exit ${result.status}; nothing was written):\n  ${tail}`);
  }
  let pkg: { name: string; version: string; bin?: unknown };
  try {
    pkg = JSON.parse(await readFile(path.join(context, 'node_modules', source.package, 'package.json'), 'utf8')) as typeof pkg;
  } catch (error) {
    throw new TongsError(`npm installed ${spec} but its package.json cannot be read: ${(error as Error).message}`, { cause: error });
  }
  const picked = pickNpmBin(pkg, bin);
  if ('error' in picked) throw new RefusalError(`${picked.error} (nothing was written)`);
  return { kind: 'npm', package: source.package, version: pkg.version, bin: picked.bin };
}

/** The next two commands to try, on stderr: see the wiring, then run it in Claude Code. */
function printNext(name: string, target: TargetLayer, source: NewSource, image: string): void {
  const root = path.dirname(path.dirname(stdioBridgeDir()));
  const makefile = path.join(root, 'Makefile');
  const plan = ['tongs', 'plan', '--harness', 'claude', ...target.cliArgs, '--', 'docker', 'run', '--rm', 'tongs-anvil:local', 'claude'];
  const make = ['make', ...(existsSync(makefile) ? ['-f', makefile] : []), 'run_claude', ...target.makeArgs, 'CLAUDE_ARGS=mcp list'];
  const lines = [
    `the tong '${name}' is ready; its image ${image} is built from ${displayPathOf(path.join(target.dir, name), process.cwd())}/ on first use.`,
    ...(source.kind === 'pypi' ? ['building it needs PyPI and a Python base image (see its Dockerfile): build it where they are reachable, or point BASE_IMAGE and PIP_INDEX_URL at ones you have.'] : []),
    ...(target.layer === 'workspace' ? ['it is in the workspace layer, so the first launch asks you to approve it.'] : []),
    'next, see how it is wired, then list it in Claude Code:',
    `  ${plan.map(shellWord).join(' ')}`,
    `  ${make.map(shellWord).join(' ')}`,
  ];
  for (const line of lines) warn(line);
}

/**
 * The commands outside a launch (DESIGN.md "The launcher CLI"): `tongs validate`, `tongs schema`,
 * `tongs state`, and the engine that `tongs ps` and `tongs gc` use.
 */
import os from 'node:os';
import path from 'node:path';
import type { CommandLine } from '../../cli.js';
import { DefinitionError } from '../../errors.js';
import type { MergedTong } from '../../core/layers.js';
import { launchContext, resolveWorkspace, tongsHome, warn, writeStdout } from '../launch.js';

/** `tongs validate`: every file problem, then alias collisions; a summary on stderr when all is well. */
export async function validateCommand(cli: CommandLine): Promise<number> {
  const ctx = await launchContext(cli);
  const [{ validateDefinitions }, { mergeLayers }, { findAliasCollisions }, { findModelDialectConflicts }] = await Promise.all([
    import('../../core/validate.js'),
    import('../../core/layers.js'),
    import('../../core/aliases.js'),
    import('../../core/model-dialects.js'),
  ]);
  const { tongs, problems } = validateDefinitions(ctx.sources);
  if (problems.length > 0) throw new DefinitionError(problems);
  const merged = mergeLayers(tongs);
  for (const line of merged.warnings) warn(line);
  const collisions = [...findAliasCollisions(merged.tongs), ...findModelDialectConflicts(merged.tongs)];
  if (collisions.length > 0) throw new DefinitionError(collisions);
  const unknown = await unknownSecretProviders(merged.tongs, cli.values.providers);
  if (unknown.length > 0) throw new DefinitionError(unknown);
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

/**
 * References to secret providers that are neither built in nor entries of the providers file
 * (`--providers PATH`, default `$TONGS_HOME/secret-providers.yaml`), as `<file>:<line>: env.NAME: …`
 * lines (issue #13 item 4). The file is read only when some reference names a provider other than `env`.
 */
async function unknownSecretProviders(tongs: readonly MergedTong[], providersPath: string | undefined): Promise<string[]> {
  const [{ hasSecretRef, listSecretRefs, ENV_PROVIDER }, providers, { unknownProviderProblems }] = await Promise.all([
    import('../../core/secret-refs.js'),
    import('../gather/secret-providers.js'),
    import('../gather/secret-ref-location.js'),
  ]);
  const withRefs = tongs.map((t) => ({
    name: t.name,
    file: t.file,
    secretEnv: Object.fromEntries(Object.entries(t.definition.env ?? {}).map(([k, v]) => [k, String(v)]).filter(([, v]) => hasSecretRef(v!))) as Record<string, string>,
  }));
  const needsFile = withRefs.some((t) => listSecretRefs(t.secretEnv, `tong '${t.name}'`).some((r) => r.provider !== ENV_PROVIDER));
  if (!needsFile) return [];
  const { loadProviders } = await import('../gather/secret-providers-file.js');
  const table = await loadProviders(providersPath ?? providers.defaultProvidersPath(), providersPath !== undefined);
  return unknownProviderProblems(withRefs, providers.createSecretResolver({ providers: table }));
}

export async function schemaCommand(): Promise<number> {
  const { tongDefinitionJsonSchema } = await import('../../core/definition-schema.js');
  await writeStdout(`${JSON.stringify(tongDefinitionJsonSchema(), null, 2)}\n`);
  return 0;
}

/**
 * The runtime of the engine a command outside a launch uses (`ps`, `gc`): resolved as the docker CLI
 * would (launcher/shell/engine/engine.ts); `DEBUG=tongs` says which engine and why. `run` resolves in
 * runSession, with the anvil argv's own `-H`/`--context` taken into account.
 */
export async function engineRuntime() {
  const [{ createDockerRuntime }, { createProgress }] = await Promise.all([
    import('../engine/docker-runtime.js'),
    import('../progress.js'),
  ]);
  const progress = createProgress({ quiet: true });
  return createDockerRuntime({ debug: (line) => progress.debug(line) });
}

/** `tongs state ls|rm|init` (issue #10 item 1): the private harness state under `$TONGS_HOME/state`. */
export async function stateCommand(cli: CommandLine): Promise<number> {
  const state = await import('../commands/harness-state.js');
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

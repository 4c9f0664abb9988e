/**
 * The Codex CLI and Gemini CLI emitters (issue #14 item 1; DESIGN.md "Harnesses"): golden files of
 * what each returns, the plan that carries it (bearers only in files, never in an argv or `-e`
 * value), the unknown-harness refusal, and the anvil's removal of a same-named Codex entry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'smol-toml';
import { dropMcpServers } from '../../anvil/src/codex-config.js';
import { RefusalError } from '../../launcher/errors.js';
import { getEmitter, type McpServerEntry } from '../../launcher/core/emitters/index.js';
import type { MergedTong } from '../../launcher/core/layers.js';
import { planLaunch, type PlanInput } from '../../launcher/core/plan.js';
import { REPO_ROOT } from '../support/process.js';
import { assertGolden, mergedTongs } from '../support/plan-builder.js';



const tongs = mergedTongs;

const SERVERS: McpServerEntry[] = [
  { name: 'github', url: 'http://github:8080/mcp', bearerToken: 'dG9rZW4tZm9yLWdpdGh1Yg' },
  { name: 'notes', url: 'http://notes:3000/rpc', bearerToken: null },
];
const GITHUB = 'image: tongs-github:local\ninterface: {kind: mcp, port: 8080, name: github}\n';
const BEARER = 'bearer-github-0123456789';

function input(overrides: Partial<PlanInput>): PlanInput {
  return {
    tongs: tongs(['repo', 'github', GITHUB]),
    harness: 'codex',
    anvilArgv: ['docker', 'run', '--rm', 'tongs-anvil:local', 'codex', 'mcp', 'list'],
    sessionId: '0123456789ab',
    tempDir: '/tmp/tongs-x',
    workspace: '/home/me/project',
    launcherPid: 4242,
    launcherHost: 'devbox',
    startedAt: '2026-01-02T03:04:05.000Z',
    mcpTokens: { github: BEARER },
    ...overrides,
  };
}

test('golden: codex emitter', async () => {
  const emission = getEmitter('codex')!.emit({ servers: SERVERS, models: [] });
  await assertGolden('emitter-codex.json', `${JSON.stringify(emission, null, 2)}\n`);
  // Each -c value is TOML that Codex parses: a basic string.
  for (const [i, a] of emission.harnessArgs.entries()) {
    if (emission.harnessArgs[i - 1] !== '-c') continue;
    const [key, value] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
    assert.match(key, /^mcp_servers\.[a-z]+\.(url|bearer_token_env_var)$/);
    assert.equal(typeof parse(`v = ${value}`).v, 'string', a);
  }
  assert.ok(!emission.harnessArgs.join(' ').includes('dG9rZW4'), 'the bearer is in no argument');
  assert.ok(!emission.anvil.some((o) => 'env' in o && o.value.includes('dG9rZW4')), 'the bearer is in no -e value');
});

test('golden: gemini emitter', async () => {
  const emission = getEmitter('gemini')!.emit({ servers: SERVERS, models: [] });
  await assertGolden('emitter-gemini.json', `${JSON.stringify(emission, null, 2)}\n`);
  assert.deepEqual(emission.harnessArgs, []);
  assert.equal(emission.files[0]?.mode, 0o600);
});

test('codex plan: -c overrides at the end of the argv, the bearer in a read-only file named by its variable', () => {
  const plan = planLaunch(input({}));
  assert.deepEqual(plan.anvilArgv.slice(-6), [
    'mcp', 'list',
    '-c', 'mcp_servers.github.url="http://github:8080/mcp"',
    '-c', 'mcp_servers.github.bearer_token_env_var="TONGS_MCP_BEARER_GITHUB"',
  ]);
  assert.deepEqual(plan.files, [{ hostPath: '/tmp/tongs-x/env/TONGS_MCP_BEARER_GITHUB', containerPath: '/run/tongs/env/TONGS_MCP_BEARER_GITHUB', content: BEARER, mode: 0o600 }]);
  assert.ok(plan.anvilArgv.includes('/tmp/tongs-x/env/TONGS_MCP_BEARER_GITHUB:/run/tongs/env/TONGS_MCP_BEARER_GITHUB:ro'));
  assert.ok(plan.anvilArgv.includes('TONGS_CODEX_MCP=github'));
  assert.ok(!plan.anvilArgv.some((a) => a.includes(BEARER)), 'the bearer is in no argv');
  assert.deepEqual(plan.mcpConfig, { mcp_servers: { github: { url: 'http://github:8080/mcp', bearer_token_env_var: 'TONGS_MCP_BEARER_GITHUB' } } });
  // Options go right after `run`, the harness's own arguments stay where they were.
  assert.deepEqual(plan.anvilArgv.slice(0, 2), ['docker', 'run']);
  const image = plan.anvilArgv.indexOf('tongs-anvil:local');
  assert.deepEqual(plan.anvilArgv.slice(image, image + 4), ['tongs-anvil:local', 'codex', 'mcp', 'list']);
  // No argument is appended for `tongs doctor`.
  assert.deepEqual(planLaunch(input({ appendHarnessArgs: false })).anvilArgv.slice(-3), ['codex', 'mcp', 'list']);
});

test('gemini plan: a system settings file with the bearer, named by GEMINI_CLI_SYSTEM_SETTINGS_PATH', () => {
  const plan = planLaunch(input({ harness: 'gemini', anvilArgv: ['docker', 'run', '--rm', 'tongs-anvil:local', 'gemini', 'mcp', 'list'] }));
  assert.deepEqual(plan.anvilArgv.slice(-3), ['gemini', 'mcp', 'list'], 'no harness argument');
  assert.equal(plan.files.length, 1);
  const [file] = plan.files;
  assert.equal(file!.hostPath, '/tmp/tongs-x/gemini/settings.json');
  assert.equal(file!.containerPath, '/run/tongs/gemini/settings.json');
  assert.equal(file!.mode, 0o600);
  assert.deepEqual(JSON.parse(file!.content), { mcpServers: { github: { httpUrl: 'http://github:8080/mcp', headers: { Authorization: `Bearer ${BEARER}` } } } });
  assert.ok(plan.anvilArgv.includes('/tmp/tongs-x/gemini/settings.json:/run/tongs/gemini/settings.json:ro'));
  assert.ok(plan.anvilArgv.includes('GEMINI_CLI_SYSTEM_SETTINGS_PATH=/run/tongs/gemini/settings.json'));
  assert.ok(!plan.anvilArgv.some((a) => a.includes(BEARER)), 'the bearer is in no argv');
});

test('--harness with an unknown name lists the supported harnesses, whatever the tongs', () => {
  const refused = (overrides: Partial<PlanInput>, pattern: RegExp) =>
    assert.throws(() => planLaunch(input(overrides)), (e: unknown) => e instanceof RefusalError && pattern.test(e.message));
  const port = tongs(['repo', 'db', 'image: postgres:16\ninterface: {kind: port, port: 5432}\n']);
  refused({ harness: 'cursor', tongs: port }, /^unknown harness 'cursor'; supported harnesses: claude, codex, gemini, opencode$/);
  refused({ harness: 'cursor' }, /^unknown harness 'cursor': mcp tong 'github' needs one of the supported harnesses: claude, codex, gemini, opencode$/);
  // No harness and no mcp tong: nothing needs one.
  assert.equal(planLaunch(input({ harness: null, tongs: port })).harness, null);
  // Passthrough (no tong): the argv runs unchanged, whatever --harness says.
  assert.deepEqual(planLaunch(input({ harness: 'cursor', tongs: [] })).anvilArgv, input({}).anvilArgv);
});

const shipped = (name: string) => readFile(path.join(REPO_ROOT, 'sidecars', `${name}.yaml`), 'utf8');
const ALL_KEYS = ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GEMINI_API_KEY'];
const MODEL_TOKENS = { 'model-api': 'bearer-anthropic', 'model-openai': 'bearer-openai', 'model-google': 'bearer-google', github: BEARER };

async function shippedModels(): Promise<MergedTong[]> {
  return tongs(['repo', 'model-api', await shipped('model-api')], ['repo', 'model-openai', await shipped('model-openai')], ['repo', 'model-google', await shipped('model-google')], ['repo', 'github', GITHUB]);
}

/** The parts of a plan a model tong changes, as pinned JSON. */
function wiring(plan: ReturnType<typeof planLaunch>): string {
  const { models, skipped, warnings, mcpConfig, files, anvilArgv } = plan;
  return `${JSON.stringify({ tongs: plan.tongs.map((t) => [t.name, t.kind, t.dialect]), models, skipped, warnings, mcpConfig, files, anvilArgv }, null, 2)}\n`;
}

test('golden: codex with the shipped model tongs: only the openai one starts, and Codex\'s model provider is the tong', async () => {
  const plan = planLaunch(input({ tongs: await shippedModels(), hostEnv: ALL_KEYS, mcpTokens: MODEL_TOKENS }));
  await assertGolden('plan-model-codex.json', wiring(plan));
  assert.deepEqual(plan.tongs.map((t) => t.name), ['github', 'model-openai'], 'the anthropic and google tongs serve other harnesses');
  assert.deepEqual(plan.skipped, [], 'and are not listed as skipped');
  assert.deepEqual(plan.models.map((m) => [m.dialect, m.tong, m.tokenPath]), [['openai', 'model-openai', '/run/tongs/openai-model-token']]);
  const tail = plan.anvilArgv.slice(plan.anvilArgv.indexOf('list') + 1);
  assert.ok(tail.includes('model_provider="tongs"') && tail.includes('model_providers.tongs.base_url="http://model-openai:8080/v1"'), tail.join(' '));
  assert.ok(tail.includes('model_providers.tongs.env_key="OPENAI_API_KEY"'));
  assert.ok(plan.anvilArgv.includes('/tmp/tongs-x/openai-model-token:/run/tongs/openai-model-token:ro'));
  assert.ok(!plan.anvilArgv.some((a) => /bearer-/.test(a)), 'no bearer in the argv');
  const tong = plan.tongs.find((t) => t.name === 'model-openai');
  assert.equal(tong?.env.TONG_DIALECT, 'openai');
  assert.equal(tong?.secretEnv.OPENAI_API_KEY, '${secret:env:OPENAI_API_KEY?}');
});

test('golden: gemini with the shipped model tongs: only the google one starts, through GOOGLE_GEMINI_BASE_URL and an API-key login', async () => {
  const plan = planLaunch(input({ harness: 'gemini', anvilArgv: ['docker', 'run', '--rm', 'tongs-anvil:local', 'gemini'], tongs: await shippedModels(), hostEnv: ALL_KEYS, mcpTokens: MODEL_TOKENS }));
  await assertGolden('plan-model-gemini.json', wiring(plan));
  assert.deepEqual(plan.tongs.map((t) => t.name), ['github', 'model-google']);
  const settings = JSON.parse(plan.files.find((f) => f.containerPath === '/run/tongs/gemini/settings.json')!.content) as Record<string, unknown>;
  assert.deepEqual(settings.security, { auth: { selectedType: 'gemini-api-key' } });
  assert.ok(plan.anvilArgv.includes('GOOGLE_GEMINI_BASE_URL=http://model-google:8080'));
  assert.ok(!plan.anvilArgv.some((a) => /bearer-/.test(a)), 'no bearer in the argv');
  assert.ok(!plan.files.find((f) => f.containerPath.endsWith('settings.json'))!.content.includes('bearer-google'), 'the model bearer is only in its token file');
  // A model tong alone: the settings file still carries the login choice; no mcpConfig.
  const alone = planLaunch(input({ harness: 'gemini', anvilArgv: ['docker', 'run', 'tongs-anvil:local', 'gemini'], tongs: tongs(['repo', 'model-google', await shipped('model-google')]), hostEnv: ['GEMINI_API_KEY'], mcpTokens: MODEL_TOKENS }));
  assert.equal(alone.mcpConfig, null);
  assert.deepEqual(JSON.parse(alone.files[0]!.content), { security: { auth: { selectedType: 'gemini-api-key' } } });
});

test('claude with every shipped model tong and every key: only the anthropic one starts, the others are not mentioned', async () => {
  const plan = planLaunch(input({ harness: 'claude', anvilArgv: ['docker', 'run', 'tongs-anvil:local', 'claude'], tongs: await shippedModels(), hostEnv: ALL_KEYS, mcpTokens: MODEL_TOKENS }));
  assert.deepEqual(plan.tongs.map((t) => t.name), ['github', 'model-api']);
  assert.deepEqual(plan.skipped, []);
  // Without the google key, gemini skips its tong by when.env and says so.
  const noKey = planLaunch(input({ harness: 'gemini', anvilArgv: ['docker', 'run', 'tongs-anvil:local', 'gemini'], tongs: await shippedModels(), hostEnv: ['ANTHROPIC_API_KEY'], mcpTokens: MODEL_TOKENS }));
  assert.deepEqual(noKey.skipped.map((x) => x.name), ['model-google']);
});

test('tongs-codex-config: a same-named mcp_servers entry goes whole, subtables included; the rest stays', () => {
  const text = `model = "o3"
# mine
[mcp_servers.github]
command = "evil"
args = ["x"]
[mcp_servers.github.env]
TOKEN = "t"
[mcp_servers.other]
url = "http://other/mcp"
`;
  const { text: out, removed } = dropMcpServers(text, ['github', 'notes']);
  assert.deepEqual(removed, ['github']);
  assert.deepEqual(JSON.parse(JSON.stringify(parse(out))), { model: 'o3', mcp_servers: { other: { url: 'http://other/mcp' } } });
  const same = dropMcpServers(text, ['notes']);
  assert.equal(same.text, text, 'nothing to remove: the file is left byte for byte');
  assert.deepEqual(same.removed, []);
  assert.deepEqual(dropMcpServers('model = "o3"\n', ['github']).removed, []);
  assert.throws(() => dropMcpServers('[broken', ['github']));
});

test('tongs-codex-config CLI: rewrites the anvil\'s config, --check only reports, a missing file is nothing', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tongs-codex-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config.toml');
  const text = '[mcp_servers.github]\ncommand = "x"\n[mcp_servers.keep]\ncommand = "y"\n';
  await writeFile(file, text);
  const run = (...args: string[]) => spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist/anvil/src/codex-config.js'), ...args], { encoding: 'utf8' });
  const check = run('--check', file, 'github', 'notes');
  assert.deepEqual([check.status, check.stdout], [0, 'github']);
  assert.equal(await readFile(file, 'utf8'), text, '--check writes nothing');
  const drop = run(file, 'github', 'notes');
  assert.deepEqual([drop.status, drop.stdout], [0, 'github']);
  assert.deepEqual(Object.keys(parse(await readFile(file, 'utf8')).mcp_servers as object), ['keep']);
  assert.deepEqual([run(path.join(dir, 'missing.toml'), 'github').status, run(path.join(dir, 'missing.toml'), 'github').stdout], [0, '']);
  await writeFile(file, '[broken');
  assert.equal(run(file, 'github').status, 1);
  assert.equal(run().status, 2);
});

/**
 * Model tongs in the pure core (issue #11 item 1; DESIGN.md "The seal" rule 4): the plan and the
 * emitters for both harnesses (golden files), `when.env` skipping, the one-model-tong-per-dialect
 * refusal, the harness checks and the warning about an anvil argv that passes the key itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { RefusalError } from '../../launcher/errors.js';
import { getEmitter } from '../../launcher/core/emitters/index.js';
import { launchSummary } from '../../launcher/core/launch-summary.js';
import { MODEL_DIALECT_NAMES, modelTokenContainerPath } from '../../launcher/core/model-dialects.js';
import { planLaunch, refuseLaunch, type PlanInput } from '../../launcher/core/plan.js';
import { setEnvNames } from '../../launcher/core/when.js';
import { REPO_ROOT } from '../support/process.js';
import { assertGolden, mergedTongs } from '../support/plan-builder.js';



const tongs = mergedTongs;

/** The shipped definition, read from the repo layer, so the tests pin what users get. */
async function shippedModelApi(): Promise<string> {
  return readFile(path.join(REPO_ROOT, 'sidecars', 'model-api.yaml'), 'utf8');
}

const GITHUB = 'image: tongs-github:local\ninterface: {kind: mcp, port: 8080, name: github}\n';
const KEY_SET = ['ANTHROPIC_API_KEY', 'HOME'];

function input(overrides: Partial<PlanInput>): PlanInput {
  return {
    tongs: [],
    harness: 'claude',
    anvilArgv: ['docker', 'run', '--rm', '-it', 'tongs-anvil:local', 'claude'],
    sessionId: '0123456789ab',
    tempDir: '/tmp/tongs-x',
    workspace: '/home/me/project',
    launcherPid: 4242,
    launcherHost: 'devbox',
    startedAt: '2026-01-02T03:04:05.000Z',
    mcpTokens: { 'model-api': 'bearer-model', github: 'bearer-github' },
    hostEnv: KEY_SET,
    ...overrides,
  };
}

/** The parts of a plan a model tong changes, as pinned JSON. */
function wiring(plan: ReturnType<typeof planLaunch>): string {
  const { models, skipped, warnings, mcpConfig, files, anvilArgv } = plan;
  const tong = plan.tongs.find((t) => t.kind === 'model');
  const summary = tong && { name: tong.name, kind: tong.kind, dialect: tong.dialect, alias: tong.alias, port: tong.port, url: tong.url, env: tong.env, secretEnv: tong.secretEnv, readiness: tong.readiness };
  return `${JSON.stringify({ tong: summary, models, skipped, warnings, mcpConfig, files, anvilArgv }, null, 2)}\n`;
}

test('golden: claude with the shipped model tong and an mcp tong', async () => {
  const plan = planLaunch(input({ tongs: tongs(['repo', 'model-api', await shippedModelApi()], ['repo', 'github', GITHUB]) }));
  await assertGolden('plan-model-claude.json', wiring(plan));
  // What the harness sees: the base URL as a -e option, the bearer only in a read-only file.
  assert.ok(plan.anvilArgv.includes('ANTHROPIC_BASE_URL=http://model-api:8080'));
  assert.ok(plan.anvilArgv.includes(`/tmp/tongs-x/anthropic-model-token:${modelTokenContainerPath('anthropic')}:ro`));
  assert.ok(!plan.anvilArgv.some((a) => a.includes('bearer-model')), 'the bearer is in no argv');
  assert.deepEqual(plan.anvilArgv.slice(-2), ['--mcp-config', '/run/tongs/mcp.json']);
  assert.deepEqual(plan.tongs.find((t) => t.name === 'model-api')?.secretEnv.TONGS_MODEL_TOKEN, 'bearer-model');
});

test('golden: opencode with the shipped model tong and an mcp tong', async () => {
  const plan = planLaunch(input({ harness: 'opencode', tongs: tongs(['repo', 'model-api', await shippedModelApi()], ['repo', 'github', GITHUB]) }));
  await assertGolden('plan-model-opencode.json', wiring(plan));
  const fragment = JSON.parse(plan.files.find((f) => f.containerPath === '/run/tongs/mcp.json')!.content) as Record<string, unknown>;
  assert.deepEqual(fragment.provider, { anthropic: { options: { baseURL: 'http://model-api:8080/v1', apiKey: '{env:ANTHROPIC_AUTH_TOKEN}' } } });
  assert.ok(!JSON.stringify(fragment).includes('bearer-model'), 'the fragment holds no bearer of the model tong');
  assert.ok(!plan.anvilArgv.some((a) => a.startsWith('ANTHROPIC_BASE_URL')), 'OpenCode reads the base URL from its config');
});

test('opencode with only a model tong: the fragment carries the provider, mcpConfig stays null', async () => {
  const plan = planLaunch(input({ harness: 'opencode', tongs: tongs(['repo', 'model-api', await shippedModelApi()]) }));
  assert.equal(plan.mcpConfig, null, 'DESIGN.md: mcpConfig is null when no mcp tong is present');
  assert.deepEqual(plan.files.map((f) => f.containerPath), ['/run/tongs/mcp.json', '/run/tongs/anthropic-model-token']);
  assert.deepEqual(JSON.parse(plan.files[0]!.content), {
    provider: { anthropic: { options: { baseURL: 'http://model-api:8080/v1', apiKey: '{env:ANTHROPIC_AUTH_TOKEN}' } } },
  });
  assert.ok(plan.anvilArgv.includes('TONGS_MCP_FILE=/run/tongs/mcp.json'));
});

test('claude with only a model tong: no MCP config file and no --mcp-config', async () => {
  const plan = planLaunch(input({ tongs: tongs(['repo', 'model-api', await shippedModelApi()]) }));
  assert.equal(plan.mcpConfig, null);
  assert.deepEqual(plan.files, [{ hostPath: '/tmp/tongs-x/anthropic-model-token', containerPath: '/run/tongs/anthropic-model-token', content: 'bearer-model', mode: 0o600 }]);
  assert.deepEqual(plan.anvilArgv, [
    'docker', 'run',
    '--network', 'tongs-tongs-01234567',
    '--label', 'dev.tongs.session=0123456789ab',
    '--label', 'dev.tongs.role=anvil',
    '-v', '/tmp/tongs-x/anthropic-model-token:/run/tongs/anthropic-model-token:ro',
    '-e', 'ANTHROPIC_BASE_URL=http://model-api:8080',
    '--rm', '-it', 'tongs-anvil:local', 'claude',
  ]);
  assert.deepEqual(plan.models, [{ dialect: 'anthropic', tong: 'model-api', baseUrl: 'http://model-api:8080', tokenPath: '/run/tongs/anthropic-model-token' }]);
  assert.deepEqual(launchSummary(plan).info, [
    "model: the harness reaches the Anthropic Messages API through the model tong 'model-api' (http://model-api:8080); the key stays in the tong",
  ]);
});

test('an extra alias and a custom port change the base URL; the canonical alias is the tong name', () => {
  const plan = planLaunch(input({ tongs: tongs(['user', 'gateway', 'image: g\ninterface: {kind: model, dialect: anthropic, port: 9000, aliases: [claude-api]}\n']) }));
  const t = plan.tongs[0]!;
  assert.equal(t.alias, 'gateway');
  assert.deepEqual(t.aliases, ['claude-api']);
  assert.equal(t.url, 'http://gateway:9000');
  assert.deepEqual(t.readiness, { mode: 'tcp', host: 'gateway', port: 9000, path: null, command: null, timeoutMs: 30000 });
  assert.ok(plan.anvilArgv.includes('ANTHROPIC_BASE_URL=http://gateway:9000'));
});

test('no key on the host: the model tong is skipped before any Docker work and the argv passes through', async () => {
  const argv = ['docker', 'run', '--rm', 'tongs-anvil:local', 'claude'];
  const plan = planLaunch(input({ anvilArgv: argv, tongs: tongs(['repo', 'model-api', await shippedModelApi()]), hostEnv: ['HOME', 'PATH'] }));
  assert.deepEqual(plan.anvilArgv, argv, 'nothing else starts: a passthrough');
  assert.equal(plan.network, null);
  assert.deepEqual(plan.tongs, []);
  assert.deepEqual(plan.skipped, [
    { name: 'model-api', layer: 'repo', file: '/defs/repo/model-api.yaml', kind: 'model', reason: 'none of ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN is set on the host (when.env)' },
  ]);
  assert.deepEqual(launchSummary(plan).info, [
    "model: the model tong 'model-api' is not started: none of ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN is set on the host (when.env); the harness uses its own login",
  ]);
  // With another tong the session still starts, without the model tong.
  const withMcp = planLaunch(input({ tongs: tongs(['repo', 'model-api', await shippedModelApi()], ['repo', 'github', GITHUB]), hostEnv: [] }));
  assert.deepEqual(withMcp.tongs.map((t) => t.name), ['github']);
  assert.deepEqual(withMcp.models, []);
  assert.ok(!withMcp.anvilArgv.some((a) => a.includes('ANTHROPIC')));
  assert.equal(withMcp.skipped[0]?.name, 'model-api');
});

test('when.env: either variable starts the tong; an empty value counts as unset', async () => {
  const defs = tongs(['repo', 'model-api', await shippedModelApi()]);
  for (const set of [['ANTHROPIC_API_KEY'], ['ANTHROPIC_AUTH_TOKEN']]) {
    assert.equal(planLaunch(input({ tongs: defs, hostEnv: set })).tongs.length, 1, set.join());
  }
  assert.deepEqual(setEnvNames({ A: 'x', B: '', C: undefined }), ['A']);
  assert.equal(planLaunch(input({ tongs: defs, hostEnv: setEnvNames({ ANTHROPIC_API_KEY: '' }) })).tongs.length, 0);
  const one = planLaunch(input({ tongs: tongs(['repo', 'x', 'image: x\nwhen: {env: [X_TOKEN]}\n']), hostEnv: [] }));
  assert.deepEqual(launchSummary(one).info, ["tong 'x' is not started: X_TOKEN is not set on the host (when.env)"]);
});

test('a second model tong of one dialect is refused, naming both files, whatever when.env says', async () => {
  const two = tongs(['repo', 'model-api', await shippedModelApi()], ['user', 'gateway', 'image: g\ninterface: {kind: model, dialect: anthropic, port: 9000}\n']);
  for (const hostEnv of [KEY_SET, []]) {
    assert.throws(
      () => refuseLaunch({ tongs: two, harness: 'claude', anvilArgv: ['docker', 'run', 'img'], workspace: null, hostEnv }),
      (e: unknown) =>
        e instanceof RefusalError &&
        e.message ===
          "2 model tongs for dialect 'anthropic': gateway (user layer, user/gateway.yaml), model-api (repo layer, repo/model-api.yaml); " +
            'a session has at most one per dialect: disable all but one (disable: true in a higher layer)',
    );
  }
});

test('a model tong needs a harness', async () => {
  const model = tongs(['repo', 'model-api', await shippedModelApi()]);
  const refused = (overrides: Partial<PlanInput>, pattern: RegExp) =>
    assert.throws(() => planLaunch(input(overrides)), (e: unknown) => e instanceof RefusalError && pattern.test(e.message));
  refused({ tongs: model, harness: null }, /^model tong 'model-api' needs --harness; supported harnesses: claude, codex, gemini, opencode$/);
  refused({ tongs: model, harness: 'cursor' }, /^unknown harness 'cursor': model tong 'model-api' needs one of the supported harnesses/);
  refused(
    { tongs: [...model, ...tongs(['repo', 'github', GITHUB])], harness: null },
    /^mcp tong 'github' and model tong 'model-api' need --harness/,
  );
  // Skipped by when.env: nothing needs a harness then.
  assert.equal(planLaunch(input({ tongs: model, harness: null, hostEnv: [] })).network, null);
  // Every dialect of the table is spoken by some harness (issue #14: claude and opencode anthropic,
  // codex openai, gemini google).
  for (const dialect of MODEL_DIALECT_NAMES) {
    assert.ok(['claude', 'opencode', 'codex', 'gemini'].some((h) => getEmitter(h)?.dialects.includes(dialect)), `some harness speaks ${dialect}`);
  }
});

test('an anvil argv that passes the model credential itself gets a warning, not a silent bypass', async () => {
  const plan = planLaunch(
    input({
      tongs: tongs(['repo', 'model-api', await shippedModelApi()]),
      anvilArgv: ['docker', 'run', '--rm', '-e', 'ANTHROPIC_API_KEY', '--env=ANTHROPIC_BASE_URL=http://x', '-eFOO=1', 'tongs-anvil:local', 'claude', '-e', 'ANTHROPIC_AUTH_TOKEN'],
    }),
  );
  assert.deepEqual(plan.warnings, [
    "the anvil command sets ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL itself (-e): a key the host has there reaches the anvil, and the harness may bypass the model tong 'model-api' (an -e after the emitter's replaces or unsets its value); drop them from the anvil command",
  ]);
  assert.deepEqual(launchSummary(plan).warnings, [`warning: ${plan.warnings[0]}`]);
  assert.deepEqual(planLaunch(input({ tongs: tongs(['repo', 'model-api', await shippedModelApi()]) })).warnings, []);
});

test('a shared model tong keeps its bearer in its config hash, as a shared mcp tong does', () => {
  const def = 'image: g\nlifecycle: shared\ninterface: {kind: model, dialect: anthropic, port: 9000}\n';
  const hash = (token: string) => planLaunch(input({ tongs: tongs(['user', 'gw', def]), mcpTokens: { gw: token } })).tongs[0]!.configHash;
  assert.notEqual(hash('a'), hash('b'));
});

test('egress: with no model tong for the harness, its own login hosts are allowed; with one, they are not', async () => {
  const egressDef = await readFile(path.join(REPO_ROOT, 'sidecars', 'egress.yaml'), 'utf8');
  const userList = { env: { TONGS_EGRESS_ALLOW: 'example.org:443', TONGS_EGRESS: 'allowlist' }, open: false, allow: ['example.org:443'] };
  const own = planLaunch(input({ tongs: tongs(['repo', 'model-api', await shippedModelApi()], ['repo', 'egress', egressDef]), hostEnv: ['HOME'], egress: userList }));
  assert.deepEqual(own.egress?.login, ['api.anthropic.com:443', 'console.anthropic.com:443']);
  assert.deepEqual(own.egress?.allow, ['example.org:443', 'api.anthropic.com:443', 'console.anthropic.com:443']);
  // What the egress tong is told, and what the user reads.
  assert.equal(own.tongs.find((t) => t.kind === 'egress')?.env.TONGS_EGRESS_ALLOW, 'example.org:443,api.anthropic.com:443,console.anthropic.com:443');
  assert.ok(launchSummary(own).info.includes("egress: the harness's own login may reach api.anthropic.com:443, console.anthropic.com:443 (no model tong holds its key)"));
  // The model tong holds the key: the anvil reaches the provider only through it.
  const sealed = planLaunch(input({ tongs: tongs(['repo', 'model-api', await shippedModelApi()], ['repo', 'egress', egressDef]), egress: userList }));
  assert.deepEqual(sealed.egress?.login, []);
  assert.equal(sealed.tongs.find((t) => t.kind === 'egress')?.env.TONGS_EGRESS_ALLOW, 'example.org:443');
  assert.ok(!launchSummary(sealed).info.some((l) => l.startsWith('egress:')));
});

/**
 * The CLI with model tongs (issue #11 item 1), as a black box that touches no Docker: `tongs plan`
 * shows each tong's kind and dialect and the skipped ones, `tongs validate` refuses two model tongs of
 * one dialect naming both files, and `tongs run` with every tong skipped by `when.env` is a
 * passthrough that says which path it took.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT, runCli, tempDir, unreachableDockerHost, type AfterHook, type ProcessResult } from '../support/process.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'model-cli');
const SIDECARS = path.join(REPO_ROOT, 'sidecars');

async function cli(t: AfterHook, args: string[], env: NodeJS.ProcessEnv): Promise<ProcessResult> {
  const dir = await tempDir(t, 'tongs-cli-model-');
  const tmp = path.join(dir, 'tmp');
  await mkdir(tmp);
  const base = { ...process.env };
  delete base.ANTHROPIC_API_KEY;
  delete base.ANTHROPIC_AUTH_TOKEN;
  delete base.ANTHROPIC_BASE_URL;
  delete base.TONGS_POSTGRES_PASSWORD;
  return runCli(args, {
    cwd: REPO_ROOT,
    env: { ...base, TONGS_HOME: path.join(dir, 'home'), TMPDIR: tmp, DOCKER_HOST: unreachableDockerHost(dir), ...env },
  });
}

const ANVIL = ['docker', 'run', '--rm', 'tongs-anvil:local', 'claude'];

/** The shipped Postgres pair, left out while TONGS_POSTGRES_PASSWORD is unset (as in these tests). */
const POSTGRES_SKIPPED = [
  { name: 'postgres', layer: 'repo', file: path.join(SIDECARS, 'postgres.yaml'), kind: 'port', reason: 'TONGS_POSTGRES_PASSWORD is not set on the host (when.env)' },
  { name: 'postgres-mcp', layer: 'repo', file: path.join(SIDECARS, 'postgres-mcp.yaml'), kind: 'mcp', reason: 'TONGS_POSTGRES_PASSWORD is not set on the host (when.env)' },
];

test('plan: the shipped model tong with a key on the host shows kind, dialect and the wiring, and no key', async (t) => {
  const r = await cli(t, ['plan', '--harness', 'claude', '--repo-tongs', SIDECARS, '--', ...ANVIL], { ANTHROPIC_API_KEY: 'sk-real-key-123' });
  assert.equal(r.status, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as { tongs: Record<string, unknown>[]; models: unknown[]; skipped: unknown[]; anvilArgv: string[] };
  const model = plan.tongs.find((x) => x.name === 'model-api');
  assert.ok(model, r.stdout);
  assert.equal(model.kind, 'model');
  assert.equal(model.dialect, 'anthropic');
  assert.equal(model.url, 'http://model-api:8080');
  assert.equal(plan.tongs.find((x) => x.name === 'github')?.dialect, null);
  // The Postgres pair (issue #13) is off without its password on the host.
  assert.deepEqual(plan.skipped, POSTGRES_SKIPPED);
  assert.ok(plan.anvilArgv.includes('ANTHROPIC_BASE_URL=http://model-api:8080'));
  assert.ok(!r.stdout.includes('sk-real-key-123'), 'the plan names the reference, never the key');
  assert.match(r.stderr, /^tongs: model: the harness reaches the Anthropic Messages API through the model tong 'model-api' \(http:\/\/model-api:8080\); the key stays in the tong$/m);
});

test('plan: with no key the model tong is listed as skipped, and the stderr line says the harness logs in itself', async (t) => {
  const r = await cli(t, ['plan', '--harness', 'claude', '--repo-tongs', SIDECARS, '--', ...ANVIL], {});
  assert.equal(r.status, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as { tongs: { name: string }[]; skipped: { name: string; kind: string; reason: string }[] };
  assert.deepEqual(plan.tongs.map((x) => x.name), ['egress', 'github']);
  assert.deepEqual(plan.skipped.map((s) => [s.name, s.kind, s.reason]), [
    ['model-api', 'model', 'none of ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN is set on the host (when.env)'],
    ...POSTGRES_SKIPPED.map((s) => [s.name, s.kind, s.reason]),
  ]);
  assert.match(r.stderr, /tongs: model: the model tong 'model-api' is not started: .*; the harness uses its own login/);
});

test('validate: two model tongs of one dialect are refused, naming both files', async (t) => {
  const r = await cli(t, ['validate', '--repo-tongs', path.join(FIXTURES, 'two')], {});
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    /^tongs: 2 model tongs for dialect 'anthropic': gateway \(repo layer, test\/fixtures\/model-cli\/two\/gateway\.yaml\), model-api \(repo layer, test\/fixtures\/model-cli\/two\/model-api\.yaml\); a session has at most one per dialect/m,
  );
  // The same refusal stops a run before any Docker work (DOCKER_HOST answers nothing here).
  const run = await cli(t, ['run', '--harness', 'claude', '--repo-tongs', path.join(FIXTURES, 'two'), '--', ...ANVIL], { ANTHROPIC_API_KEY: 'x' });
  assert.equal(run.status, 1);
  assert.match(run.stderr, /2 model tongs for dialect 'anthropic'/);
  assert.doesNotMatch(run.stderr, /Docker/i);
});

test('run: every tong skipped by when.env ⇒ the anvil argv runs as it is, with no Docker contact', async (t) => {
  const layer = await tempDir(t, 'tongs-layer-');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path.join(layer, 'model-api.yaml'), 'image: tongs-model-api:local\nwhen: {env: [ANTHROPIC_API_KEY]}\ninterface: {kind: model, dialect: anthropic, port: 8080}\n');
  const r = await cli(t, ['run', '--repo-tongs', layer, '--', process.execPath, '-e', 'console.log("ran " + process.argv.slice(1).join(" "))', 'a b'], {});
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'ran a b\n');
  assert.equal(r.stderr, "tongs: model: the model tong 'model-api' is not started: ANTHROPIC_API_KEY is not set on the host (when.env); the harness uses its own login\n");
});

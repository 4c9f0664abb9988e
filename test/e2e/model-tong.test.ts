/**
 * The real harnesses in the real anvil image through the model tong (issue #11 "Tests": "Model key"
 * and "OpenCode"). `tongs run` starts the shipped model tong (repo layer) with the real key and the
 * host's ANTHROPIC_BASE_URL pointing at a scripted upstream on the host; the anvil runs the harness
 * the way the entrypoint will once it exports the session bearer (`ANTHROPIC_AUTH_TOKEN` from
 * /run/tongs/anthropic-model-token; see the README "The model tong"). The upstream receives the real
 * key, never the bearer; Claude Code's answer is the same as a direct call's; the anvil holds no
 * copy of the key.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startFakeModelUpstream, type FakeModelUpstream } from '../fakes/model-upstream.js';
import { REPO_ROOT, TEST_LABEL, cleanupByLabel, hostGateway, requireDocker, runTongs } from '../support/docker.js';
import { runProcess, tempDirSync } from '../support/process.js';

const RUN_ID = randomBytes(4).toString('hex');
const MARK = `e2e-model-key-${randomBytes(10).toString('hex')}`;
const REAL_KEY = `sk-ant-api03-${MARK}`;
const ANVIL_IMAGE = process.env.ANVIL_IMAGE ?? 'tongs-anvil:local';
/** What the entrypoint change does (README "The model tong"), inline, until the anvil's entrypoint has it. */
const EXPORT_BEARER = 'ANTHROPIC_AUTH_TOKEN=$(cat /run/tongs/anthropic-model-token); export ANTHROPIC_AUTH_TOKEN; ';

function prepare(t: TestContext): { home: string; layers: string[]; upstreamUrl: (u: FakeModelUpstream) => string } {
  const make = spawnSync('make', ['-s', '--no-print-directory', '-C', REPO_ROOT, 'model-api-image', 'anvil-image'], { encoding: 'utf8', env: { ...process.env, MAKEFLAGS: '', MAKELEVEL: '' } });
  assert.equal(make.status, 0, `${make.stdout}${make.stderr}`);
  const dir = tempDirSync(t, 'tongs-e2e-model-');
  const home = path.join(dir, 'home');
  const workspaceLayer = path.join(dir, 'ws-layer');
  mkdirSync(workspaceLayer, { recursive: true });
  // The model tong alone: the repo layer's GitHub tong switched off.
  writeFileSync(path.join(workspaceLayer, 'github.yaml'), 'disable: true\n');
  t.after(() => cleanupByLabel_());
  const gateway = hostGateway();
  return {
    home,
    layers: ['--user-tongs', path.join(dir, 'none'), '--repo-tongs', path.join(REPO_ROOT, 'sidecars'), '--workspace-tongs', workspaceLayer],
    upstreamUrl: (u) => `http://${gateway}:${u.port}`,
  };
}

async function cleanupByLabel_(): Promise<void> {
  const { createDockerRuntime } = await import('../../launcher/shell/engine/docker-runtime.js');
  await cleanupByLabel(createDockerRuntime(), TEST_LABEL, RUN_ID);
}

function launcherEnv(home: string, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TONGS_HOME: home };
  for (const name of ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'ANTHROPIC_BASE_URL']) delete env[name];
  return { ...env, ...extra };
}

/**
 * The anvil's shell: the key (given as two halves, so no argv holds it whole) in no environment of any
 * anvil process and in no file (but /proc, /sys, /dev); then the harness, as the entrypoint runs it.
 */
const SCAN_AND_RUN = (harness: string) =>
  'needle="$1$2"; shift 2; ' +
  EXPORT_BEARER +
  `if cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -qF -e "$needle"; then echo LEAK-ENV; fi; ` +
  'for d in /*; do case $d in /proc|/sys|/dev) ;; *) grep -rlF -e "$needle" "$d" 2>/dev/null && echo LEAK-FILE;; esac; done; ' +
  `exec anvil-entrypoint ${harness} "$@"`;
const HALVES = [MARK.slice(0, 12), MARK.slice(12)];

test('Claude Code -p through the model tong answers as a direct call does; the key stays in the tong', { timeout: 600_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const { home, layers, upstreamUrl } = prepare(t);
  const upstream = await startFakeModelUpstream();
  t.after(() => upstream.close());

  const through = await runTongs(
    ['run', '--harness', 'claude', ...layers, '--',
      'docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, '--entrypoint', 'sh', ANVIL_IMAGE,
      '-c', SCAN_AND_RUN('claude'), 'sh', ...HALVES, '-p', 'say hi'],
    { env: launcherEnv(home, { ANTHROPIC_API_KEY: REAL_KEY, ANTHROPIC_BASE_URL: upstreamUrl(upstream) }) },
  );
  assert.equal(through.status, 0, through.stderr);
  assert.doesNotMatch(through.stdout, /LEAK/, 'the anvil holds no copy of the key');
  assert.match(through.stderr, /tongs: model: the harness reaches the Anthropic Messages API through the model tong 'model-api'/);
  const viaTong = upstream.requests.filter((r) => r.url.startsWith('/v1/messages'));
  assert.ok(viaTong.length >= 1, `Claude Code called the upstream: ${upstream.requests.map((r) => r.url).join(' ')}`);
  for (const r of viaTong) {
    assert.equal(r.headers['x-api-key'], REAL_KEY, 'the upstream receives the real key');
    assert.equal(r.headers.authorization, undefined, 'and never the bearer');
    assert.match(String(r.headers['user-agent']), /^claude-cli\//);
  }

  // The same turn, direct: the harness with the key itself, straight at the upstream.
  const direct = await runProcess(
    'docker',
    ['run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, '-e', `ANTHROPIC_BASE_URL=${upstreamUrl(upstream)}`, '-e', 'ANTHROPIC_API_KEY', ANVIL_IMAGE, 'claude', '-p', 'say hi'],
    { env: { ...process.env, ANTHROPIC_API_KEY: REAL_KEY } },
  );
  assert.equal(direct.status, 0, direct.stderr);
  assert.equal(through.stdout.trim(), direct.stdout.trim(), 'the same answer as a direct call');
  assert.equal(through.stdout.trim(), 'Hello from upstream');
  assert.ok(!`${through.stdout}${through.stderr}`.includes(MARK), "the key is in no output of the launcher or the harness");
});

test('opencode run through the model tong reaches the scripted upstream with the real key', { timeout: 600_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const { home, layers, upstreamUrl } = prepare(t);
  const upstream = await startFakeModelUpstream();
  t.after(() => upstream.close());
  const r = await runTongs(
    ['run', '--harness', 'opencode', ...layers, '--',
      'docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, '--entrypoint', 'sh', ANVIL_IMAGE,
      '-c', SCAN_AND_RUN('opencode'), 'sh', ...HALVES, 'run', '-m', 'anthropic/claude-sonnet-4-5', 'say hi'],
    { env: launcherEnv(home, { ANTHROPIC_API_KEY: REAL_KEY, ANTHROPIC_BASE_URL: upstreamUrl(upstream) }) },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /LEAK/, 'the anvil holds no copy of the key');
  assert.match(r.stdout, /Hello from upstream/);
  const calls = upstream.requests.filter((q) => q.url.startsWith('/v1/messages'));
  assert.ok(calls.length >= 1, `OpenCode called the upstream: ${upstream.requests.map((q) => q.url).join(' ')}`);
  for (const q of calls) {
    assert.equal(q.headers['x-api-key'], REAL_KEY);
    assert.equal(q.headers.authorization, undefined);
    assert.match(String(q.headers['user-agent']), /^opencode\//);
  }
  assert.ok(!`${r.stdout}${r.stderr}`.includes(MARK));
});

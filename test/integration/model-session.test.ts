/**
 * The model tong through a whole `tongs run` session on the real engine (issue #11 item 1 "Tests"):
 * the shipped definition from the repo layer (sidecars/model-api.yaml, image tongs-model-api:local),
 * a test anvil that reads the session bearer from its read-only file and streams a scripted answer
 * from a fake upstream on the host through the tong. The upstream receives the real key; the anvil's
 * `docker inspect`, environment and files, the host's argv and the launcher's output hold no copy of
 * it, and the bearer is in no `docker inspect` and no argv. With no key on the host the tong is not
 * started at all and the launch says so.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LABEL_SESSION } from '../../launcher/core/labels.js';
import type { ContainerRuntime } from '../../launcher/shell/engine/runtime.js';
import {
  BASE_IMAGE,
  REPO_ROOT,
  TEST_LABEL,
  cleanupByLabel,
  dockerCli,
  launchTongs,
  leftovers,
  requireDocker,
  runTongs,
  sessionOfLauncher,
  tempDir,
  type CliProcess,
  hostGateway,
} from '../support/docker.js';
import { expectedStream, startFakeModelUpstream } from '../fakes/model-upstream.js';

const RUN_ID = randomBytes(4).toString('hex');
const MARK = `model-key-${randomBytes(12).toString('hex')}`;
const REAL_KEY = `sk-ant-api03-${MARK}`;
const MODEL_IMAGE = 'tongs-model-api:local';

/** Make sure the model tong image exists (make model-api-image; a no-op when up to date). */
function buildModelImage(): void {
  const r = spawnSync('make', ['-s', '--no-print-directory', '-C', REPO_ROOT, 'model-api-image'], { encoding: 'utf8', env: { ...process.env, MAKEFLAGS: '', MAKELEVEL: '' } });
  assert.equal(r.status, 0, `make model-api-image: ${r.stdout}${r.stderr}`);
}

/**
 * The anvil: what the entrypoint will do (export the bearer from its file), then a streamed call
 * through the tong, a call without the bearer and one outside the API; then it waits to be told to exit.
 */
const ANVIL = `
const fs = require('node:fs');
const token = fs.readFileSync('/run/tongs/anthropic-model-token', 'utf8');
const base = process.env.ANTHROPIC_BASE_URL;
const body = JSON.stringify({ model: 'claude-fake', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] });
const headers = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
(async () => {
  console.log('BASE ' + base);
  const res = await fetch(base + '/v1/messages?beta=true', { method: 'POST', headers: { ...headers, authorization: 'Bearer ' + token }, body });
  const chunks = [];
  const decoder = new TextDecoder();
  for await (const c of res.body) chunks.push(decoder.decode(c, { stream: true }));
  console.log('STREAM ' + JSON.stringify({ status: res.status, type: res.headers.get('content-type'), text: chunks.join('') }));
  const none = await fetch(base + '/v1/messages', { method: 'POST', headers, body });
  const outside = await fetch(base + '/v1/files', { headers: { authorization: 'Bearer ' + token } });
  console.log('REFUSED ' + JSON.stringify({ none: none.status, outside: outside.status }));
  console.log('CHECK-NOW');
  const deadline = Date.now() + 120000;
  const t = setInterval(() => {
    if (fs.existsSync('/tmp/checks-done') || Date.now() > deadline) { clearInterval(t); process.exit(0); }
  }, 100);
})().catch((e) => { console.log('FAILED ' + e.message + (e.cause ? ' (' + (e.cause.code || e.cause.message) + ')' : '')); process.exit(99); });
`;

/** Search the anvil's files (all but /proc, /sys, /dev) for a needle read from stdin, with a control. */
const SCAN = `
IFS= read -r needle; IFS= read -r control
printf '%s\\n' "$control" > /tmp/scan-control
cd /
for d in *; do case $d in proc|sys|dev) ;; *) set -- "$@" "/$d" ;; esac; done
echo "control: $(grep -rlF -e "$control" "$@" 2>/dev/null | tr '\\n' ' ')"
grep -rlF -e "$needle" "$@" 2>/dev/null; echo "needle-rc=$?"
`;

async function docker(args: string[], input?: string): Promise<string> {
  const r = await dockerCli(args, input);
  assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout + r.stderr;
}

/** A workspace layer that switches the repo layer's GitHub tong off, so the session holds the model tong alone. */
async function withoutGitHub(t: TestContext): Promise<string> {
  const dir = await tempDir(t, 'tongs-ws-layer-');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'github.yaml'), 'disable: true\n');
  await writeFile(join(dir, 'egress.yaml'), 'disable: true\n');
  // The Postgres pair is off without TONGS_POSTGRES_PASSWORD anyway; disabled so no line mentions it.
  await writeFile(join(dir, 'postgres.yaml'), 'disable: true\n');
  await writeFile(join(dir, 'postgres-mcp.yaml'), 'disable: true\n');
  return dir;
}

/** The launcher's environment: ours without any model credential, plus `extra`. */
function env(home: string, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, TONGS_HOME: home };
  for (const name of ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'ANTHROPIC_BASE_URL']) delete base[name];
  return { ...base, ...extra };
}

function launch(t: TestContext, runtime: ContainerRuntime, args: string[], environment: NodeJS.ProcessEnv): CliProcess {
  const p = launchTongs(t, runtime, args, { env: environment });
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));
  return p;
}

test('tongs run: the anvil streams an answer through the model tong; the key stays in the tong', { timeout: 240_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  buildModelImage();
  const upstream = await startFakeModelUpstream();
  t.after(() => upstream.close());
  const home = await tempDir(t, 'tongs-home-');
  const anvilName = `tongs-it-model-${RUN_ID}`;
  const p = launch(
    t,
    runtime,
    ['run', '--harness', 'claude', '--user-tongs', join(home, 'none'), '--repo-tongs', join(REPO_ROOT, 'sidecars'), '--workspace-tongs', await withoutGitHub(t), '--',
      'docker', 'run', '--rm', '--name', anvilName, '--label', `${TEST_LABEL}=${RUN_ID}`, BASE_IMAGE, 'node', '-e', ANVIL, '--'],
    env(home, { ANTHROPIC_API_KEY: REAL_KEY, ANTHROPIC_BASE_URL: `http://${hostGateway()}:${upstream.port}` }),
  );
  await p.waitFor(/CHECK-NOW|FAILED/, 120_000);
  const { stdout, stderr } = p.output();
  assert.doesNotMatch(stdout, /FAILED/, `${stdout}\n${stderr}`);
  assert.match(stdout, /^BASE http:\/\/model-api:8080$/m);
  assert.match(stderr, /^tongs: model: the harness reaches the Anthropic Messages API through the model tong 'model-api' \(http:\/\/model-api:8080\); the key stays in the tong$/m);

  // The answer arrived whole and unchanged; the upstream got the real key, never the bearer.
  const streamed = JSON.parse(/^STREAM (.*)$/m.exec(stdout)![1]!) as { status: number; type: string; text: string };
  assert.deepEqual(streamed, { status: 200, type: 'text/event-stream', text: expectedStream() });
  assert.deepEqual(JSON.parse(/^REFUSED (.*)$/m.exec(stdout)![1]!), { none: 401, outside: 404 });
  assert.equal(upstream.requests.length, 1, 'the refused calls never reached the upstream');
  const seen = upstream.requests[0]!;
  assert.equal(seen.url, '/v1/messages?beta=true');
  assert.equal(seen.headers['x-api-key'], REAL_KEY);
  assert.equal(seen.headers.authorization, undefined);

  // The bearer: in the anvil's read-only file only.
  const bearer = (await docker(['exec', anvilName, 'cat', '/run/tongs/anthropic-model-token'])).trim();
  assert.match(bearer, /^[A-Za-z0-9_-]{40,}$/);
  const writable = await dockerCli(['exec', anvilName, 'sh', '-c', 'echo x > /run/tongs/anthropic-model-token']);
  assert.notEqual(writable.status, 0, 'the token file is read-only in the anvil');

  // docker inspect of every container of the session and of the anvil: no key; the anvil's holds no bearer.
  const session = await sessionOfLauncher(runtime, p.child.pid!);
  const ids = (await docker(['ps', '-aq', '--filter', `label=${LABEL_SESSION}=${session}`])).split('\n').filter(Boolean);
  const anvilInspect = await docker(['inspect', anvilName]);
  assert.ok(!anvilInspect.includes(MARK), 'docker inspect of the anvil holds no key');
  assert.ok(!anvilInspect.includes(bearer), 'docker inspect of the anvil holds no bearer');
  assert.match(anvilInspect, /"ANTHROPIC_BASE_URL=http:\/\/model-api:8080"/);
  for (const id of ids) assert.ok(!(await docker(['inspect', id])).includes(MARK), `docker inspect ${id} holds no key`);
  const tongId = (await docker(['ps', '-q', '--filter', `label=${LABEL_SESSION}=${session}`, '--filter', 'label=dev.tongs.tong=model-api'])).trim();
  assert.match(tongId, /^[0-9a-f]{12}$/, 'the model tong container exists');

  // No host argv holds the key or the bearer.
  const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  assert.ok(!ps.stdout.includes(MARK) && !ps.stdout.includes(bearer), 'no host argv holds the key or the bearer');

  // The anvil: its main process's environment and its whole file system.
  const anvilEnv = await docker(['exec', anvilName, '/bin/sh', '-c', "tr '\\0' '\\n' < /proc/1/environ"]);
  assert.match(anvilEnv, /ANTHROPIC_BASE_URL=http:\/\/model-api:8080/);
  assert.ok(!anvilEnv.includes(MARK), 'the anvil environment holds no key');
  const scanned = await dockerCli(['exec', '-i', anvilName, '/bin/sh', '-c', SCAN], `${MARK}\ncontrol-${RUN_ID}\n`);
  assert.match(scanned.stdout, /^control: \/tmp\/scan-control $/m, `the scan works: ${scanned.stdout}${scanned.stderr}`);
  assert.match(scanned.stdout, /^needle-rc=1$/m, `no file in the anvil holds the key: ${scanned.stdout}`);

  // The tong's own log: what it serves, and no key, bearer or body.
  const tongLog = await docker(['logs', tongId]);
  assert.match(tongLog, /tongs: model-api: listening on 0\.0\.0\.0:8080 \(anthropic, upstream http:\/\/[\d.]+:\d+, credential x-api-key, session bearer required\)/);
  assert.match(tongLog, /refused POST \/v1\/messages: missing or wrong session bearer/);
  for (const needle of [MARK, bearer, 'claude-fake', 'max_tokens']) assert.ok(!tongLog.includes(needle), `the tong's log holds ${needle}`);

  await docker(['exec', anvilName, '/bin/sh', '-c', ': > /tmp/checks-done']);
  const r = await p.done;
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!`${r.stdout}${r.stderr}`.includes(MARK), "the launcher's output holds no key");
  assert.deepEqual(await leftovers(runtime, LABEL_SESSION, session), []);
});

test('tongs run with no key on the host: the model tong is not started, the launch says so and passes through', { timeout: 120_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  const home = await tempDir(t, 'tongs-home-');
  const r = await runTongs(
    ['run', '--harness', 'claude', '--user-tongs', join(home, 'none'), '--repo-tongs', join(REPO_ROOT, 'sidecars'), '--workspace-tongs', await withoutGitHub(t), '--',
      'docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, BASE_IMAGE, 'node', '-e',
      'console.log("ANVIL " + JSON.stringify({ token: require("fs").existsSync("/run/tongs/anthropic-model-token"), base: process.env.ANTHROPIC_BASE_URL ?? null }))'],
    { env: env(home, {}) },
  );
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ANVIL \{"token":false,"base":null\}$/m);
  assert.equal(
    r.stderr,
    "tongs: model: the model tong 'model-api' is not started: none of ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN is set on the host (when.env); the harness uses its own login\n",
  );
});

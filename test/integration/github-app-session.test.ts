/**
 * The `github-app` secret provider through whole `tongs run` sessions on the real engine, with the
 * real GitHub tong image (GITHUB_IMAGE, default tongs-github:local; issue #15 item 2 "Tests"):
 * - the GitHub fake on the host verifies the App JWT (RS256, with the App's public key), checks the
 *   repository and permissions, and issues tokens that expire after a few seconds;
 * - a session longer than that lifetime keeps working: the launcher refreshes the token in the
 *   running tong, which picks it up, and every call succeeds;
 * - every token still valid is revoked after a normal exit, after Ctrl-C, and, after a SIGKILL of
 *   the launcher, by `tongs gc` from the session record in $TONGS_HOME/sessions;
 * - the private key and the tokens are in no `docker inspect` of the tong, and no token is in the
 *   anvil's MCP config or the launcher's output.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FakeGitHub } from '../fakes/github-api.js';
import type { ContainerRuntime } from '../../launcher/shell/engine/runtime.js';
import {
  BASE_IMAGE,
  REPO_ROOT,
  TEST_LABEL,
  cleanupByLabel,
  dockerCli,
  hostGateway,
  launchTongs,
  nodeAnvil,
  requireDocker,
  runTongs,
  sessionOfLauncher,
  tempDir,
  tongLayer,
  type CliProcess,
} from '../support/docker.js';

const run = promisify(execFile);
const IMAGE = process.env.GITHUB_IMAGE || 'tongs-github:local';
const RUN_ID = randomBytes(4).toString('hex');
/**
 * The fake's token lifetime: short, so a session of a few lifetimes needs several refreshes (6 s
 * flaked on a loaded Podman: the first token expired before its refresh landed).
 */
const LIFETIME_MS = 12_000;
/** Tool calls in the long session, 500 ms apart: about two token lifetimes with their own time. */
const CALLS = 40;

const { publicKey, privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
});
const fake = new FakeGitHub({
  app: {
    appId: '90210',
    slug: 'tongs-it-app',
    publicKey,
    installations: [{ id: 31, repositories: ['acme/api'], permissions: { contents: 'write', pull_requests: 'write', metadata: 'read' } }],
    tokenLifetimeMs: LIFETIME_MS,
  },
});
let apiUrl = '';

before(async () => {
  fake.addRepo('acme', 'api');
  const port = Number(new URL(await fake.start(0, '0.0.0.0')).port);
  // One URL for both sides: the host gateway is an address of this host, so the launcher reaches it
  // too, and the tong reaches it from the session network.
  apiUrl = `http://${hostGateway()}:${port}`;
});
after(() => fake.close());

/** Builds the image when absent or stale, under IMAGE's tag (a no-op when its inputs are unchanged). */
async function ensureImage(): Promise<void> {
  const staged = existsSync(join(REPO_ROOT, 'sidecars/github/.build/app/node_modules'));
  if (staged) await run('bash', [join(REPO_ROOT, 'sidecars/github/build-image.sh'), IMAGE, BASE_IMAGE], { cwd: REPO_ROOT });
  else await run('make', ['-s', 'github-image', `GITHUB_IMAGE=${IMAGE}`], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
}

/**
 * The anvil: an MCP client of the GitHub tong that calls list_prs every 500 ms, printing `CALL n ok`
 * or `CALL n FAILED …`; after `CALLS` calls it exits 0 (CALLS=0: until signalled).
 */
const ANVIL = `
const fs = require('node:fs');
const server = JSON.parse(fs.readFileSync('/run/tongs/mcp.json', 'utf8')).mcpServers.github;
console.log('MCPCONFIG ' + JSON.stringify(server));
async function rpc(body, session) {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(server.headers || {}) };
  if (session) headers['mcp-session-id'] = session;
  const res = await fetch(server.url, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error('HTTP ' + res.status + ': ' + text);
  if (body.id === undefined) return {};
  const msgs = (res.headers.get('content-type') || '').includes('text/event-stream')
    ? text.split(/\\r?\\n/).filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5))) : [JSON.parse(text)];
  return { reply: msgs.find((m) => m.id === body.id), session: res.headers.get('mcp-session-id') };
}
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => { console.log('ANVIL GOT ' + s); process.exit(0); });
(async () => {
  const init = await rpc({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'it', version: '1' } } });
  await rpc({ jsonrpc: '2.0', method: 'notifications/initialized' }, init.session);
  const calls = Number(process.env.CALLS);
  for (let n = 1; calls === 0 || n <= calls; n++) {
    const r = await rpc({ jsonrpc: '2.0', id: n, method: 'tools/call', params: { name: 'list_prs', arguments: { repo_owner: 'acme', repo_name: 'api' } } }, init.session);
    const result = r.reply && r.reply.result;
    if (result && !result.isError) console.log('CALL ' + n + ' ok');
    else console.log('CALL ' + n + ' FAILED ' + JSON.stringify(r.reply));
    await new Promise((res) => setTimeout(res, 500));
  }
  process.exit(0);
})().catch((e) => { console.log('FAILED ' + e.message + (e.cause ? ' (' + (e.cause.code || e.cause.message) + ')' : '')); process.exit(99); });
`;

interface Setup {
  layer: string;
  home: string;
  env: NodeJS.ProcessEnv;
}

async function setup(t: TestContext): Promise<Setup> {
  const home = await tempDir(t, 'tongs-home-');
  const keyFile = join(home, 'app.pem');
  await writeFile(keyFile, privateKey, { mode: 0o600 });
  const layer = await tongLayer(t, {
    github: `image: ${IMAGE}
env:
  GITHUB_TOKEN: \${secret:github-app:acme/api}
  GITHUB_API_URL: \${secret:env:GITHUB_API_URL}
  TONG_TIER: "2"
github_app:
  permissions: { contents: write, pull_requests: write }
interface: { kind: mcp, name: github, port: 8080 }
readiness: { mode: tcp, timeout: 30s }
`,
  });
  return {
    layer,
    home,
    env: { TONGS_HOME: home, TONGS_GITHUB_APP_ID: '90210', TONGS_GITHUB_APP_PRIVATE_KEY_PATH: keyFile, GITHUB_API_URL: apiUrl },
  };
}

function launch(t: TestContext, runtime: ContainerRuntime, s: Setup, calls: number): CliProcess {
  const p = launchTongs(
    t,
    runtime,
    ['run', '--repo-tongs', s.layer, '--harness', 'claude', '--', ...nodeAnvil(RUN_ID, ANVIL, { env: { CALLS: String(calls) } })],
    { env: s.env },
  );
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));
  return p;
}

/** Tokens issued since `from` that are still valid and not revoked (the fake's view). */
const unrevoked = (from: number) => fake.issued.slice(from).filter((i) => i.revokedAt === null && i.expiresAt > Date.now());

test('a session longer than the token lifetime keeps working after refreshes; its tokens are revoked at a normal exit', { timeout: 180_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await ensureImage();
  const s = await setup(t);
  const from = fake.issued.length;
  const p = launch(t, runtime, s, CALLS);
  await p.waitFor(/CALL 1 ok/, 60_000);
  const session = await sessionOfLauncher(runtime, p.child.pid!);
  // While it runs: the key and the token are in no docker inspect of the tong, and the record is sealed.
  const [tongId] = (await dockerCli(['ps', '-q', '--filter', `label=dev.tongs.session=${session}`, '--filter', 'label=dev.tongs.role=tong'])).stdout.trim().split('\n');
  const inspect = (await dockerCli(['inspect', tongId!])).stdout;
  assert.ok(!inspect.includes('PRIVATE KEY') && !fake.issued.slice(from).some((i) => inspect.includes(i.token)), 'inspect holds neither the key nor a token');
  const record = await readFile(join(s.home, 'sessions', `${session}.json`), 'utf8');
  assert.ok(!fake.issued.slice(from).some((i) => record.includes(i.token)), 'the session record holds no token in plain text');

  // Bounded waits, so a stall says where it happened (the output so far is in the message).
  await p.waitFor(new RegExp(`^CALL ${CALLS} `, 'm'), 140_000);
  await p.waitFor(/tongs: removed /, 20_000);
  const r = await p.done;
  assert.equal(r.status, 0, r.stderr);
  const calls = r.stdout.match(/^CALL \d+ .*$/gm) ?? [];
  assert.equal(calls.length, CALLS, r.stdout);
  assert.deepEqual(calls.filter((c) => !c.endsWith(' ok')), [], 'every call succeeded');
  const ours = fake.issued.slice(from);
  assert.ok(ours.length >= 3, `the token was refreshed: ${ours.length} issued`);
  assert.ok(ours.filter((i) => i.uses > 0).length >= 2, `the tong used refreshed tokens: uses ${ours.map((i) => i.uses).join(',')}`);
  assert.ok(ours.at(-1)!.uses > 0 || ours.at(-2)!.uses > 0);
  assert.ok(ours.every((i) => i.repositories.join() === 'acme/api' && Object.keys(i.permissions).sort().join() === 'contents,metadata,pull_requests'));
  assert.deepEqual(unrevoked(from), [], 'every token still valid was revoked');
  assert.ok(ours.at(-1)!.revokedAt !== null, 'the current token was revoked');
  assert.deepEqual(fake.rejectedJwts, []);
  assert.deepEqual(await readdir(join(s.home, 'sessions')), [], 'the session record is removed');
  assert.ok(!ours.some((i) => r.stdout.includes(i.token) || r.stderr.includes(i.token)), 'no token in the launcher output or the MCP config');
});

test('Ctrl-C: the launcher revokes the session\'s tokens on its way out', { timeout: 120_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await ensureImage();
  const s = await setup(t);
  // Long-lived tokens here: what is checked is revocation, not expiry.
  fake.setTokenLifetime(120_000);
  t.after(() => fake.setTokenLifetime(LIFETIME_MS));
  const from = fake.issued.length;
  const p = launch(t, runtime, s, 0);
  await p.waitFor(/CALL 1 ok/, 60_000);
  assert.equal(unrevoked(from).length, 1);
  p.child.kill('SIGINT');
  const r = await p.done;
  assert.equal(r.status, 130, r.stderr);
  assert.deepEqual(unrevoked(from), [], 'revoked after Ctrl-C');
  assert.deepEqual(await readdir(join(s.home, 'sessions')), []);
});

test('SIGKILL of the launcher: `tongs gc` revokes the tokens the session recorded', { timeout: 120_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await ensureImage();
  const s = await setup(t);
  fake.setTokenLifetime(120_000);
  t.after(() => fake.setTokenLifetime(LIFETIME_MS));
  const from = fake.issued.length;
  const p = launch(t, runtime, s, 0);
  await p.waitFor(/CALL 1 ok/, 60_000);
  const session = await sessionOfLauncher(runtime, p.child.pid!);
  const exited = once(p.child, 'exit');
  p.child.kill('SIGKILL');
  // The launcher's exit, not the close of its output: the anvil's docker CLI, its child, still holds that.
  await exited;
  assert.equal(unrevoked(from).length, 1, 'a killed launcher revoked nothing');
  assert.deepEqual(await readdir(join(s.home, 'sessions')), [`${session}.json`]);
  const gc = await runTongs(['gc'], { env: s.env });
  assert.equal(gc.status, 0, gc.stderr);
  assert.match(gc.stderr, /revoked 1 GitHub App token of dead sessions/);
  assert.deepEqual(unrevoked(from), [], 'gc revoked it');
  assert.deepEqual(await readdir(join(s.home, 'sessions')), []);
});

test('an App not installed on the repository fails the launch with exit 1 before any container, naming App and repository', { timeout: 60_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  const s = await setup(t);
  const layer = await tongLayer(t, {
    github: `image: ${IMAGE}
env: { GITHUB_TOKEN: "\${secret:github-app:acme/elsewhere}" }
interface: { kind: mcp, name: github, port: 8080 }
`,
  });
  const since = (Date.now() / 1000).toFixed(3);
  const p = launch(t, runtime, { ...s, layer }, 1);
  const r = await p.done;
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /GitHub App 'tongs-it-app' \(id 90210\) is not installed on acme\/elsewhere/);
  assert.doesNotMatch(r.stdout, /CALL/);
  // Neither a network nor a container of this launcher was ever created (not just removed again).
  const events = await dockerCli(['events', '--since', since, '--until', (Date.now() / 1000 + 1).toFixed(3), '--filter', 'event=create',
    '--filter', `label=dev.tongs.launcher.pid=${p.child.pid}`, '--format', '{{.Type}} {{.Actor.Attributes.name}}']);
  assert.equal(events.stdout.trim(), '', `nothing was created: ${events.stdout}`);
});

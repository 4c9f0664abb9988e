/**
 * Stdio tongs on the real engine (issue #13): `tongs run` with a stdio tong, whose bridge is mounted
 * into the tong's own image, and an anvil that calls its tools through the emitted MCP config (the
 * SDK's Streamable HTTP client, bearer included). Three images, none from a registry
 * (test/fixtures/stdio/build-images.sh): a Node server bridged by the image's own node, a Python
 * server in an image with no node bridged by the host's Node runtime, and refusals: an image with no
 * node under `interface.node: image`, and a server that exits at once (readiness fails with its stderr).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import { EVERYTHING_CLI, freePort, lostScenarios, parseConformance, runConformance, startListening } from '../support/conformance.js';
import { LABEL_LAUNCHER_PID } from '../../launcher/core/labels.js';
import type { ContainerRuntime } from '../../launcher/shell/engine/runtime.js';
import { BASE_IMAGE, REPO_ROOT, TEST_LABEL, cleanupByLabel, leftovers, requireDocker, startTongs, tongLayer } from '../support/docker.js';

const RUN_ID = `stdio-${randomBytes(3).toString('hex')}`;
const ANVIL_DIR = path.join(REPO_ROOT, '.build/stdio/anvil');
const SECRET = `pg-password-${randomBytes(6).toString('hex')}`;

let built: Promise<unknown> | undefined;
/** Builds the test images once, after requireDocker (a run without an engine skips, unless CI requires one). */
const buildImages = () =>
  (built ??= promisify(execFile)('bash', [path.join(REPO_ROOT, 'test/fixtures/stdio/build-images.sh')], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 }));

/** The anvil argv: the bundled MCP client, mounted read-only, calling `calls`. */
function anvil(calls: unknown[]): string[] {
  return [
    'docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, '-v', `${ANVIL_DIR}:/t:ro`,
    '-e', `CALL=${JSON.stringify(calls)}`, BASE_IMAGE, 'node', '/t/anvil-client.mjs', '--',
  ];
}

/**
 * `tongs ARGS` to completion; then nothing its session created may remain (found by its launcher
 * pid: other test files' sessions may be running meanwhile).
 */
async function runTongs(runtime: ContainerRuntime, args: string[], options: { env?: NodeJS.ProcessEnv } = {}) {
  const p = startTongs(args, options);
  const r = await p.done;
  assert.deepEqual(await leftovers(runtime, LABEL_LAUNCHER_PID, String(p.child.pid)), [], 'the session left nothing behind');
  return r;
}

const results = (stdout: string) =>
  [...stdout.matchAll(/^RESULT (.*)$/gm)].map((m) => JSON.parse(m[1]!) as { server: string; tools: string[]; result: { content: { text: string }[]; isError?: boolean } });

test("a Node stdio server, bridged by the image's own node, answers tool calls; its secret reaches it as environment", { timeout: 180_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await buildImages();
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));
  const layer = await tongLayer(t, {
    everything: `image: tongs-test-stdio:local
env:
  DATABASE_URL: \${secret:env:TONGS_IT_STDIO_SECRET}
interface: { kind: mcp, transport: stdio, node: image, port: 8080, name: conformance }
command: [node, /srv/server.mjs, stdio]
readiness: { mode: mcp, timeout: 60s }
`,
  });
  const r = await runTongs(runtime, ['run', '--quiet', '--harness', 'claude', '--user-tongs', layer, '--', ...anvil([
    { server: 'conformance', tool: 'test_simple_text' },
    { server: 'conformance', tool: 'env', arguments: { name: 'DATABASE_URL' } },
    { server: 'conformance', tool: 'env', arguments: { name: 'TONGS_MCP_TOKEN' } },
  ])], { env: { TONGS_IT_STDIO_SECRET: SECRET } });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const [text, secret, bearer] = results(r.stdout);
  assert.equal(text?.result.content[0]?.text, 'This is a simple text response for testing.');
  assert.ok(text?.tools.includes('test_sampling'));
  assert.equal(secret?.result.content[0]?.text, SECRET, 'the secret reaches the stdio server as ordinary environment');
  assert.equal(bearer?.result.content[0]?.text, '(unset)', "the bridge's bearer does not reach the stdio server");
  assert.ok(!r.stderr.includes(SECRET), 'the launcher prints no secret');
});

test('a Python stdio server in an image with no node, bridged by the host Node runtime, answers a tool call', { timeout: 180_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await buildImages();
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));
  const layer = await tongLayer(t, {
    py: `image: tongs-test-stdio-py:local
interface: { kind: mcp, transport: stdio, node: host, port: 8080, name: py }
command: [python3, /srv/server.py]
`,
  });
  const r = await runTongs(runtime, ['run', '--quiet', '--harness', 'claude', '--user-tongs', layer, '--', ...anvil([{ server: 'py', tool: 'whoami' }])]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const [who] = results(r.stdout);
  assert.deepEqual(who?.tools, ['whoami', 'env']);
  const info = JSON.parse(who!.result.content[0]!.text) as { python: string; node: string | null };
  assert.match(info.python, /^3\./);
  assert.equal(info.node, null, 'the image has no node: the bridge ran on the host runtime');
});

test('refused with why and what to do: an image without node under interface.node image; a server that exits at once', { timeout: 180_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await buildImages();
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));
  const noNode = await tongLayer(t, {
    py: `image: tongs-test-stdio-py:local
interface: { kind: mcp, transport: stdio, node: image, port: 8080, name: py }
command: [python3, /srv/server.py]
`,
  });
  const r1 = await runTongs(runtime, ['run', '--quiet', '--harness', 'claude', '--user-tongs', noNode, '--', ...anvil([])]);
  assert.equal(r1.status, 1, r1.stderr);
  assert.match(r1.stderr, /tong 'py' exited with status 126 before it was ready/);
  assert.match(r1.stderr, /this image has no node on its PATH.*use interface\.node: host/);

  const dies = await tongLayer(t, {
    dies: `image: tongs-test-stdio:local
env: { CONFORMANCE_SERVER_EXIT_AT_ONCE: "1" }
interface: { kind: mcp, transport: stdio, port: 8080, name: dies }
command: [node, /srv/server.mjs, stdio]
`,
  });
  const r2 = await runTongs(runtime, ['run', '--quiet', '--harness', 'claude', '--user-tongs', dies, '--', ...anvil([])]);
  assert.equal(r2.status, 1, r2.stderr);
  assert.match(r2.stderr, /tong 'dies' exited with status 1 before it was ready/);
  assert.match(r2.stderr, /conformance-server: missing DATABASE_URL, giving up/, 'the stderr tail of the stdio server');
});

test('conformance from inside the session: the everything server as a stdio tong passes every scenario it passes in its own HTTP mode', { timeout: 400_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await buildImages();
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));
  const children: ChildProcess[] = [];
  t.after(() => children.forEach((c) => c.kill('SIGTERM')));
  const port = await freePort();
  await startListening(children, [process.execPath, EVERYTHING_CLI, 'streamableHttp'], port, { PORT: String(port) });
  const native = await runConformance(`http://127.0.0.1:${port}/mcp`);

  const layer = await tongLayer(t, {
    everything: `image: tongs-test-stdio:local
interface: { kind: mcp, transport: stdio, node: image, port: 8080, name: everything }
command: [node, /srv/everything.mjs, stdio]
`,
  });
  const r = await runTongs(runtime, ['run', '--quiet', '--harness', 'claude', '--user-tongs', layer, '--',
    'docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, '-v', `${ANVIL_DIR}:/t:ro`, '-e', 'SERVER=everything',
    BASE_IMAGE, 'node', '/t/conformance-anvil.mjs', '--']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /CONFORMANCE-DONE/, r.stdout + r.stderr);
  const bridged = parseConformance(r.stdout);
  assert.deepEqual(lostScenarios(native, bridged), [], `scenarios that pass natively but fail through the bridge in the session:\n${r.stdout.slice(-3000)}`);
  process.stderr.write(`in-session conformance (server-everything): ${[...native.values()].filter(Boolean).length} pass natively, ${[...bridged.values()].filter(Boolean).length} through the stdio tong\n`);
});

/**
 * `tongs new` through the CLI (issue #13 item 3, "Tests": "Its output validates for each `--from`
 * form, and a generated tong builds and runs"):
 * - `--from npm:` installs the package on the host with npm (here @modelcontextprotocol/server-everything,
 *   at the version this repository pins, so npm's cache serves it), `--from pypi:` and `--image`
 *   scaffold without installing; each result passes `tongs validate`, which the command runs itself;
 * - a failing npm install, and a name that collides with another layer's tong, leave nothing behind;
 * - on the real engine, the npm tong's image is built by `tongs run` from its `build:` context
 *   (FROM tongs-base:local, no network) and its tools answer an MCP client in the anvil.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { LABEL_LAUNCHER_PID } from '../../launcher/core/labels.js';
import { BASE_IMAGE, REPO_ROOT, TEST_LABEL, cleanupByLabel, dockerCli, leftovers, requireDocker, startTongs } from '../support/docker.js';
import { runCli, tempDir } from '../support/process.js';

const EVERYTHING = '@modelcontextprotocol/server-everything';
const EVERYTHING_VERSION = (createRequire(import.meta.url)(`${EVERYTHING}/package.json`) as { version: string }).version;
const RUN_ID = `new-${randomBytes(3).toString('hex')}`;
/** This test's own image tag (never a shared `*:local` one). */
const IMAGE = `tongs-test-new-everything:${RUN_ID}`;

async function scratch(t: TestContext) {
  const dir = await tempDir(t, 'tongs-new-it-');
  const layer = path.join(dir, 'layer');
  return { dir, layer, env: { ...process.env, TONGS_HOME: path.join(dir, 'home') } };
}

test('--from npm: installs the package on the host, pinned by its lockfile, and the result validates', { timeout: 180_000 }, async (t) => {
  const { dir, layer, env } = await scratch(t);
  const r = await runCli(['new', 'everything', '--from', `npm:${EVERYTHING}@${EVERYTHING_VERSION}`, '--layer', layer, '--tag', IMAGE, '--', 'stdio'], { env, cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /tongs: 1 definition file\(s\) valid; active tongs: everything \(user, mcp over stdio\)/);
  assert.match(r.stderr, /next, see how it is wired, then list it in Claude Code:\ntongs: {3}tongs plan --harness claude --user-tongs \S+layer -- docker run --rm tongs-anvil:local claude\ntongs: {3}make -f \S+Makefile run_claude USER_TONGS=\S+layer 'CLAUDE_ARGS=mcp list'\n/);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'layer/everything.yaml', 'layer/everything/Dockerfile',
    'layer/everything/package.json', 'layer/everything/package-lock.json', 'layer/everything/node_modules',
  ]);
  const definition = parse(await readFile(path.join(layer, 'everything.yaml'), 'utf8'));
  assert.equal(definition.image, IMAGE);
  assert.deepEqual(definition.command, ['node', `/app/node_modules/${EVERYTHING}/dist/index.js`, 'stdio']);
  const pkg = JSON.parse(await readFile(path.join(layer, 'everything/package.json'), 'utf8'));
  assert.equal(pkg.dependencies[EVERYTHING], EVERYTHING_VERSION, 'the exact version is pinned');
  const lock = JSON.parse(await readFile(path.join(layer, 'everything/package-lock.json'), 'utf8'));
  assert.equal(lock.packages[`node_modules/${EVERYTHING}`].version, EVERYTHING_VERSION);
  assert.deepEqual((await readdir(layer)).sort(), ['everything', 'everything.yaml'], 'no staging directory is left');

  const again = await runCli(['validate', '--user-tongs', layer], { env, cwd: dir });
  assert.equal(again.status, 0, again.stderr);
  const twice = await runCli(['new', 'everything', '--from', `npm:${EVERYTHING}`, '--layer', layer], { env, cwd: dir });
  assert.equal(twice.status, 1);
  assert.match(twice.stderr, /layer\/everything\.yaml already exists/);
});

test('--from pypi: and --image scaffold without installing, and validate; the default layer is $TONGS_HOME/tongs', async (t) => {
  const { dir, layer, env } = await scratch(t);
  const pypi = await runCli(['new', 'fetch', '--from', 'pypi:mcp-server-fetch==2025.4.7'], { env, cwd: dir });
  assert.equal(pypi.status, 0, pypi.stderr);
  assert.match(pypi.stderr, /active tongs: fetch \(user, mcp over stdio\)/);
  assert.match(pypi.stderr, /building it needs PyPI and a Python base image/);
  assert.deepEqual(pypi.stdout.trim().split('\n'), ['home/tongs/fetch.yaml', 'home/tongs/fetch/Dockerfile']);
  assert.match(await readFile(path.join(dir, 'home/tongs/fetch/Dockerfile'), 'utf8'), /RUN pip install --no-cache-dir "mcp-server-fetch==2025\.4\.7"/);

  const image = await runCli(['new', 'py', '--image', 'tongs-test-stdio-py:local', '--layer', layer, '--', 'python3', '/srv/server.py'], { env, cwd: dir });
  assert.equal(image.status, 0, image.stderr);
  assert.match(image.stderr, /active tongs: py \(user, mcp over stdio\)/);
  assert.deepEqual(parse(await readFile(path.join(layer, 'py.yaml'), 'utf8')).command, ['python3', '/srv/server.py']);

  const workspace = path.join(dir, 'project');
  await mkdir(workspace);
  const ws = await runCli(['new', 'git', '--from', 'pypi:mcp-server-git', '--layer', 'workspace', '--workspace', workspace], { env, cwd: dir });
  assert.equal(ws.status, 0, ws.stderr);
  assert.match(ws.stderr, /active tongs: fetch \(user, mcp over stdio\), git \(workspace, mcp over stdio\)/, 'validated with the other layers');
  assert.match(ws.stderr, /the first launch asks you to approve it/);
  assert.deepEqual(await readdir(path.join(workspace, '.tongs/tongs')).then((e) => e.sort()), ['git', 'git.yaml']);
});

test('a failing npm install and a colliding name leave nothing half-written', { timeout: 120_000 }, async (t) => {
  const { dir, layer, env } = await scratch(t);
  // No registry answers: npm fails at once (nothing for this name is in its cache).
  const offline = { ...env, npm_config_registry: 'http://127.0.0.1:9/', npm_config_fetch_retries: '0' };
  const r = await runCli(['new', 'nope', '--from', `npm:tongs-no-such-package-${RUN_ID}@1.0.0`, '--layer', layer], { env: offline, cwd: dir });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /npm could not install tongs-no-such-package-\S+@1\.0\.0 \(exit \d+; nothing was written\)/);
  assert.equal(r.stdout, '');
  assert.deepEqual(await readdir(layer), [], 'the layer holds nothing, not even the staging directory');

  // Another layer's tong already answers to the alias `shared`.
  const other = path.join(dir, 'org');
  await mkdir(other);
  await writeFile(path.join(other, 'db.yaml'), 'image: x:local\ninterface: { kind: mcp, name: shared, port: 8080 }\n');
  const c = await runCli(['new', 'shared', '--from', 'pypi:x', '--layer', layer, '--org-tongs', other], { env, cwd: dir });
  assert.equal(c.status, 1, c.stderr);
  assert.match(c.stderr, /shared/);
  assert.match(c.stderr, /problem\(s\) in tong definitions/);
  assert.deepEqual(await readdir(layer), []);
});

test('a tong made by tongs new --from npm: builds on the real engine and answers MCP tool calls', { timeout: 300_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  const { dir, layer, env } = await scratch(t);
  t.after(async () => {
    await cleanupByLabel(runtime, TEST_LABEL, RUN_ID);
    await dockerCli(['image', 'rm', '-f', IMAGE]);
  });
  const made = await runCli(['new', 'everything', '--from', `npm:${EVERYTHING}@${EVERYTHING_VERSION}`, '--layer', layer, '--tag', IMAGE, '--quiet', '--', 'stdio'], { env, cwd: dir });
  assert.equal(made.status, 0, made.stderr);

  // The anvil: the stdio tests' MCP client, bundled here into this test's own directory.
  const anvilDir = path.join(dir, 'anvil');
  await mkdir(anvilDir);
  await promisify(execFile)(path.join(REPO_ROOT, 'node_modules/.bin/esbuild'), [
    path.join(REPO_ROOT, 'test/fakes/stdio-anvil-client.ts'), '--bundle', '--platform=node', '--format=esm', '--target=node18', '--log-level=warning',
    `--banner:js=import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);`, `--outfile=${path.join(anvilDir, 'anvil-client.mjs')}`,
  ]);
  const call = [{ server: 'everything', tool: 'echo', arguments: { message: 'forged by tongs new' } }];
  const p = startTongs(['run', '--harness', 'claude', '--user-tongs', layer, '--', 'docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`,
    '-v', `${anvilDir}:/t:ro`, '-e', `CALL=${JSON.stringify(call)}`, BASE_IMAGE, 'node', '/t/anvil-client.mjs', '--'], { env });
  const r = await p.done;
  assert.deepEqual(await leftovers(runtime, LABEL_LAUNCHER_PID, String(p.child.pid)), [], 'the session left nothing behind');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`building image ${IMAGE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} for tong 'everything'`), 'tongs run built the image from build:');
  const result = JSON.parse(/^RESULT (.*)$/m.exec(r.stdout)?.[1] ?? 'null') as { tools: string[]; result: { content: { text: string }[] } } | null;
  assert.ok(result, r.stdout);
  assert.ok(result.tools.includes('echo'), result.tools.join(', '));
  assert.equal(result.result.content[0]?.text, 'Echo: forged by tongs new');
});

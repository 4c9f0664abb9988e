// The GitHub tong image (tongs-github:local, `make github-image`) on a real Docker network: the tong
// reaches a GitHub fake running in another container by its DNS alias, answers a real MCP client
// through its published port, runs as nobody, carries no dev files, and exits 0 on `docker stop`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BASE_IMAGE, REPO_ROOT, requireDocker, TEST_LABEL } from '../support/docker.js';

const run = promisify(execFile);
const IMAGE = 'tongs-github:local';
const RUN_ID = `github-image-${process.pid}-${randomBytes(3).toString('hex')}`;
const TOKEN = `ghp_image_${randomBytes(8).toString('hex')}`;
const BEARER = `bearer-${randomBytes(8).toString('hex')}`;

async function docker(...args: string[]): Promise<string> {
  return (await run('docker', args, { maxBuffer: 16 * 1024 * 1024 })).stdout.trim();
}

/** A container's log (the tong and the fake write to stderr). */
async function logsOf(container: string): Promise<string> {
  const { stdout, stderr } = await run('docker', ['logs', container], { maxBuffer: 16 * 1024 * 1024 });
  return stdout + stderr;
}

/** Builds the image when absent or stale (a no-op when its inputs are unchanged). */
async function ensureImage(): Promise<void> {
  const staged = existsSync(join(REPO_ROOT, 'sidecars/github/.build/app/node_modules/.package-lock.json'));
  if (staged) await run('bash', [join(REPO_ROOT, 'sidecars/github/build-image.sh'), IMAGE, BASE_IMAGE], { cwd: REPO_ROOT });
  else await run('make', ['-s', 'github-image'], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
}

// Runs the fake from the compiled tests, with the checkout's node_modules (its GraphQL endpoint uses graphql-js).
const FAKE_SCRIPT = `
import('/w/dist/test/fakes/github-api.js').then(async ({ FakeGitHub }) => {
  const fake = new FakeGitHub({ token: process.env.FAKE_TOKEN });
  await fake.start(9999, '0.0.0.0');
  fake.addRepo('acme', 'ops');
  fake.addPull('acme', 'ops', { title: 'From the fake in its own container', labels: ['tongs'], files: ['checks/a.md'] });
  fake.addPull('acme', 'ops', { title: 'Unlabelled', files: ['x.md'] });
  process.stderr.write('fake ready\\n');
});`;

test('the tong image serves MCP on a Docker network and talks to GitHub by alias', async (t) => {
  if (!(await requireDocker(t))) return;
  const t0 = Date.now();
  const phase = (name: string) => t.diagnostic(`${name}: ${Date.now() - t0} ms`);
  await ensureImage();
  phase('image ready');
  t.after(async () => {
    const ids = await docker('ps', '-aq', '--filter', `label=${TEST_LABEL}=${RUN_ID}`);
    if (ids) await docker('rm', '-f', ...ids.split('\n'));
    await docker('network', 'rm', RUN_ID).catch(() => '');
  });

  await docker('network', 'create', '--label', `${TEST_LABEL}=${RUN_ID}`, RUN_ID);
  await docker(
    'run', '-d', '--name', `${RUN_ID}-fake`, '--network', RUN_ID, '--network-alias', 'fakegh', '--label', `${TEST_LABEL}=${RUN_ID}`,
    '-v', `${join(REPO_ROOT, 'dist')}:/w/dist:ro`, '-v', `${join(REPO_ROOT, 'package.json')}:/w/package.json:ro`,
    '-v', `${join(REPO_ROOT, 'node_modules')}:/w/node_modules:ro`,
    '-e', `FAKE_TOKEN=${TOKEN}`, '--user', '65534:65534', BASE_IMAGE, 'node', '-e', FAKE_SCRIPT,
  );
  const tong = await docker(
    'run', '-d', '--name', `${RUN_ID}-github`, '--network', RUN_ID, '--network-alias', 'github', '--label', `${TEST_LABEL}=${RUN_ID}`,
    '-p', '127.0.0.1::8080',
    '-e', `GITHUB_TOKEN=${TOKEN}`, '-e', 'GITHUB_API_URL=http://fakegh:9999', '-e', 'TONG_TIER=2', '-e', 'TONG_PR_ENABLED=true',
    '-e', `TONGS_MCP_TOKEN=${BEARER}`, '-e', 'TONGS_TONG_NAME=github', '-e', 'TONGS_ALIASES=github',
    IMAGE,
  );

  phase('containers started');
  const hostPort = (await docker('port', tong, '8080/tcp')).split('\n')[0]!.split(':').at(-1)!;
  const url = new URL(`http://127.0.0.1:${hostPort}/mcp`);
  // Connect only once the server listens: a connection to the published port before that can hang
  // in docker-proxy until its dial times out.
  for (let i = 0; i < 150 && !/listening on/.test(await logsOf(tong)); i++) await new Promise((r) => setTimeout(r, 100));
  let client: Client | undefined;
  for (let i = 0; i < 100 && !client; i++) {
    try {
      const c = new Client({ name: 'image-test', version: '1.0.0' });
      await c.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${BEARER}` } } }));
      client = c;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  phase('tong answers MCP');
  assert.ok(client, `the tong answered MCP; logs: ${await logsOf(tong).catch(() => '')}`);
  for (let i = 0; i < 100 && !/fake ready/.test(await logsOf(`${RUN_ID}-fake`)); i++) await new Promise((r) => setTimeout(r, 100));

  phase('fake ready');
  const r = (await client.callTool({ name: 'list_prs', arguments: { repo_owner: 'acme', repo_name: 'ops' } })) as CallToolResult;
  assert.equal(r.isError, undefined, JSON.stringify(r.content));
  assert.deepEqual(r.structuredContent, { prs: [{ number: 1, title: 'From the fake in its own container', files: ['checks/a.md'] }] });
  await client.close();

  // Non-root, and only what the server needs.
  assert.equal(await docker('exec', tong, 'id', '-u'), '65534');
  // One bundled file, its loader and its V8 code cache (issue #12 "Fast start-up"): no node_modules,
  // sources, maps or other code; none of it writable by the server.
  const contents = await docker('exec', tong, 'sh', '-c', 'ls -A /app');
  assert.deepEqual(contents.split(/\s+/).filter(Boolean), ['start.cjs', 'tongs-github.cjs', 'tongs-github.cjs.v8-cache']);
  assert.equal(await docker('exec', tong, 'sh', '-c', 'test -w /app/tongs-github.cjs.v8-cache || test -w /app || echo read-only'), 'read-only');

  // The token is not in the logs; docker stop (SIGTERM) ends it with status 0.
  const logs = await logsOf(tong);
  assert.match(logs, /tongs: github: listening on 0\.0\.0\.0:8080\/mcp/);
  // The cache the image build made is the one V8 takes: same node, same flags as the ENTRYPOINT.
  assert.doesNotMatch(logs, /code cache was refused/);
  assert.ok(!logs.includes(TOKEN) && !logs.includes(BEARER));
  phase('checks done');
  await docker('stop', '-t', '10', tong);
  phase('stopped');
  assert.equal(await docker('inspect', '-f', '{{.State.ExitCode}}', tong), '0');
});

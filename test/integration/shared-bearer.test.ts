/**
 * A shared mcp tong on the real engine keeps one bearer token across sessions (issue #6 "Per-session
 * MCP bearer", issue #3 "Shared tongs"): the second session reuses the container and its emitted config
 * still authenticates; when the stored token is lost, the next session recreates the tong with the new
 * one instead of reusing a tong that would refuse it; a request without the token is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { LABEL_TONG } from '../../launcher/core/labels.js';
import {
  BASE_IMAGE,
  REPO_ROOT,
  TEST_LABEL,
  buildTestImages,
  requireDocker,
  runTongs,
  tempDir,
  tongLayer,
} from '../support/docker.js';

const RUN_ID = randomBytes(4).toString('hex');

test('a shared mcp tong is reused with its stored bearer, and recreated when the token changes', { timeout: 300_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await buildTestImages('tongs-test-mcp:local');
  const name = `sharedmcp-${RUN_ID}`;
  t.after(async () => {
    for (const c of await runtime.listContainers({ [LABEL_TONG]: name })) await runtime.removeContainer(c.id);
  });
  const home = await tempDir(t, 'tongs-home-');
  const layer = await tongLayer(t, {
    [name]: `lifecycle: shared
image: tongs-test-mcp:local
env: { TONG_MARK: "${RUN_ID}" }
interface: { kind: mcp, name: ${name}, port: 8080 }
readiness: { mode: mcp, timeout: 20s }
`,
  });
  const script = await readFile(path.join(REPO_ROOT, 'test/fixtures/tongs/anvil/mcp-call.cjs'), 'utf8');
  // A caller on the session network that lacks the bearer.
  const noBearer = `fetch('http://${name}:8080/mcp', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }) })
    .then((r) => console.log('NOBEARER ' + r.status))`;

  const session = async () => {
    const r = await runTongs(
      ['run', '--harness', 'claude', '--repo-tongs', layer, '--', 'docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`,
        '-e', `CALL_SERVER=${name}`, BASE_IMAGE, 'node', '-e', script, '--'],
      { env: { TONGS_HOME: home } },
    );
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const result = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('RESULT '))!.slice(7)) as { structuredContent: { mark: string; tokenRequired: boolean } };
    assert.equal(result.structuredContent.mark, RUN_ID);
    assert.equal(result.structuredContent.tokenRequired, true, 'the tong enforces a bearer');
    const [container] = await runtime.listContainers({ [LABEL_TONG]: name });
    assert.ok(container, 'the shared tong outlives the session');
    return { id: container.id, stderr: r.stderr };
  };

  const first = await session();
  const second = await session();
  assert.equal(second.id, first.id, 'reused across sessions');
  assert.match(second.stderr, /1 shared reused/);

  // Without the bearer the shared tong refuses, from a container on a network it is connected to.
  const r = await runTongs(
    ['run', '--harness', 'claude', '--repo-tongs', layer, '--', 'docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`,
      BASE_IMAGE, 'node', '-e', noBearer, '--'],
    { env: { TONGS_HOME: home } },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /NOBEARER 401/);

  // The stored token is lost: the next session mints another and must not reuse the old container.
  await rm(path.join(home, 'shared-tokens'), { recursive: true, force: true });
  const third = await session();
  assert.notEqual(third.id, first.id, 'recreated for the new token');
});

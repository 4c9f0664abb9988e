// MCP conformance through the stdio bridge (issue #13 "Conformance"): the official suite
// (@modelcontextprotocol/conformance 0.1.12, the last that runs on Node 20) against one server in
// its own Streamable HTTP mode and in its stdio mode behind the bridge
// (dist/sidecars/stdio-bridge/src/main.js). Every scenario that passes natively must pass through
// the bridge. Two servers: the reference "everything" server (@modelcontextprotocol/server-everything)
// and test/fakes/stdio-conformance-server.ts, which implements the tools the suite's scenarios call
// (sampling, elicitation, progress, logging among them), so those are relayed for real.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EVERYTHING_CLI as EVERYTHING, freePort, lostScenarios, runConformance, startListening } from '../support/conformance.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const FIXTURE = path.join(root, 'dist/test/fakes/stdio-conformance-server.js');
const BRIDGE = path.join(root, 'dist/sidecars/stdio-bridge/src/main.js');

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGTERM');
});

async function compare(native: string[], bridged: string[], nativeEnv: Record<string, string> = {}) {
  const [np, bp] = [await freePort(), await freePort()];
  await startListening(children, native.map((a) => a.replace('{PORT}', String(np))), np, { PORT: String(np), ...nativeEnv });
  await startListening(children, [process.execPath, BRIDGE, '--port', String(bp), '--', ...bridged], bp, { TONGS_TONG_NAME: 'conformance', TONGS_ALIASES: 'conformance' });
  const [direct, through] = await Promise.all([runConformance(`http://127.0.0.1:${np}/mcp`), runConformance(`http://127.0.0.1:${bp}/mcp`)]);
  const lost = lostScenarios(direct, through);
  assert.deepEqual(lost, [], `scenarios that pass natively but fail through the bridge: ${lost.join(', ')}`);
  return { direct, through };
}

test('the conformance fixture server: every scenario that passes natively passes through the bridge (sampling, elicitation, progress, logging included)', { timeout: 300_000 }, async () => {
  const { direct, through } = await compare([process.execPath, FIXTURE, 'http', '{PORT}'], [process.execPath, FIXTURE, 'stdio']);
  for (const name of ['tools-call-sampling', 'tools-call-elicitation', 'tools-call-with-progress', 'tools-call-with-logging', 'resources-subscribe', 'server-sse-multiple-streams']) {
    assert.equal(direct.get(name), true, `${name} passes natively`);
    assert.equal(through.get(name), true, `${name} passes through the bridge`);
  }
  const passed = [...through.values()].filter(Boolean).length;
  process.stderr.write(`conformance fixture: ${[...direct.values()].filter(Boolean).length} scenarios pass natively, ${passed} through the bridge\n`);
});

test('the reference everything server: every scenario that passes in its Streamable HTTP mode passes in its stdio mode through the bridge', { timeout: 300_000 }, async () => {
  const { direct, through } = await compare([process.execPath, EVERYTHING, 'streamableHttp'], [process.execPath, EVERYTHING, 'stdio']);
  process.stderr.write(`server-everything: ${[...direct.values()].filter(Boolean).length} scenarios pass natively, ${[...through.values()].filter(Boolean).length} through the bridge\n`);
});

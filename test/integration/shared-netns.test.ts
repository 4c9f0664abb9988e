/**
 * Shared network namespaces on a real engine (issue #12 item 4, launcher/core/netns.ts): tongs whose
 * ports differ join one holder's namespace, and everything a user sees stays as it was. The anvil calls
 * every tong by its alias through the emitted MCP config, on the session network and behind the relay;
 * a tong on a port already taken keeps its own endpoint; the joined tongs have no NET_RAW (checked in
 * the running container, not only in its spec); and after the launcher exits nothing is left (Podman
 * removes a holder only after the tongs that joined it).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { LABEL_ROLE, LABEL_SESSION } from '../../launcher/core/labels.js';
import type { ContainerRuntime } from '../../launcher/shell/engine/runtime.js';
import {
  BASE_IMAGE,
  TEST_LABEL,
  buildTestImages,
  cleanupByLabel,
  dockerCli,
  launchTongs,
  requireDocker,
  sessionLeftovers,
  sessionOfLauncher,
  tongLayer,
} from '../support/docker.js';

const RUN_ID = randomBytes(4).toString('hex');
const RELAY_ANVIL = process.env.TONGS_TEST_ANVIL_IMAGE || 'tongs-anvil:local';

/** Three tongs on ports 8080-8082 (one namespace) and a fourth on 8080 again (an endpoint of its own). */
const layerOf = (t: TestContext) =>
  tongLayer(
    t,
    Object.fromEntries(
      [
        ['one', 8080],
        ['two', 8081],
        ['three', 8082],
        ['again', 8080],
      ].map(([name, port]) => [
        name,
        `image: tongs-test-mcp:local\nenv: { PORT: "${port}", TONG_MARK: ${name}-${RUN_ID} }\ninterface: { kind: mcp, port: ${port}, name: ${name} }\nreadiness: { mode: mcp, timeout: 30s }\n`,
      ]),
    ),
  );

/**
 * The anvil: `whoami` on every server of /run/tongs/mcp.json, a `RESULT {server: mark}` line, then it
 * stays up (the test inspects the session, then stops the launcher).
 */
const CALL_ALL = `const fs = require('node:fs');
async function rpc(server, body, session) {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(server.headers || {}) };
  if (session) headers['mcp-session-id'] = session;
  const res = await fetch(server.url, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(server.url + ' HTTP ' + res.status);
  if (body.id === undefined) return {};
  const line = text.split(/\\r?\\n/).find((l) => l.startsWith('data:'));
  return { reply: JSON.parse(line ? line.slice(5) : text), session: res.headers.get('mcp-session-id') };
}
(async () => {
  const servers = JSON.parse(fs.readFileSync('/run/tongs/mcp.json', 'utf8')).mcpServers;
  const out = {};
  for (const [name, server] of Object.entries(servers)) {
    try {
      const init = await rpc(server, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'a', version: '1' } } });
      await rpc(server, { jsonrpc: '2.0', method: 'notifications/initialized' }, init.session);
      const call = await rpc(server, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami', arguments: {} } }, init.session);
      out[name] = JSON.parse(call.reply.result.content[0].text).mark;
    } catch (e) { out[name] = 'FAILED ' + e.message; }
  }
  console.log('RESULT ' + JSON.stringify(out));
  setInterval(() => {}, 1000);
})();`;

async function session(t: TestContext, runtime: ContainerRuntime, relay: boolean) {
  const layer = await layerOf(t);
  const args = [
    'run', '--quiet', '--repo-tongs', layer, '--harness', 'claude', ...(relay ? ['--anvil-relay'] : []), '--',
    'docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, relay ? RELAY_ANVIL : BASE_IMAGE, 'node', '-e', CALL_ALL, '--',
  ];
  const p = launchTongs(t, runtime, args);
  await p.waitFor(/^RESULT /m, 120_000);
  const result = JSON.parse(/^RESULT (.*)$/m.exec(p.output().stdout)![1]!) as Record<string, string>;
  assert.deepEqual(result, { one: `one-${RUN_ID}`, two: `two-${RUN_ID}`, three: `three-${RUN_ID}`, again: `again-${RUN_ID}` }, 'every tong answers at its alias and port');

  const id = await sessionOfLauncher(runtime, p.child.pid!);
  const containers = await runtime.listContainers({ [LABEL_SESSION]: id });
  const holders = containers.filter((c) => c.labels[LABEL_ROLE] === 'netns');
  assert.equal(holders.length, 1, 'one namespace holder');
  const holder = (await runtime.inspectContainer(holders[0]!.id))!;
  const tongName = (name: string) => containers.find((c) => c.labels['dev.tongs.tong'] === name)!;
  const mode = async (name: string) => (await dockerCli(['inspect', '-f', '{{.HostConfig.NetworkMode}} {{.HostConfig.CapDrop}}', tongName(name).id])).stdout.trim();
  // First fit in plan order: 'two', 'three' and one of the two tongs on 8080 join; the other keeps
  // its own endpoint on the session network.
  const splitMode = (text: string) => [text.slice(0, text.indexOf(' ')), text.slice(text.indexOf(' ') + 1)];
  const joined: string[] = [];
  for (const name of ['one', 'two', 'three', 'again']) {
    const [networkMode, capDrop] = splitMode(await mode(name));
    if (networkMode !== `container:${holder.id}`) {
      assert.ok(!networkMode?.startsWith('container:'), `${name}: ${networkMode}`);
      continue;
    }
    joined.push(name);
    // Docker lists the capability dropped; Podman (whose default set lacks NET_RAW) lists its own set.
    assert.ok(capDrop?.includes('NET_RAW') || capDrop?.startsWith('[AUDIT_WRITE'), `${name}: CapDrop ${capDrop}`);
    // In the running tong: bit 13 (CAP_NET_RAW) is not in its bounding set.
    const status = await dockerCli(['exec', tongName(name).id, 'cat', '/proc/1/status']);
    const bounding = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(status.stdout)![1]}`);
    assert.equal(bounding & (1n << 13n), 0n, `${name} runs without NET_RAW`);
  }
  assert.equal(joined.length, 3, `three tongs joined the holder: ${joined.join(', ')}`);
  assert.ok(joined.includes('two') && joined.includes('three'), joined.join(', '));
  const [net] = Object.keys(holder.networks);
  assert.deepEqual(holder.networks[net!]!.aliases.filter((a) => joined.includes(a)).sort(), [...joined].sort(), 'the holder carries their aliases');

  p.child.kill('SIGTERM');
  await p.done;
  assert.deepEqual(await sessionLeftovers(runtime, id), [], 'nothing of the session is left, the holder included');
}

for (const [relay, title] of [
  [false, 'tongs with distinct ports share a namespace: the anvil on the session network reaches each by its alias'],
  [true, 'behind the relay too: every tong of the shared namespace answers through its socket'],
] as const) {
  test(title, { timeout: 180_000 }, async (t) => {
    const runtime = await requireDocker(t);
    if (!runtime) return;
    await buildTestImages('tongs-test-mcp:local');
    t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));
    await session(t, runtime, relay);
  });
}

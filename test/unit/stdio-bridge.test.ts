// The stdio bridge (issue #13 item 1) in process on a loopback port, in front of a real stdio MCP
// server (test/fakes/stdio-conformance-server.ts, a child process): relaying, one child shared by
// sessions, the child's environment, a crashed child restarted with a tool error for the calls in
// flight, garbage on stdout, a server that exits at once, and the shared Origin, bearer and body rules.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { childEnvironment, createStdioBridge, type BridgeOptions, type StdioBridge } from '../../sidecars/stdio-bridge/src/bridge.js';

const SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fakes/stdio-conformance-server.js');
const BEARER = 'bridge-bearer-0123456789abcdef';
const running: StdioBridge[] = [];
after(async () => {
  for (const b of running) await b.shutdown();
});

async function serve(extra: Partial<BridgeOptions> = {}) {
  const lines: string[] = [];
  const stderr = new PassThrough();
  let childStderr = '';
  stderr.on('data', (c: Buffer) => (childStderr += c.toString()));
  const bridge = createStdioBridge({
    command: [process.execPath, SERVER, 'stdio'],
    env: childEnvironment({ ...process.env, TONGS_MCP_TOKEN: BEARER, DATABASE_URL: 'postgres://u:s3cret@db/x' }),
    allowedOriginHosts: ['stdio', 'db-mcp'],
    log: (l) => lines.push(l),
    childStderr: stderr,
    ...extra,
  });
  running.push(bridge);
  await bridge.start();
  await new Promise<void>((resolve) => bridge.server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(bridge.server.address() as AddressInfo).port}/mcp`;
  return { bridge, url, lines, childStderr: () => childStderr };
}

async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'bridge-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

const textOf = (r: unknown) => ((r as { content: { text?: string }[] }).content[0]?.text ?? '');

describe('stdio bridge: relaying', () => {
  test('a tool call, the server info and the tool list come from the stdio server', async () => {
    const { url } = await serve({ mcpToken: undefined });
    const client = await connect(url);
    assert.equal(client.getServerVersion()?.name, 'tongs-conformance-server');
    const tools = await client.listTools();
    assert.ok(tools.tools.some((t) => t.name === 'test_simple_text'));
    assert.equal(textOf(await client.callTool({ name: 'test_simple_text', arguments: {} })), 'This is a simple text response for testing.');
    await client.close();
  });

  test('the child gets the tong environment (secrets included) but never the bridge bearer', async () => {
    const { url } = await serve({ mcpToken: BEARER });
    const client = await connect(url, { authorization: `Bearer ${BEARER}` });
    assert.equal(textOf(await client.callTool({ name: 'env', arguments: { name: 'DATABASE_URL' } })), 'postgres://u:s3cret@db/x');
    assert.equal(textOf(await client.callTool({ name: 'env', arguments: { name: 'TONGS_MCP_TOKEN' } })), '(unset)');
    await client.close();
  });

  test('two sessions share one child, and progress goes to the request that asked for it', async () => {
    const { url, bridge } = await serve();
    const [a, b] = [await connect(url), await connect(url)];
    const [pa, pb] = [textOf(await a.callTool({ name: 'pid', arguments: {} })), textOf(await b.callTool({ name: 'pid', arguments: {} }))];
    assert.equal(pa, pb);
    assert.equal(String(bridge.childPid()), pa);
    assert.equal(bridge.sessions(), 2);
    const seenA: number[] = [];
    const seenB: number[] = [];
    const [ra, rb] = await Promise.all([
      a.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, { onprogress: (p) => seenA.push(p.progress) }),
      b.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, { onprogress: (p) => seenB.push(p.progress) }),
    ]);
    assert.deepEqual(seenA, [0, 50, 100]);
    assert.deepEqual(seenB, [0, 50, 100]);
    // The client's own progress token comes back, not the bridge's.
    assert.notEqual(textOf(ra), textOf(rb));
    await Promise.all([a.close(), b.close()]);
  });
});

describe('stdio bridge: a child that fails', () => {
  test('a crashed child is restarted; the calls in flight get a tool error naming the exit and its stderr', async () => {
    const { url, bridge, lines } = await serve();
    const client = await connect(url);
    const before = textOf(await client.callTool({ name: 'pid', arguments: {} }));
    const slow = client.callTool({ name: 'slow', arguments: { ms: 5000 } });
    await new Promise((r) => setTimeout(r, 100));
    const crashed = await client.callTool({ name: 'crash', arguments: {} });
    assert.equal(crashed.isError, true);
    assert.match(textOf(crashed), /exited; its stderr ends:\nconformance-server: crashing on purpose/);
    const interrupted = await slow;
    assert.equal(interrupted.isError, true, 'the other call in flight gets a tool error too');
    assert.match(textOf(interrupted), /restarted it; call again/);
    const after = textOf(await client.callTool({ name: 'pid', arguments: {} }));
    assert.notEqual(after, before, 'a new child answers');
    assert.equal(bridge.restarts(), 1);
    assert.ok(lines.some((l) => /exited; 2 request\(s\) in flight get an error; restarting it/.test(l)), lines.join('\n'));
    await client.close();
  });

  test('a line on stdout that is not JSON-RPC is logged, and the bridge goes on', async () => {
    const { url, lines } = await serve();
    const client = await connect(url);
    assert.equal(textOf(await client.callTool({ name: 'garbage', arguments: {} })), 'still here');
    assert.ok(lines.some((l) => l.includes('wrote a line on stdout that is not a JSON-RPC message')), lines.join('\n'));
    assert.equal(textOf(await client.callTool({ name: 'test_simple_text', arguments: {} })), 'This is a simple text response for testing.');
    await client.close();
  });

  test('a server that exits at once fails start with the tail of its stderr', async () => {
    const bridge = createStdioBridge({
      command: [process.execPath, SERVER, 'stdio'],
      env: childEnvironment({ ...process.env, CONFORMANCE_SERVER_EXIT_AT_ONCE: '1' }),
      allowedOriginHosts: [],
      childStderr: new PassThrough(),
    });
    running.push(bridge);
    await assert.rejects(bridge.start(), /exited; its stderr ends:\nconformance-server: missing DATABASE_URL, giving up/);
  });

  test('a command missing from the image fails start with a message that says so', async () => {
    const bridge = createStdioBridge({ command: ['no-such-mcp-server', '--stdio'], env: childEnvironment(process.env), allowedOriginHosts: [], childStderr: new PassThrough() });
    running.push(bridge);
    await assert.rejects(bridge.start(), /cannot start the stdio server "no-such-mcp-server --stdio".*is "no-such-mcp-server" in the tong's image and on its PATH/);
  });
});

describe('stdio bridge: the shared request rules', () => {
  const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  const post = (url: string, headers: Record<string, string>, body = init) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });

  test('no bearer: 401; wrong Origin: 403; a body over the limit: 413; a tong alias as Origin passes', async () => {
    const { url } = await serve({ mcpToken: BEARER, maxBodyBytes: 1024 });
    assert.equal((await post(url, {})).status, 401);
    assert.equal((await post(url, { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await post(url, { authorization: `Bearer ${BEARER}`, origin: 'http://evil.example' })).status, 403);
    assert.equal((await post(url, { authorization: `Bearer ${BEARER}` }, JSON.stringify({ pad: 'x'.repeat(4096) }))).status, 413);
    const ok = await post(url, { authorization: `Bearer ${BEARER}`, origin: 'http://db-mcp:8080' });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  });

  test('an unknown session id: 404; a request without one that is not initialize: 400', async () => {
    const { url } = await serve();
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    assert.equal((await post(url, { 'mcp-session-id': 'nope' }, list)).status, 404);
    assert.equal((await post(url, {}, list)).status, 400);
  });
});

describe('stdio bridge: no restart loop', () => {
  test('a child that dies again right after its restart is started again by the next request, not in a loop', async () => {
    const { url, bridge, lines } = await serve();
    const client = await connect(url);
    await client.callTool({ name: 'crash', arguments: {} });
    await new Promise((r) => setTimeout(r, 300)); // the eager restart
    await client.callTool({ name: 'crash', arguments: {} });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(bridge.restarts(), 1, 'the second crash within a second is not restarted at once');
    assert.ok(lines.some((l) => l.endsWith('the next request starts it again')), lines.join('\n'));
    assert.equal(textOf(await client.callTool({ name: 'test_simple_text', arguments: {} })), 'This is a simple text response for testing.');
    assert.equal(bridge.restarts(), 2);
    await client.close();
  });
});

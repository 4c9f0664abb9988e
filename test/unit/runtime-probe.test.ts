/**
 * The in-network readiness probe program (launcher/shell/apply/readiness.ts PROBE_SCRIPT), run here with the
 * host's node against servers on 127.0.0.1 exactly as the probe container runs it (`node -e`, targets on
 * stdin, JSON lines out): tcp connect, MCP `initialize` over Streamable HTTP (SSE and JSON answers) with
 * and without the bearer, timeouts with the detail a user reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { PROBE_SCRIPT, probeTargets, startNetworkProbe, type ProbeTarget } from '../../launcher/shell/apply/probe.js';
import { FakeRuntime } from '../fakes/fake-runtime.js';
import { buildPlan } from '../support/plan-builder.js';

interface Line {
  tong: string;
  ready: boolean;
  ms?: number;
  detail?: string;
}

function runProbe(targets: ProbeTarget[]): Promise<{ lines: Line[]; status: number | null; argv: string[] }> {
  return new Promise((resolve, reject) => {
    const argv = ['-e', PROBE_SCRIPT];
    const child = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('close', (status) =>
      resolve({ lines: out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line), status, argv }),
    );
    child.stdin.end(JSON.stringify({ targets }));
  });
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** A stateless MCP server (SDK) on 127.0.0.1 requiring `token` when given. */
async function mcpServer(token: string | null, json = false): Promise<{ port: number; close: () => void }> {
  const server = http.createServer(async (req, res) => {
    if (token && req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const mcp = new McpServer({ name: 'probe-test', version: '1' });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: json });
    res.on('close', () => void transport.close());
    await mcp.connect(transport);
    await transport.handleRequest(req, res, JSON.parse(Buffer.concat(chunks).toString()));
  });
  const port = await listen(server);
  return { port, close: () => server.close() };
}

test('tcp: ready once the port accepts; a closed port times out with "refused"', async () => {
  const open = net.createServer((s) => s.end());
  const openPort = await listen(open);
  const closed = net.createServer();
  const closedPort = await listen(closed);
  closed.close();
  try {
    const { lines, status } = await runProbe([
      { tong: 'up', mode: 'tcp', host: '127.0.0.1', port: openPort, path: null, timeoutMs: 3000 },
      { tong: 'down', mode: 'tcp', host: '127.0.0.1', port: closedPort, path: null, timeoutMs: 400 },
    ]);
    const by = new Map(lines.map((l) => [l.tong, l]));
    assert.equal(by.get('up')?.ready, true);
    assert.deepEqual(by.get('down'), { tong: 'down', ready: false, detail: `tcp 127.0.0.1:${closedPort} refused` });
    assert.equal(status, 1);
  } finally {
    open.close();
  }
});

test('tcp: a port that starts listening later is waited for', async () => {
  const late = net.createServer((s) => s.end());
  const probe = net.createServer();
  const port = await listen(probe);
  probe.close();
  const t0 = Date.now();
  setTimeout(() => late.listen(port, '127.0.0.1'), 800);
  try {
    const { lines, status } = await runProbe([{ tong: 'late', mode: 'tcp', host: '127.0.0.1', port, path: null, timeoutMs: 10_000 }]);
    assert.equal(lines[0]?.ready, true);
    assert.ok(Date.now() - t0 >= 800, 'ready only once the port listens');
    assert.equal(status, 0);
  } finally {
    late.close();
  }
});

test('tcp: an unresolvable alias reports "name not resolved"', async () => {
  const { lines } = await runProbe([{ tong: 'x', mode: 'tcp', host: 'no-such-host.invalid', port: 80, path: null, timeoutMs: 300 }]);
  assert.deepEqual(lines[0], { tong: 'x', ready: false, detail: 'tcp no-such-host.invalid:80 name not resolved' });
});

test('mcp: initialize must succeed (SSE and JSON answers); the bearer is sent; a wrong one fails fast', async () => {
  const sse = await mcpServer('tok-1');
  const json = await mcpServer(null, true);
  try {
    const t0 = Date.now();
    const { lines } = await runProbe([
      { tong: 'sse', mode: 'mcp', host: '127.0.0.1', port: sse.port, path: '/mcp', timeoutMs: 5000, token: 'tok-1' },
      { tong: 'json', mode: 'mcp', host: '127.0.0.1', port: json.port, path: '/mcp', timeoutMs: 5000 },
      { tong: 'denied', mode: 'mcp', host: '127.0.0.1', port: sse.port, path: '/mcp', timeoutMs: 20000, token: 'wrong' },
    ]);
    const by = new Map(lines.map((l) => [l.tong, l]));
    assert.equal(by.get('sse')?.ready, true, JSON.stringify(by.get('sse')));
    assert.equal(by.get('json')?.ready, true, JSON.stringify(by.get('json')));
    assert.deepEqual(by.get('denied'), {
      tong: 'denied',
      ready: false,
      detail: `mcp http://127.0.0.1:${sse.port}/mcp answered HTTP 401`,
    });
    assert.ok(Date.now() - t0 < 10_000, 'a 401 is not retried until the timeout');
  } finally {
    sse.close();
    json.close();
  }
});

test('mcp: a port that answers but is not MCP keeps failing until the timeout', async () => {
  const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('hello'));
  const port = await listen(server);
  try {
    const { lines } = await runProbe([{ tong: 'web', mode: 'mcp', host: '127.0.0.1', port, path: '/mcp', timeoutMs: 500 }]);
    assert.deepEqual(lines[0], { tong: 'web', ready: false, detail: `mcp http://127.0.0.1:${port}/mcp answered with no JSON` });
  } finally {
    server.close();
  }
});

test('the token travels only on stdin: nothing of the probe container (argv, env, labels) holds it', async () => {
  const plan = buildPlan(
    {
      a: { image: 'i', interface: { kind: 'mcp', port: 8080, name: 'a' }, readiness: { mode: 'mcp', timeout: '3s' } },
      b: { image: 'i', interface: { kind: 'port', port: 9000 } },
      c: { image: 'i', interface: { kind: 'none' } },
    },
    { mcpTokens: { a: 'tok-a' } },
  );
  const targets = probeTargets(plan.tongs, new Map([['a', 'tok-a-secret-bearer']]));
  assert.deepEqual(targets, [
    { tong: 'a', mode: 'mcp', host: 'a', port: 8080, path: '/mcp', timeoutMs: 3000, token: 'tok-a-secret-bearer' },
    { tong: 'b', mode: 'tcp', host: 'b', port: 9000, path: null, timeoutMs: 30000 },
  ]);
  // The probe container as the session starts it, on an engine that records every call.
  const rt = new FakeRuntime(['anvil:local']);
  const probe = startNetworkProbe(rt, { image: 'anvil:local', network: 'net', labels: { role: 'probe' } });
  probe.send(targets);
  assert.deepEqual(await probe.outcome('a'), { ready: true, ms: 1 });
  const created = rt.calls.filter((c) => c.op === 'createContainer').map((c) => JSON.stringify(c.args));
  assert.equal(created.length, 1);
  assert.doesNotMatch(created[0]!, /tok-a-secret-bearer/, 'the bearer is in the probe container spec');
  const id = (await probe.containerId)!;
  assert.match(rt.attachedStdin.get(id) ?? '', /"token":"tok-a-secret-bearer"/, 'the bearer reaches the probe on its stdin');
});

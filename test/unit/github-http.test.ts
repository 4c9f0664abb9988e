// The GitHub tong's HTTP front, in process on a loopback port: Streamable HTTP with a real MCP
// Client, the Origin (DNS rebinding) rule, the bearer rule, the body limit and graceful shutdown
// (issue #5 "Transport security").
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { readConfig } from '../../sidecars/github/src/config.js';
import { bearerMatches, createHttpServer, originAllowed, type TongHttpServer } from '../../sidecars/github/src/http.js';
import { createOctokitProvider, type GitHubProvider } from '../../sidecars/github/src/provider.js';
import { createServer } from '../../sidecars/github/src/server.js';
import { FakeGitHub } from '../fakes/github-api.js';

const fake = new FakeGitHub();
const BEARER = 'session-bearer-0123456789abcdef';
const started: TongHttpServer[] = [];

async function serve(options: { mcpToken?: string; maxBodyBytes?: number; provider?: GitHubProvider } = {}): Promise<{ url: string; front: TongHttpServer }> {
  const config = readConfig({ GITHUB_API_URL: fake.url, GITHUB_TOKEN: fake.token, TONG_TIER: '2', TONG_PR_ENABLED: 'true', TONGS_ALIASES: 'github,gh' });
  const provider = options.provider ?? createOctokitProvider({ apiUrl: config.apiUrl, token: fake.token, writeSpacing: false });
  const front = createHttpServer({
    createMcpServer: () => createServer({ config, provider }),
    allowedOriginHosts: config.aliases,
    mcpToken: options.mcpToken,
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
  });
  await new Promise<void>((resolve) => front.server.listen(0, '127.0.0.1', resolve));
  started.push(front);
  return { url: `http://127.0.0.1:${(front.server.address() as AddressInfo).port}/mcp`, front };
}

async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'http-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

function post(url: string, headers: Record<string, string> = {}, body: string = initialize): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body,
  });
}

before(async () => {
  await fake.start();
  fake.addRepo('o', 'r');
  fake.addPull('o', 'r', { title: 'A tong PR', labels: ['tongs'], files: ['a.md'] });
});
after(async () => {
  for (const f of started) await f.shutdown(100);
  await fake.close();
});

describe('Streamable HTTP', () => {
  test('a real MCP client lists tools and calls list_prs', async () => {
    const { url } = await serve();
    const client = await connect(url);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['create_pr', 'get_pr_status', 'list_prs']);
    const r = await client.callTool({ name: 'list_prs', arguments: { repo_owner: 'o', repo_name: 'r' } });
    assert.deepEqual((r.structuredContent as { prs: { title: string }[] }).prs.map((p) => p.title), ['A tong PR']);
    await client.close();
  });

  test('GET and DELETE are 405 (stateless: no SSE stream, no session); other paths 404', async () => {
    const { url } = await serve();
    assert.equal((await fetch(url)).status, 405);
    assert.equal((await fetch(url, { method: 'DELETE' })).status, 405);
    assert.equal((await post(url.replace('/mcp', '/other'))).status, 404);
  });

  test('answers are whole JSON bodies with their length; a notification alone is 202 with no body', async () => {
    const { url } = await serve();
    const res = await post(url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const text = await res.text();
    assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(text));
    assert.equal((JSON.parse(text) as { result: { serverInfo: { name: string } } }).result.serverInfo.name, 'tongs-github');

    const note = await post(url, { 'mcp-protocol-version': '2025-06-18' }, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    assert.equal(note.status, 202);
    assert.equal(await note.text(), '');
  });

  test('the SDK still judges Accept and Content-Type (406, 415)', async () => {
    const { url } = await serve();
    assert.equal((await post(url, { accept: 'application/json' })).status, 406);
    assert.equal((await post(url, { 'content-type': 'text/plain' })).status, 415);
  });

  test('a body that is not JSON is a 400 parse error', async () => {
    const { url } = await serve();
    const res = await post(url, {}, '{not json');
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: number } }).error.code, -32700);
  });
});

describe('Origin rule (DNS rebinding)', () => {
  test('no Origin, a tong alias, or localhost pass', async () => {
    const { url } = await serve();
    for (const origin of [undefined, 'http://github:8080', 'http://GH', 'http://localhost:3000', 'http://127.0.0.1']) {
      const res = await post(url, origin ? { origin } : {});
      assert.equal(res.status, 200, String(origin));
    }
  });

  test('a foreign Origin is refused with 403 before MCP sees it', async () => {
    const { url } = await serve();
    for (const origin of ['http://evil.example', 'https://github.evil.example', 'null', 'http://github.com']) {
      const res = await post(url, { origin });
      assert.equal(res.status, 403, origin);
      assert.match(await res.text(), /Origin is not allowed/);
    }
  });

  test('originAllowed compares host names only, case-insensitively', () => {
    assert.equal(originAllowed('http://GitHub:9999', ['github']), true);
    assert.equal(originAllowed('http://github.attacker.example', ['github']), false);
    assert.equal(originAllowed('not a url', ['github']), false);
  });
});

describe('bearer rule (TONGS_MCP_TOKEN)', () => {
  test('without or with a wrong bearer: 401 and nothing is called', async () => {
    const { url } = await serve({ mcpToken: BEARER });
    fake.clearRequests();
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong' }, { authorization: `Basic ${BEARER}` }, { authorization: 'Bearer ' }]) {
      const res = await post(url, headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    }
    const call = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_prs', arguments: { repo_owner: 'o', repo_name: 'r' } } });
    assert.equal((await post(url, {}, call)).status, 401);
    assert.equal(fake.requests.length, 0);
  });

  test('with the right bearer a real client works', async () => {
    const { url } = await serve({ mcpToken: BEARER });
    const client = await connect(url, { authorization: `Bearer ${BEARER}` });
    const r = await client.callTool({ name: 'list_prs', arguments: { repo_owner: 'o', repo_name: 'r' } });
    assert.equal(r.isError, undefined);
    await client.close();
    await assert.rejects(connect(url), /401|Unauthorized/);
  });

  test('bearerMatches needs the exact token', () => {
    assert.equal(bearerMatches(`Bearer ${BEARER}`, BEARER), true);
    assert.equal(bearerMatches(`bearer ${BEARER}`, BEARER), true);
    assert.equal(bearerMatches(`Bearer ${BEARER}x`, BEARER), false);
    assert.equal(bearerMatches(undefined, BEARER), false);
  });
});

describe('body limit', () => {
  test('a declared Content-Length over the limit is 413', async () => {
    const { url } = await serve({ maxBodyBytes: 1024 });
    const res = await post(url, {}, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(5000) } }));
    assert.equal(res.status, 413);
    assert.match(await res.text(), /limit is 1024 bytes/);
  });

  test('a chunked body growing past the limit is 413', async () => {
    const { url } = await serve({ maxBodyBytes: 1024 });
    const chunks = [initialize.slice(0, -1), `,"pad":"${'y'.repeat(4000)}"}`];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
        controller.close();
      },
    });
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 413);
  });

  test('the default limit accepts a create_pr with a large file', async () => {
    const { url } = await serve();
    const client = await connect(url);
    const r = await client.callTool({
      name: 'create_pr',
      arguments: { repo_owner: 'o', repo_name: 'r', title: 'Big file', body: 'b', files: [{ path: 'big.txt', content: 'z'.repeat(900_000), action: 'create' }] },
    });
    assert.equal(r.isError, undefined, JSON.stringify(r.content));
    assert.equal(fake.filesAt('o', 'r', 'tongs/fix/big-file')?.['big.txt']?.length, 900_000);
    await client.close();
  });
});

describe('graceful shutdown', () => {
  test('an in-flight call finishes; new connections are refused afterwards', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow: GitHubProvider = {
      createPullRequest: () => Promise.reject(new Error('unused')),
      getPullRequestStatus: () => Promise.reject(new Error('unused')),
      listPullRequests: async () => {
        await gate;
        return [{ number: 7, title: 'slow', files: [] }];
      },
    };
    const { url, front } = await serve({ provider: slow });
    const client = await connect(url);
    const pending = client.callTool({ name: 'list_prs', arguments: { repo_owner: 'o', repo_name: 'r' } });
    while (front.inFlight() === 0) await new Promise((r) => setTimeout(r, 5));
    const stopped = front.shutdown(5000);
    await new Promise((r) => setTimeout(r, 50));
    release();
    const r = await pending;
    assert.deepEqual(r.structuredContent, { prs: [{ number: 7, title: 'slow', files: [] }] });
    await stopped;
    assert.equal(front.server.listening, false);
    await assert.rejects(fetch(url, { method: 'POST' }));
  });
});

// The built `tongs-github` bin (dist/sidecars/github/src/main.js) as a black box over real HTTP,
// against the local GitHub fake: a real MCP client with the session bearer, the transport rules,
// redaction in its stderr, and SIGTERM letting an in-flight create_pr finish (issue #5).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { FakeGitHub } from '../fakes/github-api.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'dist/sidecars/github/src/main.js');
const BEARER = 'bin-test-bearer-9f8e7d6c5b4a';

interface Tong {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exit: Promise<number | null>;
}

const fake = new FakeGitHub({ token: 'ghp_binTestToken_0123456789' });
const tongs: Tong[] = [];

async function startBin(env: Record<string, string>): Promise<Tong> {
  const child = spawn(process.execPath, [BIN], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', GITHUB_API_URL: fake.url, TONGS_TONG_NAME: 'github', TONGS_ALIASES: 'github,gh', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr=${stderr}`)), 15_000);
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /listening on 0\.0\.0\.0:(\d+)\/mcp/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exit.then((code) => reject(new Error(`exited ${code}; stderr=${stderr}`)));
  });
  const tong = { child, url: `http://127.0.0.1:${port}/mcp`, stderr: () => stderr, exit };
  tongs.push(tong);
  assert.equal(stdout, '', 'the server writes nothing to stdout');
  return tong;
}

async function connect(url: string, bearer?: string): Promise<Client> {
  const client = new Client({ name: 'bin-test', version: '1.0.0' });
  const headers: Record<string, string> = bearer ? { authorization: `Bearer ${bearer}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

const repo = { repo_owner: 'acme', repo_name: 'ops' };

before(async () => {
  await fake.start();
  fake.addRepo('acme', 'ops', { files: { 'README.md': 'ops\n', 'checks/http.md': 'http\n' } });
});
after(async () => {
  for (const t of tongs) if (t.child.exitCode === null) t.child.kill('SIGKILL');
  await fake.close();
});

describe('tongs-github over HTTP', () => {
  test('create_pr, list_prs and get_pr_status through a real MCP client with the bearer', async () => {
    const tong = await startBin({ GITHUB_TOKEN: fake.token, TONG_TIER: '2', TONG_PR_ENABLED: 'true', TONGS_MCP_TOKEN: BEARER });
    const client = await connect(tong.url, BEARER);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['create_pr', 'get_pr_status', 'list_prs']);

    const created = (await client.callTool({
      name: 'create_pr',
      arguments: { ...repo, title: 'Add DNS check', body: 'Adds it.', change_type: 'check', files: [{ path: 'checks/dns.md', content: 'dns\n', action: 'create' }] },
    })) as CallToolResult;
    assert.equal(created.isError, undefined, JSON.stringify(created.content));
    const pr = created.structuredContent as { number: number; url: string; branch: string };
    assert.equal(pr.branch, 'tongs/check/add-dns-check');
    assert.deepEqual(fake.filesAt('acme', 'ops', pr.branch), { 'README.md': 'ops\n', 'checks/dns.md': 'dns\n', 'checks/http.md': 'http\n' });

    const listed = (await client.callTool({ name: 'list_prs', arguments: repo })) as CallToolResult;
    assert.deepEqual(listed.structuredContent, { prs: [{ number: pr.number, title: 'Add DNS check', files: ['checks/dns.md'] }] });
    const status = (await client.callTool({ name: 'get_pr_status', arguments: { ...repo, pr_number: pr.number } })) as CallToolResult;
    assert.deepEqual(status.structuredContent, { number: pr.number, state: 'open', mergeable: true, reviews: [] });
    await client.close();

    assert.ok(!tong.stderr().includes(fake.token), 'token not in the log');
    assert.ok(!tong.stderr().includes(BEARER), 'bearer not in the log');
    assert.match(tong.stderr(), /tongs: github: create_pr: opened acme\/ops#\d+ from tongs\/check\/add-dns-check/);
  });

  test('transport rules: 401 without the bearer, 403 for a foreign Origin, 413 for a huge body', async () => {
    const tong = await startBin({ GITHUB_TOKEN: fake.token, TONGS_MCP_TOKEN: BEARER });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    assert.equal((await fetch(tong.url, { method: 'POST', headers, body })).status, 401);
    assert.equal((await fetch(tong.url, { method: 'POST', headers: { ...headers, authorization: 'Bearer nope' }, body })).status, 401);
    const authed = { ...headers, authorization: `Bearer ${BEARER}` };
    assert.equal((await fetch(tong.url, { method: 'POST', headers: { ...authed, origin: 'http://attacker.example' }, body })).status, 403);
    assert.equal((await fetch(tong.url, { method: 'POST', headers: { ...authed, origin: 'http://gh:8080' }, body })).status, 200);
    const huge = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping', params: { pad: 'x'.repeat(5 * 1024 * 1024) } });
    assert.equal((await fetch(tong.url, { method: 'POST', headers: authed, body: huge })).status, 413);
    await assert.rejects(connect(tong.url), /401|Unauthorized/);
  });

  test('without a token the server starts and its tools say so', async () => {
    const tong = await startBin({ TONG_PR_ENABLED: 'false' });
    assert.match(tong.stderr(), /NO TOKEN/);
    const client = await connect(tong.url);
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ['get_pr_status', 'list_prs']);
    const r = (await client.callTool({ name: 'list_prs', arguments: repo })) as CallToolResult;
    assert.equal(r.isError, true);
    assert.match(JSON.stringify(r.content), /without a GitHub token/);
    await client.close();
  });

  test('a bad token never shows up in results or logs', async () => {
    const bad = 'ghp_definitelyWrongToken_ZYXW';
    const tong = await startBin({ GITHUB_TOKEN: bad });
    const client = await connect(tong.url);
    const r = (await client.callTool({ name: 'list_prs', arguments: repo })) as CallToolResult;
    assert.equal(r.isError, true);
    assert.match(JSON.stringify(r.content), /401 Bad credentials/);
    assert.ok(!JSON.stringify(r).includes(bad));
    assert.ok(!tong.stderr().includes(bad));
    await client.close();
  });

  test('SIGTERM: the in-flight create_pr finishes, then the process exits 0', async () => {
    // Production write spacing (1 s between writes) keeps this call in flight for several seconds.
    const tong = await startBin({ GITHUB_TOKEN: fake.token, TONG_TIER: '3', TONG_PR_ENABLED: 'true' });
    const client = await connect(tong.url);
    fake.clearRequests();
    const pending = client.callTool({
      name: 'create_pr',
      arguments: { ...repo, title: 'Slow change', body: 'b', files: [{ path: 'slow.md', content: 's\n', action: 'create' }] },
    }) as Promise<CallToolResult>;
    while (!fake.requests.some((q) => q.method === 'POST' && q.path.endsWith('/git/trees'))) await new Promise((r) => setTimeout(r, 20));
    tong.child.kill('SIGTERM');
    const result = await pending;
    assert.equal(result.isError, undefined, JSON.stringify(result.content));
    assert.equal((result.structuredContent as { branch: string }).branch, 'tongs/fix/slow-change');
    assert.equal(await tong.exit, 0);
    assert.match(tong.stderr(), /SIGTERM: finishing 1 in-flight request/);
  });
});

// The built `tongs-github` bin (dist/sidecars/github/src/main.js) as a black box over real HTTP,
// configured with GITEA_URL/GITEA_TOKEN (issue #15): a real MCP client with the session bearer opens a
// pull request on a local Gitea fake and on a local Forgejo fake, lists it and reads its status; a
// tong serving GitHub and Gitea at once sends each call where its clone_url points; neither token
// shows up in stdout, stderr or any result.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { FakeGitHub } from '../fakes/github-api.js';
import { FakeGitea } from '../fakes/gitea-api.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'dist/sidecars/github/src/main.js');
const BEARER = 'gitea-bin-test-bearer-1a2b3c4d5e6f';

interface Tong {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  stdout: () => string;
}

const github = new FakeGitHub({ token: 'ghp_giteaBinTest_0123456789' });
const gitea = new FakeGitea({ token: 'gitea_binTestToken_0123456789abcdef' });
const forgejo = new FakeGitea({ flavor: 'forgejo', token: 'forgejo_binTestToken_0123456789abcd' });
const tongs: Tong[] = [];

async function startBin(env: Record<string, string>): Promise<Tong> {
  const child = spawn(process.execPath, [BIN], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', TONGS_TONG_NAME: 'github', TONGS_MCP_TOKEN: BEARER, TONG_TIER: '2', TONG_PR_ENABLED: 'true', ...env },
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
  const tong = { child, url: `http://127.0.0.1:${port}/mcp`, stderr: () => stderr, stdout: () => stdout };
  tongs.push(tong);
  return tong;
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: 'gitea-bin-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${BEARER}` } } }));
  return client;
}

const call = async (client: Client, name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult;
const repo = { repo_owner: 'acme', repo_name: 'ops' };

before(async () => {
  await github.start();
  await gitea.start(0, '127.0.0.2');
  await forgejo.start(0, '127.0.0.3');
  for (const f of [github, gitea, forgejo]) f.addRepo('acme', 'ops', { files: { 'README.md': 'ops\n', 'checks/http.md': 'http\n' } });
});
after(async () => {
  for (const t of tongs) if (t.child.exitCode === null) t.child.kill('SIGKILL');
  await Promise.all([github.close(), gitea.close(), forgejo.close()]);
});

describe('tongs-github over HTTP with Gitea and Forgejo', () => {
  for (const fake of [gitea, forgejo]) {
    const forge = fake.flavor === 'forgejo' ? 'Forgejo' : 'Gitea';
    test(`${forge}: create_pr, list_prs and get_pr_status through a real MCP client (Gitea the only forge configured)`, async () => {
      const tong = await startBin({ GITEA_URL: `${fake.url}/`, GITEA_TOKEN: fake.token });
      assert.match(tong.stderr(), new RegExp(`Gitea ${fake.url.replace(/\./g, '\\.')}[,)]`));
      const client = await connect(tong.url);
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ['create_pr', 'get_pr_status', 'list_prs']);

      const created = await call(client, 'create_pr', {
        ...repo,
        title: 'Add DNS check',
        body: 'Adds it.',
        change_type: 'check',
        files: [
          { path: 'checks/dns.md', content: 'dns\n', action: 'create' },
          { path: 'checks/http.md', content: 'http v2\n', action: 'update' },
        ],
      });
      assert.equal(created.isError, undefined, JSON.stringify(created.content));
      const pr = created.structuredContent as { number: number; url: string; branch: string };
      assert.equal(pr.branch, 'tongs/check/add-dns-check');
      assert.equal(pr.url, `${fake.url}/acme/ops/pulls/${pr.number}`);
      assert.deepEqual(fake.filesAt('acme', 'ops', pr.branch), { 'README.md': 'ops\n', 'checks/dns.md': 'dns\n', 'checks/http.md': 'http v2\n' });
      assert.equal(fake.history('acme', 'ops', pr.branch).length, 2, 'one commit on top of main');
      assert.deepEqual(fake.pulls('acme', 'ops').find((p) => p.number === pr.number)?.labels, ['tongs']);

      const listed = await call(client, 'list_prs', repo);
      assert.deepEqual(listed.structuredContent, { prs: [{ number: pr.number, title: 'Add DNS check', files: ['checks/dns.md', 'checks/http.md'] }] });
      const status = await call(client, 'get_pr_status', { ...repo, pr_number: pr.number });
      assert.deepEqual(status.structuredContent, { number: pr.number, state: 'open', mergeable: true, reviews: [] });
      const refused = await call(client, 'create_pr', { ...repo, title: 'CI', body: 'b', files: [{ path: `.${fake.flavor}/workflows/ci.yml`, content: 'x', action: 'create' }] });
      assert.equal(refused.isError, true);
      assert.match(JSON.stringify(refused.content), /denied by the built-in scope pattern/);
      await client.close();

      assert.match(tong.stderr(), new RegExp(`tongs: github: ${forge} [^ ]+ at ${fake.url.replace(/\./g, '\\.')}`));
      assert.match(tong.stderr(), new RegExp(`create_pr: opened acme/ops#${pr.number} from tongs/check/add-dns-check on ${forge}`));
      assert.ok(!tong.stderr().includes(fake.token) && !tong.stdout().includes(fake.token), 'token not in the output');
      assert.equal(tong.stdout(), '', 'the server writes nothing to stdout');
    });
  }

  test('GitHub and Gitea in one tong: clone_url picks the forge, an unknown host names both', async () => {
    const tong = await startBin({ GITHUB_API_URL: github.url, GITHUB_TOKEN: github.token, GITEA_URL: gitea.url, GITEA_TOKEN: gitea.token });
    const client = await connect(tong.url);
    const args = { ...repo, body: 'b', files: [{ path: 'notes.md', content: 'n\n', action: 'create' }] };
    const onGitea = await call(client, 'create_pr', { ...args, title: 'Notes for Gitea', clone_url: `git@127.0.0.2:acme/ops.git` });
    assert.equal(onGitea.isError, undefined, JSON.stringify(onGitea.content));
    const onGithub = await call(client, 'create_pr', { ...args, title: 'Notes for GitHub' });
    assert.equal(onGithub.isError, undefined, JSON.stringify(onGithub.content));
    assert.ok(gitea.pulls('acme', 'ops').some((p) => p.title === 'Notes for Gitea'));
    assert.ok(github.pulls('acme', 'ops').some((p) => p.title === 'Notes for GitHub'));
    assert.ok(!gitea.pulls('acme', 'ops').some((p) => p.title === 'Notes for GitHub'));

    const unknown = await call(client, 'list_prs', { ...repo, clone_url: 'https://codeberg.org/acme/ops.git' });
    assert.equal(unknown.isError, true);
    assert.match(JSON.stringify(unknown.content), /serves only 127\.0\.0\.1, 127\.0\.0\.2 \(GitHub: 127\.0\.0\.1; Gitea: 127\.0\.0\.2\), not codeberg\.org/);
    await client.close();
    for (const secret of [github.token, gitea.token, BEARER]) assert.ok(!tong.stderr().includes(secret));
  });
});

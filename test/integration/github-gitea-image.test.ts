// The git tong image (`make github-image`; tag from GITHUB_IMAGE, default tongs-github:local) with
// GITEA_URL/GITEA_TOKEN (issue #15): in a container, as a session runs it, it opens a pull request on
// a Gitea fake and on a Forgejo fake on the host through a real MCP client, so the image carries the
// Gitea client and everything it needs. Neither token reaches the container's log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { FakeGitea } from '../fakes/gitea-api.js';
import { BASE_IMAGE, hostGateway, REPO_ROOT, requireDocker, TEST_LABEL } from '../support/docker.js';

const run = promisify(execFile);
const IMAGE = process.env.GITHUB_IMAGE || 'tongs-github:local';
const RUN_ID = `github-gitea-image-${process.pid}-${randomBytes(3).toString('hex')}`;
const BEARER = `bearer-${randomBytes(8).toString('hex')}`;

async function docker(...args: string[]): Promise<string> {
  return (await run('docker', args, { maxBuffer: 16 * 1024 * 1024 })).stdout.trim();
}

async function logsOf(container: string): Promise<string> {
  const { stdout, stderr } = await run('docker', ['logs', container], { maxBuffer: 16 * 1024 * 1024 });
  return stdout + stderr;
}

/** Builds the image when absent or stale (a no-op when its inputs are unchanged), under IMAGE's tag. */
async function ensureImage(): Promise<void> {
  const staged = existsSync(join(REPO_ROOT, 'sidecars/github/.build/app/node_modules/gitea-js/package.json'));
  if (staged) await run('bash', [join(REPO_ROOT, 'sidecars/github/build-image.sh'), IMAGE, BASE_IMAGE], { cwd: REPO_ROOT });
  else await run('make', ['-s', 'github-image', `GITHUB_IMAGE=${IMAGE}`], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
}

const gitea = new FakeGitea({ token: `gitea_image_${randomBytes(8).toString('hex')}` });
const forgejo = new FakeGitea({ flavor: 'forgejo', token: `forgejo_image_${randomBytes(8).toString('hex')}` });

before(async () => {
  await gitea.start(0, '0.0.0.0');
  await forgejo.start(0, '0.0.0.0');
  for (const f of [gitea, forgejo]) f.addRepo('acme', 'ops', { files: { 'README.md': 'ops\n' } });
});
after(async () => {
  await Promise.all([gitea.close(), forgejo.close()]);
});

test('the tong image opens pull requests on Gitea and on Forgejo', { timeout: 300_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  await ensureImage();
  t.after(async () => {
    const ids = await docker('ps', '-aq', '--filter', `label=${TEST_LABEL}=${RUN_ID}`);
    if (ids) await docker('rm', '-f', ...ids.split('\n'));
  });
  const gateway = hostGateway();

  for (const fake of [gitea, forgejo]) {
    const forge = fake.flavor === 'forgejo' ? 'Forgejo' : 'Gitea';
    const giteaUrl = `http://${gateway}:${new URL(fake.url).port}`;
    const tong = await docker(
      'run', '-d', '--name', `${RUN_ID}-${fake.flavor}`, '--label', `${TEST_LABEL}=${RUN_ID}`, '-p', '127.0.0.1::8080',
      '-e', `GITEA_URL=${giteaUrl}`, '-e', `GITEA_TOKEN=${fake.token}`, '-e', 'TONG_TIER=2', '-e', 'TONG_PR_ENABLED=true',
      '-e', `TONGS_MCP_TOKEN=${BEARER}`, '-e', 'TONGS_TONG_NAME=github', '-e', 'TONGS_ALIASES=github',
      IMAGE,
    );
    const hostPort = (await docker('port', tong, '8080/tcp')).split('\n')[0]!.split(':').at(-1)!;
    for (let i = 0; i < 150 && !/listening on/.test(await logsOf(tong)); i++) await new Promise((r) => setTimeout(r, 100));
    const client = new Client({ name: 'gitea-image-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${hostPort}/mcp`), { requestInit: { headers: { authorization: `Bearer ${BEARER}` } } }),
    );
    const r = (await client.callTool({
      name: 'create_pr',
      arguments: { repo_owner: 'acme', repo_name: 'ops', title: `Greeting for ${forge}`, body: 'b', files: [{ path: 'greeting.txt', content: 'hello\n', action: 'create' }] },
    })) as CallToolResult;
    assert.equal(r.isError, undefined, `${JSON.stringify(r.content)}\n${await logsOf(tong)}`);
    const pr = r.structuredContent as { number: number; url: string; branch: string };
    assert.equal(pr.branch, `tongs/fix/greeting-for-${forge.toLowerCase()}`);
    assert.match(pr.url, new RegExp(`/acme/ops/pulls/${pr.number}$`));
    assert.deepEqual(fake.filesAt('acme', 'ops', pr.branch), { 'README.md': 'ops\n', 'greeting.txt': 'hello\n' });
    assert.deepEqual(fake.pulls('acme', 'ops').map((p) => [p.title, p.labels]), [[`Greeting for ${forge}`, ['tongs']]]);
    await client.close();

    const logs = await logsOf(tong);
    assert.match(logs, new RegExp(`tongs: github: ${forge} \\S+ at ${giteaUrl.replace(/\./g, '\\.')}`));
    assert.match(logs, new RegExp(`create_pr: opened acme/ops#${pr.number} from ${pr.branch} on ${forge}`));
    assert.ok(!logs.includes(fake.token) && !logs.includes(BEARER), 'no secret in the log');
    await docker('stop', '-t', '10', tong);
    assert.equal(await docker('inspect', '-f', '{{.State.ExitCode}}', tong), '0');
  }
});

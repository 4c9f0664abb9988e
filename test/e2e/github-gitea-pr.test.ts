/**
 * A full turn of the real harness against Gitea and against Forgejo (issue #15 "A full turn of the
 * real harness opens a PR on each provider's fake through the tong"): `make run_claude` with the
 * shipped git tong definition (sidecars/github.yaml, in a repo layer of the test's own only to name
 * the image under test: GITHUB_IMAGE, default tongs-github:local) and the shipped model tong, GITEA_URL/GITEA_TOKEN on the
 * host and no GITHUB_TOKEN, the real Claude Code in the real anvil, a scripted model on the host that
 * asks for `mcp__github__create_pr`, and the Gitea REST fake (then the Forgejo one) on the host. The
 * agent opens a pull request on that forge; its token never reaches the agent's side.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFakeAnthropicApi } from '../fakes/anthropic-api.js';
import { FakeGitea } from '../fakes/gitea-api.js';
import { REPO_ROOT } from '../support/process.js';
import { hostGateway, requireDocker } from '../support/docker.js';
import { OWNER, assertNoSessionLeft, make, writeModelTong } from './anvil-scenario.js';

const GITHUB_IMAGE = process.env.GITHUB_IMAGE || 'tongs-github:local';

for (const flavor of ['gitea', 'forgejo'] as const) {
  const forge = flavor === 'forgejo' ? 'Forgejo' : 'Gitea';
  test(`make run_claude: the agent opens a pull request on ${forge} through the git tong and never sees the token`, { timeout: 900_000 }, async (t) => {
    if (!(await requireDocker(t))) return;
    const dir = mkdtempSync(path.join(tmpdir(), `tongs-e2e-${flavor}-`));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const [user, repo, home, project] = ['user', 'repo', 'home', `proj-${flavor}`].map((d) => path.join(dir, d)) as [string, string, string, string];
    for (const d of [user, repo, home, project]) mkdirSync(d, { recursive: true });
    if (process.getuid?.() === 0) for (const d of [home, project]) chownSync(d, OWNER, OWNER);
    // The shipped definitions, unchanged but for the image under test and without build contexts.
    writeModelTong(repo);
    const shipped = readFileSync(path.join(REPO_ROOT, 'sidecars', 'github.yaml'), 'utf8');
    writeFileSync(path.join(repo, 'github.yaml'), shipped.replace(/^image: .*$/m, `image: ${GITHUB_IMAGE}`).replace(/^build: .*$/m, ''));

    const token = `${flavor}_e2e${Date.now().toString(36)}SECRETVALUE`;
    const fake = new FakeGitea({ flavor, token });
    fake.addRepo('acme', 'widgets', { files: { 'README.md': '# widgets\n' } });
    const gateway = hostGateway();
    const port = new URL(await fake.start(0, '0.0.0.0')).port;
    t.after(() => fake.close());
    const giteaUrl = `http://${gateway}:${port}`;

    const api = await startFakeAnthropicApi({
      toolName: 'mcp__github__create_pr',
      toolInput: {
        repo_owner: 'acme',
        repo_name: 'widgets',
        title: 'Fix the greeting',
        body: 'The greeting said hullo.',
        files: [{ path: 'src/greeting.txt', content: 'hello\n', action: 'create' }],
        // Gitea: resolved without clone_url (the only forge with a token); Forgejo: by clone_url's host.
        ...(flavor === 'forgejo' ? { clone_url: `git@${gateway}:acme/widgets.git` } : {}),
      },
      finalTextPrefix: 'PR OPENED: ',
    });
    t.after(() => api.close());

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: home,
      ANTHROPIC_API_KEY: 'sk-dummy',
      ANTHROPIC_BASE_URL: `http://${gateway}:${api.port}`,
      GITEA_URL: giteaUrl,
      GITEA_TOKEN: token,
    };
    delete env.GITHUB_TOKEN;
    delete env.GITHUB_API_URL;
    const r = await make(
      [
        'run_claude',
        `PROJECT_DIR=${project}`,
        `USER_TONGS=${user}`,
        `REPO_TONGS=${repo}`,
        `GITHUB_IMAGE=${GITHUB_IMAGE}`,
        ...(process.env.ANVIL_IMAGE ? [`ANVIL_IMAGE=${process.env.ANVIL_IMAGE}`] : []),
        'CLAUDE_ARGS=-p "open a PR that fixes the greeting" --output-format stream-json --verbose --allowedTools mcp__github__create_pr',
        'ANVIL_DOCKER_ARGS=--add-host host.docker.internal:host-gateway',
      ],
      env,
    );
    assert.equal(r.status, 0, r.stderr);

    // The forge (the fake) saw one commit on a new branch and a labelled PR, made with its token.
    const pulls = fake.pulls('acme', 'widgets');
    assert.equal(pulls.length, 1, `${JSON.stringify(fake.requests.map((q) => `${q.method} ${q.path}`))}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
    const pr = pulls[0]!;
    assert.equal(pr.title, 'Fix the greeting');
    assert.equal(pr.head, 'tongs/fix/fix-the-greeting');
    assert.deepEqual(fake.filesAt('acme', 'widgets', pr.head), { 'README.md': '# widgets\n', 'src/greeting.txt': 'hello\n' });
    assert.equal(fake.history('acme', 'widgets', pr.head).length, 2, 'one commit on top of main');
    assert.deepEqual(pr.labels, ['tongs']);
    assert.equal(fake.writes().filter((w) => w.path.endsWith('/contents')).length, 1, 'one write made the commit and the branch');
    if (flavor === 'forgejo') assert.ok(fake.requests.some((q) => q.path === '/api/forgejo/v1/version'), 'Forgejo was detected');

    // The harness got the tool's result back and printed the answer built from it.
    const final = api.requests.find((q) => q.answer === 'final');
    assert.ok(final, `the harness sent a tool_result back: ${api.requests.map((q) => q.answer).join(',')}`);
    const result = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type?: string; result?: string; is_error?: boolean })
      .find((e) => e.type === 'result');
    assert.ok(result, r.stdout);
    assert.equal(result.is_error, false, JSON.stringify(result));
    assert.match(String(result.result), new RegExp(`^PR OPENED: .*"number":${pr.number}`));
    assert.match(String(result.result), new RegExp(`/acme/widgets/pulls/${pr.number}`));

    assert.ok(!r.stdout.includes(token), 'the token is not in the harness output');
    assert.ok(!r.stderr.includes(token), 'the token is not in the launcher output');
    assert.ok(!JSON.stringify(api.requests).includes(token), 'the token is not in any model request');
    assertNoSessionLeft(project);
  });
}

// The GitHub tong through a real MCP Client (in memory) against the local GitHub fake: every scenario
// of the git-provider spec's requirements 1-7 and 11 (issue #5), plus errors, pagination and redaction.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeGitHub, rateLimitExhausted, secondaryRateLimit } from '../fakes/github-api.js';
import { startTong, textOf, type TongUnderTest } from '../fakes/github-tong.js';

const OWNER = 'octo-org';
const REPO = 'runbooks';
const repoArgs = { repo_owner: OWNER, repo_name: REPO };

const fake = new FakeGitHub();
const open: TongUnderTest[] = [];

async function tong(env: Record<string, string | undefined> = {}, providerOptions: Parameters<typeof startTong>[2] = {}): Promise<TongUnderTest> {
  const t = await startTong(fake, env, providerOptions);
  open.push(t);
  return t;
}

function seed(): void {
  fake.addRepo(OWNER, REPO, {
    files: {
      'README.md': '# runbooks\n',
      'checks/http.md': 'check http\n',
      'checks/dns.md': 'check dns\n',
      'prompts/tier1-observe.md': 'observe\n',
      '.github/workflows/ci.yml': 'on: push\n',
      'bin/run.sh': '#!/bin/sh\n',
    },
  });
  fake.clearRequests();
}

function prArgs(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...repoArgs,
    title: 'Add health check for jellyfin',
    body: 'Adds a check.',
    files: [
      { path: 'checks/jellyfin.md', content: 'check jellyfin\n', action: 'create' },
      { path: 'checks/http.md', content: 'check http v2\n', action: 'update' },
    ],
    ...overrides,
  };
}

before(async () => {
  await fake.start();
});
beforeEach(() => {
  seed(); // a fresh repository per test (addRepo replaces the old one)
});
after(async () => {
  for (const t of open) await t.close();
  await fake.close();
});

describe('REQ-1 server start and providers', () => {
  test('with a token, create_pr works against GitHub', async () => {
    const t = await tong();
    const r = await t.call('create_pr', prArgs());
    assert.equal(r.isError, undefined, textOf(r));
    assert.ok(fake.branches(OWNER, REPO).includes('tongs/fix/add-health-check-for-jellyfin'));
  });

  test('without a token the server starts; tools answer that the token is missing, without calling GitHub', async () => {
    const t = await tong({ GITHUB_TOKEN: '' });
    const tools = await t.client.listTools();
    assert.equal(tools.tools.length, 3);
    for (const [name, args] of [
      ['list_prs', repoArgs],
      ['get_pr_status', { ...repoArgs, pr_number: 1 }],
      ['create_pr', prArgs()],
    ] as const) {
      const r = await t.call(name, args);
      assert.equal(r.isError, true, name);
      assert.match(textOf(r), /without a GitHub token \(GITHUB_TOKEN is empty\)/, name);
    }
    assert.equal(fake.requests.length, 0);
  });
});

describe('REQ-2 tool discovery', () => {
  test('TONG_PR_ENABLED=true lists exactly create_pr, list_prs and get_pr_status, each described', async () => {
    const t = await tong({ TONG_PR_ENABLED: 'true' });
    const { tools } = await t.client.listTools();
    assert.deepEqual(tools.map((x) => x.name).sort(), ['create_pr', 'get_pr_status', 'list_prs']);
    for (const tool of tools) {
      assert.ok((tool.description ?? '').length > 80, `${tool.name} has a real description`);
      assert.ok(tool.outputSchema, `${tool.name} declares an output schema`);
    }
  });

  for (const value of [undefined, 'false', 'TRUE', '1', '']) {
    test(`TONG_PR_ENABLED=${JSON.stringify(value)} lists exactly list_prs and get_pr_status`, async () => {
      const t = await tong({ TONG_PR_ENABLED: value });
      const { tools } = await t.client.listTools();
      assert.deepEqual(tools.map((x) => x.name).sort(), ['get_pr_status', 'list_prs']);
      const r = await t.call('create_pr', prArgs());
      assert.equal(r.isError, true);
      assert.match(textOf(r), /create_pr not found/);
      assert.equal(fake.requests.length, 0);
    });
  }

  test('schemas carry JSON Schema types and mark required parameters', async () => {
    const t = await tong();
    const { tools } = await t.client.listTools();
    const create = tools.find((x) => x.name === 'create_pr')!;
    const props = create.inputSchema.properties as Record<string, { type?: string; items?: { type?: string; required?: string[] } }>;
    assert.equal(props.repo_owner?.type, 'string');
    assert.equal(props.files?.type, 'array');
    assert.equal(props.files?.items?.type, 'object');
    assert.deepEqual([...(props.files?.items?.required ?? [])].sort(), ['action', 'path']);
    assert.deepEqual([...(create.inputSchema.required ?? [])].sort(), ['body', 'files', 'repo_name', 'repo_owner', 'title']);
    const status = tools.find((x) => x.name === 'get_pr_status')!;
    assert.equal((status.inputSchema.properties as Record<string, { type?: string }>).pr_number?.type, 'integer');
    assert.deepEqual([...(status.inputSchema.required ?? [])].sort(), ['pr_number', 'repo_name', 'repo_owner']);
  });
});

describe('REQ-3 create_pr', () => {
  test('tier 2 with 2 files in scope: one commit on a new branch, a labelled PR, {number, url, branch}', async () => {
    const t = await tong();
    const r = await t.call('create_pr', prArgs());
    assert.equal(r.isError, undefined, textOf(r));
    const out = r.structuredContent as { number: number; url: string; branch: string; dry_run: boolean };
    assert.equal(out.branch, 'tongs/fix/add-health-check-for-jellyfin');
    assert.equal(out.dry_run, false);
    assert.equal(out.url, `${fake.url}/${OWNER}/${REPO}/pull/${out.number}`);
    assert.deepEqual(JSON.parse(textOf(r)), out, 'text is the same JSON');

    const files = fake.filesAt(OWNER, REPO, out.branch)!;
    assert.equal(files['checks/jellyfin.md'], 'check jellyfin\n');
    assert.equal(files['checks/http.md'], 'check http v2\n');
    assert.equal(files['checks/dns.md'], 'check dns\n', 'untouched files stay');
    const history = fake.history(OWNER, REPO, out.branch);
    assert.equal(history.length, 2, 'exactly one new commit on top of main');
    assert.deepEqual(history[0], { message: 'Add health check for jellyfin', parents: 1 });

    const pr = fake.pulls(OWNER, REPO).find((p) => p.number === out.number)!;
    assert.equal(pr.title, 'Add health check for jellyfin');
    assert.equal(pr.body, 'Adds a check.');
    assert.equal(pr.base, 'main');
    assert.deepEqual(pr.labels, ['tongs']);
    assert.deepEqual(pr.files, [
      { filename: 'checks/http.md', status: 'modified' },
      { filename: 'checks/jellyfin.md', status: 'added' },
    ]);
    // Git Data API only: one tree (contents inline), one commit, one ref, then the PR and its label.
    assert.deepEqual(
      fake.writes().map((w) => `${w.method} ${w.path.replace(`/repos/${OWNER}/${REPO}`, '')}`),
      ['POST /git/trees', 'POST /git/commits', 'POST /git/refs', 'POST /pulls', `POST /issues/${out.number}/labels`],
    );
  });

  test('delete removes a file; mode of an existing executable is kept; base_branch is honoured', async () => {
    fake.addRepo(OWNER, REPO, { defaultBranch: 'trunk', files: { 'a.md': 'a\n', 'b.md': 'b\n' } });
    const t = await tong({ TONG_TIER: '3' });
    const r = await t.call(
      'create_pr',
      prArgs({ title: 'Remove b', base_branch: 'trunk', change_type: 'chore', files: [{ path: 'b.md', action: 'delete' }] }),
    );
    assert.equal(r.isError, undefined, textOf(r));
    assert.deepEqual(fake.filesAt(OWNER, REPO, 'tongs/chore/remove-b'), { 'a.md': 'a\n' });
    assert.equal(fake.pulls(OWNER, REPO)[0]!.base, 'trunk');
  });

  test('scope: a denied path is refused before any GitHub request, naming the path and the pattern', async () => {
    const t = await tong({ TONG_SCOPE_DENY: 'prompts/**' });
    const r = await t.call('create_pr', prArgs({ files: [{ path: 'prompts/tier1-observe.md', content: 'x', action: 'update' }] }));
    assert.equal(r.isError, true);
    assert.match(textOf(r), /'prompts\/tier1-observe\.md' is denied by the scope pattern 'prompts\/\*\*'/);
    assert.equal(fake.requests.length, 0);
  });

  test('tier 1 cannot create PRs', async () => {
    const t = await tong({ TONG_TIER: '1' });
    const r = await t.call('create_pr', prArgs());
    assert.equal(r.isError, true);
    assert.match(textOf(r), /Tier 1 cannot create pull requests/);
    assert.equal(fake.requests.length, 0);
  });

  test('tier 2 refuses more than 3 files and suggests tier 3', async () => {
    const t = await tong({ TONG_TIER: '2' });
    const files = [1, 2, 3, 4].map((i) => ({ path: `checks/n${i}.md`, content: 'x', action: 'create' }));
    const r = await t.call('create_pr', prArgs({ files }));
    assert.equal(r.isError, true);
    assert.match(textOf(r), /at most 3 files per pull request, and this one changes 4/);
    assert.match(textOf(r), /tier 3 \(TONG_TIER=3\)/);
    assert.equal(fake.requests.length, 0);
  });

  test('a clone_url on a host this tong does not serve is refused, naming the repository', async () => {
    const t = await tong();
    const r = await t.call('create_pr', prArgs({ clone_url: `https://gitlab.example.com/${OWNER}/${REPO}.git` }));
    assert.equal(r.isError, true);
    assert.match(textOf(r), new RegExp(`Cannot resolve a git provider for ${OWNER}/${REPO}`));
    assert.match(textOf(r), /gitlab\.example\.com/);
    assert.equal(fake.requests.length, 0);
  });

  test('a clone_url on the API host (https and scp forms) resolves', async () => {
    const t = await tong({ TONG_TIER: '3' });
    const host = new URL(fake.url).hostname;
    for (const [i, clone_url] of [`https://${host}/${OWNER}/${REPO}.git`, `git@${host}:${OWNER}/${REPO}.git`].entries()) {
      const r = await t.call('list_prs', { ...repoArgs, clone_url });
      assert.equal(r.isError, undefined, `${i}: ${textOf(r)}`);
    }
  });

  test('a clone_url naming another repository is refused', async () => {
    const t = await tong();
    const host = new URL(fake.url).hostname;
    const r = await t.call('list_prs', { ...repoArgs, clone_url: `https://${host}/someone/else.git` });
    assert.equal(r.isError, true);
    assert.match(textOf(r), /names someone\/else, but repo_owner\/repo_name say octo-org\/runbooks/);
  });

  test('an existing branch is refused before any write', async () => {
    const t = await tong();
    assert.equal((await t.call('create_pr', prArgs())).isError, undefined);
    fake.clearRequests();
    const r = await t.call('create_pr', prArgs());
    assert.equal(r.isError, true);
    assert.match(textOf(r), /Branch 'tongs\/fix\/add-health-check-for-jellyfin' already exists in octo-org\/runbooks/);
    assert.deepEqual(fake.writes(), []);
  });

  test('actions are checked against the base tree before any write', async () => {
    const t = await tong();
    const created = await t.call('create_pr', prArgs({ files: [{ path: 'README.md', content: 'x', action: 'create' }] }));
    assert.match(textOf(created), /'README\.md' already exists in octo-org\/runbooks@main; use action "update"/);
    const updated = await t.call('create_pr', prArgs({ files: [{ path: 'nope.md', content: 'x', action: 'update' }] }));
    assert.match(textOf(updated), /'nope\.md' does not exist in octo-org\/runbooks@main/);
    const dir = await t.call('create_pr', prArgs({ files: [{ path: 'checks', content: 'x', action: 'update' }] }));
    assert.match(textOf(dir), /'checks' is a directory/);
    assert.deepEqual(fake.writes(), []);
  });

  test('a missing base branch is a not-found error', async () => {
    const t = await tong();
    const r = await t.call('create_pr', prArgs({ base_branch: 'release' }));
    assert.equal(r.isError, true);
    assert.match(textOf(r), /Base branch 'release' was not found in octo-org\/runbooks/);
    assert.deepEqual(fake.writes(), []);
  });

  test('an unknown repository is a not-found error', async () => {
    const t = await tong();
    const r = await t.call('create_pr', prArgs({ repo_name: 'missing' }));
    assert.equal(r.isError, true);
    assert.match(textOf(r), /not found in octo-org\/missing/);
  });

  test('when opening the PR fails, the branch made for it is deleted again', async () => {
    const t = await tong();
    fake.failNext({ method: 'POST', path: /\/pulls$/, status: 422, body: { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: 'No commits between main and x' }] } });
    const r = await t.call('create_pr', prArgs());
    assert.equal(r.isError, true);
    assert.match(textOf(r), /Could not create the pull request in octo-org\/runbooks: GitHub refused the request as invalid \(422: Validation Failed; No commits between main and x\)/);
    assert.deepEqual(fake.branches(OWNER, REPO), ['main']);
  });

  test('a failed label is reported as a warning on a created PR', async () => {
    const t = await tong();
    fake.failNext({ method: 'POST', path: /\/labels$/, status: 403, body: { message: 'Resource not accessible by integration' } });
    const r = await t.call('create_pr', prArgs());
    assert.equal(r.isError, undefined, textOf(r));
    const out = r.structuredContent as { number: number; warnings?: string[] };
    assert.ok(out.number > 0);
    assert.match(out.warnings?.[0] ?? '', /label 'tongs' could not be added/);
  });
});

describe('REQ-4 list_prs', () => {
  test('two open labelled PRs come back with number, title and files; others are left out', async () => {
    const a = fake.addPull(OWNER, REPO, { title: 'Fix DNS check', labels: ['tongs'], files: ['checks/dns.md'] });
    const b = fake.addPull(OWNER, REPO, { title: 'Add two checks', labels: ['tongs', 'ops'], files: ['checks/a.md', 'checks/b.md'] });
    fake.addPull(OWNER, REPO, { title: 'Human PR', labels: ['ops'], files: ['README.md'] });
    fake.addPull(OWNER, REPO, { title: 'Old tong PR', labels: ['tongs'], state: 'closed', files: ['x.md'] });
    const t = await tong();
    const r = await t.call('list_prs', repoArgs);
    assert.equal(r.isError, undefined, textOf(r));
    const prs = (r.structuredContent as { prs: { number: number; title: string; files: string[] }[] }).prs;
    assert.deepEqual(
      [...prs].sort((x, y) => x.number - y.number),
      [
        { number: a, title: 'Fix DNS check', files: ['checks/dns.md'] },
        { number: b, title: 'Add two checks', files: ['checks/a.md', 'checks/b.md'] },
      ],
    );
  });

  test('no open PRs gives an empty array', async () => {
    const t = await tong();
    const r = await t.call('list_prs', repoArgs);
    assert.deepEqual(r.structuredContent, { prs: [] });
  });

  test('the label is configurable (TONG_PR_LABEL) and used for both create and list', async () => {
    const t = await tong({ TONG_PR_LABEL: 'claude-ops' });
    fake.addPull(OWNER, REPO, { title: 'tongs-labelled', labels: ['tongs'] });
    const created = await t.call('create_pr', prArgs());
    const number = (created.structuredContent as { number: number }).number;
    const r = await t.call('list_prs', repoArgs);
    assert.deepEqual((r.structuredContent as { prs: { number: number }[] }).prs.map((p) => p.number), [number]);
  });

  test('a disabled provider (no token) explains why', async () => {
    const t = await tong({ GITHUB_TOKEN: undefined });
    const r = await t.call('list_prs', repoArgs);
    assert.equal(r.isError, true);
    assert.match(textOf(r), /GitHub is not available: this tong was started without a GitHub token/);
  });

  test('pagination: every page of pulls and of files is followed', async () => {
    const numbers: number[] = [];
    for (let i = 0; i < 130; i++) {
      numbers.push(fake.addPull(OWNER, REPO, { title: `PR ${i}`, labels: i % 2 ? ['tongs'] : [], files: [`f${i}.md`] }));
    }
    const big = fake.addPull(OWNER, REPO, { title: 'big', labels: ['tongs'], files: Array.from({ length: 150 }, (_, i) => `big/${i}.md`) });
    const t = await tong();
    const r = await t.call('list_prs', repoArgs);
    const prs = (r.structuredContent as { prs: { number: number; files: string[] }[] }).prs;
    assert.equal(prs.length, 66);
    assert.equal(prs.find((p) => p.number === big)?.files.length, 150);
    const pullPages = fake.requests.filter((q) => q.path === `/repos/${OWNER}/${REPO}/pulls`).map((q) => q.query.page ?? '1');
    assert.deepEqual(pullPages, ['1', '2']);
    const bigPages = fake.requests.filter((q) => q.path.endsWith(`/pulls/${big}/files`)).map((q) => q.query.page ?? '1');
    assert.deepEqual(bigPages, ['1', '2']);
  });
});

describe('REQ-5 get_pr_status', () => {
  test('an open PR with one approval', async () => {
    const n = fake.addPull(OWNER, REPO, { title: 't', mergeable: true, reviews: [{ user: 'alice', state: 'APPROVED', body: 'LGTM' }] });
    const t = await tong();
    const r = await t.call('get_pr_status', { ...repoArgs, pr_number: n });
    assert.equal(r.isError, undefined, textOf(r));
    assert.deepEqual(r.structuredContent, { number: n, state: 'open', mergeable: true, reviews: [{ author: 'alice', state: 'approved', body: 'LGTM' }] });
  });

  test('a merged PR reports merged; a closed one closed; unknown mergeability is null', async () => {
    const merged = fake.addPull(OWNER, REPO, { title: 'm', merged: true, mergeable: null });
    const closed = fake.addPull(OWNER, REPO, { title: 'c', state: 'closed', mergeable: false });
    const t = await tong();
    const m = (await t.call('get_pr_status', { ...repoArgs, pr_number: merged })).structuredContent as Record<string, unknown>;
    assert.equal(m.state, 'merged');
    assert.equal(m.mergeable, null);
    const c = (await t.call('get_pr_status', { ...repoArgs, pr_number: closed })).structuredContent as Record<string, unknown>;
    assert.equal(c.state, 'closed');
    assert.equal(c.mergeable, false);
  });

  test('review states are lower-case and reviews follow pagination', async () => {
    const states = ['APPROVED', 'CHANGES_REQUESTED', 'COMMENTED', 'DISMISSED'] as const;
    const reviews = Array.from({ length: 205 }, (_, i) => ({ user: `u${i}`, state: states[i % 4]!, body: `r${i}` }));
    const n = fake.addPull(OWNER, REPO, { title: 'busy', reviews });
    const t = await tong();
    const out = (await t.call('get_pr_status', { ...repoArgs, pr_number: n })).structuredContent as { reviews: { state: string; author: string }[] };
    assert.equal(out.reviews.length, 205);
    assert.deepEqual(out.reviews.slice(0, 4).map((r) => r.state), ['approved', 'changes_requested', 'commented', 'dismissed']);
    assert.equal(out.reviews[204]!.author, 'u204');
  });

  test('a PR that does not exist is reported as not found', async () => {
    const t = await tong();
    const r = await t.call('get_pr_status', { ...repoArgs, pr_number: 999 });
    assert.equal(r.isError, true);
    assert.match(textOf(r), /Pull request #999 was not found in octo-org\/runbooks/);
  });
});

describe('REQ-6 tier from the environment only', () => {
  test('TONG_TIER=2 validates against tier 2 (3 files pass, 4 do not)', async () => {
    const t = await tong({ TONG_TIER: '2' });
    const files = (n: number) => Array.from({ length: n }, (_, i) => ({ path: `checks/t${i}.md`, content: 'x', action: 'create' }));
    assert.equal((await t.call('create_pr', prArgs({ title: 'three', files: files(3) }))).isError, undefined);
    assert.equal((await t.call('create_pr', prArgs({ title: 'four', files: files(4) }))).isError, true);
  });

  for (const [label, value] of [
    ['unset', undefined],
    ['abc', 'abc'],
    ['4', '4'],
    ['2.5', '2.5'],
  ] as const) {
    test(`TONG_TIER ${label} is tier 1 and create_pr is refused`, async () => {
      const t = await tong({ TONG_TIER: value });
      const r = await t.call('create_pr', prArgs());
      assert.equal(r.isError, true);
      assert.match(textOf(r), /Tier 1 cannot create pull requests/);
      assert.equal(fake.requests.length, 0);
    });
  }

  test('there is no tier parameter, and passing one changes nothing', async () => {
    const t = await tong({ TONG_TIER: undefined });
    const { tools } = await t.client.listTools();
    for (const tool of tools) assert.ok(!('tier' in (tool.inputSchema.properties ?? {})), tool.name);
    const r = await t.call('create_pr', { ...prArgs(), tier: 3 });
    assert.equal(r.isError, true);
    assert.match(textOf(r), /Tier 1 cannot create pull requests/);
  });
});

describe('REQ-7 dry run', () => {
  test('create_pr validates and answers dry_run: true without any GitHub request', async () => {
    const t = await tong({ TONG_DRY_RUN: 'true' });
    const r = await t.call('create_pr', prArgs({ change_type: 'check' }));
    assert.equal(r.isError, undefined, textOf(r));
    assert.deepEqual(r.structuredContent, {
      branch: 'tongs/check/add-health-check-for-jellyfin',
      base_branch: 'main',
      dry_run: true,
      files: [
        { path: 'checks/jellyfin.md', action: 'create' },
        { path: 'checks/http.md', action: 'update' },
      ],
    });
    assert.equal(fake.requests.length, 0);
    assert.deepEqual(fake.branches(OWNER, REPO), ['main']);
  });

  test('dry run still refuses a denied path', async () => {
    const t = await tong({ TONG_DRY_RUN: 'true', TONG_SCOPE_DENY: 'prompts/**' });
    const r = await t.call('create_pr', prArgs({ files: [{ path: 'prompts/tier1-observe.md', content: 'x', action: 'update' }] }));
    assert.equal(r.isError, true);
    assert.match(textOf(r), /denied by the scope pattern 'prompts\/\*\*'/);
  });

  test('dry run still applies the tier', async () => {
    const t = await tong({ TONG_DRY_RUN: 'true', TONG_TIER: '1' });
    assert.match(textOf(await t.call('create_pr', prArgs())), /Tier 1 cannot create pull requests/);
  });

  test('read-only tools still call GitHub in dry run', async () => {
    fake.addPull(OWNER, REPO, { title: 'x', labels: ['tongs'], files: ['a'] });
    const t = await tong({ TONG_DRY_RUN: 'true' });
    const r = await t.call('list_prs', repoArgs);
    assert.equal((r.structuredContent as { prs: unknown[] }).prs.length, 1);
    assert.deepEqual(fake.writes(), []);
  });
});

describe('REQ-11 branch names', () => {
  test('title "Add health check for jellyfin" with change_type "check" → tongs/check/add-health-check-for-jellyfin', async () => {
    const t = await tong();
    const r = await t.call('create_pr', prArgs({ change_type: 'check' }));
    assert.equal((r.structuredContent as { branch: string }).branch, 'tongs/check/add-health-check-for-jellyfin');
  });

  test('change_type defaults to fix', async () => {
    const t = await tong({ TONG_DRY_RUN: 'true' });
    const r = await t.call('create_pr', prArgs({ title: 'Something' }));
    assert.equal((r.structuredContent as { branch: string }).branch, 'tongs/fix/something');
  });

  test('the prefix is configurable (TONG_BRANCH_PREFIX)', async () => {
    const t = await tong({ TONG_DRY_RUN: 'true', TONG_BRANCH_PREFIX: 'claude-ops' });
    const r = await t.call('create_pr', prArgs({ change_type: 'check' }));
    assert.equal((r.structuredContent as { branch: string }).branch, 'claude-ops/check/add-health-check-for-jellyfin');
  });

  test('long and symbol-heavy titles: single hyphens, trimmed, at most 50 characters', async () => {
    const t = await tong({ TONG_DRY_RUN: 'true' });
    const r = await t.call('create_pr', prArgs({ title: '  --Fix: the   "ALERT" thresholds for Disk/Memory & CPU usage on every node!!  ' }));
    const slug = (r.structuredContent as { branch: string }).branch.split('/')[2]!;
    assert.equal(slug, 'fix-the-alert-thresholds-for-disk-memory-cpu-usage');
    assert.ok(slug.length <= 50);
  });

  test('a change_type that is not a slug is refused by the input schema', async () => {
    const t = await tong({ TONG_DRY_RUN: 'true' });
    const r = await t.call('create_pr', prArgs({ change_type: '../x' }));
    assert.equal(r.isError, true);
    assert.match(textOf(r), /change_type/);
  });
});

describe('paths and scope globs', () => {
  const one = (path: string) => [{ path, content: 'x', action: 'create' }];

  test('paths are normalised before scope and commit', async () => {
    const t = await tong({ TONG_DRY_RUN: 'true', TONG_SCOPE_ALLOW: 'checks/**' });
    const r = await t.call('create_pr', prArgs({ files: one('./checks//new.md') }));
    assert.deepEqual((r.structuredContent as { files: unknown }).files, [{ path: 'checks/new.md', action: 'create' }]);
  });

  for (const [path, why] of [
    ['/etc/passwd', 'it is absolute'],
    ['checks/../../etc/passwd', 'it contains ".."'],
    ['..', 'it contains ".."'],
    ['.git/config', 'it is inside .git'],
    ['checks\\x.md', 'it contains a backslash'],
  ] as const) {
    test(`${JSON.stringify(path)} is refused: ${why}`, async () => {
      const t = await tong();
      const r = await t.call('create_pr', prArgs({ files: one(path) }));
      assert.equal(r.isError, true);
      assert.ok(textOf(r).includes(`File path ${JSON.stringify(path)} is refused: ${why}`), textOf(r));
      assert.equal(fake.requests.length, 0);
    });
  }

  test('.github/workflows/** is denied by default, even when the allow list is **', async () => {
    for (const allow of [undefined, '**']) {
      const t = await tong({ TONG_SCOPE_ALLOW: allow });
      const r = await t.call('create_pr', prArgs({ files: [{ path: '.github/workflows/ci.yml', content: 'x', action: 'update' }] }));
      assert.equal(r.isError, true);
      assert.match(textOf(r), /'\.github\/workflows\/ci\.yml' is denied by the built-in scope pattern '\.github\/workflows\/\*\*'/);
    }
    assert.equal(fake.requests.length, 0);
  });

  test('.github/workflows/** is allowed when TONG_SCOPE_ALLOW names it explicitly', async () => {
    const t = await tong({ TONG_SCOPE_ALLOW: 'checks/**,.github/workflows/*.yml' });
    const r = await t.call('create_pr', prArgs({ files: [{ path: '.github/workflows/ci.yml', content: 'on: pull_request\n', action: 'update' }] }));
    assert.equal(r.isError, undefined, textOf(r));
  });

  test('a path outside a non-empty allow list names the allow patterns', async () => {
    const t = await tong({ TONG_SCOPE_ALLOW: 'checks/**, docs/*.md' });
    const r = await t.call('create_pr', prArgs({ files: one('README2.md') }));
    assert.match(textOf(r), /'README2\.md' is outside the allowed scope: it matches none of the patterns 'checks\/\*\*', 'docs\/\*\.md'/);
  });

  test('deny beats allow', async () => {
    const t = await tong({ TONG_SCOPE_ALLOW: 'checks/**', TONG_SCOPE_DENY: 'checks/secret*' });
    const r = await t.call('create_pr', prArgs({ files: one('checks/secret.md') }));
    assert.match(textOf(r), /denied by the scope pattern 'checks\/secret\*'/);
  });

  test('the same path twice is refused', async () => {
    const t = await tong();
    const r = await t.call('create_pr', prArgs({ files: [...one('a.md'), ...one('./a.md')] }));
    assert.match(textOf(r), /'a\.md' appears more than once/);
  });
});

describe('GitHub failures become actionable tool errors', () => {
  test('bad credentials (401)', async () => {
    const t = await tong({ GITHUB_TOKEN: 'ghp_wrongtoken_ABCDEFGH' });
    const r = await t.call('list_prs', repoArgs);
    assert.equal(r.isError, true);
    assert.match(textOf(r), /GitHub rejected the token \(401 Bad credentials\)/);
    assert.ok(!textOf(r).includes('ghp_wrongtoken_ABCDEFGH'));
    assert.ok(!t.logs.join('').includes('ghp_wrongtoken_ABCDEFGH'));
  });

  test('an exhausted rate limit answers with the reset time and is not retried', async () => {
    const reset = Math.floor(Date.now() / 1000) + 3600;
    fake.failNext({ ...rateLimitExhausted(reset), path: /\/pulls$/ });
    const t = await tong();
    const r = await t.call('list_prs', repoArgs);
    assert.equal(r.isError, true);
    assert.ok(textOf(r).includes(`It resets at ${new Date(reset * 1000).toISOString()}`), textOf(r));
    assert.match(textOf(r), /API rate limit was hit/);
    assert.equal(fake.requests.length, 1);
  });

  test('a short secondary rate limit (429, retry-after) is waited out once and the call succeeds', async () => {
    fake.failNext({ ...secondaryRateLimit(1), path: /\/pulls$/ });
    const t = await tong();
    const r = await t.call('list_prs', repoArgs);
    assert.equal(r.isError, undefined, textOf(r));
    assert.equal(fake.requests.filter((q) => q.path.endsWith('/pulls')).length, 2);
    assert.ok(t.logs.some((l) => /secondary rate limit .*retrying once/.test(l)), t.logs.join(''));
  });

  test('a long secondary rate limit is reported with its wait', async () => {
    fake.failNext({ ...secondaryRateLimit(120, 403), path: /\/pulls$/ });
    const t = await tong();
    const r = await t.call('list_prs', repoArgs);
    assert.equal(r.isError, true);
    assert.match(textOf(r), /secondary rate limit \(too many requests in a short time\) was hit\. It resets at .* \(in about 2 min\)/);
  });

  test('server errors are retried (5xx)', async () => {
    fake.failNext({ path: /\/pulls$/, status: 502, body: { message: 'Server Error' } });
    const t = await tong();
    const r = await t.call('list_prs', repoArgs);
    assert.equal(r.isError, undefined, textOf(r));
  });

  test('a GitHub that never answers: each attempt is abandoned after the timeout, retried, then one sentence', async () => {
    fake.failNext({ path: /\/pulls$/, stall: true, status: 0, times: 3 });
    const t = await tong({}, { requestTimeoutMs: 300 });
    const started = Date.now();
    const r = await t.call('list_prs', repoArgs);
    assert.equal(r.isError, true);
    assert.match(textOf(r), /GitHub could not be reached or failed \(no answer within 0\.3 s\) at http:\/\/127\.0\.0\.1:\d+\. This is usually temporary/);
    assert.equal(fake.requests.filter((q) => q.path.endsWith('/pulls')).length, 3, 'the first attempt and two retries');
    assert.ok(Date.now() - started < 10_000);
    // The next call, answered, works: nothing is left stuck.
    const ok = await t.call('list_prs', repoArgs);
    assert.equal(ok.isError, undefined, textOf(ok));
  });

  test('the token is redacted from every result and log line, even if GitHub echoes it', async () => {
    fake.failNext({ path: /\/pulls$/, status: 403, body: { message: `token ${fake.token} lacks scope` } });
    const t = await tong();
    const r = await t.call('list_prs', repoArgs);
    assert.equal(r.isError, true);
    assert.ok(!textOf(r).includes(fake.token), textOf(r));
    assert.match(textOf(r), /token \[REDACTED\] lacks scope/);
    assert.ok(t.logs.length > 0);
    assert.ok(!t.logs.join('').includes(fake.token));
    // Successful results are scrubbed too.
    fake.addPull(OWNER, REPO, { title: `leak ${fake.token}`, labels: ['tongs'] });
    const ok = await t.call('list_prs', repoArgs);
    assert.ok(!JSON.stringify(ok).includes(fake.token));
    assert.match(textOf(ok), /leak \[REDACTED\]/);
  });

  test('the token is sent to GitHub only in the Authorization header', async () => {
    const t = await tong();
    await t.call('create_pr', prArgs());
    for (const q of fake.requests) {
      assert.equal(q.headers.authorization, `token ${fake.token}`);
      assert.ok(!JSON.stringify({ ...q, headers: {} }).includes(fake.token));
    }
  });
});

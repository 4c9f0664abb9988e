// The git tong's spec scenarios as ONE table, run against each provider: GitHub (octokit → FakeGitHub),
// Gitea and Forgejo (gitea-js → FakeGitea in either flavour), through a real MCP Client in memory
// (issue #15 "Every spec scenario that the GitHub tests cover runs against it too"). Each scenario
// checks what a user would observe: the tool's answer, and the branches, commits and PRs on the forge.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeGitHub, type PullSeed, type RecordedRequest } from '../fakes/github-api.js';
import { FakeGitea } from '../fakes/gitea-api.js';
import { startTong, textOf, type TongUnderTest } from '../fakes/github-tong.js';
import { startGiteaTong } from '../fakes/gitea-tong.js';

const OWNER = 'octo-org';
const REPO = 'runbooks';
const repoArgs = { repo_owner: OWNER, repo_name: REPO };

/** What the scenarios need of a forge fake; FakeGitHub and FakeGitea both have it. */
interface ForgeFake {
  url: string;
  token: string;
  requests: RecordedRequest[];
  writes(): RecordedRequest[];
  clearRequests(): void;
  addRepo(owner: string, name: string, options?: { defaultBranch?: string; files?: Record<string, string> }): void;
  addPull(owner: string, name: string, seed: PullSeed): number;
  branches(owner: string, name: string): string[];
  filesAt(owner: string, name: string, branch: string): Record<string, string> | undefined;
  history(owner: string, name: string, branch: string): { message: string; parents: number }[];
  pulls(owner: string, name: string): readonly { number: number; title: string; body: string; base: string; labels: string[]; head: string }[];
  close(): Promise<void>;
}

/** One provider under test. */
interface ProviderCase {
  /** The forge's name as the tong's sentences use it. */
  name: 'GitHub' | 'Gitea' | 'Forgejo';
  tokenVar: 'GITHUB_TOKEN' | 'GITEA_TOKEN';
  fake: ForgeFake;
  /** A tong served by this forge only (env on top of the forge's URL and token, tier 2, PRs on). */
  tong(env?: Record<string, string | undefined>): Promise<TongUnderTest>;
  /** Web URL of pull request `n`, as the forge reports it. */
  pullUrl(n: number): string;
  /** Writes of a successful create_pr, as `METHOD /path` relative to the repository. */
  createWrites(prNumber: number): string[];
  /** The repository's API path prefix in `fake.requests`. */
  repoPath: string;
}

const github = new FakeGitHub({ token: 'ghp_tableTestToken_0123456789' });
const gitea = new FakeGitea({ token: 'gitea_tableTestToken_abcdef0123456789' });
const forgejo = new FakeGitea({ flavor: 'forgejo', token: 'forgejo_tableTestToken_abcdef0123456789' });
const open: { close(): Promise<void> }[] = [];
const keep = <T extends { close(): Promise<void> }>(t: T): T => (open.push(t), t);

const PROVIDERS: ProviderCase[] = [
  {
    name: 'GitHub',
    tokenVar: 'GITHUB_TOKEN',
    fake: github,
    tong: async (env = {}) => keep(await startTong(github, env)),
    pullUrl: (n) => `${github.url}/${OWNER}/${REPO}/pull/${n}`,
    createWrites: (n) => ['POST /git/trees', 'POST /git/commits', 'POST /git/refs', 'POST /pulls', `POST /issues/${n}/labels`],
    repoPath: `/repos/${OWNER}/${REPO}`,
  },
  ...[gitea, forgejo].map(
    (fake): ProviderCase => ({
      name: fake.flavor === 'forgejo' ? 'Forgejo' : 'Gitea',
      tokenVar: 'GITEA_TOKEN',
      fake: fake as unknown as ForgeFake,
      tong: async (env = {}) => keep((await startGiteaTong(fake, giteaEnv(env))) as unknown as TongUnderTest),
      pullUrl: (n) => `${fake.url}/${OWNER}/${REPO}/pulls/${n}`,
      // One write makes the commit and the branch; the label is created once (it is missing at first).
      createWrites: () => ['POST /contents', 'POST /labels', 'POST /pulls'],
      repoPath: `/api/v1/repos/${OWNER}/${REPO}`,
    }),
  ),
];

/** The GitHub scenarios speak of GITHUB_TOKEN; for Gitea the same knob is GITEA_TOKEN. */
function giteaEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...env };
  if ('GITHUB_TOKEN' in out) {
    out.GITEA_TOKEN = out.GITHUB_TOKEN;
    delete out.GITHUB_TOKEN;
  }
  return out;
}

function seed(p: ProviderCase): void {
  p.fake.addRepo(OWNER, REPO, {
    files: {
      'README.md': '# runbooks\n',
      'checks/http.md': 'check http\n',
      'checks/dns.md': 'check dns\n',
      'prompts/tier1-observe.md': 'observe\n',
      '.github/workflows/ci.yml': 'on: push\n',
    },
  });
  p.fake.clearRequests();
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

const hostOf = (p: ProviderCase) => new URL(p.fake.url).hostname;

/** The table: each scenario runs once per provider. */
const SCENARIOS: { name: string; run: (p: ProviderCase) => Promise<void> }[] = [
  {
    name: 'REQ-3 create_pr: one commit on a new branch, a labelled PR, {number, url, branch}',
    run: async (p) => {
      const t = await p.tong();
      const r = await t.call('create_pr', prArgs());
      assert.equal(r.isError, undefined, textOf(r));
      const out = r.structuredContent as { number: number; url: string; branch: string; dry_run: boolean };
      assert.equal(out.branch, 'tongs/fix/add-health-check-for-jellyfin');
      assert.equal(out.dry_run, false);
      assert.equal(out.url, p.pullUrl(out.number));
      const files = p.fake.filesAt(OWNER, REPO, out.branch)!;
      assert.equal(files['checks/jellyfin.md'], 'check jellyfin\n');
      assert.equal(files['checks/http.md'], 'check http v2\n');
      assert.equal(files['checks/dns.md'], 'check dns\n', 'untouched files stay');
      assert.deepEqual(p.fake.history(OWNER, REPO, out.branch)[0], { message: 'Add health check for jellyfin', parents: 1 });
      assert.equal(p.fake.history(OWNER, REPO, out.branch).length, 2, 'exactly one new commit on top of main');
      const pr = p.fake.pulls(OWNER, REPO).find((x) => x.number === out.number)!;
      assert.equal(pr.title, 'Add health check for jellyfin');
      assert.equal(pr.body, 'Adds a check.');
      assert.equal(pr.base, 'main');
      assert.deepEqual(pr.labels, ['tongs']);
      assert.deepEqual(
        p.fake.writes().map((w) => `${w.method} ${w.path.replace(p.repoPath, '')}`),
        p.createWrites(out.number),
      );
    },
  },
  {
    name: 'REQ-3 create_pr: delete removes a file; base_branch is honoured',
    run: async (p) => {
      p.fake.addRepo(OWNER, REPO, { defaultBranch: 'trunk', files: { 'a.md': 'a\n', 'b.md': 'b\n' } });
      const t = await p.tong({ TONG_TIER: '3' });
      const r = await t.call('create_pr', prArgs({ title: 'Remove b', base_branch: 'trunk', change_type: 'chore', files: [{ path: 'b.md', action: 'delete' }] }));
      assert.equal(r.isError, undefined, textOf(r));
      assert.deepEqual(p.fake.filesAt(OWNER, REPO, 'tongs/chore/remove-b'), { 'a.md': 'a\n' });
      assert.equal(p.fake.pulls(OWNER, REPO)[0]!.base, 'trunk');
    },
  },
  {
    name: 'REQ-3 scope: a denied path is refused before any request, naming the path and the pattern',
    run: async (p) => {
      const t = await p.tong({ TONG_SCOPE_DENY: 'prompts/**' });
      const r = await t.call('create_pr', prArgs({ files: [{ path: 'prompts/tier1-observe.md', content: 'x', action: 'update' }] }));
      assert.equal(r.isError, true);
      assert.match(textOf(r), /'prompts\/tier1-observe\.md' is denied by the scope pattern 'prompts\/\*\*'/);
      assert.equal(p.fake.requests.length, 0);
    },
  },
  {
    name: 'scope: .github, .gitea and .forgejo workflows are denied by default, even when the allow list is **',
    run: async (p) => {
      const t = await p.tong({ TONG_SCOPE_ALLOW: '**' });
      for (const path of ['.github/workflows/ci.yml', '.gitea/workflows/ci.yaml', '.forgejo/workflows/deploy.yml']) {
        const r = await t.call('create_pr', prArgs({ files: [{ path, content: 'on: push\n', action: 'create' }] }));
        assert.equal(r.isError, true, path);
        assert.match(textOf(r), new RegExp(`'${path.replace(/\./g, '\\.')}' is denied by the built-in scope pattern '${path.split('/')[0]!.replace('.', '\\.')}/workflows/\\*\\*'`));
      }
      assert.equal(p.fake.requests.length, 0);
      const allowed = await p.tong({ TONG_SCOPE_ALLOW: '.forgejo/**' });
      const r = await allowed.call('create_pr', prArgs({ files: [{ path: '.forgejo/workflows/deploy.yml', content: 'on: push\n', action: 'create' }] }));
      assert.equal(r.isError, undefined, textOf(r));
    },
  },
  {
    name: 'REQ-3 / REQ-6 tier 1 cannot create PRs; tier 2 refuses more than 3 files',
    run: async (p) => {
      const t1 = await p.tong({ TONG_TIER: '1' });
      assert.match(textOf(await t1.call('create_pr', prArgs())), /Tier 1 cannot create pull requests/);
      const t2 = await p.tong({ TONG_TIER: '2' });
      const files = [1, 2, 3, 4].map((i) => ({ path: `checks/n${i}.md`, content: 'x', action: 'create' }));
      const r = await t2.call('create_pr', prArgs({ files }));
      assert.match(textOf(r), /at most 3 files per pull request, and this one changes 4/);
      assert.match(textOf(r), /tier 3 \(TONG_TIER=3\)/);
      assert.equal(p.fake.requests.length, 0);
    },
  },
  {
    name: 'REQ-3 resolution: a clone_url on an unknown host is refused naming the hosts served; on the forge host it resolves',
    run: async (p) => {
      const t = await p.tong();
      const r = await t.call('create_pr', prArgs({ clone_url: `https://gitlab.example.com/${OWNER}/${REPO}.git` }));
      assert.equal(r.isError, true);
      assert.match(textOf(r), new RegExp(`Cannot resolve a git provider for ${OWNER}/${REPO}`));
      assert.match(textOf(r), /not gitlab\.example\.com/);
      assert.ok(textOf(r).includes(hostOf(p)), `names the host served: ${textOf(r)}`);
      assert.equal(p.fake.requests.length, 0);
      for (const clone_url of [`https://${hostOf(p)}/${OWNER}/${REPO}.git`, `git@${hostOf(p)}:${OWNER}/${REPO}.git`]) {
        const ok = await t.call('list_prs', { ...repoArgs, clone_url });
        assert.equal(ok.isError, undefined, `${clone_url}: ${textOf(ok)}`);
      }
      const other = await t.call('list_prs', { ...repoArgs, clone_url: `https://${hostOf(p)}/someone/else.git` });
      assert.match(textOf(other), /names someone\/else, but repo_owner\/repo_name say octo-org\/runbooks/);
    },
  },
  {
    name: 'REQ-3 an existing branch is refused before any write',
    run: async (p) => {
      const t = await p.tong();
      assert.equal((await t.call('create_pr', prArgs())).isError, undefined);
      p.fake.clearRequests();
      const r = await t.call('create_pr', prArgs());
      assert.equal(r.isError, true);
      assert.match(textOf(r), /Branch 'tongs\/fix\/add-health-check-for-jellyfin' already exists in octo-org\/runbooks/);
      assert.deepEqual(p.fake.writes(), []);
    },
  },
  {
    name: 'REQ-3 actions are checked against the base branch before any write (one lookup per named path)',
    run: async (p) => {
      const t = await p.tong();
      const exists = await t.call('create_pr', prArgs({ files: [{ path: 'checks/http.md', content: 'x', action: 'create' }] }));
      assert.match(textOf(exists), /File 'checks\/http\.md' already exists in octo-org\/runbooks@main; use action "update"/);
      const missing = await t.call('create_pr', prArgs({ files: [{ path: 'checks/nope.md', content: 'x', action: 'update' }] }));
      assert.match(textOf(missing), /File 'checks\/nope\.md' does not exist in octo-org\/runbooks@main, so it cannot be updated/);
      const dir = await t.call('create_pr', prArgs({ files: [{ path: 'checks', content: 'x', action: 'update' }] }));
      assert.match(textOf(dir), /'checks' is a directory in octo-org\/runbooks@main; name a file/);
      assert.deepEqual(p.fake.writes(), []);
    },
  },
  {
    name: 'REQ-3 a missing base branch and an unknown repository are not-found errors',
    run: async (p) => {
      const t = await p.tong();
      const r = await t.call('create_pr', prArgs({ base_branch: 'nope' }));
      assert.match(textOf(r), /Base branch 'nope' was not found in octo-org\/runbooks/);
      const u = await t.call('list_prs', { repo_owner: 'octo-org', repo_name: 'missing' });
      assert.equal(u.isError, true);
      assert.match(textOf(u), new RegExp(`${p.name} answered 404 Not Found for octo-org/missing`));
      assert.deepEqual(p.fake.writes(), []);
    },
  },
  {
    name: 'REQ-3 when opening the PR fails, the branch made for it is deleted again',
    run: async (p) => {
      const t = await p.tong();
      p.fake.addPull(OWNER, REPO, { title: 'keep the label around', labels: ['tongs'] });
      (p.fake as unknown as FakeGitHub).failNext({ method: 'POST', path: /\/pulls$/, status: 422, body: { message: 'Validation Failed' } });
      const r = await t.call('create_pr', prArgs());
      assert.equal(r.isError, true);
      assert.match(textOf(r), new RegExp(`Could not create the pull request in octo-org/runbooks: ${p.name} refused the request as invalid \\(422: Validation Failed`));
      assert.deepEqual(p.fake.branches(OWNER, REPO), ['main']);
    },
  },
  {
    name: 'REQ-4 list_prs: open labelled PRs with number, title and files; others left out; none gives []',
    run: async (p) => {
      const t = await p.tong();
      assert.deepEqual((await t.call('list_prs', repoArgs)).structuredContent, { prs: [] });
      const a = p.fake.addPull(OWNER, REPO, { title: 'Fix DNS check', labels: ['tongs'], files: ['checks/dns.md'] });
      const b = p.fake.addPull(OWNER, REPO, { title: 'Add two checks', labels: ['tongs', 'ops'], files: ['checks/a.md', 'checks/b.md'] });
      p.fake.addPull(OWNER, REPO, { title: 'Human PR', labels: ['ops'], files: ['README.md'] });
      p.fake.addPull(OWNER, REPO, { title: 'Old tong PR', labels: ['tongs'], state: 'closed', files: ['x.md'] });
      const r = await t.call('list_prs', repoArgs);
      assert.equal(r.isError, undefined, textOf(r));
      const prs = (r.structuredContent as { prs: { number: number }[] }).prs;
      assert.deepEqual(
        [...prs].sort((x, y) => x.number - y.number),
        [
          { number: a, title: 'Fix DNS check', files: ['checks/dns.md'] },
          { number: b, title: 'Add two checks', files: ['checks/a.md', 'checks/b.md'] },
        ],
      );
    },
  },
  {
    name: 'REQ-4 the label is configurable (TONG_PR_LABEL) and used for both create and list',
    run: async (p) => {
      const t = await p.tong({ TONG_PR_LABEL: 'claude-ops' });
      p.fake.addPull(OWNER, REPO, { title: 'tongs-labelled', labels: ['tongs'] });
      const created = await t.call('create_pr', prArgs());
      assert.equal(created.isError, undefined, textOf(created));
      const number = (created.structuredContent as { number: number }).number;
      const r = await t.call('list_prs', repoArgs);
      assert.deepEqual((r.structuredContent as { prs: { number: number }[] }).prs.map((x) => x.number), [number]);
    },
  },
  {
    name: 'REQ-4 pagination: every page of pulls and of files is followed',
    run: async (p) => {
      for (let i = 0; i < 130; i++) p.fake.addPull(OWNER, REPO, { title: `PR ${i}`, labels: i % 2 ? ['tongs'] : [], files: [`f${i}.md`] });
      const big = p.fake.addPull(OWNER, REPO, { title: 'big', labels: ['tongs'], files: Array.from({ length: 150 }, (_, i) => `big/${i}.md`) });
      const t = await p.tong();
      const prs = ((await t.call('list_prs', repoArgs)).structuredContent as { prs: { number: number; files: string[] }[] }).prs;
      assert.equal(prs.length, 66);
      assert.equal(prs.find((x) => x.number === big)?.files.length, 150);
    },
  },
  {
    name: 'REQ-1 / REQ-4 a disabled provider (no token) explains why, naming its variable, without a request',
    run: async (p) => {
      const t = await p.tong({ GITHUB_TOKEN: '' });
      for (const [tool, args] of [
        ['list_prs', repoArgs],
        ['get_pr_status', { ...repoArgs, pr_number: 1 }],
        ['create_pr', prArgs()],
      ] as const) {
        const r = await t.call(tool, args);
        assert.equal(r.isError, true, tool);
        assert.match(textOf(r), new RegExp(`${p.name === 'GitHub' ? 'GitHub' : 'Gitea'} is not available: .*\\(${p.tokenVar} is empty\\)`), tool);
      }
      assert.equal(p.fake.requests.length, 0);
    },
  },
  {
    name: 'REQ-5 get_pr_status: open with one approval; merged; closed; not found',
    run: async (p) => {
      const n = p.fake.addPull(OWNER, REPO, { title: 't', mergeable: true, reviews: [{ user: 'alice', state: 'APPROVED', body: 'LGTM' }] });
      const merged = p.fake.addPull(OWNER, REPO, { title: 'm', merged: true });
      const closed = p.fake.addPull(OWNER, REPO, { title: 'c', state: 'closed', mergeable: false });
      const t = await p.tong();
      const r = await t.call('get_pr_status', { ...repoArgs, pr_number: n });
      assert.equal(r.isError, undefined, textOf(r));
      assert.deepEqual(r.structuredContent, { number: n, state: 'open', mergeable: true, reviews: [{ author: 'alice', state: 'approved', body: 'LGTM' }] });
      assert.equal(((await t.call('get_pr_status', { ...repoArgs, pr_number: merged })).structuredContent as { state: string }).state, 'merged');
      const c = (await t.call('get_pr_status', { ...repoArgs, pr_number: closed })).structuredContent as { state: string; mergeable: boolean };
      assert.deepEqual([c.state, c.mergeable], ['closed', false]);
      const nf = await t.call('get_pr_status', { ...repoArgs, pr_number: 999 });
      assert.equal(nf.isError, true);
      assert.match(textOf(nf), /Pull request #999 was not found in octo-org\/runbooks/);
    },
  },
  {
    name: 'REQ-5 review states are the same lower-case states on every forge, across pages',
    run: async (p) => {
      const states = ['APPROVED', 'CHANGES_REQUESTED', 'COMMENTED', 'DISMISSED'] as const;
      const reviews = Array.from({ length: 105 }, (_, i) => ({ user: `u${i}`, state: states[i % 4]!, body: `r${i}` }));
      const n = p.fake.addPull(OWNER, REPO, { title: 'busy', reviews });
      const t = await p.tong();
      const out = (await t.call('get_pr_status', { ...repoArgs, pr_number: n })).structuredContent as { reviews: { state: string; author: string }[] };
      assert.equal(out.reviews.length, 105);
      assert.deepEqual(out.reviews.slice(0, 4).map((r) => r.state), ['approved', 'changes_requested', 'commented', 'dismissed']);
      assert.equal(out.reviews[104]!.author, 'u104');
    },
  },
  {
    name: 'REQ-7 dry run: validated, nothing requested, dry_run: true; a denied path is still refused',
    run: async (p) => {
      const t = await p.tong({ TONG_DRY_RUN: 'true' });
      const r = await t.call('create_pr', prArgs());
      assert.equal(r.isError, undefined, textOf(r));
      assert.deepEqual(r.structuredContent, {
        branch: 'tongs/fix/add-health-check-for-jellyfin',
        base_branch: 'main',
        dry_run: true,
        files: [
          { path: 'checks/jellyfin.md', action: 'create' },
          { path: 'checks/http.md', action: 'update' },
        ],
      });
      const denied = await t.call('create_pr', prArgs({ files: [{ path: '.github/workflows/ci.yml', content: 'x', action: 'update' }] }));
      assert.equal(denied.isError, true);
      assert.equal(p.fake.requests.length, 0);
      assert.equal((await t.call('list_prs', repoArgs)).isError, undefined, 'read-only tools still answer');
    },
  },
  {
    name: 'REQ-11 branch names: change_type and TONG_BRANCH_PREFIX',
    run: async (p) => {
      const t = await p.tong({ TONG_BRANCH_PREFIX: 'bots/claude-ops' });
      const r = await t.call('create_pr', prArgs({ change_type: 'check' }));
      assert.equal((r.structuredContent as { branch: string }).branch, 'bots/claude-ops/check/add-health-check-for-jellyfin');
      assert.ok(p.fake.branches(OWNER, REPO).includes('bots/claude-ops/check/add-health-check-for-jellyfin'));
    },
  },
  {
    name: 'REQ-2 discovery: TONG_PR_ENABLED=true lists the three tools with output schemas; otherwise only the read tools',
    run: async (p) => {
      const on = await p.tong({ TONG_PR_ENABLED: 'true' });
      const { tools } = await on.client.listTools();
      assert.deepEqual(tools.map((x) => x.name).sort(), ['create_pr', 'get_pr_status', 'list_prs']);
      for (const tool of tools) assert.ok(tool.outputSchema && (tool.description ?? '').length > 80, tool.name);
      const create = tools.find((x) => x.name === 'create_pr')!;
      assert.deepEqual([...(create.inputSchema.required ?? [])].sort(), ['body', 'files', 'repo_name', 'repo_owner', 'title']);
      for (const value of [undefined, 'false', 'TRUE']) {
        const off = await p.tong({ TONG_PR_ENABLED: value });
        assert.deepEqual((await off.client.listTools()).tools.map((x) => x.name).sort(), ['get_pr_status', 'list_prs'], String(value));
        assert.match(textOf(await off.call('create_pr', prArgs())), /create_pr not found/);
      }
      assert.equal(p.fake.requests.length, 0);
    },
  },
  {
    name: 'REQ-6 the tier comes from the environment only: unset, invalid or a tool argument all mean tier 1',
    run: async (p) => {
      for (const value of [undefined, 'abc', '4', '2.5']) {
        const t = await p.tong({ TONG_TIER: value });
        const { tools } = await t.client.listTools();
        for (const tool of tools) assert.ok(!('tier' in (tool.inputSchema.properties ?? {})), tool.name);
        assert.match(textOf(await t.call('create_pr', { ...prArgs(), tier: 3 })), /Tier 1 cannot create pull requests/, String(value));
      }
      const t2 = await p.tong({ TONG_TIER: '2' });
      const files = (n: number) => Array.from({ length: n }, (_, i) => ({ path: `checks/t${i}.md`, content: 'x', action: 'create' }));
      assert.equal((await t2.call('create_pr', prArgs({ title: 'three', files: files(3) }))).isError, undefined);
      assert.equal(p.fake.pulls(OWNER, REPO).length, 1);
    },
  },
  {
    name: 'REQ-11 slugs: symbol-heavy titles give single hyphens, at most 50 characters; a bad change_type is refused',
    run: async (p) => {
      const t = await p.tong({ TONG_DRY_RUN: 'true' });
      const r = await t.call('create_pr', prArgs({ title: '  --Fix: the   "ALERT" thresholds for Disk/Memory & CPU usage on every node!!  ' }));
      assert.equal((r.structuredContent as { branch: string }).branch, 'tongs/fix/fix-the-alert-thresholds-for-disk-memory-cpu-usage');
      assert.match(textOf(await t.call('create_pr', prArgs({ change_type: '../x' }))), /change_type/);
      assert.equal(p.fake.requests.length, 0);
    },
  },
  {
    name: 'paths: normalised before scope and commit; absolute, "..", .git and backslashes refused; duplicates refused',
    run: async (p) => {
      const one = (path: string) => [{ path, content: 'x\n', action: 'create' }];
      const t = await p.tong({ TONG_SCOPE_ALLOW: 'checks/**' });
      const ok = await t.call('create_pr', prArgs({ files: one('./checks//new.md') }));
      assert.equal(ok.isError, undefined, textOf(ok));
      assert.equal(p.fake.filesAt(OWNER, REPO, (ok.structuredContent as { branch: string }).branch)!['checks/new.md'], 'x\n');
      p.fake.clearRequests();
      for (const [path, why] of [
        ['/etc/passwd', 'it is absolute'],
        ['checks/../../etc/passwd', 'it contains ".."'],
        ['.git/config', 'it is inside .git'],
        ['checks\\x.md', 'it contains a backslash'],
      ] as const) {
        const r = await t.call('create_pr', prArgs({ title: `Bad ${why}`, files: one(path) }));
        assert.ok(textOf(r).includes(`File path ${JSON.stringify(path)} is refused: ${why}`), textOf(r));
      }
      assert.match(textOf(await t.call('create_pr', prArgs({ files: [...one('checks/a.md'), ...one('./checks/a.md')] }))), /'checks\/a\.md' appears more than once/);
      assert.equal(p.fake.requests.length, 0);
    },
  },
  {
    name: 'scope: a path outside a non-empty allow list names the patterns; deny beats allow',
    run: async (p) => {
      const t = await p.tong({ TONG_SCOPE_ALLOW: 'checks/**, docs/*.md', TONG_SCOPE_DENY: 'checks/secret*' });
      const outside = await t.call('create_pr', prArgs({ files: [{ path: 'README2.md', content: 'x', action: 'create' }] }));
      assert.match(textOf(outside), /'README2\.md' is outside the allowed scope: it matches none of the patterns 'checks\/\*\*', 'docs\/\*\.md'/);
      const denied = await t.call('create_pr', prArgs({ files: [{ path: 'checks/secret.md', content: 'x', action: 'create' }] }));
      assert.match(textOf(denied), /denied by the scope pattern 'checks\/secret\*'/);
      assert.equal(p.fake.requests.length, 0);
    },
  },
  {
    name: 'errors: bad credentials (401) name the forge and its token variable; the token is never echoed',
    run: async (p) => {
      const bad = 'definitely-wrong-token-ZYXW9876';
      const t = await p.tong({ GITHUB_TOKEN: bad });
      const r = await t.call('list_prs', repoArgs);
      assert.equal(r.isError, true);
      assert.match(textOf(r), new RegExp(`${p.name} rejected the token \\(401 `));
      assert.match(textOf(r), new RegExp(`valid ${p.tokenVar}`));
      assert.ok(!JSON.stringify(r).includes(bad));
      assert.ok(!t.logs.join('').includes(bad));
    },
  },
  {
    name: 'redaction: a token the forge echoes is removed from results and logs; it travels only in Authorization',
    run: async (p) => {
      const t = await p.tong();
      (p.fake as unknown as FakeGitHub).failNext({ method: 'GET', path: /\/pulls$/, status: 422, body: { message: `bad input near ${p.fake.token}` } });
      const r = await t.call('list_prs', repoArgs);
      assert.equal(r.isError, true);
      assert.ok(!JSON.stringify(r).includes(p.fake.token), textOf(r));
      assert.match(textOf(r), /\[REDACTED\]/);
      assert.ok(!t.logs.join('').includes(p.fake.token));
      await t.call('create_pr', prArgs());
      for (const q of p.fake.requests) {
        const { authorization, ...rest } = q.headers;
        assert.ok(String(authorization).includes(p.fake.token));
        assert.ok(!JSON.stringify({ ...q, headers: rest }).includes(p.fake.token), `${q.method} ${q.path}`);
      }
    },
  },
];

before(async () => {
  await github.start();
  await gitea.start(0, '127.0.0.2');
  await forgejo.start(0, '127.0.0.3');
});
after(async () => {
  for (const t of open) await t.close();
  await Promise.all([github.close(), gitea.close(), forgejo.close()]);
});

for (const p of PROVIDERS) {
  describe(`${p.name}: spec scenarios`, () => {
    for (const s of SCENARIOS) {
      test(s.name, async () => {
        seed(p);
        await s.run(p);
      });
    }
  });
}

// Gitea and Forgejo in the git tong (issue #15), the parts the provider table does not cover:
// configuration, provider resolution by clone_url host with both forges served, Forgejo detection,
// the change-files version rule, review-state mapping, labels, and redaction of both tokens.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readConfig } from '../../sidecars/github/src/config.js';
import { GITEA_LABEL, GITHUB_LABEL, UnresolvedRepositoryError, ValidationError } from '../../sidecars/github/src/errors.js';
import { createGiteaProvider, reviewState, supportsChangeFiles, toGiteaError } from '../../sidecars/github/src/gitea.js';
import { checkScope } from '../../sidecars/github/src/policy.js';
import type { GitProvider } from '../../sidecars/github/src/provider.js';
import { createRegistry } from '../../sidecars/github/src/registry.js';
import { FakeGitHub } from '../fakes/github-api.js';
import { FakeGitea } from '../fakes/gitea-api.js';
import { textOf } from '../fakes/github-tong.js';
import { startGiteaTong, type GiteaTongUnderTest } from '../fakes/gitea-tong.js';

const stub = {} as GitProvider;
const repo = { owner: 'o', name: 'r' };

describe('config: GITEA_URL and GITEA_TOKEN', () => {
  test('the web root is kept without a trailing slash or /api/v1; a sub-path install keeps its path', () => {
    assert.equal(readConfig({ GITEA_URL: 'https://git.example.com/' }).giteaUrl, 'https://git.example.com');
    assert.equal(readConfig({ GITEA_URL: 'https://git.example.com/api/v1/' }).giteaUrl, 'https://git.example.com');
    assert.equal(readConfig({ GITEA_URL: 'https://example.com/gitea' }).giteaUrl, 'https://example.com/gitea');
  });

  test('unset or empty means Gitea is not served; a bad URL is a warning, not a crash', () => {
    assert.equal(readConfig({}).giteaUrl, undefined);
    assert.equal(readConfig({ GITEA_URL: ' ' }).giteaUrl, undefined);
    const bad = readConfig({ GITEA_URL: 'ftp://git.example.com' });
    assert.equal(bad.giteaUrl, undefined);
    assert.match(bad.warnings.join('\n'), /GITEA_URL is not an http\(s\) URL; Gitea is not served/);
    assert.match(readConfig({ GITEA_TOKEN: 'abcd1234' }).warnings.join('\n'), /GITEA_TOKEN is set but GITEA_URL is not/);
  });
});

describe('registry: clone_url host picks the provider (spec REQ-3 Registry.Resolve)', () => {
  const both = createRegistry({ githubApiUrl: 'https://api.github.com', github: stub, giteaUrl: 'https://git.example.com', gitea: stub });

  const cases: { name: string; clone?: string; want: 'github' | 'gitea' }[] = [
    { name: 'absent ⇒ GitHub', want: 'github' },
    { name: 'blank ⇒ GitHub', clone: '  ', want: 'github' },
    { name: 'github.com https', clone: 'https://github.com/o/r.git', want: 'github' },
    { name: 'github.com scp', clone: 'git@github.com:o/r.git', want: 'github' },
    { name: 'Gitea https', clone: 'https://git.example.com/o/r.git', want: 'gitea' },
    { name: 'Gitea ssh on another port', clone: 'ssh://git@git.example.com:2222/o/r.git', want: 'gitea' },
    { name: 'Gitea scp, host in upper case', clone: 'git@GIT.example.com:o/r', want: 'gitea' },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.want}`, () => {
      assert.equal(both.resolve(repo, c.clone).kind, c.want);
    });
  }

  test('an unknown host is refused, naming every host served and the forge of each', () => {
    assert.throws(
      () => both.resolve(repo, 'https://gitlab.example.com/o/r.git'),
      (err: Error) =>
        err instanceof UnresolvedRepositoryError &&
        /Cannot resolve a git provider for o\/r/.test(err.message) &&
        /serves only api\.github\.com, github\.com, www\.github\.com, git\.example\.com/.test(err.message) &&
        /GitHub: .*; Gitea: git\.example\.com/.test(err.message) &&
        /not gitlab\.example\.com/.test(err.message),
    );
  });

  test('a clone_url naming another repository is refused', () => {
    assert.throws(() => both.resolve(repo, 'https://git.example.com/x/y.git'), ValidationError);
  });

  test('only Gitea configured (no GITHUB_TOKEN): absent clone_url means Gitea; github.com is still served, disabled', () => {
    const onlyGitea = createRegistry({ githubApiUrl: 'https://api.github.com', github: undefined, giteaUrl: 'https://git.example.com', gitea: stub });
    assert.equal(onlyGitea.resolve(repo, undefined).kind, 'gitea');
    const gh = onlyGitea.resolve(repo, 'https://github.com/o/r.git');
    assert.equal(gh.kind, 'github');
    assert.equal(gh.provider, undefined);
  });

  test('GitHub only: absent clone_url is GitHub, a Gitea host is unknown', () => {
    const onlyGithub = createRegistry({ githubApiUrl: 'https://api.github.com', github: stub });
    assert.equal(onlyGithub.resolve(repo, undefined).kind, 'github');
    assert.throws(() => onlyGithub.resolve(repo, 'https://git.example.com/o/r.git'), UnresolvedRepositoryError);
  });

  test('labels: GitHub and Gitea until detection says Forgejo', () => {
    assert.deepEqual(both.entries.map((e) => e.label()), [GITHUB_LABEL, GITEA_LABEL]);
  });
});

describe('Forgejo/Gitea version rule for change files (Gitea ≥ 1.20, Forgejo ≥ 1.20 or its own 7+)', () => {
  const cases: [string, 'Gitea' | 'Forgejo', boolean][] = [
    ['1.23.1', 'Gitea', true],
    ['1.20.0', 'Gitea', true],
    ['1.19.4', 'Gitea', false],
    ['1.24.0+dev-12-gabcdef', 'Gitea', true],
    ['7.0.0+gitea-1.22.0', 'Forgejo', true],
    ['11.0.1+gitea-1.22.0', 'Forgejo', true],
    ['1.20.5-0', 'Forgejo', true],
    ['1.19.3-0', 'Forgejo', false],
    ['unknown', 'Gitea', true],
  ];
  for (const [version, name, ok] of cases) {
    test(`${name} ${version} → ${ok ? 'supported' : 'too old'}`, () => {
      assert.equal(supportsChangeFiles({ label: { name, tokenVar: 'GITEA_TOKEN' }, version }), ok);
    });
  }
});

describe('review states: Gitea → the lower-case states of GitHub', () => {
  const cases: [string, boolean, string | undefined][] = [
    ['APPROVED', false, 'approved'],
    ['REQUEST_CHANGES', false, 'changes_requested'],
    ['COMMENT', false, 'commented'],
    ['PENDING', false, 'pending'],
    ['REQUEST_CHANGES', true, 'dismissed'],
    ['APPROVED', true, 'dismissed'],
    ['REQUEST_REVIEW', false, undefined],
  ];
  for (const [state, dismissed, want] of cases) {
    test(`${state}${dismissed ? ' (dismissed)' : ''} → ${String(want)}`, () => assert.equal(reviewState(state, dismissed), want));
  }
});

describe('scope: the CI folders of every forge', () => {
  for (const p of ['.github/workflows/a.yml', '.gitea/workflows/a.yaml', '.forgejo/workflows/sub/a.yml']) {
    test(`${p} is denied by default and allowed only by a pattern naming its folder`, () => {
      assert.throws(() => checkScope(p, { allow: [], deny: [] }), /built-in scope pattern/);
      assert.throws(() => checkScope(p, { allow: ['**'], deny: [] }), /built-in scope pattern/);
      const dir = p.split('/')[0]!;
      assert.doesNotThrow(() => checkScope(p, { allow: [`${dir}/**`], deny: [] }));
      assert.throws(() => checkScope(p, { allow: [`${dir}/**`], deny: [`${dir}/workflows/**`] }), /TONG_SCOPE_DENY/);
    });
  }
  test('a .gitea file outside workflows is not denied', () => {
    assert.doesNotThrow(() => checkScope('.gitea/issue_template.md', { allow: [], deny: [] }));
  });
});

describe('gitea-js errors become HTTP errors describeError reads', () => {
  test('a Response with a parsed APIError body', () => {
    const res = new Response('{}', { status: 409, statusText: 'Conflict' }) as Response & { error?: unknown };
    res.error = { message: 'pull request already exists for these targets', url: 'x' };
    const e = toGiteaError(res) as { status: number; message: string };
    assert.equal(e.status, 409);
    assert.equal(e.message, 'pull request already exists for these targets');
  });
  test('an unreachable server (fetch TypeError) is a 500 without a response', () => {
    const err = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const e = toGiteaError(err) as { status: number; message: string; response?: unknown };
    assert.equal(e.status, 500);
    assert.equal(e.response, undefined);
    assert.match(e.message, /fetch failed \(ECONNREFUSED\)/);
  });
});

// --- through the MCP server, both forges at once ----------------------------------------------

const github = new FakeGitHub({ token: 'ghp_bothForgesToken_0123456789' });
const gitea = new FakeGitea({ token: 'gitea_bothForgesToken_0123456789abcd' });
const forgejo = new FakeGitea({ flavor: 'forgejo', token: 'forgejo_bothForgesToken_0123456789ab' });
const open: GiteaTongUnderTest[] = [];
const files = [{ path: 'notes/new.md', content: 'new\n', action: 'create' }];
const prArgs = (extra: Record<string, unknown> = {}) => ({ repo_owner: 'acme', repo_name: 'ops', title: 'Add notes', body: 'b', files, ...extra });

before(async () => {
  await github.start();
  await gitea.start(0, '127.0.0.2');
  await forgejo.start(0, '127.0.0.3');
});
beforeEach(() => {
  for (const f of [github, gitea, forgejo]) {
    f.addRepo('acme', 'ops', { files: { 'README.md': 'ops\n' } });
    f.clearRequests();
  }
  gitea.canCreateLabels = true;
  gitea.version = '1.23.1';
  gitea.removeOrg('acme');
});
after(async () => {
  for (const t of open) await t.close();
  await Promise.all([github.close(), gitea.close(), forgejo.close()]);
});

describe('one tong serving GitHub and Gitea', () => {
  test('clone_url sends each call to its forge; without clone_url it goes to GitHub', async () => {
    const t = await startGiteaTong(gitea, {}, github);
    open.push(t);
    const onGitea = await t.call('create_pr', prArgs({ clone_url: `${gitea.url}/acme/ops.git` }));
    assert.equal(onGitea.isError, undefined, textOf(onGitea));
    assert.match((onGitea.structuredContent as { url: string }).url, new RegExp(`^${gitea.url}/acme/ops/pulls/\\d+$`));
    assert.equal(gitea.pulls('acme', 'ops').length, 1);
    assert.equal(github.pulls('acme', 'ops').length, 0);

    const onGithub = await t.call('create_pr', prArgs({ title: 'Add notes on GitHub', clone_url: `git@127.0.0.1:acme/ops.git` }));
    assert.equal(onGithub.isError, undefined, textOf(onGithub));
    assert.equal(github.pulls('acme', 'ops').length, 1);

    const plain = await t.call('list_prs', { repo_owner: 'acme', repo_name: 'ops' });
    assert.deepEqual((plain.structuredContent as { prs: { title: string }[] }).prs.map((p) => p.title), ['Add notes on GitHub']);
    assert.match(t.logs.join(''), /create_pr: opened acme\/ops#1 from tongs\/fix\/add-notes on Gitea/);
  });

  test('the tool descriptions name both forges and how clone_url picks one', async () => {
    const t = await startGiteaTong(gitea, {}, github);
    open.push(t);
    const { tools } = await t.client.listTools();
    for (const tool of tools) {
      assert.match(tool.description ?? '', /GitHub \(.+\) or Gitea\/Forgejo \(127\.0\.0\.2\)/, tool.name);
      assert.match(tool.description ?? '', /clone_url's host picks the forge; without clone_url the repository is on GitHub/, tool.name);
    }
    assert.match(tools.find((x) => x.name === 'create_pr')!.description ?? '', /\.gitea\/workflows\/\*\*, \.forgejo\/workflows\/\*\*/);
  });

  test('both tokens are absent from every result and log line, even when each forge echoes its own', async () => {
    const t = await startGiteaTong(gitea, {}, github);
    open.push(t);
    gitea.failNext({ path: /\/pulls$/, status: 500, body: { message: `boom ${gitea.token} / ${github.token}` } });
    github.failNext({ path: /\/pulls$/, status: 422, body: { message: `bad ${github.token} / ${gitea.token}` } });
    const results = [
      await t.call('list_prs', { repo_owner: 'acme', repo_name: 'ops', clone_url: `${gitea.url}/acme/ops` }),
      await t.call('list_prs', { repo_owner: 'acme', repo_name: 'ops' }),
    ];
    for (const r of results) {
      assert.equal(r.isError, true);
      assert.match(textOf(r), /\[REDACTED\] \/ \[REDACTED\]/);
    }
    const everything = JSON.stringify(results) + t.logs.join('');
    assert.ok(!everything.includes(gitea.token));
    assert.ok(!everything.includes(github.token));
  });
});

describe('Gitea and Forgejo specifics', () => {
  test('Forgejo is detected once (GET /api/forgejo/v1/version) and named in sentences and logs', async () => {
    const t = await startGiteaTong(forgejo);
    open.push(t);
    await t.call('list_prs', { repo_owner: 'acme', repo_name: 'ops' });
    await t.call('list_prs', { repo_owner: 'acme', repo_name: 'ops' });
    assert.equal(forgejo.requests.filter((q) => q.path === '/api/forgejo/v1/version').length, 1);
    assert.match(t.logs.join(''), /Forgejo 11\.0\.1\+gitea-1\.22\.0 at http:\/\/127\.0\.0\.3:\d+/);
    const nf = await t.call('get_pr_status', { repo_owner: 'acme', repo_name: 'ops', pr_number: 42 });
    assert.match(textOf(nf), /Pull request #42 was not found in acme\/ops on Forgejo/);
  });

  test('a Gitea server answers 404 there and is named Gitea, with its version from /api/v1/version', async () => {
    const t = await startGiteaTong(gitea);
    open.push(t);
    await t.call('list_prs', { repo_owner: 'acme', repo_name: 'ops' });
    assert.deepEqual(gitea.requests.slice(0, 2).map((q) => q.path), ['/api/forgejo/v1/version', '/api/v1/version']);
    assert.match(t.logs.join(''), /Gitea 1\.23\.1 at /);
  });

  test('create_pr on Gitea: exactly one write makes the commit and the branch; request count does not grow with the repository', async () => {
    const many = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`docs/page-${i}.md`, `${i}\n`]));
    gitea.addRepo('acme', 'ops', { files: { 'README.md': 'ops\n', ...many } });
    gitea.addPull('acme', 'ops', { title: 'labels exist', labels: ['tongs'] });
    gitea.clearRequests();
    const t = await startGiteaTong(gitea, { TONG_TIER: '3' });
    open.push(t);
    const r = await t.call('create_pr', prArgs({ files: [...files, { path: 'docs/page-7.md', content: 'seven\n', action: 'update' }, { path: 'docs/page-8.md', action: 'delete' }] }));
    assert.equal(r.isError, undefined, textOf(r));
    const seen = gitea.requests.map((q) => `${q.method} ${q.path.replace('/api/v1/repos/acme/ops', '')}`);
    assert.deepEqual(seen, [
      'GET /api/forgejo/v1/version',
      'GET /api/v1/version',
      'GET /branches/main',
      'GET /branches/tongs/fix/add-notes',
      'GET /contents/notes/new.md',
      'GET /contents/docs/page-7.md',
      'GET /contents/docs/page-8.md',
      'GET /labels',
      'POST /contents',
      'POST /pulls',
    ]);
    const write = gitea.requests.find((q) => q.method === 'POST' && q.path.endsWith('/contents'))!.body as Record<string, unknown>;
    assert.equal(write.branch, 'main');
    assert.equal(write.new_branch, 'tongs/fix/add-notes');
    assert.equal(write.message, 'Add notes');
    assert.deepEqual(
      (write.files as { operation: string; path: string; sha?: string }[]).map((f) => [f.operation, f.path, typeof f.sha]),
      [
        ['create', 'notes/new.md', 'undefined'],
        ['update', 'docs/page-7.md', 'string'],
        ['delete', 'docs/page-8.md', 'string'],
      ],
    );
    const after = gitea.filesAt('acme', 'ops', 'tongs/fix/add-notes')!;
    assert.equal(after['docs/page-7.md'], 'seven\n');
    assert.equal(after['docs/page-8.md'], undefined);
    assert.equal(after['notes/new.md'], 'new\n');
  });

  test('create_pr on Gitea reads the same requests and bytes for a repository of 100,000 files as for one of 10', async () => {
    const measure = async (size: number) => {
      const files = Object.fromEntries(Array.from({ length: size }, (_, i) => [`src/m${i % 100}/f${i}.ts`, `export const v${i} = ${i};\n`]));
      gitea.addRepo('acme', 'ops', { files: { 'README.md': 'ops\n', 'src/m7/f7.ts': 'export const v7 = 7;\n', ...files } });
      gitea.addPull('acme', 'ops', { title: 'labels exist', labels: ['tongs'] });
      gitea.clearRequests();
      let bytes = 0;
      let requests = 0;
      const counting: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        const body = await res.arrayBuffer();
        requests++;
        bytes += body.byteLength;
        return new Response(body.byteLength ? body : null, { status: res.status, statusText: res.statusText, headers: res.headers });
      };
      const provider = createGiteaProvider({ url: gitea.url, token: gitea.token, fetch: counting });
      const created = await provider.createPullRequest(
        { owner: 'acme', name: 'ops' },
        {
          branch: 'tongs/perf/change',
          base: 'main',
          title: 'Perf',
          body: 'b',
          label: 'tongs',
          files: [
            { path: 'src/m7/f7.ts', content: 'export const v7 = 8;\n', action: 'update' },
            { path: 'src/new/a.ts', content: 'a\n', action: 'create' },
            { path: 'README.md', content: '', action: 'delete' },
          ],
        },
      );
      assert.ok(created.number > 0);
      return { requests, bytes };
    };
    const small = await measure(10);
    const large = await measure(100_000);
    assert.equal(large.requests, small.requests);
    assert.equal(small.requests, 10, '2 version checks, 2 branches, 3 lookups, labels, 1 write, the PR');
    assert.equal(large.bytes, small.bytes, 'bytes read (response bodies)');
    assert.ok(small.bytes < 20_000, `a few kB, not a tree listing: ${small.bytes}`);
  });

  test('a missing label is created when the token may; otherwise the PR is opened with a warning', async () => {
    const t = await startGiteaTong(gitea);
    open.push(t);
    const r = await t.call('create_pr', prArgs());
    assert.equal(r.isError, undefined, textOf(r));
    assert.deepEqual(gitea.labels('acme', 'ops'), ['tongs']);
    assert.deepEqual(gitea.pulls('acme', 'ops')[0]!.labels, ['tongs']);

    gitea.addRepo('acme', 'ops', { files: { 'README.md': 'ops\n' } });
    gitea.canCreateLabels = false;
    const w = await t.call('create_pr', prArgs());
    assert.equal(w.isError, undefined, textOf(w));
    assert.match((w.structuredContent as { warnings: string[] }).warnings.join(''), /label 'tongs' does not exist and could not be created \(user should have permission to write issues\)/);
    assert.deepEqual(gitea.pulls('acme', 'ops')[0]!.labels, []);
  });

  test('a proxy answering 403 for the Forgejo path means Gitea; a 503 there is reported, and detection is tried again', async () => {
    const t = await startGiteaTong(gitea);
    open.push(t);
    gitea.failNext({ path: /^\/api\/forgejo\/v1\/version$/, status: 403, body: { message: 'Forbidden' } });
    const ok = await t.call('list_prs', { repo_owner: 'acme', repo_name: 'ops' });
    assert.equal(ok.isError, undefined, textOf(ok));
    assert.match(t.logs.join(''), /Gitea 1\.23\.1 at /);

    const t2 = await startGiteaTong(gitea);
    open.push(t2);
    gitea.failNext({ path: /^\/api\/forgejo\/v1\/version$/, status: 503, body: { message: 'maintenance' } });
    const down = await t2.call('list_prs', { repo_owner: 'acme', repo_name: 'ops' });
    assert.match(textOf(down), /Gitea could not be reached or failed \(503: maintenance\)/);
    const again = await t2.call('list_prs', { repo_owner: 'acme', repo_name: 'ops' });
    assert.equal(again.isError, undefined, textOf(again));
  });

  test('a branch made by someone else between the check and the write (change files 422) is reported as existing', async () => {
    const t = await startGiteaTong(gitea);
    open.push(t);
    assert.equal((await t.call('create_pr', prArgs())).isError, undefined);
    gitea.failNext({ method: 'GET', path: /\/branches\/tongs\/fix\/add-notes$/, status: 404, body: { message: 'The target couldn\'t be found.' } });
    gitea.clearRequests();
    const r = await t.call('create_pr', prArgs());
    assert.equal(r.isError, true);
    assert.match(textOf(r), /Branch 'tongs\/fix\/add-notes' already exists in acme\/ops/);
    assert.deepEqual(gitea.writes().map((w) => `${w.method} ${w.path}`), ['POST /api/v1/repos/acme/ops/contents'], 'the refused write, nothing after it');
    assert.equal(gitea.pulls('acme', 'ops').length, 1);
  });

  test("an organisation's label is used when the repository has none of that name; none is created", async () => {
    gitea.addOrg('acme', ['tongs']);
    const t = await startGiteaTong(gitea);
    open.push(t);
    const r = await t.call('create_pr', prArgs());
    assert.equal(r.isError, undefined, textOf(r));
    assert.deepEqual(gitea.labels('acme', 'ops'), [], 'no repository label was made');
    assert.deepEqual(gitea.pulls('acme', 'ops')[0]!.labels, ['tongs']);
    assert.ok(gitea.requests.some((q) => q.path === '/api/v1/orgs/acme/labels'));
    const listed = await t.call('list_prs', { repo_owner: 'acme', repo_name: 'ops' });
    assert.equal((listed.structuredContent as { prs: unknown[] }).prs.length, 1);
  });

  test('a Gitea older than 1.20 is refused before any write, naming the version', async () => {
    gitea.version = '1.19.4';
    const t = await startGiteaTong(gitea);
    open.push(t);
    const r = await t.call('create_pr', prArgs());
    assert.equal(r.isError, true);
    assert.match(textOf(r), /Gitea 1\.19\.4 at http:\/\/127\.0\.0\.2:\d+ is too old for create_pr: .*1\.20 or newer/);
    assert.deepEqual(gitea.writes(), []);
  });

  test('an open PR for the same branch (409) and an unreachable server are actionable sentences', async () => {
    const t = await startGiteaTong(gitea);
    open.push(t);
    gitea.failNext({ method: 'POST', path: /\/pulls$/, status: 409, body: { message: 'pull request already exists for these targets [id: 1]', url: 'x' } });
    const conflict = await t.call('create_pr', prArgs());
    assert.match(textOf(conflict), /an open pull request for this branch already exists \(Gitea: pull request already exists/);
    assert.deepEqual(gitea.branches('acme', 'ops'), ['main'], 'the branch made for it is deleted again');

    const dead = new FakeGitea({ token: 'gitea_dead_0123456789' });
    await dead.start(0, '127.0.0.4');
    const url = dead.url;
    await dead.close();
    const d = await startGiteaTong({ url, token: 'gitea_dead_0123456789' } as unknown as FakeGitea);
    open.push(d);
    const r = await d.call('list_prs', { repo_owner: 'acme', repo_name: 'ops' });
    assert.equal(r.isError, true);
    assert.match(textOf(r), new RegExp(`Gitea could not be reached or failed \\(fetch failed.*\\) at ${url.replace(/\./g, '\\.')}/api/v1`));
  });

  test('the token travels only as Authorization: Bearer', async () => {
    const provider = createGiteaProvider({ url: gitea.url, token: gitea.token });
    await provider.listPullRequests({ owner: 'acme', name: 'ops' }, 'tongs');
    const authed = gitea.requests.filter((q) => q.path !== '/api/forgejo/v1/version');
    assert.ok(authed.length > 0);
    for (const q of authed) assert.equal(q.headers.authorization, `Bearer ${gitea.token}`);
  });
});

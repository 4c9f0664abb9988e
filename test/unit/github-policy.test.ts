// Pure pieces of the GitHub tong: configuration from the environment, policy (paths, scope, tier,
// branch names), error sentences and redaction. Table-driven (issue #5; git-provider spec REQ-3, 6, 11).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readConfig } from '../../sidecars/github/src/config.js';
import { describeError, MissingTokenError, redact } from '../../sidecars/github/src/errors.js';
import { createLogger } from '../../sidecars/github/src/log.js';
import { branchName, checkScope, checkTier, normalizePath, slugify, validateChange } from '../../sidecars/github/src/policy.js';
import { parseCloneUrl, resolveRepository, servedHosts } from '../../sidecars/github/src/provider.js';

describe('readConfig', () => {
  test('defaults: tier 1, read tools only, api.github.com, prefix and label "tongs", port 8080', () => {
    const c = readConfig({});
    assert.equal(c.tier, 1);
    assert.equal(c.prEnabled, false);
    assert.equal(c.dryRun, false);
    assert.equal(c.apiUrl, 'https://api.github.com');
    assert.equal(c.branchPrefix, 'tongs');
    assert.equal(c.label, 'tongs');
    assert.equal(c.port, 8080);
    assert.equal(c.token, undefined);
    assert.deepEqual(c.aliases, ['github']);
    assert.deepEqual(c.warnings, []);
  });

  for (const [value, tier] of [['1', 1], ['2', 2], ['3', 3], [' 2 ', 2], ['0', 1], ['4', 1], ['abc', 1], ['2.0', 1], ['', 1]] as const) {
    test(`TONG_TIER=${JSON.stringify(value)} → tier ${tier}`, () => {
      assert.equal(readConfig({ TONG_TIER: value }).tier, tier);
    });
  }

  test('settings are read; bad ones fall back with a warning', () => {
    const c = readConfig({
      GITHUB_TOKEN: ' t0ken ',
      GITHUB_API_URL: 'https://ghe.example.com/api/v3/',
      TONG_PR_ENABLED: 'true',
      TONG_DRY_RUN: 'true',
      TONG_SCOPE_ALLOW: 'docs/**, checks/*.md,,',
      TONG_SCOPE_DENY: 'secrets/**',
      TONG_BRANCH_PREFIX: 'bots/claude',
      TONG_PR_LABEL: 'claude-ops',
      TONGS_TONG_NAME: 'github',
      TONGS_ALIASES: 'github,GH',
      PORT: '0',
    });
    assert.equal(c.token, 't0ken');
    assert.equal(c.apiUrl, 'https://ghe.example.com/api/v3');
    assert.deepEqual([c.prEnabled, c.dryRun], [true, true]);
    assert.deepEqual(c.scopeAllow, ['docs/**', 'checks/*.md']);
    assert.deepEqual(c.scopeDeny, ['secrets/**']);
    assert.equal(c.branchPrefix, 'bots/claude');
    assert.equal(c.label, 'claude-ops');
    assert.deepEqual(c.aliases, ['github', 'gh']);
    assert.equal(c.port, 0);

    const bad = readConfig({ GITHUB_API_URL: 'ftp://x', TONG_BRANCH_PREFIX: 'a..b', PORT: 'http', TONG_TIER: 'x' });
    assert.equal(bad.apiUrl, 'https://api.github.com');
    assert.equal(bad.branchPrefix, 'tongs');
    assert.equal(bad.port, 8080);
    assert.equal(bad.warnings.length, 4);
  });
});

describe('normalizePath', () => {
  for (const [input, out] of [
    ['docs/a.md', 'docs/a.md'],
    ['./docs/a.md', 'docs/a.md'],
    ['docs//a.md', 'docs/a.md'],
    ['docs/./a.md', 'docs/a.md'],
    ['.github/CODEOWNERS', '.github/CODEOWNERS'],
  ] as const) {
    test(`${input} → ${out}`, () => assert.equal(normalizePath(input), out));
  }
  for (const [input, why] of [
    ['', 'empty'],
    ['/abs', 'absolute'],
    ['C:/x', 'absolute'],
    ['../x', '".."'],
    ['a/../b', '".."'],
    ['a\\b', 'backslash'],
    ['a/', 'directory'],
    ['.', 'repository root'],
    ['x/.git/hooks/pre-commit', '.git'],
    ['a\nb', 'control characters'],
  ] as const) {
    test(`${JSON.stringify(input)} is refused (${why})`, () => {
      assert.throws(() => normalizePath(input), (e: Error) => e.message.includes(JSON.stringify(input)) && e.message.includes(why));
    });
  }
});

describe('checkScope', () => {
  const cases: { name: string; path: string; allow?: string[]; deny?: string[]; error?: RegExp }[] = [
    { name: 'no patterns allow anything', path: 'src/a.ts' },
    { name: 'dotfiles match **', path: '.gitignore', allow: ['**'] },
    { name: 'deny names path and pattern', path: 'prompts/x.md', deny: ['prompts/**'], error: /'prompts\/x\.md' is denied by the scope pattern 'prompts\/\*\*'/ },
    { name: 'outside allow', path: 'src/a.ts', allow: ['docs/**'], error: /'src\/a\.ts' is outside the allowed scope: it matches none of the patterns 'docs\/\*\*'/ },
    { name: 'inside allow', path: 'docs/x/y.md', allow: ['docs/**'] },
    { name: 'workflows denied by default', path: '.github/workflows/ci.yml', error: /built-in scope pattern '\.github\/workflows\/\*\*'/ },
    { name: 'workflows not allowed by **', path: '.github/workflows/ci.yml', allow: ['**'], error: /built-in/ },
    { name: 'workflows not allowed by *.yml wildcard dirs', path: '.github/workflows/ci.yml', allow: ['**/*.yml'], error: /built-in/ },
    { name: 'workflows allowed explicitly', path: '.github/workflows/ci.yml', allow: ['.github/workflows/**'] },
    { name: 'workflows allowed by .github/**', path: '.github/workflows/ci.yml', allow: ['.github/**'] },
    { name: 'explicit allow of a different workflow does not match', path: '.github/workflows/ci.yml', allow: ['.github/workflows/docs.yml'], error: /built-in/ },
    { name: 'other .github files follow normal rules', path: '.github/CODEOWNERS', allow: ['**'] },
    { name: 'deny beats explicit allow', path: '.github/workflows/ci.yml', allow: ['.github/workflows/**'], deny: ['.github/**'], error: /TONG_SCOPE_DENY/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const run = () => checkScope(c.path, { allow: c.allow ?? [], deny: c.deny ?? [] });
      if (c.error) assert.throws(run, c.error);
      else assert.doesNotThrow(run);
    });
  }
});

describe('tier', () => {
  test('tier 1 refuses, tier 2 allows 3 files, tier 3 any number', () => {
    assert.throws(() => checkTier(1, 1), /Tier 1 cannot create pull requests/);
    assert.doesNotThrow(() => checkTier(2, 3));
    assert.throws(() => checkTier(2, 4), /at most 3 files.*changes 4.*tier 3/s);
    assert.doesNotThrow(() => checkTier(3, 100));
  });

  test('validateChange: scope before tier, normalised, duplicates and missing content refused', () => {
    const files = [
      { path: './a.md', content: 'a', action: 'create' as const },
      { path: 'b.md', action: 'delete' as const },
    ];
    assert.deepEqual(validateChange(files, { allow: [], deny: [] }, 2), [
      { path: 'a.md', content: 'a', action: 'create' },
      { path: 'b.md', content: '', action: 'delete' },
    ]);
    assert.throws(() => validateChange([], { allow: [], deny: [] }, 3), /files is empty/);
    assert.throws(() => validateChange([{ path: 'a', action: 'update' }], { allow: [], deny: [] }, 3), /no content/);
    assert.throws(() => validateChange([{ path: 'secret', content: '', action: 'create' }], { allow: [], deny: ['secret'] }, 1), /denied/);
  });
});

describe('branch names (spec REQ-11)', () => {
  for (const [title, slug] of [
    ['Add health check for jellyfin', 'add-health-check-for-jellyfin'],
    ['Fix: DNS -- resolver!!', 'fix-dns-resolver'],
    ['  leading and trailing  ', 'leading-and-trailing'],
    ['Ünïcödé stays out', 'n-c-d-stays-out'],
    ['a'.repeat(60), 'a'.repeat(50)],
    [`${'word '.repeat(9)}end`, 'word-word-word-word-word-word-word-word-word-end'],
    [`${'x'.repeat(49)} y`, 'x'.repeat(49)],
  ] as const) {
    test(`${JSON.stringify(title)} → ${slug}`, () => {
      assert.equal(slugify(title), slug);
      assert.ok(slugify(title).length <= 50);
    });
  }
  test('prefix/change_type/slug, and a title without letters is refused', () => {
    assert.equal(branchName('claude-ops', 'check', 'Add health check for jellyfin'), 'claude-ops/check/add-health-check-for-jellyfin');
    assert.throws(() => branchName('tongs', 'fix', '!!!'), /no letters or digits/);
  });
});

describe('provider resolution from clone_url', () => {
  test('served hosts', () => {
    assert.deepEqual(servedHosts('https://api.github.com'), ['api.github.com', 'github.com', 'www.github.com']);
    assert.deepEqual(servedHosts('https://ghe.example.com/api/v3'), ['ghe.example.com']);
  });

  for (const [url, parsed] of [
    ['https://github.com/o/r.git', { host: 'github.com', owner: 'o', name: 'r' }],
    ['https://github.com/o/r', { host: 'github.com', owner: 'o', name: 'r' }],
    ['git@github.com:o/r.git', { host: 'github.com', owner: 'o', name: 'r' }],
    ['ssh://git@GitHub.com:22/o/r.git', { host: 'github.com', owner: 'o', name: 'r' }],
    ['https://github.com/o', undefined],
    ['nonsense', undefined],
  ] as const) {
    test(`parseCloneUrl(${url})`, () => assert.deepEqual(parseCloneUrl(url), parsed));
  }

  test('github.com resolves for api.github.com; other hosts are refused naming the repository', () => {
    const repo = { owner: 'o', name: 'r' };
    assert.doesNotThrow(() => resolveRepository(repo, 'https://github.com/o/r.git', 'https://api.github.com'));
    assert.doesNotThrow(() => resolveRepository(repo, 'git@ghe.example.com:O/R.git', 'https://ghe.example.com/api/v3'));
    assert.doesNotThrow(() => resolveRepository(repo, undefined, 'https://api.github.com'));
    assert.throws(() => resolveRepository(repo, 'https://gitea.example.com/o/r.git', 'https://api.github.com'), /Cannot resolve a git provider for o\/r .*gitea\.example\.com/);
    assert.throws(() => resolveRepository(repo, 'https://github.com/o/r.git', 'https://ghe.example.com/api/v3'), /Cannot resolve a git provider for o\/r/);
    assert.throws(() => resolveRepository(repo, 'not a url', 'https://api.github.com'), /Cannot resolve a git provider for o\/r/);
  });
});

describe('describeError: one sentence per cause', () => {
  const httpError = (status: number, data: unknown, headers: Record<string, string> = {}) =>
    Object.assign(new Error('HttpError'), { status, response: { headers, data } });
  const ctx = { repo: 'o/r', action: 'list pull requests', apiUrl: 'https://api.github.com', now: Date.UTC(2025, 0, 1) };

  const cases: [string, unknown, RegExp][] = [
    ['missing token', new MissingTokenError(), /without a GitHub token/],
    ['bad credentials', httpError(401, { message: 'Bad credentials' }), /Could not list pull requests in o\/r: GitHub rejected the token \(401 Bad credentials\)/],
    ['not found', httpError(404, { message: 'Not Found' }), /404 Not Found for o\/r: the repository, branch or pull request does not exist/],
    [
      'rate limited with the reset time',
      httpError(403, { message: 'API rate limit exceeded' }, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Date.UTC(2025, 0, 1, 0, 30) / 1000) }),
      /API rate limit was hit\. It resets at 2025-01-01T00:30:00\.000Z \(in about 30 min\)/,
    ],
    ['secondary, retry-after', httpError(429, { message: 'You have exceeded a secondary rate limit' }, { 'retry-after': '30' }), /secondary rate limit .* resets at 2025-01-01T00:00:30\.000Z \(in about 30 s\)/],
    ['branch exists', httpError(422, { message: 'Reference already exists' }), /the branch already exists/],
    ['validation', httpError(422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }] }), /refused the request as invalid \(422: Validation Failed; PullRequest head invalid\)/],
    ['permission', httpError(403, { message: 'Resource not accessible by integration' }), /403 Forbidden: Resource not accessible by integration\)\. The token lacks the permission/],
    ['unreachable', Object.assign(new Error('fetch failed'), { status: 500 }), /could not be reached or failed \(fetch failed\) at https:\/\/api\.github\.com/],
  ];
  for (const [name, err, re] of cases) {
    test(name, () => assert.match(describeError(err, ctx), re));
  }
});

describe('redaction', () => {
  test('every occurrence of every secret is replaced; short secrets are ignored', () => {
    assert.equal(redact('a ghp_X1 b ghp_X1 c', ['ghp_X1']), 'a [REDACTED] b [REDACTED] c');
    assert.equal(redact('t=abc', ['abc']), 't=abc');
    assert.equal(redact('none', [undefined, '']), 'none');
  });

  test('the logger prefixes, redacts both tokens and keeps one line per call', () => {
    const out: string[] = [];
    const log = createLogger('github', ['ghp_secret1', 'bearer-secret'], (t) => void out.push(t));
    log('saw ghp_secret1 and bearer-secret\nsecond line');
    assert.deepEqual(out, ['tongs: github: saw [REDACTED] and [REDACTED]\\nsecond line\n']);
  });
});

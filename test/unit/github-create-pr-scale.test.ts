// What create_pr costs on GitHub (issue #15 "Speed and scale"): it reads only the named paths (one
// GraphQL request for all of them, whatever their depth), never the whole tree, so a repository of
// 100,000 files costs the same requests and the same bytes as one of 10; it makes fewer requests
// than before (9 + one blob per file), 7 with the contents inline in the tree; and modes and the
// action checks still hold.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { INLINE_TREE_BYTES, baseReadsQuery, parseBaseReads } from '../../sidecars/github/src/provider.js';
import { NotFoundError } from '../../sidecars/github/src/errors.js';
import { FakeGitHub, type SeedFile } from '../fakes/github-api.js';
import { startTong, textOf, type TongUnderTest } from '../fakes/github-tong.js';

const OWNER = 'octo-org';
const REPO = 'runbooks';

const fake = new FakeGitHub();
const open: TongUnderTest[] = [];

async function tong(env: Record<string, string | undefined> = {}): Promise<TongUnderTest> {
  const t = await startTong(fake, env);
  open.push(t);
  return t;
}

/**
 * A repository of `bulk` files under src/ (100 packages, each `lib/`), beside the same README.md,
 * checks/ and bin/ whatever `bulk` is: the paths a call names sit in directories of the same size.
 */
function* repoFiles(bulk: number): Generator<readonly [string, SeedFile]> {
  yield ['README.md', '# runbooks\n'];
  yield ['checks/http.md', 'check http\n'];
  yield ['checks/dns.md', 'check dns\n'];
  yield ['bin/run.sh', { content: '#!/bin/sh\necho run\n', mode: '100755' }];
  for (let i = 0; i < bulk; i++) yield [`src/pkg${String(i % 100).padStart(2, '0')}/lib/f${i}.ts`, `export const v${i} = ${i};\n`];
}

/** The 3-file change of the measurements: an update, a create and a delete. */
const THREE_FILES = [
  { path: 'checks/http.md', content: 'check http v2\n', action: 'update' },
  { path: 'checks/jellyfin.md', content: 'check jellyfin\n', action: 'create' },
  { path: 'README.md', action: 'delete' },
];

const shape = (path: string) => decodeURIComponent(path).replace(`/repos/${OWNER}/${REPO}`, '').replace(/[0-9a-f]{40}/g, '<sha>');

before(async () => {
  await fake.start();
});
beforeEach(() => {
  fake.addRepo(OWNER, REPO, { files: repoFiles(10) });
  fake.clearRequests();
});
after(async () => {
  for (const t of open) await t.close();
  await fake.close();
});

describe('create_pr cost on GitHub', () => {
  test('3 files: 7 requests (9 + 3 before), contents inline, the named paths read in one GraphQL request', async () => {
    const t = await tong({ TONG_TIER: '3' });
    const r = await t.call('create_pr', { repo_owner: OWNER, repo_name: REPO, title: 'Three files', body: 'b', files: THREE_FILES });
    assert.equal(r.isError, undefined, textOf(r));
    assert.deepEqual(
      fake.requests.map((q) => `${q.method} ${shape(q.path)}${Object.keys(q.query).length ? `?${new URLSearchParams(q.query)}` : ''}`),
      [
        'GET /branches/main',
        'POST /graphql', // the new branch's ref and the 3 paths in the base commit
        'POST /git/trees',
        'POST /git/commits',
        'POST /git/refs',
        'POST /pulls',
        'POST /issues/1/labels',
      ],
    );
    const { base, ...variables } = (fake.requests.find((q) => q.path === '/graphql')!.body as { variables: Record<string, string> }).variables;
    assert.deepEqual(variables, { owner: OWNER, name: REPO, head: 'refs/heads/tongs/fix/three-files', p0: 'checks/http.md', p1: 'checks/jellyfin.md', p2: 'README.md' });
    assert.match(base!, /^[0-9a-f]{40}$/, 'the base commit the branch read answered, not the branch name: both reads see one commit');
    assert.ok(fake.stats().requests <= 9 + THREE_FILES.length);
    const tree = fake.requests.find((q) => q.method === 'POST' && q.path.endsWith('/git/trees'))!.body as { tree: Record<string, unknown>[] };
    assert.deepEqual(tree.tree, [
      { path: 'checks/http.md', mode: '100644', type: 'blob', content: 'check http v2\n' },
      { path: 'checks/jellyfin.md', mode: '100644', type: 'blob', content: 'check jellyfin\n' },
      { path: 'README.md', mode: '100644', type: 'blob', sha: null },
    ]);
    const files = fake.filesAt(OWNER, REPO, 'tongs/fix/three-files')!;
    assert.equal(files['checks/http.md'], 'check http v2\n');
    assert.equal(files['checks/jellyfin.md'], 'check jellyfin\n');
    assert.equal(files['README.md'], undefined);
    assert.equal(files['src/pkg03/lib/f3.ts'], 'export const v3 = 3;\n', 'untouched files stay');
  });

  test('a repository of 100,000 files costs the same requests and bytes read as one of 10', async () => {
    const measure = async (bulk: number) => {
      fake.addRepo(OWNER, REPO, { files: repoFiles(bulk) });
      const t = await tong({ TONG_TIER: '3' });
      fake.clearRequests();
      const r = await t.call('create_pr', { repo_owner: OWNER, repo_name: REPO, title: 'Three files', body: 'b', files: THREE_FILES });
      assert.equal(r.isError, undefined, textOf(r));
      assert.ok(!fake.requests.some((q) => 'recursive' in q.query), 'no recursive tree read');
      return fake.stats();
    };
    const small = await measure(10);
    const large = await measure(100_000);
    assert.equal(large.requests, small.requests);
    assert.equal(large.bytesRead, small.bytesRead, 'bytes of the response bodies');
    assert.equal(large.bytesSent, small.bytesSent, 'bytes of the request bodies');
    assert.ok(small.bytesRead < 20_000, `a few kB, not a tree listing: ${small.bytesRead}`);
  });

  test('the mode of an existing executable is kept on update', async () => {
    const t = await tong();
    const r = await t.call('create_pr', {
      repo_owner: OWNER,
      repo_name: REPO,
      title: 'Run louder',
      body: 'b',
      files: [{ path: 'bin/run.sh', content: '#!/bin/sh\necho RUN\n', action: 'update' }],
    });
    assert.equal(r.isError, undefined, textOf(r));
    assert.equal(fake.modeAt(OWNER, REPO, 'tongs/fix/run-louder', 'bin/run.sh'), '100755');
    assert.equal(fake.filesAt(OWNER, REPO, 'tongs/fix/run-louder')!['bin/run.sh'], '#!/bin/sh\necho RUN\n');
  });

  test(`contents beyond ${INLINE_TREE_BYTES} bytes in all go as one blob request each`, async () => {
    const big = 'x'.repeat(Math.ceil(INLINE_TREE_BYTES * 0.6)); // one fits inline, two do not
    const t = await tong();
    const r = await t.call('create_pr', {
      repo_owner: OWNER,
      repo_name: REPO,
      title: 'Big files',
      body: 'b',
      files: [
        { path: 'checks/big-1.md', content: big, action: 'create' },
        { path: 'checks/big-2.md', content: big, action: 'create' },
      ],
    });
    assert.equal(r.isError, undefined, textOf(r));
    assert.deepEqual(
      fake.writes().map((w) => `${w.method} ${shape(w.path)}`),
      ['POST /git/blobs', 'POST /git/trees', 'POST /git/commits', 'POST /git/refs', 'POST /pulls', 'POST /issues/1/labels'],
    );
    const files = fake.filesAt(OWNER, REPO, 'tongs/fix/big-files')!;
    assert.equal(files['checks/big-1.md'], big);
    assert.equal(files['checks/big-2.md'], big);
  });

  test('a path under a file, and a new directory, are new files; a directory named as a file is refused', async () => {
    const t = await tong();
    const dir = await t.call('create_pr', {
      repo_owner: OWNER,
      repo_name: REPO,
      title: 'Dir',
      body: 'b',
      files: [{ path: 'src/pkg01', content: 'x', action: 'update' }],
    });
    assert.match(textOf(dir), /'src\/pkg01' is a directory in octo-org\/runbooks@main; name a file/);
    const missing = await t.call('create_pr', {
      repo_owner: OWNER,
      repo_name: REPO,
      title: 'Missing',
      body: 'b',
      files: [{ path: 'docs/new/deep.md', content: 'x', action: 'update' }],
    });
    assert.match(textOf(missing), /File 'docs\/new\/deep\.md' does not exist in octo-org\/runbooks@main, so it cannot be updated/);
    assert.deepEqual(fake.writes(), []);
    fake.clearRequests();
    const created = await t.call('create_pr', {
      repo_owner: OWNER,
      repo_name: REPO,
      title: 'New dir',
      body: 'b',
      files: [{ path: 'docs/new/deep.md', content: 'deep\n', action: 'create' }],
    });
    assert.equal(created.isError, undefined, textOf(created));
    assert.equal(fake.requests.filter((q) => q.method === 'GET' && q.path.includes('/git/trees/')).length, 0, 'no tree reads');
    assert.equal(fake.filesAt(OWNER, REPO, 'tongs/fix/new-dir')!['docs/new/deep.md'], 'deep\n');
  });
});

describe('create_pr cost on GitHub, deep paths', () => {
  test('files 5 directories deep in 3 directories: still one read request (7 + D before, D the directories)', async () => {
    fake.addRepo(OWNER, REPO, {
      files: [
        ['a/b/c/d/e/one.md', '1\n'],
        ['f/g/h/i/j/two.md', '2\n'],
        ['k/l/m/n/o/three.md', { content: '#!/bin/sh\n', mode: '100755' }],
      ],
    });
    const t = await tong();
    fake.clearRequests();
    const r = await t.call('create_pr', {
      repo_owner: OWNER,
      repo_name: REPO,
      title: 'Deep',
      body: 'b',
      files: [
        { path: 'a/b/c/d/e/one.md', content: '1 v2\n', action: 'update' },
        { path: 'f/g/h/i/j/new.md', content: 'new\n', action: 'create' },
        { path: 'k/l/m/n/o/three.md', content: '#!/bin/sh\necho 3\n', action: 'update' },
      ],
    });
    assert.equal(r.isError, undefined, textOf(r));
    assert.equal(fake.stats().requests, 7);
    assert.equal(fake.requests.filter((q) => q.method === 'GET').length, 1, 'only the base branch is a REST read');
    assert.equal(fake.modeAt(OWNER, REPO, 'tongs/fix/deep', 'k/l/m/n/o/three.md'), '100755', 'the mode GraphQL reported (an Int) is kept');
    const files = fake.filesAt(OWNER, REPO, 'tongs/fix/deep')!;
    assert.deepEqual(files, { 'a/b/c/d/e/one.md': '1 v2\n', 'f/g/h/i/j/new.md': 'new\n', 'f/g/h/i/j/two.md': '2\n', 'k/l/m/n/o/three.md': '#!/bin/sh\necho 3\n' });
  });

  test('a branch that exists is refused before any write, with the same message as before', async () => {
    const t = await tong();
    const first = await t.call('create_pr', { repo_owner: OWNER, repo_name: REPO, title: 'Twice', body: 'b', files: [{ path: 'checks/a.md', content: 'a', action: 'create' }] });
    assert.equal(first.isError, undefined, textOf(first));
    fake.clearRequests();
    const again = await t.call('create_pr', { repo_owner: OWNER, repo_name: REPO, title: 'Twice', body: 'b', files: [{ path: 'checks/b.md', content: 'b', action: 'create' }] });
    assert.equal(again.isError, true);
    assert.match(textOf(again), /Branch 'tongs\/fix\/twice' already exists in octo-org\/runbooks/);
    assert.deepEqual(fake.writes(), []);
  });
});

describe('the GraphQL read of create_pr', () => {
  const PATHS = ['bin/run.sh', 'docs', 'gone.md', 'huge.bin'];
  const data = {
    repository: {
      head: null,
      base: {
        f0: { type: 'blob', mode: 0o100755, oid: 'b1' },
        f1: { type: 'tree', mode: 0o040000, oid: 't1' },
        f2: null,
        f3: null,
      },
    },
  };

  test('the query names every path by variable, never in its text', () => {
    const q = baseReadsQuery(2);
    assert.match(q, /\$p0: String!, \$p1: String!/);
    assert.match(q, /f0: file\(path: \$p0\) \{ type mode oid \}/);
    assert.doesNotMatch(q, /\$p2/);
  });

  test('modes come back as git writes them; a failed field leaves its path unknown; the rest holds', () => {
    const reads = parseBaseReads(PATHS, data, [{ message: 'Could not resolve file over 10mb.', path: ['repository', 'base', 'f3'] }], 'o/r');
    assert.equal(reads.branchExists, false);
    assert.deepEqual(reads.entries.get('bin/run.sh'), { type: 'blob', mode: '100755', sha: 'b1' });
    assert.deepEqual(reads.entries.get('docs'), { type: 'tree', mode: '040000', sha: 't1' });
    assert.equal(reads.entries.get('gone.md'), null);
    assert.equal(reads.entries.get('huge.bin'), undefined);
    assert.equal(parseBaseReads(PATHS, { repository: { ...data.repository, head: { name: 'x' } } }, [], 'o/r').branchExists, true);
  });

  test('a repository GitHub cannot resolve is NotFoundError; any other error names GitHub\'s message', () => {
    assert.throws(
      () => parseBaseReads(PATHS, { repository: null }, [{ type: 'NOT_FOUND', message: "Could not resolve to a Repository with the name 'o/r'.", path: ['repository'] }], 'o/r'),
      (e: unknown) => e instanceof NotFoundError && /Repository o\/r was not found/.test(e.message),
    );
    assert.throws(() => parseBaseReads(PATHS, undefined, [{ type: 'FORBIDDEN', message: 'Resource not accessible by integration' }], 'o/r'), /Resource not accessible by integration/);
  });
});

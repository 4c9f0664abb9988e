// What create_pr costs on GitHub (issue #15 "Speed and scale"): it reads only the directories on the
// named paths, never the whole tree, so a repository of 100,000 files costs the same requests and
// the same bytes as one of 10; it makes no more requests than before (9 + one blob per file for 3
// files), fewer with the contents inline in the tree; and modes and the action checks still hold.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { INLINE_TREE_BYTES, lookUpPaths, type TreeListing } from '../../sidecars/github/src/provider.js';
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
  test('3 files: 9 requests (at most 9 + 3 before), contents inline, the directories on the paths read one level each', async () => {
    const t = await tong({ TONG_TIER: '3' });
    const r = await t.call('create_pr', { repo_owner: OWNER, repo_name: REPO, title: 'Three files', body: 'b', files: THREE_FILES });
    assert.equal(r.isError, undefined, textOf(r));
    assert.deepEqual(
      fake.requests.map((q) => `${q.method} ${shape(q.path)}${Object.keys(q.query).length ? `?${new URLSearchParams(q.query)}` : ''}`),
      [
        'GET /branches/main',
        'GET /git/ref/heads/tongs/fix/three-files',
        'GET /git/trees/<sha>', // the root
        'GET /git/trees/<sha>', // checks/
        'POST /git/trees',
        'POST /git/commits',
        'POST /git/refs',
        'POST /pulls',
        'POST /issues/1/labels',
      ],
    );
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
    assert.equal(fake.requests.filter((q) => q.method === 'GET' && q.path.includes('/git/trees/')).length, 1, 'docs/ is missing from the root: no further reads');
    assert.equal(fake.filesAt(OWNER, REPO, 'tongs/fix/new-dir')!['docs/new/deep.md'], 'deep\n');
  });
});

describe('lookUpPaths', () => {
  const listing = (entries: Record<string, [string, string]>, truncated = false): TreeListing => ({
    truncated,
    entries: new Map(Object.entries(entries).map(([name, [type, sha]]) => [name, { type, sha, mode: type === 'tree' ? '040000' : '100644' }])),
  });
  const TREES: Record<string, TreeListing> = {
    root: listing({ 'a.md': ['blob', 'b1'], docs: ['tree', 'docs'], big: ['tree', 'big'] }),
    docs: listing({ 'x.md': ['blob', 'b2'], guide: ['tree', 'guide'] }),
    guide: listing({ 'y.md': ['blob', 'b3'] }),
    big: listing({ 'seen.md': ['blob', 'b4'] }, true),
  };

  test('one read per distinct directory on the paths, shared among them', async () => {
    const reads: string[] = [];
    const found = await lookUpPaths(
      async (sha) => {
        reads.push(sha);
        return TREES[sha]!;
      },
      'root',
      ['docs/guide/y.md', 'docs/x.md', 'docs/guide/new.md', 'a.md', 'a.md/under-a-file', 'gone/z.md', 'big/unseen.md', 'big/seen.md'],
    );
    assert.deepEqual([...reads].sort(), ['big', 'docs', 'guide', 'root']);
    assert.equal(found.get('docs/guide/y.md')?.sha, 'b3');
    assert.equal(found.get('docs/x.md')?.sha, 'b2');
    assert.equal(found.get('docs/guide/new.md'), null);
    assert.equal(found.get('a.md')?.type, 'blob');
    assert.equal(found.get('a.md/under-a-file'), null, 'a file where a directory would be: does not exist');
    assert.equal(found.get('gone/z.md'), null);
    assert.equal(found.get('big/unseen.md'), undefined, 'a truncated listing proves nothing');
    assert.equal(found.get('big/seen.md')?.sha, 'b4');
  });
});

// Benchmark of what the git tong's calls cost against the forge (issue #15 "Speed and scale"), run by
// `make bench` (or `make bench-git-scale`): `create_pr` of 3 files (an update, a create, a delete)
// against a fake repository of 10 files and one of 100,000, on GitHub (FakeGitHub) and on Gitea
// (FakeGitea), through the real MCP server and providers in memory; then `list_prs` (2 labelled
// PRs of 2 files) and `get_pr_status` (1 review) once each. For every call: the requests the forge
// received, the bytes of its response bodies (what the tong read), the bytes of the request bodies
// (what it sent), and the call's median time over BENCH_SCALE_RUNS runs (the fakes' own work
// included). A baseline row measures the reads the previous GitHub `create_pr` made: the base ref,
// the branch check, the base commit and the base tree with `recursive`.
// Prints a table. Measures only; asserts nothing (test/unit/github-create-pr-scale.test.ts and
// test/unit/github-gitea.test.ts assert the counts and that bytes do not grow).
import { availableParallelism, loadavg } from 'node:os';
import { FakeGitHub, type RequestStats, type SeedFile } from '../fakes/github-api.js';
import { FakeGitea } from '../fakes/gitea-api.js';
import { startTong, textOf, type TongUnderTest } from '../fakes/github-tong.js';
import { startGiteaTong } from '../fakes/gitea-tong.js';

const RUNS = Number(process.env.BENCH_SCALE_RUNS ?? 5);
const SIZES = [10, 100_000];
const OWNER = 'acme';
const REPO = 'monorepo';

/** `bulk` files under src/ beside the same README.md and checks/: the named paths' directories are equal at every size. */
function repoFiles(bulk: number): [string, string][] {
  const out: [string, string][] = [
    ['README.md', '# monorepo\n'],
    ['checks/http.md', 'check http\n'],
    ['checks/dns.md', 'check dns\n'],
  ];
  for (let i = 0; i < bulk; i++) out.push([`src/pkg${String(i % 100).padStart(2, '0')}/lib/f${i}.ts`, `export const v${i} = ${i};\n`]);
  return out;
}

const threeFiles = (run: number) => [
  { path: 'checks/http.md', content: `check http v${run + 2}\n`, action: 'update' },
  { path: `checks/new-${run}.md`, content: 'check new\n', action: 'create' },
  { path: 'checks/dns.md', action: 'delete' },
];

const n = (x: number) => x.toLocaleString('en-US');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Fake {
  url: string;
  token: string;
  clearRequests(): void;
  stats(): RequestStats;
  addPull(owner: string, name: string, seed: { title: string; labels?: string[]; files?: string[]; reviews?: { user: string; state: 'APPROVED'; body?: string }[] }): number;
}

interface Row {
  forge: string;
  call: string;
  files: string;
  stats: RequestStats;
  ms: number;
}

/** Runs `call` RUNS times on a fresh tong each (after one warm-up call), returning the last run's stats and the median time. */
async function measure(fake: Fake, tong: () => Promise<TongUnderTest>, call: (t: TongUnderTest, run: number) => Promise<void>): Promise<{ stats: RequestStats; ms: number }> {
  const times: number[] = [];
  let stats: RequestStats = { requests: 0, bytesRead: 0, bytesSent: 0 };
  for (let run = 0; run < RUNS; run++) {
    const t = await tong();
    // Gitea's provider detects Forgejo once per process; warm it so every row is a steady call.
    await t.call('list_prs', { repo_owner: OWNER, repo_name: REPO });
    fake.clearRequests();
    const start = performance.now();
    await call(t, run);
    times.push(performance.now() - start);
    stats = fake.stats();
    await t.close();
  }
  return { stats, ms: median(times) };
}

async function ok(t: TongUnderTest, name: string, args: Record<string, unknown>): Promise<void> {
  const r = await t.call(name, { repo_owner: OWNER, repo_name: REPO, ...args });
  if (r.isError) throw new Error(`${name}: ${textOf(r)}`);
}

/** The reads of the previous GitHub create_pr, made with bare fetch: what they cost at this size. */
async function previousReads(github: FakeGitHub): Promise<{ stats: RequestStats; truncated: boolean }> {
  const headers = { authorization: `token ${github.token}`, accept: 'application/vnd.github+json' };
  const api = `${github.url}/repos/${OWNER}/${REPO}`;
  const get = async (path: string) => (await fetch(`${api}${path}`, { headers })).json() as Promise<Record<string, unknown>>;
  github.clearRequests();
  const ref = (await get('/git/ref/heads%2Fmain')) as { object: { sha: string } };
  await get('/git/ref/heads%2Ftongs%2Ffix%2Fnot-there');
  const commit = (await get(`/git/commits/${ref.object.sha}`)) as { tree: { sha: string } };
  const tree = (await get(`/git/trees/${commit.tree.sha}?recursive=true`)) as { truncated: boolean };
  return { stats: github.stats(), truncated: tree.truncated };
}

interface Forge {
  name: string;
  fake: Fake & { start(): Promise<string>; close(): Promise<void> };
  seed(files: [string, string][]): void;
  tong(): Promise<TongUnderTest>;
}

/** A fresh fake per repository size, so ids and counters (label ids, PR numbers) read the same at every size. */
function forges(): Forge[] {
  const github = new FakeGitHub();
  const gitea = new FakeGitea();
  return [
    {
      name: 'GitHub',
      fake: github,
      seed: (files) => github.addRepo(OWNER, REPO, { files: files as Iterable<readonly [string, SeedFile]> }),
      tong: () => startTong(github, { TONG_TIER: '3' }),
    },
    {
      name: 'Gitea',
      fake: gitea as unknown as Forge['fake'],
      seed: (files) => gitea.addRepo(OWNER, REPO, { files: Object.fromEntries(files) }),
      tong: async () => (await startGiteaTong(gitea, { TONG_TIER: '3' })) as unknown as TongUnderTest,
    },
  ];
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const baselines: { files: number; stats: RequestStats; truncated: boolean }[] = [];
  for (const which of [0, 1]) {
    for (const size of SIZES) {
      const forge = forges()[which]!;
      await forge.fake.start();
      const files = repoFiles(size);
      forge.seed(files);
      // Two labelled PRs of 2 files, one not ours, one with a review (also creates Gitea's label).
      for (let i = 0; i < 2; i++) forge.fake.addPull(OWNER, REPO, { title: `PR ${i}`, labels: ['tongs'], files: [`checks/${i}.md`, `docs/${i}.md`] });
      forge.fake.addPull(OWNER, REPO, { title: 'not ours', files: ['x'] });
      const reviewed = forge.fake.addPull(OWNER, REPO, { title: 'reviewed', reviews: [{ user: 'alice', state: 'APPROVED', body: 'LGTM' }] });
      if (forge.fake instanceof FakeGitHub) baselines.push({ files: files.length, ...(await previousReads(forge.fake)) });
      const label = n(files.length);
      if (size === SIZES[0]) {
        const list = await measure(forge.fake, () => forge.tong(), (t) => ok(t, 'list_prs', {}));
        rows.push({ forge: forge.name, call: 'list_prs, 2 labelled PRs', files: label, ...list });
        const status = await measure(forge.fake, () => forge.tong(), (t) => ok(t, 'get_pr_status', { pr_number: reviewed }));
        rows.push({ forge: forge.name, call: 'get_pr_status, 1 review', files: label, ...status });
      }
      const create = await measure(forge.fake, () => forge.tong(), (t, run) => ok(t, 'create_pr', { title: `Three files ${run}`, body: 'b', files: threeFiles(run) }));
      rows.push({ forge: forge.name, call: 'create_pr, 3 files', files: label, ...create });
      await forge.fake.close();
    }
  }

  console.log(`git tong request cost — node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)}, median of ${RUNS} runs`);
  console.log(`repository: README.md, checks/ (2 files), src/ (the rest, 100 packages); create_pr: update checks/http.md, create checks/new-N.md, delete checks/dns.md`);
  console.log(`| ${'forge'.padEnd(6)} | ${'call'.padEnd(24)} | ${'repo files'.padStart(10)} | ${'requests'.padStart(8)} | ${'bytes read'.padStart(12)} | ${'bytes sent'.padStart(10)} | ${'ms'.padStart(7)} |`);
  console.log(`|--------|--------------------------|------------|----------|--------------|------------|---------|`);
  for (const r of rows) {
    console.log(
      `| ${r.forge.padEnd(6)} | ${r.call.padEnd(24)} | ${r.files.padStart(10)} | ${String(r.stats.requests).padStart(8)} | ${n(r.stats.bytesRead).padStart(12)} | ${n(r.stats.bytesSent).padStart(10)} | ${r.ms.toFixed(1).padStart(7)} |`,
    );
  }
  console.log('baseline, same fakes: the 4 reads the previous GitHub create_pr made (ref, branch check, commit, recursive tree); it then made 5 writes and 1 blob per created or updated file (11 requests here)');
  for (const b of baselines) {
    console.log(
      `| GitHub | previous create_pr reads  | ${n(b.files).padStart(10)} | ${String(b.stats.requests).padStart(8)} | ${n(b.stats.bytesRead).padStart(12)} | ${n(b.stats.bytesSent).padStart(10)} | ${(b.truncated ? 'truncated' : '').padStart(7)} |`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`tongs: git scale bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

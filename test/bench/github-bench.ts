// Benchmark of the GitHub tong (issue #5 "Speed and memory"), run by `make bench`:
//  1. added latency: `list_prs` through MCP over HTTP against the built bin, vs the same octokit
//     calls (the tong's own provider) made directly against the same GitHub fake; target ≤ 5 ms median;
//  2. sustained calls/s with concurrent MCP clients; target ≥ 500 on 2 cores;
//  3. resident memory of the idle server; target ≤ 80 MB.
// The server runs as the image runs it: the node flags of the Dockerfile's ENTRYPOINT and its
// `ENV MALLOC_*` lines (BENCH_NODE_FLAGS="..." and BENCH_MALLOC_ARENA_MAX=... override them for A/B runs).
// Extra measurements locate the time in the same run: the same three GitHub requests made with bare
// fetch (what octokit and its retry and throttling plugins cost); the direct octokit call made from a
// separate process, as the tong is one (what the process boundary costs: every GitHub request and every
// 1 ms timer of the plugins' limiters then wakes a process that was asleep); a call the tong refuses
// before any GitHub request (what MCP over HTTP and the server cost alone); and the direct octokit
// client's own sustained rate with the same number of concurrent callers (the ceiling for the tong's
// calls/s: plugin-throttling admits one request per limiter per event-loop turn).
// Prints a table of medians and ratios. Measures only; asserts nothing.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createOctokitProvider } from '../../sidecars/github/src/provider.js';
import { FakeGitHub } from '../fakes/github-api.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'dist/sidecars/github/src/main.js');
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 400);
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 15);
// V8's memory reducer shrinks the heap only after the allocation rate has been low for a while
// (8 s start delay, then 8 s checks): 15 s is often too early, so RSS is sampled again later.
const SETTLE_SECONDS = Number(process.env.BENCH_SETTLE_SECONDS ?? 40);

const OVERRIDDEN = process.env.BENCH_NODE_FLAGS !== undefined || process.env.BENCH_MALLOC_ARENA_MAX !== undefined;
const DOCKERFILE = readFileSync(join(ROOT, 'sidecars/github/Dockerfile'), 'utf8');

/** The node flags between `node` and the script in the image's ENTRYPOINT (exec form). */
function imageNodeFlags(): string[] {
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(DOCKERFILE);
  if (!line) throw new Error('sidecars/github/Dockerfile has no exec-form ENTRYPOINT');
  const argv = JSON.parse(line[1]!) as string[];
  return argv.slice(1, -1);
}
const NODE_FLAGS =
  process.env.BENCH_NODE_FLAGS !== undefined ? process.env.BENCH_NODE_FLAGS.split(/\s+/).filter(Boolean) : imageNodeFlags();
// The image's allocator settings (`ENV MALLOC_...=` lines); BENCH_MALLOC_ARENA_MAX="" drops the arena cap.
const MALLOC_ENV: Record<string, string> = Object.fromEntries(
  [...DOCKERFILE.matchAll(/^ENV\s+(MALLOC_[A-Z_]+)=(\S+)\s*$/gm)].map((m) => [m[1]!, m[2]!]),
);
if (process.env.BENCH_MALLOC_ARENA_MAX !== undefined) {
  if (process.env.BENCH_MALLOC_ARENA_MAX === '') delete MALLOC_ENV.MALLOC_ARENA_MAX;
  else MALLOC_ENV.MALLOC_ARENA_MAX = process.env.BENCH_MALLOC_ARENA_MAX;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const rssMb = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** CPU time (user + system) a process has used, in ms (from /proc/PID/stat, in clock ticks of 10 ms). */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

/**
 * `--direct-child <apiUrl> <token>`: the direct octokit call again, from a process of its own. Each
 * IPC message runs one timed `list_prs`-equivalent call and answers its duration in ms.
 */
function directChild(apiUrl: string, token: string): void {
  const provider = createOctokitProvider({ apiUrl, token });
  process.on('message', () => {
    const t = performance.now();
    void provider.listPullRequests({ owner: 'acme', name: 'ops' }, 'tongs').then(() => process.send!(performance.now() - t));
  });
  process.on('disconnect', () => process.exit(0));
}

async function main(): Promise<void> {
  const fake = new FakeGitHub();
  await fake.start();
  fake.addRepo('acme', 'ops');
  fake.addRepo('acme', 'empty');
  for (let i = 0; i < 2; i++) fake.addPull('acme', 'ops', { title: `PR ${i}`, labels: ['tongs'], files: [`checks/${i}.md`, `docs/${i}.md`] });
  fake.addPull('acme', 'ops', { title: 'not ours', files: ['x'] });

  const child = spawn(process.execPath, [...NODE_FLAGS, BIN], {
    env: { ...MALLOC_ENV, PATH: process.env.PATH ?? '', PORT: '0', GITHUB_API_URL: fake.url, GITHUB_TOKEN: fake.token, TONG_TIER: '2' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /listening on 0\.0\.0\.0:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`tong exited ${code}: ${stderr}`)));
  });
  await sleep(500);
  const rssFresh = rssMb(child.pid!);

  const url = new URL(`http://127.0.0.1:${port}/mcp`);
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(url));
  const provider = createOctokitProvider({ apiUrl: fake.url, token: fake.token });
  const repo = { owner: 'acme', name: 'ops' };
  const other: ChildProcess = fork(fileURLToPath(import.meta.url), ['--direct-child', fake.url, fake.token], { execArgv: [], stdio: 'inherit' });
  const directElsewhere = () => new Promise<number>((resolve) => {
    other.once('message', (ms) => resolve(ms as number));
    other.send('call');
  });
  const viaMcp = async () => {
    const r = await client.callTool({ name: 'list_prs', arguments: { repo_owner: 'acme', repo_name: 'ops' } });
    if (r.isError) throw new Error(JSON.stringify(r.content));
  };
  const direct = async () => {
    await provider.listPullRequests(repo, 'tongs');
  };
  // A call the tong refuses before any GitHub request (clone_url on a host it does not serve): what
  // MCP over HTTP and the server cost on their own.
  const foreign = { repo_owner: 'acme', repo_name: 'ops', clone_url: 'https://gitlab.example.com/acme/ops.git' };
  const viaMcpNoGitHub = async () => {
    const r = await client.callTool({ name: 'list_prs', arguments: foreign });
    if (!r.isError) throw new Error('list_prs with a foreign clone_url was not refused');
  };
  // The same requests as listPullRequests (one page each), without octokit.
  const headers = { authorization: `token ${fake.token}`, accept: 'application/vnd.github+json' };
  const getJson = async (path: string) => {
    const res = await fetch(`${fake.url}${path}`, { headers });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res.json() as Promise<unknown>;
  };
  const bare = async () => {
    const pulls = (await getJson('/repos/acme/ops/pulls?state=open&per_page=100')) as { number: number; labels: { name: string }[] }[];
    const ours = pulls.filter((p) => p.labels.some((l) => l.name === 'tongs'));
    await Promise.all(ours.map((p) => getJson(`/repos/acme/ops/pulls/${p.number}/files?per_page=100`)));
  };

  // 1. Latency, interleaved so both sides see the same machine load.
  for (let i = 0; i < 50; i++) {
    await viaMcp();
    await direct();
    await directElsewhere();
    await bare();
    await viaMcpNoGitHub();
  }
  const mcpMs: number[] = [];
  const directMs: number[] = [];
  const elsewhereMs: number[] = [];
  const bareMs: number[] = [];
  const noGitHubMs: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    let t = performance.now();
    await bare();
    bareMs.push(performance.now() - t);
    t = performance.now();
    await direct();
    directMs.push(performance.now() - t);
    elsewhereMs.push(await directElsewhere());
    t = performance.now();
    await viaMcp();
    mcpMs.push(performance.now() - t);
    t = performance.now();
    await viaMcpNoGitHub();
    noGitHubMs.push(performance.now() - t);
  }

  // 2. Sustained throughput: CONCURRENCY clients calling as fast as they can.
  const throughput = async (args: Record<string, unknown>, refused = false): Promise<{ rate: number; cpuPerCall: number }> => {
    const clients = await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        const c = new Client({ name: 'bench-load', version: '1.0.0' });
        await c.connect(new StreamableHTTPClientTransport(url));
        return c;
      }),
    );
    let calls = 0;
    const cpuBefore = cpuMs(child.pid!);
    const end = performance.now() + LOAD_SECONDS * 1000;
    const start = performance.now();
    await Promise.all(
      clients.map(async (c) => {
        while (performance.now() < end) {
          const r = await c.callTool({ name: 'list_prs', arguments: args });
          if (Boolean(r.isError) !== refused) throw new Error(JSON.stringify(r.content));
          calls++;
        }
      }),
    );
    const rate = calls / ((performance.now() - start) / 1000);
    const cpuPerCall = (cpuMs(child.pid!) - cpuBefore) / calls;
    await Promise.all(clients.map((c) => c.close()));
    return { rate, cpuPerCall };
  };
  other.disconnect();
  // The tong's own GitHub client alone, as many concurrent callers, same repository.
  let directCalls = 0;
  const directStart = performance.now();
  const directEnd = directStart + LOAD_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < directEnd) {
        await provider.listPullRequests({ owner: 'acme', name: 'empty' }, 'tongs');
        directCalls++;
      }
    }),
  );
  const directRate = directCalls / ((performance.now() - directStart) / 1000);
  const rateEmpty = await throughput({ repo_owner: 'acme', repo_name: 'empty' });
  const rateOps = await throughput({ repo_owner: 'acme', repo_name: 'ops' });
  const rateNoGitHub = await throughput(foreign, true);
  const rssPeak = rssMb(child.pid!);

  // 3. Idle memory after the load, once V8's memory reducer has run (it acts after a few idle seconds).
  await client.close();
  await sleep(IDLE_SECONDS * 1000);
  const rssIdle = rssMb(child.pid!);
  await sleep(Math.max(0, SETTLE_SECONDS - IDLE_SECONDS) * 1000);
  const rssSettled = rssMb(child.pid!);

  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await fake.close();

  const mcpMed = median(mcpMs);
  const directMed = median(directMs);
  const added = mcpMed - directMed;
  const row = (name: string, value: string, target: string, ok: boolean) =>
    console.log(`| ${name.padEnd(44)} | ${value.padStart(16)} | ${target.padEnd(10)} | ${ok ? 'met' : 'MISSED'.padEnd(6)} |`);
  console.log(`GitHub tong benchmark — node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)}`);
  const envText = Object.entries(MALLOC_ENV).map(([k, v]) => `${k}=${v} `).join('');
  console.log(`tong started as: ${envText}node ${[...NODE_FLAGS, 'dist/sidecars/github/src/main.js'].join(' ')} ${OVERRIDDEN ? '(overridden by BENCH_*)' : '(as the image runs it)'}`);
  console.log(`list_prs on a repository with 2 labelled PRs (3 GitHub requests per call); ${ITERATIONS} interleaved calls each`);
  console.log(`| ${'measure'.padEnd(44)} | ${'value'.padStart(16)} | ${'target'.padEnd(10)} | result |`);
  console.log(`|${'-'.repeat(46)}|${'-'.repeat(18)}|${'-'.repeat(12)}|--------|`);
  row('bare fetch, same 3 requests, median (p90)', `${median(bareMs).toFixed(2)} (${pct(bareMs, 0.9).toFixed(1)}) ms`, '', true);
  row('direct octokit median (p90)', `${directMed.toFixed(2)} (${pct(directMs, 0.9).toFixed(1)}) ms`, '', true);
  row('  the same from a separate process', `${median(elsewhereMs).toFixed(2)} (${pct(elsewhereMs, 0.9).toFixed(1)}) ms`, '', true);
  row('MCP over HTTP median (p90)', `${mcpMed.toFixed(2)} (${pct(mcpMs, 0.9).toFixed(1)}) ms`, '', true);
  row('added latency (median MCP − median direct)', `${added.toFixed(2)} ms`, '≤ 5 ms', added <= 5);
  row('ratio MCP / direct (medians)', `${(mcpMed / directMed).toFixed(2)}×`, '', true);
  row('MCP call refused before GitHub, median (p90)', `${median(noGitHubMs).toFixed(2)} (${pct(noGitHubMs, 0.9).toFixed(1)}) ms`, '', true);
  row(`direct octokit calls/s, empty (${CONCURRENCY} callers)`, directRate.toFixed(0), '', true);
  row(`sustained calls/s, empty repo (${CONCURRENCY} clients)`, rateEmpty.rate.toFixed(0), '≥ 500', rateEmpty.rate >= 500);
  row('  tong CPU per call, empty repo', `${rateEmpty.cpuPerCall.toFixed(2)} ms`, '', true);
  // One node process runs its JavaScript on one thread, so one core bounds it however many the machine has.
  row('  ⇒ calls/s one tong process could serve', (1000 / rateEmpty.cpuPerCall).toFixed(0), '≥ 500', 1000 / rateEmpty.cpuPerCall >= 500);
  row(`sustained calls/s, 2 PRs (${CONCURRENCY} clients)`, rateOps.rate.toFixed(0), '', true);
  row('  tong CPU per call, 2 PRs', `${rateOps.cpuPerCall.toFixed(2)} ms`, '', true);
  row(`sustained calls/s, refused before GitHub`, rateNoGitHub.rate.toFixed(0), '', true);
  row('  tong CPU per call, refused before GitHub', `${rateNoGitHub.cpuPerCall.toFixed(2)} ms`, '', true);
  row('RSS right after the load', `${rssPeak.toFixed(1)} MB`, '', true);
  row('RSS idle, fresh (before any call)', `${rssFresh.toFixed(1)} MB`, '≤ 80 MB', rssFresh <= 80);
  row(`RSS idle, ${IDLE_SECONDS} s after the load`, `${rssIdle.toFixed(1)} MB`, '≤ 80 MB', rssIdle <= 80);
  row(`RSS idle, ${SETTLE_SECONDS} s after the load`, `${rssSettled.toFixed(1)} MB`, '≤ 80 MB', rssSettled <= 80);
}

if (process.argv[2] === '--direct-child') {
  directChild(process.argv[3]!, process.argv[4]!);
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`tongs: github bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}

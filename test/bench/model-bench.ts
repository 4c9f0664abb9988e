// Benchmark of the model tong (issue #11 "Speed"), run by `make bench-model` (part of `make bench`):
//  1. time to first byte of a streamed answer (`POST /v1/messages`, `stream: true`) through the tong,
//     against the same request made directly to the same local upstream; median of BENCH_RUNS (50)
//     each, interleaved; target ≤ 3 ms added;
//  2. the tong's idle resident memory, fresh and after the load; target ≤ 40 MB.
// The upstream is test/fakes/model-upstream.ts in a process of its own (so neither client shares an
// event loop with it); both clients keep their connections alive, as the harnesses do. The tong runs
// as the image runs it: the node flags of sidecars/model-api/Dockerfile's ENTRYPOINT and its
// `ENV MALLOC_*` lines (BENCH_NODE_FLAGS="..." overrides the flags for A/B runs). When a Docker engine
// answers, the RSS of the image itself (fresh container, `docker exec`) is reported too, and so is
// bare `node` (an idle timer, no module) as the floor any Node tong starts from.
// Prints a table of medians. Measures only; asserts nothing.
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startFakeModelUpstream } from '../fakes/model-upstream.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'dist/sidecars/model-api/src/main.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 50);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 10);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 15);
const IMAGE = process.env.MODEL_API_IMAGE ?? 'tongs-model-api:local';
const BEARER = 'bench-session-bearer';
const DOCKERFILE = readFileSync(join(ROOT, 'sidecars/model-api/Dockerfile'), 'utf8');

/** The node flags between `node` and the script in the image's ENTRYPOINT (exec form). */
function imageNodeFlags(): string[] {
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(DOCKERFILE);
  if (!line) throw new Error('sidecars/model-api/Dockerfile has no exec-form ENTRYPOINT');
  return (JSON.parse(line[1]!) as string[]).slice(1, -1);
}
const NODE_FLAGS =
  process.env.BENCH_NODE_FLAGS !== undefined ? process.env.BENCH_NODE_FLAGS.split(/\s+/).filter(Boolean) : imageNodeFlags();
const MALLOC_ENV: Record<string, string> = Object.fromEntries(
  [...DOCKERFILE.matchAll(/^ENV\s+(MALLOC_[A-Z_]+)=(\S+)\s*$/gm)].map((m) => [m[1]!, m[2]!]),
);

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

/** `--upstream`: the fake upstream in this child process; sends its port to the parent. */
async function upstreamChild(): Promise<void> {
  const up = await startFakeModelUpstream({ host: '127.0.0.1' });
  process.send!(up.port);
  process.on('disconnect', () => process.exit(0));
}

const BODY = JSON.stringify({ model: 'claude-fake', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] });

/** One streamed call: ms to the first body byte and to the end. */
function call(agent: http.Agent, port: number, headers: Record<string, string>): Promise<{ first: number; total: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = 0;
    const req = http.request(
      { host: '127.0.0.1', port, path: '/v1/messages?beta=true', method: 'POST', agent, headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'content-length': Buffer.byteLength(BODY), ...headers } },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        res.on('data', () => {
          if (!first) first = performance.now() - t0;
        });
        res.on('end', () => resolve({ first, total: performance.now() - t0 }));
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });
}

async function dockerRss(args: string[]): Promise<number | null> {
  const run = promisify(execFile);
  let id = '';
  try {
    id = (await run('docker', ['run', '-d', '--rm', '--label', 'dev.tongs.bench=model', ...args])).stdout.trim();
    await sleep(3000);
    const status = (await run('docker', ['exec', id, 'cat', '/proc/1/status'])).stdout;
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  } finally {
    if (id) await run('docker', ['rm', '-f', id]).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const upstream: ChildProcess = fork(fileURLToPath(import.meta.url), ['--upstream'], { execArgv: [], stdio: 'inherit' });
  const upstreamPort = await new Promise<number>((resolve) => upstream.once('message', (p) => resolve(p as number)));

  const tong = spawn(process.execPath, [...NODE_FLAGS, BIN], {
    env: { ...MALLOC_ENV, PATH: process.env.PATH ?? '', PORT: '0', ANTHROPIC_API_KEY: 'sk-bench-key', TONGS_MODEL_TOKEN: BEARER, TONG_UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const tongPort = await new Promise<number>((resolve, reject) => {
    tong.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /listening on 0\.0\.0\.0:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    tong.once('exit', (code) => reject(new Error(`tong exited ${code}: ${stderr}`)));
  });
  await sleep(3000);
  const rssFresh = rssMb(tong.pid!);

  const directAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const tongAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const direct = () => call(directAgent, upstreamPort, { 'x-api-key': 'sk-bench-key' });
  const through = () => call(tongAgent, tongPort, { authorization: `Bearer ${BEARER}` });
  for (let i = 0; i < WARMUP; i++) {
    await direct();
    await through();
  }
  const d: { first: number; total: number }[] = [];
  const t: { first: number; total: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, alternating which goes first, so drift on a shared machine hits both alike.
    if (i % 2 === 0) {
      d.push(await direct());
      t.push(await through());
    } else {
      t.push(await through());
      d.push(await direct());
    }
  }
  const rssLoaded = rssMb(tong.pid!);
  await sleep(IDLE_SECONDS * 1000);
  const rssIdle = rssMb(tong.pid!);

  const imageFresh = await dockerRss(['-e', 'ANTHROPIC_API_KEY=sk-bench-key', '-e', `TONGS_MODEL_TOKEN=${BEARER}`, IMAGE]);
  const bareNode = await dockerRss(['--entrypoint', 'node', IMAGE, '-e', 'setInterval(() => {}, 1000)']);

  const dFirst = median(d.map((x) => x.first));
  const tFirst = median(t.map((x) => x.first));
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  const mb = (x: number | null) => (x === null ? 'n/a (no Docker engine)' : `${x.toFixed(1)} MB`);
  const rows: [string, string, string][] = [
    ['time to first byte, direct to the upstream (median)', ms(dFirst), `p90 ${ms(pct(d.map((x) => x.first), 0.9))}`],
    ['time to first byte, through the tong (median)', ms(tFirst), `p90 ${ms(pct(t.map((x) => x.first), 0.9))}`],
    ['  added by the tong', ms(tFirst - dFirst), `target ≤ 3 ms: ${tFirst - dFirst <= 3 ? 'met' : 'missed'}`],
    ['whole streamed answer, direct / through (median)', `${ms(median(d.map((x) => x.total)))} / ${ms(median(t.map((x) => x.total)))}`, ''],
    ['tong RSS, fresh (host process, image flags)', mb(rssFresh), `target ≤ 40 MB: ${rssFresh <= 40 ? 'met' : 'missed'}`],
    ['tong RSS, right after the load', mb(rssLoaded), ''],
    [`tong RSS, idle ${IDLE_SECONDS} s after the load`, mb(rssIdle), `target ≤ 40 MB: ${rssIdle <= 40 ? 'met' : 'missed'}`],
    ['tong RSS, fresh container of the image', mb(imageFresh), ''],
    ['bare node in the same image (an idle timer, no module)', mb(bareNode), 'the floor of any Node tong'],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(
    `model tong benchmark: ${RUNS} streamed calls each (after ${WARMUP} warm-up), node flags ${JSON.stringify(NODE_FLAGS)}, ` +
      `${Object.entries(MALLOC_ENV).map(([k, v]) => `${k}=${v}`).join(' ') || 'default malloc'}; ` +
      `${availableParallelism()} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`,
  );
  for (const [what, value, note] of rows) process.stdout.write(`  ${what.padEnd(width)}  ${value.padStart(20)}  ${note}\n`);

  directAgent.destroy();
  tongAgent.destroy();
  tong.kill('SIGTERM');
  upstream.disconnect();
}

if (process.argv[2] === '--upstream') void upstreamChild();
else
  main().catch((err: unknown) => {
    process.stderr.write(`model bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });

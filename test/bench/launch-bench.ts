/**
 * Launch-overhead benchmark (issue #3 "Speed"): the time from `tongs run` to the anvil's first output,
 * minus the same for a direct `docker run` of the same anvil, with 1 mcp tong and with 10 mcp tongs
 * (targets: 1-tong median <= 0.6 s; 10 tongs <= 1.5x the 1-tong figure). In the same run, the same
 * services under `docker-compose up -d` with healthchecks, waited healthy, then the anvil on the compose
 * network; tongs' overhead is reported as a ratio of compose's.
 *
 * The tongs' own boot is not tongs' overhead, so the same run also measures it: N test-MCP containers
 * created and started in parallel through the engine API on a ready network, until each one's server
 * listens (seen from inside the container, so no host routing is assumed). "net of tong boot" columns
 * subtract that figure; on a small machine, ten Node servers booting at once dominate the 10-tong case.
 *
 * The seal's share (issue #10 "Speed": the git guard and the out-of-sight report add ≤ 50 ms): the
 * 1-tong launch again with `--workspace` on this repository (the report's snapshots) and the anvil
 * argv carrying the workspace mount and the guard's read-only mounts as make/anvil-seal.sh makes them,
 * against the same launch without them; and the time make/anvil-seal.sh takes to make those options.
 *
 * Run: `make bench-launch` (or `node dist/test/bench/launch-bench.js`). BENCH_RUNS (default 5) sets the
 * runs per scenario; scenarios are interleaved so machine load affects them alike. Medians throughout.
 */
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, REPO_ROOT, BASE_IMAGE, buildTestImages, cleanupByLabel, dockerProblem } from '../support/docker.js';
import { createDockerRuntime } from '../../launcher/shell/docker-runtime.js';
import type { ContainerRuntime } from '../../launcher/shell/runtime.js';

const run = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const runId = randomBytes(3).toString('hex');
const MARK = 'ANVIL-FIRST-OUTPUT';
const BENCH_LABEL = 'dev.tongs.bench';
const ANVIL = ['docker', 'run', '--rm', '--label', `${BENCH_LABEL}=1`, BASE_IMAGE, 'node', '-e', `console.log('${MARK}')`, '--'];

/** Milliseconds from spawning `argv` until its stdout shows MARK; waits for the exit too. */
function timeToFirstOutput(argv: string[]): Promise<number> {
  return timeOutputAndExit(argv).then((t) => t.output);
}

/**
 * Milliseconds from spawning `argv` until its stdout shows MARK (`output`), and from then until the
 * process exits (`exit`: for tongs, the anvil's exit plus the session's teardown).
 */
function timeOutputAndExit(argv: string[]): Promise<{ output: number; exit: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
    let seen: number | null = null;
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (seen === null && out.includes(MARK)) seen = performance.now() - t0;
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (seen === null || code !== 0) reject(new Error(`${argv.slice(0, 3).join(' ')} … exited ${code} without output:\n${err}`));
      else resolve({ output: seen, exit: performance.now() - t0 - seen });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * The tongs' own start: `n` test-MCP containers created and started in parallel on `network`, until each
 * one's server listens. The server runs as usual; the same Node process then polls 127.0.0.1:8080 every
 * 10 ms and prints MARK, so the time is the engine's start plus the server's boot, and nothing of tongs.
 */
async function tongBootOnce(runtime: ContainerRuntime, network: string, n: number): Promise<number> {
  const script =
    `import('/srv/server.mjs');const net=require('node:net');` +
    `(function poll(){net.connect(8080,'127.0.0.1').on('connect',function(){this.destroy();console.log('${MARK}');` +
    `setTimeout(()=>process.exit(0),50)}).on('error',()=>setTimeout(poll,10))})()`;
  const ids: string[] = [];
  try {
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const id = await runtime.createContainer({
          name: null,
          image: 'tongs-test-mcp:local',
          labels: { [BENCH_LABEL]: '1' },
          env: { PORT: '8080' },
          entrypoint: ['node'],
          command: ['-e', script],
          mounts: [],
          memoryBytes: null,
          network: { name: network, aliases: [`boot${i}`] },
        });
        ids.push(id);
        const streams = await runtime.attach(id, { stdin: false });
        const listening = new Promise<void>((resolve, reject) => {
          let out = '';
          streams.stdout.on('data', (c: Buffer) => {
            out += c.toString();
            if (out.includes(MARK)) resolve();
          });
          streams.stdout.on('end', () => reject(new Error(`tong boot container ${id.slice(0, 12)} ended without listening`)));
        });
        await runtime.startContainer(id);
        await listening;
      }),
    );
    return performance.now() - t0;
  } finally {
    await Promise.all(ids.map((id) => runtime.removeContainer(id)));
  }
}

async function layer(dir: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await writeFile(
      join(dir, `mcp${i}.yaml`),
      `image: tongs-test-mcp:local\ninterface: { kind: mcp, port: 8080, name: mcp${i} }\nreadiness: { timeout: 60s }\n`,
    );
  }
}

function composeFile(n: number): string {
  const services = Array.from({ length: n }, (_, i) => `  mcp${i}:
    image: tongs-test-mcp:local
    labels: ["${BENCH_LABEL}=1"]
    healthcheck:
      test: ["CMD", "node", "-e", "require('net').connect(8080,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))"]
      interval: 250ms
      timeout: 2s
      retries: 200
`).join('');
  return `version: "2.4"\nservices:\n${services}networks:\n  default:\n    labels: ["${BENCH_LABEL}=1"]\n`;
}

/** docker-compose up -d, wait until every service is healthy, then the anvil on the compose network. */
async function composeOnce(dir: string, project: string, n: number): Promise<number> {
  const file = join(dir, `compose-${n}.yml`);
  const t0 = performance.now();
  await run('docker-compose', ['-f', file, '-p', project, 'up', '-d', '--quiet-pull'], { cwd: dir });
  const ids = (await run('docker-compose', ['-f', file, '-p', project, 'ps', '-q'], { cwd: dir })).stdout.trim().split('\n');
  for (;;) {
    const { stdout } = await run('docker', ['inspect', '-f', '{{.State.Health.Status}}', ...ids]);
    if (stdout.trim().split('\n').every((s) => s === 'healthy')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const anvil = [...ANVIL];
  anvil.splice(2, 0, '--network', `${project}_default`);
  const beforeAnvil = performance.now() - t0;
  const anvilMs = await timeToFirstOutput(anvil);
  // The --rm anvil's endpoint may still be going away: `down` again once if the network is busy.
  await run('docker-compose', ['-f', file, '-p', project, 'down', '-t', '1'], { cwd: dir }).catch(async () => {
    await new Promise((r) => setTimeout(r, 500));
    await run('docker-compose', ['-f', file, '-p', project, 'down', '-t', '1'], { cwd: dir });
  });
  return beforeAnvil + anvilMs;
}

async function main(): Promise<void> {
  const problem = await dockerProblem();
  if (problem) throw new Error(`the benchmark needs a Docker engine: ${problem}`);
  await buildTestImages('tongs-test-mcp:local');
  const dir = await mkdtemp(join(tmpdir(), 'tongs-bench-'));
  const one = join(dir, 'one');
  const ten = join(dir, 'ten');
  await run('mkdir', ['-p', one, ten]);
  await layer(one, 1);
  await layer(ten, 10);
  await writeFile(join(dir, 'compose-1.yml'), composeFile(1));
  await writeFile(join(dir, 'compose-10.yml'), composeFile(10));
  const tongs = (l: string) => [process.execPath, CLI, 'run', '--quiet', '--repo-tongs', l, '--harness', 'claude', '--', ...ANVIL];
  const guardOptions = async (): Promise<{ options: string[]; ms: number }> => {
    const t0 = performance.now();
    const { stdout } = await run('bash', ['-c', `set -eu; project=$1; home_in_anvil=/home/anvil; root=$2; . "$2/make/anvil-seal.sh"; seal_git_guard; printf '%s\\0' "\${seal_opts[@]}"`, 'guard', REPO_ROOT, REPO_ROOT]);
    return { options: stdout.split('\0').slice(0, -1), ms: performance.now() - t0 };
  };
  const sealed = (l: string, guard: string[]) => [
    process.execPath, CLI, 'run', '--quiet', '--repo-tongs', l, '--harness', 'claude', '--workspace', REPO_ROOT, '--',
    ...ANVIL.slice(0, 2), '-v', `${REPO_ROOT}:/workspace`, ...guard, ...ANVIL.slice(2),
  ];

  const runtime = createDockerRuntime();
  const bootNetwork = `tongsbench${runId}boot`;
  const samples: Record<string, number[]> = {
    direct: [], directExit: [], boot1: [], boot10: [], tongs1: [], tongs10: [], tongs10Exit: [], compose1: [], compose10: [], sealed1: [], guard: [],
  };
  try {
    await runtime.createNetwork(bootNetwork, { [BENCH_LABEL]: '1' });
    await timeToFirstOutput(ANVIL); // warm-up
    await timeToFirstOutput(tongs(one));
    await tongBootOnce(runtime, bootNetwork, 1);
    for (let i = 0; i < RUNS; i++) {
      const direct = await timeOutputAndExit(ANVIL);
      samples.direct!.push(direct.output);
      samples.directExit!.push(direct.exit);
      samples.boot1!.push(await tongBootOnce(runtime, bootNetwork, 1));
      samples.tongs1!.push(await timeToFirstOutput(tongs(one)));
      const guard = await guardOptions();
      samples.guard!.push(guard.ms);
      samples.sealed1!.push(await timeToFirstOutput(sealed(one, guard.options)));
      samples.boot10!.push(await tongBootOnce(runtime, bootNetwork, 10));
      const ten10 = await timeOutputAndExit(tongs(ten));
      samples.tongs10!.push(ten10.output);
      samples.tongs10Exit!.push(ten10.exit);
      samples.compose1!.push(await composeOnce(dir, `tongsbench${runId}x1x${i}`, 1));
      samples.compose10!.push(await composeOnce(dir, `tongsbench${runId}x10x${i}`, 10));
      process.stderr.write(`tongs: bench run ${i + 1}/${RUNS} done\n`);
    }
  } finally {
    await cleanupByLabel(runtime, BENCH_LABEL).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }

  const m = (k: string) => median(samples[k]!);
  const d = m('direct');
  const [b1, b10] = [m('boot1'), m('boot10')];
  const o1 = m('tongs1') - d;
  const o10 = m('tongs10') - d;
  const c1 = m('compose1') - d;
  const c10 = m('compose10') - d;
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const rows = [
    ['scenario', 'median to first output', 'overhead vs docker run', 'net of tong boot', 'target', 'tongs / compose'],
    ['docker run (direct anvil)', s(d), '-', '-', '-', '-'],
    ['tong boot, 1 (engine start + listen)', s(b1), '-', '-', '-', '-'],
    ['tong boot, 10 in parallel', s(b10), '-', '-', '-', '-'],
    ['tongs run, 1 mcp tong', s(m('tongs1')), s(o1), s(o1 - b1), `<= 0.60 s ${o1 <= 600 ? 'ok' : 'MISSED'}`, (o1 / c1).toFixed(2)],
    [
      'tongs run, 10 mcp tongs',
      s(m('tongs10')),
      s(o10),
      s(o10 - b10),
      `<= ${s(1.5 * o1)} (1.5x) ${o10 <= 1.5 * o1 ? 'ok' : 'MISSED'}`,
      (o10 / c10).toFixed(2),
    ],
    [
      'teardown, 10 tongs (anvil output → exit)',
      s(m('tongs10Exit')),
      s(m('tongs10Exit') - m('directExit')),
      '-',
      `<= 2.00 s ${m('tongs10Exit') - m('directExit') <= 2000 ? 'ok' : 'MISSED'}`,
      '-',
    ],
    [
      'tongs run, 1 mcp tong, sealed (guard + report on this repo)',
      s(m('sealed1')),
      `${m('sealed1') - m('tongs1') >= 0 ? '+' : ''}${(m('sealed1') - m('tongs1')).toFixed(0)} ms over unsealed`,
      '-',
      `<= +50 ms ${m('sealed1') - m('tongs1') <= 50 ? 'ok' : 'MISSED'}`,
      '-',
    ],
    ['  of which: the guard options (make/anvil-seal.sh)', `${m('guard').toFixed(1)} ms`, '-', '-', '-', '-'],
    ['docker-compose up -d + healthy, 1', s(m('compose1')), s(c1), s(c1 - b1), '-', '-'],
    ['docker-compose up -d + healthy, 10', s(m('compose10')), s(c10), s(c10 - b10), '-', '-'],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(`launch overhead, ${RUNS} runs each (medians); this machine: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)}`);
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  console.log(
    `net 1-tong overhead ${s(o1 - b1)} (target 0.60 s on the gross figure); 10 vs 1 net of boot: ` +
      `${s(o10 - b10)} vs ${s(o1 - b1)}; 10-tong boot is ${(b10 / b1).toFixed(1)}x the 1-tong boot`,
  );
}

main().catch((err: unknown) => {
  console.error(`tongs: benchmark failed: ${(err as Error).message}`);
  process.exit(1);
});

/**
 * Launch-overhead benchmark (issue #3 "Speed", issue #12 "Speed targets"): the time from `tongs run` to
 * the anvil's first output, minus the same for a direct `docker run` of the same anvil, with 1 mcp
 * tong and with 10 mcp tongs (healthcheck readiness, as the issue measured; 1 tong with the default mcp
 * readiness too), against the same services under `docker-compose up -d` with healthchecks, waited
 * healthy, then the anvil on the compose network (tongs' overhead as a ratio of compose's). The anvil is
 * tongs-anvil:local, which has the launch gate (DESIGN.md "Launch order"), running `node -e` as its
 * harness, so the launch runs in the parallel order; the direct `docker run` runs the same image.
 * Ten tongs run twice more on distinct ports (issue #12 item 4): sharing one network namespace
 * (launcher/core/netns.ts), and with `TONGS_SHARED_NETNS=0`, each with its teardown.
 *
 * Also in the same run: the tongs' own boot (N test-MCP containers started in parallel on a ready
 * network until each one listens, seen from inside); the launcher's start-up (process start → its
 * first engine call, from the DEBUG=tongs trace); the GitHub tong from container create to its
 * `listening` log line; teardown (the anvil's output → the launcher's exit, minus the direct anvil's);
 * and the seal's share (issue #10: the git guard's mounts and the out-of-sight report on this repo).
 *
 * The reference launcher (Python) could not be run here; its figures from issue #12, measured on this
 * kind of machine, are printed as the ones to beat.
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
import { CLI, REPO_ROOT, buildTestImages, cleanupByLabel, dockerProblem } from '../support/docker.js';
import { createDockerRuntime } from '../../launcher/shell/engine/docker-runtime.js';
import type { ContainerRuntime } from '../../launcher/shell/engine/runtime.js';

const run = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const runId = randomBytes(3).toString('hex');
const MARK = 'ANVIL-FIRST-OUTPUT';
const BENCH_LABEL = 'dev.tongs.bench';
const ANVIL_IMAGE = process.env.TONGS_TEST_ANVIL_IMAGE || 'tongs-anvil:local';
const ANVIL = ['docker', 'run', '--rm', '--label', `${BENCH_LABEL}=1`, ANVIL_IMAGE, 'node', '-e', `console.log('${MARK}')`, '--'];
/** Issue #12's figures for the reference launcher, 1 and 10 tongs: overhead over a bare docker run (s). */
const REFERENCE = { one: 1.13, ten: 5.37 };

/** Milliseconds from spawning `argv` until its stdout shows MARK; waits for the exit too. */
function timeToFirstOutput(argv: string[]): Promise<number> {
  return timeOutputAndExit(argv).then((t) => t.output);
}

/**
 * Milliseconds from spawning `argv` until its stdout shows MARK (`output`), and from then until the
 * process exits (`exit`: for tongs, the anvil's exit plus the session's teardown).
 */
function timeOutputAndExit(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ output: number; exit: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT, env });
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

/** The healthcheck command of the measurement (and of the compose services below), on `port`. */
const HEALTH = (port = 8080) =>
  `["node", "-e", "require('net').connect(${port},'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))"]`;

/**
 * `n` test-MCP tong definitions in `dir`. `ports: 'distinct'` puts tong i on port 8080+i (its PORT), so
 * the tongs share one network namespace (launcher/core/netns.ts); `'same'` puts every one on 8080, as
 * the issue measured, so each keeps an endpoint of its own.
 */
async function layer(dir: string, n: number, readiness: 'healthcheck' | 'mcp' = 'healthcheck', ports: 'same' | 'distinct' = 'same'): Promise<void> {
  for (let i = 0; i < n; i++) {
    const port = ports === 'distinct' ? 8080 + i : 8080;
    const ready = readiness === 'healthcheck' ? `{ mode: healthcheck, command: ${HEALTH(port)}, timeout: 60s }` : '{ timeout: 60s }';
    await writeFile(
      join(dir, `mcp${i}.yaml`),
      `image: tongs-test-mcp:local\nenv: { PORT: "${port}" }\ninterface: { kind: mcp, port: ${port}, name: mcp${i} }\nreadiness: ${ready}\n`,
    );
  }
}

/** Milliseconds from the launcher's process start to its first engine call, from its DEBUG trace. */
function firstEngineCall(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], cwd: REPO_ROOT, env: { ...process.env, DEBUG: 'tongs' } });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('close', () => {
      const ms = /first engine call (\d+) ms/.exec(err)?.[1];
      if (ms === undefined) reject(new Error(`no first engine call in the trace:\n${err}`));
      else resolve(Number(ms));
    });
  });
}

/**
 * The GitHub tong (tongs-github:local, its own entrypoint and flags) on `network`: milliseconds from
 * creating its container to its `listening on` log line.
 */
async function githubBootOnce(runtime: ContainerRuntime, network: string): Promise<number> {
  const t0 = performance.now();
  const id = await runtime.createContainer({
    name: null,
    image: 'tongs-github:local',
    labels: { [BENCH_LABEL]: '1' },
    env: { GITHUB_TOKEN: 'bench-token-not-used', TONG_TIER: '2' },
    entrypoint: null,
    command: null,
    mounts: [],
    memoryBytes: 256 * 1024 * 1024,
    network: { name: network, aliases: [] },
  });
  try {
    const streams = await runtime.attach(id, { stdin: false });
    const listening = new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (c: Buffer) => {
        out += c.toString();
        if (out.includes('listening on')) resolve();
      };
      streams.stdout.on('data', onData);
      streams.stderr.on('data', onData);
      streams.stdout.on('end', () => reject(new Error(`the GitHub tong ended without listening: ${out}`)));
    });
    await runtime.startContainer(id);
    await listening;
    return performance.now() - t0;
  } finally {
    await runtime.removeContainer(id);
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
  const oneMcp = join(dir, 'one-mcp');
  const ten = join(dir, 'ten');
  const tenPorts = join(dir, 'ten-ports');
  await run('mkdir', ['-p', one, oneMcp, ten, tenPorts]);
  await layer(one, 1);
  await layer(oneMcp, 1, 'mcp');
  await layer(ten, 10);
  await layer(tenPorts, 10, 'healthcheck', 'distinct');
  const separate = { ...process.env, TONGS_SHARED_NETNS: '0' };
  await writeFile(join(dir, 'compose-1.yml'), composeFile(1));
  await writeFile(join(dir, 'compose-10.yml'), composeFile(10));
  // --anvil-relay: the seal's network (the anvil reaches its tongs only through the relay), as make runs it.
  const tongs = (l: string) => [process.execPath, CLI, 'run', '--quiet', '--anvil-relay', '--repo-tongs', l, '--harness', 'claude', '--', ...ANVIL];
  const guardOptions = async (): Promise<{ options: string[]; ms: number }> => {
    const t0 = performance.now();
    const { stdout } = await run('bash', ['-c', `set -eu; project=$1; home_in_anvil=/home/anvil; root=$2; . "$2/make/anvil-seal.sh"; seal_git_guard; printf '%s\\0' "\${seal_opts[@]}"`, 'guard', REPO_ROOT, REPO_ROOT]);
    return { options: stdout.split('\0').slice(0, -1), ms: performance.now() - t0 };
  };
  const sealed = (l: string, guard: string[]) => [
    process.execPath, CLI, 'run', '--quiet', '--anvil-relay', '--repo-tongs', l, '--harness', 'claude', '--workspace', REPO_ROOT, '--',
    ...ANVIL.slice(0, 2), '-v', `${REPO_ROOT}:/workspace`, ...guard, ...ANVIL.slice(2),
  ];

  const runtime = createDockerRuntime();
  const bootNetwork = `tongsbench${runId}boot`;
  const samples: Record<string, number[]> = {
    direct: [], directExit: [], boot1: [], boot10: [], tongs1: [], tongs1Mcp: [], tongs10: [], tongs10Exit: [], compose1: [], compose10: [],
    tongs10Ports: [], tongs10PortsExit: [], tongs10PortsSeparate: [], tongs10PortsSeparateExit: [],
    sealed1: [], guard: [], firstCall: [], github: [],
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
      samples.tongs1Mcp!.push(await timeToFirstOutput(tongs(oneMcp)));
      samples.firstCall!.push(await firstEngineCall(tongs(oneMcp)));
      samples.github!.push(await githubBootOnce(runtime, bootNetwork));
      const guard = await guardOptions();
      samples.guard!.push(guard.ms);
      samples.sealed1!.push(await timeToFirstOutput(sealed(one, guard.options)));
      samples.boot10!.push(await tongBootOnce(runtime, bootNetwork, 10));
      const ten10 = await timeOutputAndExit(tongs(ten));
      samples.tongs10!.push(ten10.output);
      samples.tongs10Exit!.push(ten10.exit);
      const shared10 = await timeOutputAndExit(tongs(tenPorts));
      samples.tongs10Ports!.push(shared10.output);
      samples.tongs10PortsExit!.push(shared10.exit);
      const separate10 = await timeOutputAndExit(tongs(tenPorts), separate);
      samples.tongs10PortsSeparate!.push(separate10.output);
      samples.tongs10PortsSeparateExit!.push(separate10.exit);
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
  const o1m = m('tongs1Mcp') - d;
  const o10 = m('tongs10') - d;
  const c1 = m('compose1') - d;
  const c10 = m('compose10') - d;
  const teardown = m('tongs10Exit') - m('directExit');
  const o10p = m('tongs10Ports') - d;
  const o10ps = m('tongs10PortsSeparate') - d;
  const teardownP = m('tongs10PortsExit') - m('directExit');
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const target = (value: number, limit: number, text = s(limit)) => `<= ${text} ${value <= limit ? 'ok' : 'MISSED'}`;
  const rows = [
    ['scenario', 'median', 'overhead vs docker run', 'net of tong boot', 'target (issue #12)', 'tongs / compose', 'reference launcher'],
    ['docker run (direct anvil)', s(d), '-', '-', '-', '-', '-'],
    ['tong boot, 1 (engine start + listen)', s(b1), '-', '-', '-', '-', '-'],
    ['tong boot, 10 in parallel', s(b10), '-', '-', '-', '-', '-'],
    ['tongs run, 1 mcp tong (healthcheck readiness)', s(m('tongs1')), s(o1), s(o1 - b1), target(o1, 500), (o1 / c1).toFixed(2), `${REFERENCE.one.toFixed(2)} s`],
    ['tongs run, 1 mcp tong (mcp readiness)', s(m('tongs1Mcp')), s(o1m), s(o1m - b1), '-', (o1m / c1).toFixed(2), '-'],
    ['tongs run, 10 mcp tongs (healthcheck readiness)', s(m('tongs10')), s(o10), s(o10 - b10), target(o10, 2000), (o10 / c10).toFixed(2), `${REFERENCE.ten.toFixed(2)} s`],
    ['tongs run, 10 mcp tongs on distinct ports (one shared network namespace)', s(m('tongs10Ports')), s(o10p), s(o10p - b10), target(o10p, 2000), (o10p / c10).toFixed(2), `${REFERENCE.ten.toFixed(2)} s`],
    ['  the same, TONGS_SHARED_NETNS=0 (an endpoint each)', s(m('tongs10PortsSeparate')), s(o10ps), s(o10ps - b10), '-', (o10ps / c10).toFixed(2), '-'],
    ['  shared / separate namespaces', `${(o10p / o10ps).toFixed(2)}x overhead`, '-', '-', '-', '-', '-'],
    ['teardown, 10 tongs (anvil output → launcher exit)', s(m('tongs10Exit')), s(teardown), '-', target(teardown, 800), '-', '-'],
    ['teardown, 10 tongs in one shared namespace', s(m('tongs10PortsExit')), s(teardownP), '-', target(teardownP, 800), '-', '-'],
    ['teardown, the same with an endpoint each', s(m('tongs10PortsSeparateExit')), s(m('tongs10PortsSeparateExit') - m('directExit')), '-', '-', '-', '-'],
    ['launcher start → first engine call', `${m('firstCall').toFixed(0)} ms`, '-', '-', target(m('firstCall'), 120, '120 ms'), '-', '-'],
    ['GitHub tong: create → listening', s(m('github')), '-', '-', target(m('github'), 350), '-', '-'],
    [
      'tongs run, 1 mcp tong, sealed (guard + report on this repo)',
      s(m('sealed1')),
      `${m('sealed1') - m('tongs1') >= 0 ? '+' : ''}${(m('sealed1') - m('tongs1')).toFixed(0)} ms over unsealed`,
      '-',
      `<= +50 ms ${m('sealed1') - m('tongs1') <= 50 ? 'ok' : 'MISSED'} (issue #10)`,
      '-',
      '-',
    ],
    ['  of which: the guard options (make/anvil-seal.sh)', `${m('guard').toFixed(1)} ms`, '-', '-', '-', '-', '-'],
    ['docker-compose up -d + healthy, 1', s(m('compose1')), s(c1), s(c1 - b1), '-', '-', '-'],
    ['docker-compose up -d + healthy, 10', s(m('compose10')), s(c10), s(c10 - b10), '-', '-', '-'],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(`launch overhead, ${RUNS} runs each (medians); this machine: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)}`);
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  console.log(
    `tongs vs the reference launcher's overhead: ${(o1 / (REFERENCE.one * 1000)).toFixed(2)}x (1 tong), ${(o10 / (REFERENCE.ten * 1000)).toFixed(2)}x (10 tongs); ` +
      `10-tong boot is ${(b10 / b1).toFixed(1)}x the 1-tong boot`,
  );
}

main().catch((err: unknown) => {
  console.error(`tongs: benchmark failed: ${(err as Error).message}`);
  process.exit(1);
});

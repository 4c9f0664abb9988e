/**
 * Passthrough start-up overhead (issue #2 "Speed": `tongs run` with no tongs adds at most 60 ms,
 * median, over running the same command directly; issue #12: at most 20 ms over `node -e 0`). Runs a trivial command N times directly and
 * N times through `node dist/launcher/cli.js run --`, and prints medians, the overhead and the
 * ratio. Node's own start-up (`node -e 0`) is shown too, since it is most of the overhead.
 *
 *   node dist/test/bench/passthrough-bench.js [runs]      (or: make bench; BENCH_RUNS=N)
 *
 * No pass/fail: it reports. NODE_EXTRA_CA_CERTS makes every Node start-up read a CA bundle; when it
 * is set, the bench also measures without it, since that cost is the environment's, not tongs'.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI } from '../support/process.js';

const RUNS = Number(process.argv[2] ?? process.env.BENCH_RUNS ?? 30);
const COMMAND = ['true'];

function timeOnce(argv: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(argv[0] ?? '', argv.slice(1), { env, stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${argv.join(' ')} exited ${result.status}`);
  return ms;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** Interleave the variants run by run, so drift in machine load hits them alike. */
function measure(variants: Record<string, string[]>, env: NodeJS.ProcessEnv): Record<string, { median: number; p90: number }> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (const argv of Object.values(variants)) timeOnce(argv, env); // warm the page cache
  for (let i = 0; i < RUNS; i++) {
    for (const [name, argv] of Object.entries(variants)) samples[name]?.push(timeOnce(argv, env));
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, list]) => {
      const sorted = [...list].sort((a, b) => a - b);
      return [name, { median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9) }];
    }),
  );
}

const home = mkdtempSync(path.join(tmpdir(), 'tongs-bench-')); // an empty TONGS_HOME: no user layer
try {
  const base: NodeJS.ProcessEnv = { ...process.env, TONGS_HOME: home };
  const environments: [string, NodeJS.ProcessEnv][] = [['as configured', base]];
  if (process.env.NODE_EXTRA_CA_CERTS) {
    const { NODE_EXTRA_CA_CERTS: _ignored, ...clean } = base;
    environments.push(['without NODE_EXTRA_CA_CERTS', clean]);
  }
  const variants = {
    direct: COMMAND,
    'node -e 0': [process.execPath, '-e', '0'],
    'tongs run --': [process.execPath, CLI, 'run', '--', ...COMMAND],
  };
  console.log(`passthrough overhead: \`${COMMAND.join(' ')}\` directly vs \`tongs run -- ${COMMAND.join(' ')}\`, ${RUNS} runs each, node ${process.version}`);
  console.log('');
  console.log('environment                    variant          median ms   p90 ms');
  const summary: string[] = [];
  for (const [label, env] of environments) {
    const r = measure(variants, env);
    for (const [name, stats] of Object.entries(r)) {
      console.log(`${label.padEnd(30)} ${name.padEnd(16)} ${stats.median.toFixed(1).padStart(9)} ${stats.p90.toFixed(1).padStart(8)}`);
    }
    const direct = r.direct?.median ?? NaN;
    const tongs = r['tongs run --']?.median ?? NaN;
    const node = r['node -e 0']?.median ?? NaN;
    const overhead = tongs - direct;
    summary.push(
      `${label}: overhead ${overhead.toFixed(1)} ms (target ≤ 60 ms: ${overhead <= 60 ? 'met' : 'NOT met'}), ` +
        `ratio ${(tongs / direct).toFixed(1)}× the direct run; Node start-up alone ${(node - direct).toFixed(1)} ms, ` +
        `tongs' own share ${(tongs - node).toFixed(1)} ms over \`node -e 0\` (issue #12 target ≤ 20 ms: ${tongs - node <= 20 ? 'met' : 'NOT met'})`,
    );
  }
  console.log('');
  for (const line of summary) console.log(line);
} finally {
  rmSync(home, { recursive: true, force: true });
}

/**
 * Benchmark (issue #6 "Speed"): how much secret delivery adds to a tong's start. For N rounds, a
 * container from tongs-base:local is started plain, and one started with the wrapper entrypoint +
 * secret tmpfs and then given its payload over the runtime's `exec` with stdin (the launcher's path).
 * The time measured runs from before `start` to the main process's first output line, seen on an
 * attach stream opened before start. Rounds interleave plain and wrapped starts; the overhead is the
 * median of the per-round differences (so load drifting during the run cancels out). Also printed:
 * the time from `start` returning to the first output, i.e. the delivery exec round trip.
 * Budget: median overhead ≤ 150 ms.
 *
 * Usage: node dist/test/bench/secret-delivery-bench.js [ROUNDS]   (exit 1 when over budget)
 */
import { createDockerRuntime } from '../../launcher/shell/engine/docker-runtime.js';
import { SECRET_TMPFS, deliverSecrets, wrapCommand } from '../../launcher/shell/apply/secret-delivery.js';
import { BASE_IMAGE, TEST_LABEL } from '../support/docker.js';

const BUDGET_MS = 150;
const ROUNDS = Number(process.argv[2] ?? 9);
const LABELS = { [TEST_LABEL]: `secret-bench-${process.pid}` };
const MAIN = ['/bin/sh', '-c', 'echo started; exec sleep 600'];
const SECRETS = { GITHUB_TOKEN: 'ghp_bench_token_value', TONGS_MCP_TOKEN: 'a'.repeat(64) };

const runtime = createDockerRuntime();

/** Milliseconds from before `start` to the main process's first output, and from `start` returning to it. */
async function timeStart(wrapped: boolean): Promise<{ total: number; afterStart: number }> {
  const argv = wrapped ? wrapCommand(MAIN) : { entrypoint: MAIN, command: [] as string[] };
  const id = await runtime.createContainer({
    name: null,
    image: BASE_IMAGE,
    entrypoint: argv.entrypoint,
    command: argv.command,
    env: {},
    labels: LABELS,
    mounts: wrapped ? [SECRET_TMPFS] : [],
    memoryBytes: null,
    network: null,
  });
  try {
    const out = await runtime.attach(id, { stdin: false });
    const firstLine = new Promise<void>((resolve) => {
      out.stdout.once('data', () => resolve());
      out.stderr.once('data', () => resolve());
    });
    const t0 = performance.now();
    await runtime.startContainer(id);
    const t1 = performance.now();
    if (wrapped) {
      await deliverSecrets(
        async (cid, cmd, stdin) => {
          const r = await runtime.exec(cid, cmd, { stdin, timeoutMs: 10_000 });
          return { exitCode: r.exitCode, output: r.stdout + r.stderr };
        },
        id,
        SECRETS,
      );
    }
    await firstLine;
    const t2 = performance.now();
    // Keep reading so the attach stream never holds the container back; it ends when it is removed.
    out.stdout.resume();
    out.stderr.resume();
    return { total: t2 - t0, afterStart: Math.max(0, t2 - t1) };
  } finally {
    await runtime.removeContainer(id);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const plain: Array<{ total: number; afterStart: number }> = [];
const wrapped: Array<{ total: number; afterStart: number }> = [];
await timeStart(false); // warm-up
for (let i = 0; i < ROUNDS; i++) {
  plain.push(await timeStart(false));
  wrapped.push(await timeStart(true));
}
const overhead = median(wrapped.map((w, i) => w.total - plain[i]!.total));
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
const totals = (xs: typeof plain) => xs.map((x) => x.total);
const afters = (xs: typeof plain) => xs.map((x) => x.afterStart);
process.stdout.write(
  `secret delivery: plain start median ${median(totals(plain)).toFixed(0)} ms [${fmt(totals(plain))}]\n` +
    `secret delivery: wrapped start + delivery median ${median(totals(wrapped)).toFixed(0)} ms [${fmt(totals(wrapped))}]\n` +
    `secret delivery: first output after start returned: plain median ${median(afters(plain)).toFixed(0)} ms, wrapped median ${median(afters(wrapped)).toFixed(0)} ms\n` +
    `secret delivery: median overhead per round ${overhead.toFixed(0)} ms (budget ${BUDGET_MS} ms)\n`,
);
if (overhead > BUDGET_MS) {
  process.stderr.write(`tongs: secret delivery overhead ${overhead.toFixed(0)} ms exceeds the ${BUDGET_MS} ms budget\n`);
  process.exitCode = 1;
}

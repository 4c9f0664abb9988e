/**
 * Benchmark of issue #4 "Speed" (run with `make bench`, images built first):
 *  - `make run_claude` on a warm cache reaching the harness vs a direct `docker run` of the anvil
 *    (the argv `make anvil-argv` prints): the time until the harness's first output byte, the harness
 *    being `claude --version` (so teardown after the harness is not counted). Target: median ≤ 1.5 s
 *    more. Measured with no tong (the make and
 *    launcher overhead alone) and with one MCP tong (tongs-test-mcp:local: network, tong start,
 *    readiness, MCP config).
 *  - The seal's tongs (issue #11 "Speed"): the one-tong launch again with the repo layer's model and
 *    egress tongs added (a model key set on the host, so the model tong starts), against the same
 *    launch without them. Target: median ≤ 0.4 s more.
 *  - `make run_codex` and `make run_gemini` (issue #14 "Speed"), with one MCP tong and with the GitHub
 *    tong, against their own direct launch: the same budget as Claude Code's rows, and their overhead
 *    as a multiple of Claude Code's in the same run.
 *  - A no-change `make anvil-image` (target ≤ 2 s), and make/anvil-image.sh alone.
 * Prints a Markdown table of medians (seconds) on stdout. BENCH_RUNS sets the runs per row (default 5).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT, makeEnv } from '../support/process.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const dir = mkdtempSync(path.join(tmpdir(), 'tongs-bench-'));
const [home, project, empty, withTong, sealRepo, githubRepo] = ['home', 'project', 'empty', 'with-tong', 'seal-repo', 'github-repo'].map((d) => path.join(dir, d)) as [
  string, string, string, string, string, string,
];
for (const d of [home, project, empty, withTong, sealRepo, githubRepo]) mkdirSync(d, { recursive: true });
// The shipped GitHub tong (issue #12 "Speed targets": `make run_claude` with it, warm, ≤ +1.0 s over a direct run).
// Its image is GITHUB_IMAGE's (make/github.mk; default tongs-github:local), which `make github-image` below builds.
const githubImage = process.env.GITHUB_IMAGE ?? 'tongs-github:local';
writeFileSync(
  path.join(githubRepo, 'github.yaml'),
  readFileSync(path.join(REPO_ROOT, 'sidecars', 'github.yaml'), 'utf8').replace(/^build: .*$/m, '').replace(/^image: .*$/m, `image: ${githubImage}`),
);
// The repo layer's model and egress tongs, their images built by `make test-prep` (no build: context here).
for (const name of ['model-api', 'egress']) {
  writeFileSync(path.join(sealRepo, `${name}.yaml`), readFileSync(path.join(REPO_ROOT, 'sidecars', `${name}.yaml`), 'utf8').replace(/^build: .*$/m, ''));
}
writeFileSync(
  path.join(withTong, 'benchtong.yaml'),
  'image: tongs-test-mcp:local\ninterface:\n  kind: mcp\n  port: 8080\n  name: benchtong\nreadiness:\n  mode: mcp\n',
);

const env = makeEnv({ ...process.env, HOME: home });
const makeBase = ['-s', '--no-print-directory', '-C', REPO_ROOT];
const layers = (user: string) => [`PROJECT_DIR=${project}`, `USER_TONGS=${user}`, `REPO_TONGS=${empty}`, `WORKSPACE_TONGS=${empty}`];

function timed(cmd: string, args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return seconds;
}

/** Seconds from spawn until the first stdout byte (the harness printed); waits for the exit too. */
function untilFirstOutput(cmd: string, args: string[], childEnv: NodeJS.ProcessEnv = env): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    let first: number | null = null;
    let stderr = '';
    const child = spawn(cmd, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', () => {
      first ??= Number(process.hrtime.bigint() - start) / 1e9;
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status !== 0 || first === null) reject(new Error(`${cmd} ${args.join(' ')} exited ${status}: ${stderr}`));
      else resolve(first);
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

try {
  // Warm everything once: deps, TypeScript, the anvil and test tong images.
  timed('make', [...makeBase, 'anvil-image', 'test-images']);
  const printed = spawnSync('make', [...makeBase, 'anvil-argv', 'HARNESS=claude', 'CLAUDE_ARGS=--version', ...layers(empty)], { env });
  const directArgv = printed.stdout.toString().split('\0').slice(0, -1);
  timed(directArgv[0]!, directArgv.slice(1));

  const rows: { name: string; samples: number[] }[] = [
    { name: 'direct `docker run` of the anvil (claude --version)', samples: [] },
    { name: '`make run_claude`, no tong', samples: [] },
    { name: '`make run_claude`, one MCP tong', samples: [] },
    { name: '`make run_claude`, one MCP tong + the model and egress tongs', samples: [] },
    { name: '  the same, TONGS_SHARED_NETNS=0 (the model and egress tongs each on an endpoint of their own)', samples: [] },
    { name: '`make run_claude`, the GitHub tong (issue #12)', samples: [] },
  ];
  const githubEnv = { ...env, GITHUB_TOKEN: 'ghp_bench_not_used' };
  const githubLayers = [`PROJECT_DIR=${project}`, `USER_TONGS=${empty}`, `REPO_TONGS=${githubRepo}`, `WORKSPACE_TONGS=${empty}`];
  timed('make', [...makeBase, 'github-image']);
  const sealEnv = { ...env, ANTHROPIC_API_KEY: 'sk-bench-not-used', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' };
  const sealLayers = [`PROJECT_DIR=${project}`, `USER_TONGS=${withTong}`, `REPO_TONGS=${sealRepo}`, `WORKSPACE_TONGS=${empty}`];
  // Codex CLI and Gemini CLI (issue #14 "Speed"): one MCP tong and the GitHub tong, against their own
  // direct launch, in the same loop as Claude Code's rows, so their overhead compares with its.
  const others = ['codex', 'gemini'].map((harness) => {
    const argsVar = `${harness.toUpperCase()}_ARGS=--version`;
    const argv = spawnSync('make', [...makeBase, 'anvil-argv', `HARNESS=${harness}`, argsVar, ...layers(empty)], { env }).stdout.toString().split('\0').slice(0, -1);
    timed(argv[0]!, argv.slice(1));
    return { harness, argsVar, argv, direct: [] as number[], make: [] as number[], github: [] as number[] };
  });
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so drift on a shared machine hits every row alike.
    rows[0]!.samples.push(await untilFirstOutput(directArgv[0]!, directArgv.slice(1)));
    rows[1]!.samples.push(await untilFirstOutput('make', [...makeBase, 'run_claude', 'CLAUDE_ARGS=--version', ...layers(empty)]));
    rows[2]!.samples.push(await untilFirstOutput('make', [...makeBase, 'run_claude', 'CLAUDE_ARGS=--version', ...layers(withTong)]));
    rows[3]!.samples.push(await untilFirstOutput('make', [...makeBase, 'run_claude', 'CLAUDE_ARGS=--version', ...sealLayers], sealEnv));
    rows[4]!.samples.push(await untilFirstOutput('make', [...makeBase, 'run_claude', 'CLAUDE_ARGS=--version', ...sealLayers], { ...sealEnv, TONGS_SHARED_NETNS: '0' }));
    rows[5]!.samples.push(await untilFirstOutput('make', [...makeBase, 'run_claude', 'CLAUDE_ARGS=--version', ...githubLayers], githubEnv));
    for (const o of others) {
      o.direct.push(await untilFirstOutput(o.argv[0]!, o.argv.slice(1)));
      o.make.push(await untilFirstOutput('make', [...makeBase, `run_${o.harness}`, o.argsVar, ...layers(withTong)]));
      o.github.push(await untilFirstOutput('make', [...makeBase, `run_${o.harness}`, o.argsVar, ...githubLayers], githubEnv));
    }
  }
  const image = { name: 'no-change `make anvil-image`', samples: [] as number[] };
  const script = { name: 'no-change `make/anvil-image.sh` alone', samples: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    image.samples.push(timed('make', [...makeBase, 'anvil-image']));
    // The image make uses (ANVIL_IMAGE, as make/anvil.mk reads it): the script's own default is
    // tongs-anvil:local, which a bench of another checkout must not rebuild.
    script.samples.push(timed('bash', [path.join(REPO_ROOT, 'make/anvil-image.sh'), process.env.ANVIL_IMAGE ?? 'tongs-anvil:local']));
  }

  const base = median(rows[0]!.samples);
  const out: string[] = [
    `anvil launch and image build, ${RUNS} runs each, medians in seconds (${new Date().toISOString()})`,
    '',
    '| what (until the harness prints) | median s | min s | over direct s | ratio to direct | target |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const [i, row] of rows.entries()) {
    const m = median(row.samples);
    const over = i === 0 ? '' : (m - base).toFixed(2);
    const one = median(rows[2]!.samples);
    const target =
      i === 0
        ? ''
        : i === 3 || i === 4
          ? `+${(m - one).toFixed(2)} s over one tong: ${m - one <= 0.4 ? '≤ 0.4 s: met' : '≤ 0.4 s: MISSED'}`
          : i === 5
            ? m - base <= 1.0 ? '≤ 1.0 s over: met' : '≤ 1.0 s over: MISSED'
            : m - base <= 1.5 ? '≤ 1.5 s over: met' : '≤ 1.5 s over: MISSED';
    out.push(`| ${row.name} | ${m.toFixed(2)} | ${Math.min(...row.samples).toFixed(2)} | ${over} | ${(m / base).toFixed(2)} | ${target} |`);
  }
  // Claude Code's own overheads in this run, the budget the other harnesses are held to (issue #14 "Speed").
  const claudeOver = { one: median(rows[2]!.samples) - base, github: median(rows[5]!.samples) - base };
  for (const o of others) {
    const d = median(o.direct);
    out.push(`| direct \`docker run\` of the anvil (${o.harness} --version) | ${d.toFixed(2)} | ${Math.min(...o.direct).toFixed(2)} | | | |`);
    for (const [what, samples, claude, budget] of [
      ['one MCP tong', o.make, claudeOver.one, 1.5],
      ['the GitHub tong', o.github, claudeOver.github, 1.0],
    ] as const) {
      const m = median(samples);
      const over = m - d;
      out.push(
        `| \`make run_${o.harness}\`, ${what} | ${m.toFixed(2)} | ${Math.min(...samples).toFixed(2)} | ${over.toFixed(2)} | ${(m / d).toFixed(2)} | ` +
          `${over <= budget ? `≤ ${budget} s over: met` : `≤ ${budget} s over: MISSED`}; ${(over / claude).toFixed(2)}× claude's +${claude.toFixed(2)} s |`,
      );
    }
  }
  for (const row of [image, script]) {
    const m = median(row.samples);
    out.push(`| ${row.name} | ${m.toFixed(2)} | ${Math.min(...row.samples).toFixed(2)} | | | ${m <= 2 ? '≤ 2 s: met' : '≤ 2 s: MISSED'} |`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

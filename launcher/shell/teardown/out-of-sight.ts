/**
 * The out-of-sight report, the shell half (DESIGN.md "The seal", rule 3; issue #10 item 3): a stat
 * snapshot of the watched paths before the anvil starts, another when the session ends, and the
 * changed files that `git status` would not show. Only `lstat` and `readdir`: no file is read or
 * hashed, node_modules is never walked, and git itself runs only when a watched host-tool file
 * changed (`git check-ignore`, to tell an ignored file from one git status shows).
 */
import { execFile } from 'node:child_process';
import { lstat, readdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { diffSnapshots, HOST_TOOL_PATHS, isGitBookkeeping, isHostToolPath, reportLines, SKIPPED_DIRS, type Snapshot } from '../../core/out-of-sight.js';

/** Most entries one snapshot records; past it the rest of a tree is not watched (a huge `.idea/`). */
const MAX_ENTRIES = 20_000;

/** A snapshot being built: shown path → signature. */
type Entries = Map<string, string>;

function signature(info: { ctimeMs: number; size: number; ino: number; mode: number }): string {
  return `${info.ctimeMs}:${info.size}:${info.ino}:${info.mode}`;
}

async function tryLstat(p: string) {
  return lstat(p).catch(() => null);
}

/** The path shown for a host path: relative to the workspace when inside it, else absolute. */
function shown(workspace: string, p: string): string {
  const rel = path.relative(workspace, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : p;
}

/**
 * Record every non-bookkeeping entry of the git dir `root`, recursing into nested git dirs
 * (`modules/<name>`, `worktrees/<name>`) with the same rules relative to them.
 */
async function walkGitDir(workspace: string, root: string, entries: Entries): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    if (entries.size >= MAX_ENTRIES) return;
    const list = await readdir(dir, { withFileTypes: true }).catch(() => []);
    await Promise.all(
      list.map(async (e) => {
        const full = path.join(dir, e.name);
        const rel = path.relative(root, full).split(path.sep).join('/');
        if (isGitBookkeeping(rel)) return;
        const parent = path.basename(dir);
        if (e.isDirectory() && (parent === 'modules' || parent === 'worktrees' || /^modules\//.test(rel)) && (await tryLstat(path.join(full, 'HEAD')))) {
          return walkGitDir(workspace, full, entries);
        }
        const info = await tryLstat(full);
        if (!info) return;
        if (info.isDirectory()) return walk(full);
        entries.set(shown(workspace, full), signature(info));
      }),
    );
  };
  const info = await tryLstat(root);
  if (info) entries.set(shown(workspace, root) + '/', `dir:${info.ino}`);
  await walk(root);
}

/** The git dirs of a workspace: `.git` itself, or for a linked worktree its git dir and common dir. */
async function gitDirsOf(workspace: string): Promise<string[]> {
  const dotgit = path.join(workspace, '.git');
  const info = await tryLstat(dotgit);
  if (!info) return [];
  if (info.isDirectory()) return [dotgit];
  const text = await readFile(dotgit, 'utf8').catch(() => '');
  const named = /^gitdir: (.+)$/m.exec(text)?.[1]?.trim();
  if (!named) return [];
  const gitdir = path.resolve(workspace, named);
  const common = await readFile(path.join(gitdir, 'commondir'), 'utf8').then(
    (c) => path.resolve(gitdir, c.trim()),
    () => null,
  );
  // The worktree's own admin dir usually lies inside the common dir, walked with it.
  return common && !gitdir.startsWith(common + path.sep) ? [common, gitdir] : [common ?? gitdir];
}

async function walkHostToolPaths(workspace: string, entries: Entries): Promise<void> {
  const walk = async (p: string): Promise<void> => {
    if (entries.size >= MAX_ENTRIES) return;
    const info = await tryLstat(p);
    if (!info) return;
    if (!info.isDirectory()) {
      entries.set(shown(workspace, p), signature(info));
      return;
    }
    const list = await readdir(p).catch(() => []);
    await Promise.all(list.filter((n) => !SKIPPED_DIRS.includes(n)).map((n) => walk(path.join(p, n))));
  };
  await Promise.all(HOST_TOOL_PATHS.map((p) => walk(path.join(workspace, p.replace(/\/$/, '')))));
}

/** Take a snapshot of what the report watches in `workspace` (absolute). */
export async function snapshotWorkspace(workspace: string): Promise<Snapshot> {
  const entries: Entries = new Map();
  const gitDirs = await gitDirsOf(workspace);
  await Promise.all([...gitDirs.map((g) => walkGitDir(workspace, g, entries)), walkHostToolPaths(workspace, entries)]);
  return entries;
}

/** Of `paths` (workspace-relative), those git ignores; every one of them when the workspace is no repository. */
function ignoredByGit(workspace: string, paths: string[]): Promise<Set<string>> {
  if (paths.length === 0) return Promise.resolve(new Set());
  return new Promise((resolve) => {
    const child = execFile('git', ['-C', workspace, '-c', `safe.directory=${workspace}`, 'check-ignore', '-z', '--stdin'], { encoding: 'utf8' }, (error, stdout) => {
      const code = (error as { code?: unknown } | null)?.code;
      // 0: some ignored, 1: none ignored; anything else (not a repository, no git): git shows none.
      if (error && code !== 1) resolve(new Set(paths));
      else resolve(new Set(stdout.split('\0').filter(Boolean)));
    });
    // git may exit before reading all of stdin (not a repository): its exit status says what happened.
    child.stdin?.on('error', () => {});
    child.stdin?.end(paths.join('\0') + '\0');
  });
}

/**
 * The report's lines for `workspace` since `before` (see launcher/core/out-of-sight.ts): changed or
 * created paths under git dirs and removed ones, then created or changed ignored host-tool files.
 */
export async function outOfSightReport(workspace: string, before: Snapshot): Promise<string[]> {
  const after = await snapshotWorkspace(workspace);
  const quarantined = await quarantineCommonDirs(workspace, before, after);
  const diff = diffSnapshots(before, after);
  const touched = [...diff.created, ...diff.changed].filter((p) => !p.endsWith('/') && !quarantined.some((q) => q.path === p));
  const hostTool = touched.filter((p) => isHostToolPath(p));
  const git = touched.filter((p) => !isHostToolPath(p));
  const ignored = await ignoredByGit(workspace, hostTool);
  const changed = [...git, ...hostTool.filter((p) => ignored.has(p))].sort();
  const removed = diff.removed.filter((p) => !isHostToolPath(p) && !p.endsWith('/'));
  return [...reportLines({ changed, removed }), ...quarantined.map((q) => q.line)];
}

/**
 * A `commondir` file that appeared in a git dir that had none points git at another git dir, whose
 * config the agent may have written: the one file outside config, hooks and info by which git on the
 * host would run the agent's code. The guard cannot make a missing file read-only, so it is moved
 * aside here, before the user's next git command. Returns a line per file moved.
 */
async function quarantineCommonDirs(workspace: string, before: Snapshot, after: Snapshot): Promise<{ path: string; line: string }[]> {
  const lines: { path: string; line: string }[] = [];
  for (const root of after.keys()) {
    if (!root.endsWith('/') || !before.has(root)) continue;
    const file = `${root}commondir`;
    if (before.has(file) || !after.has(file)) continue;
    const host = path.isAbsolute(file) ? file : path.join(workspace, file);
    const aside = `${host}.moved-by-tongs`;
    try {
      await rename(host, aside);
      lines.push({ path: file, line: `the agent created ${file}, which points git at another git dir; moved it to ${shown(workspace, aside)}` });
    } catch (error) {
      lines.push({
        path: file,
        line: `the agent created ${file}, which points git at another git dir, and it could not be moved (${(error as Error).message}); remove it before running git`,
      });
    }
  }
  return lines;
}

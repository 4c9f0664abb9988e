/**
 * The out-of-sight report, the pure half (DESIGN.md "The seal", rule 3; issue #10 item 3): which
 * paths it watches, and what it says. When a session ends, tongs lists on stderr every file the agent
 * changed that `git status` does not show:
 *  - a path under a git dir (the workspace's, a submodule's, a linked worktree's) other than objects,
 *    refs, logs, the index and git's own bookkeeping (see {@link isGitBookkeeping});
 *  - a created or changed file that git ignores at one of {@link HOST_TOOL_PATHS}, the places host
 *    tools read configuration or code from (editors, agents, direnv, package managers).
 * It is a warning, not a refusal. The shell half (launcher/shell/teardown/out-of-sight.ts) takes the snapshots.
 */

/**
 * Paths at the workspace root that host tools execute from or load settings from (a directory when
 * it ends in `/`). The README's "What the seal does" lists the same.
 */
export const HOST_TOOL_PATHS: readonly string[] = [
  '.claude/',
  'CLAUDE.local.md',
  '.mcp.json',
  '.opencode/',
  'opencode.json',
  'opencode.jsonc',
  '.codex/',
  '.gemini/',
  '.cursor/',
  '.vscode/',
  '.idea/',
  '.devcontainer/',
  '.envrc',
  '.env',
  '.direnv/',
  '.tool-versions',
  'mise.toml',
  '.mise.toml',
  '.mise/',
  '.npmrc',
  '.yarnrc',
  '.yarnrc.yml',
  '.pnpmfile.cjs',
  '.husky/',
  '.pre-commit-config.yaml',
  '.tongs/',
];

/** Directories never walked inside a host-tool path (size, not safety: nothing there is config). */
export const SKIPPED_DIRS: readonly string[] = ['node_modules', '.git'];

/** Top-level entries of a git dir that are git's own bookkeeping (changed by ordinary git commands). */
const BOOKKEEPING_DIRS = new Set(['objects', 'refs', 'logs', 'rebase-merge', 'rebase-apply', 'sequencer', 'rr-cache', 'lfs', 'fsmonitor--daemon']);
const BOOKKEEPING_FILES = new Set([
  'index',
  'HEAD',
  'ORIG_HEAD',
  'FETCH_HEAD',
  'MERGE_HEAD',
  'MERGE_MSG',
  'MERGE_MODE',
  'MERGE_RR',
  'MERGE_AUTOSTASH',
  'AUTO_MERGE',
  'CHERRY_PICK_HEAD',
  'REVERT_HEAD',
  'REBASE_HEAD',
  'COMMIT_EDITMSG',
  'SQUASH_MSG',
  'TAG_EDITMSG',
  'packed-refs',
  'shallow',
  'gc.log',
  'gc.pid',
  'locked',
  'fsmonitor--daemon.ipc',
  // OpenCode caches its project id here on first use; nothing runs it.
  'opencode',
]);
const BOOKKEEPING_PATTERNS = [/^BISECT_/, /^NOTES_/, /\.lock$/, /^sharedindex\./, /^index\.stash\./];

/**
 * Whether `relative` (a path inside one git dir, `/`-separated, e.g. `refs/heads/main`) is git's own
 * bookkeeping. Nested git dirs (`modules/<name>`, `worktrees/<name>`) are judged by the same rule,
 * relative to themselves, by the caller. Rule from DESIGN.md "The seal" 3: objects, refs, logs and the
 * index, plus the state files git writes during commit, merge, rebase, cherry-pick, bisect, fetch and gc.
 */
export function isGitBookkeeping(relative: string): boolean {
  const [top = '', ...rest] = relative.split('/');
  if (BOOKKEEPING_DIRS.has(top)) return true;
  if (rest.length > 0) return false;
  return BOOKKEEPING_FILES.has(top) || BOOKKEEPING_PATTERNS.some((p) => p.test(top));
}

/** Whether a workspace-relative path lies at one of {@link HOST_TOOL_PATHS}. */
export function isHostToolPath(relative: string): boolean {
  return HOST_TOOL_PATHS.some((p) => (p.endsWith('/') ? relative.startsWith(p) : relative === p));
}

/** A file's identity for change detection: ctime (which no user can set back), size and inode. */
export type FileSignature = string;

/** Paths (as shown to the user) → signature. */
export type Snapshot = ReadonlyMap<string, FileSignature>;

/** What changed between two snapshots, each list sorted. */
export interface SnapshotDiff {
  created: string[];
  changed: string[];
  removed: string[];
}

export function diffSnapshots(before: Snapshot, after: Snapshot): SnapshotDiff {
  const created: string[] = [];
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [p, sig] of after) {
    const old = before.get(p);
    if (old === undefined) created.push(p);
    else if (old !== sig) changed.push(p);
  }
  for (const p of before.keys()) if (!after.has(p)) removed.push(p);
  return { created: created.sort(), changed: changed.sort(), removed: removed.sort() };
}

/** The report's lines (without the `tongs: ` prefix), one per path, in order. */
export function reportLines(paths: { changed: readonly string[]; removed: readonly string[] }): string[] {
  return [
    ...paths.changed.map((p) => `the agent changed ${p}, which git does not show`),
    ...paths.removed.map((p) => `the agent removed ${p}, which git does not show`),
  ];
}

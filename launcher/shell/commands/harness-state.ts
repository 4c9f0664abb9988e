/**
 * Private harness state on disk (DESIGN.md "The seal", rule 1; issue #10 item 1): `tongs state init`
 * creates and seeds one project's state for one harness, `tongs state ls` lists them, `tongs state rm`
 * removes one. Layout: `$TONGS_HOME/state/<project-key>/project.json` (`{"project": "/abs/path",
 * "created": ISO 8601}`) and one directory per harness beside it.
 *
 * The state is created in a sibling temp dir and renamed into place, so two first launches at once
 * leave one complete state, never a half-seeded one. When run as root for a project owned by someone
 * else, everything made here is handed to the project's owner, who runs the harness in the anvil.
 */
import { chown, cp, lstat, mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RefusalError, UsageError } from '../../errors.js';
import {
  CLAUDE_SEED_ENTRIES,
  CODEX_SEED_ENTRIES,
  GEMINI_SEED_ENTRIES,
  OPENCODE_SEED_ENTRIES,
  PROJECT_FILE,
  STATE_HARNESSES,
  seedClaudeGlobalConfig,
  type StateHarness,
} from '../../core/harness-state.js';

/** Where the user's own harness settings are read from (only read, never written). */
export interface UserHarnessPaths {
  /** The user's Claude Code config dir (`$CLAUDE_CONFIG_HOST`, default `~/.claude`). */
  claudeDir: string;
  /** The user's `~/.claude.json`. */
  claudeJson: string;
  /** The user's OpenCode data dir (`$OPENCODE_DATA_HOST`, default `$XDG_DATA_HOME/opencode`). */
  opencodeData: string;
  /** The user's Codex home (`$CODEX_HOME_HOST`, else `$CODEX_HOME`, default `~/.codex`). */
  codexHome: string;
  /** The user's Gemini CLI dir (`$GEMINI_HOST`, default `~/.gemini`). */
  geminiDir: string;
}

/** The defaults of {@link UserHarnessPaths}, from the environment and the home dir (as make/run-anvil.sh reads them). */
export function userHarnessPaths(env: NodeJS.ProcessEnv, home: string): UserHarnessPaths {
  return {
    claudeDir: env.CLAUDE_CONFIG_HOST || path.join(home, '.claude'),
    claudeJson: path.join(home, '.claude.json'),
    opencodeData: env.OPENCODE_DATA_HOST || path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'opencode'),
    codexHome: env.CODEX_HOME_HOST || env.CODEX_HOME || path.join(home, '.codex'),
    geminiDir: env.GEMINI_HOST || path.join(home, '.gemini'),
  };
}

function isStateHarness(name: string): name is StateHarness {
  return (STATE_HARNESSES as readonly string[]).includes(name);
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

/** chown -R, following no symlinks. */
async function chownTree(p: string, uid: number, gid: number): Promise<void> {
  const info = await lstat(p);
  await chown(p, uid, gid).catch(() => {});
  if (info.isDirectory()) for (const e of await readdir(p)) await chownTree(path.join(p, e), uid, gid);
}

/**
 * Create and seed `dir` (`<state root>/<key>/<harness>`) for `harness` and the project `workspace`,
 * unless it exists. Returns true when it was created now.
 * @throws UsageError for a harness without private state; fs errors as they come.
 */
export async function initHarnessState(options: {
  harness: string;
  workspace: string;
  dir: string;
  user: UserHarnessPaths;
  now: () => Date;
}): Promise<boolean> {
  const { harness, workspace, dir, user } = options;
  if (!isStateHarness(harness)) {
    throw new UsageError(`no private state for harness '${harness}'; harnesses with state: ${STATE_HARNESSES.join(', ')}`);
  }
  if (await exists(dir)) return false;
  const keyDir = path.dirname(dir);
  await mkdir(keyDir, { recursive: true, mode: 0o700 });
  const owner = await stat(workspace);
  const tmp = await mkdtemp(path.join(keyDir, `.${harness}-`));
  try {
    if (harness === 'claude') {
      for (const entry of CLAUDE_SEED_ENTRIES) {
        const from = path.join(user.claudeDir, entry);
        if (await exists(from)) await cp(from, path.join(tmp, entry), { recursive: true, dereference: false, errorOnExist: false });
      }
      const userJson = await readFile(user.claudeJson, 'utf8').then(
        (text) => JSON.parse(text) as unknown,
        () => null,
      );
      await writeFile(path.join(tmp, '.claude.json'), `${JSON.stringify(seedClaudeGlobalConfig(userJson, workspace), null, 2)}\n`, { mode: 0o600 });
    } else {
      const [from, entries] =
        harness === 'codex' ? [user.codexHome, CODEX_SEED_ENTRIES] : harness === 'gemini' ? [user.geminiDir, GEMINI_SEED_ENTRIES] : [user.opencodeData, OPENCODE_SEED_ENTRIES];
      await mkdir(tmp, { recursive: true });
      for (const entry of entries) {
        if (await exists(path.join(from, entry))) await cp(path.join(from, entry), path.join(tmp, entry), { recursive: true, dereference: false, errorOnExist: false });
      }
    }
    const projectFile = path.join(keyDir, PROJECT_FILE);
    if (!(await exists(projectFile))) {
      await writeFile(projectFile, `${JSON.stringify({ project: workspace, created: options.now().toISOString() }, null, 2)}\n`);
    }
    if (process.getuid?.() === 0 && owner.uid !== 0) {
      await chownTree(tmp, owner.uid, owner.gid);
      await chown(keyDir, owner.uid, owner.gid);
      await chown(projectFile, owner.uid, owner.gid);
    }
    try {
      await rename(tmp, dir);
    } catch (error) {
      // Another first launch won the race: its state stands.
      if ((error as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
    return true;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** One project's private state. */
export interface ProjectState {
  /** The project key (the directory name under the state root). */
  key: string;
  /** The project's host path, or null when its project.json is missing or unreadable. */
  project: string | null;
  /** Harnesses with state, sorted. */
  harnesses: string[];
  /** Newest modification time among the harness dirs, ms since the epoch (0 when none). */
  lastUsedMs: number;
}

/** Every project state under `stateRoot`, sorted by key. A missing root lists nothing. */
export async function listHarnessStates(stateRoot: string): Promise<ProjectState[]> {
  const keys = await readdir(stateRoot).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const states: ProjectState[] = [];
  for (const key of keys.sort()) {
    const keyDir = path.join(stateRoot, key);
    if (key.startsWith('.') || !(await stat(keyDir)).isDirectory()) continue;
    const project = await readFile(path.join(keyDir, PROJECT_FILE), 'utf8').then(
      (text) => {
        const parsed = JSON.parse(text) as { project?: unknown };
        return typeof parsed.project === 'string' ? parsed.project : null;
      },
      () => null,
    );
    const harnesses: string[] = [];
    let lastUsedMs = 0;
    for (const entry of (await readdir(keyDir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      harnesses.push(entry.name);
      lastUsedMs = Math.max(lastUsedMs, (await stat(path.join(keyDir, entry.name))).mtimeMs);
    }
    states.push({ key, project, harnesses, lastUsedMs });
  }
  return states;
}

/**
 * Remove the private state of `target`: a project path (as given, or resolved against `cwd`) or a
 * project key. Returns what was removed.
 * @throws RefusalError when nothing matches (the message says how to list what exists).
 */
export async function removeHarnessState(stateRoot: string, target: string, cwd: string): Promise<ProjectState[]> {
  const states = await listHarnessStates(stateRoot);
  const asPath = path.resolve(cwd, target);
  const real = await realpath(asPath).catch(() => asPath);
  const matches = states.filter((s) => s.key === target || s.project === asPath || s.project === real);
  if (matches.length === 0) {
    throw new RefusalError(`no private state for '${target}' in ${stateRoot}; \`tongs state ls\` lists the projects that have one`);
  }
  for (const m of matches) await rm(path.join(stateRoot, m.key), { recursive: true, force: true });
  return matches;
}

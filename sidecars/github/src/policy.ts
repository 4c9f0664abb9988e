/**
 * Policy enforced inside the tong and never taken from tool arguments (issue #5 "Policy"; git-provider
 * spec REQ-3, REQ-6, REQ-11): path normalisation, scope globs, tier limits and branch names. Pure.
 * Every refusal is a `ValidationError` whose message a model can act on.
 */
import path from 'node:path';
import picomatch from 'picomatch';
import type { Tier } from './config.js';
import { ValidationError } from './errors.js';

/** `create` a new file, `update` an existing one, `delete` an existing one. */
export type FileAction = 'create' | 'update' | 'delete';

/** One file change of `create_pr`, with its path already normalised. */
export interface FileChange {
  path: string;
  content: string;
  action: FileAction;
}

/** Tier 2 may change at most this many files in one PR (spec REQ-3 "Tier 2 file limit"). */
export const TIER2_MAX_FILES = 3;
/** Slugs are cut to this length (spec REQ-11). */
export const SLUG_MAX = 50;
/** Always denied unless an allow pattern names `.github` explicitly (issue #5). */
export const WORKFLOWS_PATTERN = '.github/workflows/**';
/**
 * CI workflow folders, each always denied unless an allow pattern names its top folder explicitly:
 * GitHub Actions reads `.github/workflows` (issue #5); Gitea Actions reads `.gitea/workflows` (and
 * `.github/workflows` when that is absent), Forgejo Actions `.forgejo/workflows` (issue #15).
 */
export const WORKFLOWS_PATTERNS: readonly string[] = [WORKFLOWS_PATTERN, '.gitea/workflows/**', '.forgejo/workflows/**'];

const GLOB_OPTIONS: picomatch.PicomatchOptions = { dot: true };

/**
 * Normalises a repository-relative path: strips `./`, collapses `//`. Refuses absolute paths, any
 * `..` segment, backslashes, control characters, `.git` segments and directory-looking paths.
 */
export function normalizePath(raw: string): string {
  const refuse = (why: string): never => {
    throw new ValidationError(`File path ${JSON.stringify(raw)} is refused: ${why}. Use a path relative to the repository root, like "docs/guide.md".`);
  };
  if (raw.trim() === '') refuse('it is empty');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) refuse('it contains control characters');
  if (raw.includes('\\')) refuse('it contains a backslash');
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) refuse('it is absolute');
  const segments = raw.split('/');
  if (segments.includes('..')) refuse('it contains ".."');
  if (raw.endsWith('/')) refuse('it names a directory');
  const normal = path.posix.normalize(raw).replace(/^(\.\/)+/, '');
  if (normal === '.' || normal === '') refuse('it names the repository root');
  if (normal.split('/').some((s) => s.toLowerCase() === '.git')) refuse('it is inside .git');
  return normal;
}

/** Scope patterns as configured (`TONG_SCOPE_ALLOW` / `TONG_SCOPE_DENY`). */
export interface Scope {
  allow: readonly string[];
  deny: readonly string[];
}

/** True when an allow pattern names `dir` (e.g. `.github`) or a folder inside it literally, not by a wildcard. */
function explicitlyAllows(pattern: string, dir: string): boolean {
  const base = picomatch.scan(pattern).base.replace(/^\.\//, '');
  return base === dir || base.startsWith(`${dir}/`);
}

/**
 * Checks one normalised path against the scope (spec REQ-3 "Scope validation failure"). Order:
 * a `deny` match refuses; each of `WORKFLOWS_PATTERNS` refuses unless a matching allow pattern names
 * its top folder (`.github`, `.gitea`, `.forgejo`) explicitly; a non-empty `allow` list must match.
 * The error names the path and pattern.
 */
export function checkScope(filePath: string, scope: Scope): void {
  for (const pattern of scope.deny) {
    if (picomatch.isMatch(filePath, pattern, GLOB_OPTIONS)) {
      throw new ValidationError(
        `File path '${filePath}' is denied by the scope pattern '${pattern}' (TONG_SCOPE_DENY). ` +
          'This tong may not change it; leave that file out of the pull request.',
      );
    }
  }
  const allowedBy = scope.allow.filter((p) => picomatch.isMatch(filePath, p, GLOB_OPTIONS));
  for (const workflows of WORKFLOWS_PATTERNS) {
    const dir = workflows.split('/')[0]!;
    if (picomatch.isMatch(filePath, workflows, GLOB_OPTIONS) && !allowedBy.some((p) => explicitlyAllows(p, dir))) {
      throw new ValidationError(
        `File path '${filePath}' is denied by the built-in scope pattern '${workflows}': CI workflows can run code with ` +
          "the repository's secrets, so they are off limits unless the user allows them explicitly in TONG_SCOPE_ALLOW. Leave that file out.",
      );
    }
  }
  if (scope.allow.length > 0 && allowedBy.length === 0) {
    throw new ValidationError(
      `File path '${filePath}' is outside the allowed scope: it matches none of the patterns '${scope.allow.join("', '")}' (TONG_SCOPE_ALLOW). ` +
        'Only files matching those patterns can be changed.',
    );
  }
}

/** Tier rules for `create_pr` (spec REQ-3, REQ-6): tier 1 never, tier 2 at most 3 files, tier 3 any. */
export function checkTier(tier: Tier, fileCount: number): void {
  if (tier === 1) {
    throw new ValidationError(
      'Tier 1 cannot create pull requests: this tong runs at tier 1 (TONG_TIER is unset, invalid or 1), which allows ' +
        'only list_prs and get_pr_status. Ask the user to set TONG_TIER=2 or 3 in the github tong definition if PRs should be allowed.',
    );
  }
  if (tier === 2 && fileCount > TIER2_MAX_FILES) {
    throw new ValidationError(
      `Tier 2 allows at most ${TIER2_MAX_FILES} files per pull request, and this one changes ${fileCount}. ` +
        `Split the change into pull requests of ${TIER2_MAX_FILES} files or fewer, or escalate: ask the user to run the tong at tier 3 (TONG_TIER=3).`,
    );
  }
}

/**
 * Title → slug (spec REQ-11): lower-case, each run of non-alphanumerics becomes one hyphen, hyphens
 * trimmed from both ends, cut to 50 characters (and trimmed again).
 */
export function slugify(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, SLUG_MAX)
    .replace(/-+$/, '');
}

/** `<prefix>/<change_type>/<slug>` (spec REQ-11, DESIGN.md `TONG_BRANCH_PREFIX`). */
export function branchName(prefix: string, changeType: string, title: string): string {
  const slug = slugify(title);
  if (slug === '') {
    throw new ValidationError(
      `The title ${JSON.stringify(title)} has no letters or digits, so no branch name can be made from it. Use a descriptive title.`,
    );
  }
  return `${prefix}/${changeType}/${slug}`;
}

/** Input of `validateChange`: the raw `create_pr` file list. */
export interface RawFileChange {
  path: string;
  content?: string | undefined;
  action: FileAction;
}

/**
 * Runs every file rule before any write (issue #5 "All validation happens before any write"):
 * normalises paths, refuses duplicates and empty lists, checks scope for each path, then the tier.
 * Returns the normalised changes.
 */
export function validateChange(files: readonly RawFileChange[], scope: Scope, tier: Tier): FileChange[] {
  if (files.length === 0) throw new ValidationError('files is empty: a pull request needs at least one file change.');
  const seen = new Set<string>();
  const out: FileChange[] = [];
  for (const f of files) {
    const p = normalizePath(f.path);
    if (seen.has(p)) throw new ValidationError(`File path '${p}' appears more than once in files; give each path once.`);
    seen.add(p);
    if (f.action !== 'delete' && f.content === undefined) {
      throw new ValidationError(`File '${p}' has action '${f.action}' but no content; pass the full new file content.`);
    }
    out.push({ path: p, content: f.content ?? '', action: f.action });
  }
  for (const f of out) checkScope(f.path, scope);
  checkTier(tier, out.length);
  return out;
}

/**
 * The `github-app` secret provider's pure part (issue #15 item 2, DESIGN.md "Git providers"):
 * `${secret:github-app:OWNER/REPO}` and `${secret:github-app:origin}` references, the permissions a
 * tong's definition asks for (`github_app.permissions`), and the git remote forms that `origin` is
 * parsed from. No I/O: launcher/shell/gather/github-app-provider.ts mints, refreshes and revokes.
 */

/** The provider name in `${secret:github-app:…}`. */
export const GITHUB_APP_PROVIDER = 'github-app';

/** The reference that means "the workspace's `origin` remote". */
export const ORIGIN_REF = 'origin';

/**
 * Where the launcher writes a refreshed value of variable `name` in the tong: its secret tmpfs
 * (`SECRET_DIR` of launcher/shell/apply/secret-delivery.ts), `/run/tongs-secrets/refresh-NAME`. The
 * planner gives the tong `NAME_FILE` with this path; until the first refresh the file does not exist
 * and `NAME` itself holds the value.
 */
export function refreshedSecretPath(name: string): string {
  return `/run/tongs-secrets/refresh-${name}`;
}

/** A permission level an installation token may be given (GitHub's `permissions` object values). */
export type GitHubPermissionLevel = 'read' | 'write' | 'admin';
export const GITHUB_PERMISSION_LEVELS = ['read', 'write', 'admin'] as const;

/**
 * What a token gets when the definition lists no `github_app.permissions` (issue #15): enough for
 * the GitHub tong's tools (create_pr writes contents and pull requests; metadata is always read).
 */
export const DEFAULT_GITHUB_APP_PERMISSIONS: Readonly<Record<string, GitHubPermissionLevel>> = Object.freeze({
  contents: 'write',
  pull_requests: 'write',
  metadata: 'read',
});

/** GitHub's permission names: lower-case words joined by `_` (e.g. `pull_requests`, `actions`). */
export const GITHUB_PERMISSION_NAME = /^[a-z][a-z_]*[a-z]$/;

/** One repository on one GitHub host. */
export interface GitHubRepository {
  /** The web host, lower-case (`github.com`, or a GitHub Enterprise Server host such as `ghe.corp`). */
  host: string;
  owner: string;
  repo: string;
}

/** Owner and repository name rules (GitHub: letters, digits, `-`, `_`, `.`; a name is not `.` or `..`). */
const NAME = /^[A-Za-z0-9_.-]+$/;
const validName = (s: string) => NAME.test(s) && s !== '.' && s !== '..';

/**
 * `OWNER/REPO` as written in a reference, or `'origin'`.
 * @returns `{owner, repo}`, `'origin'`, or an error sentence (no throw: the caller names the tong).
 */
export function parseGitHubAppRef(ref: string): { owner: string; repo: string } | 'origin' | { error: string } {
  if (ref === ORIGIN_REF) return ORIGIN_REF;
  const parts = ref.split('/');
  if (parts.length !== 2 || !validName(parts[0]!) || !validName(parts[1]!)) {
    return { error: `'${ref}' is not OWNER/REPO or origin (e.g. \${secret:github-app:acme/api} or \${secret:github-app:origin})` };
  }
  const repo = parts[1]!.replace(/\.git$/, '');
  return { owner: parts[0]!, repo };
}

/**
 * A git remote URL as GitHub and GitHub Enterprise Server write them, or null when it is none of
 * these forms (or names no `owner/repo`):
 * - `https://HOST[:PORT]/OWNER/REPO[.git][/]` (also `http://`, and `https://user@HOST/…`),
 * - `git@HOST:OWNER/REPO[.git]` (scp-like ssh; any user),
 * - `ssh://[USER@]HOST[:PORT]/OWNER/REPO[.git]`, `git+ssh://…`, `git://HOST/OWNER/REPO`.
 * The host is lower-cased and keeps no port: GitHub's API host does not follow the ssh port.
 * A GHES instance served under a path prefix is not recognised (GHES serves repositories at the root).
 */
export function parseGitHubRemote(url: string): GitHubRepository | null {
  const text = url.trim();
  let host: string;
  let pathname: string;
  const scp = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/\/)(.+)$/.exec(text);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      return null;
    }
    if (!['https:', 'http:', 'ssh:', 'git+ssh:', 'ssh+git:', 'git:'].includes(u.protocol)) return null;
    host = u.hostname;
    pathname = decodeURIComponent(u.pathname);
  } else if (scp) {
    host = scp[1]!;
    pathname = scp[2]!;
  } else {
    return null;
  }
  const parts = pathname.replace(/^\/+/, '').replace(/\/+$/, '').split('/');
  if (parts.length !== 2 || host === '') return null;
  const owner = parts[0]!;
  const repo = parts[1]!.replace(/\.git$/, '');
  if (!validName(owner) || !validName(repo)) return null;
  return { host: host.toLowerCase(), owner, repo };
}

/**
 * The REST API base URL of a GitHub web host: `https://api.github.com` for github.com (and
 * www.github.com), `https://HOST/api/v3` for GitHub Enterprise Server (GitHub's documented GHES
 * form; the GitHub tong's `GITHUB_API_URL` takes the same value).
 */
export function apiUrlForHost(host: string): string {
  const h = host.toLowerCase();
  return h === 'github.com' || h === 'www.github.com' ? 'https://api.github.com' : `https://${h}/api/v3`;
}

/**
 * The web host whose repositories an API base URL serves: `github.com` for `api.github.com`, else
 * the URL's host (GHES serves its API under the web host). Null for a URL that does not parse.
 */
export function webHostForApiUrl(apiUrl: string): string | null {
  let u: URL;
  try {
    u = new URL(apiUrl);
  } catch {
    return null;
  }
  const h = u.hostname.toLowerCase();
  return h === 'api.github.com' ? 'github.com' : h;
}

/**
 * The permissions a tong's installation token asks for: the definition's `github_app.permissions`
 * when given (whole: it replaces the default rather than adding to it, so a definition can ask for
 * less), else {@link DEFAULT_GITHUB_APP_PERMISSIONS}. `metadata: read` is always included, since
 * GitHub grants it to every installation token anyway. Sorted by name, so plans are stable.
 */
export function githubAppPermissions(
  definition: { github_app?: { permissions?: Record<string, GitHubPermissionLevel> | undefined } | undefined },
): Record<string, GitHubPermissionLevel> {
  const asked = definition.github_app?.permissions ?? DEFAULT_GITHUB_APP_PERMISSIONS;
  const merged: Record<string, GitHubPermissionLevel> = { metadata: 'read', ...asked };
  return Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
}

/** `contents:write, metadata:read, pull_requests:write`, for summaries and messages. */
export function formatPermissions(permissions: Record<string, string>): string {
  return Object.entries(permissions)
    .map(([name, level]) => `${name}:${level}`)
    .join(', ');
}

/** Rank of a level, for "granted at least what was asked" checks. */
export function permissionRank(level: string | undefined): number {
  return level === 'admin' ? 3 : level === 'write' ? 2 : level === 'read' ? 1 : 0;
}

/**
 * The permissions `asked` that `granted` does not cover (missing, or at a lower level), as
 * `name:level` words; empty when every one is granted.
 */
export function missingPermissions(asked: Record<string, string>, granted: Record<string, string | undefined>): string[] {
  return Object.entries(asked)
    .filter(([name, level]) => permissionRank(granted[name]) < permissionRank(level))
    .map(([name, level]) => `${name}:${level}`);
}

/**
 * When to refresh a token issued at `issuedAtMs` that expires at `expiresAtMs` (epoch ms): at half
 * its lifetime, so an hour-long token is replaced after 30 minutes and a test fake's 8-second token
 * after 4, and never sooner than `minDelayMs` from `nowMs` (a clock skew must not make it spin).
 * Returns the delay from `nowMs` in milliseconds.
 */
export function refreshDelayMs(issuedAtMs: number, expiresAtMs: number, nowMs: number, minDelayMs = 1000): number {
  const at = issuedAtMs + (expiresAtMs - issuedAtMs) / 2;
  return Math.max(minDelayMs, Math.round(at - nowMs));
}

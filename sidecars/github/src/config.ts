/**
 * The git tong's configuration, read only from its environment (DESIGN.md "The GitHub tong" and
 * "Git providers", issues #5 and #15). Pure: pass any `env` record; nothing here touches `process`.
 */

/** Permission tier (git-provider spec REQ-6): 1 reads only, 2 up to 3 files per PR, 3 unlimited. */
export type Tier = 1 | 2 | 3;

/** Everything the server needs, already validated and defaulted. */
export interface TongConfig {
  /** `GITHUB_TOKEN`; `undefined` when unset or empty (the server still starts, tools say so). */
  token: string | undefined;
  /** `GITHUB_API_URL` without a trailing slash (default `https://api.github.com`). */
  apiUrl: string;
  /**
   * `GITEA_URL`: the Gitea or Forgejo server's base URL (the web root, e.g. `https://git.example.com`
   * or `https://example.com/gitea`), without a trailing slash and without `/api/v1`; `undefined` when
   * unset, empty or not an http(s) URL (issue #15; spec REQ-8 names `GITEA_URL` and `GITEA_TOKEN`).
   */
  giteaUrl: string | undefined;
  /** `GITEA_TOKEN`: a Gitea/Forgejo access token; `undefined` when unset or empty. Redacted even when `GITEA_URL` is unset. */
  giteaToken: string | undefined;
  /** `TONG_TIER`; unset or invalid ⇒ 1, the most restrictive (spec REQ-6). */
  tier: Tier;
  /** `TONG_PR_ENABLED=true` ⇒ `create_pr` is listed (spec REQ-2). */
  prEnabled: boolean;
  /** `TONG_DRY_RUN=true` ⇒ `create_pr` validates fully and makes no GitHub call (spec REQ-7). */
  dryRun: boolean;
  /** `TONG_SCOPE_ALLOW`: globs over repository paths; empty ⇒ every path not denied. */
  scopeAllow: string[];
  /** `TONG_SCOPE_DENY`: globs over repository paths; a match always refuses. */
  scopeDeny: string[];
  /** `TONG_BRANCH_PREFIX` (default `tongs`): branches are `<prefix>/<change_type>/<slug>`. */
  branchPrefix: string;
  /** `TONG_PR_LABEL` (default `tongs`): put on created PRs, filters `list_prs`. */
  label: string;
  /** `TONGS_MCP_TOKEN`: when set, every HTTP request needs `Authorization: Bearer <it>` (issue #6). */
  mcpToken: string | undefined;
  /** `TONGS_TONG_NAME` (default `github`): used in log lines and as an allowed Origin host. */
  tongName: string;
  /** `TONGS_ALIASES` (comma-separated DNS names) plus the tong name: the allowed Origin hosts. */
  aliases: string[];
  /** `PORT` (default 8080; 0 picks a free port). */
  port: number;
  /** Problems found while reading (a value ignored in favour of its default), for the log. */
  warnings: string[];
}

export const DEFAULT_API_URL = 'https://api.github.com';
export const DEFAULT_BRANCH_PREFIX = 'tongs';
export const DEFAULT_LABEL = 'tongs';
export const DEFAULT_PORT = 8080;

// One or more ref-safe components separated by '/', e.g. `tongs` or `bots/tongs`.
const BRANCH_PREFIX_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

/** Splits a comma-separated list, trimming blanks away. */
export function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `TONG_TIER` → tier; anything but exactly `1`, `2` or `3` is tier 1 (spec REQ-6). */
export function parseTier(value: string | undefined): Tier {
  const v = (value ?? '').trim();
  return v === '2' ? 2 : v === '3' ? 3 : 1;
}

/** Reads and validates the tong's environment. Never throws: bad values fall back to safe defaults. */
export function readConfig(env: Record<string, string | undefined>): TongConfig {
  const warnings: string[] = [];
  const nonEmpty = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };

  let apiUrl = nonEmpty('GITHUB_API_URL') ?? DEFAULT_API_URL;
  try {
    const u = new URL(apiUrl);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
  } catch {
    warnings.push(`GITHUB_API_URL is not an http(s) URL; using ${DEFAULT_API_URL}`);
    apiUrl = DEFAULT_API_URL;
  }
  apiUrl = apiUrl.replace(/\/+$/, '');

  let giteaUrl = nonEmpty('GITEA_URL');
  if (giteaUrl !== undefined) {
    try {
      const u = new URL(giteaUrl);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
      // People paste the API root; the tong wants the web root (gitea-js appends /api/v1).
      giteaUrl = `${u.origin}${u.pathname}`.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
    } catch {
      warnings.push('GITEA_URL is not an http(s) URL; Gitea is not served');
      giteaUrl = undefined;
    }
  }
  if (giteaUrl === undefined && nonEmpty('GITEA_TOKEN') !== undefined) {
    warnings.push('GITEA_TOKEN is set but GITEA_URL is not; Gitea is not served');
  }

  const rawTier = nonEmpty('TONG_TIER');
  const tier = parseTier(rawTier);
  if (rawTier !== undefined && String(tier) !== rawTier) {
    warnings.push(`TONG_TIER=${JSON.stringify(rawTier)} is not 1, 2 or 3; using tier 1`);
  }

  let branchPrefix = nonEmpty('TONG_BRANCH_PREFIX') ?? DEFAULT_BRANCH_PREFIX;
  if (!BRANCH_PREFIX_RE.test(branchPrefix) || branchPrefix.includes('..') || /\.lock(\/|$)/.test(branchPrefix)) {
    warnings.push(`TONG_BRANCH_PREFIX=${JSON.stringify(branchPrefix)} is not a valid branch prefix; using ${DEFAULT_BRANCH_PREFIX}`);
    branchPrefix = DEFAULT_BRANCH_PREFIX;
  }

  let label = nonEmpty('TONG_PR_LABEL') ?? DEFAULT_LABEL;
  if (label.length > 50 || label.includes(',')) {
    warnings.push(`TONG_PR_LABEL must be at most 50 characters and contain no comma; using ${DEFAULT_LABEL}`);
    label = DEFAULT_LABEL;
  }

  let port = DEFAULT_PORT;
  const rawPort = nonEmpty('PORT');
  if (rawPort !== undefined) {
    const n = Number(rawPort);
    if (Number.isInteger(n) && n >= 0 && n <= 65535) port = n;
    else warnings.push(`PORT=${JSON.stringify(rawPort)} is not a port number; using ${DEFAULT_PORT}`);
  }

  const tongName = nonEmpty('TONGS_TONG_NAME') ?? 'github';
  const aliases = [...new Set([tongName, ...splitList(env.TONGS_ALIASES)].map((a) => a.toLowerCase()))];

  return {
    token: nonEmpty('GITHUB_TOKEN'),
    apiUrl,
    giteaUrl,
    giteaToken: nonEmpty('GITEA_TOKEN'),
    tier,
    prEnabled: nonEmpty('TONG_PR_ENABLED') === 'true',
    dryRun: nonEmpty('TONG_DRY_RUN') === 'true',
    scopeAllow: splitList(env.TONG_SCOPE_ALLOW),
    scopeDeny: splitList(env.TONG_SCOPE_DENY),
    branchPrefix,
    label,
    mcpToken: nonEmpty('TONGS_MCP_TOKEN'),
    tongName,
    aliases,
    port,
    warnings,
  };
}

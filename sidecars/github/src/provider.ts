/**
 * The GitHub provider: GitHub's REST API through `@octokit/rest` with the retry and throttling
 * plugins (issue #5 "Provider"). `create_pr` makes one atomic commit on a new branch through the Git
 * Data API (one tree with the contents inline, one commit, one ref), then opens the PR and labels
 * it; it reads only the directories on the named paths, never the whole tree (issue #15 "Speed and
 * scale"). Reads follow pagination.
 */
import { Octokit } from '@octokit/rest';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import type { FileChange } from './policy.js';
import { BranchExistsError, NotFoundError, ValidationError, type ProviderLabel } from './errors.js';

/** An `owner/name` pair, as the tools take it. */
export interface RepoRef {
  owner: string;
  name: string;
}

/** `list_prs` item: an open PR carrying the tong's label, with the paths it changes. */
export interface PullRequestSummary {
  number: number;
  title: string;
  files: string[];
}

/** `get_pr_status` result (spec REQ-5). `mergeable` is `null` while GitHub is still computing it. */
export interface PullRequestStatus {
  number: number;
  state: 'open' | 'closed' | 'merged';
  mergeable: boolean | null;
  reviews: { author: string; state: string; body: string }[];
}

/** What `createPullRequest` needs; every field already validated by the policy. */
export interface NewPullRequest {
  branch: string;
  base: string;
  title: string;
  body: string;
  files: FileChange[];
  label: string;
}

/** `create_pr` success (DESIGN.md): the PR number, its web URL and the branch; `warnings` if labelling failed. */
export interface CreatedPullRequest {
  number: number;
  url: string;
  branch: string;
  warnings: string[];
}

/**
 * The narrow interface the MCP server uses, the spec's provider (REQ-3 "Resolve the provider"): one
 * implementation per forge (octokit for GitHub here, gitea-js for Gitea and Forgejo in gitea.ts),
 * fakes in tests. Every implementation returns the same shapes; failures are `ToolError`s or HTTP
 * errors of the `HttpErrorLike` shape that `describeError` turns into one sentence.
 */
export interface GitProvider {
  createPullRequest(repo: RepoRef, pr: NewPullRequest): Promise<CreatedPullRequest>;
  listPullRequests(repo: RepoRef, label: string): Promise<PullRequestSummary[]>;
  getPullRequestStatus(repo: RepoRef, pullNumber: number): Promise<PullRequestStatus>;
  /** The forge's name for sentences, when it is known only at run time (Gitea or Forgejo); default GitHub. */
  label?(): ProviderLabel;
}

/** The provider interface under its first name (issue #5); the same type as `GitProvider`. */
export type GitHubProvider = GitProvider;

/** Options of `createOctokitProvider`. */
export interface OctokitProviderOptions {
  /** REST base URL (`GITHUB_API_URL`). */
  apiUrl: string;
  /**
   * The token; the provider is only built when one is present. A function is asked before every
   * request, for a token the launcher refreshes (token-file.ts).
   */
  token: string | (() => string | undefined);
  /** Warnings from octokit and the rate-limit handlers (already free of the token: octokit redacts auth). */
  log?: (message: string) => void;
  /**
   * Space write requests as GitHub asks (1 s apart, 3 s for notifying ones; plugin-throttling's
   * defaults). Default `true`; tests against a local fake turn it off.
   */
  writeSpacing?: boolean;
  /** Milliseconds per second of `retry-after` (plugin-throttling's `retryAfterBaseValue`); tests shrink it. */
  retryAfterBaseValue?: number;
  /** Longest rate-limit wait (seconds) the tong sits out once before answering "rate limited". Default 15. */
  maxRateLimitWaitSeconds?: number;
}

const ThrottledOctokit = Octokit.plugin(retry, throttling);
/** The octokit class the provider uses (REST methods plus retry and throttling), for benchmarks and tests. */
export type TongOctokit = InstanceType<typeof ThrottledOctokit>;

// A limiter that runs jobs at once: plugin-throttling calls `group.key(id).schedule(opts, fn)`.
const UNSPACED = { key: () => ({ schedule: (_opts: unknown, fn: () => unknown) => Promise.resolve(fn()) }) };

/** Builds the octokit client with retry (5xx) and throttling (403/429 rate limits) configured. */
export function createOctokit(options: OctokitProviderOptions): TongOctokit {
  const log = options.log ?? (() => {});
  const maxWait = options.maxRateLimitWaitSeconds ?? 15;
  // Wait out a short limit once; a longer one becomes an error naming the reset time (errors.ts).
  const onLimit =
    (kind: string) =>
    (retryAfter: number, opts: { method?: string; url?: string }, _octokit: unknown, retryCount: number): boolean => {
      const retrying = retryCount < 1 && retryAfter <= maxWait;
      log(`GitHub ${kind} on ${opts.method ?? ''} ${opts.url ?? ''}: retry after ${retryAfter} s${retrying ? '; retrying once' : '; giving up'}`);
      return retrying;
    };
  const spacing = options.writeSpacing === false ? { write: UNSPACED, notifications: UNSPACED } : {};
  const token = options.token;
  const octokit = new ThrottledOctokit({
    ...(typeof token === 'string' ? { auth: token } : {}),
    baseUrl: options.apiUrl,
    userAgent: 'tongs-github',
    log: { debug: () => {}, info: () => {}, warn: (m: string) => log(m), error: (m: string) => log(m) },
    // 5xx and network failures: two retries (1 s, then 4 s), so a dead GitHub fails a call within ~5 s.
    retry: { doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451], retries: 2 },
    throttle: {
      onRateLimit: onLimit('rate limit'),
      onSecondaryRateLimit: onLimit('secondary rate limit'),
      ...(options.retryAfterBaseValue !== undefined ? { retryAfterBaseValue: options.retryAfterBaseValue } : {}),
      ...(spacing as object),
    },
  });
  // A refreshed token: read per request, so each call (and each retry) uses the newest one.
  if (typeof token === 'function') {
    octokit.hook.before('request', (request) => {
      const current = token();
      if (current) request.headers.authorization = `token ${current}`;
    });
  }
  return octokit;
}

/**
 * Content bytes (UTF-8) that `create_pr` puts inline into its one `POST /git/trees` (the trees API
 * takes `content` for a text entry and writes the blob itself); files beyond this go as a blob
 * request each, as before. Keeps the tree request, which the retry plugin may send again, small.
 */
export const INLINE_TREE_BYTES = 1024 * 1024;

/** A base-tree entry at a named path: `type` `blob`, `tree` or `commit` (submodule); `mode` as git writes it. */
export interface BaseTreeEntry {
  type: string;
  mode: string;
  sha: string;
}

/** One directory as a non-recursive `GET /git/trees/{sha}` lists it: entries by name. */
export interface TreeListing {
  entries: Map<string, BaseTreeEntry>;
  /** GitHub cut the listing short, so a missing name proves nothing. */
  truncated: boolean;
}

/**
 * Finds each of `paths` (normalised, `/`-separated) in the tree `rootSha` by reading only the
 * directories on the paths: the root, then each directory down to the path's parent, one
 * `readTree` per distinct tree sha (shared among the paths, read in parallel). Issue #15 "Speed and
 * scale": the cost is one request per directory level named and the bytes of those directories'
 * listings, whatever the repository's size (the recursive tree of a 100,000-file repository is
 * several megabytes, and GitHub truncates it).
 *
 * Per path: its entry; `null` when it does not exist (a directory on the way is missing, or is a
 * file); `undefined` when a truncated listing on the way left it unknown. Rejects with what
 * `readTree` rejects with.
 */
export async function lookUpPaths(
  readTree: (sha: string) => Promise<TreeListing>,
  rootSha: string,
  paths: string[],
): Promise<Map<string, BaseTreeEntry | null | undefined>> {
  const listings = new Map<string, Promise<TreeListing>>();
  const read = (sha: string): Promise<TreeListing> => {
    let listing = listings.get(sha);
    if (!listing) listings.set(sha, (listing = readTree(sha)));
    return listing;
  };
  const find = async (path: string): Promise<BaseTreeEntry | null | undefined> => {
    const segs = path.split('/');
    let sha = rootSha;
    for (let i = 0; ; i++) {
      const listing = await read(sha);
      const entry = listing.entries.get(segs[i]!);
      if (!entry) return listing.truncated ? undefined : null;
      if (i === segs.length - 1) return entry;
      if (entry.type !== 'tree') return null;
      sha = entry.sha;
    }
  };
  return new Map(await Promise.all(paths.map(async (p) => [p, await find(p)] as const)));
}

function isStatus(err: unknown, status: number): boolean {
  return typeof err === 'object' && err !== null && (err as { status?: unknown }).status === status;
}

/** Creates the octokit-backed provider. Octokit redacts the `authorization` header from its errors. */
export function createOctokitProvider(options: OctokitProviderOptions): GitHubProvider {
  const octokit = createOctokit(options);
  const log = options.log ?? (() => {});

  return {
    async createPullRequest(repo, pr) {
      const r = { owner: repo.owner, repo: repo.name };
      const full = `${repo.owner}/${repo.name}`;

      // Reads first: the base branch (its tip and root tree in one answer), a branch clash, and the
      // base tree's entry at each named path (non-recursive tree reads along the paths only).
      let baseSha: string;
      let baseTreeSha: string;
      try {
        const branch = (await octokit.rest.repos.getBranch({ ...r, branch: pr.base })).data;
        baseSha = branch.commit.sha;
        baseTreeSha = branch.commit.commit.tree.sha;
      } catch (err) {
        if (isStatus(err, 404)) {
          throw new NotFoundError(
            `Base branch '${pr.base}' was not found in ${full} (or the repository does not exist or the token cannot see it). ` +
              'Pass base_branch with an existing branch name.',
          );
        }
        throw err;
      }
      try {
        await octokit.rest.git.getRef({ ...r, ref: `heads/${pr.branch}` });
        throw new BranchExistsError(pr.branch, full);
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      }
      const readTree = async (sha: string): Promise<TreeListing> => {
        const data = (await octokit.rest.git.getTree({ ...r, tree_sha: sha })).data;
        return { truncated: data.truncated, entries: new Map(data.tree.map((e) => [e.path ?? '', { type: e.type ?? 'blob', mode: e.mode ?? '100644', sha: e.sha ?? '' }])) };
      };
      const existing = await lookUpPaths(readTree, baseTreeSha, pr.files.map((f) => f.path));
      for (const f of pr.files) {
        const entry = existing.get(f.path);
        if (entry?.type === 'tree') throw new ValidationError(`'${f.path}' is a directory in ${full}@${pr.base}; name a file.`);
        if (entry?.type === 'commit') throw new ValidationError(`'${f.path}' is a submodule in ${full}@${pr.base}; name a file.`);
        if (entry === undefined) continue; // a truncated listing on the way: let GitHub judge
        if (f.action === 'create' && entry) {
          throw new ValidationError(`File '${f.path}' already exists in ${full}@${pr.base}; use action "update" to change it.`);
        }
        if (f.action !== 'create' && !entry) {
          throw new ValidationError(`File '${f.path}' does not exist in ${full}@${pr.base}, so it cannot be ${f.action}d; use action "create" for a new file.`);
        }
      }

      // Writes: one tree (contents inline up to INLINE_TREE_BYTES, a blob each beyond), one commit,
      // the branch, the PR, the label.
      const tree = [];
      let inlineBytes = 0;
      for (const f of pr.files) {
        const mode = (existing.get(f.path)?.mode as '100644' | '100755' | '120000' | undefined) ?? '100644';
        if (f.action === 'delete') {
          tree.push({ path: f.path, mode, type: 'blob' as const, sha: null });
          continue;
        }
        const bytes = Buffer.byteLength(f.content, 'utf8');
        if (inlineBytes + bytes <= INLINE_TREE_BYTES) {
          inlineBytes += bytes;
          tree.push({ path: f.path, mode, type: 'blob' as const, content: f.content });
        } else {
          const blob = await octokit.rest.git.createBlob({ ...r, content: f.content, encoding: 'utf-8' });
          tree.push({ path: f.path, mode, type: 'blob' as const, sha: blob.data.sha });
        }
      }
      const newTree = await octokit.rest.git.createTree({ ...r, base_tree: baseTreeSha, tree });
      const commit = await octokit.rest.git.createCommit({ ...r, message: pr.title, tree: newTree.data.sha, parents: [baseSha] });
      try {
        await octokit.rest.git.createRef({ ...r, ref: `refs/heads/${pr.branch}`, sha: commit.data.sha });
      } catch (err) {
        if (isStatus(err, 422)) throw new BranchExistsError(pr.branch, full);
        throw err;
      }
      let created;
      try {
        created = (await octokit.rest.pulls.create({ ...r, title: pr.title, body: pr.body, head: pr.branch, base: pr.base })).data;
      } catch (err) {
        // Leave nothing behind: the branch exists only for this PR.
        await octokit.rest.git.deleteRef({ ...r, ref: `heads/${pr.branch}` }).catch((e: unknown) => {
          log(`could not delete branch ${pr.branch} after the PR failed: ${e instanceof Error ? e.message : String(e)}`);
        });
        throw err;
      }
      const warnings: string[] = [];
      try {
        await octokit.rest.issues.addLabels({ ...r, issue_number: created.number, labels: [pr.label] });
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        warnings.push(`The pull request was created, but the label '${pr.label}' could not be added (${why}); list_prs will not show it.`);
      }
      return { number: created.number, url: created.html_url, branch: pr.branch, warnings };
    },

    async listPullRequests(repo, label) {
      const r = { owner: repo.owner, repo: repo.name };
      const pulls = await octokit.paginate(octokit.rest.pulls.list, { ...r, state: 'open', per_page: 100 });
      const ours = pulls.filter((p) => p.labels.some((l) => l.name === label));
      return Promise.all(
        ours.map(async (p) => {
          const files = await octokit.paginate(octokit.rest.pulls.listFiles, { ...r, pull_number: p.number, per_page: 100 });
          return { number: p.number, title: p.title, files: files.map((f) => f.filename) };
        }),
      );
    },

    async getPullRequestStatus(repo, pullNumber) {
      const r = { owner: repo.owner, repo: repo.name };
      let pull;
      try {
        pull = (await octokit.rest.pulls.get({ ...r, pull_number: pullNumber })).data;
      } catch (err) {
        if (isStatus(err, 404)) {
          throw new NotFoundError(
            `Pull request #${pullNumber} was not found in ${repo.owner}/${repo.name} (or the token cannot see the repository). ` +
              'Use list_prs to see the open pull requests.',
          );
        }
        throw err;
      }
      const reviews = await octokit.paginate(octokit.rest.pulls.listReviews, { ...r, pull_number: pullNumber, per_page: 100 });
      return {
        number: pull.number,
        state: pull.merged || pull.merged_at ? 'merged' : pull.state === 'open' ? 'open' : 'closed',
        mergeable: pull.mergeable ?? null,
        reviews: reviews.map((rv) => ({ author: rv.user?.login ?? 'ghost', state: rv.state.toLowerCase(), body: rv.body ?? '' })),
      };
    },
  };
}

/** Host names this tong serves: the API host and its web host (`api.github.com` → `github.com`). */
export function servedHosts(apiUrl: string): string[] {
  const host = new URL(apiUrl).hostname.toLowerCase();
  const hosts = new Set([host]);
  if (host.startsWith('api.')) hosts.add(host.slice(4));
  if (host === 'api.github.com') hosts.add('www.github.com');
  return [...hosts];
}

/** Host and `owner/name` of a clone URL: `https://host/o/r(.git)`, `ssh://git@host/o/r.git`, `git@host:o/r.git`. */
export function parseCloneUrl(cloneUrl: string): { host: string; owner: string; name: string } | undefined {
  let host: string;
  let repoPath: string;
  const scp = /^[A-Za-z0-9._-]+@([^:/]+):(.+)$/.exec(cloneUrl);
  if (scp) {
    host = scp[1]!;
    repoPath = scp[2]!;
  } else {
    try {
      const u = new URL(cloneUrl);
      host = u.hostname;
      repoPath = u.pathname;
    } catch {
      return undefined;
    }
  }
  const parts = repoPath.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '').split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { host: host.toLowerCase(), owner: parts[0], name: parts[1] };
}

/**
 * Resolves a repository against GitHub alone (issue #5; spec REQ-3 "Provider resolution failure"):
 * `createRegistry` with only GitHub registered. Kept for callers that know no Gitea; the server
 * resolves through the full registry (registry.ts).
 */
export { resolveRepository } from './registry.js';

/**
 * The GitHub provider: GitHub's REST API through `@octokit/rest` with the retry and throttling
 * plugins (issue #5 "Provider"). `create_pr` makes one atomic commit on a new branch through the Git
 * Data API (one tree with the contents inline, one commit, one ref), then opens the PR and labels
 * it; before writing it reads the base branch (REST) and then, in one GraphQL request, the new
 * branch's ref and the named paths' entries in the base commit, never the whole tree (issue #15
 * "Speed and scale"). Reads follow pagination.
 */
import { Octokit } from '@octokit/rest';
import { GraphqlResponseError } from '@octokit/graphql';
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
  /** Milliseconds per second of `retry-after` and of the 5xx retries' back-off (both plugins' `retryAfterBaseValue`); tests shrink it. */
  retryAfterBaseValue?: number;
  /** Longest rate-limit wait (seconds) the tong sits out once before answering "rate limited". Default 15. */
  maxRateLimitWaitSeconds?: number;
  /**
   * Milliseconds one GitHub request may take before it is abandoned as "no answer" (then retried like
   * a network failure). Default {@link GITHUB_REQUEST_TIMEOUT_MS}.
   */
  requestTimeoutMs?: number;
}

/**
 * How long one GitHub request may go unanswered (30 000 ms, as the Gitea client's): fetch has no
 * timeout of its own, so a connection that stalls would hold the tool call, and the agent, forever.
 */
export const GITHUB_REQUEST_TIMEOUT_MS = 30_000;

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
  const timeoutMs = options.requestTimeoutMs ?? GITHUB_REQUEST_TIMEOUT_MS;
  // Each attempt (the retry plugin's too) gets its own deadline; its end reads as one plain sentence.
  const timedFetch: typeof fetch = async (input, init) => {
    try {
      return await fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') throw new Error(`no answer within ${timeoutMs / 1000} s`, { cause: err });
      throw err;
    }
  };
  const octokit = new ThrottledOctokit({
    ...(typeof token === 'string' ? { auth: token } : {}),
    baseUrl: options.apiUrl,
    userAgent: 'tongs-github',
    request: { fetch: timedFetch },
    log: { debug: () => {}, info: () => {}, warn: (m: string) => log(m), error: (m: string) => log(m) },
    // 5xx, network failures and requests unanswered for timeoutMs: two retries (1 s, then 4 s), so a
    // dead GitHub fails a call within ~5 s.
    retry: {
      doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451],
      retries: 2,
      ...(options.retryAfterBaseValue !== undefined ? { retryAfterBaseValue: options.retryAfterBaseValue } : {}),
    },
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

/** A base-tree entry at a named path: `type` `blob`, `tree` or `commit` (submodule); `mode` as git writes it (`100644`…). */
export interface BaseTreeEntry {
  type: string;
  mode: string;
  sha: string;
}

/** What `create_pr`'s one GraphQL read answers: whether the new branch exists, and each named path's entry. */
export interface BaseReads {
  branchExists: boolean;
  /**
   * Per path: its entry in the base commit's tree; `null` when it does not exist (a directory on the
   * way is missing, or is a file); `undefined` when GitHub could not say (a field error on that path,
   * e.g. "Could not resolve file over 10mb"), so the write is left for GitHub to judge.
   */
  entries: Map<string, BaseTreeEntry | null | undefined>;
}

/**
 * The GraphQL document of `create_pr`'s reads after the base branch: the new branch's ref
 * (`Repository.ref`, null when free) and, for each of `count` paths, `Commit.file(path:)` of the base
 * commit (GitHub's GraphQL schema: `TreeEntry { type mode oid }`, `mode` an Int). Paths go in as
 * variables `$p0…`, never into the text. One request whatever the number of files or the depth of
 * their directories (issue #15 "Speed and scale": the REST alternative costs one tree read per
 * directory on the paths).
 */
export function baseReadsQuery(count: number): string {
  const vars = Array.from({ length: count }, (_, i) => `, $p${i}: String!`).join('');
  const files = Array.from({ length: count }, (_, i) => ` f${i}: file(path: $p${i}) { type mode oid }`).join('');
  return (
    `query tongsCreatePrReads($owner: String!, $name: String!, $head: String!, $base: GitObjectID!${vars}) {` +
    ` repository(owner: $owner, name: $name) { head: ref(qualifiedName: $head) { name }` +
    ` base: object(oid: $base) { ... on Commit {${files} } } } }`
  );
}

interface GraphqlTreeEntry {
  type: string;
  mode: number;
  oid: string;
}
interface BaseReadsData {
  repository: { head: { name: string } | null; base: Record<string, GraphqlTreeEntry | null> | null } | null;
}
interface GraphqlError {
  message: string;
  type?: string;
  path?: (string | number)[];
}

/**
 * Reads `baseReadsQuery`'s answer for `paths` (in the order given to the query). `data` may be
 * partial, with `errors` naming the fields that failed (GraphQL's partial results): a failed file
 * field makes that path unknown; any other error throws `NotFoundError` (the repository, type
 * `NOT_FOUND`) or an `Error` with GitHub's messages.
 */
export function parseBaseReads(paths: readonly string[], data: BaseReadsData | null | undefined, errors: readonly GraphqlError[], full: string): BaseReads {
  const failed = new Set<string>();
  const others: GraphqlError[] = [];
  for (const e of errors) {
    const [a, b, c] = e.path ?? [];
    if (a === 'repository' && b === 'base' && typeof c === 'string' && /^f\d+$/.test(c)) failed.add(c);
    else others.push(e);
  }
  if (others.some((e) => e.type === 'NOT_FOUND') || (others.length === 0 && !data?.repository)) {
    throw new NotFoundError(`Repository ${full} was not found (or the token cannot see it). Check repo_owner and repo_name.`);
  }
  if (others.length > 0 || !data?.repository?.base) {
    throw new Error(`GitHub's GraphQL API failed: ${others.map((e) => e.message).join('; ') || 'no answer for the base commit'}`);
  }
  const base = data.repository.base;
  const entries = new Map<string, BaseTreeEntry | null | undefined>();
  paths.forEach((path, i) => {
    const key = `f${i}`;
    const e = base[key];
    if (failed.has(key)) entries.set(path, undefined);
    else entries.set(path, e ? { type: e.type, mode: e.mode.toString(8).padStart(6, '0'), sha: e.oid } : null);
  });
  return { branchExists: data.repository.head !== null, entries };
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

      // Reads first: the base branch (its tip and root tree in one answer), then one GraphQL request
      // for a branch clash and the base commit's entry at each named path.
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
      // One GraphQL request for the rest, whatever the number of files or their depth.
      const paths = pr.files.map((f) => f.path);
      const variables: Record<string, string> = { owner: repo.owner, name: repo.name, head: `refs/heads/${pr.branch}`, base: baseSha };
      paths.forEach((p, i) => (variables[`p${i}`] = p));
      let reads: BaseReads;
      try {
        reads = parseBaseReads(paths, await octokit.graphql<BaseReadsData>(baseReadsQuery(paths.length), variables), [], full);
      } catch (err) {
        if (!(err instanceof GraphqlResponseError)) throw err;
        reads = parseBaseReads(paths, err.data as BaseReadsData | undefined, err.errors ?? [], full);
      }
      if (reads.branchExists) throw new BranchExistsError(pr.branch, full);
      const existing = reads.entries;
      for (const f of pr.files) {
        const entry = existing.get(f.path);
        if (entry?.type === 'tree') throw new ValidationError(`'${f.path}' is a directory in ${full}@${pr.base}; name a file.`);
        if (entry?.type === 'commit') throw new ValidationError(`'${f.path}' is a submodule in ${full}@${pr.base}; name a file.`);
        if (entry === undefined) continue; // GitHub could not say: let the write judge
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

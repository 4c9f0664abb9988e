/**
 * The Gitea and Forgejo provider: their REST API (`/api/v1`, which Forgejo keeps compatible) through
 * `gitea-js`, the client generated from Gitea's OpenAPI document (issue #15). The same shapes as the
 * GitHub provider (provider.ts):
 *
 * - `create_pr`: reads the base branch, checks the new branch is free and looks up each named path
 *   (one contents lookup per file, so the cost does not grow with the repository), then ONE write
 *   makes the commit and the branch: the change-files endpoint `POST /repos/{owner}/{repo}/contents`
 *   with `new_branch` (Gitea ≥ 1.20, Forgejo ≥ 1.20). Then the label is looked up by name (Gitea
 *   labels are numeric ids; the repository's, then its organisation's) and created in the repository
 *   when missing if the token may, and the pull request is opened
 *   with it. If opening the PR fails, the branch is deleted again.
 * - `list_prs` / `get_pr_status`: open PRs filtered by label name; review states mapped to the
 *   lower-case states GitHub's provider reports.
 *
 * Forgejo is detected once per process by `GET /api/forgejo/v1/version` (404 on Gitea). Where it
 * differs: its version scheme (`7.0.0+gitea-1.22.0` since Forgejo 7; 1.x before) for the
 * change-files check, and its name in every sentence and log line.
 *
 * No retries: unlike GitHub, Gitea has no documented rate limit or retry contract, and the only
 * write that matters (change files) is not idempotent. Each request times out after `timeoutMs`.
 */
import { giteaApi, type Api, type ChangeFileOperation, type PullRequest } from 'gitea-js';
import {
  BranchExistsError,
  GITEA_LABEL,
  NotFoundError,
  UnsupportedProviderError,
  ValidationError,
  type HttpErrorLike,
  type ProviderLabel,
} from './errors.js';
import type { CreatedPullRequest, GitProvider, NewPullRequest, PullRequestStatus, PullRequestSummary, RepoRef } from './provider.js';

/** Options of `createGiteaProvider`. */
export interface GiteaProviderOptions {
  /** The server's web root (`GITEA_URL`, normalised by `readConfig`): the API is at `<url>/api/v1`. */
  url: string;
  /** `GITEA_TOKEN`; sent as `Authorization: Bearer …` and nowhere else. */
  token: string;
  /** Log lines (the caller's logger redacts the tokens). */
  log?: (message: string) => void;
  /** Per-request timeout in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Items per page asked of list endpoints (default 50, Gitea's default `MAX_RESPONSE_ITEMS`). */
  pageSize?: number;
  /** `fetch` to use (default the global one); tests may count requests with it. */
  fetch?: typeof fetch;
}

/** What `detect` found: which forge, and its version string as `/version` reports it. */
export interface GiteaServerInfo {
  label: ProviderLabel;
  /** e.g. `1.23.1` (Gitea) or `7.0.0+gitea-1.22.0` (Forgejo). */
  version: string;
}

/** A Gitea/Forgejo HTTP failure in the shape `describeError` reads (status, headers, parsed body). */
export class GiteaHttpError extends Error implements HttpErrorLike {
  constructor(
    readonly status: number,
    message: string,
    readonly response: { headers: Record<string, string>; data: unknown } | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GiteaHttpError';
  }
}

/** Gitea's `APIError` body: `{message, url}` (and `errors` on 404). */
function messageOf(data: unknown): string | undefined {
  return data && typeof data === 'object' && typeof (data as { message?: unknown }).message === 'string' ? (data as { message: string }).message : undefined;
}

/**
 * Turns what gitea-js throws into a `GiteaHttpError`: it rejects with the `Response` itself (`.error`
 * holds the parsed body) for a non-2xx status, and `fetch` rejects with a `TypeError` when the server
 * cannot be reached (status 500 with no response, as octokit reports it).
 */
export function toGiteaError(err: unknown): unknown {
  if (err instanceof GiteaHttpError) return err;
  if (typeof Response !== 'undefined' && err instanceof Response) {
    const data = (err as Response & { error?: unknown }).error;
    const headers = Object.fromEntries(err.headers.entries());
    return new GiteaHttpError(err.status, messageOf(data) ?? `HTTP ${err.status} ${err.statusText}`.trim(), { headers, data });
  }
  if (err instanceof Error && (err.name === 'TypeError' || err.name === 'TimeoutError' || err.name === 'AbortError')) {
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    const detail = cause && typeof cause === 'object' ? String(cause.code ?? cause.message ?? '') : '';
    return new GiteaHttpError(500, `${err.message}${detail ? ` (${detail})` : ''}`, undefined, { cause: err });
  }
  return err;
}

async function call<T>(fn: () => Promise<{ data: T }>): Promise<T> {
  try {
    return (await fn()).data;
  } catch (err) {
    throw toGiteaError(err);
  }
}

function isStatus(err: unknown, status: number): boolean {
  return err instanceof GiteaHttpError && err.status === status;
}

/**
 * Major and minor of a version string (`1.23.1`, `7.0.0+gitea-1.22.0`, `1.21.0-rc0`), or
 * `undefined` when it starts with neither.
 */
function majorMinor(version: string): [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(version.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * Whether the server has the change-files endpoint (`POST /repos/{owner}/{repo}/contents`): Gitea
 * 1.20 added it, and Forgejo 1.20 took it over (Forgejo numbers itself 7, 8, … after 1.21). An
 * unparsable version gets the benefit of the doubt: the server will answer 404/405 if it lacks it.
 */
export function supportsChangeFiles(info: GiteaServerInfo): boolean {
  const v = majorMinor(info.version);
  if (!v) return true;
  const [major, minor] = v;
  if (info.label.name === 'Forgejo' && major >= 2) return true;
  return major > 1 || (major === 1 && minor >= 20);
}

/**
 * Gitea's review state (`ReviewStateType`: `APPROVED`, `REQUEST_CHANGES`, `COMMENT`, `PENDING`,
 * `REQUEST_REVIEW`) → the lower-case state GitHub's provider reports (`approved`,
 * `changes_requested`, `commented`, `pending`; `dismissed` when Gitea flags the review dismissed).
 * `REQUEST_REVIEW` is a requested reviewer who has not reviewed: not a review, so `undefined`.
 */
export function reviewState(state: string | undefined, dismissed: boolean | undefined): string | undefined {
  const s = (state ?? '').toUpperCase();
  if (s === 'REQUEST_REVIEW') return undefined;
  if (dismissed) return 'dismissed';
  switch (s) {
    case 'APPROVED':
      return 'approved';
    case 'REQUEST_CHANGES':
      return 'changes_requested';
    case 'COMMENT':
      return 'commented';
    case 'PENDING':
      return 'pending';
    default:
      return s.toLowerCase() || 'commented';
  }
}

// Each path segment percent-encoded: gitea-js puts path parameters into the URL as they are.
const encodePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');

/** A colour for a label the tong creates (Gitea requires one): GitHub's default grey. */
const LABEL_COLOR = '#ededed';

/** Creates the Gitea/Forgejo provider. The token goes only into the Authorization header. */
export function createGiteaProvider(options: GiteaProviderOptions): GitProvider & { detect(): Promise<GiteaServerInfo> } {
  const log = options.log ?? (() => {});
  const timeoutMs = options.timeoutMs ?? 30_000;
  const limit = options.pageSize ?? 50;
  const baseFetch = options.fetch ?? fetch;
  const timedFetch: typeof fetch = (input, init) => baseFetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) });
  const api: Api<unknown> = giteaApi(options.url, { token: options.token, customFetch: timedFetch });

  let label: ProviderLabel = GITEA_LABEL;
  let detected: Promise<GiteaServerInfo> | undefined;

  /** Forgejo or Gitea, and the version; once per process (a failed detection is tried again next call). */
  const detect = (): Promise<GiteaServerInfo> => {
    detected ??= (async () => {
      try {
        const forgejo = await call(() =>
          api.request<{ version?: string }>({ path: '/version', baseUrl: `${options.url}/api/forgejo/v1`, method: 'GET', secure: true, format: 'json' }),
        );
        label = { name: 'Forgejo', tokenVar: 'GITEA_TOKEN' };
        return { label, version: forgejo.version ?? '' };
      } catch (err) {
        // Gitea answers its web 404 page; a proxy in front may answer another 4xx. Only an
        // unreachable or failing server (5xx, network) stops the call.
        if (!(err instanceof GiteaHttpError) || err.status >= 500) throw err;
      }
      label = GITEA_LABEL;
      try {
        return { label, version: (await call(() => api.version.getVersion())).version ?? '' };
      } catch (err) {
        // The version only gates create_pr; a 4xx here leaves it unknown and the real call will say more.
        if (!(err instanceof GiteaHttpError) || err.status >= 500) throw err;
        return { label, version: '' };
      }
    })().then(
      (info) => {
        log(`${info.label.name} ${info.version || '(version unknown)'} at ${options.url}`);
        return info;
      },
      (err: unknown) => {
        detected = undefined;
        throw err;
      },
    );
    return detected;
  };

  /** Every page of a Gitea list endpoint (`page`/`limit`; `X-Total-Count` says when to stop). */
  async function all<T>(fetchPage: (page: number) => Promise<{ data: T[]; headers: Headers }>): Promise<T[]> {
    const out: T[] = [];
    for (let page = 1; page <= 1000; page++) {
      let res;
      try {
        res = await fetchPage(page);
      } catch (err) {
        throw toGiteaError(err);
      }
      const items = res.data ?? [];
      out.push(...items);
      const total = Number(res.headers.get('x-total-count'));
      const done = Number.isFinite(total) && res.headers.has('x-total-count') ? out.length >= total : items.length < limit;
      if (done || items.length === 0) break;
    }
    return out;
  }

  const notFoundPull = (repo: RepoRef, n: number) =>
    new NotFoundError(
      `Pull request #${n} was not found in ${repo.owner}/${repo.name} on ${label.name} (or the token cannot see the repository). ` +
        'Use list_prs to see the open pull requests.',
    );

  return {
    detect,
    label: () => label,

    async createPullRequest(repo, pr): Promise<CreatedPullRequest> {
      const info = await detect();
      const { owner, name } = repo;
      const full = `${owner}/${name}`;
      if (!supportsChangeFiles(info)) {
        throw new UnsupportedProviderError(
          `${info.label.name} ${info.version} at ${options.url} is too old for create_pr: it needs the change-files endpoint ` +
            `(${info.label.name} 1.20 or newer) to commit several files at once. No change was made. Ask the user to upgrade the server.`,
        );
      }

      // Reads first: the base branch, a branch clash, and each named path (create must be new,
      // update and delete must exist; update and delete need the file's blob sha).
      try {
        await call(() => api.repos.repoGetBranch(owner, name, pr.base));
      } catch (err) {
        if (isStatus(err, 404)) {
          throw new NotFoundError(
            `Base branch '${pr.base}' was not found in ${full} on ${label.name} (or the repository does not exist or the token cannot see it). ` +
              'Pass base_branch with an existing branch name.',
          );
        }
        throw err;
      }
      try {
        await call(() => api.repos.repoGetBranch(owner, name, pr.branch));
        throw new BranchExistsError(pr.branch, full);
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      }
      const operations: ChangeFileOperation[] = [];
      for (const f of pr.files) {
        let sha: string | undefined;
        try {
          const entry = await call(() => api.repos.repoGetContents(owner, name, encodePath(f.path), { ref: pr.base }));
          // A directory answers with the list of its entries.
          if (Array.isArray(entry) || (entry.type !== undefined && entry.type !== 'file' && entry.type !== 'symlink')) {
            throw new ValidationError(`'${f.path}' is a directory in ${full}@${pr.base}; name a file.`);
          }
          sha = entry.sha;
        } catch (err) {
          if (!isStatus(err, 404)) throw err;
        }
        if (f.action === 'create' && sha !== undefined) {
          throw new ValidationError(`File '${f.path}' already exists in ${full}@${pr.base}; use action "update" to change it.`);
        }
        if (f.action !== 'create' && sha === undefined) {
          throw new ValidationError(`File '${f.path}' does not exist in ${full}@${pr.base}, so it cannot be ${f.action}d; use action "create" for a new file.`);
        }
        operations.push({
          operation: f.action,
          path: f.path,
          ...(f.action === 'delete' ? {} : { content: Buffer.from(f.content, 'utf8').toString('base64') }),
          ...(sha !== undefined ? { sha } : {}),
        });
      }
      const labels = await all((page) => api.repos.issueListLabels(owner, name, { page, limit }));
      let labelId = labels.find((l) => l.name === pr.label)?.id;
      if (labelId === undefined) {
        // An organisation's labels apply to its repositories' PRs too; a user owner answers 404.
        try {
          const orgLabels = await all((page) => api.orgs.orgListLabels(owner, { page, limit }));
          labelId = orgLabels.find((l) => l.name === pr.label)?.id;
        } catch (err) {
          if (!(err instanceof GiteaHttpError) || err.status >= 500) throw err;
        }
      }

      // The one write that makes the commit and the branch.
      try {
        await call(() => api.repos.repoChangeFiles(owner, name, { branch: pr.base, new_branch: pr.branch, message: pr.title, files: operations }));
      } catch (err) {
        if (err instanceof GiteaHttpError && err.status === 422 && /branch already exists/i.test(err.message)) throw new BranchExistsError(pr.branch, full);
        throw err;
      }

      const warnings: string[] = [];
      if (labelId === undefined) {
        try {
          labelId = (await call(() => api.repos.issueCreateLabel(owner, name, { name: pr.label, color: LABEL_COLOR, description: 'Pull requests opened through tongs' }))).id;
        } catch (err) {
          const why = err instanceof Error ? err.message : String(err);
          warnings.push(`The pull request was created, but the label '${pr.label}' does not exist and could not be created (${why}); list_prs will not show it.`);
        }
      }
      let created: PullRequest;
      try {
        created = await call(() =>
          api.repos.repoCreatePullRequest(owner, name, {
            title: pr.title,
            body: pr.body,
            head: pr.branch,
            base: pr.base,
            ...(labelId !== undefined ? { labels: [labelId] } : {}),
          }),
        );
      } catch (err) {
        // Leave nothing behind: the branch exists only for this PR.
        await call(() => api.repos.repoDeleteBranch(owner, name, pr.branch)).catch((e: unknown) => {
          log(`could not delete branch ${pr.branch} after the PR failed: ${e instanceof Error ? e.message : String(e)}`);
        });
        throw err;
      }
      if (labelId !== undefined && !(created.labels ?? []).some((l) => l.id === labelId)) {
        warnings.push(`The pull request was created, but ${label.name} did not apply the label '${pr.label}'; list_prs will not show it.`);
      }
      return { number: created.number ?? 0, url: created.html_url ?? '', branch: pr.branch, warnings };
    },

    async listPullRequests(repo, wanted): Promise<PullRequestSummary[]> {
      await detect();
      const { owner, name } = repo;
      const pulls = await all((page) => api.repos.repoListPullRequests(owner, name, { state: 'open', page, limit }));
      const ours = pulls.filter((p) => (p.labels ?? []).some((l) => l.name === wanted));
      return Promise.all(
        ours.map(async (p) => {
          const files = await all((page) => api.repos.repoGetPullRequestFiles(owner, name, p.number ?? 0, { page, limit }));
          return { number: p.number ?? 0, title: p.title ?? '', files: files.map((f) => f.filename ?? '') };
        }),
      );
    },

    async getPullRequestStatus(repo, pullNumber): Promise<PullRequestStatus> {
      await detect();
      const { owner, name } = repo;
      let pull: PullRequest;
      try {
        pull = await call(() => api.repos.repoGetPullRequest(owner, name, pullNumber));
      } catch (err) {
        if (isStatus(err, 404)) throw notFoundPull(repo, pullNumber);
        throw err;
      }
      const reviews = await all((page) => api.repos.repoListPullReviews(owner, name, pullNumber, { page, limit }));
      return {
        number: pull.number ?? pullNumber,
        state: pull.merged || pull.merged_at ? 'merged' : pull.state === 'open' ? 'open' : 'closed',
        mergeable: typeof pull.mergeable === 'boolean' ? pull.mergeable : null,
        reviews: reviews.flatMap((rv) => {
          const state = reviewState(rv.state, rv.dismissed);
          return state === undefined ? [] : [{ author: rv.user?.login ?? 'ghost', state, body: rv.body ?? '' }];
        }),
      };
    },
  };
}

/**
 * Errors of the git tong (GitHub, Gitea, Forgejo) and the ONE function that turns any failure into the sentence a model
 * reads (issue #5 "Errors are tool results"; STYLE.md "format GitHub errors in one function").
 * Tool handlers throw; the MCP SDK turns the thrown message into an `isError: true` result.
 */

/** Base class: a refusal or failure whose message is already written for the model. */
export class ToolError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A tool argument or policy rule refused the call before any GitHub request (spec REQ-3, REQ-6). */
export class ValidationError extends ToolError {}

/** A forge as named in sentences: its product name and the variable that holds its token (issue #15). */
export interface ProviderLabel {
  /** `GitHub`, `Gitea` or `Forgejo` (a Gitea-configured server that answers `/api/forgejo/v1/version`). */
  name: 'GitHub' | 'Gitea' | 'Forgejo';
  /** The tong's environment variable with that forge's token. */
  tokenVar: 'GITHUB_TOKEN' | 'GITEA_TOKEN';
}

/** The label of the GitHub provider, the default in every message. */
export const GITHUB_LABEL: ProviderLabel = { name: 'GitHub', tokenVar: 'GITHUB_TOKEN' };
/** The label of the Gitea provider before (or without) Forgejo detection. */
export const GITEA_LABEL: ProviderLabel = { name: 'Gitea', tokenVar: 'GITEA_TOKEN' };

/**
 * The forge's token is not set: the server runs, but every tool refuses for that forge (spec REQ-1
 * "Subcommand without provider tokens": registered in a disabled state, descriptive errors).
 */
export class MissingTokenError extends ToolError {
  constructor(provider: ProviderLabel = GITHUB_LABEL) {
    super(
      `${provider.name} is not available: this tong was started without a ${provider.name} token (${provider.tokenVar} is empty). ` +
        `No ${provider.name} request was made. Ask the user to export ${provider.tokenVar} on the host and restart the session.`,
    );
  }
}

/** The forge cannot do what the tool needs (e.g. Gitea older than 1.20 has no change-files endpoint). */
export class UnsupportedProviderError extends ToolError {}

/** The repository's `clone_url` points at a host this tong does not serve (spec REQ-3 "Provider resolution"). */
export class UnresolvedRepositoryError extends ToolError {}

/** The branch `create_pr` would create already exists (GitHub 422 "Reference already exists"). */
export class BranchExistsError extends ToolError {
  constructor(readonly branch: string, repo: string) {
    super(
      `Branch '${branch}' already exists in ${repo}, so no pull request was created. ` +
        'Use a different title (the branch name comes from it) or a different change_type, ' +
        'or check list_prs for an existing pull request with this change.',
    );
  }
}

/** A repository, branch or pull request does not exist (or the token cannot see it). */
export class NotFoundError extends ToolError {}

/**
 * Shape of an `@octokit/request-error` RequestError, duck-typed so we need not import it; the Gitea
 * provider throws the same shape (`GiteaHttpError`, gitea.ts).
 */
export interface HttpErrorLike {
  status: number;
  message: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

function isHttpError(err: unknown): err is HttpErrorLike {
  return typeof err === 'object' && err !== null && typeof (err as { status?: unknown }).status === 'number';
}

/** What the failing call was doing, for the sentence: e.g. `{ repo: 'o/r', action: 'list pull requests' }`. */
export interface ErrorContext {
  /** `owner/name` of the repository involved. */
  repo?: string;
  /** Short verb phrase: "create the pull request", "read pull request #7". */
  action?: string;
  /** API base URL of the forge, named when it cannot be reached. */
  apiUrl?: string;
  /** The forge that answered (default GitHub), for its name and token variable in the sentence. */
  provider?: ProviderLabel;
  /** Clock in ms since the epoch (injected for tests); default `Date.now()`. */
  now?: number;
}

function header(err: HttpErrorLike, name: string): string | undefined {
  const v = err.response?.headers?.[name];
  return v === undefined ? undefined : String(v);
}

function githubMessage(err: HttpErrorLike): string {
  const data = err.response?.data as { message?: unknown; errors?: unknown } | undefined;
  const parts: string[] = [];
  if (data && typeof data.message === 'string') parts.push(data.message);
  if (data && Array.isArray(data.errors)) {
    for (const e of data.errors) {
      if (typeof e === 'string') parts.push(e);
      else if (e && typeof e === 'object') {
        const o = e as { message?: unknown; field?: unknown; code?: unknown; resource?: unknown };
        if (typeof o.message === 'string') parts.push(o.message);
        else parts.push([o.resource, o.field, o.code].filter((x) => typeof x === 'string').join(' '));
      }
    }
  }
  return parts.filter(Boolean).join('; ') || err.message;
}

function inAbout(seconds: number): string {
  if (seconds < 90) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** Rate-limit details of a 403/429, or `undefined` when the error is not a rate limit. */
export function rateLimitOf(err: unknown, now = Date.now()): { resetAt: Date; waitSeconds: number; secondary: boolean } | undefined {
  if (!isHttpError(err) || (err.status !== 403 && err.status !== 429)) return undefined;
  const msg = githubMessage(err);
  const retryAfter = Number(header(err, 'retry-after'));
  const remaining = header(err, 'x-ratelimit-remaining');
  const reset = Number(header(err, 'x-ratelimit-reset'));
  const secondary = /secondary rate limit/i.test(msg);
  if (Number.isFinite(retryAfter) && retryAfter >= 0 && header(err, 'retry-after') !== undefined) {
    return { resetAt: new Date(now + retryAfter * 1000), waitSeconds: retryAfter, secondary };
  }
  if (remaining === '0' && Number.isFinite(reset) && reset > 0) {
    return { resetAt: new Date(reset * 1000), waitSeconds: Math.max(0, reset - now / 1000), secondary };
  }
  if (err.status === 429 || secondary || /rate limit/i.test(msg)) {
    // GitHub's documented fallback when no header says how long: wait at least a minute.
    return { resetAt: new Date(now + 60_000), waitSeconds: 60, secondary };
  }
  return undefined;
}

/**
 * Turns any error into one sentence for the model: what failed, why, what to do next. The single
 * place that formats GitHub failures: not found, bad credentials, missing token, rate limited (with
 * the reset time), branch exists, validation, permission, unreachable API. Callers must still pass
 * the result through `redact` (the server does).
 */
export function describeError(err: unknown, ctx: ErrorContext = {}): string {
  if (err instanceof ToolError) return err.message;
  const forge = ctx.provider ?? GITHUB_LABEL;
  const F = forge.name;
  const where = ctx.repo ? ` in ${ctx.repo}` : '';
  const doing = ctx.action ? `Could not ${ctx.action}${where}: ` : '';
  if (!isHttpError(err)) {
    const msg = err instanceof Error ? err.message : String(err);
    return `${doing || 'Unexpected failure: '}${msg}`;
  }
  const rl = rateLimitOf(err, ctx.now);
  if (rl) {
    const kind = rl.secondary ? 'secondary rate limit (too many requests in a short time)' : 'API rate limit';
    return (
      `${doing}${F}'s ${kind} was hit. It resets at ${rl.resetAt.toISOString()} (in about ${inAbout(rl.waitSeconds)}). ` +
      'Nothing was changed by the failed request; wait until then before calling this tool again.'
    );
  }
  switch (err.status) {
    case 401:
      return (
        `${doing}${F} rejected the token (401 ${F === 'GitHub' ? 'Bad credentials' : 'Unauthorized'}): it is invalid, expired or revoked. ` +
        `Ask the user to provide a valid ${forge.tokenVar} and restart the session; retrying will not help.`
      );
    case 403:
      return (
        `${doing}${F} refused the request (403 Forbidden: ${githubMessage(err)}). ` +
        'The token lacks the permission this needs (for example contents and pull-requests write access to the repository). ' +
        'Ask the user to grant it; retrying will not help.'
      );
    case 404:
      return (
        `${doing}${F} answered 404 Not Found${where ? ` for ${ctx.repo}` : ''}: the repository, branch or pull request does not exist, ` +
        'or the token cannot see it. Check repo_owner, repo_name and the numbers you passed.'
      );
    case 409:
    case 422: {
      const msg = githubMessage(err);
      if (/reference already exists/i.test(msg)) {
        return `${doing}the branch already exists (${F}: ${msg}). Use a different title or change_type.`;
      }
      if (err.status === 409 && /pull request already exists/i.test(msg)) {
        return `${doing}an open pull request for this branch already exists (${F}: ${msg}). Use list_prs to find it.`;
      }
      return `${doing}${F} refused the request as invalid (${err.status}: ${msg}). Correct the arguments and try again.`;
    }
    default:
      if (err.status >= 500 || err.response === undefined) {
        return (
          `${doing}${F} could not be reached or failed (${err.response === undefined ? err.message : `${err.status}: ${githubMessage(err)}`})` +
          `${ctx.apiUrl ? ` at ${ctx.apiUrl}` : ''}. This is usually temporary; try again in a minute.`
        );
      }
      return `${doing}${F} answered ${err.status}: ${githubMessage(err)}.`;
  }
}

/**
 * Removes every occurrence of each secret from `text` (defensive: a token must never reach a result,
 * an error or a log line, issue #5). Secrets shorter than 4 characters are ignored so that redaction
 * cannot mangle ordinary words.
 */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join('[REDACTED]');
  }
  return out;
}

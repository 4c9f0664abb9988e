/**
 * The built-in `github-app` secret provider (issue #15 item 2, DESIGN.md "Git providers"):
 * `${secret:github-app:OWNER/REPO}` (or `origin`, the workspace's `origin` remote) becomes a GitHub App
 * installation access token, minted on the host at launch with `@octokit/auth-app` (which signs the
 * App's RS256 JWT), limited to that one repository and to the permissions the tong's definition lists
 * (`github_app.permissions`, launcher/core/github-app.ts). The App's private key never leaves the host.
 *
 * Host configuration (documented in README "GitHub access"):
 * - `TONGS_GITHUB_APP_ID`: the App's id (or its client id);
 * - `TONGS_GITHUB_APP_PRIVATE_KEY_PATH`: the App's private key file (PEM), or
 *   `TONGS_GITHUB_APP_PRIVATE_KEY`: the PEM itself (e.g. from `op run` or a CI secret);
 * - the API: `TONGS_GITHUB_APP_API_URL`, else `GITHUB_API_URL` (what the GitHub tong uses too), else
 *   derived from the `origin` remote's host (`https://HOST/api/v3` for GitHub Enterprise Server),
 *   else `https://api.github.com`.
 *
 * Lifetime: the session ({@link GitHubAppSession}) refreshes each token in its running tong at half
 * its lifetime (installation tokens live one hour) through `docker exec` into the tong's secret tmpfs
 * (launcher/shell/apply/secret-delivery.ts `deliverRefreshedSecret`); the tong reads `<NAME>_FILE`
 * per call. Every token still valid is revoked (`DELETE /installation/token`) when the session ends.
 * The session's tokens are recorded, sealed, in `$TONGS_HOME/sessions/<session id>.json` (0600, in a
 * 0700 dir; never mounted into any container), so `tongs gc` and the next `tongs run` revoke what a
 * killed launcher left ({@link revokeDeadSessionTokens}).
 *
 * Errors are SecretErrors (exit 1), raised before any container exists and naming the App and the
 * repository: no App id or key, a key that cannot be read, an App not installed on the repository, a
 * permission the installation was not granted, an `origin` that is not a GitHub remote.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createAppAuth } from '@octokit/auth-app';
import { request as octokitRequest } from '@octokit/request';
import { SecretError } from '../../errors.js';
import type { PlannedTong } from '../../core/plan-types.js';
import {
  apiUrlForHost,
  formatPermissions,
  GITHUB_APP_PROVIDER,
  missingPermissions,
  parseGitHubAppRef,
  parseGitHubRemote,
  refreshDelayMs,
  webHostForApiUrl,
  type GitHubPermissionLevel,
} from '../../core/github-app.js';
import { hasSecretRef, parseSecretTemplate } from '../../core/secret-refs.js';
import type { ResolveSecrets } from '../apply/apply.js';

/** Host environment variables the provider reads. */
export const GITHUB_APP_ENV = {
  appId: 'TONGS_GITHUB_APP_ID',
  privateKeyPath: 'TONGS_GITHUB_APP_PRIVATE_KEY_PATH',
  privateKey: 'TONGS_GITHUB_APP_PRIVATE_KEY',
  apiUrl: 'TONGS_GITHUB_APP_API_URL',
  githubApiUrl: 'GITHUB_API_URL',
} as const;

/** The App's credentials, read from the host. */
export interface GitHubAppCredentials {
  appId: string;
  privateKey: string;
}

/** One minted token. */
export interface MintedToken {
  token: string;
  /** Epoch milliseconds. */
  issuedAt: number;
  expiresAt: number;
  installationId: number;
  /** What GitHub granted (`name → level`). */
  permissions: Record<string, string>;
}

/** Where and what to mint: one repository on one API. */
export interface MintRequest {
  credentials: GitHubAppCredentials;
  apiUrl: string;
  owner: string;
  repo: string;
  permissions: Record<string, GitHubPermissionLevel>;
  /** Epoch-ms clock; default Date.now. */
  now?: () => number;
}

/**
 * Read the App id and private key from the host environment.
 * @throws SecretError naming the missing variable or the unreadable file, and `what` (the reference).
 */
export async function readAppCredentials(env: NodeJS.ProcessEnv, what: string): Promise<GitHubAppCredentials> {
  const appId = env[GITHUB_APP_ENV.appId]?.trim();
  if (!appId) {
    throw new SecretError(`${what}: no GitHub App id: set ${GITHUB_APP_ENV.appId} to the App's id (its settings page shows it)`);
  }
  let privateKey = env[GITHUB_APP_ENV.privateKey];
  const keyPath = env[GITHUB_APP_ENV.privateKeyPath];
  if (!privateKey && keyPath) {
    try {
      privateKey = await readFile(keyPath, 'utf8');
    } catch (error) {
      throw new SecretError(
        `${what}: cannot read the private key of GitHub App ${appId} from ${GITHUB_APP_ENV.privateKeyPath}=${keyPath}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  if (!privateKey || !privateKey.includes('PRIVATE KEY-----')) {
    throw new SecretError(
      `${what}: no private key for GitHub App ${appId}: set ${GITHUB_APP_ENV.privateKeyPath} to the App's .pem file ` +
        `(or ${GITHUB_APP_ENV.privateKey} to its content)${privateKey ? '; the value given is not a PEM private key' : ''}`,
    );
  }
  return { appId, privateKey };
}

/** The REST base URL to mint on, by the precedence in the module comment. */
export function appApiUrl(env: NodeJS.ProcessEnv, remoteHost: string | null): string {
  const explicit = env[GITHUB_APP_ENV.apiUrl]?.trim() || env[GITHUB_APP_ENV.githubApiUrl]?.trim();
  if (explicit) return explicit.replace(/\/+$/, '');
  return remoteHost ? apiUrlForHost(remoteHost) : 'https://api.github.com';
}

/** `git remote get-url origin` in `workspace` (insteadOf rewrites applied, as git push would use). */
export function readOriginUrl(workspace: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', ['-C', workspace, 'remote', 'get-url', 'origin'], { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error((stderr || error.message).trim()));
      else resolve(stdout.trim());
    });
  });
}

function statusOf(error: unknown): number | null {
  const s = (error as { status?: unknown }).status;
  return typeof s === 'number' ? s : null;
}

function messageOf(error: unknown): string {
  const data = (error as { response?: { data?: { message?: unknown } } }).response?.data;
  return typeof data?.message === 'string' ? data.message : (error as Error).message;
}

/**
 * Mint an installation token for one repository: the App's JWT (signed by @octokit/auth-app) finds
 * the installation (`GET /repos/{owner}/{repo}/installation`), then
 * `POST /app/installations/{id}/access_tokens` with `repositories: [repo]` and the permissions.
 * @throws SecretError naming the App and `owner/repo`: bad credentials (401), not installed (404),
 *   a permission not granted (422, or fewer permissions granted than asked), any other failure.
 */
export async function mintInstallationToken(req: MintRequest): Promise<MintedToken> {
  const now = req.now ?? Date.now;
  const full = `${req.owner}/${req.repo}`;
  const request = octokitRequest.defaults({ baseUrl: req.apiUrl, headers: { 'user-agent': 'tongs-launcher' } });
  let auth: ReturnType<typeof createAppAuth>;
  try {
    auth = createAppAuth({ appId: req.credentials.appId, privateKey: req.credentials.privateKey, request });
  } catch (error) {
    throw new SecretError(`GitHub App ${req.credentials.appId}: ${(error as Error).message}`, { cause: error });
  }
  const appName = async () => {
    try {
      const { token } = await auth({ type: 'app' });
      const app = await request('GET /app', { headers: { authorization: `bearer ${token}` } });
      const slug = (app.data as { slug?: string } | null)?.slug;
      return slug ? `GitHub App '${slug}' (id ${req.credentials.appId})` : `GitHub App ${req.credentials.appId}`;
    } catch {
      return `GitHub App ${req.credentials.appId}`;
    }
  };
  let installationId: number;
  try {
    const { token: jwt } = await auth({ type: 'app' });
    const found = await request('GET /repos/{owner}/{repo}/installation', {
      owner: req.owner,
      repo: req.repo,
      headers: { authorization: `bearer ${jwt}` },
    });
    installationId = found.data.id;
  } catch (error) {
    const status = statusOf(error);
    if (status === 404) {
      throw new SecretError(
        `${await appName()} is not installed on ${full} (${req.apiUrl}): install the App on that repository, or name one it is installed on`,
        { cause: error },
      );
    }
    if (status === 401) {
      throw new SecretError(
        `GitHub App ${req.credentials.appId} (for ${full}): ${req.apiUrl} refused the App's JWT (${messageOf(error)}): ` +
          `check that ${GITHUB_APP_ENV.appId} is the App's id and the private key is one of its keys`,
        { cause: error },
      );
    }
    throw new SecretError(`GitHub App ${req.credentials.appId}: cannot find its installation on ${full}: ${messageOf(error)}`, { cause: error });
  }
  const issuedAt = now();
  let minted: { token: string; expiresAt: string; permissions: Record<string, string> };
  try {
    minted = (await auth({
      type: 'installation',
      installationId,
      repositoryNames: [req.repo],
      permissions: req.permissions,
      refresh: true,
    })) as unknown as typeof minted;
  } catch (error) {
    const status = statusOf(error);
    const why =
      status === 422 || status === 403
        ? `the installation was not granted ${formatPermissions(req.permissions)} (${messageOf(error)}): grant them in the App's settings, or ask for less in github_app.permissions`
        : messageOf(error);
    throw new SecretError(`${await appName()} on ${full}: cannot mint an installation token: ${why}`, { cause: error });
  }
  const granted = minted.permissions ?? {};
  const missing = missingPermissions(req.permissions, granted);
  if (missing.length > 0) {
    await revokeInstallationToken(req.apiUrl, minted.token).catch(() => {});
    throw new SecretError(
      `${await appName()} on ${full}: the installation was not granted ${missing.join(', ')} (granted: ${formatPermissions(granted) || 'nothing'}): ` +
        'grant them in the App\'s settings, or ask for less in github_app.permissions',
    );
  }
  const expiresAt = Date.parse(minted.expiresAt);
  return {
    token: minted.token,
    issuedAt,
    expiresAt: Number.isFinite(expiresAt) ? expiresAt : issuedAt + 3_600_000,
    installationId,
    permissions: granted,
  };
}

/**
 * Revoke an installation token (`DELETE /installation/token`, authenticated by the token itself).
 * 204 is success; 401 means it is already revoked or expired, which is success too.
 * @throws Error with GitHub's message otherwise.
 */
export async function revokeInstallationToken(apiUrl: string, token: string): Promise<void> {
  try {
    await octokitRequest('DELETE /installation/token', {
      baseUrl: apiUrl,
      headers: { authorization: `token ${token}`, 'user-agent': 'tongs-launcher' },
    });
  } catch (error) {
    if (statusOf(error) === 401) return;
    throw new Error(`DELETE /installation/token on ${apiUrl}: ${messageOf(error)}`, { cause: error });
  }
}

/**
 * Tokens that expired less than this long ago are still revoked: `expires_at` has whole seconds and
 * the host's clock may lag GitHub's, and revoking an expired token costs one request that answers 401.
 */
const EXPIRY_MARGIN_MS = 60_000;

// --- The session record ($TONGS_HOME/sessions/<id>.json) -------------------------------------------

/** One token as the session record keeps it: the token itself only sealed. */
interface RecordedToken {
  tong: string;
  repository: string;
  installationId: number;
  /** ISO 8601. */
  expiresAt: string;
  /** AES-256-GCM of the token: base64 of iv (12) ‖ tag (16) ‖ ciphertext. */
  sealed: string;
}

/** The session record that gc reads. */
export interface GitHubAppSessionRecord {
  version: 1;
  session: string;
  launcher: { pid: number; host: string };
  startedAt: string;
  githubApp: { appId: string; apiUrl: string; tokens: RecordedToken[] };
}

/**
 * The sealing key: HKDF-SHA256 of the App's private key. Only a holder of the key (who can mint
 * tokens anyway) can read a recorded token back, so a copied or backed-up record leaks nothing.
 */
function sealKey(credentials: GitHubAppCredentials): Buffer {
  return Buffer.from(hkdfSync('sha256', credentials.privateKey.trim(), `tongs github-app ${credentials.appId}`, 'session record token', 32));
}

export function sealToken(credentials: GitHubAppCredentials, token: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealKey(credentials), iv);
  const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

/** @throws Error when the record was sealed with another key or altered. */
export function unsealToken(credentials: GitHubAppCredentials, sealed: string): string {
  const raw = Buffer.from(sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', sealKey(credentials), raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

/** `$TONGS_HOME/sessions`. */
export function sessionsDir(home: string): string {
  return path.join(home, 'sessions');
}

async function writeRecord(dir: string, record: GitHubAppSessionRecord): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${record.session}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

// --- The session: mint at launch, refresh while it runs, revoke at its end ---------------------------

/** What the session needs to refresh tokens in running tongs. */
export interface RefreshTarget {
  /** Tong name → container id (launcher/shell/apply/apply.ts `AppliedSession.containers`). */
  containers: ReadonlyMap<string, string>;
  /** Writes `value` to the tong's refreshed-secret file for `name` (secret-delivery.ts `deliverRefreshedSecret`). */
  deliver: (containerId: string, name: string, value: string) => Promise<void>;
}

export interface GitHubAppSessionOptions {
  /** The host environment; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The workspace, for `origin`; null without `--workspace`. */
  workspace: string | null;
  sessionId: string;
  launcher: { pid: number; host: string };
  startedAt: string;
  /** `$TONGS_HOME`. */
  home: string;
  /** Warnings while the session runs (a failed refresh or revocation); no `tongs: ` prefix. */
  warn: (line: string) => void;
  /** Epoch-ms clock; default Date.now. */
  now?: () => number;
}

interface LiveToken {
  tong: string;
  variable: string;
  owner: string;
  repo: string;
  permissions: Record<string, GitHubPermissionLevel>;
  current: MintedToken;
  /** Superseded tokens not yet expired: still revoked at the end (a call may still hold one). */
  superseded: MintedToken[];
  timer: NodeJS.Timeout | null;
}

/**
 * The github-app provider of one launch. `wrap(resolveSecrets)` gives the `resolveSecrets` hook of
 * launcher/shell/run/session.ts: it resolves every other reference first (through `inner`), then
 * mints one token per variable that holds a github-app reference (the tong finds refreshed values
 * at `<NAME>_FILE`, which the planner set). `startRefresh` begins refreshing once the tongs run; `close` stops
 * that and revokes every token still valid, then removes the session record.
 */
export class GitHubAppSession {
  private readonly env: NodeJS.ProcessEnv;
  private readonly now: () => number;
  private credentials: GitHubAppCredentials | null = null;
  private apiUrl: string | null = null;
  private readonly live: LiveToken[] = [];
  private target: RefreshTarget | null = null;
  private closed = false;
  private recordQueue: Promise<void> = Promise.resolve();
  /** Refreshes under way: close waits for them, so a token minted meanwhile is revoked too. */
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly options: GitHubAppSessionOptions) {
    this.env = options.env ?? process.env;
    this.now = options.now ?? Date.now;
  }

  /** Whether any token was minted. */
  get minted(): boolean {
    return this.live.length > 0;
  }

  wrap(inner: ResolveSecrets): ResolveSecrets {
    return async (tongs) => {
      const split = tongs.map((tong) => ({ tong, app: this.githubAppVariables(tong) }));
      // Everything else first: a provider that prompts or fails does so before any token exists.
      const rest = split.map(({ tong, app }) => ({
        ...tong,
        secretEnv: Object.fromEntries(Object.entries(tong.secretEnv).filter(([name]) => !app.has(name))),
      }));
      const out = await inner(rest);
      for (const { tong, app } of split) {
        const env = { ...(out.get(tong.name) ?? {}) };
        for (const [name, ref] of app) {
          // The planner gave the tong `${name}_FILE` (launcher/core/plan.ts), where refreshes land.
          env[name] = await this.mintFor(tong, name, ref);
        }
        out.set(tong.name, env);
      }
      return out;
    };
  }

  /**
   * The variables of `tong` whose value is a github-app reference, name → REF.
   * @throws SecretError for a github-app reference inside a longer value (the launcher could not
   *   refresh it) or in a shared tong (it outlives the session, so its token could be neither
   *   refreshed nor revoked).
   */
  private githubAppVariables(tong: PlannedTong): Map<string, string> {
    const found = new Map<string, string>();
    for (const [name, template] of Object.entries(tong.secretEnv)) {
      if (!hasSecretRef(template)) continue;
      const parts = parseSecretTemplate(template, `tong '${tong.name}' env ${name}`);
      const refs = parts.filter((p) => p.kind === 'ref' && p.ref.provider === GITHUB_APP_PROVIDER);
      if (refs.length === 0) continue;
      if (parts.length !== 1) {
        throw new SecretError(
          `tong '${tong.name}' env ${name}: a \${secret:${GITHUB_APP_PROVIDER}:…} reference must be the whole value, so that the launcher can refresh it`,
        );
      }
      if (tong.lifecycle === 'shared') {
        throw new SecretError(
          `tong '${tong.name}' env ${name}: a shared tong outlives the session, so a ${GITHUB_APP_PROVIDER} token in it could be neither refreshed nor revoked; make the tong lifecycle: session`,
        );
      }
      found.set(name, (refs[0] as { kind: 'ref'; ref: { ref: string } }).ref.ref);
    }
    return found;
  }

  private async mintFor(tong: PlannedTong, variable: string, ref: string): Promise<string> {
    const what = `tong '${tong.name}' env ${variable} (\${secret:${GITHUB_APP_PROVIDER}:${ref}})`;
    const parsed = parseGitHubAppRef(ref);
    if (typeof parsed === 'object' && 'error' in parsed) throw new SecretError(`${what}: ${parsed.error}`);
    let owner: string;
    let repo: string;
    let remoteHost: string | null = null;
    if (parsed === 'origin') {
      if (!this.options.workspace) throw new SecretError(`${what}: origin means the workspace's origin remote, but no --workspace was given`);
      let url: string;
      try {
        url = await readOriginUrl(this.options.workspace);
      } catch (error) {
        throw new SecretError(`${what}: cannot read the origin remote of ${this.options.workspace}: ${(error as Error).message}`, { cause: error });
      }
      const remote = parseGitHubRemote(url);
      if (!remote) throw new SecretError(`${what}: the origin remote '${url}' of ${this.options.workspace} is not a GitHub repository URL (https://HOST/OWNER/REPO, git@HOST:OWNER/REPO.git or ssh://…)`);
      ({ owner, repo, host: remoteHost } = remote);
    } else {
      ({ owner, repo } = parsed);
    }
    this.credentials ??= await readAppCredentials(this.env, what);
    const apiUrl = appApiUrl(this.env, remoteHost);
    if (this.apiUrl !== null && this.apiUrl !== apiUrl) {
      throw new SecretError(`${what}: one session mints on one GitHub (${this.apiUrl}), not also on ${apiUrl}`);
    }
    if (remoteHost && !this.env[GITHUB_APP_ENV.apiUrl] && !this.env[GITHUB_APP_ENV.githubApiUrl] && webHostForApiUrl(apiUrl) !== remoteHost) {
      throw new SecretError(`${what}: cannot tell the API of ${remoteHost}; set ${GITHUB_APP_ENV.githubApiUrl}`);
    }
    this.apiUrl = apiUrl;
    const permissions = tong.githubApp?.permissions ?? { contents: 'write', metadata: 'read', pull_requests: 'write' };
    const minted = await mintInstallationToken({ credentials: this.credentials, apiUrl, owner, repo, permissions, now: this.now });
    this.live.push({ tong: tong.name, variable, owner, repo, permissions, current: minted, superseded: [], timer: null });
    await this.saveRecord();
    return minted.token;
  }

  /** Begin refreshing every minted token in its running tong. Idempotent. */
  startRefresh(target: RefreshTarget): void {
    if (this.target || this.closed) return;
    this.target = target;
    for (const live of this.live) this.schedule(live, refreshDelayMs(live.current.issuedAt, live.current.expiresAt, this.now()));
  }

  private schedule(live: LiveToken, delay: number): void {
    if (this.closed) return;
    live.timer = setTimeout(() => {
      const job = this.refresh(live);
      this.inflight.add(job);
      void job.finally(() => this.inflight.delete(job));
    }, delay);
    live.timer.unref();
  }

  private async refresh(live: LiveToken): Promise<void> {
    live.timer = null;
    const target = this.target;
    const container = target?.containers.get(live.tong);
    if (!target || !container || this.closed) return;
    try {
      const next = await mintInstallationToken({
        credentials: this.credentials!,
        apiUrl: this.apiUrl!,
        owner: live.owner,
        repo: live.repo,
        permissions: live.permissions,
        now: this.now,
      });
      if (this.closed) {
        await revokeInstallationToken(this.apiUrl!, next.token).catch(() => {});
        return;
      }
      live.superseded.push(live.current);
      live.current = next;
      await this.saveRecord();
      await target.deliver(container, live.variable, next.token);
      // Superseded tokens that expired need no revocation any more.
      live.superseded = live.superseded.filter((t) => t.expiresAt > this.now());
      this.schedule(live, refreshDelayMs(next.issuedAt, next.expiresAt, this.now()));
    } catch (error) {
      if (this.closed) return; // the tong is gone; close revokes what was minted
      const left = live.current.expiresAt - this.now();
      this.options.warn(
        `warning: could not refresh the GitHub App token of tong '${live.tong}' for ${live.owner}/${live.repo} ` +
          `(${(error as Error).message}); ${left > 0 ? `retrying; the current one expires in ${Math.round(left / 1000)} s` : 'it has expired'}`,
      );
      if (left > 0) this.schedule(live, Math.max(1000, Math.min(30_000, left / 4)));
    }
  }

  /**
   * Stop refreshing, revoke every token still valid (current and superseded), remove the session
   * record once all are revoked. Never throws: a failure is a warning, and the record stays for gc.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const live of this.live) if (live.timer) clearTimeout(live.timer);
    if (this.live.length === 0) return;
    // A refresh that is minting now revokes its own token once it sees `closed`; give it 10 s.
    if (this.inflight.size > 0) {
      await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, 10_000).unref())]);
    }
    const tokens = this.live.flatMap((l) => [l.current, ...l.superseded].map((t) => ({ live: l, token: t })));
    const results = await Promise.allSettled(
      tokens.filter(({ token }) => token.expiresAt + EXPIRY_MARGIN_MS > this.now()).map(({ token }) => revokeInstallationToken(this.apiUrl!, token.token)),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const f of failed) this.options.warn(`warning: could not revoke a GitHub App token (run \`tongs gc\` to retry): ${(f.reason as Error).message}`);
    await this.recordQueue.catch(() => {});
    if (failed.length === 0) await rm(path.join(sessionsDir(this.options.home), `${this.options.sessionId}.json`), { force: true }).catch(() => {});
  }

  /** Rewrite the session record (serialised: a refresh and a mint never interleave their writes). */
  private saveRecord(): Promise<void> {
    const credentials = this.credentials!;
    const record: GitHubAppSessionRecord = {
      version: 1,
      session: this.options.sessionId,
      launcher: this.options.launcher,
      startedAt: this.options.startedAt,
      githubApp: {
        appId: credentials.appId,
        apiUrl: this.apiUrl!,
        tokens: this.live.flatMap((l) =>
          [l.current, ...l.superseded].map((t) => ({
            tong: l.tong,
            repository: `${l.owner}/${l.repo}`,
            installationId: t.installationId,
            expiresAt: new Date(t.expiresAt).toISOString(),
            sealed: sealToken(credentials, t.token),
          })),
        ),
      },
    };
    const job = this.recordQueue.then(() => writeRecord(sessionsDir(this.options.home), record));
    this.recordQueue = job.catch(() => {});
    return job;
  }
}

/** What {@link revokeDeadSessionTokens} did. */
export interface RevokeSweepResult {
  /** Tokens revoked (or found already invalid). */
  revoked: number;
  /** Records removed. */
  records: number;
  /** Sentences for stderr (no `tongs: ` prefix). */
  warnings: string[];
}

/**
 * Revoke the tokens that dead sessions recorded (issue #15: "by `tongs gc` after a SIGKILL of the
 * launcher"): for every `$TONGS_HOME/sessions/*.json` whose launcher ran on this host and is gone
 * (`isDead(pid, host)`), unseal each unexpired token with the App's key from the host environment,
 * `DELETE /installation/token`, and remove the record. A record whose tokens cannot be unsealed (no
 * key here) is kept until its tokens expire, with a warning. `keep` is the caller's own session.
 */
export async function revokeDeadSessionTokens(options: {
  home: string;
  isDead: (pid: number, host: string) => boolean;
  env?: NodeJS.ProcessEnv;
  keep?: string;
  now?: () => number;
}): Promise<RevokeSweepResult> {
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const dir = sessionsDir(options.home);
  const result: RevokeSweepResult = { revoked: 0, records: 0, warnings: [] };
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  } catch {
    return result;
  }
  for (const name of names) {
    const file = path.join(dir, name);
    let record: GitHubAppSessionRecord;
    try {
      record = JSON.parse(await readFile(file, 'utf8')) as GitHubAppSessionRecord;
    } catch {
      continue;
    }
    if (record.session === options.keep || !options.isDead(record.launcher.pid, record.launcher.host)) continue;
    const pending = record.githubApp.tokens.filter((t) => Date.parse(t.expiresAt) + EXPIRY_MARGIN_MS > now());
    let credentials: GitHubAppCredentials | null = null;
    if (pending.length > 0) {
      credentials = await readAppCredentials(env, `session ${record.session}`).catch(() => null);
      if (!credentials || credentials.appId !== record.githubApp.appId) {
        const last = pending.map((t) => t.expiresAt).sort().at(-1);
        result.warnings.push(
          `cannot revoke ${pending.length} GitHub App token(s) of dead session ${record.session} (App ${record.githubApp.appId}, ` +
            `${[...new Set(pending.map((t) => t.repository))].join(', ')}): the App's key is not configured here ` +
            `(${GITHUB_APP_ENV.appId}, ${GITHUB_APP_ENV.privateKeyPath}); they expire by ${last}`,
        );
        continue;
      }
    }
    let ok = true;
    for (const t of pending) {
      try {
        await revokeInstallationToken(record.githubApp.apiUrl, unsealToken(credentials!, t.sealed));
        result.revoked++;
      } catch (error) {
        ok = false;
        result.warnings.push(`could not revoke a GitHub App token of dead session ${record.session} (${t.repository}): ${(error as Error).message}`);
      }
    }
    if (ok) {
      await rm(file, { force: true });
      result.records++;
    }
  }
  return result;
}

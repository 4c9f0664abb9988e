/**
 * A local Gitea (or Forgejo) REST fake on node:http, for the git tong's tests (issue #15). It keeps
 * repositories in memory and answers with the shapes of Gitea's OpenAPI document (`/api/v1`,
 * `templates/swagger/v1_json.tmpl`) for the endpoints the tong uses:
 *
 * - `GET /version`; `GET /api/forgejo/v1/version` (Forgejo only; Gitea answers its HTML 404);
 * - branches: `GET`/`DELETE /repos/{owner}/{repo}/branches/{branch}`;
 * - contents: `GET /repos/{owner}/{repo}/contents/{filepath}?ref=` (a file's `ContentsResponse`, a
 *   directory's list), and change files, `POST /repos/{owner}/{repo}/contents` (`ChangeFilesOptions`
 *   with `new_branch` → 201 `FilesResponse`; 404 missing branch or file, 422 branch or file exists,
 *   sha missing or stale, bad base64);
 * - pulls: list, create (409 when an open PR has the same head and base), get, files, reviews;
 * - labels: list, create (403 when the fake is told the token may not); an organisation's labels
 *   (`GET /orgs/{org}/labels`, 404 for a user);
 * - `page`/`limit` pagination (limit capped at 50, Gitea's `MAX_RESPONSE_ITEMS`) with `X-Total-Count`
 *   and `Link`; errors as Gitea's `APIError` `{message, url}`; 401 without a valid token.
 *
 * Its seeding and inspection methods match `FakeGitHub`'s (addRepo, addPull, branches, filesAt,
 * history, pulls, requests, writes, failNext), so one test table can run against both.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestStats, type FailureSpec, type PullSeed, type RecordedRequest, type RequestStats } from './github-api.js';

export type { FailureSpec, RecordedRequest } from './github-api.js';

interface Entry {
  content: string;
  mode: string;
}

interface Commit {
  files: Map<string, Entry>;
  parent: string | undefined;
  message: string;
}

interface Review {
  id: number;
  user: string;
  /** Gitea's ReviewStateType: APPROVED, REQUEST_CHANGES, COMMENT, PENDING, REQUEST_REVIEW. */
  state: string;
  dismissed: boolean;
  body: string;
}

interface Pull {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  state: 'open' | 'closed';
  merged: boolean;
  mergeable: boolean;
  labels: string[];
  files: { filename: string; status: 'added' | 'modified' | 'removed' }[];
  reviews: Review[];
}

interface Repo {
  owner: string;
  name: string;
  commits: Map<string, Commit>;
  branches: Map<string, string>;
  pulls: Pull[];
  labels: Map<string, number>;
}

/** Seed of a review: GitHub's vocabulary (as `FakeGitHub` takes it) or Gitea's own states. */
export type GiteaReviewSeed = NonNullable<PullSeed['reviews']>[number] | { user: string; state: 'REQUEST_CHANGES' | 'COMMENT' | 'REQUEST_REVIEW'; body?: string };

const FIXED_TIME = '2025-01-01T00:00:00Z';
const MAX_RESPONSE_ITEMS = 50;

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}
const blobSha = (content: string) => sha1(`blob ${Buffer.byteLength(content)}\0${content}`);

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

/** The fake. `await start()` gives its base URL: use it as `GITEA_URL`. */
export class FakeGitea {
  /** Every request, in arrival order (paths as sent, e.g. `/api/v1/repos/o/r/pulls`). */
  readonly requests: RecordedRequest[] = [];
  /** The token the fake accepts (`Authorization: token …` or `Bearer …`). */
  readonly token: string;
  /** `gitea`, or `forgejo` (then `/api/forgejo/v1/version` answers). */
  readonly flavor: 'gitea' | 'forgejo';
  /** What `/version` reports, e.g. `1.23.1` or `11.0.1+gitea-1.22.0`. */
  version: string;
  /** When false, creating a label answers 403 (a token without issue write access). */
  canCreateLabels = true;
  private readonly repos = new Map<string, Repo>();
  /** Organisations (lower-case name) and their labels (name → id); other owners are users. */
  private readonly orgs = new Map<string, Map<string, number>>();
  private readonly failures: FailureSpec[] = [];
  private readonly server: http.Server;
  private nextId = 1;
  private baseUrl = '';

  constructor(options: { token?: string; flavor?: 'gitea' | 'forgejo'; version?: string } = {}) {
    this.flavor = options.flavor ?? 'gitea';
    this.token = options.token ?? (this.flavor === 'forgejo' ? 'forgejo_faketoken_0123456789abcdef' : 'gitea_faketoken_0123456789abcdef');
    this.version = options.version ?? (this.flavor === 'forgejo' ? '11.0.1+gitea-1.22.0' : '1.23.1');
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
  }

  /** Starts listening (port 0 = a free port); resolves to the base URL. */
  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    const addr = this.server.address() as AddressInfo;
    this.baseUrl = `http://${host}:${addr.port}`;
    return this.baseUrl;
  }

  get url(): string {
    return this.baseUrl;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Requests that could change state (any method but GET/HEAD). */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Requests recorded since the last `clearRequests`, and the bytes of their bodies. */
  stats(): RequestStats {
    return requestStats(this.requests);
  }

  /** Queues a scripted failure (matched on the path without `/api/v1`, or the full path outside it). */
  failNext(spec: FailureSpec): void {
    this.failures.push({ times: 1, ...spec });
  }

  /** Creates (or replaces) a repository whose `defaultBranch` holds one commit with `files`. */
  addRepo(owner: string, name: string, options: { defaultBranch?: string; files?: Record<string, string>; modes?: Record<string, string> } = {}): void {
    const repo: Repo = { owner, name, commits: new Map(), branches: new Map(), pulls: [], labels: new Map() };
    this.repos.set(`${owner}/${name}`.toLowerCase(), repo);
    const files = new Map(
      Object.entries(options.files ?? { 'README.md': `# ${name}\n` }).map(([p, content]) => [p, { content, mode: options.modes?.[p] ?? '100644' }]),
    );
    repo.branches.set(options.defaultBranch ?? 'main', this.putCommit(repo, files, undefined, 'Initial commit'));
  }

  /** Adds a pull request directly; its labels are created in the repository. Returns its number. */
  addPull(owner: string, name: string, seed: Omit<PullSeed, 'reviews'> & { reviews?: GiteaReviewSeed[] }): number {
    const repo = this.repo(owner, name);
    const number = this.nextIndex(repo);
    for (const l of seed.labels ?? []) this.labelId(repo, l);
    repo.pulls.push({
      number,
      title: seed.title,
      body: seed.body ?? '',
      head: seed.head ?? `topic-${number}`,
      base: seed.base ?? 'main',
      state: seed.state ?? (seed.merged ? 'closed' : 'open'),
      merged: seed.merged ?? false,
      // Gitea always reports a boolean; "still computing" (GitHub's null) reads as false there.
      mergeable: seed.mergeable ?? true,
      labels: seed.labels ?? [],
      files: (seed.files ?? []).map((filename) => ({ filename, status: 'modified' as const })),
      reviews: (seed.reviews ?? []).map((r) => ({ id: this.nextId++, user: r.user, ...giteaState(r.state), body: r.body ?? '' })),
    });
    return number;
  }

  /** Makes `org` an organisation (its label list answers instead of 404) and gives it `labels`. */
  addOrg(org: string, labels: string[] = []): void {
    const map = this.orgs.get(org.toLowerCase()) ?? new Map<string, number>();
    for (const l of labels) if (!map.has(l)) map.set(l, this.nextId++);
    this.orgs.set(org.toLowerCase(), map);
  }

  /** Makes `org` a user again (forgets the organisation and its labels). */
  removeOrg(org: string): void {
    this.orgs.delete(org.toLowerCase());
  }

  /** Label names defined in a repository. */
  labels(owner: string, name: string): string[] {
    return [...this.repo(owner, name).labels.keys()];
  }

  branches(owner: string, name: string): string[] {
    return [...this.repo(owner, name).branches.keys()];
  }

  /** Files (path → content) at the tip of `branch`, or `undefined` when it does not exist. */
  filesAt(owner: string, name: string, branch: string): Record<string, string> | undefined {
    const repo = this.repo(owner, name);
    const sha = repo.branches.get(branch);
    if (!sha) return undefined;
    return Object.fromEntries([...repo.commits.get(sha)!.files].map(([p, e]) => [p, e.content]));
  }

  /** File modes (path → mode) at the tip of `branch`. */
  modesAt(owner: string, name: string, branch: string): Record<string, string> | undefined {
    const repo = this.repo(owner, name);
    const sha = repo.branches.get(branch);
    if (!sha) return undefined;
    return Object.fromEntries([...repo.commits.get(sha)!.files].map(([p, e]) => [p, e.mode]));
  }

  /** Commit messages and parent counts from `branch` back to the root (newest first). */
  history(owner: string, name: string, branch: string): { message: string; parents: number }[] {
    const repo = this.repo(owner, name);
    const out: { message: string; parents: number }[] = [];
    let sha = repo.branches.get(branch);
    while (sha) {
      const c = repo.commits.get(sha)!;
      out.push({ message: c.message, parents: c.parent ? 1 : 0 });
      sha = c.parent;
    }
    return out;
  }

  pulls(owner: string, name: string): Readonly<Pull>[] {
    return this.repo(owner, name).pulls;
  }

  private repo(owner: string, name: string): Repo {
    const repo = this.repos.get(`${owner}/${name}`.toLowerCase());
    if (!repo) throw this.notFound();
    return repo;
  }

  private nextIndex(repo: Repo): number {
    return repo.pulls.reduce((m, p) => Math.max(m, p.number), 0) + 1;
  }

  private labelId(repo: Repo, label: string): number {
    let id = repo.labels.get(label);
    if (id === undefined) repo.labels.set(label, (id = this.nextId++));
    return id;
  }

  private putCommit(repo: Repo, files: Map<string, Entry>, parent: string | undefined, message: string): string {
    const sha = sha1(`commit ${parent ?? ''} ${message} ${this.nextId++}`);
    repo.commits.set(sha, { files, parent, message });
    return sha;
  }

  private apiError(status: number, message: string): HttpFailure {
    return new HttpFailure(status, { message, url: `${this.baseUrl}/api/swagger` });
  }

  private notFound(): HttpFailure {
    return new HttpFailure(404, { errors: ['The target couldn\'t be found.'], message: 'The target couldn\'t be found.', url: `${this.baseUrl}/api/swagger` });
  }

  private takeFailure(method: string, path: string): FailureSpec | undefined {
    const i = this.failures.findIndex((f) => (!f.method || f.method === method) && (!f.path || f.path.test(path)));
    if (i < 0) return undefined;
    const f = this.failures[i]!;
    f.times = (f.times ?? 1) - 1;
    if (f.times <= 0) this.failures.splice(i, 1);
    return f;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.baseUrl || 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
      requestBytes: Buffer.byteLength(raw),
      status: 0,
      responseBytes: 0,
    };
    this.requests.push(record);

    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      const text = payload === undefined ? '' : JSON.stringify(payload);
      record.status = status;
      record.responseBytes = Buffer.byteLength(text);
      res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', ...headers });
      res.end(text);
    };
    const webNotFound = () => {
      const page = '<!DOCTYPE html><html><body>Page Not Found</body></html>';
      record.status = 404;
      record.responseBytes = Buffer.byteLength(page);
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page);
    };

    // Scripted failures match the path without /api/v1 (e.g. /repos/o/r/pulls), or the full path outside it.
    const failure = this.takeFailure(method, url.pathname.startsWith('/api/v1/') ? url.pathname.slice('/api/v1'.length) : url.pathname);
    if (failure) return send(failure.status, failure.body ?? { message: 'Injected failure', url: `${this.baseUrl}/api/swagger` }, failure.headers);

    if (url.pathname === '/api/forgejo/v1/version' && method === 'GET') {
      if (this.flavor === 'forgejo') return send(200, { version: this.version });
      // Gitea has no such route: its web 404 page, not JSON.
      return webNotFound();
    }
    if (!url.pathname.startsWith('/api/v1/')) return webNotFound();
    const apiPath = url.pathname.slice('/api/v1'.length);

    // Public, as on a real server: no token needed to ask the version.
    if (method === 'GET' && apiPath === '/version') return send(200, { version: this.version });


    const auth = req.headers.authorization ?? '';
    const m = /^(?:token|bearer)\s+(.+)$/i.exec(auth);
    if (!m) return send(401, { message: 'token is required', url: `${this.baseUrl}/api/swagger` });
    if (m[1] !== this.token) return send(401, { message: 'invalid username, password or token', url: `${this.baseUrl}/api/swagger` });

    try {
      const out = this.route(method, apiPath, url, body);
      return send(out.status, out.body, out.headers);
    } catch (err) {
      if (err instanceof HttpFailure) return send(err.status, err.body);
      return send(500, { message: `fake error: ${(err as Error).message}`, url: `${this.baseUrl}/api/swagger` });
    }
  }

  private page<T>(url: URL, items: T[]): { status: number; body: T[]; headers: Record<string, string> } {
    const limit = Math.min(MAX_RESPONSE_ITEMS, Math.max(1, Number(url.searchParams.get('limit') ?? 30) || 30));
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / limit));
    const at = (p: number) => {
      const u = new URL(url.pathname + url.search, this.baseUrl);
      u.searchParams.set('limit', String(limit));
      u.searchParams.set('page', String(p));
      return u.toString();
    };
    const links: string[] = [];
    if (page < last) links.push(`<${at(page + 1)}>; rel="next"`, `<${at(last)}>; rel="last"`);
    if (page > 1) links.push(`<${at(1)}>; rel="first"`, `<${at(page - 1)}>; rel="prev"`);
    const headers: Record<string, string> = { 'x-total-count': String(items.length) };
    if (links.length) headers.link = links.join(',');
    return { status: 200, body: items.slice((page - 1) * limit, page * limit), headers };
  }

  private route(method: string, apiPath: string, url: URL, body: unknown): { status: number; body: unknown; headers?: Record<string, string> } {
    const parts = apiPath.split('/').filter(Boolean).map(decodeURIComponent);
    if (method === 'GET' && parts[0] === 'orgs' && parts[2] === 'labels' && parts.length === 3) {
      const org = this.orgs.get(parts[1]!.toLowerCase());
      if (!org) throw this.notFound();
      return this.page(url, [...org].map(([n, id]) => ({ ...this.labelJson(undefined, n, id), url: `${this.baseUrl}/api/v1/orgs/${parts[1]}/labels/${id}` })));
    }
    if (parts[0] !== 'repos' || parts.length < 3) throw this.notFound();
    const repo = this.repo(parts[1]!, parts[2]!);
    const rest = parts.slice(3);
    const b = (body ?? {}) as Record<string, unknown>;
    const web = `${this.baseUrl}/${repo.owner}/${repo.name}`;

    // --- branches -------------------------------------------------------------------------------
    if (rest[0] === 'branches' && rest.length >= 2) {
      const branch = rest.slice(1).join('/');
      const sha = repo.branches.get(branch);
      if (!sha) throw this.notFound();
      if (method === 'GET') return { status: 200, body: this.branchJson(repo, branch, sha) };
      if (method === 'DELETE') {
        repo.branches.delete(branch);
        return { status: 204, body: undefined };
      }
    }

    // --- contents -------------------------------------------------------------------------------
    if (method === 'GET' && rest[0] === 'contents' && rest.length >= 2) {
      const path = rest.slice(1).join('/');
      const ref = url.searchParams.get('ref') || 'main';
      const sha = repo.branches.get(ref);
      if (!sha) throw this.notFound();
      const files = repo.commits.get(sha)!.files;
      const file = files.get(path);
      if (file) return { status: 200, body: this.contentsJson(web, ref, path, file, true) };
      const inside = [...files.keys()].filter((p) => p.startsWith(`${path}/`));
      if (inside.length === 0) throw this.notFound();
      const names = [...new Set(inside.map((p) => p.slice(path.length + 1).split('/')[0]!))].sort();
      return {
        status: 200,
        body: names.map((n) => {
          const child = `${path}/${n}`;
          const f = files.get(child);
          return f ? this.contentsJson(web, ref, child, f, false) : { name: n, path: child, type: 'dir', sha: sha1(child), size: 0 };
        }),
      };
    }
    if (method === 'POST' && rest[0] === 'contents' && rest.length === 1) return this.changeFiles(repo, web, b);

    // --- labels ---------------------------------------------------------------------------------
    if (rest[0] === 'labels' && rest.length === 1) {
      if (method === 'GET') return this.page(url, [...repo.labels].map(([n, id]) => this.labelJson(repo, n, id)));
      if (method === 'POST') {
        if (!this.canCreateLabels) throw this.apiError(403, 'user should have permission to write issues');
        const name = String(b.name ?? '');
        if (!name) throw this.apiError(422, '[Name]: Required');
        if (!/^#?[0-9a-fA-F]{6}$/.test(String(b.color ?? ''))) throw this.apiError(422, 'Color: invalid color');
        if (repo.labels.has(name)) throw this.apiError(422, 'label already exists');
        return { status: 201, body: this.labelJson(repo, name, this.labelId(repo, name)) };
      }
    }

    // --- pulls ----------------------------------------------------------------------------------
    if (rest[0] === 'pulls' && rest.length === 1 && method === 'GET') {
      const state = url.searchParams.get('state') ?? 'open';
      const list = repo.pulls.filter((p) => state === 'all' || p.state === state).sort((x, y) => y.number - x.number);
      return this.page(url, list.map((p) => this.pullJson(repo, web, p)));
    }
    if (rest[0] === 'pulls' && rest.length === 1 && method === 'POST') {
      const head = String(b.head ?? '');
      const base = String(b.base ?? '');
      if (!b.title) throw this.apiError(422, '[Title]: Required');
      if (!repo.branches.has(head) || !repo.branches.has(base)) throw this.notFound();
      const existing = repo.pulls.find((p) => p.state === 'open' && p.head === head && p.base === base);
      if (existing) {
        throw this.apiError(409, `pull request already exists for these targets [id: ${existing.number}, issue_id: ${existing.number}, head_repo_id: 1, base_repo_id: 1, head_branch: ${head}, base_branch: ${base}]`);
      }
      const files = this.diff(repo, base, head);
      if (files.length === 0) throw this.apiError(422, 'Invalid PullRequest: There are no changes between the head and the base');
      const ids = Array.isArray(b.labels) ? b.labels.map(Number) : [];
      const usable = [...repo.labels, ...(this.orgs.get(repo.owner.toLowerCase()) ?? [])];
      const names = usable.filter(([, id]) => ids.includes(id)).map(([n]) => n);
      if (names.length !== ids.length) throw this.apiError(422, 'label does not exist');
      const pull: Pull = {
        number: this.nextIndex(repo),
        title: String(b.title),
        body: String(b.body ?? ''),
        head,
        base,
        state: 'open',
        merged: false,
        mergeable: true,
        labels: names,
        files,
        reviews: [],
      };
      repo.pulls.push(pull);
      return { status: 201, body: this.pullJson(repo, web, pull) };
    }
    if (rest[0] === 'pulls' && rest[1] && method === 'GET') {
      const pull = repo.pulls.find((p) => p.number === Number(rest[1]));
      if (!pull) throw this.notFound();
      if (rest.length === 2) return { status: 200, body: this.pullJson(repo, web, pull) };
      if (rest[2] === 'files') {
        return this.page(
          url,
          pull.files.map((f) => ({
            filename: f.filename,
            status: f.status,
            additions: 1,
            deletions: f.status === 'added' ? 0 : 1,
            changes: f.status === 'added' ? 1 : 2,
            html_url: `${web}/src/branch/${pull.head}/${f.filename}`,
            contents_url: `${this.baseUrl}/api/v1/repos/${repo.owner}/${repo.name}/contents/${f.filename}?ref=${pull.head}`,
            raw_url: `${web}/raw/branch/${pull.head}/${f.filename}`,
          })),
        );
      }
      if (rest[2] === 'reviews') {
        return this.page(
          url,
          pull.reviews.map((r) => ({
            id: r.id,
            user: this.userJson(r.user),
            team: null,
            state: r.state,
            body: r.body,
            commit_id: '0'.repeat(40),
            stale: false,
            official: r.state === 'APPROVED' || r.state === 'REQUEST_CHANGES',
            dismissed: r.dismissed,
            comments_count: 0,
            submitted_at: FIXED_TIME,
            updated_at: FIXED_TIME,
            html_url: `${web}/pulls/${pull.number}#issuecomment-${r.id}`,
            pull_request_url: `${web}/pulls/${pull.number}`,
          })),
        );
      }
    }
    throw this.notFound();
  }

  /** `POST /repos/{owner}/{repo}/contents`: Gitea's ChangeRepoFiles, all or nothing. */
  private changeFiles(repo: Repo, web: string, b: Record<string, unknown>): { status: number; body: unknown } {
    const from = String(b.branch ?? 'main');
    const to = b.new_branch ? String(b.new_branch) : from;
    const baseSha = repo.branches.get(from);
    if (!baseSha) throw this.apiError(404, `branch does not exist [name: ${from}]`);
    if (to !== from && repo.branches.has(to)) throw this.apiError(422, `branch already exists [name: ${to}]`);
    const ops = Array.isArray(b.files) ? (b.files as Record<string, unknown>[]) : [];
    if (ops.length === 0) throw this.apiError(422, '[Files]: Required');
    const files = new Map(repo.commits.get(baseSha)!.files);
    for (const op of ops) {
      const path = String(op.path ?? '');
      const existing = files.get(path);
      const content = (): string => {
        const text = String(op.content ?? '');
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw this.apiError(422, 'illegal base64 data at input byte 0');
        return Buffer.from(text, 'base64').toString('utf8');
      };
      switch (op.operation) {
        case 'create':
          if (existing || [...files.keys()].some((p) => p.startsWith(`${path}/`))) throw this.apiError(422, `repository file already exists [path: ${path}]`);
          files.set(path, { content: content(), mode: '100644' });
          break;
        case 'update':
        case 'delete':
          if (!existing) throw this.apiError(404, `repository file does not exist [path: ${path}]`);
          if (!op.sha) throw this.apiError(422, 'a SHA or commit ID must be proved when updating a file');
          if (op.sha !== blobSha(existing.content)) throw this.apiError(422, `sha does not match [given: ${String(op.sha)}, expected: ${blobSha(existing.content)}]`);
          if (op.operation === 'delete') files.delete(path);
          else files.set(path, { content: content(), mode: existing.mode });
          break;
        default:
          throw this.apiError(422, `unknown operation ${String(op.operation)}`);
      }
    }
    const sha = this.putCommit(repo, files, baseSha, String(b.message ?? 'Update files'));
    repo.branches.set(to, sha);
    return {
      status: 201,
      body: {
        files: ops.map((op) => {
          const f = files.get(String(op.path));
          return f ? this.contentsJson(web, to, String(op.path), f, false) : null;
        }),
        commit: {
          sha,
          url: `${this.baseUrl}/api/v1/repos/${repo.owner}/${repo.name}/git/commits/${sha}`,
          html_url: `${web}/commit/${sha}`,
          message: String(b.message ?? ''),
          author: { name: 'tongs', email: 'tongs@example.com', date: FIXED_TIME },
          committer: { name: 'tongs', email: 'tongs@example.com', date: FIXED_TIME },
          parents: [{ sha: baseSha, url: `${this.baseUrl}/api/v1/repos/${repo.owner}/${repo.name}/git/commits/${baseSha}` }],
          tree: { sha: sha1(`tree ${sha}`), url: '' },
          created: FIXED_TIME,
        },
        verification: { verified: false, reason: 'gpg.error.not_signed_commit', signature: '', payload: '' },
      },
    };
  }

  private diff(repo: Repo, base: string, head: string): Pull['files'] {
    const a = repo.commits.get(repo.branches.get(base)!)!.files;
    const z = repo.commits.get(repo.branches.get(head)!)!.files;
    const out: Pull['files'] = [];
    for (const [p, e] of z) {
      if (!a.has(p)) out.push({ filename: p, status: 'added' });
      else if (a.get(p)!.content !== e.content) out.push({ filename: p, status: 'modified' });
    }
    for (const p of a.keys()) if (!z.has(p)) out.push({ filename: p, status: 'removed' });
    return out.sort((x, y) => (x.filename < y.filename ? -1 : 1));
  }

  private userJson(login: string) {
    return { id: Number.parseInt(sha1(login).slice(0, 6), 16), login, login_name: '', full_name: '', email: `${login}@noreply.example.com`, avatar_url: '', username: login };
  }

  private branchJson(repo: Repo, name: string, sha: string) {
    const c = repo.commits.get(sha)!;
    return {
      name,
      commit: { id: sha, message: c.message, url: `${this.baseUrl}/${repo.owner}/${repo.name}/commit/${sha}`, timestamp: FIXED_TIME },
      protected: false,
      required_approvals: 0,
      enable_status_check: false,
      status_check_contexts: [],
      user_can_push: true,
      user_can_merge: true,
      effective_branch_protection_name: '',
    };
  }

  private contentsJson(web: string, ref: string, path: string, f: Entry, withContent: boolean) {
    const sha = blobSha(f.content);
    return {
      name: path.split('/').at(-1),
      path,
      sha,
      last_commit_sha: '0'.repeat(40),
      type: f.mode === '120000' ? 'symlink' : 'file',
      size: Buffer.byteLength(f.content),
      encoding: withContent ? 'base64' : null,
      content: withContent ? Buffer.from(f.content).toString('base64') : null,
      target: null,
      url: `${this.baseUrl}/api/v1/repos/${web.split('/').slice(-2).join('/')}/contents/${path}?ref=${ref}`,
      html_url: `${web}/src/branch/${ref}/${path}`,
      git_url: `${this.baseUrl}/api/v1/repos/${web.split('/').slice(-2).join('/')}/git/blobs/${sha}`,
      download_url: `${web}/raw/branch/${ref}/${path}`,
      submodule_git_url: null,
      _links: { self: '', git: '', html: '' },
    };
  }

  private labelJson(repo: Repo | undefined, name: string, id: number) {
    const url = repo ? `${this.baseUrl}/api/v1/repos/${repo.owner}/${repo.name}/labels/${id}` : '';
    return { id, name, exclusive: false, is_archived: false, color: 'ededed', description: '', url };
  }

  private pullJson(repo: Repo, web: string, p: Pull) {
    const branch = (ref: string) => ({
      label: ref,
      ref,
      sha: repo.branches.get(ref) ?? '0'.repeat(40),
      repo_id: 1,
      repo: { id: 1, name: repo.name, full_name: `${repo.owner}/${repo.name}`, owner: this.userJson(repo.owner), private: false },
    });
    return {
      id: p.number + 100000,
      url: `${web}/pulls/${p.number}`,
      number: p.number,
      user: this.userJson('tongs-bot'),
      title: p.title,
      body: p.body,
      labels: p.labels.map((l) => this.labelJson(repo, l, repo.labels.get(l) ?? this.orgs.get(repo.owner.toLowerCase())?.get(l) ?? 0)),
      milestone: null,
      assignee: null,
      assignees: null,
      requested_reviewers: null,
      state: p.state,
      draft: false,
      is_locked: false,
      comments: 0,
      review_comments: 0,
      additions: p.files.length,
      deletions: 0,
      changed_files: p.files.length,
      html_url: `${web}/pulls/${p.number}`,
      diff_url: `${web}/pulls/${p.number}.diff`,
      patch_url: `${web}/pulls/${p.number}.patch`,
      mergeable: p.mergeable,
      merged: p.merged,
      merged_at: p.merged ? FIXED_TIME : null,
      merge_commit_sha: null,
      merged_by: null,
      allow_maintainer_edit: false,
      base: branch(p.base),
      head: branch(p.head),
      merge_base: repo.branches.get(p.base) ?? '',
      due_date: null,
      created_at: FIXED_TIME,
      updated_at: FIXED_TIME,
      closed_at: p.state === 'closed' ? FIXED_TIME : null,
      pin_order: 0,
    };
  }
}

/** GitHub's review vocabulary (or Gitea's own) → Gitea's `state` and `dismissed`. */
function giteaState(state: string): { state: string; dismissed: boolean } {
  switch (state) {
    case 'CHANGES_REQUESTED':
      return { state: 'REQUEST_CHANGES', dismissed: false };
    case 'COMMENTED':
      return { state: 'COMMENT', dismissed: false };
    case 'DISMISSED':
      return { state: 'REQUEST_CHANGES', dismissed: true };
    default:
      return { state, dismissed: false };
  }
}

/**
 * A local GitHub REST fake on node:http, for the GitHub tong's tests and benchmark (issue #5 item 7).
 * It keeps repositories in memory and follows GitHub's documented response shapes for the endpoints
 * the tong uses: branches, git refs, git data (blobs, trees, commits), pulls (create, list, get,
 * files, reviews), issue labels, and the GraphQL endpoint for the schema subset `create_pr` reads
 * (graphql-js executes the query: refs, a commit's `file(path:)`); pagination with `Link` headers; 401 "Bad credentials"; 404; 422
 * (e.g. "Reference already exists"); 403/429 rate limits with `x-ratelimit-*` / `retry-after`
 * headers (scripted with `failNext`). Every request is recorded with its status and the bytes of
 * both bodies, so tests can assert that no write happened and what a call cost (`stats`).
 *
 * Trees are stored as git stores them (issue #15 "Speed and scale"): one object per directory,
 * children by sha, so a repository of 100,000 files costs one blob and one entry per file, a
 * non-recursive `GET /git/trees/{sha}` lists one directory, and a commit that changes a few paths
 * writes only the trees along them. A recursive listing stops at GitHub's documented cap of
 * 100,000 entries and says `truncated: true`.
 *
 * With `app` (issue #15 item 2) it is also a GitHub App's side of GitHub: it verifies the App JWT's
 * RS256 signature with the App's public key (and its `iss`, `iat`, `exp`), finds the installation of
 * a repository (`GET /repos/{o}/{r}/installation`), issues installation tokens (`POST
 * /app/installations/{id}/access_tokens`) only for repositories the installation covers and
 * permissions it was granted (422 otherwise), each expiring after `tokenLifetimeMs`; it accepts them
 * on the REST endpoints for their repositories until they expire or are revoked (`DELETE
 * /installation/token`), and records every one in `issued`.
 */
import { createHash, createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSchema, GraphQLError, graphqlSync } from 'graphql';

/** One request as the fake received it. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/repos/o/r/pulls`. */
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body, or `undefined`. */
  body: unknown;
  /** Bytes of the request body as received. */
  requestBytes: number;
  /** Status answered (0 until the answer is written). */
  status: number;
  /** Bytes of the response body written (0 until then). */
  responseBytes: number;
}

/** What a run of requests cost, from `stats`. */
export interface RequestStats {
  requests: number;
  /** Bytes of response bodies: what the client read, headers aside. */
  bytesRead: number;
  /** Bytes of request bodies: what the client sent, headers aside. */
  bytesSent: number;
}

/** How many `requests` there are and the bytes of their bodies (what `stats` of either fake answers). */
export function requestStats(requests: readonly RecordedRequest[]): RequestStats {
  return requests.reduce<RequestStats>(
    (acc, r) => ({ requests: acc.requests + 1, bytesRead: acc.bytesRead + r.responseBytes, bytesSent: acc.bytesSent + r.requestBytes }),
    { requests: 0, bytesRead: 0, bytesSent: 0 },
  );
}

/** A file of `addRepo`: its content, or its content and git mode (`100644` default, `100755`, `120000`). */
export type SeedFile = string | { content: string; mode: string };

/** A scripted failure: the next `times` requests matching `method`/`path` get this answer instead. */
export interface FailureSpec {
  method?: string;
  path?: RegExp;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** Never answer: the request is held until the fake closes (a connection that stalls); `status` is unused. */
  stall?: boolean;
}

/** One entry of a git tree object: a name in its directory, not a path. */
interface TreeEntry {
  name: string;
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  sha: string;
}

/** One change of `POST /git/trees`, split into path segments; `entry: null` deletes. */
interface TreeEdit {
  segs: string[];
  path: string;
  entry: Omit<TreeEntry, 'name'> | null;
}

/** GitHub's cap on one recursive tree listing (REST docs, "Get a tree"). */
const RECURSIVE_TREE_LIMIT = 100_000;

interface Review {
  id: number;
  user: string;
  state: string;
  body: string;
  submittedAt: string;
}

interface Pull {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  state: 'open' | 'closed';
  merged: boolean;
  mergeable: boolean | null;
  labels: string[];
  files: { filename: string; status: 'added' | 'modified' | 'removed' }[];
  reviews: Review[];
  createdAt: string;
}

interface Repo {
  owner: string;
  name: string;
  blobs: Map<string, string>;
  /** Tree objects by sha; entries sorted by name. */
  trees: Map<string, TreeEntry[]>;
  commits: Map<string, { tree: string; parents: string[]; message: string }>;
  refs: Map<string, string>;
  pulls: Pull[];
}

/** Seed for `addPull`. */
export interface PullSeed {
  title: string;
  body?: string;
  head?: string;
  base?: string;
  state?: 'open' | 'closed';
  merged?: boolean;
  mergeable?: boolean | null;
  labels?: string[];
  files?: string[];
  reviews?: { user: string; state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' | 'PENDING'; body?: string }[];
}

const DOCS = 'https://docs.github.com/rest';

/**
 * The part of GitHub's GraphQL schema (docs.github.com/graphql, "Objects") the tong queries, with
 * GitHub's names and types: `Repository.ref(qualifiedName:)`, `Repository.object(oid:)`, and
 * `Commit.file(path:)` answering a `TreeEntry` whose `mode` is an Int.
 */
const GRAPHQL_SCHEMA = buildSchema(`
  scalar GitObjectID
  interface GitObject { oid: GitObjectID! }
  type Blob implements GitObject { oid: GitObjectID! }
  type Tree implements GitObject { oid: GitObjectID! }
  type Commit implements GitObject { oid: GitObjectID! message: String! file(path: String!): TreeEntry }
  type TreeEntry { name: String! path: String type: String! mode: Int! oid: GitObjectID! }
  type Ref { name: String! prefix: String! }
  type Repository { name: String! nameWithOwner: String! ref(qualifiedName: String!): Ref object(oid: GitObjectID, expression: String): GitObject }
  type Query { repository(owner: String!, name: String!): Repository }
`);
const FIXED_TIME = '2025-01-01T00:00:00Z';

function gitSha(kind: string, content: string): string {
  return createHash('sha1').update(`${kind} ${Buffer.byteLength(content)}\0${content}`).digest('hex');
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

const notFound = () => new HttpFailure(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
const unprocessable = (message: string, errors?: unknown[]) =>
  new HttpFailure(422, { message, ...(errors ? { errors } : {}), documentation_url: DOCS, status: '422' });

/** 403 with `x-ratelimit-remaining: 0`: the primary rate limit, resetting at `resetEpochSeconds`. */
export function rateLimitExhausted(resetEpochSeconds: number, status = 403): FailureSpec {
  return {
    status,
    headers: {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-used': '5000',
      'x-ratelimit-reset': String(resetEpochSeconds),
      'x-ratelimit-resource': 'core',
    },
    body: {
      message: 'API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.',
      documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
      status: String(status),
    },
  };
}

/** 429 (or 403) secondary rate limit with `retry-after`. */
export function secondaryRateLimit(retryAfterSeconds: number, status = 429): FailureSpec {
  return {
    status,
    headers: { 'retry-after': String(retryAfterSeconds) },
    body: {
      message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
      status: String(status),
    },
  };
}

/** A GitHub App as the fake knows it. */
export interface FakeAppOptions {
  appId: string;
  slug: string;
  /** The App's public key (PEM or KeyObject): the JWT's signature is verified with it. */
  publicKey: string | KeyObject;
  /** Installations: the repositories (`owner/name`) each covers and the permissions it was granted. */
  installations: { id: number; repositories: string[]; permissions: Record<string, 'read' | 'write' | 'admin'> }[];
  /** Lifetime of an issued token (GitHub: one hour). */
  tokenLifetimeMs: number;
}

/** An installation token the fake issued. */
export interface IssuedToken {
  token: string;
  installationId: number;
  /** `owner/name`, lower-case. */
  repositories: string[];
  permissions: Record<string, string>;
  issuedAt: number;
  expiresAt: number;
  /** Epoch ms of `DELETE /installation/token`, or null. */
  revokedAt: number | null;
  /** Requests authenticated with it (not counting its revocation). */
  uses: number;
}

const LEVEL: Record<string, number> = { read: 1, write: 2, admin: 3 };

/** The fake. `await start()` gives its base URL (use it as `GITHUB_API_URL`). */
export class FakeGitHub {
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** The token the fake accepts (`Authorization: token …` or `Bearer …`). */
  readonly token: string;
  private readonly repos = new Map<string, Repo>();
  private readonly failures: FailureSpec[] = [];
  private readonly server: http.Server;
  private nextId = 1000;
  private baseUrl = '';

  /** Installation tokens issued, in order (with `app`). */
  readonly issued: IssuedToken[] = [];
  /** App JWTs that failed verification, with the reason (with `app`). */
  readonly rejectedJwts: string[] = [];
  private readonly app: (FakeAppOptions & { key: KeyObject }) | null;

  /** Changes the lifetime of tokens issued from now on (with `app`). */
  setTokenLifetime(ms: number): void {
    if (this.app) this.app.tokenLifetimeMs = ms;
  }

  constructor(options: { token?: string; app?: FakeAppOptions } = {}) {
    this.token = options.token ?? 'ghp_faketoken0123456789';
    this.app = options.app
      ? { ...options.app, key: typeof options.app.publicKey === 'string' ? createPublicKey(options.app.publicKey) : options.app.publicKey }
      : null;
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
  }

  /** Starts listening on 127.0.0.1 (port 0 = free port by default); resolves to the base URL. */
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

  /** Requests that could change state: any method but GET/HEAD, except a GraphQL query (only a `mutation` writes). */
  writes(): RecordedRequest[] {
    const query = (r: RecordedRequest) => r.path === '/graphql' && !/^\s*mutation\b/.test(String((r.body as { query?: unknown } | undefined)?.query ?? ''));
    return this.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD' && !query(r));
  }

  /** Forgets recorded requests (state stays). */
  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Requests recorded since the last `clearRequests`, and the bytes of their bodies. */
  stats(): RequestStats {
    return requestStats(this.requests);
  }

  /** Queues a scripted failure; see `rateLimitExhausted`, `secondaryRateLimit`. */
  failNext(spec: FailureSpec): void {
    this.failures.push({ times: 1, ...spec });
  }

  /**
   * Creates a repository whose `defaultBranch` holds one commit with `files`: path → content (or
   * `{content, mode}`), as a record or any iterable of pairs — a generator keeps a 100,000-file
   * seed from being built twice. `modes` sets modes by path, as FakeGitea's `addRepo` takes them.
   * Replaces a repository of the same name.
   */
  addRepo(
    owner: string,
    name: string,
    options: { defaultBranch?: string; files?: Record<string, SeedFile> | Iterable<readonly [string, SeedFile]>; modes?: Record<string, string> } = {},
  ): void {
    const repo: Repo = { owner, name, blobs: new Map(), trees: new Map(), commits: new Map(), refs: new Map(), pulls: [] };
    this.repos.set(`${owner}/${name}`.toLowerCase(), repo);
    const files = options.files ?? { 'README.md': `# ${name}\n` };
    const pairs: Iterable<readonly [string, SeedFile]> = Symbol.iterator in files ? (files as Iterable<readonly [string, SeedFile]>) : Object.entries(files);
    // Nested directories first, then one tree object per directory, bottom-up.
    type Dir = Map<string, Dir | Omit<TreeEntry, 'name'>>;
    const root: Dir = new Map();
    for (const [path, file] of pairs) {
      const segs = path.split('/');
      let dir = root;
      for (const seg of segs.slice(0, -1)) {
        let next = dir.get(seg);
        if (!(next instanceof Map)) dir.set(seg, (next = new Map()));
        dir = next;
      }
      const { content, mode } = typeof file === 'string' ? { content: file, mode: options.modes?.[path] ?? '100644' } : file;
      dir.set(segs.at(-1)!, { mode, type: 'blob', sha: this.putBlob(repo, content) });
    }
    const write = (dir: Dir): string =>
      this.putTree(
        repo,
        [...dir].map(([n, v]) => (v instanceof Map ? { name: n, mode: '040000', type: 'tree' as const, sha: write(v) } : { name: n, ...v })),
      );
    const commit = this.putCommit(repo, write(root), [], 'Initial commit');
    repo.refs.set(`heads/${options.defaultBranch ?? 'main'}`, commit);
  }

  /** Adds a pull request directly (no branch needed); returns its number. */
  addPull(owner: string, name: string, seed: PullSeed): number {
    const repo = this.repo(owner, name);
    const number = this.nextIssueNumber(repo);
    repo.pulls.push({
      number,
      title: seed.title,
      body: seed.body ?? '',
      head: seed.head ?? `topic-${number}`,
      base: seed.base ?? 'main',
      state: seed.state ?? (seed.merged ? 'closed' : 'open'),
      merged: seed.merged ?? false,
      mergeable: seed.mergeable === undefined ? true : seed.mergeable,
      labels: seed.labels ?? [],
      files: (seed.files ?? []).map((filename) => ({ filename, status: 'modified' as const })),
      reviews: (seed.reviews ?? []).map((r) => ({ id: this.nextId++, user: r.user, state: r.state, body: r.body ?? '', submittedAt: FIXED_TIME })),
      createdAt: FIXED_TIME,
    });
    return number;
  }

  /** Branch names (without `heads/`) of a repository. */
  branches(owner: string, name: string): string[] {
    return [...this.repo(owner, name).refs.keys()].filter((r) => r.startsWith('heads/')).map((r) => r.slice(6));
  }

  /** Files (path → content) at the tip of `branch`, or `undefined` when the branch does not exist. */
  filesAt(owner: string, name: string, branch: string): Record<string, string> | undefined {
    const repo = this.repo(owner, name);
    const sha = repo.refs.get(`heads/${branch}`);
    if (!sha) return undefined;
    const out: Record<string, string> = {};
    for (const e of this.walk(repo, repo.commits.get(sha)!.tree)) if (e.type !== 'tree') out[e.path] = repo.blobs.get(e.sha) ?? '';
    return out;
  }

  /** Git mode of `path` at the tip of `branch` (`100644`, `100755`, …), or `undefined`. */
  modeAt(owner: string, name: string, branch: string, path: string): string | undefined {
    const repo = this.repo(owner, name);
    const sha = repo.refs.get(`heads/${branch}`);
    if (!sha) return undefined;
    for (const e of this.walk(repo, repo.commits.get(sha)!.tree)) if (e.path === path) return e.mode;
    return undefined;
  }

  /** Commit messages and parent counts from `branch` back to the root (newest first). */
  history(owner: string, name: string, branch: string): { message: string; parents: number }[] {
    const repo = this.repo(owner, name);
    const out: { message: string; parents: number }[] = [];
    let sha = repo.refs.get(`heads/${branch}`);
    while (sha) {
      const c = repo.commits.get(sha)!;
      out.push({ message: c.message, parents: c.parents.length });
      sha = c.parents[0];
    }
    return out;
  }

  /** The pull requests of a repository as the fake holds them. */
  pulls(owner: string, name: string): Readonly<Pull>[] {
    return this.repo(owner, name).pulls;
  }

  private repo(owner: string, name: string): Repo {
    const repo = this.repos.get(`${owner}/${name}`.toLowerCase());
    if (!repo) throw notFound();
    return repo;
  }

  private nextIssueNumber(repo: Repo): number {
    return repo.pulls.reduce((m, p) => Math.max(m, p.number), 0) + 1;
  }

  private putBlob(repo: Repo, content: string): string {
    const sha = gitSha('blob', content);
    repo.blobs.set(sha, content);
    return sha;
  }

  private putTree(repo: Repo, entries: TreeEntry[]): string {
    const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const sha = gitSha('tree', sorted.map((e) => `${e.mode} ${e.name}\0${e.sha}`).join(''));
    repo.trees.set(sha, sorted);
    return sha;
  }

  /** Every entry under tree `sha`, depth first, with its path; directories before their contents. */
  private *walk(repo: Repo, sha: string, prefix = ''): Generator<TreeEntry & { path: string }> {
    for (const e of repo.trees.get(sha) ?? []) {
      const path = prefix + e.name;
      yield { ...e, path };
      if (e.type === 'tree') yield* this.walk(repo, e.sha, `${path}/`);
    }
  }

  /**
   * Applies `edits` to tree `baseSha` (or an empty tree) and stores the trees along the edited
   * paths only; untouched subtrees keep their sha. Returns the new tree's sha, or `undefined` when
   * a directory ends up empty (git keeps no empty trees). A delete of a missing path is GitHub's 422.
   */
  private editTree(repo: Repo, baseSha: string | undefined, edits: TreeEdit[], depth = 0): string | undefined {
    const entries = new Map((baseSha ? repo.trees.get(baseSha)! : []).map((e) => [e.name, e]));
    const nested = new Map<string, TreeEdit[]>();
    for (const edit of edits) {
      const name = edit.segs[depth]!;
      if (depth < edit.segs.length - 1) {
        nested.set(name, [...(nested.get(name) ?? []), edit]);
      } else if (edit.entry === null) {
        if (!entries.delete(name)) throw unprocessable(`GitTree: tree.path '${edit.path}' does not exist in base_tree`);
      } else {
        entries.set(name, { name, ...edit.entry });
      }
    }
    for (const [name, sub] of nested) {
      const cur = entries.get(name);
      const base = cur?.type === 'tree' ? cur.sha : undefined;
      if (!base && sub.some((e) => e.entry === null)) throw unprocessable(`GitTree: tree.path '${sub.find((e) => e.entry === null)!.path}' does not exist in base_tree`);
      const sha = this.editTree(repo, base, sub, depth + 1);
      if (sha === undefined) entries.delete(name);
      else entries.set(name, { name, mode: '040000', type: 'tree', sha });
    }
    if (entries.size === 0 && depth > 0) return undefined;
    return this.putTree(repo, [...entries.values()]);
  }

  private putCommit(repo: Repo, tree: string, parents: string[], message: string): string {
    const sha = gitSha('commit', `tree ${tree}\n${parents.map((p) => `parent ${p}\n`).join('')}\n${message}\n${this.nextId++}`);
    repo.commits.set(sha, { tree, parents, message });
    return sha;
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
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'x-github-api-version-selected': '2022-11-28',
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '4999',
        'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
        'x-ratelimit-used': '1',
        'x-ratelimit-resource': 'core',
        ...headers,
      });
      res.end(text);
    };

    const failure = this.takeFailure(method, url.pathname);
    if (failure?.stall) return;
    if (failure) return send(failure.status, failure.body ?? { message: 'Injected failure', documentation_url: DOCS }, failure.headers);

    const auth = req.headers.authorization ?? '';
    const m = /^(?:token|bearer)\s+(.+)$/i.exec(auth);
    if (!m) return send(401, { message: 'Requires authentication', documentation_url: DOCS, status: '401' });
    const badCredentials = () => send(401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
    if (this.app && m[1]!.split('.').length === 3) {
      // An App JWT: only the App endpoints take one.
      const why = this.verifyJwt(m[1]!);
      if (why) {
        this.rejectedJwts.push(why);
        return send(401, { message: `A JSON web token could not be decoded (${why})`, documentation_url: DOCS, status: '401' });
      }
      try {
        const out = this.appRoute(method, url, body);
        return send(out.status, out.body);
      } catch (err) {
        if (err instanceof HttpFailure) return send(err.status, err.body, err.headers);
        return send(500, { message: `fake error: ${(err as Error).message}` });
      }
    }
    if (m[1] !== this.token) {
      const issued = this.issued.find((t) => t.token === m[1]);
      if (!issued || issued.revokedAt !== null || issued.expiresAt <= Date.now()) return badCredentials();
      if (method === 'DELETE' && url.pathname === '/installation/token') {
        issued.revokedAt = Date.now();
        res.writeHead(204);
        return void res.end();
      }
      if (method === 'POST' && url.pathname === '/graphql') {
        issued.uses++;
        return send(200, this.graphqlRoute(body, (full) => issued.repositories.includes(full)), { 'x-ratelimit-resource': 'graphql' });
      }
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const full = `${parts[1] ?? ''}/${parts[2] ?? ''}`.toLowerCase();
      if (parts[0] !== 'repos' || !issued.repositories.includes(full)) return send(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
      issued.uses++;
    } else if (method === 'POST' && url.pathname === '/graphql') {
      return send(200, this.graphqlRoute(body, () => true), { 'x-ratelimit-resource': 'graphql' });
    }

    try {
      const out = this.route(method, url, body);
      if (out.link) return send(out.status, out.body, { link: out.link });
      return send(out.status, out.body);
    } catch (err) {
      if (err instanceof HttpFailure) return send(err.status, err.body, err.headers);
      return send(500, { message: `fake error: ${(err as Error).message}` });
    }
  }

  /**
   * `POST /graphql` (GitHub answers 200 with `data` and/or `errors`, GraphQL's partial results; an
   * error carries GitHub's `type`, e.g. `NOT_FOUND`, beside `path` and `message`). `canSee` says
   * whether the token reaches a repository (`owner/name`, lower case): an installation token sees
   * only its own, and any other is "Could not resolve", as on GitHub.
   */
  private graphqlRoute(body: unknown, canSee: (full: string) => boolean): unknown {
    const b = (body ?? {}) as { query?: unknown; variables?: unknown };
    if (typeof b.query !== 'string') return { errors: [{ message: 'A query attribute must be specified and must be a string.' }] };
    const repository = ({ owner, name }: { owner: string; name: string }) => {
      const full = `${owner}/${name}`.toLowerCase();
      const repo = this.repos.get(full);
      if (!repo || !canSee(full)) throw new GraphQLError(`Could not resolve to a Repository with the name '${owner}/${name}'.`, { extensions: { type: 'NOT_FOUND' } });
      return {
        name: repo.name,
        nameWithOwner: `${repo.owner}/${repo.name}`,
        ref: ({ qualifiedName }: { qualifiedName: string }) => {
          const ref = qualifiedName.replace(/^refs\//, '');
          const slash = ref.indexOf('/');
          return repo.refs.has(ref) ? { name: ref.slice(slash + 1), prefix: `refs/${ref.slice(0, slash)}/` } : null;
        },
        object: ({ oid }: { oid?: string }) => {
          const commit = oid ? repo.commits.get(oid) : undefined;
          if (!commit) return null;
          return { __typename: 'Commit', oid, message: commit.message, file: ({ path }: { path: string }) => this.entryAt(repo, commit.tree, path) };
        },
      };
    };
    const result = graphqlSync({ schema: GRAPHQL_SCHEMA, source: b.query, variableValues: (b.variables ?? {}) as Record<string, unknown>, rootValue: { repository } });
    return {
      ...(result.data !== undefined ? { data: result.data } : {}),
      ...(result.errors
        ? {
            errors: result.errors.map((e) => ({
              ...(typeof e.extensions?.type === 'string' ? { type: e.extensions.type } : {}),
              ...(e.path ? { path: e.path } : {}),
              ...(e.locations ? { locations: e.locations } : {}),
              message: e.message,
            })),
          }
        : {}),
    };
  }

  /** The `TreeEntry` (GraphQL shape, `mode` an Int) at `path` under tree `sha`, or null. */
  private entryAt(repo: Repo, sha: string, path: string): { name: string; path: string; type: string; mode: number; oid: string } | null {
    const segs = path.split('/');
    let tree = sha;
    for (let i = 0; i < segs.length; i++) {
      const e = repo.trees.get(tree)?.find((x) => x.name === segs[i]);
      if (!e) return null;
      if (i === segs.length - 1) return { name: e.name, path, type: e.type, mode: parseInt(e.mode, 8), oid: e.sha };
      if (e.type !== 'tree') return null;
      tree = e.sha;
    }
    return null;
  }

  /** Why an App JWT is refused, or null when it is good: RS256 signed by the App's key, `iss` the App, in date. */
  private verifyJwt(jwt: string): string | null {
    const app = this.app!;
    const [h, p, sig] = jwt.split('.') as [string, string, string];
    let header: { alg?: string };
    let payload: { iss?: unknown; iat?: number; exp?: number };
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as typeof header;
      payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as typeof payload;
    } catch {
      return 'not JSON';
    }
    if (header.alg !== 'RS256') return `alg ${String(header.alg)}, expected RS256`;
    if (!verify('sha256', Buffer.from(`${h}.${p}`), app.key, Buffer.from(sig, 'base64url'))) return 'bad signature';
    if (String(payload.iss) !== app.appId) return `iss ${String(payload.iss)} is not the App`;
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.exp !== 'number' || payload.exp <= now) return 'expired';
    if (typeof payload.iat !== 'number' || payload.iat > now + 60) return 'iat in the future';
    if (payload.exp - payload.iat > 600) return "'exp' is too far in the future";
    return null;
  }

  /** The App endpoints (JWT-authenticated). */
  private appRoute(method: string, url: URL, body: unknown): { status: number; body: unknown } {
    const app = this.app!;
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (method === 'GET' && url.pathname === '/app') return { status: 200, body: { id: Number(app.appId), slug: app.slug, name: app.slug } };
    if (method === 'GET' && parts[0] === 'repos' && parts.length === 4 && parts[3] === 'installation') {
      const full = `${parts[1]}/${parts[2]}`.toLowerCase();
      const inst = app.installations.find((i) => i.repositories.some((r) => r.toLowerCase() === full));
      if (!inst) throw notFound();
      return { status: 200, body: { id: inst.id, app_id: Number(app.appId), app_slug: app.slug, account: { login: parts[1] }, permissions: inst.permissions, repository_selection: 'selected' } };
    }
    if (method === 'POST' && parts[0] === 'app' && parts[1] === 'installations' && parts[3] === 'access_tokens' && parts.length === 4) {
      const inst = app.installations.find((i) => String(i.id) === parts[2]);
      if (!inst) throw notFound();
      const b = (body ?? {}) as { repositories?: string[]; permissions?: Record<string, string> };
      const owner = inst.repositories[0]!.split('/')[0]!.toLowerCase();
      const covered = new Set(inst.repositories.map((r) => r.toLowerCase()));
      const repositories = (b.repositories ?? inst.repositories.map((r) => r.split('/')[1]!)).map((n) => `${owner}/${n.toLowerCase()}`);
      if (repositories.some((r) => !covered.has(r))) throw unprocessable('There is at least one repository that does not exist or is not accessible to the parent installation.');
      const permissions = b.permissions ?? inst.permissions;
      for (const [name, level] of Object.entries(permissions)) {
        if ((LEVEL[inst.permissions[name] ?? ''] ?? 0) < (LEVEL[level] ?? 9)) throw unprocessable('The permissions requested are not granted to this installation.');
      }
      const issuedAt = Date.now();
      const token: IssuedToken = {
        token: `ghs_${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x')}`,
        installationId: inst.id,
        repositories,
        permissions: { ...permissions },
        issuedAt,
        expiresAt: issuedAt + app.tokenLifetimeMs,
        revokedAt: null,
        uses: 0,
      };
      this.issued.push(token);
      return {
        status: 201,
        body: {
          token: token.token,
          expires_at: new Date(token.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          permissions: token.permissions,
          repository_selection: 'selected',
          repositories: repositories.map((r, i) => ({ id: 5000 + i, name: r.split('/')[1], full_name: r })),
        },
      };
    }
    throw notFound();
  }

  private page<T>(url: URL, items: T[]): { status: number; body: T[]; link?: string } {
    const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const body = items.slice((page - 1) * perPage, page * perPage);
    const at = (p: number) => {
      const u = new URL(url.pathname + url.search, this.baseUrl);
      u.searchParams.set('per_page', String(perPage));
      u.searchParams.set('page', String(p));
      return u.toString();
    };
    const links: string[] = [];
    if (page < last) links.push(`<${at(page + 1)}>; rel="next"`, `<${at(last)}>; rel="last"`);
    if (page > 1) links.push(`<${at(1)}>; rel="first"`, `<${at(page - 1)}>; rel="prev"`);
    return links.length ? { status: 200, body, link: links.join(', ') } : { status: 200, body };
  }

  private route(method: string, url: URL, body: unknown): { status: number; body: unknown; link?: string } {
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'repos' || parts.length < 3) throw notFound();
    const repo = this.repo(parts[1]!, parts[2]!);
    const rest = parts.slice(3);
    const b = (body ?? {}) as Record<string, unknown>;
    const api = `${this.baseUrl}/repos/${repo.owner}/${repo.name}`;
    const key = `${method} ${rest[0] ?? ''}/${rest[1] ?? ''}`;

    // --- git data -------------------------------------------------------------------------------
    if (method === 'GET' && rest[0] === 'git' && rest[1] === 'ref') {
      const ref = rest.slice(2).join('/');
      const sha = repo.refs.get(ref);
      if (!sha) throw notFound();
      return { status: 200, body: this.refJson(api, ref, sha) };
    }
    if (key === 'POST git/refs' && rest.length === 2) {
      const ref = String(b.ref ?? '');
      const sha = String(b.sha ?? '');
      if (!ref.startsWith('refs/') || ref.split('/').length < 3) {
        throw unprocessable("Reference name must start with 'refs/' and have at least two slashes.");
      }
      if (!repo.commits.has(sha)) throw unprocessable('Object does not exist');
      const short = ref.slice(5);
      if (repo.refs.has(short)) throw unprocessable('Reference already exists');
      repo.refs.set(short, sha);
      return { status: 201, body: this.refJson(api, short, sha) };
    }
    if (method === 'DELETE' && rest[0] === 'git' && rest[1] === 'refs') {
      const ref = rest.slice(2).join('/');
      if (!repo.refs.delete(ref)) throw unprocessable('Reference does not exist');
      return { status: 204, body: undefined };
    }
    if (key === 'POST git/blobs') {
      if (typeof b.content !== 'string') throw unprocessable('Invalid request.\n\n"content" wasn\'t supplied.');
      const content = b.encoding === 'base64' ? Buffer.from(b.content, 'base64').toString('utf8') : b.content;
      const sha = this.putBlob(repo, content);
      return { status: 201, body: { url: `${api}/git/blobs/${sha}`, sha } };
    }
    if (method === 'GET' && rest[0] === 'git' && rest[1] === 'commits' && rest[2]) {
      const c = repo.commits.get(rest[2]);
      if (!c) throw notFound();
      return { status: 200, body: this.commitJson(api, rest[2], c) };
    }
    if (key === 'POST git/commits') {
      const tree = String(b.tree ?? '');
      const parents = Array.isArray(b.parents) ? b.parents.map(String) : [];
      if (!repo.trees.has(tree)) throw unprocessable('Tree SHA does not exist');
      if (parents.some((p) => !repo.commits.has(p))) throw unprocessable('Parent SHA does not exist or is not a commit object');
      const sha = this.putCommit(repo, tree, parents, String(b.message ?? ''));
      return { status: 201, body: this.commitJson(api, sha, repo.commits.get(sha)!) };
    }
    if (method === 'GET' && rest[0] === 'git' && rest[1] === 'trees' && rest[2]) {
      if (!repo.trees.has(rest[2])) throw notFound();
      // GitHub: any value of `recursive` turns it on; absent means one directory.
      return { status: 200, body: this.treeJson(repo, api, rest[2], url.searchParams.has('recursive')) };
    }
    if (key === 'POST git/trees') {
      if (b.base_tree !== undefined && !repo.trees.has(String(b.base_tree))) throw unprocessable('base_tree is not a valid tree oid');
      const edits: TreeEdit[] = [];
      for (const item of Array.isArray(b.tree) ? (b.tree as Record<string, unknown>[]) : []) {
        const path = String(item.path ?? '');
        const mode = String(item.mode ?? '100644');
        if (item.sha !== undefined && item.content !== undefined) throw unprocessable('Must supply either tree.sha or tree.content. Request will be rejected if both are present.');
        let entry: TreeEdit['entry'];
        if (item.sha === null) {
          entry = null;
        } else if (typeof item.content === 'string') {
          entry = { mode, type: 'blob', sha: this.putBlob(repo, item.content) };
        } else {
          const sha = String(item.sha ?? '');
          const type = item.type === 'tree' ? 'tree' : 'blob';
          if (type === 'blob' ? !repo.blobs.has(sha) : !repo.trees.has(sha)) throw unprocessable(`tree.sha ${sha} is not a valid ${type}`);
          entry = { mode, type, sha };
        }
        edits.push({ segs: path.split('/'), path, entry });
      }
      const sha = this.editTree(repo, b.base_tree === undefined ? undefined : String(b.base_tree), edits)!;
      // The new tree as "Get a tree" (non-recursive) shows it.
      return { status: 201, body: this.treeJson(repo, api, sha, false) };
    }

    // --- branches -------------------------------------------------------------------------------
    if (method === 'GET' && rest[0] === 'branches' && rest[1]) {
      const branch = rest.slice(1).join('/');
      const sha = repo.refs.get(`heads/${branch}`);
      if (!sha) throw new HttpFailure(404, { message: 'Branch not found', documentation_url: `${DOCS}/branches/branches#get-a-branch`, status: '404' });
      return { status: 200, body: this.branchJson(api, branch, sha, repo.commits.get(sha)!) };
    }

    // --- pulls ----------------------------------------------------------------------------------
    if (key === 'GET pulls/' && rest.length === 1) {
      const state = url.searchParams.get('state') ?? 'open';
      const list = repo.pulls.filter((p) => state === 'all' || p.state === state).sort((x, y) => y.number - x.number);
      return this.page(url, list.map((p) => this.pullJson(api, repo, p, false)));
    }
    if (key === 'POST pulls/' && rest.length === 1) {
      const head = String(b.head ?? '');
      const base = String(b.base ?? '');
      const headRef = head.includes(':') ? head.split(':')[1]! : head;
      if (!b.title) throw unprocessable('Validation Failed', [{ resource: 'PullRequest', field: 'title', code: 'missing_field' }]);
      if (!repo.refs.has(`heads/${headRef}`)) throw unprocessable('Validation Failed', [{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
      if (!repo.refs.has(`heads/${base}`)) throw unprocessable('Validation Failed', [{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
      if (repo.pulls.some((p) => p.state === 'open' && p.head === headRef)) {
        throw unprocessable('Validation Failed', [
          { resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${repo.owner}:${headRef}.` },
        ]);
      }
      const pull: Pull = {
        number: this.nextIssueNumber(repo),
        title: String(b.title),
        body: String(b.body ?? ''),
        head: headRef,
        base,
        state: 'open',
        merged: false,
        mergeable: true,
        labels: [],
        files: this.diff(repo, base, headRef),
        reviews: [],
        createdAt: new Date().toISOString(),
      };
      repo.pulls.push(pull);
      return { status: 201, body: this.pullJson(api, repo, pull, true) };
    }
    if (rest[0] === 'pulls' && rest[1]) {
      const pull = repo.pulls.find((p) => p.number === Number(rest[1]));
      if (!pull) throw notFound();
      if (method === 'GET' && rest.length === 2) return { status: 200, body: this.pullJson(api, repo, pull, true) };
      if (method === 'GET' && rest[2] === 'files') {
        return this.page(
          url,
          pull.files.map((f) => ({
            sha: gitSha('blob', f.filename),
            filename: f.filename,
            status: f.status,
            additions: 1,
            deletions: f.status === 'added' ? 0 : 1,
            changes: f.status === 'added' ? 1 : 2,
            blob_url: `${api}/blob/${pull.head}/${f.filename}`,
            raw_url: `${api}/raw/${pull.head}/${f.filename}`,
            contents_url: `${api}/contents/${f.filename}?ref=${pull.head}`,
            patch: '@@ -1 +1 @@',
          })),
        );
      }
      if (method === 'GET' && rest[2] === 'reviews') {
        return this.page(
          url,
          pull.reviews.map((r) => ({
            id: r.id,
            node_id: `PRR_${r.id}`,
            user: { login: r.user, id: 1, type: 'User' },
            body: r.body,
            state: r.state,
            html_url: `${api}/pull/${pull.number}#pullrequestreview-${r.id}`,
            pull_request_url: `${api}/pulls/${pull.number}`,
            submitted_at: r.submittedAt,
            commit_id: '0'.repeat(40),
            author_association: 'COLLABORATOR',
          })),
        );
      }
    }

    // --- labels ---------------------------------------------------------------------------------
    if (method === 'POST' && rest[0] === 'issues' && rest[2] === 'labels') {
      const pull = repo.pulls.find((p) => p.number === Number(rest[1]));
      if (!pull) throw notFound();
      const labels = Array.isArray(b.labels) ? b.labels.map(String) : [];
      if (labels.length === 0) throw unprocessable('Validation Failed', [{ resource: 'Label', field: 'labels', code: 'missing_field' }]);
      for (const l of labels) if (!pull.labels.includes(l)) pull.labels.push(l);
      return { status: 200, body: pull.labels.map((l) => this.labelJson(api, l)) };
    }
    throw notFound();
  }

  /** Files that differ between two branches, comparing trees by sha so equal subtrees are skipped. */
  private diff(repo: Repo, base: string, head: string): Pull['files'] {
    const treeOf = (branch: string) => repo.commits.get(repo.refs.get(`heads/${branch}`)!)!.tree;
    const out: Pull['files'] = [];
    const compare = (a: string | undefined, z: string | undefined, prefix: string) => {
      if (a === z) return;
      const as = new Map((a ? repo.trees.get(a)! : []).map((e) => [e.name, e]));
      const zs = new Map((z ? repo.trees.get(z)! : []).map((e) => [e.name, e]));
      for (const name of new Set([...as.keys(), ...zs.keys()])) {
        const x = as.get(name);
        const y = zs.get(name);
        const path = prefix + name;
        if (x?.type === 'tree' || y?.type === 'tree') {
          compare(x?.type === 'tree' ? x.sha : undefined, y?.type === 'tree' ? y.sha : undefined, `${path}/`);
          if (x && x.type !== 'tree') out.push({ filename: path, status: 'removed' });
          if (y && y.type !== 'tree') out.push({ filename: path, status: 'added' });
        } else if (!x && y) out.push({ filename: path, status: 'added' });
        else if (x && !y) out.push({ filename: path, status: 'removed' });
        else if (x!.sha !== y!.sha) out.push({ filename: path, status: 'modified' });
      }
    };
    compare(treeOf(base), treeOf(head), '');
    return out.sort((x, y) => (x.filename < y.filename ? -1 : 1));
  }

  private refJson(api: string, ref: string, sha: string) {
    return { ref: `refs/${ref}`, node_id: `REF_${sha.slice(0, 8)}`, url: `${api}/git/refs/${ref}`, object: { type: 'commit', sha, url: `${api}/git/commits/${sha}` } };
  }

  private commitJson(api: string, sha: string, c: { tree: string; parents: string[]; message: string }) {
    const who = { name: 'tongs', email: 'tongs@example.com', date: FIXED_TIME };
    return {
      sha,
      node_id: `C_${sha.slice(0, 8)}`,
      url: `${api}/git/commits/${sha}`,
      html_url: `${api}/commit/${sha}`,
      author: who,
      committer: who,
      message: c.message,
      tree: { sha: c.tree, url: `${api}/git/trees/${c.tree}` },
      parents: c.parents.map((p) => ({ sha: p, url: `${api}/git/commits/${p}`, html_url: `${api}/commit/${p}` })),
      verification: { verified: false, reason: 'unsigned', signature: null, payload: null },
    };
  }

  /**
   * "Get a tree": one directory's entries (`path` is the name), or with `recursive` every entry
   * below with full paths, stopping at 100,000 entries with `truncated: true` as GitHub does.
   */
  private treeJson(repo: Repo, api: string, sha: string, recursive: boolean) {
    const entries: (TreeEntry & { path: string })[] = [];
    let truncated = false;
    if (recursive) {
      for (const e of this.walk(repo, sha)) {
        if (entries.length === RECURSIVE_TREE_LIMIT) {
          truncated = true;
          break;
        }
        entries.push(e);
      }
    } else {
      for (const e of repo.trees.get(sha)!) entries.push({ ...e, path: e.name });
    }
    const tree = entries.map((e) =>
      e.type === 'blob'
        ? { path: e.path, mode: e.mode, type: e.type, sha: e.sha, size: Buffer.byteLength(repo.blobs.get(e.sha) ?? ''), url: `${api}/git/blobs/${e.sha}` }
        : { path: e.path, mode: e.mode, type: e.type, sha: e.sha, url: `${api}/git/trees/${e.sha}` },
    );
    return { sha, url: `${api}/git/trees/${sha}`, tree, truncated };
  }

  /** "Get a branch" (`branch-with-protection`): the tip commit as the commits API shows it, unprotected. */
  private branchJson(api: string, branch: string, sha: string, c: { tree: string; parents: string[]; message: string }) {
    const web = api.replace('/repos/', '/');
    const who = { name: 'tongs', email: 'tongs@example.com', date: FIXED_TIME };
    const user = { login: 'tongs-bot', id: 2, node_id: 'U_2', type: 'User', site_admin: false };
    return {
      name: branch,
      commit: {
        sha,
        node_id: `C_${sha.slice(0, 8)}`,
        commit: {
          author: who,
          committer: who,
          message: c.message,
          tree: { sha: c.tree, url: `${api}/git/trees/${c.tree}` },
          url: `${api}/git/commits/${sha}`,
          comment_count: 0,
          verification: { verified: false, reason: 'unsigned', signature: null, payload: null },
        },
        url: `${api}/commits/${sha}`,
        html_url: `${web}/commit/${sha}`,
        comments_url: `${api}/commits/${sha}/comments`,
        author: user,
        committer: user,
        parents: c.parents.map((p) => ({ sha: p, url: `${api}/commits/${p}`, html_url: `${web}/commit/${p}` })),
      },
      _links: { self: `${api}/branches/${branch}`, html: `${web}/tree/${branch}` },
      protected: false,
      protection: { enabled: false, required_status_checks: { enforcement_level: 'off', contexts: [], checks: [] } },
      protection_url: `${api}/branches/${branch}/protection`,
    };
  }

  private labelJson(api: string, name: string) {
    return { id: gitSha('label', name).length, node_id: `LA_${name}`, url: `${api}/labels/${encodeURIComponent(name)}`, name, color: 'ededed', default: false, description: null };
  }

  private pullJson(api: string, repo: Repo, p: Pull, full: boolean) {
    const web = api.replace('/repos/', '/');
    const branch = (ref: string) => ({
      label: `${repo.owner}:${ref}`,
      ref,
      sha: repo.refs.get(`heads/${ref}`) ?? '0'.repeat(40),
      user: { login: repo.owner, id: 1, type: 'User' },
      repo: { id: 1, name: repo.name, full_name: `${repo.owner}/${repo.name}`, owner: { login: repo.owner, id: 1, type: 'User' }, private: false },
    });
    const closedAt = p.state === 'closed' ? FIXED_TIME : null;
    return {
      url: `${api}/pulls/${p.number}`,
      id: p.number + 100000,
      node_id: `PR_${p.number}`,
      html_url: `${web}/pull/${p.number}`,
      diff_url: `${web}/pull/${p.number}.diff`,
      patch_url: `${web}/pull/${p.number}.patch`,
      issue_url: `${api}/issues/${p.number}`,
      number: p.number,
      state: p.state,
      locked: false,
      title: p.title,
      user: { login: 'tongs-bot', id: 2, type: 'User' },
      body: p.body,
      labels: p.labels.map((l) => this.labelJson(api, l)),
      created_at: p.createdAt,
      updated_at: p.createdAt,
      closed_at: closedAt,
      merged_at: p.merged ? FIXED_TIME : null,
      merge_commit_sha: null,
      assignees: [],
      requested_reviewers: [],
      head: branch(p.head),
      base: branch(p.base),
      draft: false,
      author_association: 'OWNER',
      ...(full
        ? {
            merged: p.merged,
            mergeable: p.mergeable,
            mergeable_state: p.mergeable === null ? 'unknown' : p.mergeable ? 'clean' : 'dirty',
            comments: 0,
            review_comments: 0,
            commits: 1,
            additions: p.files.length,
            deletions: 0,
            changed_files: p.files.length,
          }
        : {}),
    };
  }
}

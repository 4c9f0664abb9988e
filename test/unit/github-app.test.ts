/**
 * The `github-app` secret provider (issue #15 item 2), without Docker: origin parsing and references
 * (launcher/core/github-app.ts), `github_app` in the definition schema, minting against the GitHub
 * fake (which verifies the App JWT's RS256 signature with the App's public key and checks the
 * repository and permissions asked for), the errors that fail a launch, the refresh and revoke
 * cycle of one session, the sealed session record and gc's revocation from it, the refresh script
 * on a host directory, and the GitHub tong's token file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FakeGitHub } from '../fakes/github-api.js';
import {
  apiUrlForHost,
  githubAppPermissions,
  missingPermissions,
  parseGitHubAppRef,
  parseGitHubRemote,
  refreshDelayMs,
  webHostForApiUrl,
} from '../../launcher/core/github-app.js';
import { TongDefinitionSchema } from '../../launcher/core/definition-schema.js';
import { SecretError } from '../../launcher/errors.js';
import {
  appApiUrl,
  GitHubAppSession,
  mintInstallationToken,
  readAppCredentials,
  revokeDeadSessionTokens,
  unsealToken,
} from '../../launcher/shell/gather/github-app-provider.js';
import { refreshScript, deliverRefreshedSecret, SECRET_DIR } from '../../launcher/shell/apply/secret-delivery.js';
import { createTokenSource } from '../../sidecars/github/src/token-file.js';
import type { PlannedTong } from '../../launcher/core/plan-types.js';
import type { TongDefinition } from '../../launcher/core/definition-schema.js';
import { summarizeTong } from '../../launcher/core/privilege-summary.js';
import { buildPlan } from '../support/plan-builder.js';

const run = promisify(execFile);

test('origin remotes: GitHub and GHES URL forms parse to host, owner and repository', () => {
  const cases: [string, ReturnType<typeof parseGitHubRemote>][] = [
    ['https://github.com/acme/api.git', { host: 'github.com', owner: 'acme', repo: 'api' }],
    ['https://github.com/acme/api', { host: 'github.com', owner: 'acme', repo: 'api' }],
    ['https://github.com/acme/api/', { host: 'github.com', owner: 'acme', repo: 'api' }],
    ['https://x-access-token:abc@github.com/acme/api.git', { host: 'github.com', owner: 'acme', repo: 'api' }],
    ['http://GHE.corp.example:8443/Team/my.repo.git', { host: 'ghe.corp.example', owner: 'Team', repo: 'my.repo' }],
    ['git@github.com:acme/api.git', { host: 'github.com', owner: 'acme', repo: 'api' }],
    ['git@ghe.corp:acme/api', { host: 'ghe.corp', owner: 'acme', repo: 'api' }],
    ['org-123@ssh.github.com:acme/api.git', { host: 'ssh.github.com', owner: 'acme', repo: 'api' }],
    ['ssh://git@github.com/acme/api.git', { host: 'github.com', owner: 'acme', repo: 'api' }],
    ['ssh://git@ghe.corp:2222/acme/api.git', { host: 'ghe.corp', owner: 'acme', repo: 'api' }],
    ['git+ssh://git@github.com/acme/api', { host: 'github.com', owner: 'acme', repo: 'api' }],
    ['git://github.com/acme/api.git', { host: 'github.com', owner: 'acme', repo: 'api' }],
    // Not a GitHub repository URL.
    ['https://github.com/acme', null],
    ['https://gitlab.com/group/sub/project.git', null],
    ['file:///srv/git/api.git', null],
    ['/srv/git/api.git', null],
    ['../api', null],
    ['https://github.com/acme/..', null],
    ['', null],
  ];
  for (const [url, want] of cases) assert.deepEqual(parseGitHubRemote(url), want, url);
});

test('references: OWNER/REPO or origin; the API of a host and back', () => {
  assert.deepEqual(parseGitHubAppRef('acme/api'), { owner: 'acme', repo: 'api' });
  assert.deepEqual(parseGitHubAppRef('acme/api.git'), { owner: 'acme', repo: 'api' });
  assert.equal(parseGitHubAppRef('origin'), 'origin');
  for (const bad of ['acme', 'acme/api/x', '/api', 'acme/', 'ac me/api', 'acme/..']) {
    const r = parseGitHubAppRef(bad);
    assert.ok(typeof r === 'object' && 'error' in r && r.error.includes('OWNER/REPO or origin'), bad);
  }
  assert.equal(apiUrlForHost('github.com'), 'https://api.github.com');
  assert.equal(apiUrlForHost('GHE.corp'), 'https://ghe.corp/api/v3');
  assert.equal(webHostForApiUrl('https://api.github.com'), 'github.com');
  assert.equal(webHostForApiUrl('https://ghe.corp/api/v3'), 'ghe.corp');
  assert.equal(appApiUrl({}, null), 'https://api.github.com');
  assert.equal(appApiUrl({}, 'ghe.corp'), 'https://ghe.corp/api/v3');
  assert.equal(appApiUrl({ GITHUB_API_URL: 'https://ghe.x/api/v3/' }, 'github.com'), 'https://ghe.x/api/v3');
  assert.equal(appApiUrl({ GITHUB_API_URL: 'https://a', TONGS_GITHUB_APP_API_URL: 'http://b:1' }, null), 'http://b:1');
});

test('permissions: the default, a definition\'s own list (metadata read always), what is missing, refresh at half-life', () => {
  assert.deepEqual(githubAppPermissions({}), { contents: 'write', metadata: 'read', pull_requests: 'write' });
  assert.deepEqual(githubAppPermissions({ github_app: { permissions: { issues: 'write', contents: 'read' } } }), {
    contents: 'read',
    issues: 'write',
    metadata: 'read',
  });
  assert.deepEqual(missingPermissions({ contents: 'write', issues: 'read' }, { contents: 'read', issues: 'admin' }), ['contents:write']);
  assert.deepEqual(missingPermissions({ contents: 'write' }, { contents: 'write' }), []);
  assert.equal(refreshDelayMs(0, 3_600_000, 0), 1_800_000);
  assert.equal(refreshDelayMs(0, 8_000, 3_000), 1_000);
  assert.equal(refreshDelayMs(0, 8_000, 7_900), 1_000, 'never sooner than a second');
});

test('schema: github_app.permissions takes GitHub permission names and read|write|admin', () => {
  const base = { image: 'x:1', env: { GITHUB_TOKEN: '${secret:github-app:acme/api}' } };
  assert.ok(TongDefinitionSchema.safeParse({ ...base, github_app: { permissions: { contents: 'write', pull_requests: 'read' } } }).success);
  assert.ok(TongDefinitionSchema.safeParse({ ...base, github_app: {} }).success);
  const bad = [
    { def: { ...base, github_app: { permissions: { contents: 'rw' } } }, message: /read, write or admin/ },
    { def: { ...base, github_app: { permissions: { 'Pull-Requests': 'write' } } }, message: /permission name/ },
    { def: { ...base, github_app: { scopes: [] } }, message: /unknown key; accepted keys: permissions/ },
    { def: { ...base, lifecycle: 'shared' }, message: /shared tong outlives the session/ },
  ];
  for (const { def, message } of bad) {
    const r = TongDefinitionSchema.safeParse(def);
    assert.ok(!r.success, JSON.stringify(def));
    assert.match(r.error.issues.map((i) => i.message).join('\n'), message);
  }
});

/** An App with a fresh key pair, installed on acme/api with contents+pull_requests write. */
function appFixture(lifetimeMs = 60_000) {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const fake = new FakeGitHub({
    app: {
      appId: '4242',
      slug: 'tongs-test-app',
      publicKey,
      installations: [
        { id: 77, repositories: ['acme/api', 'acme/web'], permissions: { contents: 'write', pull_requests: 'write', metadata: 'read', issues: 'read' } },
      ],
      tokenLifetimeMs: lifetimeMs,
    },
  });
  fake.addRepo('acme', 'api');
  fake.addRepo('acme', 'web');
  return { fake, privateKey, credentials: { appId: '4242', privateKey } };
}

const DEFAULT_PERMS = { contents: 'write', metadata: 'read', pull_requests: 'write' } as const;

test('minting: the fake verifies the JWT and issues a token for that repository and those permissions only', async (t) => {
  const { fake, credentials } = appFixture();
  const url = await fake.start();
  t.after(() => fake.close());
  const minted = await mintInstallationToken({ credentials, apiUrl: url, owner: 'acme', repo: 'api', permissions: { ...DEFAULT_PERMS } });
  assert.match(minted.token, /^ghs_/);
  assert.equal(minted.installationId, 77);
  assert.ok(minted.expiresAt > Date.now() + 50_000 && minted.expiresAt <= Date.now() + 60_000);
  assert.deepEqual(fake.rejectedJwts, []);
  assert.equal(fake.issued.length, 1);
  assert.deepEqual(fake.issued[0]!.repositories, ['acme/api']);
  assert.deepEqual(fake.issued[0]!.permissions, DEFAULT_PERMS);
  const tokenRequest = fake.requests.find((r) => r.path === '/app/installations/77/access_tokens')!;
  assert.deepEqual(tokenRequest.body, { repositories: ['api'], permissions: DEFAULT_PERMS });
  // The token works on its repository, not on the other one the App is installed on.
  const get = (repo: string) => fetch(`${url}/repos/acme/${repo}/git/ref/heads/main`, { headers: { authorization: `token ${minted.token}` } });
  assert.equal((await get('api')).status, 200);
  assert.equal((await get('web')).status, 404);
  // The same through GraphQL (create_pr's reads): GitHub answers 200 and "Could not resolve" for the other.
  const query = (repo: string) =>
    fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { authorization: `bearer ${minted.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query($o: String!, $n: String!) { repository(owner: $o, name: $n) { nameWithOwner } }', variables: { o: 'acme', n: repo } }),
    }).then((r) => r.json() as Promise<{ data?: { repository: unknown }; errors?: { type?: string; message: string }[] }>);
  assert.deepEqual((await query('api')).data, { repository: { nameWithOwner: 'acme/api' } });
  const other = await query('web');
  assert.deepEqual(other.data, { repository: null });
  assert.equal(other.errors?.[0]?.type, 'NOT_FOUND');
  assert.match(other.errors?.[0]?.message ?? '', /Could not resolve to a Repository with the name 'acme\/web'/);
});

test('errors name the App and the repository: not installed, permission not granted, wrong key, no key', async (t) => {
  const { fake, credentials } = appFixture();
  const url = await fake.start();
  t.after(() => fake.close());
  const mint = (over: Partial<Parameters<typeof mintInstallationToken>[0]>) =>
    mintInstallationToken({ credentials, apiUrl: url, owner: 'acme', repo: 'api', permissions: { ...DEFAULT_PERMS }, ...over });
  await assert.rejects(mint({ owner: 'other', repo: 'thing' }), (e: Error) => {
    assert.ok(e instanceof SecretError);
    assert.match(e.message, /GitHub App 'tongs-test-app' \(id 4242\) is not installed on other\/thing/);
    return true;
  });
  await assert.rejects(mint({ permissions: { contents: 'write', administration: 'write' } }), (e: Error) => {
    assert.ok(e instanceof SecretError);
    assert.match(e.message, /GitHub App 'tongs-test-app' \(id 4242\) on acme\/api: .*not granted .*administration:write/);
    return true;
  });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  await assert.rejects(mint({ credentials: { appId: '4242', privateKey: other.privateKey } }), (e: Error) => {
    assert.ok(e instanceof SecretError);
    assert.match(e.message, /GitHub App 4242 \(for acme\/api\): .* refused the App's JWT/);
    return true;
  });
  assert.ok(fake.rejectedJwts.includes('bad signature'));
  await assert.rejects(readAppCredentials({}, "tong 'github' env GITHUB_TOKEN"), /tong 'github' env GITHUB_TOKEN: no GitHub App id: set TONGS_GITHUB_APP_ID/);
  await assert.rejects(readAppCredentials({ TONGS_GITHUB_APP_ID: '4242' }, 'x'), /no private key for GitHub App 4242: set TONGS_GITHUB_APP_PRIVATE_KEY_PATH/);
  await assert.rejects(
    readAppCredentials({ TONGS_GITHUB_APP_ID: '4242', TONGS_GITHUB_APP_PRIVATE_KEY_PATH: '/nonexistent/key.pem' }, 'x'),
    /cannot read the private key of GitHub App 4242 from TONGS_GITHUB_APP_PRIVATE_KEY_PATH=\/nonexistent\/key.pem/,
  );
  assert.equal(fake.issued.length, 0, 'no token was issued by a failed mint');
});

function tong(name: string, secretEnv: Record<string, string>, permissions?: Record<string, 'read' | 'write'>): PlannedTong {
  return { name, lifecycle: 'session', secretEnv, ...(permissions ? { githubApp: { permissions } } : {}) } as unknown as PlannedTong;
}

test('a session mints at resolution, refreshes into the tong, records only sealed tokens, revokes all at close', async (t) => {
  const { fake, credentials, privateKey } = appFixture(4_000);
  const url = await fake.start();
  t.after(() => fake.close());
  const home = await mkdtemp(path.join(tmpdir(), 'tongs-app-home-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  const keyFile = path.join(home, 'app.pem');
  await writeFile(keyFile, privateKey, { mode: 0o600 });
  const env = { TONGS_GITHUB_APP_ID: '4242', TONGS_GITHUB_APP_PRIVATE_KEY_PATH: keyFile, GITHUB_API_URL: url };
  const warnings: string[] = [];
  const session = new GitHubAppSession({
    env, workspace: null, sessionId: 'abc123', launcher: { pid: process.pid, host: 'here' }, startedAt: '2026-01-01T00:00:00Z', home, warn: (l) => warnings.push(l),
  });
  const innerSaw: Record<string, string>[] = [];
  const resolve = session.wrap(async (tongs) => {
    innerSaw.push(...tongs.map((x) => x.secretEnv));
    return new Map(tongs.map((x) => [x.name, { ...x.secretEnv, OTHER: 'resolved' }]));
  });
  const out = await resolve([tong('github', { GITHUB_TOKEN: '${secret:github-app:acme/api}', OTHER: '${secret:env:X}' }, { ...DEFAULT_PERMS })]);
  assert.deepEqual(innerSaw, [{ OTHER: '${secret:env:X}' }], 'the inner resolver never sees the github-app reference');
  const first = fake.issued[0]!;
  assert.deepEqual(out.get('github'), { OTHER: 'resolved', GITHUB_TOKEN: first.token });

  const recordFile = path.join(home, 'sessions', 'abc123.json');
  const recordText = await readFile(recordFile, 'utf8');
  assert.ok(!recordText.includes(first.token), 'the record holds no token in plain text');
  assert.equal((await stat(recordFile)).mode & 0o777, 0o600);
  assert.equal((await stat(path.join(home, 'sessions'))).mode & 0o777, 0o700);
  const record = JSON.parse(recordText) as { githubApp: { tokens: { sealed: string; repository: string }[] } };
  assert.equal(unsealToken(credentials, record.githubApp.tokens[0]!.sealed), first.token);
  assert.equal(record.githubApp.tokens[0]!.repository, 'acme/api');

  const delivered: { id: string; name: string; value: string }[] = [];
  session.startRefresh({ containers: new Map([['github', 'cid1']]), deliver: async (id, name, value) => void delivered.push({ id, name, value }) });
  // Lifetime 4 s: refreshed at 2 s, then at 4 s.
  await new Promise((r) => setTimeout(r, 4_700));
  assert.ok(fake.issued.length >= 3, `refreshed twice: ${fake.issued.length} tokens`);
  assert.deepEqual(delivered.map((d) => [d.id, d.name, d.value]), fake.issued.slice(1).map((i) => ['cid1', 'GITHUB_TOKEN', i.token]));
  await session.close();
  const valid = fake.issued.filter((i) => i.expiresAt > Date.now());
  assert.ok(valid.length >= 1);
  assert.ok(valid.every((i) => i.revokedAt !== null), 'every token still valid was revoked');
  await assert.rejects(stat(recordFile), /ENOENT/, 'the record is gone once all are revoked');
  assert.deepEqual(warnings, []);
  const n = fake.issued.length;
  await new Promise((r) => setTimeout(r, 2_500));
  assert.equal(fake.issued.length, n, 'no refresh after close');
});

test('a session: reference errors, and origin from the workspace', async (t) => {
  const { fake, privateKey } = appFixture();
  const url = await fake.start();
  t.after(() => fake.close());
  const home = await mkdtemp(path.join(tmpdir(), 'tongs-app-home-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  const ws = path.join(home, 'ws');
  await run('git', ['init', '-q', ws]);
  await run('git', ['-C', ws, 'remote', 'add', 'origin', 'git@github.com:acme/web.git']);
  const env = { TONGS_GITHUB_APP_ID: '4242', TONGS_GITHUB_APP_PRIVATE_KEY: privateKey, GITHUB_API_URL: url };
  const make = (workspace: string | null) =>
    new GitHubAppSession({ env, workspace, sessionId: 's1', launcher: { pid: 1, host: 'h' }, startedAt: 'x', home, warn: () => {} }).wrap(
      async (tongs) => new Map(tongs.map((x) => [x.name, {}])),
    );
  const out = await make(ws)([tong('github', { GITHUB_TOKEN: '${secret:github-app:origin}' })]);
  assert.equal(fake.issued.at(-1)!.repositories[0], 'acme/web');
  assert.equal(out.get('github')!.GITHUB_TOKEN, fake.issued.at(-1)!.token);
  await assert.rejects(make(null)([tong('github', { T: '${secret:github-app:origin}' })]), /origin means the workspace's origin remote, but no --workspace/);
  await assert.rejects(make(ws)([tong('github', { T: 'token ${secret:github-app:acme/api}' })]), /must be the whole value/);
  await assert.rejects(make(ws)([tong('github', { T: '${secret:github-app:acme}' })]), /'acme' is not OWNER\/REPO or origin/);
  await run('git', ['-C', ws, 'remote', 'set-url', 'origin', 'https://gitlab.com/a/b/c.git']);
  await assert.rejects(make(ws)([tong('github', { T: '${secret:github-app:origin}' })]), /origin remote 'https:\/\/gitlab.com\/a\/b\/c.git' .* is not a GitHub repository URL/);
});

test('gc: a dead session\'s recorded tokens are revoked and its record removed; a live one is left', async (t) => {
  const { fake, privateKey } = appFixture();
  const url = await fake.start();
  t.after(() => fake.close());
  const home = await mkdtemp(path.join(tmpdir(), 'tongs-app-home-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  const env = { TONGS_GITHUB_APP_ID: '4242', TONGS_GITHUB_APP_PRIVATE_KEY: privateKey, GITHUB_API_URL: url };
  for (const [id, pid] of [['dead1', 11], ['live1', 22]] as const) {
    const s = new GitHubAppSession({ env, workspace: null, sessionId: id, launcher: { pid, host: 'h' }, startedAt: 'x', home, warn: () => {} });
    await s.wrap(async (tongs) => new Map(tongs.map((x) => [x.name, {}])))([tong('github', { GITHUB_TOKEN: '${secret:github-app:acme/api}' })]);
  }
  // Without the key, nothing can be revoked: a warning, and the record stays.
  const blind = await revokeDeadSessionTokens({ home, isDead: (pid) => pid === 11, env: {} });
  assert.equal(blind.revoked, 0);
  assert.match(blind.warnings.join('\n'), /cannot revoke 1 GitHub App token\(s\) of dead session dead1 \(App 4242, acme\/api\)/);
  const r = await revokeDeadSessionTokens({ home, isDead: (pid) => pid === 11, env });
  assert.deepEqual([r.revoked, r.records, r.warnings], [1, 1, []]);
  assert.notEqual(fake.issued[0]!.revokedAt, null);
  assert.equal(fake.issued[1]!.revokedAt, null, "the live session's token stays");
  assert.deepEqual(await readdir(path.join(home, 'sessions')), ['live1.json']);
});

test('the refresh script replaces the file whole, reads the value from stdin only', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tongs-refresh-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const exec = (_id: string, argv: string[], stdin: Buffer) =>
    new Promise<{ exitCode: number; output: string }>((resolve) => {
      // The script for the real tmpfs, pointed at the host dir.
      const script = argv[2]!.replace(/^d=.*$/m, `d='${dir}'`);
      const child = execFile(argv[0]!, [argv[1]!, script, ...argv.slice(3)], (error, stdout, stderr) =>
        resolve({ exitCode: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
      );
      child.stdin!.end(stdin);
    });
  assert.match(refreshScript(), /^umask 077$/m);
  await deliverRefreshedSecret(exec, 'c', 'GITHUB_TOKEN', 'ghs_one');
  assert.equal(await readFile(path.join(dir, 'refresh-GITHUB_TOKEN'), 'utf8'), 'ghs_one\n');
  assert.equal((await stat(path.join(dir, 'refresh-GITHUB_TOKEN'))).mode & 0o777, 0o600);
  await deliverRefreshedSecret(exec, 'c', 'GITHUB_TOKEN', "ghs_two'$x");
  assert.equal(await readFile(path.join(dir, 'refresh-GITHUB_TOKEN'), 'utf8'), "ghs_two'$x\n");
  await assert.rejects(deliverRefreshedSecret(exec, 'c', 'GITHUB_TOKEN', 'a\nb'), /one non-empty line/);
  await assert.rejects(deliverRefreshedSecret(exec, 'c', 'BAD-NAME', 'x'), /not an sh identifier/);
});

test('the GitHub tong reads a refreshed token per call, keeps the last whole one, and redacts every one', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tongs-token-file-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'refresh-GITHUB_TOKEN');
  const seen: Array<string | undefined> = ['ghs_initial'];
  const source = createTokenSource('ghs_initial', file, seen);
  assert.equal(source.current(), 'ghs_initial', 'no file yet: the initial token');
  await writeFile(file, 'ghs_second\n');
  assert.equal(source.current(), 'ghs_second');
  await writeFile(file, 'ghs_thi');
  assert.equal(source.current(), 'ghs_second', 'a value without its newline is not complete yet');
  await writeFile(file, 'ghs_third\n');
  assert.equal(source.current(), 'ghs_third');
  assert.deepEqual(seen, ['ghs_initial', 'ghs_second', 'ghs_third']);
  assert.equal(createTokenSource('fixed', undefined, []).current(), 'fixed');
});

test('the plan carries each tong\'s token permissions, and the approval summary shows them', () => {
  const plan = buildPlan({
    github: { image: 'tongs-github:local', env: { GITHUB_TOKEN: '${secret:github-app:origin}' }, interface: { kind: 'mcp', name: 'github', port: 8080 } },
    narrow: {
      image: 'tongs-github:local',
      env: { GITHUB_TOKEN: '${secret:github-app:acme/api}' },
      github_app: { permissions: { contents: 'read' } },
      interface: { kind: 'mcp', name: 'narrow', port: 8080 },
    },
    plain: { image: 'tongs-github:local', env: { GITHUB_TOKEN: '${secret:env:GITHUB_TOKEN?}' }, interface: { kind: 'mcp', name: 'plain', port: 8080 } },
  } as Record<string, TongDefinition>);
  const byName = new Map(plan.tongs.map((x) => [x.name, x]));
  assert.deepEqual(byName.get('github')!.githubApp, { permissions: { contents: 'write', metadata: 'read', pull_requests: 'write' } });
  assert.deepEqual(byName.get('narrow')!.githubApp, { permissions: { contents: 'read', metadata: 'read' } });
  assert.equal('githubApp' in byName.get('plain')!, false, 'a tong without the provider plans as before');
  // Where refreshed tokens land: plain environment (a path, no secret), inside the secret tmpfs.
  assert.equal(byName.get('github')!.env.GITHUB_TOKEN_FILE, '/run/tongs-secrets/refresh-GITHUB_TOKEN');
  assert.ok(byName.get('github')!.env.GITHUB_TOKEN_FILE!.startsWith(`${SECRET_DIR}/`));
  assert.equal(byName.get('plain')!.env.GITHUB_TOKEN_FILE, undefined);
  const lines = summarizeTong(byName.get('narrow')!);
  assert.ok(lines.includes('  secrets:   github-app:acme/api'), lines.join('\n'));
  assert.ok(lines.some((l) => /^ {2}github-app: installation tokens .* limited to the one repository .* contents:read, metadata:read$/.test(l)), lines.join('\n'));
});

test('a failed refresh is a warning and is retried before the token expires', async (t) => {
  const { fake, privateKey } = appFixture(4_000);
  const url = await fake.start();
  t.after(() => fake.close());
  const home = await mkdtemp(path.join(tmpdir(), 'tongs-app-home-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  const warnings: string[] = [];
  const session = new GitHubAppSession({
    env: { TONGS_GITHUB_APP_ID: '4242', TONGS_GITHUB_APP_PRIVATE_KEY: privateKey, GITHUB_API_URL: url },
    workspace: null, sessionId: 's2', launcher: { pid: 1, host: 'h' }, startedAt: 'x', home, warn: (l) => warnings.push(l),
  });
  await session.wrap(async (tongs) => new Map(tongs.map((x) => [x.name, {}])))([tong('github', { GITHUB_TOKEN: '${secret:github-app:acme/api}' })]);
  fake.failNext({ method: 'POST', path: /access_tokens$/, status: 502, body: { message: 'Server Error' } });
  const delivered: string[] = [];
  session.startRefresh({ containers: new Map([['github', 'c']]), deliver: async (_id, _name, value) => void delivered.push(value) });
  await new Promise((r) => setTimeout(r, 3_600));
  assert.match(warnings.join('\n'), /could not refresh the GitHub App token of tong 'github' for acme\/api .*retrying; the current one expires in \d+ s/);
  assert.equal(delivered.length, 1, 'the retry delivered a new token');
  assert.equal(delivered[0], fake.issued.at(-1)!.token);
  await session.close();
  assert.ok(fake.issued.every((i) => i.revokedAt !== null || i.expiresAt <= Date.now()));
});

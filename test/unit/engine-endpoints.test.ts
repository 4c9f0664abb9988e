/**
 * tcp endpoints chosen through a docker context, end to end through the built CLI (issue #16): plain
 * tcp, TLS with the context's ca/cert/key (the engine checks the client certificate), TLS with a CA
 * that does not match (one clean line), and SkipTLSVerify. The engine is a small fake in this process
 * that answers `/version` and the list calls `tongs ps` makes; certificates come from `openssl`.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { writeDockerConfig } from '../support/docker-config.js';
import { REPO_ROOT, runCli, tempDirSync } from '../support/process.js';

/** What the fake engine saw. */
interface Seen {
  paths: string[];
  clientCertOk: boolean[];
}

function answer(seen: Seen) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0]!;
    seen.paths.push(path);
    const socket = req.socket as TLSSocket;
    if (typeof socket.authorized === 'boolean') seen.clientCertOk.push(socket.authorized);
    res.setHeader('Content-Type', 'application/json');
    if (path.endsWith('/version')) res.end(JSON.stringify({ Version: '20.10.24', ApiVersion: '1.41' }));
    else res.end('[]');
  };
}

async function listen(t: TestContext, server: ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, PEM, made with openssl. */
function certificates(dir: string, name: string): { ca: string; caKey: string; cert: string; key: string; serverCert: string; serverKey: string } {
  const f = (n: string) => join(dir, `${name}-${n}`);
  const ossl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=tongs test CA ${name}`, '-keyout', f('ca-key.pem'), '-out', f('ca.pem'));
  for (const [who, ext] of [['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'], ['client', 'extendedKeyUsage=clientAuth']] as const) {
    ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${who}`, '-keyout', f(`${who}-key.pem`), '-out', f(`${who}.csr`));
    writeFileSync(f(`${who}.ext`), ext);
    ossl('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial', '-days', '2', '-extfile', f(`${who}.ext`), '-out', f(`${who}.pem`));
  }
  const r = (n: string) => readFileSync(f(n), 'utf8');
  return { ca: r('ca.pem'), caKey: r('ca-key.pem'), cert: r('client.pem'), key: r('client-key.pem'), serverCert: r('server.pem'), serverKey: r('server-key.pem') };
}

function envFor(dir: string, context: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: join(dir, 'docker'), DOCKER_CONTEXT: context, TONGS_HOME: join(dir, 'home') };
  for (const k of ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DEBUG']) delete env[k];
  return env;
}

test('a plain tcp context: tongs ps talks to that engine', async (t) => {
  const dir = tempDirSync(t, 'tongs-tcp-');
  const seen: Seen = { paths: [], clientCertOk: [] };
  const port = await listen(t, createHttpServer(answer(seen)));
  writeDockerConfig(join(dir, 'docker'), { contexts: { plain: { host: `tcp://127.0.0.1:${port}` } } });
  const r = await runCli(['ps', '--json'], { cwd: REPO_ROOT, env: envFor(dir, 'plain') });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { sessions: [], shared: [] });
  assert.ok(seen.paths.some((p) => p.endsWith('/version')) && seen.paths.some((p) => p.endsWith('/containers/json')), seen.paths.join(' '));
});

test('a TLS context: the store’s CA verifies the engine, its client certificate is accepted; a wrong CA is one clean line; SkipTLSVerify connects', async (t) => {
  const dir = tempDirSync(t, 'tongs-tls-');
  const good = certificates(dir, 'good');
  const other = certificates(dir, 'other');
  const seen: Seen = { paths: [], clientCertOk: [] };
  const server = createHttpsServer({ key: good.serverKey, cert: good.serverCert, ca: good.ca, requestCert: true, rejectUnauthorized: false }, answer(seen));
  const port = await listen(t, server as unknown as ReturnType<typeof createHttpServer>);
  const host = `tcp://127.0.0.1:${port}`;
  writeDockerConfig(join(dir, 'docker'), {
    contexts: {
      secure: { host, tls: { 'ca.pem': good.ca, 'cert.pem': good.cert, 'key.pem': good.key } },
      wrongca: { host, tls: { 'ca.pem': other.ca, 'cert.pem': good.cert, 'key.pem': good.key } },
      skip: { host, skipTlsVerify: true, tls: { 'cert.pem': good.cert, 'key.pem': good.key } },
    },
  });

  const ok = await runCli(['ps', '--json'], { cwd: REPO_ROOT, env: envFor(dir, 'secure') });
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), { sessions: [], shared: [] });
  assert.ok(seen.clientCertOk.length > 0 && seen.clientCertOk.every(Boolean), 'the engine saw the context’s client certificate');

  const bad = await runCli(['ps'], { cwd: REPO_ROOT, env: envFor(dir, 'wrongca') });
  assert.equal(bad.status, 1);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, new RegExp(`^tongs: TLS with the engine at tcp://127\\.0\\.0\\.1:${port} \\(docker context 'wrongca'\\) failed \\([A-Z_]+: .*\\); check its certificates .*\\n$`));

  const skip = await runCli(['ps', '--json'], { cwd: REPO_ROOT, env: envFor(dir, 'skip') });
  assert.equal(skip.status, 0, skip.stderr);
});

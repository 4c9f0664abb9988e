/**
 * Engine failures a user can cause, through the built CLI as a black box (issue #16 "A clean error"):
 * no engine running, permission denied on the socket, a context naming a missing endpoint or none, a
 * corrupt docker config, an engine older than the API tongs needs. For every command that needs an
 * engine (`run` with a tong, `ps`, `gc`): exactly one `tongs:` line on stderr, nothing on stdout,
 * exit 1, no stack trace unless DEBUG=tongs. No real engine is involved: the sockets are missing,
 * locked, or served by a tiny fake engine in this process.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { CLI, REPO_ROOT, runCli, runProcess, tempDirSync, type ProcessResult } from '../support/process.js';
import { writeDockerConfig } from '../support/docker-config.js';

const COMMANDS = ['run', 'ps', 'gc'] as const;

interface Scratch {
  dir: string;
  layer: string;
  env: NodeJS.ProcessEnv;
}

/** A temp dir with a one-tong repo layer, TONGS_HOME, TMPDIR, an empty DOCKER_CONFIG and no engine variables. */
function scratch(t: TestContext): Scratch {
  const dir = tempDirSync(t, 'tongs-engine-cli-');
  chmodSync(dir, 0o755); // the permission case runs the CLI as another user
  const layer = join(dir, 'layer');
  mkdirSync(layer);
  writeFileSync(join(layer, 'plain.yaml'), 'image: tongs-base:local\ninterface: { kind: none }\nreadiness: { mode: none }\n');
  mkdirSync(join(dir, 'tmp'));
  chmodSync(join(dir, 'tmp'), 0o1777);
  const env: NodeJS.ProcessEnv = { ...process.env, TONGS_HOME: join(dir, 'home'), TMPDIR: join(dir, 'tmp'), DOCKER_CONFIG: join(dir, 'docker') };
  for (const k of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DEBUG']) delete env[k];
  return { dir, layer, env };
}

function argsOf(command: (typeof COMMANDS)[number], s: Scratch): string[] {
  return command === 'run' ? ['run', '--repo-tongs', s.layer, '--', 'docker', 'run', '--rm', 'tongs-base:local', 'true'] : [command];
}

/** Exactly one `tongs:` line matching `pattern`, nothing on stdout, exit 1, no stack frame. */
function assertOneLine(r: ProcessResult, pattern: RegExp, what: string): void {
  assert.equal(r.status, 1, `${what}: exit status\n${r.stderr}`);
  assert.equal(r.stdout, '', `${what}: stdout`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `${what}: one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^tongs: /, what);
  assert.match(lines[0]!, pattern, what);
  assert.ok(r.stderr.endsWith('\n'), `${what}: the line is ended`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: no stack trace`);
}

async function eachCommand(s: Scratch, env: NodeJS.ProcessEnv, pattern: RegExp, run = runCli): Promise<void> {
  for (const command of COMMANDS) assertOneLine(await run(argsOf(command, s), { cwd: REPO_ROOT, env }), pattern, `tongs ${command}`);
}

/** A fake engine on a unix socket: `/version` answers `version`; list calls answer `[]`. */
async function fakeEngine(t: TestContext, socketPath: string, version: object): Promise<Server> {
  const server = createServer((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    if (/\/version$/.test(req.url?.split('?')[0] ?? '')) res.end(JSON.stringify(version));
    else if (/\/(containers|networks)\/?(json)?(\?|$)/.test(req.url ?? '')) res.end('[]');
    else {
      res.statusCode = 404;
      res.end(JSON.stringify({ message: 'page not found' }));
    }
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

test('no engine at DOCKER_HOST: one line for run, ps and gc; DEBUG=tongs adds the cause', async (t) => {
  const s = scratch(t);
  const host = `unix://${join(s.dir, 'no-engine.sock')}`;
  const env = { ...s.env, DOCKER_HOST: host };
  await eachCommand(
    s,
    env,
    new RegExp(`^tongs: no Docker engine answers at DOCKER_HOST=${host.replace(/[/.]/g, '\\$&')} \\(ENOENT\\); start Docker, or point DOCKER_HOST at a running engine$`),
  );
  const debug = await runCli(['ps'], { cwd: REPO_ROOT, env: { ...env, DEBUG: 'tongs' } });
  assert.equal(debug.status, 1);
  assert.match(debug.stderr, /engine: unix:\/\/.*no-engine\.sock, chosen by DOCKER_HOST=/, 'DEBUG says which engine and why');
  assert.match(debug.stderr, /connect ENOENT/, 'DEBUG shows the cause');
});

test('a tcp DOCKER_HOST that refuses: one line naming it', async (t) => {
  const s = scratch(t);
  assertOneLine(
    await runCli(['ps'], { cwd: REPO_ROOT, env: { ...s.env, DOCKER_HOST: 'tcp://127.0.0.1:1' } }),
    /^tongs: no Docker engine answers at DOCKER_HOST=tcp:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/,
    'tcp',
  );
});

test('permission denied on the socket: one line with the docker-group and rootless hints', async (t) => {
  const s = scratch(t);
  const sock = join(s.dir, 'locked.sock');
  await fakeEngine(t, sock, { Version: '20.10.24', ApiVersion: '1.41' });
  chmodSync(sock, 0o000);
  const env = { ...s.env, DOCKER_HOST: `unix://${sock}` };
  // root may connect to any socket: then the CLI runs as nobody, as a user outside the docker group would.
  const asUser =
    process.getuid?.() === 0
      ? (args: string[], options: Parameters<typeof runCli>[1]) =>
          runProcess('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args], options)
      : runCli;
  await eachCommand(
    s,
    env,
    /^tongs: permission denied on DOCKER_HOST=unix:\/\/.*locked\.sock: .*usermod -aG docker .*DOCKER_HOST=unix:\/\/\$XDG_RUNTIME_DIR\/docker\.sock.*podman\/podman\.sock/,
    asUser,
  );
});

test('a context whose endpoint is missing: one line naming the endpoint and the context', async (t) => {
  const s = scratch(t);
  const missing = join(s.dir, 'colima', 'docker.sock');
  writeDockerConfig(s.env.DOCKER_CONFIG!, { config: { currentContext: 'colima' }, contexts: { colima: { host: `unix://${missing}` } } });
  await eachCommand(
    s,
    s.env,
    /^tongs: no Docker engine answers at unix:\/\/.*\/colima\/docker\.sock \(docker context 'colima'\) \(ENOENT\); start that engine, or pick another context \(`docker context use NAME`\)$/,
  );
});

test('a context that does not exist, and a corrupt config.json: one line each, naming the file', async (t) => {
  const s = scratch(t);
  writeDockerConfig(s.env.DOCKER_CONFIG!, {});
  await eachCommand(
    s,
    { ...s.env, DOCKER_CONTEXT: 'nosuch' },
    /^tongs: docker context 'nosuch' \(DOCKER_CONTEXT=nosuch\) does not exist: there is no .*\/contexts\/meta\/[0-9a-f]{64}\/meta\.json; see `docker context ls`/,
  );
  writeFileSync(join(s.env.DOCKER_CONFIG!, 'config.json'), '{"currentContext": ');
  await eachCommand(s, s.env, new RegExp(`^tongs: the docker config file ${join(s.env.DOCKER_CONFIG!, 'config.json').replace(/[/.]/g, '\\$&')} is not valid JSON \\(.*\\); fix or remove it$`));
});

test('an engine older than API 1.41: one line naming its version and what tongs needs', async (t) => {
  const s = scratch(t);
  const sock = join(s.dir, 'old.sock');
  await fakeEngine(t, sock, { Version: '18.09.1', ApiVersion: '1.39', MinAPIVersion: '1.12' });
  await eachCommand(
    s,
    { ...s.env, DOCKER_HOST: `unix://${sock}` },
    /^tongs: the engine at DOCKER_HOST=unix:\/\/.*old\.sock is Docker Engine 18\.09\.1 with API 1\.39; tongs needs API 1\.41 or newer \(Docker Engine 20\.10, Podman 3\); upgrade the engine$/,
  );
});

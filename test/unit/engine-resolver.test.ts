/**
 * The engine resolver (launcher/shell/engine/engine.ts, issue #16) against fixture docker config dirs: each
 * precedence step of the docker CLI's order, TLS and ssh contexts, a missing context, a context with
 * no endpoint, a corrupt config.json, what the docker CLI child is given, and the cost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerError } from '../../launcher/errors.js';
import { DEFAULT_DOCKER_HOST, dockerGlobalOptions, resolveEngine } from '../../launcher/shell/engine/engine.js';
import { writeDockerConfig } from '../support/docker-config.js';
import { tempDirSync } from '../support/process.js';

const sha = (name: string) => createHash('sha256').update(name).digest('hex');

/** A config dir with contexts `ctx-a` (unix), `ctx-b` (unix), `remote` (TLS), `skip` (TLS, no verify), `box` (ssh). */
function fixture(t: Parameters<typeof tempDirSync>[0], config?: object | string): string {
  return writeDockerConfig(join(tempDirSync(t, 'tongs-engine-'), 'docker'), {
    ...(config !== undefined ? { config } : {}),
    contexts: {
      'ctx-a': { host: 'unix:///run/a.sock' },
      'ctx-b': { host: 'unix:///run/b.sock' },
      remote: { host: 'tcp://10.1.2.3:2376', tls: ['ca.pem', 'cert.pem', 'key.pem'] },
      skip: { host: 'tcp://engine.example:2376', skipTlsVerify: true, tls: ['cert.pem', 'key.pem'] },
      box: { host: 'ssh://builder@box.example:2222' },
    },
  });
}

const resolve = (env: NodeJS.ProcessEnv, anvilArgv?: string[]) => resolveEngine({ env, home: '/nonexistent-home', ...(anvilArgv ? { anvilArgv } : {}) });

test('DOCKER_HOST wins over DOCKER_CONTEXT and the current context', (t) => {
  const dir = fixture(t, { currentContext: 'ctx-a' });
  const e = resolve({ DOCKER_CONFIG: dir, DOCKER_HOST: 'unix:///run/h.sock', DOCKER_CONTEXT: 'ctx-b' });
  assert.equal(e.source, 'DOCKER_HOST');
  assert.equal(e.host, 'unix:///run/h.sock');
  assert.deepEqual(e.endpoint, { protocol: 'unix', socketPath: '/run/h.sock' });
  assert.equal(e.context, null);
  assert.match(e.why, /^DOCKER_HOST=unix:\/\/\/run\/h\.sock$/);
  assert.deepEqual(e.cliEnv, { DOCKER_HOST: 'unix:///run/h.sock', DOCKER_CONTEXT: undefined });
});

test('DOCKER_CONTEXT wins over the current context in config.json', (t) => {
  const dir = fixture(t, { currentContext: 'ctx-a' });
  const e = resolve({ DOCKER_CONFIG: dir, DOCKER_CONTEXT: 'ctx-b' });
  assert.equal(e.source, 'DOCKER_CONTEXT');
  assert.equal(e.context, 'ctx-b');
  assert.deepEqual(e.endpoint, { protocol: 'unix', socketPath: '/run/b.sock' });
  assert.match(e.why, /docker context 'ctx-b' \(DOCKER_CONTEXT=ctx-b; context store .*\/docker\/contexts\)/);
  assert.deepEqual(e.cliEnv, { DOCKER_CONTEXT: 'ctx-b', DOCKER_HOST: undefined });
});

test('the current context of $DOCKER_CONFIG/config.json, then ~/.docker when DOCKER_CONFIG is unset', (t) => {
  const dir = fixture(t, { currentContext: 'ctx-a', auths: {} });
  const e = resolve({ DOCKER_CONFIG: dir });
  assert.equal(e.source, 'config');
  assert.equal(e.host, 'unix:///run/a.sock');
  assert.ok(e.why.includes(join(dir, 'config.json')), e.why);
  assert.deepEqual(e.cliEnv, { DOCKER_CONTEXT: 'ctx-a', DOCKER_HOST: undefined });

  const home = join(dir, '..', 'home');
  writeDockerConfig(join(home, '.docker'), { config: { currentContext: 'viahome' }, contexts: { viahome: { host: 'unix:///run/home.sock' } } });
  const fromHome = resolveEngine({ env: {}, home });
  assert.equal(fromHome.context, 'viahome');
  assert.equal(fromHome.host, 'unix:///run/home.sock');
});

test('the default socket when nothing names an engine (no config.json, or one without currentContext)', (t) => {
  for (const config of [undefined, { auths: {} }, { currentContext: '' }]) {
    const e = resolve({ DOCKER_CONFIG: fixture(t, config) });
    assert.equal(e.source, 'default');
    assert.equal(e.host, DEFAULT_DOCKER_HOST);
    assert.deepEqual(e.endpoint, { protocol: 'unix', socketPath: '/var/run/docker.sock' });
    assert.deepEqual(e.cliEnv, { DOCKER_HOST: DEFAULT_DOCKER_HOST, DOCKER_CONTEXT: undefined });
  }
});

test("the built-in context 'default' is the default socket, by DOCKER_CONTEXT or config.json", (t) => {
  assert.equal(resolve({ DOCKER_CONFIG: fixture(t), DOCKER_CONTEXT: 'default' }).host, DEFAULT_DOCKER_HOST);
  assert.equal(resolve({ DOCKER_CONFIG: fixture(t, { currentContext: 'default' }) }).host, DEFAULT_DOCKER_HOST);
});

test("the anvil argv's own docker -H / --context / --config come first", (t) => {
  const dir = fixture(t, { currentContext: 'ctx-a' });
  const env = { DOCKER_CONFIG: dir, DOCKER_HOST: 'unix:///run/h.sock' };
  const byHost = resolve(env, ['docker', '-H', 'unix:///run/flag.sock', 'run', 'img']);
  assert.equal(byHost.source, 'argv-host');
  assert.equal(byHost.host, 'unix:///run/flag.sock');
  assert.deepEqual(byHost.cliEnv, {}, 'the argv already tells the CLI');
  const byContext = resolve(env, ['docker', '--context=ctx-b', 'run', 'img']);
  assert.equal(byContext.source, 'argv-context');
  assert.equal(byContext.host, 'unix:///run/b.sock');
  const other = writeDockerConfig(join(dir, '..', 'other'), { config: { currentContext: 'box' }, contexts: { box: { host: 'unix:///run/other.sock' } } });
  assert.equal(resolve({}, ['docker', '--config', other, 'run', 'img']).host, 'unix:///run/other.sock');
  // Options after the subcommand are not global: a harness argument named --context changes nothing.
  assert.deepEqual(dockerGlobalOptions(['docker', 'run', '--rm', 'img', 'claude', '--context', 'x']), {});
  assert.deepEqual(dockerGlobalOptions(['env', '--context', 'x']), {});
});

test('a TLS context: tcp endpoint with the store’s ca, cert and key; SkipTLSVerify turns verification off', (t) => {
  const dir = fixture(t);
  const remote = resolve({ DOCKER_CONFIG: dir, DOCKER_CONTEXT: 'remote' });
  const tls = join(dir, 'contexts', 'tls', sha('remote'), 'docker');
  assert.deepEqual(remote.endpoint, {
    protocol: 'tcp',
    host: '10.1.2.3',
    port: 2376,
    tls: { verify: true, ca: join(tls, 'ca.pem'), cert: join(tls, 'cert.pem'), key: join(tls, 'key.pem') },
  });
  const skip = resolve({ DOCKER_CONFIG: dir, DOCKER_CONTEXT: 'skip' });
  assert.equal(skip.endpoint.protocol, 'tcp');
  assert.equal(skip.endpoint.protocol === 'tcp' && skip.endpoint.tls?.verify, false);
  assert.equal(skip.endpoint.protocol === 'tcp' && skip.endpoint.tls?.ca, null);
});

test('DOCKER_HOST with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH; plain tcp without', (t) => {
  const certs = tempDirSync(t);
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(certs, f), 'x');
  const e = resolve({ DOCKER_HOST: 'tcp://10.0.0.9:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs });
  assert.deepEqual(e.endpoint, {
    protocol: 'tcp', host: '10.0.0.9', port: 2376,
    tls: { verify: true, ca: join(certs, 'ca.pem'), cert: join(certs, 'cert.pem'), key: join(certs, 'key.pem') },
  });
  assert.deepEqual(resolve({ DOCKER_HOST: 'tcp://10.0.0.9:2375' }).endpoint, { protocol: 'tcp', host: '10.0.0.9', port: 2375, tls: null });
});

test('an ssh context: host, port and user', (t) => {
  const e = resolve({ DOCKER_CONFIG: fixture(t), DOCKER_CONTEXT: 'box' });
  assert.deepEqual(e.endpoint, { protocol: 'ssh', host: 'box.example', port: 2222, username: 'builder' });
  assert.deepEqual(resolve({ DOCKER_HOST: 'ssh://box' }).endpoint, { protocol: 'ssh', host: 'box', port: null, username: null });
});

test('a missing context is a config error naming the context, where it came from and the file looked for', (t) => {
  const dir = fixture(t, { currentContext: 'gone' });
  for (const [env, origin] of [
    [{ DOCKER_CONFIG: dir, DOCKER_CONTEXT: 'nosuch' }, /DOCKER_CONTEXT=nosuch/],
    [{ DOCKER_CONFIG: dir }, /the current context in .*config\.json/],
  ] as const) {
    assert.throws(
      () => resolve(env),
      (err: unknown) => {
        assert.ok(err instanceof DockerError);
        assert.equal(err.kind, 'config');
        assert.match(err.message, /^docker context '(nosuch|gone)' \(/);
        assert.match(err.message, origin);
        assert.match(err.message, /does not exist: there is no .*contexts\/meta\/[0-9a-f]{64}\/meta\.json; see `docker context ls`/);
        return true;
      },
    );
  }
});

test('a context with no Docker endpoint, and one with a malformed endpoint, are config errors', (t) => {
  const dir = fixture(t);
  const meta = join(dir, 'contexts', 'meta', sha('empty'));
  mkdirSync(meta, { recursive: true });
  writeFileSync(join(meta, 'meta.json'), JSON.stringify({ Name: 'empty', Endpoints: {} }));
  assert.throws(() => resolve({ DOCKER_CONFIG: dir, DOCKER_CONTEXT: 'empty' }), /docker context 'empty' .* names no Docker endpoint: .*meta\.json has no Endpoints\.docker\.Host/);
  writeDockerConfig(dir, { contexts: { odd: { host: 'npipe:////./pipe/docker' } } });
  assert.throws(() => resolve({ DOCKER_CONFIG: dir, DOCKER_CONTEXT: 'odd' }), (err: unknown) => err instanceof DockerError && err.kind === 'config' && /unsupported scheme npipe:\/\//.test(err.message));
  assert.throws(() => resolve({ DOCKER_HOST: 'unix://' }), /cannot use DOCKER_HOST=unix:\/\/: no socket path/);
});

test('a corrupt config.json is a config error naming the file; so is a corrupt meta.json', (t) => {
  const dir = fixture(t, '{"currentContext": "ctx-a",');
  assert.throws(
    () => resolve({ DOCKER_CONFIG: dir }),
    (err: unknown) => {
      assert.ok(err instanceof DockerError);
      assert.equal(err.kind, 'config');
      assert.ok(err.message.startsWith(`the docker config file ${join(dir, 'config.json')} is not valid JSON (`), err.message);
      assert.match(err.message, /fix or remove it$/);
      return true;
    },
  );
  assert.throws(() => resolve({ DOCKER_CONFIG: fixture(t, '[1]') }), /is not a JSON object/);
  assert.throws(() => resolve({ DOCKER_CONFIG: fixture(t, { currentContext: 7 }) }), /currentContext that is not a string/);
  const broken = fixture(t);
  writeFileSync(join(broken, 'contexts', 'meta', sha('ctx-a'), 'meta.json'), 'not json');
  assert.throws(() => resolve({ DOCKER_CONFIG: broken, DOCKER_CONTEXT: 'ctx-a' }), /the metadata of docker context 'ctx-a' .*meta\.json is not valid JSON/);
  // DOCKER_HOST and DOCKER_CONTEXT never read config.json (as with the docker CLI).
  assert.equal(resolve({ DOCKER_CONFIG: fixture(t, '{'), DOCKER_HOST: 'unix:///run/h.sock' }).host, 'unix:///run/h.sock');
});

test('resolving through config.json and a context costs well under 5 ms', (t) => {
  const dir = fixture(t, { currentContext: 'remote' });
  resolve({ DOCKER_CONFIG: dir }); // warm: first-call JIT
  const times: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    resolve({ DOCKER_CONFIG: dir });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[25]!;
  t.diagnostic(`resolveEngine via config.json + a TLS context: median ${median.toFixed(3)} ms`);
  assert.ok(median < 5, `median ${median} ms`);
});

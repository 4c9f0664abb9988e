/**
 * Engine resolution through a docker context on the real engine (issue #16 "A context test"): with
 * DOCKER_HOST unset, the current context of a private DOCKER_CONFIG points at the engine's socket
 * under another path. `tongs run` must start its tong, probe it and run the anvil (the `docker` CLI
 * child too) through that context, and contact no other engine.
 *
 * "No other engine" is made observable: the launcher runs in a private mount namespace (`unshare
 * --mount`) where the engine's socket is bind-mounted at the context's path and every usual engine
 * socket (the test engine's own, /var/run/docker.sock) is covered by /dev/null. Anything that
 * ignored the context would find no engine and fail. This needs root (CI runs as root).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { resolveEngine } from '../../launcher/shell/engine/engine.js';
import { writeDockerConfig } from '../support/docker-config.js';
import { engineSockets, writeHidingScript } from '../support/hide-engines.js';
import {
  BASE_IMAGE,
  CLI,
  REPO_ROOT,
  TEST_LABEL,
  buildTestImages,
  cleanupByLabel,
  leftovers,
  requireDocker,
  tempDir,
  tongLayer,
} from '../support/docker.js';
import { runProcess } from '../support/process.js';

const RUN_ID = `ctx-${randomBytes(4).toString('hex')}`;

test('tongs run through the current docker context, with DOCKER_HOST unset and every other engine socket hidden', async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  const engine = resolveEngine();
  if (engine.endpoint.protocol !== 'unix') {
    t.skip(`the test engine is not on a unix socket (${engine.host}); a context to another path of it needs one`);
    return;
  }
  if (process.getuid?.() !== 0) {
    const why = 'hiding the other engine sockets needs a private mount namespace, which needs root';
    if (process.env.TONGS_REQUIRE_DOCKER === '1') throw new Error(`TONGS_REQUIRE_DOCKER=1 but ${why}`);
    t.skip(why);
    return;
  }
  await buildTestImages('tongs-test-port:local');
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));

  const dir = await tempDir(t, 'tongs-ctx-');
  const contextSocket = join(dir, 'elsewhere', 'engine.sock');
  const config = writeDockerConfig(join(dir, 'docker'), {
    config: { currentContext: 'tongs-elsewhere' },
    contexts: { 'tongs-elsewhere': { host: `unix://${contextSocket}` } },
  });
  const layer = await tongLayer(t, {
    web: `image: tongs-test-port:local\nenv: { TONG_MARK: ${RUN_ID} }\ninterface: { kind: port, port: 8080 }\nreadiness: { mode: tcp, timeout: 30s }\n`,
  });
  // The anvil fetches the tong over the session network: the engine it runs on must be the tongs' one.
  const script = `fetch('http://' + process.env.TONGS_WEB_HOST + ':' + process.env.TONGS_WEB_PORT).then(r => r.json()).then(j => console.log('REACHED ' + j.mark), e => { console.log('FAILED ' + e.message + (e.cause ? ' (' + (e.cause.code || e.cause.message) + ')' : '')); process.exit(3); })`;
  const anvil = ['docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, BASE_IMAGE, 'node', '-e', script];

  const realSocket = realpathSync(engine.endpoint.socketPath);
  const inner = join(dir, 'inner.sh');
  writeHidingScript(inner, engineSockets(realSocket), { socket: realSocket, at: contextSocket });
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: config, TONGS_HOME: join(dir, 'home') };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  const r = await runProcess(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', inner, process.execPath, CLI, 'run', '--repo-tongs', layer, '--', ...anvil],
    { cwd: REPO_ROOT, env: { ...env, DEBUG: 'tongs' } },
  );
  assert.equal(r.status, 0, `tongs run through the context failed:\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`REACHED ${RUN_ID}`), 'the anvil (run by the docker CLI) reached the tong');
  assert.match(r.stderr, /engine: unix:\/\/.*elsewhere\/engine\.sock, chosen by docker context 'tongs-elsewhere' \(the current context in .*config\.json/);
  assert.deepEqual(await leftovers(runtime, TEST_LABEL, RUN_ID), [], 'the anvil is gone');
});

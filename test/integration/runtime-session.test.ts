/**
 * `tongs run` on the real Docker engine, black-box through the built CLI (issue #3 "Tests"): the anvil
 * reaches a tong by its alias and completes an MCP call through the emitted config (both harness
 * shapes), exit status passes through, readiness waits for a slow tong and fails a silent one within
 * its timeout, two sessions with same-named tongs are isolated, an anvil with its own --network still
 * reaches its tongs, images are built from `build:` when absent, and `tongs ps` shows a live session.
 * Every test cleans up by label; the last test asserts nothing this file created is left.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, cp } from 'node:fs/promises';
import { join } from 'node:path';
import { LABEL_LAUNCHER_PID, LABEL_SESSION } from '../../launcher/core/labels.js';
import type { ContainerRuntime } from '../../launcher/shell/engine/runtime.js';
import {
  BASE_IMAGE,
  REPO_ROOT,
  TEST_LABEL,
  buildTestImages,
  cleanupByLabel,
  launchTongs,
  leftovers,
  nodeAnvil,
  requireDocker,
  runTongs,
  sessionLeftovers,
  sessionOfLauncher,
  tempDir,
  tongLayer,
  type CliProcess,
} from '../support/docker.js';

const RUN_ID = randomBytes(4).toString('hex');
const launcherPids = new Set<number>();
let anvilScript = '';

const anvil = (script: string, options: { env?: Record<string, string>; docker?: string[] } = {}) => nodeAnvil(RUN_ID, script, options);

/** Start `tongs run` with one layer; its pid is remembered for the suite-end leftover check. */
function launch(t: TestContext, runtime: ContainerRuntime, layer: string, harness: string | null, argv: string[], env?: NodeJS.ProcessEnv): CliProcess {
  const args = ['run', '--repo-tongs', layer, ...(harness ? ['--harness', harness] : []), '--', ...argv];
  return launchTongs(t, runtime, args, env ? { env, pids: launcherPids } : { pids: launcherPids });
}

const mcpTong = (mark: string, extra = '') => `image: tongs-test-mcp:local
env:
  TONG_MARK: ${mark}
interface:
  kind: mcp
  port: 8080
  name: echo
readiness:
  mode: mcp
  timeout: 20s
${extra}`;

function resultOf(stdout: string): Record<string, unknown> {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `the anvil printed no RESULT line; stdout:\n${stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>;
}

let runtime: ContainerRuntime | null = null;

before(async () => {
  anvilScript = await readFile(join(REPO_ROOT, 'test/fixtures/tongs/anvil/mcp-call.cjs'), 'utf8');
});

describe('tongs run on a real engine', { concurrency: 3 }, () => {
  before(async () => {
    await buildTestImages();
  });

  test('claude: the anvil calls the tong through /run/tongs/mcp.json and its exit status passes through', async (t) => {
    runtime = await requireDocker(t);
    if (!runtime) return;
    const layer = await tongLayer(t, { echo: mcpTong(`claude-${RUN_ID}`) });
    const p = launch(t, runtime, layer, 'claude', anvil(anvilScript, { env: { CALL_TOOL: 'whoami', EXIT_CODE: '7' } }));
    const r = await p.done;
    assert.equal(r.status, 7, r.stderr);
    const result = resultOf(r.stdout);
    const structured = result.structuredContent as { mark: string; hostname: string };
    assert.equal(structured.mark, `claude-${RUN_ID}`);
    assert.match(r.stdout, /"argv":\[.*"--mcp-config","\/run\/tongs\/mcp.json"\]/);
    assert.match(r.stderr, /tongs: started 1 tong in \d+\.\d\d s; ready in \d+\.\d\d s/);
    const pid = String(p.child.pid);
    assert.deepEqual(await leftovers(runtime, LABEL_LAUNCHER_PID, pid), []);
  });

  test('opencode: the anvil calls the tong through the TONGS_MCP_FILE fragment', async (t) => {
    runtime = await requireDocker(t);
    if (!runtime) return;
    const layer = await tongLayer(t, { echo: mcpTong(`opencode-${RUN_ID}`) });
    const p = launch(
      t,
      runtime,
      layer,
      'opencode',
      anvil(anvilScript, { env: { CALL_TOOL: 'echo', CALL_ARGS: JSON.stringify({ text: `hi ${RUN_ID}` }) } }),
    );
    const r = await p.done;
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"file":"\/run\/tongs\/mcp.json"/);
    const result = resultOf(r.stdout) as { content: Array<{ text: string }> };
    assert.equal(result.content[0]?.text, `hi ${RUN_ID}`);
  });

  test('the anvil has its tongs\' names in /etc/hosts, at the address the engine\'s DNS gives them', async (t) => {
    runtime = await requireDocker(t);
    if (!runtime) return;
    const layer = await tongLayer(t, {
      echo: `image: tongs-test-mcp:local
interface: { kind: mcp, port: 8080, name: echo, aliases: [echo-too] }
readiness: { mode: mcp, timeout: 20s }
`,
    });
    // /etc/hosts as the anvil sees it at start, then the engine's DNS asked directly (not /etc/hosts),
    // retried: on Podman its answer may lag a container's start, which is why the entries are there.
    const script = `const fs = require('fs'); const dns = require('dns').promises;
const hosts = fs.readFileSync('/etc/hosts', 'utf8').split('\\n').filter((l) => /\\secho(-too)?$/.test(l));
(async () => { for (let i = 0; i < 50; i++) { try { const a = await dns.resolve4('echo'); console.log('RESULT ' + JSON.stringify({ hosts, dns: a })); return; } catch { await new Promise((r) => setTimeout(r, 200)); } } console.log('RESULT ' + JSON.stringify({ hosts, dns: null })); })();`;
    const r = await launch(t, runtime, layer, 'claude', anvil(script)).done;
    assert.equal(r.status, 0, r.stderr);
    const { hosts, dns } = resultOf(r.stdout) as { hosts: string[]; dns: string[] | null };
    assert.ok(dns && dns.length === 1, `the engine's DNS resolves the alias: ${r.stdout}`);
    assert.deepEqual(hosts.map((l) => l.split(/\s+/)), [[dns[0], 'echo'], [dns[0], 'echo-too']]);
  });

  test('readiness waits for a slow port tong; the anvil gets its host and port and reaches it first try', async (t) => {
    runtime = await requireDocker(t);
    if (!runtime) return;
    const layer = await tongLayer(t, {
      slow: `image: tongs-test-port:local
env: { LISTEN_DELAY_MS: "1500", TONG_MARK: slow-${RUN_ID} }
interface: { kind: port, port: 8080 }
readiness: { timeout: 20s }
`,
    });
    const script = `fetch('http://' + process.env.TONGS_SLOW_HOST + ':' + process.env.TONGS_SLOW_PORT + '/')
      .then((r) => r.text()).then((t) => { console.log('RESULT ' + t.trim()); })
      .catch((e) => { console.log('FAILED ' + e.message + (e.cause ? ' (' + (e.cause.code || e.cause.message) + ')' : '')); process.exit(3); })`;
    const started = Date.now();
    const r = await launch(t, runtime, layer, null, anvil(script)).done;
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.equal(resultOf(r.stdout).mark, `slow-${RUN_ID}`);
    assert.ok(Date.now() - started >= 1500, 'the launch cannot be ready before the tong listens');
  });

  test('a tong that never listens fails the launch within its timeout, naming the tong and the probe; the anvil never starts', async (t) => {
    runtime = await requireDocker(t);
    if (!runtime) return;
    const layer = await tongLayer(t, {
      never: `image: tongs-test-port:local
env: { LISTEN_DELAY_MS: "600000" }
interface: { kind: port, port: 8080 }
readiness: { timeout: 2s }
`,
    });
    const started = Date.now();
    const p = launch(t, runtime, layer, null, anvil(`console.log('ANVIL RAN')`));
    const r = await p.done;
    const elapsed = Date.now() - started;
    assert.equal(r.status, 1);
    assert.match(r.stderr, /tong 'never' not ready after 2 s: tcp never:8080 refused/);
    assert.doesNotMatch(r.stdout, /ANVIL RAN/);
    assert.ok(elapsed < 12_000, `failed after ${elapsed} ms`);
    assert.deepEqual(await leftovers(runtime, LABEL_LAUNCHER_PID, String(p.child.pid)), []);
  });

  test('a tong that exits while being probed fails at once with its last words', async (t) => {
    runtime = await requireDocker(t);
    if (!runtime) return;
    const layer = await tongLayer(t, {
      crash: `image: tongs-test-port:local
entrypoint: ["node", "-e", "console.error('cannot start: no config'); process.exit(4)"]
interface: { kind: port, port: 8080 }
readiness: { timeout: 30s }
`,
    });
    const started = Date.now();
    const r = await launch(t, runtime, layer, null, anvil(`console.log('ANVIL RAN')`)).done;
    assert.equal(r.status, 1);
    assert.match(r.stderr, /tong 'crash' exited with status 4 before it was ready:\s+(tongs: )?cannot start: no config/);
    assert.ok(Date.now() - started < 20_000);
  });

  test('healthcheck readiness: a command exec’d in the tong, and the image HEALTHCHECK', async (t) => {
    runtime = await requireDocker(t);
    if (!runtime) return;
    const layer = await tongLayer(t, {
      cmd: `image: tongs-test-port:local
env: { LISTEN_DELAY_MS: "800" }
interface: { kind: port, port: 8080 }
readiness:
  mode: healthcheck
  command: ["node", "-e", "require('net').connect(8080,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))"]
  timeout: 20s
`,
      img: `image: tongs-test-health:local
env: { LISTEN_DELAY_MS: "800" }
interface: { kind: port, port: 8080 }
readiness: { mode: healthcheck, timeout: 20s }
`,
    });
    const script = `Promise.all(['CMD', 'IMG'].map((n) => fetch('http://' + process.env['TONGS_' + n + '_HOST'] + ':8080/').then((r) => r.json())))
      .then((all) => console.log('RESULT ' + JSON.stringify({ ok: all.length })))
      .catch((e) => { console.log('FAILED ' + e.message + (e.cause ? ' (' + (e.cause.code || e.cause.message) + ')' : '')); process.exit(3); })`;
    const r = await launch(t, runtime, layer, null, anvil(script)).done;
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.deepEqual(resultOf(r.stdout), { ok: 2 });
  });

  test('two concurrent sessions with same-named tongs are isolated', async (t) => {
    runtime = await requireDocker(t);
    if (!runtime) return;
    const [a, b] = await Promise.all([
      tongLayer(t, { echo: mcpTong(`a-${RUN_ID}`) }),
      tongLayer(t, { echo: mcpTong(`b-${RUN_ID}`) }),
    ]);
    const rt = runtime;
    const [ra, rb] = await Promise.all([
      launch(t, rt, a, 'claude', anvil(anvilScript, { env: { CALL_TOOL: 'whoami' } })).done,
      launch(t, rt, b, 'claude', anvil(anvilScript, { env: { CALL_TOOL: 'whoami' } })).done,
    ]);
    assert.equal(ra.status, 0, ra.stderr + ra.stdout);
    assert.equal(rb.status, 0, rb.stderr + rb.stdout);
    assert.equal((resultOf(ra.stdout).structuredContent as { mark: string }).mark, `a-${RUN_ID}`);
    assert.equal((resultOf(rb.stdout).structuredContent as { mark: string }).mark, `b-${RUN_ID}`);
  });

  test('an anvil that names its own --network stays on it and still reaches its tongs', async (t) => {
    runtime = await requireDocker(t);
    if (!runtime) return;
    const own = `tongs-test-own-${RUN_ID}`;
    await runtime.createNetwork(own, { [TEST_LABEL]: RUN_ID });
    const rt = runtime;
    t.after(() => rt.removeNetwork(own));
    const layer = await tongLayer(t, { echo: mcpTong(`own-${RUN_ID}`) });
    const script = `${anvilScript}\nrequire('node:dns').lookup(require('node:os').hostname(), { all: true }, (e, a) => console.log('ADDRS ' + a.length));`;
    const r = await launch(
      t,
      runtime,
      layer,
      'claude',
      anvil(script, { env: { CALL_TOOL: 'whoami', EXIT_CODE: '5' }, docker: ['--network', own, '-i'] }),
    ).done;
    assert.equal(r.status, 5, r.stderr + r.stdout);
    assert.equal((resultOf(r.stdout).structuredContent as { mark: string }).mark, `own-${RUN_ID}`);
  });

  test('an absent image is built from the definition’s build: context; absent with no build is a clear error', async (t) => {
    runtime = await requireDocker(t);
    if (!runtime) return;
    const rt = runtime;
    const tag = `tongs-test-built-${RUN_ID}:local`;
    t.after(() => rt.removeImage(tag));
    const dir = await tempDir(t);
    await cp(join(REPO_ROOT, 'test/fixtures/tongs/built'), join(dir, 'ctx'), { recursive: true });
    const layer = await tongLayer(t, {
      built: `image: ${tag}
build: ${join(dir, 'ctx')}
interface: { kind: port, port: 8080 }
readiness: { timeout: 20s }
`,
    });
    // The engine's embedded DNS can miss a container's very first query (its first milliseconds: the
    // endpoint is still being registered; measured on Docker 20.10, 1 run in 3 under load, never once the
    // anvil had read a file first). A real harness starts for hundreds of ms before it connects, and a
    // gated anvil waits at the gate; this bare script connects at once, so it looks up again on ENOTFOUND
    // and connects again on EHOSTUNREACH.
    const script = `const dns = require('dns'); const t0 = Date.now();
(function go() { dns.lookup(process.env.TONGS_BUILT_HOST, (e) => {
  if (e && e.code === 'ENOTFOUND' && Date.now() - t0 < 2000) return setTimeout(go, 20);
  if (e) { const fs = require('fs'); console.error('DIAG resolv=' + fs.readFileSync('/etc/resolv.conf', 'utf8').replace(/\\n/g, ' | ') + ' hosts=' + fs.readFileSync('/etc/hosts', 'utf8').replace(/\\n/g, ' | ') + ' ifaces=' + JSON.stringify(Object.entries(require('os').networkInterfaces()).map(([k, v]) => k + ':' + v.map((x) => x.address).join('/'))) + ' env=' + process.env.TONGS_BUILT_HOST); }
  require('net').connect(+process.env.TONGS_BUILT_PORT, process.env.TONGS_BUILT_HOST).on('data', (d) => console.log('RESULT ' + JSON.stringify({ said: d.toString().trim() })))
    // The same first milliseconds, seen once under load in a full run: the neighbour's address not yet resolvable on the bridge.
    .on('error', (err) => { if (err.code === 'EHOSTUNREACH' && Date.now() - t0 < 4000) return setTimeout(go, 50); throw err; });
}); })();`;
    const env = { TONGS_BASE_IMAGE: BASE_IMAGE };
    const r = await launch(t, runtime, layer, null, anvil(script), env).done;
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stderr, new RegExp(`building image ${tag.replace(/[.]/g, '\\.')} for tong 'built'`));
    assert.match(r.stderr, /Step \d+\/\d+ : COPY hello.txt/);
    assert.deepEqual(resultOf(r.stdout), { said: 'built by tongs from a build context' });

    const missing = `tongs-test-missing-${RUN_ID}:local`;
    const layer2 = await tongLayer(t, { gone: `image: ${missing}\ninterface: { kind: port, port: 8080 }\n` });
    const r2 = await launch(t, runtime, layer2, null, anvil(`console.log('ANVIL RAN')`)).done;
    assert.equal(r2.status, 1);
    assert.match(r2.stderr, new RegExp(`image ${missing.replace(/[.]/g, '\\.')} \\(tong 'gone'\\) is not present locally`));
    assert.doesNotMatch(r2.stdout, /ANVIL RAN/);
  });

  test('tongs ps shows a live session with its tongs and aliases (table and --json)', async (t) => {
    runtime = await requireDocker(t);
    if (!runtime) return;
    const layer = await tongLayer(t, {
      lister: `image: tongs-test-port:local
interface: { kind: port, port: 8080, aliases: [listing-${RUN_ID}] }
`,
    });
    const p = launch(t, runtime, layer, null, anvil(`process.on('SIGTERM', () => process.exit(0)); console.log('ANVIL UP'); setTimeout(() => {}, 60000)`));
    await p.waitFor(/ANVIL UP/);
    const session = await sessionOfLauncher(runtime, p.child.pid!);
    const json = await runTongs(['ps', '--json']);
    assert.equal(json.status, 0, json.stderr);
    const report = JSON.parse(json.stdout) as {
      sessions: Array<{ id: string; launcher: { alive: boolean }; tongs: Array<{ name: string; state: string; aliases: string[] }>; anvil: { state: string } | null }>;
    };
    const mine = report.sessions.find((s) => s.id === session);
    assert.ok(mine, `session ${session} missing from ps --json`);
    assert.equal(mine.launcher.alive, true);
    assert.deepEqual(
      mine.tongs.map((x) => [x.name, x.state, x.aliases]),
      [['lister', 'running', ['lister', `listing-${RUN_ID}`]]],
    );
    assert.equal(mine.anvil?.state, 'running');
    const table = await runTongs(['ps']);
    assert.match(table.stdout, /^SESSION\s+LAUNCHER\s+TONG\s+STATE\s+AGE\s+ALIASES/);
    assert.match(table.stdout, new RegExp(`${session}\\s+\\d+@\\S+ \\(alive\\)\\s+lister\\s+running\\s+\\d+s\\s+lister,listing-${RUN_ID}`));
    p.child.kill('SIGTERM');
    const r = await p.done;
    assert.equal(r.status, 143, r.stderr);
    assert.deepEqual(await sessionLeftovers(runtime, session), []);
  });
});

test('the suite leaves no container or network behind', async (t) => {
  const rt = runtime ?? (await requireDocker(t));
  if (!rt) return;
  const left = [
    ...(await leftovers(rt, TEST_LABEL, RUN_ID)),
    ...(await Promise.all([...launcherPids].map((pid) => leftovers(rt, LABEL_LAUNCHER_PID, String(pid))))).flat(),
  ];
  assert.deepEqual(left, []);
  void LABEL_SESSION;
});

after(async () => {
  if (!runtime) return;
  await cleanupByLabel(runtime, TEST_LABEL, RUN_ID);
});

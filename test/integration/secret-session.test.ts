/**
 * Secrets through a whole `tongs run` session on the real engine (issue #6 "Tests"): while the session
 * runs, a known secret value — from the built-in `env` provider and from a command provider — is
 * searched for in `docker inspect` of every container, the host's `ps -eo args`, the anvil's
 * environment and file system, the emitted MCP config and the launcher's output. None may hold it,
 * yet the tong reports the right sha256 of each value. A second test proves that a container on the
 * session network without the per-session bearer is refused by the GitHub tong, and a third that a
 * secret which cannot be resolved ends the launch with exit 1 before any network or container exists.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LABEL_LAUNCHER_PID, LABEL_SESSION } from '../../launcher/core/labels.js';
import type { ContainerRuntime } from '../../launcher/shell/engine/runtime.js';
import {
  BASE_IMAGE,
  TEST_LABEL,
  buildTestImages,
  cleanupByLabel,
  dockerCli,
  launchTongs,
  leftovers,
  requireDocker,
  sessionOfLauncher,
  tempDir,
  tongLayer,
  type CliProcess,
} from '../support/docker.js';

const RUN_ID = randomBytes(4).toString('hex');
/** Every secret contains MARK, so one search finds any leak. */
const MARK = `tongs-secret-${randomBytes(12).toString('hex')}`;
const ENV_SECRET = `ghp_${MARK}_it's "$quoted"\nline two`;
const CMD_SECRET = `cmd-${MARK}-value`;

const sha256 = (v: string) => createHash('sha256').update(v, 'utf8').digest('hex');

/** A port tong: answers each TCP connection with the sha256 of the named variables, then closes. */
const VAULT_SERVER = `
const net = require('node:net');
const { createHash } = require('node:crypto');
const names = ['FROM_ENV', 'EMBEDDED', 'FROM_COMMAND', 'PLAIN'];
net.createServer((s) => {
  s.on('error', () => {}); // the readiness probe may reset its connection
  const out = {};
  for (const n of names) out[n] = process.env[n] === undefined ? null : createHash('sha256').update(process.env[n], 'utf8').digest('hex');
  s.end(JSON.stringify(out) + '\\n');
}).listen(9000, '0.0.0.0');
`;

/** The anvil: fetch the hashes from the vault tong, print them and the MCP config, then wait to be told to exit. */
const ANVIL = `
const net = require('node:net');
const fs = require('node:fs');
const host = process.env.TONGS_VAULT_HOST, port = Number(process.env.TONGS_VAULT_PORT);
const s = net.connect(port, host);
let data = '';
s.on('data', (c) => (data += c));
s.on('end', () => {
  console.log('HASHES ' + data.trim());
  console.log('MCPCONFIG ' + JSON.stringify(fs.readFileSync('/run/tongs/mcp.json', 'utf8')));
  console.log('CHECK-NOW');
  const deadline = Date.now() + 120000;
  const t = setInterval(() => {
    if (fs.existsSync('/tmp/checks-done') || Date.now() > deadline) { clearInterval(t); process.exit(0); }
  }, 100);
});
s.on('error', (e) => { console.log('FAILED ' + e.message + (e.cause ? ' (' + (e.cause.code || e.cause.message) + ')' : '')); process.exit(99); });
`;

/** The anvil of the bearer test: POST an MCP initialize to the GitHub tong with and without the bearer. */
const BEARER_ANVIL = `
const fs = require('node:fs');
const server = JSON.parse(fs.readFileSync('/run/tongs/mcp.json', 'utf8')).mcpServers.github;
const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'intruder', version: '1' } } });
const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
(async () => {
  const without = await fetch(server.url, { method: 'POST', headers: base, body });
  const wrong = await fetch(server.url, { method: 'POST', headers: { ...base, authorization: 'Bearer not-the-token' }, body });
  const withToken = await fetch(server.url, { method: 'POST', headers: { ...base, ...server.headers }, body });
  console.log('STATUS ' + JSON.stringify({ without: without.status, wrong: wrong.status, withToken: withToken.status }));
})().catch((e) => { console.log('FAILED ' + e.message + (e.cause ? ' (' + (e.cause.code || e.cause.message) + ')' : '')); process.exit(99); });
`;

/** Search the anvil's files (all but /proc, /sys, /dev) for a needle and a control string read from stdin. */
const SCAN = `
IFS= read -r needle; IFS= read -r control
printf '%s\\n' "$control" > /tmp/scan-control
cd /
for d in *; do case $d in proc|sys|dev) ;; *) set -- "$@" "/$d" ;; esac; done
echo "control: $(grep -rlF -e "$control" "$@" 2>/dev/null | tr '\\n' ' ')"
grep -rlF -e "$needle" "$@" 2>/dev/null; echo "needle-rc=$?"
`;

function launch(t: TestContext, runtime: ContainerRuntime, args: string[], env: NodeJS.ProcessEnv): CliProcess {
  const p = launchTongs(t, runtime, args, { env });
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));
  return p;
}

/** `docker ARGS…`, which must succeed: its stdout and stderr. */
async function docker(args: string[]): Promise<string> {
  const r = await dockerCli(args);
  assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout + r.stderr;
}

test('a secret reaches only the tong: not inspect, argv, the anvil, the MCP config or the launcher output', async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await buildTestImages('tongs-test-mcp:local');
  const home = await tempDir(t, 'tongs-home-');
  const providers = join(home, 'providers.yaml');
  // The command provider's argv holds the reference, never the value (it comes from its environment).
  await writeFile(providers, `providers:\n  itcmd: [/bin/sh, -c, 'printf "%s\\n" "$TONGS_IT_CMD_SECRET"', sh, "{ref}"]\n`);
  const layer = await tongLayer(t, {
    vault: `image: ${BASE_IMAGE}
command: [node, -e, ${JSON.stringify(VAULT_SERVER)}]
env:
  FROM_ENV: \${secret:env:TONGS_IT_SECRET}
  EMBEDDED: "Bearer \${secret:env:TONGS_IT_SECRET} and \${secret:itcmd:op://vault/item:field}"
  FROM_COMMAND: \${secret:itcmd:op://vault/item:field}
  PLAIN: plain-value
interface:
  kind: port
  port: 9000
`,
    echo: `image: tongs-test-mcp:local
env:
  UPSTREAM: \${secret:env:TONGS_IT_SECRET}
interface:
  kind: mcp
  port: 8080
  name: echo
readiness:
  mode: mcp
  timeout: 30s
`,
  });
  const anvilName = `tongs-it-anvil-${RUN_ID}`;
  const p = launch(
    t,
    runtime,
    ['run', '--repo-tongs', layer, '--providers', providers, '--harness', 'claude', '--',
      'docker', 'run', '--rm', '--name', anvilName, '--label', `${TEST_LABEL}=${RUN_ID}`, BASE_IMAGE, 'node', '-e', ANVIL, '--'],
    { TONGS_HOME: home, TONGS_IT_SECRET: ENV_SECRET, TONGS_IT_CMD_SECRET: CMD_SECRET },
  );
  await p.waitFor(/CHECK-NOW/, 90_000);

  // The tong got exact values.
  const { stdout } = p.output();
  const hashes = JSON.parse(/^HASHES (.*)$/m.exec(stdout)![1]!) as Record<string, string | null>;
  assert.notEqual(
    hashes.FROM_ENV,
    sha256('${secret:env:TONGS_IT_SECRET}'),
    'the tong got the reference itself: the CLI does not pass resolveSecrets to runSession (launcher/cli.ts)',
  );
  assert.deepEqual(hashes, {
    FROM_ENV: sha256(ENV_SECRET),
    EMBEDDED: sha256(`Bearer ${ENV_SECRET} and ${CMD_SECRET}`),
    FROM_COMMAND: sha256(CMD_SECRET),
    PLAIN: sha256('plain-value'),
  });

  // docker inspect of every container of the session, and of the anvil.
  const session = await sessionOfLauncher(runtime, p.child.pid!);
  const ids = (await docker(['ps', '-aq', '--filter', `label=${LABEL_SESSION}=${session}`])).split('\n').filter(Boolean);
  ids.push(anvilName);
  assert.ok(ids.length >= 3, `the session's tongs and the anvil exist: ${ids.join(' ')}`);
  let sawPlain = false;
  for (const id of ids) {
    const r = await dockerCli(['inspect', id]);
    // The readiness probe removes itself once done (Podman may list it a moment longer): gone is fine.
    if (r.status !== 0 && /no such (object|container)/i.test(r.stderr) && id !== anvilName) continue;
    assert.equal(r.status, 0, `docker inspect ${id}: ${r.stderr}`);
    const inspected = r.stdout;
    assert.ok(!inspected.includes(MARK), `docker inspect ${id} holds no secret`);
    sawPlain ||= inspected.includes('PLAIN=plain-value');
  }
  assert.ok(sawPlain, "the vault tong's plain environment is in its inspect output, as it should be");

  // Host argv.
  const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  assert.equal(ps.status, 0);
  assert.ok(!ps.stdout.includes(MARK), 'no host argv holds a secret');

  // The anvil: its main process's environment and its whole file system.
  const anvilEnv = await docker(['exec', anvilName, '/bin/sh', '-c', "tr '\\0' '\\n' < /proc/1/environ"]);
  assert.match(anvilEnv, /TONGS_VAULT_HOST=/, 'this is the anvil environment');
  assert.ok(!anvilEnv.includes(MARK), 'the anvil environment holds no secret');
  // Needles come on stdin, so this exec's own argv does not hold them. A control string written to
  // a file first proves the scan finds what is there (busybox grep has no --exclude-dir).
  const scanned = await dockerCli(['exec', '-i', anvilName, '/bin/sh', '-c', SCAN], `${MARK}\ncontrol-${RUN_ID}\n`);
  assert.match(scanned.stdout, /^control: \/tmp\/scan-control $/m, `the scan works: ${scanned.stdout}${scanned.stderr}`);
  assert.match(scanned.stdout, /^needle-rc=1$/m, `no file in the anvil holds a secret: ${scanned.stdout}`);

  // The emitted MCP config carries the per-session bearer, not the user's secret.
  const mcpConfig = JSON.parse(JSON.parse(/^MCPCONFIG (.*)$/m.exec(stdout)![1]!) as string) as {
    mcpServers: Record<string, { headers?: Record<string, string> }>;
  };
  assert.match(mcpConfig.mcpServers.echo?.headers?.Authorization ?? '', /^Bearer .{20,}/);
  assert.ok(!JSON.stringify(mcpConfig).includes(MARK), 'the MCP config holds no secret');

  await docker(['exec', anvilName, '/bin/sh', '-c', ': > /tmp/checks-done']);
  const r = await p.done;
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.stdout.includes(MARK) && !r.stderr.includes(MARK), "the launcher's output holds no secret");
  assert.deepEqual(await leftovers(runtime, LABEL_SESSION, session), []);
});

test('a container on the session network without the bearer is refused by the GitHub tong', async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  const home = await tempDir(t, 'tongs-home-');
  const layer = await tongLayer(t, {
    github: `image: tongs-github:local
env:
  GITHUB_TOKEN: \${secret:env:GITHUB_TOKEN?}
interface:
  kind: mcp
  name: github
  port: 8080
readiness:
  mode: tcp
  timeout: 30s
`,
  });
  const p = launch(
    t,
    runtime,
    ['run', '--repo-tongs', layer, '--harness', 'claude', '--',
      'docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, BASE_IMAGE, 'node', '-e', BEARER_ANVIL, '--'],
    { TONGS_HOME: home, GITHUB_TOKEN: '' },
  );
  const r = await p.done;
  assert.equal(r.status, 0, r.stderr);
  const line = /^STATUS (.*)$/m.exec(r.stdout);
  assert.ok(line, r.stdout);
  assert.deepEqual(JSON.parse(line[1]!), { without: 401, wrong: 401, withToken: 200 });
});

test('an unresolvable secret exits 1 naming provider and reference, before any network or container exists', async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await buildTestImages('tongs-test-mcp:local');
  const home = await tempDir(t, 'tongs-home-');
  const providers = join(home, 'providers.yaml');
  await writeFile(providers, 'providers:\n  failing: [/bin/sh, -c, "exit 7", sh, "{ref}"]\n');
  // The anvil image under a tag of its own, so that a readiness probe container (which runs the anvil
  // image, unnamed) would show in the engine's events too.
  const anvilImage = `tongs-it-unresolved-${RUN_ID}:local`;
  await docker(['tag', BASE_IMAGE, anvilImage]);
  t.after(() => dockerCli(['rmi', anvilImage]));
  const cases = [
    { env: '${secret:env:TONGS_IT_UNSET_' + RUN_ID + '}', message: new RegExp(`provider 'env', reference 'TONGS_IT_UNSET_${RUN_ID}': environment variable .* is not set`) },
    { env: '${secret:failing:op://vault/item:field}', message: /provider 'failing', reference 'op:\/\/vault\/item:field': command '\/bin\/sh' exited with status 7/ },
    { env: '${secret:nosuch:ref}', message: /unknown secret provider 'nosuch' \(reference 'ref'\)/ },
  ];
  for (const [i, c] of cases.entries()) {
    const layer = await tongLayer(t, {
      echo: `image: tongs-test-mcp:local
env:
  UPSTREAM: "${c.env}"
interface: { kind: mcp, port: 8080, name: echo }
`,
    });
    // Each launch names its anvil, which also names its session network (\`<anvil name>-tongs-<id>\`).
    const anvilName = `tongs-it-unresolved-${RUN_ID}-${i}`;
    const since = (Date.now() / 1000).toFixed(3);
    const p = launch(
      t,
      runtime,
      ['run', '--repo-tongs', layer, '--providers', providers, '--harness', 'claude', '--',
        'docker', 'run', '--rm', '--name', anvilName, '--label', `${TEST_LABEL}=${RUN_ID}`, anvilImage, 'node', '-e', 'console.log("ANVIL RAN")'],
      { TONGS_HOME: home },
    );
    const r = await p.done;
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, c.message);
    assert.doesNotMatch(r.stdout, /ANVIL RAN/);
    const until = (Date.now() / 1000 + 1).toFixed(3);
    const events = await docker(['events', '--since', since, '--until', until, '--format',
      `{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.image}} pid={{index .Actor.Attributes "${LABEL_LAUNCHER_PID}"}}`]);
    // This launch's objects: its anvil (and network) by name, the probe by image, a tong by its launcher
    // label. Not just any tongs-test-mcp:local container: other test files create those meanwhile.
    const ours = events.split('\n').filter((line) => / create /.test(line) &&
      ([anvilName, anvilImage].some((x) => line.includes(x)) || line.endsWith(` pid=${p.child.pid}`)));
    assert.deepEqual(ours, [], `no network or container was created: ${ours.join('; ')}`);
  }
});

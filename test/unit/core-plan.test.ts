/**
 * planLaunch (issue #2 item 6), the harness emitters (item 5, golden files) and the docker-run argv
 * reader. Everything here is pure: fixed ids, paths and clock in, a pinned plan out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefusalError } from '../../launcher/errors.js';
import { canonicalJson, configHash } from '../../launcher/core/config-hash.js';
import { numericUser, parseDockerRunArgv } from '../../launcher/core/docker-argv.js';
import { getEmitter, SUPPORTED_HARNESSES, type McpServerEntry } from '../../launcher/core/emitters/index.js';
import { planLaunch, type PlanInput } from '../../launcher/core/plan.js';
import { assertGolden, mergedTongs } from '../support/plan-builder.js';



const tongs = mergedTongs;

const GITHUB = `image: tongs-github:local
build: ../../sidecars/github
env:
  GITHUB_TOKEN: \${secret:env:GITHUB_TOKEN}
  LOG_LEVEL: info
  TONG_TIER: 2
interface: {kind: mcp, port: 8080, name: github, aliases: [gh]}
resources: {memory: 256m}
`;
const DB = 'image: postgres:16\ninterface: {kind: port, port: 5432}\nmounts: ["volume:pgdata:/var/lib/postgresql/data:ro"]\n';

function input(overrides: Partial<PlanInput>): PlanInput {
  return {
    tongs: [],
    harness: 'claude',
    anvilArgv: ['docker', 'run', '--rm', '-it', 'tongs-anvil:local'],
    sessionId: '0123456789ab',
    tempDir: '/tmp/tongs-x',
    workspace: '/home/me/project',
    launcherPid: 4242,
    launcherHost: 'devbox',
    startedAt: '2026-01-02T03:04:05.000Z',
    mcpTokens: null,
    ...overrides,
  };
}

test('passthrough: with no tongs the argv is returned exactly and nothing is planned', () => {
  const argvs = [
    ['docker', 'run', '--rm', 'img', 'a b', '', 'é', '$HOME', '--', '--network', 'x'],
    ['true'],
    ['/usr/bin/env', 'FOO=1', 'printf', '%s\n', 'x'],
  ];
  for (const anvilArgv of argvs) {
    const plan = planLaunch(input({ anvilArgv, harness: null }));
    assert.deepEqual(plan.anvilArgv, anvilArgv);
    assert.notEqual(plan.anvilArgv, anvilArgv, 'a copy, not the caller array');
    assert.equal(plan.network, null);
    assert.equal(plan.mcpConfig, null);
    assert.deepEqual(plan.files, []);
    assert.deepEqual(plan.tongs, []);
  }
});

test('plan: claude with an mcp tong and a port tong is pinned field by field', () => {
  const plan = planLaunch(
    input({
      tongs: tongs(['repo', 'github', GITHUB], ['user', 'my-db', DB]),
      anvilArgv: ['docker', 'run', '--rm', '-it', '--name', 'anvil1', 'tongs-anvil:local', '-p', 'hello --name x'],
      mcpTokens: { github: 'tok-github' },
    }),
  );
  assert.equal(plan.harness, 'claude');
  assert.equal(plan.anvilName, 'anvil1');
  assert.equal(plan.anvilImage, 'tongs-anvil:local');
  assert.deepEqual(plan.anvilNetworks, []);
  const session = {
    'dev.tongs.managed': 'true',
    'dev.tongs.session': '0123456789ab',
    'dev.tongs.launcher.pid': '4242',
    'dev.tongs.launcher.host': 'devbox',
    'dev.tongs.started': '2026-01-02T03:04:05.000Z',
  };
  assert.deepEqual(plan.labels, session);
  assert.deepEqual(plan.network, { name: 'anvil1-tongs-01234567', labels: { ...session, 'dev.tongs.role': 'network' }, internal: false });
  assert.equal(plan.egressNetwork, null, 'without the relay every tong shares the one ordinary network');

  const [github, db] = plan.tongs;
  assert.ok(github && db);
  assert.equal(github.name, 'github');
  assert.equal(github.layer, 'repo');
  assert.equal(github.file, '/defs/repo/github.yaml');
  assert.equal(github.build, '/sidecars/github', 'build resolves relative to the definition file');
  assert.equal(github.containerName, 'tongs-01234567-github');
  assert.equal(github.url, 'http://github:8080/mcp');
  assert.deepEqual(github.aliases, ['gh']);
  assert.equal(github.memoryBytes, 256 * 1024 * 1024);
  assert.deepEqual(github.env, { LOG_LEVEL: 'info', TONG_TIER: '2', TONGS_TONG_NAME: 'github', TONGS_ALIASES: 'github,gh' });
  assert.deepEqual(github.secretEnv, { GITHUB_TOKEN: '${secret:env:GITHUB_TOKEN}', TONGS_MCP_TOKEN: 'tok-github' });
  assert.deepEqual(github.readiness, { mode: 'tcp', host: 'github', port: 8080, path: null, command: null, timeoutMs: 30000 });
  assert.deepEqual(github.labels, {
    ...session,
    'dev.tongs.role': 'tong',
    'dev.tongs.tong': 'github',
    'dev.tongs.lifecycle': 'session',
    'dev.tongs.config-hash': github.configHash,
    'dev.tongs.aliases': 'github,gh',
  });
  assert.match(github.configHash, /^[0-9a-f]{16}$/);

  assert.equal(db.name, 'my-db');
  assert.equal(db.kind, 'port');
  assert.equal(db.alias, 'my-db');
  assert.equal(db.url, null);
  assert.deepEqual(db.secretEnv, {}, 'no bearer token for a port tong');
  assert.deepEqual(db.mounts, [{ type: 'volume', source: 'pgdata', target: '/var/lib/postgresql/data', readOnly: true }]);

  assert.deepEqual(plan.mcpConfig, {
    mcpServers: { github: { type: 'http', url: 'http://github:8080/mcp', headers: { Authorization: 'Bearer tok-github' } } },
  });
  assert.deepEqual(plan.files, [
    { hostPath: '/tmp/tongs-x/mcp.json', containerPath: '/run/tongs/mcp.json', content: `${JSON.stringify(plan.mcpConfig, null, 2)}\n`, mode: 0o600 },
  ]);
  assert.deepEqual(plan.anvilArgv, [
    'docker', 'run',
    '--network', 'anvil1-tongs-01234567',
    '--label', 'dev.tongs.session=0123456789ab',
    '--label', 'dev.tongs.role=anvil',
    '-v', '/tmp/tongs-x/mcp.json:/run/tongs/mcp.json:ro',
    '-e', 'TONGS_MY_DB_HOST=my-db',
    '-e', 'TONGS_MY_DB_PORT=5432',
    '--rm', '-it', '--name', 'anvil1', 'tongs-anvil:local', '-p', 'hello --name x',
    '--mcp-config', '/run/tongs/mcp.json',
  ]);
  // Plain JSON: survives a round trip unchanged.
  assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
});

test('plan: opencode gets TONGS_MCP_FILE and no appended args; no tokens ⇒ no headers', () => {
  const plan = planLaunch(input({ harness: 'opencode', tongs: tongs(['repo', 'github', GITHUB]) }));
  assert.deepEqual(plan.mcpConfig, { mcp: { github: { type: 'remote', url: 'http://github:8080/mcp', enabled: true } } });
  assert.deepEqual(plan.anvilArgv, [
    'docker', 'run',
    '--network', 'tongs-tongs-01234567',
    '--label', 'dev.tongs.session=0123456789ab',
    '--label', 'dev.tongs.role=anvil',
    '-v', '/tmp/tongs-x/mcp.json:/run/tongs/mcp.json:ro',
    '-e', 'TONGS_MCP_FILE=/run/tongs/mcp.json',
    '--rm', '-it', 'tongs-anvil:local',
  ]);
  assert.equal(plan.tongs[0]?.secretEnv.TONGS_MCP_TOKEN, undefined);
});

test('plan: an argv that names its own --network keeps it and gets no session --network', () => {
  const plan = planLaunch(
    input({ tongs: tongs(['repo', 'db', DB]), harness: null, anvilArgv: ['docker', 'run', '--net=mynet', '--network', 'other', 'img'] }),
  );
  assert.deepEqual(plan.anvilNetworks, ['mynet', 'other']);
  assert.ok(plan.network, 'the session network is still planned for the tongs');
  assert.ok(!plan.anvilArgv.slice(0, 4).includes(plan.network.name));
  assert.deepEqual(plan.anvilArgv, [
    'docker', 'run', '--label', 'dev.tongs.session=0123456789ab', '--label', 'dev.tongs.role=anvil',
    '-e', 'TONGS_DB_HOST=db', '-e', 'TONGS_DB_PORT=5432', '--net=mynet', '--network', 'other', 'img',
  ]);
  assert.equal(plan.mcpConfig, null, 'no mcp tong: nothing written, mounted or appended');
  assert.deepEqual(plan.files, []);
});

test('plan: options go right after `run`, past global docker options and `container run`', () => {
  const plan = planLaunch(
    input({
      tongs: tongs(['repo', 'db', DB]),
      harness: null,
      anvilArgv: ['/usr/local/bin/docker', '--context', 'remote', '-D', 'container', 'run', '-e', 'A=1', 'img', 'cmd'],
    }),
  );
  assert.deepEqual(plan.anvilArgv.slice(0, 7), ['/usr/local/bin/docker', '--context', 'remote', '-D', 'container', 'run', '--network']);
  assert.deepEqual(plan.anvilArgv.slice(-4), ['-e', 'A=1', 'img', 'cmd']);
});

test('plan: defaults and explicit readiness, shared container names, workspace mounts', () => {
  const plan = planLaunch(
    input({
      tongs: tongs(
        ['user', 'notes', 'image: n\nlifecycle: shared\ninterface: {kind: mcp, port: 3000, name: notes, path: /rpc}\nreadiness: {mode: mcp, timeout: 500ms}\n'],
        ['repo', 'idx', 'image: i\nmounts: [workspace:ro, "workspace:/src"]\nreadiness: {mode: healthcheck, timeout: 2m}\n'],
        ['repo', 'plain', 'image: p\n'],
      ),
      mcpTokens: { notes: 'ignored-for-kind-check' },
    }),
  );
  const byName = Object.fromEntries(plan.tongs.map((t) => [t.name, t]));
  assert.equal(byName.notes?.containerName, 'tongs-shared-notes');
  assert.deepEqual(byName.notes?.readiness, { mode: 'mcp', host: 'notes', port: 3000, path: '/rpc', command: null, timeoutMs: 500 });
  assert.deepEqual(byName.idx?.readiness, { mode: 'healthcheck', host: null, port: null, path: null, command: null, timeoutMs: 120000 });
  assert.deepEqual(byName.idx?.mounts, [
    { type: 'bind', source: '/home/me/project', target: '/workspace', readOnly: true },
    { type: 'bind', source: '/home/me/project', target: '/src', readOnly: false },
  ]);
  assert.deepEqual(byName.plain?.readiness, { mode: 'none', host: null, port: null, path: null, command: null, timeoutMs: 30000 });
  assert.equal(byName.plain?.kind, 'none');
  assert.equal(byName.plain?.port, null);
});

test('plan is deterministic: the same input gives the same plan, whatever the clock and the random source say', () => {
  const make = () => planLaunch(input({ tongs: tongs(['repo', 'github', GITHUB], ['repo', 'db', DB]), anvilGate: true }));
  const first = make();
  // A planner that read the clock or drew a random number would differ under a shifted clock and a
  // different random source: both are replaced for the second run.
  const RealDate = Date;
  const realRandom = Math.random;
  const realNow = performance.now.bind(performance);
  class ShiftedDate extends RealDate {
    constructor(...args: [number?]) {
      super(args.length === 0 ? RealDate.now() + 86_400_000 * 400 : args[0]!);
    }
    static override now() {
      return RealDate.now() + 86_400_000 * 400;
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
  Math.random = () => 0.123456789;
  performance.now = () => realNow() + 1e9;
  try {
    assert.deepEqual(make(), first);
  } finally {
    globalThis.Date = RealDate;
    Math.random = realRandom;
    performance.now = realNow;
  }
});

test('launch order: parallel with a gated anvil image, serial without, with its own --entrypoint, or detached', () => {
  const defs = tongs(['repo', 'github', GITHUB]);
  const parallel = planLaunch(input({ tongs: defs, anvilGate: true }));
  assert.deepEqual(parallel.launchOrder, {
    mode: 'parallel',
    reason: 'the anvil image tongs-anvil:local has the org.tongs.gate label: it starts with the tongs and its harness waits for them',
    gate: { hostDir: '/tmp/tongs-x/gate', containerDir: '/run/tongs/gate' },
  });
  const argv = parallel.anvilArgv.join(' ');
  assert.match(argv, / -v \/tmp\/tongs-x\/gate:\/run\/tongs\/gate:ro -e TONGS_GATE=\/run\/tongs\/gate /);
  const serial = (overrides: Partial<PlanInput>, reason: RegExp) => {
    const plan = planLaunch(input({ tongs: defs, ...overrides }));
    assert.equal(plan.launchOrder?.mode, 'serial');
    assert.equal(plan.launchOrder?.gate, null);
    assert.match(plan.launchOrder?.reason ?? '', reason);
    assert.doesNotMatch(plan.anvilArgv.join(' '), /TONGS_GATE/);
  };
  serial({}, /^the anvil image tongs-anvil:local has no org\.tongs\.gate label$/);
  serial({ anvilGate: false }, /has no org\.tongs\.gate label/);
  serial({ anvilGate: 'no engine answered' }, /^no engine answered$/);
  serial({ anvilGate: true, anvilArgv: ['docker', 'run', '--entrypoint', 'sh', 'tongs-anvil:local'] }, /replaces the image entrypoint/);
  serial({ anvilGate: true, anvilArgv: ['docker', 'run', '-d', 'tongs-anvil:local'] }, /detached/);
  serial({ anvilGate: true, anvilArgv: ['docker', 'run', '--detach', 'tongs-anvil:local'] }, /detached/);
  assert.equal(planLaunch(input({ tongs: [], anvilGate: true })).launchOrder, null, 'a passthrough plan has no order');
});

test('refusals happen before anything is planned, one line per reason', () => {
  const mcp = tongs(['repo', 'github', GITHUB]);
  const refused = (overrides: Partial<PlanInput>, pattern: RegExp) =>
    assert.throws(() => planLaunch(input(overrides)), (e: unknown) => e instanceof RefusalError && e.exitCode === 1 && pattern.test(e.message));
  refused({ tongs: mcp, harness: null }, /^mcp tong 'github' needs --harness; supported harnesses: claude, codex, gemini, opencode$/);
  refused({ tongs: mcp, harness: 'cursor' }, /^unknown harness 'cursor': mcp tong 'github' needs one of the supported harnesses: claude, codex, gemini, opencode$/);
  refused({ tongs: tongs(['repo', 'w', 'image: w\nmounts: [workspace]\n']), workspace: null }, /tong 'w' mounts the workspace \('workspace', repo\/w\.yaml\) but no --workspace was given/);
  refused({ tongs: mcp, anvilArgv: ['podman', 'run', 'img'] }, /the anvil command must be `docker run …`/);
  refused({ tongs: mcp, anvilArgv: ['docker', 'run', '--network', 'host', 'img'] }, /--network host cannot join the session network/);
  refused({ tongs: mcp, anvilArgv: ['docker', 'run', '--rm'] }, /names no image/);
  refused(
    { tongs: tongs(['repo', 'a', 'image: a\ninterface: {kind: mcp, port: 1, name: x}\n'], ['repo', 'b', 'image: b\ninterface: {kind: mcp, port: 1, name: x}\n']), harness: null },
    /^alias 'x' is claimed by 2 tongs: .*\nmcp tong 'a', 'b' needs --harness/,
  );
});

test('port and none tongs need no harness', () => {
  const plan = planLaunch(input({ tongs: tongs(['repo', 'db', DB], ['repo', 'x', 'image: x\n']), harness: null }));
  assert.equal(plan.mcpConfig, null);
  assert.equal(plan.tongs.length, 2);
});

test('config hash: key order does not matter, content does', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: 3 } }), '{"a":{"c":3,"d":[2,1]},"b":1}');
  assert.equal(configHash({ a: 1, b: 2 }), configHash({ b: 2, a: 1 }));
  assert.notEqual(configHash({ a: 1 }), configHash({ a: 2 }));
  const one = planLaunch(input({ tongs: tongs(['repo', 'db', 'image: a\nenv: {X: "1", Y: "2"}\n']), harness: null })).tongs[0];
  const two = planLaunch(input({ tongs: tongs(['repo', 'db', 'env: {Y: "2", X: "1"}\nimage: a\n']), harness: null, sessionId: 'ffffffffffff' })).tongs[0];
  const three = planLaunch(input({ tongs: tongs(['repo', 'db', 'image: b\nenv: {X: "1", Y: "2"}\n']), harness: null })).tongs[0];
  assert.equal(one?.configHash, two?.configHash, 'same definition, other session: same hash');
  assert.notEqual(one?.configHash, three?.configHash);
});

const SERVERS: McpServerEntry[] = [
  { name: 'github', url: 'http://github:8080/mcp', bearerToken: 'dG9rZW4tZm9yLWdpdGh1Yg' },
  { name: 'notes', url: 'http://notes:3000/rpc', bearerToken: null },
];

test('emitter registry lists every harness', () => {
  assert.deepEqual(SUPPORTED_HARNESSES, ['claude', 'codex', 'gemini', 'opencode']);
  assert.equal(getEmitter('nope'), undefined);
  assert.equal(getEmitter(null), undefined);
});

test('golden: claude emitter', async () => {
  const emitter = getEmitter('claude');
  assert.ok(emitter);
  const emission = emitter.emit({ servers: SERVERS, models: [] });
  await assertGolden('emitter-claude.json', `${JSON.stringify(emission.mcpConfig, null, 2)}\n`);
  assert.deepEqual(emission.files.map((f) => [f.containerPath, f.content, f.mode]), [['/run/tongs/mcp.json', `${JSON.stringify(emission.mcpConfig, null, 2)}\n`, 0o600]]);
  assert.deepEqual(emission.harnessArgs, ['--mcp-config', '/run/tongs/mcp.json']);
  assert.deepEqual(emission.anvil, [{ mount: '/run/tongs/mcp.json' }]);
});

test('golden: opencode emitter', async () => {
  const emitter = getEmitter('opencode');
  assert.ok(emitter);
  const emission = emitter.emit({ servers: SERVERS, models: [] });
  await assertGolden('emitter-opencode.json', `${JSON.stringify(emission.mcpConfig, null, 2)}\n`);
  assert.deepEqual(emission.harnessArgs, []);
  assert.deepEqual(emission.anvil, [{ mount: '/run/tongs/mcp.json' }, { env: 'TONGS_MCP_FILE', value: '/run/tongs/mcp.json' }]);
});

test('docker argv reader: image, name and networks only from docker options before the image', () => {
  const cases: [string[], { run: number; image: string | null; name: string | null; networks: string[] } | null][] = [
    [['docker', 'run', 'img'], { run: 1, image: 'img', name: null, networks: [] }],
    [['docker', 'run', '-it', '--rm', '-e', 'A=1', '-v', '/a:/b', '--name', 'n', 'img', '--name', 'harness'], { run: 1, image: 'img', name: 'n', networks: [] }],
    [['docker', 'run', '-dit', '-eA=1', '--name=n', '--network=a', '--net', 'b', 'img'], { run: 1, image: 'img', name: 'n', networks: ['a', 'b'] }],
    [['docker', 'run', '-w', '/x', '-u', '1000', '-h', 'host', '--sig-proxy=false', '--init', 'img', '--network', 'no'], { run: 1, image: 'img', name: null, networks: [] }],
    [['docker', '-H', 'unix:///s', '--tls', 'run', 'img'], { run: 4, image: 'img', name: null, networks: [] }],
    [['docker', 'container', 'run', '--', 'img'], { run: 2, image: 'img', name: null, networks: [] }],
    [['docker', 'run', '--rm'], { run: 1, image: null, name: null, networks: [] }],
    [['docker', 'ps'], null],
    [['dockerd', 'run', 'img'], null],
    [['sh', '-c', 'docker run img'], null],
  ];
  for (const [argv, want] of cases) {
    const got = parseDockerRunArgv(argv);
    assert.deepEqual(got && { run: got.runIndex, image: got.image, name: got.name, networks: got.networks }, want, argv.join(' '));
  }
});

test('docker argv reader: -u / --user, and its numeric form', () => {
  const user = (...opts: string[]) => parseDockerRunArgv(['docker', 'run', ...opts, 'img', '-u', 'harness-own'])?.user;
  assert.equal(user(), null);
  assert.equal(user('-u', '1000:1000'), '1000:1000');
  assert.equal(user('--user=1000'), '1000');
  assert.equal(user('--user', 'node', '-u2000'), '2000', 'the last one counts, as for docker');
  assert.deepEqual(numericUser('1000:1001'), { uid: 1000, gid: 1001 });
  assert.deepEqual(numericUser('1000'), { uid: 1000, gid: null });
  for (const named of [null, 'node', '1000:staff', 'node:1000', '', '-1']) assert.equal(numericUser(named), null, String(named));
});

test('plan: a numeric -u is the plan\'s anvilUser (files to hand over); a named one is a warning; none without files', () => {
  const argv = (...opts: string[]) => ['docker', 'run', '--rm', ...opts, 'tongs-anvil:local'];
  const gemini = (anvilArgv: string[]) => planLaunch(input({ harness: 'gemini', anvilArgv, tongs: tongs(['repo', 'github', GITHUB]) }));
  assert.deepEqual(gemini(argv('-u', '1000:1000')).anvilUser, { uid: 1000, gid: 1000 });
  assert.deepEqual(gemini(argv('--user=1000')).anvilUser, { uid: 1000, gid: null });
  assert.equal('anvilUser' in gemini(argv()), false, 'absent without -u: the plan JSON is unchanged');
  const named = gemini(argv('-u', 'node'));
  assert.equal('anvilUser' in named, false);
  assert.match(named.warnings.join('\n'), /-u node, which names a user or group: .* give a numeric -u UID:GID/);
  // A port tong only: no file for the anvil, nothing to hand over or warn about.
  const portOnly = planLaunch(input({ harness: 'gemini', anvilArgv: argv('-u', 'node'), tongs: tongs(['repo', 'db', DB]) }));
  assert.equal('anvilUser' in portOnly, false);
  assert.deepEqual(portOnly.warnings, []);
});

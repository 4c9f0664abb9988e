/**
 * The CLI as a black box (DESIGN.md "The launcher CLI"): `plan`, `validate`, `schema`, `--help`,
 * layer defaults, and refusals that happen before any Docker work. Each run points DOCKER_HOST at
 * a socket that does not exist and TMPDIR at an empty dir, so "touched no Docker, created nothing"
 * is observable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  REPO_ROOT,
  runCli,
  tempDir,
  unreachableDockerHost,
  type AfterHook,
  type ProcessResult,
} from '../support/process.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');

interface Scratch {
  dir: string;
  home: string;
  tmp: string;
  run: (args: string[], extraEnv?: NodeJS.ProcessEnv) => Promise<ProcessResult>;
}

async function scratch(t: AfterHook): Promise<Scratch> {
  const dir = await tempDir(t, 'tongs-cli-');
  const home = path.join(dir, 'home');
  const tmp = path.join(dir, 'tmp');
  await mkdir(tmp);
  const run = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    runCli(args, {
      cwd: REPO_ROOT,
      env: { ...process.env, TONGS_HOME: home, TMPDIR: tmp, DOCKER_HOST: unreachableDockerHost(dir), ...extraEnv },
    });
  return { dir, home, tmp, run };
}

const ANVIL = ['docker', 'run', '--rm', '-it', 'tongs-anvil:local'];

function assertPrefixed(stderr: string): void {
  for (const line of stderr.trimEnd().split('\n')) assert.match(line, /^tongs: /, `stderr line without prefix: ${line}`);
}

test('--help prints every command and option on stdout', async (t) => {
  const s = await scratch(t);
  for (const args of [['--help'], ['-h'], ['run', '--help']]) {
    const result = await s.run(args);
    assert.equal(result.status, 0);
    assert.equal(result.stderr, '');
    for (const word of ['run', 'plan', 'validate', 'schema', 'ps', 'gc', '--harness', '--user-tongs', '--org-tongs', '--repo-tongs', '--workspace-tongs', '--workspace', '--approvals', '--providers', '--no-prompt', '--quiet', '--json', '--shared']) {
      assert.ok(result.stdout.includes(word), `help lacks ${word}`);
    }
  }
});

test('plan prints the DESIGN.md fields, names no bearer token and creates nothing', async (t) => {
  const s = await scratch(t);
  const dir = path.join(FIXTURES, 'core-plan');
  const result = await s.run([
    'plan', '--harness', 'claude',
    '--user-tongs', path.join(dir, 'user'), '--repo-tongs', path.join(dir, 'repo'), '--workspace', path.join(dir, 'workspace'),
    '--', ...ANVIL, '-p', 'hi',
  ]);
  assert.equal(result.status, 0, result.stderr);
  const plan = JSON.parse(result.stdout);
  assert.equal(plan.harness, 'claude');
  assert.deepEqual(
    plan.tongs.map((t: Record<string, unknown>) => [t.name, t.layer, t.lifecycle, t.image, t.kind, t.alias, t.aliases, t.port, t.url]),
    [
      ['github', 'repo', 'session', 'tongs-github:local', 'mcp', 'github', ['gh'], 8080, 'http://github:8080/mcp'],
      ['indexer', 'workspace', 'session', 'tongs-indexer:local', 'none', 'indexer', [], null, null],
      ['notes', 'user', 'shared', 'tongs-notes:local', 'mcp', 'notes', [], 3000, 'http://notes:3000/rpc'],
      ['pg', 'repo', 'session', 'postgres:16', 'port', 'pg', [], 5432, null],
    ],
  );
  assert.deepEqual(plan.mcpConfig, {
    mcpServers: { github: { type: 'http', url: 'http://github:8080/mcp' }, notes: { type: 'http', url: 'http://notes:3000/rpc' } },
  });
  assert.match(plan.sessionId, /^[0-9a-f]{12}$/);
  const hostPath = path.join(s.tmp, `tongs-${plan.sessionId}`, 'mcp.json');
  assert.equal(plan.files[0].hostPath, hostPath, 'placeholder temp path under the OS temp dir');
  assert.deepEqual(plan.anvilArgv.slice(-4), ['-p', 'hi', '--mcp-config', '/run/tongs/mcp.json']);
  assert.ok(!result.stdout.includes('Bearer'), 'plan mints no bearer tokens');
  assert.ok(!result.stdout.includes('TONGS_MCP_TOKEN'));
  assert.deepEqual(await readdir(s.tmp), [], 'plan writes nothing');
  // The workspace's pg.yaml may not replace the repo's pg: warned, trusted one kept.
  assert.match(result.stderr, /^tongs: workspace definition .*workspace\/\.tongs\/tongs\/pg\.yaml may not redefine the repo tong 'pg'/m);
  assertPrefixed(result.stderr);
});

test('plan with no tongs: anvilArgv equals the input exactly', async (t) => {
  const s = await scratch(t);
  const argv = ['docker', 'run', '--rm', 'img', 'a b', '', '--', '$HOME'];
  const result = await s.run(['plan', '--', ...argv]);
  assert.equal(result.status, 0, result.stderr);
  const plan = JSON.parse(result.stdout);
  assert.deepEqual(plan.anvilArgv, argv);
  assert.equal(plan.network, null);
  assert.equal(plan.mcpConfig, null);
  assert.deepEqual(plan.tongs, []);
});

test('the user layer defaults to $TONGS_HOME/tongs; the workspace layer to <workspace>/.tongs/tongs', async (t) => {
  const s = await scratch(t);
  await mkdir(path.join(s.home, 'tongs'), { recursive: true });
  await writeFile(path.join(s.home, 'tongs', 'from-home.yaml'), 'image: a\n');
  const workspace = path.join(s.dir, 'project');
  await mkdir(path.join(workspace, '.tongs', 'tongs'), { recursive: true });
  await writeFile(path.join(workspace, '.tongs', 'tongs', 'from-workspace.yml'), 'image: b\nmounts: [workspace]\n');
  const result = await s.run(['plan', '--workspace', workspace, '--', ...ANVIL]);
  assert.equal(result.status, 0, result.stderr);
  const plan = JSON.parse(result.stdout);
  assert.deepEqual(plan.tongs.map((t: { name: string; layer: string }) => `${t.name}:${t.layer}`), ['from-home:user', 'from-workspace:workspace']);
  assert.deepEqual(plan.tongs[1].mounts, [{ type: 'bind', source: workspace, target: '/workspace', readOnly: false }]);
  // --workspace-tongs overrides the workspace default; --user-tongs the user default.
  const other = await s.run(['plan', '--workspace', workspace, '--workspace-tongs', path.join(s.dir, 'none'), '--user-tongs', path.join(s.dir, 'none'), '--', ...ANVIL]);
  assert.deepEqual(JSON.parse(other.stdout).tongs, []);
});

test('validate reports every problem of every file, with file and line, and exits 1', async (t) => {
  const s = await scratch(t);
  const result = await s.run(['validate', '--repo-tongs', 'test/fixtures/core-cli/bad']);
  assert.equal(result.status, 1);
  assert.equal(result.stdout, '');
  assertPrefixed(result.stderr);
  const lines = result.stderr.trimEnd().split('\n');
  assert.deepEqual(lines, [
    'tongs: test/fixtures/core-cli/bad/broken.yaml:3: (yaml): Flow sequence in block collection must be sufficiently indented and end with a ]',
    'tongs: test/fixtures/core-cli/bad/broken.yaml:3: (yaml): Flow map in block collection must be sufficiently indented and end with a }',
    'tongs: test/fixtures/core-cli/bad/typo.yaml:3: interface.name: required: MCP server name, a DNS label: 1–63 lower-case letters, digits and hyphens, not starting or ending with a hyphen',
    'tongs: test/fixtures/core-cli/bad/typo.yaml:4: interface.port: expected a port number 1–65535',
    'tongs: test/fixtures/core-cli/bad/typo.yaml:5: readyness: unknown key; accepted keys: description, lifecycle, image, build, env, interface, readiness, mounts, hosts, egress, resources, entrypoint, command, when, github_app, disable',
    'tongs: 5 problem(s) in tong definitions; nothing was started',
  ]);
});

test('validate: valid layers exit 0 with a summary on stderr; --quiet prints nothing', async (t) => {
  const s = await scratch(t);
  const result = await s.run(['validate', '--repo-tongs', 'test/fixtures/core-cli/good', '--org-tongs', 'test/fixtures/core-cli/nomcp']);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr, 'tongs: 3 definition file(s) valid; active tongs: db (repo), github (repo)\n');
  const quiet = await s.run(['validate', '--quiet', '--repo-tongs', 'test/fixtures/core-cli/good']);
  assert.equal(quiet.status, 0);
  assert.equal(quiet.stderr, '');
});

test('validate reports alias collisions', async (t) => {
  const s = await scratch(t);
  const result = await s.run(['validate', '--repo-tongs', 'test/fixtures/core-cli/collide']);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /^tongs: alias 'shared-name' is claimed by 2 tongs: a \(repo layer, .*a\.yaml; canonical\), b \(repo layer, .*b\.yaml; interface\.aliases\)$/m);
});

test('run refuses collisions, a missing harness and invalid definitions with exit 1, before Docker or temp files', async (t) => {
  const s = await scratch(t);
  const cases: [string[], RegExp][] = [
    [['--repo-tongs', 'test/fixtures/core-cli/collide', '--harness', 'claude'], /^tongs: alias 'shared-name' is claimed by 2 tongs: a .*, b .*$/m],
    [['--repo-tongs', 'test/fixtures/core-cli/good'], /^tongs: mcp tong 'github' needs --harness; supported harnesses: claude, codex, gemini, opencode$/m],
    [['--repo-tongs', 'test/fixtures/core-cli/good', '--harness', 'vim'], /^tongs: unknown harness 'vim': mcp tong 'github' needs one of the supported harnesses: claude, codex, gemini, opencode$/m],
    [['--repo-tongs', 'test/fixtures/core-cli/bad', '--harness', 'claude'], /^tongs: test\/fixtures\/core-cli\/bad\/typo\.yaml:5: readyness: unknown key/m],
    [['--repo-tongs', 'test/fixtures/core-cli/nomcp'], /^tongs: with tongs defined \(db\) the anvil command must be `docker run …`/m],
  ];
  for (const [options, pattern] of cases) {
    const argv = options.includes('test/fixtures/core-cli/nomcp') ? ['sh', '-c', 'exit 0'] : ANVIL;
    const result = await s.run(['run', ...options, '--', ...argv]);
    assert.equal(result.status, 1, `${options.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, pattern);
    assert.doesNotMatch(result.stderr, /engine|socket|daemon/i, 'no Docker engine was contacted');
    assertPrefixed(result.stderr);
    assert.equal(result.stdout, '');
    assert.deepEqual(await readdir(s.tmp), [], 'no session temp dir was created');
  }
});

test('usage errors: bad --workspace, a layer path that is a file, options a command does not take', async (t) => {
  const s = await scratch(t);
  const file = path.join(s.dir, 'a-file');
  await writeFile(file, '');
  const cases: [string[], RegExp][] = [
    [['run', '--workspace', path.join(s.dir, 'missing'), '--', 'true'], /--workspace .*missing is not a directory/],
    [['validate', '--repo-tongs', file], /the repo tong layer .*a-file is not a directory/],
    [['validate', '--json'], /tongs validate does not take --json/],
    [['schema', '--harness', 'claude'], /tongs schema does not take --harness/],
    [['ps', '--shared'], /tongs ps does not take --shared/],
    [['validate', '--', 'x'], /tongs validate takes no command after `--`/],
    [['plan', '--harness', '', '--', 'true'], /--harness needs a value/],
  ];
  for (const [args, pattern] of cases) {
    const result = await s.run(args);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, pattern);
    assertPrefixed(result.stderr);
  }
});

test('a missing or empty layer directory contributes nothing', async (t) => {
  const s = await scratch(t);
  await mkdir(path.join(s.dir, 'empty'));
  await cp(path.join(FIXTURES, 'core-cli', 'nomcp'), path.join(s.dir, 'org'), { recursive: true });
  const result = await s.run(['plan', '--user-tongs', path.join(s.dir, 'nope'), '--org-tongs', path.join(s.dir, 'org'), '--repo-tongs', path.join(s.dir, 'empty'), '--', ...ANVIL]);
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout).tongs.map((t: { name: string; layer: string }) => `${t.name}:${t.layer}`), ['db:org']);
  assert.ok((await stat(path.join(s.dir, 'empty'))).isDirectory());
  assert.equal(await readFile(path.join(s.dir, 'org', 'db.yaml'), 'utf8'), await readFile(path.join(FIXTURES, 'core-cli', 'nomcp', 'db.yaml'), 'utf8'));
});

test('DEBUG=tongs* shows the underlying error of a failure, every line prefixed', async (t) => {
  const s = await scratch(t);
  const plain = await s.run(['run', '--', 'tongs-no-such-command-xyz']);
  assert.equal(plain.status, 127);
  assert.equal(plain.stderr, 'tongs: cannot execute "tongs-no-such-command-xyz": command not found\n');
  for (const debug of ['tongs*', 'other,tongs*', '*']) {
    const result = await s.run(['run', '--', 'tongs-no-such-command-xyz'], { DEBUG: debug });
    assert.equal(result.status, 127);
    assert.match(result.stderr, /^tongs: Error: spawn tongs-no-such-command-xyz ENOENT$/m, `DEBUG=${debug}`);
    assertPrefixed(result.stderr);
  }
  const excluded = await s.run(['run', '--', 'tongs-no-such-command-xyz'], { DEBUG: '*,-tongs*' });
  assert.equal(excluded.stderr, plain.stderr);
});

/**
 * `tongs doctor`'s pure parts (DESIGN.md "The seal" rule 6; issue #11 item 4): mountinfo parsing and
 * the state-mount rule, salted window hashing, the doctor's anvil argv, argv bind mounts, the engine's
 * CVE-2024-29018 decision, the report's table and JSON; and the check program itself, run on this
 * machine against a made-up input (no Docker).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  WindowMatcher,
  defaultGateway,
  dnsLeaked,
  parseMountinfo,
  pathsOverlap,
  secretDigest,
  writableStateMounts,
  type SealCheckInput,
  type SealCheckResult,
  type StatePath,
} from '../../anvil/src/seal-checks-core.js';
import {
  SEAL_CHECKS_PATH,
  argvBindMounts,
  doctorAnvilArgv,
  engineCveRow,
  formatDoctorJson,
  formatDoctorTable,
  networkRow,
  sortRows,
  type SealCheckRow,
} from '../../launcher/core/doctor.js';
import { planLaunch } from '../../launcher/core/plan.js';
import type { LaunchPlan } from '../../launcher/core/plan-types.js';
import { UsageError } from '../../launcher/errors.js';
import { REPO_ROOT, runCli, tempDir } from '../support/process.js';

const MOUNTINFO = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 0:60 / / rw,relatime - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A
97 80 254:0 /root/.claude /home/anvil/.claude-host rw,relatime - ext4 /dev/vda rw,discard
98 80 254:0 /root/.claude.json /home/anvil/.claude.json ro,relatime - ext4 /dev/vda rw
99 80 254:0 /var/lib/docker/containers/abc/hosts /etc/hosts rw,relatime - ext4 /dev/vda rw
100 80 254:0 /srv/my\\040project /workspace rw,relatime - ext4 /dev/vda rw
101 80 254:0 /root/.tongs/state/p-1/claude /home/anvil/.claude rw,relatime - ext4 /dev/vda rw
not a mountinfo line
`;

const STATE: StatePath[] = [
  { path: '/root/.claude', dev: '254:0', fsPath: '/root/.claude' },
  { path: '/root/.claude.json', dev: '254:0', fsPath: '/root/.claude.json' },
];

test('mountinfo: fields, octal escapes, malformed lines skipped', () => {
  const mounts = parseMountinfo(MOUNTINFO);
  assert.equal(mounts.length, 7);
  assert.deepEqual(mounts[2], {
    dev: '254:0',
    root: '/root/.claude',
    mountPoint: '/home/anvil/.claude-host',
    options: ['rw', 'relatime'],
    fsType: 'ext4',
    source: '/dev/vda',
  });
  assert.equal(mounts[5]!.root, '/srv/my project');
});

test('paths overlap when equal or one holds the other, not on a shared prefix', () => {
  const cases: Array<[string, string, boolean]> = [
    ['/root/.claude', '/root/.claude', true],
    ['/root', '/root/.claude', true],
    ['/root/.claude/settings.json', '/root/.claude', true],
    ['/', '/root/.claude', true],
    ['/root/.claude-other', '/root/.claude', false],
    ['/root/.claude.json', '/root/.claude', false],
    ['/root/.claude/', '/root/.claude', true],
  ];
  for (const [a, b, want] of cases) assert.equal(pathsOverlap(a, b), want, `${a} ~ ${b}`);
});

test('a writable mount of the user state is found; read-only, other paths and the private state are not', () => {
  const hits = writableStateMounts(parseMountinfo(MOUNTINFO), STATE);
  assert.deepEqual(hits.map((h) => h.mount.mountPoint), ['/home/anvil/.claude-host']);
  // A writable home exposes ~/.claude; the same root on another filesystem does not (by device)…
  const home = parseMountinfo('1 1 254:0 /root /home/anvil rw - ext4 /dev/vda rw\n2 1 0:99 / /x rw - tmpfs tmpfs rw\n');
  assert.deepEqual(writableStateMounts(home, STATE).map((h) => h.mount.mountPoint), ['/home/anvil']);
  // …and a whole filesystem bound at `/` counts on the same device only.
  const whole = parseMountinfo('1 1 254:0 / /host rw - ext4 /dev/vda rw\n2 1 0:60 / / rw - overlay overlay rw\n');
  assert.deepEqual(writableStateMounts(whole, STATE).map((h) => h.mount.mountPoint), ['/host']);
  // Without the device (an engine elsewhere) bind roots are compared by host path.
  const byPath = writableStateMounts(parseMountinfo(MOUNTINFO), [{ path: '/root/.claude', dev: null, fsPath: null }]);
  assert.deepEqual(byPath.map((h) => h.mount.mountPoint), ['/home/anvil/.claude-host']);
});

test('window hashing finds a secret by its salted digest alone, anywhere in a buffer', () => {
  const salt = randomBytes(16);
  const secret = `ghp_${randomBytes(18).toString('hex')}`;
  const digest = secretDigest("tong 'github' env GITHUB_TOKEN", secret, salt);
  assert.equal(digest.length, Buffer.byteLength(secret));
  assert.ok(!JSON.stringify(digest).includes(secret), 'the digest holds no copy of the value');
  const matcher = new WindowMatcher(salt, [digest]);
  assert.deepEqual(matcher.scan(Buffer.from(`A=1\0GITHUB_TOKEN=${secret}\0B=2`)), ["tong 'github' env GITHUB_TOKEN"]);
  assert.deepEqual(matcher.scan(Buffer.from(secret)), ["tong 'github' env GITHUB_TOKEN"], 'the whole buffer is one window');
  assert.deepEqual(matcher.scan(Buffer.from(secret.slice(0, -1))), [], 'shorter than the secret');
  assert.deepEqual(matcher.scan(Buffer.from(`${secret.slice(0, -1)}X and more text`)), [], 'one byte differs');
  // Another run's salt does not match: the digests are useless elsewhere.
  assert.deepEqual(new WindowMatcher(randomBytes(16), [digest]).scan(Buffer.from(secret)), []);
});

test('short secrets are matched as whole values only, not as windows of bulk text', () => {
  const salt = randomBytes(16);
  const matcher = new WindowMatcher(salt, [secretDigest('short', 'abcd', salt), secretDigest('tiny', '1', salt), secretDigest('empty', '', salt)]);
  assert.deepEqual(matcher.windowLengths, [4, 1].filter((l) => l >= 8));
  assert.deepEqual(matcher.scan(Buffer.from('xxabcdxx')), []);
  assert.deepEqual(matcher.matchesWhole(Buffer.from('abcd')), ['short']);
  assert.deepEqual(matcher.matchesWhole(Buffer.from('abce')), []);
  assert.deepEqual(matcher.matchesWhole(Buffer.from('1')), [], 'too short to tell from chance (SHLVL=1)');
});

test('DNS outcomes: an answer of any kind leaks, no server does not', () => {
  for (const code of ['resolved to 1.2.3.4', 'ENOTFOUND', 'ESERVFAIL', 'EREFUSED', 'ENODATA']) assert.equal(dnsLeaked(code), true, code);
  for (const code of ['ECONNREFUSED', 'ETIMEOUT', 'ENETUNREACH']) assert.equal(dnsLeaked(code), false, code);
});

test('the default gateway from /proc/net/route', () => {
  const table = 'Iface\tDestination\tGateway \tFlags\nlo\t0000007F\t00000000\t0001\neth0\t00000000\t0100A8C0\t0003\n';
  assert.equal(defaultGateway(table), '192.168.0.1');
  assert.equal(defaultGateway('Iface\tDestination\tGateway\n'), null);
});

test('the doctor argv: the harness command replaced by the check program, the exchange dir mounted', () => {
  const argv = ['docker', 'run', '--rm', '-e', 'X', '--name', 'claude-p-1', 'tongs-anvil:local', 'claude', '--name', 'x', '-p', 'hi'];
  assert.deepEqual(doctorAnvilArgv(argv, '/tmp/d/exchange'), [
    'docker', 'run', '-v', '/tmp/d/exchange:/run/tongs-doctor', '--rm', '-e', 'X', '--name', 'claude-p-1', 'tongs-anvil:local',
    'node', SEAL_CHECKS_PATH, '/run/tongs-doctor',
  ]);
  assert.deepEqual(doctorAnvilArgv(['docker', 'run', '-it', 'img', 'claude'], '/d'), [
    'docker', 'run', '--rm', '-v', '/d:/run/tongs-doctor', '-it', 'img', 'node', SEAL_CHECKS_PATH, '/run/tongs-doctor',
  ], 'an anvil without --rm gets one: nothing is left behind');
  assert.throws(() => doctorAnvilArgv(['echo', 'hi'], '/d'), UsageError);
  assert.throws(() => doctorAnvilArgv(['docker', 'run', '--rm'], '/d'), UsageError);
});

test('argv bind mounts: -v, --volume=, --mount type=bind; named volumes and the harness args are not binds', () => {
  const argv = [
    'docker', 'run', '-v', '/a:/x', '--volume=/b:/y:ro', '-v', 'named:/z', '--mount', 'type=bind,src=/c,dst=/w,readonly',
    '--mount=type=bind,source=/d,target=/v', '--mount', 'type=volume,src=vol,dst=/u', 'img', '-v', '/e:/t',
  ];
  assert.deepEqual(
    argvBindMounts(argv).map((b) => [b.source, b.target, b.readOnly]),
    [['/a', '/x', false], ['/b', '/y', true], ['/c', '/w', true], ['/d', '/v', false]],
  );
});

test('the plan appends no harness arguments when asked not to (the doctor runs no harness)', () => {
  const input = {
    tongs: [{ layer: 'repo' as const, name: 't', file: '/d/t.yaml', displayPath: 'd/t.yaml', disabled: false as const,
      definition: { image: 'i', interface: { kind: 'mcp' as const, port: 8080, name: 't' } } }],
    harness: 'claude', anvilArgv: ['docker', 'run', 'img', 'node', 'x.js'], sessionId: 'a1b2c3d4e5f6', tempDir: '/tmp/s',
    workspace: null, launcherPid: 1, launcherHost: 'h', startedAt: '2026-01-01T00:00:00.000Z', mcpTokens: null,
  };
  assert.deepEqual(planLaunch(input).anvilArgv.slice(-4), ['node', 'x.js', '--mcp-config', '/run/tongs/mcp.json']);
  const doctor = planLaunch({ ...input, appendHarnessArgs: false });
  assert.deepEqual(doctor.anvilArgv.slice(-2), ['node', 'x.js']);
  assert.ok(doctor.anvilArgv.includes('/tmp/s/mcp.json:/run/tongs/mcp.json:ro'), 'the MCP config is still mounted');
});

test('the network row: relay ✔, session network ✘, passthrough ✘ as unsealed', () => {
  const plan = (mode: 'relay' | 'session') => ({ anvilNetwork: { mode, loopback: {} }, anvilNetworks: [] }) as unknown as LaunchPlan;
  assert.equal(networkRow(plan('relay')).ok, true);
  const session = networkRow(plan('session'));
  assert.equal(session.ok, false);
  assert.match(session.reason, /the anvil joins the session network/);
  const passthrough = networkRow(null);
  assert.equal(passthrough.ok, false);
  assert.match(passthrough.reason, /passthrough.*unsealed/);
});

test('the CVE-2024-29018 row decides by upstream release line, then by the Debian changelog, and never fails', () => {
  const debian = (mentions: boolean) => ({
    path: '/usr/share/doc/docker.io/changelog.Debian.gz',
    text: `docker.io (20.10.24+dfsg1-1+deb12u1) bookworm; urgency=high\n\n  * Fix CVE-2024-41110${mentions ? '\n  * Fix CVE-2024-29018: DNS from internal networks' : ''}\n`,
  });
  const cases: Array<[string | null, ReturnType<typeof debian> | null, boolean, RegExp]> = [
    ['26.1.4', null, false, /at or past the fix/],
    ['25.0.5', null, false, /at or past the fix/],
    ['25.0.4', null, true, /predates the fix/],
    ['24.0.9', null, true, /predates the fix/],
    ['23.0.11', null, false, /at or past the fix/],
    ['23.0.10', null, true, /predates the fix/],
    ['20.10.24+dfsg1', debian(false), true, /does not name CVE-2024-29018, so no backport is confirmed/],
    ['20.10.24+dfsg1', debian(true), false, /names CVE-2024-29018 in \/usr\/share\/doc\/docker.io\/changelog.Debian.gz/],
    ['20.10.21+dfsg1', debian(true), true, /no changelog of this engine's package/],
    [null, null, true, /could not be read/],
  ];
  for (const [version, log, warning, reason] of cases) {
    const row = engineCveRow({ version, debianChangelog: log }, true);
    assert.equal(row.ok, true, `${version}: never ✘`);
    assert.equal(row.warning === true, warning, `${version}: warning`);
    assert.match(row.reason, reason, `${version}`);
    assert.match(row.reason, /GHSA-mq39-4gv4-mvpx/, 'says what it compared against');
  }
});

test('the report: one aligned ✔/✘ line per check in rule order, or a JSON array', () => {
  const rows: SealCheckRow[] = [
    { rule: 5, check: 'anvil network', ok: false, reason: 'the anvil joins the session network' },
    { rule: 1, check: 'state mounts (argv)', ok: true, reason: 'no writable mount' },
    { rule: 5, check: 'engine', ok: true, reason: 'warning: old', warning: true },
  ];
  const sorted = sortRows(rows);
  assert.equal(
    formatDoctorTable(sorted),
    '✔ rule 1 state mounts (argv) — no writable mount\n' +
      '✘ rule 5 anvil network       — the anvil joins the session network\n' +
      '✔ rule 5 engine              — warning: old\n',
  );
  assert.deepEqual(JSON.parse(formatDoctorJson(sorted)), [
    { rule: 1, check: 'state mounts (argv)', ok: true, reason: 'no writable mount' },
    { rule: 5, check: 'anvil network', ok: false, reason: 'the anvil joins the session network' },
    { rule: 5, check: 'engine', ok: true, reason: 'warning: old', warning: true },
  ]);
});

/** Run the built check program on this machine with `input` in a fresh exchange dir; its result. */
async function runChecks(t: Parameters<typeof tempDir>[0], input: SealCheckInput, env: NodeJS.ProcessEnv = {}): Promise<SealCheckResult> {
  const dir = await tempDir(t, 'tongs-seal-checks-');
  writeFileSync(path.join(dir, 'input.json'), JSON.stringify(input));
  const program = path.join(REPO_ROOT, 'dist', 'anvil', 'src', 'seal-checks.js');
  const { stdout } = await promisify(execFile)(process.execPath, [program, dir], { env: { ...process.env, ...env } });
  assert.equal(stdout, '', 'the check program prints nothing on stdout');
  return JSON.parse(readFileSync(path.join(dir, 'result.json'), 'utf8')) as SealCheckResult;
}

function baseInput(workspace: string, salt: Buffer, secrets: SealCheckInput['secrets'], roots: string[]): SealCheckInput {
  return {
    workspace, salt: salt.toString('hex'), secrets, stateDirs: [], canary: null, tongs: [], dnsName: 'tongs-doctor.invalid',
    budget: { windows: 4 * 1024 * 1024, maxFileBytes: 1024 * 1024, timeoutMs: 10_000 }, roots,
  };
}

test('the check program: no git metadata is ✔, a secret in a file and in the environment is ✘ and named', async (t) => {
  const workspace = await tempDir(t, 'tongs-seal-ws-');
  const salt = randomBytes(16);
  const secret = `sk-${randomBytes(16).toString('hex')}`;
  mkdirSync(path.join(workspace, 'sub'));
  writeFileSync(path.join(workspace, 'sub', 'notes.txt'), `the key is ${secret}, do not share\n`);
  const input = baseInput(workspace, salt, [secretDigest("tong 'model' env KEY", secret, salt)], []);
  const result = await runChecks(t, input, { LEAKED: secret });
  const git = result.rows.find((r) => r.rule === 2)!;
  assert.deepEqual([git.ok, git.reason], [true, 'no git metadata']);
  const cred = result.rows.find((r) => r.rule === 4)!;
  assert.equal(cred.ok, false);
  assert.match(cred.reason, /tong 'model' env KEY in .*env LEAKED/);
  assert.match(cred.reason, /sub\/notes\.txt/);
  assert.ok(!JSON.stringify(result).includes(secret), 'the report names places, never the value');
});

test('the check program: guarded writes on an unguarded git dir are ✘, and it changes nothing there', async (t) => {
  const workspace = await tempDir(t, 'tongs-seal-git-');
  for (const d of ['.git/hooks', '.git/info', '.git/objects', '.git/modules/lib/hooks', '.git/modules/lib/info']) mkdirSync(path.join(workspace, d), { recursive: true });
  for (const g of ['.git', '.git/modules/lib']) {
    writeFileSync(path.join(workspace, g, 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(path.join(workspace, g, 'config'), '[core]\n\tbare = false\n');
  }
  const before = readFileSync(path.join(workspace, '.git', 'config'), 'utf8');
  const result = await runChecks(t, baseInput(workspace, randomBytes(16), [], []));
  const git = result.rows.filter((r) => r.rule === 2);
  assert.deepEqual(git.map((r) => r.ok), [false, false], 'the workspace git dir and its submodule');
  assert.match(git[0]!.reason, /^\.git: config, hooks\/, info\/ writable from the anvil$/);
  assert.match(git[1]!.reason, /^\.git\/modules\/lib: /);
  assert.equal(readFileSync(path.join(workspace, '.git', 'config'), 'utf8'), before, 'config untouched');
  assert.deepEqual(readdirSync(path.join(workspace, '.git', 'hooks')), [], 'no probe file left');
  assert.deepEqual(readdirSync(path.join(workspace, '.git', 'info')), []);
});

test('tongs doctor: usage errors (exit 2) before anything is made, and it is in --help', async (t) => {
  const tmp = await tempDir(t, 'tongs-doctor-cli-');
  // TONGS_HOME apart from TMPDIR: its cache (the launcher's V8 code cache) is not the doctor's to judge.
  const env = { ...process.env, TMPDIR: tmp, TONGS_HOME: await tempDir(t, 'tongs-doctor-home-') };
  const cases: Array<[string[], RegExp]> = [
    [['doctor'], /needs the anvil command after `--`/],
    [['doctor', '--', 'echo', 'hi'], /tongs doctor needs the anvil command `docker run … IMAGE/],
    [['doctor', '--shared', '--', 'docker', 'run', 'img'], /tongs doctor does not take --shared/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args, { env });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
  }
  assert.deepEqual(readdirSync(tmp), [], 'no exchange dir was left');
  const help = await runCli(['--help'], { env });
  assert.match(help.stdout, /tongs doctor \[options\] \[--json\] -- <anvil argv…>/);
});

test('the check program: a linked worktree has its own git dir and the main one checked', async (t) => {
  const dir = await tempDir(t, 'tongs-seal-wt-');
  const main = path.join(dir, 'main');
  const git = (cwd: string, ...args: string[]) =>
    promisify(execFile)('git', ['-c', 'safe.directory=*', '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd });
  mkdirSync(main);
  await git(main, 'init', '-q');
  await git(main, 'commit', '-q', '--allow-empty', '-m', 'one');
  await git(main, 'worktree', 'add', '-q', path.join(dir, 'wt'));
  const result = await runChecks(t, baseInput(path.join(dir, 'wt'), randomBytes(16), [], []));
  const rows = result.rows.filter((r) => r.rule === 2);
  assert.deepEqual(
    rows.map((r) => [r.ok, r.reason.split(':')[0]]),
    [[false, path.join(main, '.git', 'worktrees', 'wt')], [false, path.join(main, '.git')]],
    'unguarded on this machine, so both are writable: the worktree admin dir (its pointers) and the main git dir',
  );
  assert.match(rows[0]!.reason, /commondir, gitdir writable/);
});

test('the launcher rows: writable binds of the user state in the argv, and secret values in the argv', async (t) => {
  const { argvSecretRow, argvStateRow, userStatePaths } = await import('../../launcher/shell/commands/doctor.js');
  const home = await tempDir(t, 'tongs-doctor-home-');
  mkdirSync(path.join(home, '.claude'));
  const state = userStatePaths({}, home);
  assert.deepEqual(state, [
    path.join(home, '.claude'), path.join(home, '.claude.json'), path.join(home, '.config', 'opencode'), path.join(home, '.local', 'share', 'opencode'),
    path.join(home, '.codex'), path.join(home, '.gemini'),
  ]);
  const row = (...opts: string[]) => argvStateRow(['docker', 'run', ...opts, 'img', '-v', `${home}:/x`], state);
  assert.equal(row('-v', `${home}/.claude/.credentials.json:/home/anvil/.claude/.credentials.json:ro`, '-v', '/srv/p:/workspace').ok, true);
  const cases = [
    ['-v', `${home}:/home/anvil`],
    ['-v', `${home}/.claude:/home/anvil/.claude`],
    ['--mount', `type=bind,src=${home}/.config/opencode,dst=/x`],
    ['-v', `${home}/.claude/settings.json:/x:rw`],
    ['-v', `${home}/.codex:/home/anvil/.codex`],
    ['-v', `${home}/.gemini/settings.json:/x`],
  ];
  for (const opts of cases) {
    const r = row(...opts);
    assert.equal(r.ok, false, opts.join(' '));
    assert.equal(r.rule, 1);
  }
  assert.equal(userStatePaths({ CLAUDE_CONFIG_DIR: '/cfg', XDG_CONFIG_HOME: '/xdg' }, home).includes('/xdg/opencode'), true);

  const secrets = new Map([["tong 'g' env TOKEN", 'ghp_0123456789abcdef'], ["tong 'g' env PIN", '4242'], ["tong 'g' env N", '1']]);
  assert.equal(argvSecretRow(['docker', 'run', '-e', 'TOKEN', 'img'], secrets).ok, true, 'by name only');
  const leak = argvSecretRow(['docker', 'run', '-e', 'TOKEN=ghp_0123456789abcdef', '-e', 'P=4242', '-e', 'SHLVL=1', 'img'], secrets);
  assert.equal(leak.ok, false);
  assert.match(leak.reason, /tong 'g' env TOKEN, tong 'g' env PIN/);
  assert.ok(!leak.reason.includes('ghp_'), 'names, never values');
});

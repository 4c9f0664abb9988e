/**
 * `make doctor` end to end (DESIGN.md "The seal" rule 6; issue #11 item 4 and "Tests"): the real
 * launcher, the real anvil image with its check program, a real test MCP tong holding a secret. On a
 * sealed setup (the relay) every check passes; each rule broken on purpose fails the doctor, naming
 * the rule: an extra writable mount of ~/.claude (rule 1), the tong's secret passed to the anvil with
 * `-e` (rule 4), the relay off (rule 5), no tong at all (a passthrough is unsealed). Nothing is left
 * after any run: no container, network or volume of the session, no exchange dir.
 *
 * TONGS_TEST_ANVIL_IMAGE picks the anvil tag (default tongs-anvil:local), so a machine shared with
 * other checkouts can build its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, chownSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { SealCheckRow } from '../../launcher/core/doctor.js';
import { TEST_MCP_IMAGE, buildTestImages, dockerCli, managedLeftovers, requireDocker, sessionLeftovers } from '../support/docker.js';
import type { ContainerRuntime } from '../../launcher/shell/engine/runtime.js';
import { OWNER, assertNoSessionLeft, make, scenario, type Scenario } from './anvil-scenario.js';
import { REPO_ROOT } from '../support/process.js';

const ANVIL = process.env.TONGS_TEST_ANVIL_IMAGE || 'tongs-anvil:local';

/** A scenario whose tong holds a secret from the launcher's environment, in a git repository. */
function doctorScenario(t: Parameters<typeof scenario>[0]): Scenario & { secret: string } {
  const s = scenario(t, 'doctor');
  writeFileSync(
    path.join(s.dir, 'user', 'tongtest.yaml'),
    `image: tongs-test-mcp:local
env:
  TONG_MARK: ${s.mark}
  TONG_SECRET: \${secret:env:DOCTOR_SECRET}
interface: { kind: mcp, port: 8080, name: tongtest }
readiness: { mode: mcp }
`,
  );
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'safe.directory=*', '-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'protocol.file.allow=always', ...args], { cwd, stdio: 'pipe' });
  // A repository with a submodule: the guard covers .git/modules/lib too.
  const lib = path.join(s.dir, 'lib');
  mkdirSync(lib);
  git(lib, 'init', '-q');
  git(lib, 'commit', '-q', '--allow-empty', '-m', 'lib');
  git(s.project, 'init', '-q');
  git(s.project, 'submodule', 'add', '-q', lib, 'lib');
  git(s.project, 'commit', '-q', '-m', 'with a submodule');
  mkdirSync(path.join(s.home, '.claude'), { recursive: true });
  if (process.getuid?.() === 0) {
    execFileSync('chown', ['-R', `${OWNER}:${OWNER}`, s.project]);
    chownSync(path.join(s.home, '.claude'), OWNER, OWNER);
  }
  return { ...s, secret: `sk-doctor-${randomBytes(16).toString('hex')}` };
}

interface DoctorRun {
  status: number | null;
  stdout: string;
  stderr: string;
  rows: SealCheckRow[];
}

function exchangeDirs(): string[] {
  return readdirSync(os.tmpdir()).filter((n) => n.startsWith('tongs-doctor-'));
}

/** `make doctor` with `vars`; the rows from --json (or parsed from the table with `table`). */
async function doctor(
  t: { after(fn: () => unknown): void },
  runtime: ContainerRuntime,
  s: Scenario & { secret: string },
  vars: string[],
  options: { relay?: boolean; table?: boolean; env?: Record<string, string> } = {},
): Promise<DoctorRun> {
  const before = exchangeDirs();
  const r = await make(
    ['doctor', ...s.makeVars, `ANVIL_IMAGE=${ANVIL}`, ...(options.table ? [] : ['DOCTOR_ARGS=--json']), ...vars],
    {
      ...process.env,
      HOME: s.home,
      DOCTOR_SECRET: s.secret,
      ...(options.relay === false ? { TONGS_ANVIL_RELAY: '0' } : { TONGS_ANVIL_RELAY: '1' }),
      ...options.env,
    },
  );
  const session = /doctor: session ([0-9a-f]{12})/.exec(r.stderr)?.[1];
  if (session) {
    assert.deepEqual(await sessionLeftovers(runtime, session), [], 'nothing of the session is left');
    assert.deepEqual((await managedLeftovers(runtime)).filter((l) => l.includes(session.slice(0, 8))), []);
    const volumes = await dockerCli(['volume', 'ls', '-q', '--filter', `label=dev.tongs.session=${session}`]);
    assert.equal(volumes.stdout.trim(), '', 'the relay volume is gone');
  }
  assertNoSessionLeft(s.project);
  assert.deepEqual(exchangeDirs().filter((d) => !before.includes(d)), [], 'the exchange dir is gone');
  assert.ok(!r.stdout.includes(s.secret) && !r.stderr.includes(s.secret), 'the report never shows the value');
  let rows: SealCheckRow[] = [];
  if (options.table) {
    rows = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const m = /^([✔✘]) rule (\d) (.+?) +— (.*)$/.exec(line);
        assert.ok(m, `a report line: ${line}\n${r.stderr}`);
        return { rule: Number(m[2]), check: m[3]!, ok: m[1] === '✔', reason: m[4]! };
      });
  } else {
    try {
      rows = JSON.parse(r.stdout) as SealCheckRow[];
    } catch {
      assert.fail(`doctor printed no JSON report:\n${r.stdout}\n${r.stderr}`);
    }
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, rows };
}

function failed(run: DoctorRun): SealCheckRow[] {
  return run.rows.filter((r) => !r.ok);
}

test('make doctor passes on a sealed setup: the relay, private state, the git guard, no secret in the anvil', { timeout: 600_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await buildTestImages(TEST_MCP_IMAGE);
  const s = doctorScenario(t);
  const run = await doctor(t, runtime, s, []);
  assert.deepEqual(failed(run), [], `every check passes:\n${run.stdout}\n${run.stderr}`);
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual([...new Set(run.rows.map((r) => r.rule))], [1, 2, 3, 4, 5], 'a row for every rule');
  const byCheck = new Map(run.rows.map((r) => [r.check, r]));
  assert.deepEqual(
    run.rows.filter((r) => r.rule === 2).map((r) => r.reason),
    ['.git: config EROFS, hooks/ EROFS, info/ EROFS', '.git/modules/lib: config EROFS, hooks/ EROFS, info/ EROFS'],
    'the workspace git dir and its submodule',
  );
  assert.match(byCheck.get('no credential in the anvil')!.reason, /^no copy found: 1 secret\(s\) searched/);
  assert.match(byCheck.get('anvil network')!.reason, /--network none/);
  assert.match(byCheck.get('host canary')!.reason, /no connection to the host's listener/);
  assert.match(byCheck.get('tongs reachable')!.reason, /tongtest:8080 answer/);
  assert.match(byCheck.get('engine CVE-2024-29018')!.reason, /GHSA-mq39-4gv4-mvpx/, 'says how it decided');
});

test('make doctor fails on rule 1 with a writable ~/.claude in ANVIL_DOCKER_ARGS', { timeout: 600_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await buildTestImages(TEST_MCP_IMAGE);
  const s = doctorScenario(t);
  const claude = path.join(s.home, '.claude');
  // Over the private state's mount point: the engine refuses the duplicate, the argv check still names it.
  const over = await doctor(t, runtime, s, [`ANVIL_DOCKER_ARGS=-v ${claude}:/home/anvil/.claude`]);
  assert.notEqual(over.status, 0);
  assert.ok(failed(over).some((r) => r.rule === 1 && r.check === 'state mounts (argv)' && r.reason.includes(claude)), over.stdout);
  // Beside it: the anvil starts, and the check inside sees the mount in /proc/self/mountinfo too.
  const beside = await doctor(t, runtime, s, [`ANVIL_DOCKER_ARGS=-v ${claude}:/home/anvil/.claude-host`]);
  assert.notEqual(beside.status, 0);
  assert.deepEqual(failed(beside).map((r) => `${r.rule} ${r.check}`), ['1 state mounts (argv)', '1 state mounts (anvil)'], beside.stdout);
  assert.match(failed(beside)[1]!.reason, /\/home\/anvil\/\.claude-host is a writable mount of/);
});

test('make doctor fails on rule 4 when the tong secret is also passed to the anvil with -e, by name or by value', { timeout: 600_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await buildTestImages(TEST_MCP_IMAGE);
  const s = doctorScenario(t);
  const run = await doctor(t, runtime, s, ['ANVIL_DOCKER_ARGS=-e DOCTOR_SECRET']);
  assert.notEqual(run.status, 0);
  assert.deepEqual(failed(run).map((r) => `${r.rule} ${r.check}`), ['4 no credential in the anvil'], run.stdout);
  assert.match(failed(run)[0]!.reason, /tong 'tongtest' env TONG_SECRET in env DOCTOR_SECRET/);
  // The value written out in ANVIL_DOCKER_ARGS: the argv check names it as well.
  const literal = await doctor(t, runtime, s, [`ANVIL_DOCKER_ARGS=-e LEAK=${s.secret}`]);
  assert.notEqual(literal.status, 0);
  assert.deepEqual(failed(literal).map((r) => `${r.rule} ${r.check}`), ['4 no credential in the argv', '4 no credential in the anvil'], literal.stdout);
  assert.match(failed(literal)[1]!.reason, /tong 'tongtest' env TONG_SECRET in env LEAK/);
});

test('make doctor fails on rule 5 with the relay off, and for a passthrough launch', { timeout: 600_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await buildTestImages(TEST_MCP_IMAGE);
  const s = doctorScenario(t);
  const off = await doctor(t, runtime, s, [], { relay: false, table: true });
  assert.notEqual(off.status, 0);
  const network = failed(off).find((r) => r.check === 'anvil network');
  assert.ok(network && network.rule === 5, off.stdout);
  assert.match(network.reason, /^the anvil joins the session network/);
  assert.ok(failed(off).some((r) => r.rule === 5 && r.check === 'host canary'), `the host's listener answered: ${off.stdout}`);
  assert.ok(failed(off).every((r) => r.rule === 5), off.stdout);

  const empty = path.join(s.dir, 'empty');
  mkdirSync(empty);
  const passthrough = await doctor(t, runtime, s, [`USER_TONGS=${empty}`]);
  assert.notEqual(passthrough.status, 0);
  assert.match(failed(passthrough).find((r) => r.check === 'anvil network')?.reason ?? '', /passthrough.*unsealed/);
});

test('make doctor with the egress tong: the proxy refuses the host canary; egress: open fails rule 5', { timeout: 600_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await buildTestImages(TEST_MCP_IMAGE);
  const s = doctorScenario(t);
  // The shipped egress tong beside the test tong (its image is built by `make test`'s images).
  copyFileSync(path.join(REPO_ROOT, 'sidecars', 'egress.yaml'), path.join(s.dir, 'user', 'egress.yaml'));
  const sealed = await doctor(t, runtime, s, []);
  assert.deepEqual(failed(sealed), [], `every check passes:\n${sealed.stdout}\n${sealed.stderr}`);
  const proxy = sealed.rows.find((r) => r.check === 'egress proxy');
  assert.ok(proxy, `an egress proxy row: ${sealed.stdout}`);
  assert.match(proxy.reason, /refused CONNECT .* \(403\)/);

  const open = await doctor(t, runtime, s, [], { env: { TONGS_EGRESS: 'open' } });
  assert.notEqual(open.status, 0);
  const row = failed(open).find((r) => r.check === 'egress proxy');
  assert.ok(row && row.rule === 5, open.stdout);
  assert.match(row.reason, /opened a tunnel to the host canary .*egress is open/);
});

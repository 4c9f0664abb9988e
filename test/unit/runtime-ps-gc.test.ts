/**
 * `tongs ps` and `tongs gc` against the fake engine (issue #3 items 7, 8): liveness by launcher pid and
 * host, dead sessions swept (anvil included), live and foreign-host sessions kept, shared tongs kept
 * unless --shared (and then only idle ones), the table and the JSON document.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LABEL_ROLE, LABEL_SESSION } from '../../launcher/core/labels.js';
import { applyPlan } from '../../launcher/shell/apply/apply.js';
import { createProgress } from '../../launcher/shell/progress.js';
import { formatAge, formatPsTable, gcCommand, psCommand, psReport, type PsReport } from '../../launcher/shell/commands/ps-gc.js';
import { isPidAlive, sweepDeadSessions } from '../../launcher/shell/teardown/teardown.js';
import { FakeRuntime } from '../fakes/fake-runtime.js';
import { buildPlan } from '../support/plan-builder.js';

const quiet = createProgress({ quiet: true });
const port = { image: 'tongs-test-port:local', interface: { kind: 'port' as const, port: 80 } };
const liveness = { hostname: 'here', isPidAlive: (pid: number) => pid === 100 };

async function world() {
  const rt = new FakeRuntime(['tongs-test-port:local', 'anvil:local']);
  const live = buildPlan({ x: port }, { sessionId: 'live00000000', launcherPid: 100, launcherHost: 'here' });
  const dead = buildPlan({ x: port, y: port }, { sessionId: 'dead00000000', launcherPid: 200, launcherHost: 'here' });
  const foreign = buildPlan({ x: port }, { sessionId: 'away00000000', launcherPid: 200, launcherHost: 'elsewhere' });
  const sharedIdle = buildPlan({ idle: { ...port, lifecycle: 'shared' } }, { sessionId: 'dead11111111', launcherPid: 201, launcherHost: 'here' });
  const sharedBusy = buildPlan({ busy: { ...port, lifecycle: 'shared' } }, { sessionId: 'live11111111', launcherPid: 100, launcherHost: 'here' });
  for (const p of [live, dead, foreign, sharedIdle, sharedBusy]) await applyPlan(p, rt, { progress: quiet });
  // The dead session's anvil (labelled only with session and role, as the plan's argv does).
  const anvil = await rt.createContainer({
    name: 'anvil-dead',
    image: 'anvil:local',
    labels: { [LABEL_SESSION]: dead.sessionId, [LABEL_ROLE]: 'anvil' },
    env: {},
    entrypoint: null,
    command: null,
    mounts: [],
    memoryBytes: null,
    network: { name: dead.network!.name, aliases: [] },
  });
  await rt.startContainer(anvil);
  // The idle shared tong's creating session ended: it is on no network now.
  rt.byName('tongs-shared-idle')!.networks.clear();
  await rt.removeNetwork(sharedIdle.network!.name);
  return { rt, live, dead, foreign };
}

test('isPidAlive: this process is alive, an impossible pid is not', () => {
  assert.equal(isPidAlive(process.pid), true);
  assert.equal(isPidAlive(2 ** 22 + 12345), false);
  assert.equal(isPidAlive(0), false);
});

test('the sweep removes dead sessions of this host (anvil included) and keeps live, foreign and shared ones', async () => {
  const { rt, live, dead, foreign } = await world();
  const result = await sweepDeadSessions(rt, { shared: false, liveness });
  assert.deepEqual(result.sessions, ['dead00000000']);
  assert.equal(result.containers, 3, 'two tongs and the anvil');
  assert.equal(result.shared, 0);
  assert.equal((await rt.listContainers({ [LABEL_SESSION]: dead.sessionId })).length, 0);
  assert.ok(![...rt.networks.values()].some((n) => n.name === dead.network!.name));
  assert.equal((await rt.listContainers({ [LABEL_SESSION]: live.sessionId })).length, 1);
  assert.equal((await rt.listContainers({ [LABEL_SESSION]: foreign.sessionId })).length, 1);
  assert.ok(rt.byName('tongs-shared-idle') && rt.byName('tongs-shared-busy'));
});

test('an anvil docker run has just created, seen before its session network, is starting, not dead', async () => {
  const rt = new FakeRuntime(['anvil:local']);
  // A gated anvil of a session whose network the sweep has not listed yet: only session and role labels.
  const made = (name: string) =>
    rt.createContainer({
      name,
      image: 'anvil:local',
      labels: { [LABEL_SESSION]: name === 'anvil-new' ? 'new000000000' : 'old000000000', [LABEL_ROLE]: 'anvil' },
      env: {},
      entrypoint: null,
      command: null,
      mounts: [],
      memoryBytes: null,
      network: null,
    });
  await made('anvil-new');
  await made('anvil-old');
  const created = Math.floor(Date.now() / 1000);
  // The clock 10 s after both were made: both starting; 90 s after: both long dead.
  const soon = await sweepDeadSessions(rt, { shared: false, liveness: { ...liveness, now: () => (created + 10) * 1000 } });
  assert.deepEqual(soon.sessions, [], 'a created anvil within the grace period is left alone');
  const late = await sweepDeadSessions(rt, { shared: false, liveness: { ...liveness, now: () => (created + 90) * 1000 } });
  assert.deepEqual(late.sessions.sort(), ['new000000000', 'old000000000'], 'an anvil created long ago and never started is swept');
});

test('a socket volume is all a dead session left: the sweep finds it by its labels and removes it', async () => {
  const rt = new FakeRuntime([]);
  const owner = (pid: number) => ({ 'dev.tongs.managed': 'true', 'dev.tongs.launcher.pid': String(pid), 'dev.tongs.launcher.host': 'here', [LABEL_ROLE]: 'relay' });
  await rt.createVolume('tongs-dead0000-sock', { ...owner(200), [LABEL_SESSION]: 'dead00000000' });
  await rt.createVolume('tongs-live0000-sock', { ...owner(100), [LABEL_SESSION]: 'live00000000' });
  const result = await sweepDeadSessions(rt, { shared: false, liveness });
  assert.deepEqual(result.sessions, ['dead00000000']);
  assert.deepEqual([...rt.volumes.keys()], ['tongs-live0000-sock'], 'the live session keeps its volume');
});

test('gc --shared also removes idle shared tongs, but not one attached to a live session', async () => {
  const { rt } = await world();
  const result = await sweepDeadSessions(rt, { shared: true, liveness });
  assert.equal(result.shared, 1);
  assert.equal(rt.byName('tongs-shared-idle'), undefined);
  assert.ok(rt.byName('tongs-shared-busy'));
});

test('gcCommand prints one summary line on stderr, nothing when quiet', async () => {
  const rt = new FakeRuntime();
  const lines: string[] = [];
  assert.equal(await gcCommand({ shared: true, quiet: false, runtime: rt, err: { write: (s: string) => lines.push(s) } }), 0);
  assert.deepEqual(lines, ['tongs: removed 0 dead sessions (0 containers, 0 networks) and 0 shared tongs\n']);
  lines.length = 0;
  await gcCommand({ shared: false, quiet: true, runtime: rt, err: { write: (s: string) => lines.push(s) } });
  assert.deepEqual(lines, []);
});

test('psReport groups sessions with their tongs, anvil, launcher liveness; shared tongs list the sessions using them', async () => {
  const { rt, dead } = await world();
  const now = (Math.max(...[...rt.containers.values()].map((c) => c.created)) + 90) * 1000;
  const report = await psReport(rt, now, liveness);
  const byId = new Map(report.sessions.map((s) => [s.id, s]));
  assert.deepEqual([...byId.keys()].sort(), ['away00000000', 'dead00000000', 'live00000000', 'live11111111']);
  const d = byId.get('dead00000000')!;
  assert.deepEqual(d.launcher, { pid: 200, host: 'here', alive: false });
  assert.equal(d.network, dead.network!.name);
  assert.equal(d.anvil?.name, 'anvil-dead');
  assert.deepEqual(d.tongs.map((t) => [t.name, t.state, t.aliases, t.lifecycle]), [
    ['x', 'running', ['x'], 'session'],
    ['y', 'running', ['y'], 'session'],
  ]);
  assert.ok(d.tongs.every((t) => t.ageSeconds >= 90));
  assert.equal(byId.get('away00000000')!.launcher.alive, null, 'another host is never judged');
  const busy = report.shared.find((s) => s.name === 'busy')!;
  assert.deepEqual(busy.sessions, ['live11111111']);
  assert.deepEqual(report.shared.find((s) => s.name === 'idle')!.sessions, []);
});

test('the ps table for people', () => {
  const report: PsReport = {
    sessions: [
      {
        id: 'abc123abc123',
        launcher: { pid: 77, host: 'box', alive: true },
        started: '2026-01-01T00:00:00Z',
        network: 'tongs-tongs-abc123ab',
        anvil: { container: 'aaaaaaaaaaaa', name: 'claude', state: 'running' },
        tongs: [
          { name: 'github', container: 'c1', containerName: 'tongs-abc-github', image: 'i', lifecycle: 'session', state: 'running', status: 'Up', ageSeconds: 125, aliases: ['github', 'gh'], configHash: 'h' },
        ],
      },
    ],
    shared: [
      { name: 'cache', container: 'c2', containerName: 'tongs-shared-cache', image: 'i', lifecycle: 'shared', state: 'running', status: 'Up', ageSeconds: 7300, aliases: ['cache'], configHash: 'h', sessions: ['abc123abc123'] },
    ],
  };
  assert.equal(
    formatPsTable(report),
    [
      'SESSION       LAUNCHER         TONG            STATE    AGE  ALIASES',
      'abc123abc123  77@box (alive)   github          running  2m   github,gh',
      '                               (anvil claude)  running',
      '(shared)      in abc123abc123  cache           running  2h   cache',
      '',
    ].join('\n'),
  );
  assert.equal(formatPsTable({ sessions: [], shared: [] }), 'no tongs sessions or shared tongs\n');
});

test('psCommand prints the table or --json on stdout', async () => {
  const rt = new FakeRuntime(['tongs-test-port:local', 'anvil:local']);
  await applyPlan(buildPlan({ x: port }, { launcherPid: process.pid }), rt, { progress: quiet });
  const out: string[] = [];
  await psCommand({ json: true, runtime: rt, out: { write: (s: string) => out.push(s) } });
  const doc = JSON.parse(out.join('')) as PsReport;
  assert.equal(doc.sessions.length, 1);
  assert.equal(doc.sessions[0]!.tongs[0]!.name, 'x');
  out.length = 0;
  await psCommand({ json: false, runtime: rt, out: { write: (s: string) => out.push(s) } });
  assert.match(out.join(''), /^SESSION/);
});

test('formatAge', () => {
  assert.deepEqual([0, 59, 60, 3599, 3600, 86399, 86400 * 3].map(formatAge), ['0s', '59s', '1m', '59m', '1h', '23h', '3d']);
});

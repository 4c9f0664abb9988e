/**
 * The launch order on the real engine (issue #12 item 1, DESIGN.md "Launch order"), with the real
 * anvil image (tongs-anvil:local carries the `org.tongs.gate` label and the gate in its entrypoint):
 * the anvil is created and started while its tongs start, and its harness runs only once every tong is
 * ready; a readiness failure exits 1 naming the tong, the harness never runs and nothing is left; a
 * signal or an anvil that dies while it waits ends the launch cleanly; the exit status and the TTY pass
 * through as before. The serial order (an anvil image without the label) is what the rest of the
 * integration suite runs (tongs-base:local).
 */
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { LABEL_LAUNCHER_PID, LABEL_ROLE, LABEL_SESSION } from '../../launcher/core/labels.js';
import type { ContainerRuntime } from '../../launcher/shell/engine/runtime.js';
import {
  CLI,
  REPO_ROOT,
  TEST_LABEL,
  buildTestImages,
  cleanupByLabel,
  dockerCli,
  launchTongs,
  leftovers,
  requireDocker,
  runTongs,
  sessionLeftovers,
  sessionOfLauncher,
  tongLayer,
  type CliProcess,
} from '../support/docker.js';

const RUN_ID = randomBytes(4).toString('hex');
const ANVIL_IMAGE = process.env.TONGS_TEST_ANVIL_IMAGE || 'tongs-anvil:local';
const launcherPids = new Set<number>();
let runtime: ContainerRuntime | null = null;

const portTong = (delayMs: number, timeout = '30s') => `image: tongs-test-port:local
env: { LISTEN_DELAY_MS: "${delayMs}" }
interface: { kind: port, port: 8080 }
readiness: { timeout: ${timeout} }
`;

/**
 * The harness, run by the anvil entrypoint as `node -e SCRIPT --`: prints how long the anvil's PID 1
 * had been up when the harness started (from /proc: the time it waited at the gate), then connects
 * once to the `slow` tong and prints whether it answered at the first try.
 */
const HARNESS = `const fs = require('fs');
const ticks = Number(fs.readFileSync('/proc/1/stat', 'utf8').split(') ')[1].split(' ')[19]);
const uptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
console.log('HARNESS RAN after ' + Math.round((uptime - ticks / 100) * 1000) + ' ms');
console.log('HOSTS ' + JSON.stringify(fs.readFileSync('/etc/hosts', 'utf8').split('\\n').filter((l) => /\\sslow$/.test(l))));
require('net').connect(Number(process.env.TONGS_SLOW_PORT), process.env.TONGS_SLOW_HOST)
  .on('connect', () => { console.log('FIRST TRY CONNECTED'); process.exit(Number(process.env.EXIT || 0)); })
  .on('error', (e) => { console.log('FIRST TRY FAILED ' + e.code); process.exit(3); });`;

function gatedAnvil(script: string, docker: string[] = []): string[] {
  return ['docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, ...docker, ANVIL_IMAGE, 'node', '-e', script, '--'];
}

function launch(t: TestContext, rt: ContainerRuntime, layer: string, argv: string[], extra: string[] = []): CliProcess {
  return launchTongs(t, rt, ['run', '--repo-tongs', layer, ...extra, '--', ...argv], { pids: launcherPids, env: { DEBUG: 'tongs' } });
}

/** Wait until the session's anvil container exists (it is waiting at the gate). */
async function anvilCreated(rt: ContainerRuntime, session: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await rt.listContainers({ [LABEL_SESSION]: session, [LABEL_ROLE]: 'anvil' })).length > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the anvil of session ${session} never appeared`);
}

describe('launch order with a gated anvil', { concurrency: 3 }, () => {
  for (const relay of [false, true]) {
    test(`the anvil starts with its tongs; the harness runs once they are ready${relay ? ' (through the relay)' : ''}`, async (t) => {
      runtime = await requireDocker(t);
      if (!runtime) return;
      await buildTestImages('tongs-test-port:local');
      const layer = await tongLayer(t, { slow: portTong(2500) });
      const p = launch(t, runtime, layer, gatedAnvil(HARNESS, ['-e', 'EXIT=7']), relay ? ['--anvil-relay'] : []);
      const r = await p.done;
      // The anvil's own status passes through; the tong answered the harness at its first try.
      assert.equal(r.status, 7, r.stderr);
      assert.match(r.stdout, /FIRST TRY CONNECTED/);
      assert.match(r.stderr, /launch order: parallel/);
      // Its name is in /etc/hosts: at 127.0.0.x behind the relay, else at its session-network address
      // (written through the gate: the engine's DNS is not relied on; see tongHostEntries).
      const hosts = JSON.parse(/HOSTS (\[.*\])/.exec(r.stdout)?.[1] ?? 'null') as string[];
      assert.equal(hosts.length, 1, r.stdout);
      assert.match(hosts[0]!, relay ? /^127\.0\.0\.2\s+slow$/ : /^\d+\.\d+\.\d+\.\d+ slow$/);
      // The anvil had been up while the tong was still starting: it waited at the gate, it did not start after.
      const waited = Number(/HARNESS RAN after (\d+) ms/.exec(r.stdout)?.[1]);
      assert.ok(waited >= 1500, `the anvil was up only ${waited} ms when its harness started: it did not start with the tong\n${r.stderr}`);
      const order = r.stderr.indexOf('anvil started; its harness waits at the gate');
      assert.ok(order >= 0 && order < r.stderr.indexOf("tong 'slow' ready"), r.stderr);
      assert.deepEqual(await leftovers(runtime, LABEL_LAUNCHER_PID, String(p.child.pid)), []);
    });
  }

  test('the gate is no way back to the host: its mount is read-only in the anvil and holds only the state and the tongs\' addresses', async (t) => {
    runtime = await requireDocker(t);
    if (!runtime) return;
    await buildTestImages('tongs-test-port:local');
    const layer = await tongLayer(t, { slow: portTong(0) });
    // The harness runs as root in this anvil (the image's /workspace is root's): the mount, not the user, must refuse.
    const script = `const fs = require('fs'); const out = { id: process.getuid(), entries: fs.readdirSync(process.env.TONGS_GATE).sort() };
for (const [k, f] of [['overwrite', 'state'], ['overwrite hosts', 'hosts'], ['create', 'planted']]) { try { fs.writeFileSync(process.env.TONGS_GATE + '/' + f, 'x'); out[k] = 'written'; } catch (e) { out[k] = e.code; } }
console.log('GATE ' + JSON.stringify(out));`;
    const p = launch(t, runtime, layer, gatedAnvil(script));
    const r = await p.done;
    assert.equal(r.status, 0, r.stderr);
    const line = /GATE (\{.*\})/.exec(r.stdout)?.[1];
    assert.ok(line, r.stdout);
    assert.deepEqual(JSON.parse(line), { id: 0, entries: ['hosts', 'state'], overwrite: 'EROFS', 'overwrite hosts': 'EROFS', create: 'EROFS' });
  });

  test('a tong that never gets ready: exit 1 naming it, the waiting harness never runs, nothing left', async (t) => {
    runtime = await requireDocker(t);
    if (!runtime) return;
    await buildTestImages('tongs-test-port:local');
    const layer = await tongLayer(t, { slow: portTong(600_000, '2s') });
    const p = launch(t, runtime, layer, gatedAnvil(HARNESS));
    const r = await p.done;
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /tong 'slow' not ready after 2 s: tcp slow:8080/);
    assert.match(r.stderr, /anvil started; its harness waits at the gate/);
    assert.doesNotMatch(r.stdout, /HARNESS RAN/);
    assert.deepEqual(await leftovers(runtime, LABEL_LAUNCHER_PID, String(p.child.pid)), []);
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    test(`${signal} while the gated anvil waits: exit ${code}, the harness never runs, nothing left`, async (t) => {
      runtime = await requireDocker(t);
      if (!runtime) return;
      await buildTestImages('tongs-test-port:local');
      const layer = await tongLayer(t, { slow: portTong(600_000, '60s') });
      const p = launch(t, runtime, layer, gatedAnvil(HARNESS));
      const session = await sessionOfLauncher(runtime, p.child.pid!);
      await anvilCreated(runtime, session);
      p.child.kill(signal);
      const r = await p.done;
      assert.equal(r.status, code, r.stderr);
      assert.match(r.stderr, new RegExp(`interrupted by ${signal}`));
      assert.doesNotMatch(r.stdout, /HARNESS RAN/);
      assert.deepEqual(await sessionLeftovers(runtime, session), []);
    });
  }

  test('an anvil the engine refuses while its tongs start: its status at once, nothing left', async (t) => {
    runtime = await requireDocker(t);
    if (!runtime) return;
    await buildTestImages('tongs-test-port:local');
    // The tong would take 10 minutes; the launch must end as soon as the anvil does.
    const layer = await tongLayer(t, { slow: portTong(600_000, '600s') });
    const started = Date.now();
    // A user the image does not have: refused by every engine, rootless ones too. Not a memory limit
    // (rootless engines may ignore it) nor a missing bind-mount source (Podman creates it on the host).
    const refused = ['--user', `tongs-no-such-user-${RUN_ID}`];
    const p = launch(t, runtime, layer, gatedAnvil(HARNESS, refused));
    const r = await p.done;
    // The anvil's own status: what the docker CLI returns for that argv run directly (125 on Docker;
    // Podman's compat API makes it 1).
    const direct = await dockerCli(['run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, ...refused, ANVIL_IMAGE, 'true']);
    assert.notEqual(direct.status, 0);
    assert.equal(r.status, direct.status, r.stderr);
    assert.ok(Date.now() - started < 60_000, 'the launch waited for the tong after its anvil had gone');
    assert.doesNotMatch(r.stdout, /HARNESS RAN/);
    assert.deepEqual(await leftovers(runtime, LABEL_LAUNCHER_PID, String(p.child.pid)), []);
  });

  test('SIGKILL of the launcher of a relayed session, then `tongs gc`: its containers, network and socket volume go', async (t) => {
    runtime = await requireDocker(t);
    if (!runtime) return;
    const rt = runtime;
    await buildTestImages('tongs-test-port:local');
    const layer = await tongLayer(t, { slow: portTong(0) });
    const p = launch(t, rt, layer, gatedAnvil(`console.log('HARNESS UP'); setInterval(() => {}, 1000);`), ['--anvil-relay']);
    await p.waitFor(/HARNESS UP/);
    const session = await sessionOfLauncher(rt, p.child.pid!);
    assert.equal((await rt.listVolumes({ [LABEL_SESSION]: session })).length, 1, 'the relayed session has its socket volume');
    // The launcher's own children (its anvil's docker CLI) outlive a SIGKILL; Podman's CLI may even stay
    // attached after gc removed its container, holding our pipes open: end them and the pipes here.
    const orphans = readFileSync(`/proc/${p.child.pid}/task/${p.child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    t.after(() => {
      for (const pid of orphans) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      p.child.stdout?.destroy();
      p.child.stderr?.destroy();
    });
    p.child.kill('SIGKILL');
    if (p.child.exitCode === null && p.child.signalCode === null) await once(p.child, 'exit');
    const gc = await runTongs(['gc']);
    assert.equal(gc.status, 0, gc.stderr);
    assert.deepEqual(await sessionLeftovers(rt, session), []);
    assert.deepEqual(await rt.listVolumes({ [LABEL_SESSION]: session }), [], 'gc removes the socket volume');
  });

  test('with a terminal (`docker run -it` under a pty), the harness gets the TTY and its stdin', async (t) => {
    runtime = await requireDocker(t);
    if (!runtime) return;
    await buildTestImages('tongs-test-port:local');
    const layer = await tongLayer(t, { slow: portTong(1000) });
    const script = `process.stdin.setRawMode(true); console.log('TTY ' + process.stdin.isTTY + ' ' + process.stdout.isTTY);
process.stdin.once('data', (d) => { console.log('GOT ' + JSON.stringify(d.toString())); process.exit(0); });`;
    const argv = ['node', CLI, 'run', '--repo-tongs', layer, '--', ...gatedAnvil(script, ['-it'])];
    // util-linux script(1) gives the launcher a pty; the key is typed once the harness is up.
    const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-qec', quoted, '/dev/null'], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('TTY true true') && !out.includes('GOT')) child.stdin.write('k');
    });
    t.after(async () => {
      child.kill('SIGKILL');
      if (runtime) await cleanupByLabel(runtime, TEST_LABEL, RUN_ID);
    });
    const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(status, 0, out);
    assert.match(out, /TTY true true/);
    assert.match(out, /GOT "k"/);
    // Progress lines printed while the anvil held the terminal start at column 0 (raw mode). An engine
    // slow to attach (rootless Podman) may not have made the terminal raw yet, so the pty's own \n→\r\n
    // gives \r\r\n: it shows the same.
    assert.match(out, /tongs: started 1 tong in [^\r\n]*\r\r?\n/);
  });
});

after(async () => {
  if (!runtime) return;
  const left: string[] = [];
  for (const pid of launcherPids) left.push(...(await leftovers(runtime, LABEL_LAUNCHER_PID, String(pid))));
  await cleanupByLabel(runtime, TEST_LABEL, RUN_ID);
  assert.deepEqual(left, [], 'the launch-order suite left resources behind');
});

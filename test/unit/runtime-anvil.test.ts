/**
 * The anvil helpers, progress lines and engine resolution (issue #3 items 1, 4, 9): `docker run` →
 * `docker create` rewriting for anvils with their own --network, the MCP config file written 0600,
 * progress on a pipe vs a TTY vs --quiet, and a clear error naming the engine that did not answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerError } from '../../launcher/errors.js';
import { anvilUserNotes, fileHandover, signalNumber, toCreateArgv, tongHostEntries, writePlanFiles } from '../../launcher/shell/run/anvil.js';
import { openGate, prepareGate } from '../../launcher/shell/apply/gate.js';
import type { LaunchPlan } from '../../launcher/core/plan-types.js';
import type { ContainerRuntime } from '../../launcher/shell/engine/runtime.js';
import { createDockerRuntime } from '../../launcher/shell/engine/docker-runtime.js';
import { resolveEngine } from '../../launcher/shell/engine/engine.js';
import { createProgress, debugEnabled, formatSeconds } from '../../launcher/shell/progress.js';
import { formatTimeout } from '../../launcher/shell/apply/readiness.js';

test('toCreateArgv: run → create, run-only options dropped, -i detected in clusters and long forms', () => {
  const cases: Array<{ argv: string[]; create: string[]; interactive: boolean }> = [
    {
      argv: ['docker', 'run', '--rm', '-it', '--network', 'mine', '--name', 'claude', 'anvil:local', 'claude', '-i'],
      create: ['docker', 'create', '--rm', '-it', '--network', 'mine', '--name', 'claude', 'anvil:local', 'claude', '-i'],
      interactive: true,
    },
    {
      argv: ['docker', '--context', 'x', 'run', '-d', '--sig-proxy=false', '-e', 'A=1', '--net=mine', 'img', 'a'],
      create: ['docker', '--context', 'x', 'create', '-e', 'A=1', '--net=mine', 'img', 'a'],
      interactive: false,
    },
    {
      argv: ['docker', 'container', 'run', '-dit', '-eFOO=1', '-v', '/a:/b', 'img'],
      create: ['docker', 'container', 'create', '-it', '-eFOO=1', '-v', '/a:/b', 'img'],
      interactive: true,
    },
    {
      argv: ['docker', 'run', '-i', '--interactive=false', 'img'],
      create: ['docker', 'create', '-i', '--interactive=false', 'img'],
      interactive: false,
    },
    {
      argv: ['docker', 'run', '--interactive', '-te', 'X=1', 'img'],
      create: ['docker', 'create', '--interactive', '-te', 'X=1', 'img'],
      interactive: true,
    },
  ];
  for (const c of cases) {
    assert.deepEqual(toCreateArgv(c.argv), { createArgv: c.create, interactive: c.interactive }, c.argv.join(' '));
  }
  assert.throws(() => toCreateArgv(['docker', 'run', '--rm']), DockerError);
});

test('writePlanFiles writes the MCP config with mode 0600', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tongs-files-'));
  try {
    const hostPath = join(dir, 'sub', 'mcp.json');
    await writePlanFiles([{ hostPath, containerPath: '/run/tongs/mcp.json', content: '{"mcpServers":{}}\n', mode: 0o600 }]);
    assert.equal(await readFile(hostPath, 'utf8'), '{"mcpServers":{}}\n');
    assert.equal((await stat(hostPath)).mode & 0o777, 0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('fileHandover: a root launcher gives an anvil run with -u its files as root\'s, readable by its group (or all, gid unknown)', () => {
  assert.deepEqual(fileHandover(0o600, undefined, 0), { owner: null, mode: 0o600 }, 'no -u: the entrypoint hands them over as root');
  assert.deepEqual(fileHandover(0o600, { uid: 0, gid: 0 }, 0), { owner: null, mode: 0o600 });
  assert.deepEqual(fileHandover(0o600, { uid: 1000, gid: 1000 }, 0), { owner: { uid: 0, gid: 1000 }, mode: 0o640 });
  assert.deepEqual(fileHandover(0o600, { uid: 1000, gid: null }, 0), { owner: { uid: 0, gid: 0 }, mode: 0o644 });
  assert.deepEqual(fileHandover(0o200, { uid: 1000, gid: 1000 }, 0), { owner: { uid: 0, gid: 1000 }, mode: 0o200 }, 'only a read bit the owner has');
  assert.deepEqual(fileHandover(0o600, { uid: 1000, gid: 1000 }, 1000), { owner: null, mode: 0o600 }, 'a non-root launcher cannot chown');
});

test('anvilUserNotes: said only when a non-root launcher cannot hand the files over, or Gemini wants them root\'s', () => {
  assert.deepEqual(anvilUserNotes({ harness: 'gemini', anvilUser: { uid: 1000, gid: 1000 } }, 0), []);
  assert.deepEqual(anvilUserNotes({ harness: 'codex', anvilUser: { uid: 1000, gid: 1000 } }, 1000), []);
  assert.deepEqual(anvilUserNotes({ harness: 'codex' }, 1000), []);
  assert.match(anvilUserNotes({ harness: 'claude', anvilUser: { uid: 2000, gid: null } }, 1000).join(), /uid 2000 \(-u\) and this launcher as uid 1000, which cannot hand/);
  assert.match(anvilUserNotes({ harness: 'gemini', anvilUser: { uid: 1000, gid: 1000 } }, 1000).join(), /Gemini CLI skips its system settings/);
});

test('writePlanFiles as root hands the files to the anvil\'s -u group, root keeping them', { skip: process.getuid?.() !== 0 && 'needs root (chown)' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tongs-files-'));
  try {
    const hostPath = join(dir, 'gemini', 'settings.json');
    await writePlanFiles([{ hostPath, containerPath: '/run/tongs/gemini/settings.json', content: '{}\n', mode: 0o600 }], { uid: 1000, gid: 1234 });
    const st = await stat(hostPath);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [0, 1234, 0o640]);
    assert.equal((await stat(join(dir, 'gemini'))).mode & 0o777, 0o700, 'the host dir stays private');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('signalNumber', () => {
  assert.deepEqual(['SIGHUP', 'SIGINT', 'SIGTERM'].map((s) => signalNumber(s as NodeJS.Signals)), [1, 2, 15]);
});

test('progress: plain lines on a pipe, a spinner only on a TTY, nothing but warnings when quiet', async () => {
  const pipe: string[] = [];
  const p = createProgress({ quiet: false, stream: { write: (s: string) => pipe.push(s), isTTY: false } });
  p.phase('starting 3 tongs');
  p.line('started 3 tongs in 0.41 s; ready in 0.62 s');
  p.stop();
  assert.deepEqual(pipe, ['tongs: started 3 tongs in 0.41 s; ready in 0.62 s\n']);

  const tty: string[] = [];
  const t = createProgress({ quiet: false, stream: { write: (s: string) => tty.push(s), isTTY: true }, intervalMs: 5 });
  t.phase('starting 3 tongs');
  await new Promise((r) => setTimeout(r, 30));
  t.line('started');
  t.stop();
  const text = tty.join('');
  assert.match(text, /\r\x1b\[2Ktongs: [⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] starting 3 tongs/);
  assert.ok(tty.filter((s) => s.includes('starting 3 tongs')).length >= 2, 'the spinner redraws');
  assert.match(text, /tongs: started\n/);
  assert.ok(text.endsWith('\r\x1b[2K'), 'stop clears the spinner line');

  const q: string[] = [];
  const quiet = createProgress({ quiet: true, stream: { write: (s: string) => q.push(s), isTTY: true } });
  quiet.phase('x');
  quiet.line('y');
  quiet.warn('teardown was incomplete');
  quiet.stop();
  assert.deepEqual(q, ['tongs: teardown was incomplete\n']);
});

test('DEBUG=tongs traces phases with milliseconds, even when quiet; off otherwise', () => {
  assert.equal(debugEnabled({ DEBUG: 'tongs' }), true);
  assert.equal(debugEnabled({ DEBUG: 'express,tongs*' }), true);
  assert.equal(debugEnabled({ DEBUG: 'tongs:session' }), true);
  assert.equal(debugEnabled({ DEBUG: '*' }), true);
  assert.equal(debugEnabled({ DEBUG: 'tongsx' }), false);
  assert.equal(debugEnabled({}), false);
  const lines: string[] = [];
  const p = createProgress({ quiet: true, debug: true, stream: { write: (s: string) => lines.push(s), isTTY: false } });
  p.debug('network created');
  assert.match(lines.join(''), /^tongs: \[\s*\d+ ms\] network created\n$/);
  const off = createProgress({ quiet: false, debug: false, stream: { write: (s: string) => lines.push(s), isTTY: false } });
  off.debug('hidden');
  assert.equal(lines.length, 1);
});

test('formatSeconds and formatTimeout read as people write them', () => {
  assert.equal(formatSeconds(412), '0.41 s');
  assert.equal(formatTimeout(2000), '2 s');
  assert.equal(formatTimeout(500), '500 ms');
  assert.equal(formatTimeout(1500), '1.5 s');
});

test('an engine that does not answer is named: DOCKER_HOST (unix and tcp)', async () => {
  const saved = process.env.DOCKER_HOST;
  try {
    process.env.DOCKER_HOST = 'unix:///nonexistent/tongs.sock';
    const rt = createDockerRuntime();
    assert.equal(rt.describeEngine(), 'DOCKER_HOST=unix:///nonexistent/tongs.sock');
    await assert.rejects(rt.listContainers({}), (err: Error) => {
      assert.ok(err instanceof DockerError);
      assert.match(err.message, /^no Docker engine answers at DOCKER_HOST=unix:\/\/\/nonexistent\/tongs\.sock \(ENOENT\)/);
      assert.equal(err.kind, 'unreachable');
      assert.equal(err.engineUnavailable, true);
      return true;
    });
    process.env.DOCKER_HOST = 'tcp://127.0.0.1:1';
    await assert.rejects(createDockerRuntime().ping(), /no Docker engine answers at DOCKER_HOST=tcp:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    delete process.env.DOCKER_HOST;
    const empty = { DOCKER_CONFIG: '/nonexistent/docker-config' };
    assert.equal(
      createDockerRuntime({ engine: resolveEngine({ env: empty }) }).describeEngine(),
      'unix:///var/run/docker.sock (the default socket)',
    );
  } finally {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  }
});

test('tongHostEntries: every alias of every started tong at its session-network address; none behind the relay', async () => {
  const networks: Record<string, Record<string, { aliases: string[]; address: string | null }>> = {
    c1: { 'tongs-s1': { aliases: ['github', 'gh'], address: '10.89.0.5' }, other: { aliases: [], address: '10.1.0.9' } },
    c2: { 'tongs-s1': { aliases: ['db'], address: '10.89.0.6' } },
    c3: { 'tongs-s1': { aliases: ['late'], address: null } },
  };
  const runtime = { inspectContainer: async (id: string) => ({ networks: networks[id] }) } as unknown as ContainerRuntime;
  const plan = {
    relay: null,
    network: { name: 'tongs-s1' },
    tongs: [
      { name: 'github', alias: 'github', aliases: ['gh'] },
      { name: 'db', alias: 'db', aliases: [] },
      { name: 'late', alias: 'late', aliases: [] },
      { name: 'never', alias: 'never', aliases: [] },
    ],
  } as unknown as LaunchPlan;
  const containers = new Map([['github', 'c1'], ['db', 'c2'], ['late', 'c3']]);
  assert.deepEqual(await tongHostEntries(plan, runtime, containers), ['github:10.89.0.5', 'gh:10.89.0.5', 'db:10.89.0.6']);
  assert.deepEqual(await tongHostEntries({ ...plan, relay: {} } as unknown as LaunchPlan, runtime, containers), []);
  assert.deepEqual(await tongHostEntries({ ...plan, network: null } as unknown as LaunchPlan, runtime, containers), []);
});

test('openGate writes the hosts lines before the state, and no hosts file when there are none', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tongs-gate-'));
  try {
    await prepareGate(dir);
    await openGate(dir, 'go', ['github:10.89.0.5', 'gh:10.89.0.5']);
    assert.equal(await readFile(join(dir, 'hosts'), 'utf8'), '10.89.0.5 github\n10.89.0.5 gh\n');
    assert.equal(await readFile(join(dir, 'state'), 'utf8'), 'go\n');
    const bare = await mkdtemp(join(tmpdir(), 'tongs-gate-'));
    await openGate(bare, 'stop');
    await assert.rejects(stat(join(bare, 'hosts')), { code: 'ENOENT' });
    await rm(bare, { recursive: true });
  } finally {
    await rm(dir, { recursive: true });
  }
});

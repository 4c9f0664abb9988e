/**
 * Secret delivery on the real engine (issue #6 "Delivery"): a container from tongs-base:local is
 * created through the runtime the way it creates a secret-bearing tong (wrapper entrypoint +
 * SECRET_TMPFS), the payload goes in over the runtime's exec with stdin (the launcher's channel,
 * launcher/shell/run/session.ts), and the main process reports a sha256 of each value. Meanwhile the values
 * must appear in no `docker inspect`, no exec record, no host argv, no other process in the tong and no
 * file in the tmpfs.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { SecretError } from '../../launcher/errors.js';
import type { ContainerRuntime } from '../../launcher/shell/engine/runtime.js';
import {
  SECRET_DIR,
  SECRET_TMPFS,
  deliverSecrets,
  wrapCommand,
  type ExecWithStdin,
} from '../../launcher/shell/apply/secret-delivery.js';
import {
  BASE_IMAGE,
  TEST_LABEL,
  buildBaseImage,
  cleanupByLabel,
  dockerCli,
  engineGet,
  requireDocker,
} from '../support/docker.js';

const RUN_ID = `secret-delivery-${process.pid}-${randomBytes(4).toString('hex')}`;
/** A marker every secret value contains, so one grep finds any leak. */
const MARK = `tongs-it-${randomBytes(12).toString('hex')}`;

const SECRETS: Record<string, string> = {
  GITHUB_TOKEN: `ghp_${MARK}`,
  TRICKY: `it's "${MARK}" $HOME \${PATH} \`id\` \\ %s\n  second line\r\nthird\n`,
  AUTH_HEADER: `Bearer ${MARK} ok`,
  TONGS_MCP_TOKEN: `${MARK}-mcp`,
  EMPTY_TOO: '',
};

/** Main process: print `NAME sha256` per variable, the secret dir listing, then idle until removed. */
const REPORT = `
const { createHash } = require('node:crypto');
const fs = require('node:fs');
for (const k of process.argv.slice(1)) {
  const v = process.env[k];
  console.log(k + ' ' + (v === undefined ? 'unset' : createHash('sha256').update(v, 'utf8').digest('hex')));
}
console.log('dir ' + JSON.stringify(fs.readdirSync(${JSON.stringify(SECRET_DIR)}).sort()));
console.log('reported');
setInterval(() => {}, 1 << 30);
`;

function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** The launcher's channel (launcher/shell/run/session.ts): the runtime's exec with the payload on stdin. */
function execVia(runtime: ContainerRuntime): ExecWithStdin {
  return async (id, argv, stdin) => {
    const r = await runtime.exec(id, argv, { stdin });
    return { exitCode: r.exitCode, output: r.stdout + r.stderr };
  };
}

/**
 * The runtime for this test with the base image built, or null when the test was skipped (no engine);
 * everything this file creates is removed in `t.after`.
 */
async function setUp(t: TestContext): Promise<ContainerRuntime | null> {
  const runtime = await requireDocker(t);
  if (!runtime) return null;
  await buildBaseImage();
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));
  return runtime;
}

/** Create and start a wrapped container reporting on the secrets; returns its id. */
async function startWrapped(runtime: ContainerRuntime, withTmpfs: boolean): Promise<string> {
  const wrapped = wrapCommand(['node', '-e', REPORT, ...Object.keys(SECRETS), 'PLAIN']);
  const id = await runtime.createContainer({
    name: null,
    image: BASE_IMAGE,
    entrypoint: wrapped.entrypoint,
    command: wrapped.command,
    env: { PLAIN: 'plain-visible' },
    labels: { [TEST_LABEL]: RUN_ID },
    mounts: withTmpfs ? [SECRET_TMPFS] : [],
    memoryBytes: null,
    network: null,
  });
  await runtime.startContainer(id);
  return id;
}

/** What `docker logs` shows a user (stdout and stderr). */
async function logsOf(id: string): Promise<string> {
  const r = await dockerCli(['logs', id]);
  return r.stdout + r.stderr;
}

async function waitForLogs(id: string, needle: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const logs = await logsOf(id);
    if (logs.includes(needle)) return logs;
    if (Date.now() > deadline) throw new Error(`no '${needle}' in the container's output after ${timeoutMs} ms:\n${logs}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('the main process gets exact values; inspect, exec records, host argv and the tmpfs hold none', async (t) => {
  const runtime = await setUp(t);
  if (!runtime) return;
  const createdAt = Math.floor(Date.now() / 1000) - 1; // seconds; `docker events --since` below
  const id = await startWrapped(runtime, true);

  // The wrapper holds the process back until delivery.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await logsOf(id), '', 'nothing ran before delivery');
  assert.equal((await runtime.inspectContainer(id))?.running, true);

  const started = process.hrtime.bigint();
  await deliverSecrets(execVia(runtime), id, SECRETS, 'tong under test');
  const logs = await waitForLogs(id, 'reported', 10_000);
  const deliveryMs = Number(process.hrtime.bigint() - started) / 1e6;
  t.diagnostic(`delivery (runtime exec with stdin + wrapper) to the main process: ${deliveryMs.toFixed(0)} ms`);

  for (const [name, value] of Object.entries(SECRETS)) {
    assert.ok(logs.includes(`${name} ${sha256(value)}\n`), `${name} arrived byte-exact:\n${logs}`);
  }
  assert.ok(logs.includes(`PLAIN ${sha256('plain-visible')}\n`), 'plain environment is untouched');
  assert.ok(logs.includes('dir ["ready"]\n'), `the payload file is gone before the main process starts:\n${logs}`);

  // Host argv while the tong runs.
  const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  assert.equal(ps.status, 0);
  assert.ok(!ps.stdout.includes(MARK), 'no host process has a secret in its argv');

  // docker inspect: Env, Cmd, Entrypoint, Labels, mounts, everything.
  const inspected = await dockerCli(['inspect', id]);
  assert.equal(inspected.status, 0);
  assert.ok(!inspected.stdout.includes(MARK), 'docker inspect shows no secret');
  assert.ok(inspected.stdout.includes('plain-visible'), 'the inspect output is the real one');

  // The delivery exec's own record. Docker: `docker inspect`'s ExecIDs lists only running execs, and
  // the engine's exec_create events name finished ones. Podman: its exec events carry no exec id, but
  // its ExecIDs keeps finished execs until the container is removed.
  const events = await dockerCli([
    'events', '--since', String(createdAt), '--until', String(Math.ceil(Date.now() / 1000)),
    '--filter', `container=${id}`, '--format', '{{json .}}',
  ]);
  assert.equal(events.status, 0, events.stderr);
  const execIds = events.stdout
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as { Action: string; Actor: { Attributes: Record<string, string> } })
    .filter((e) => e.Action.startsWith('exec_create'))
    .map((e) => e.Actor.Attributes.execID!);
  const listed = await dockerCli(['inspect', '-f', '{{json .ExecIDs}}', id]);
  execIds.push(...((JSON.parse(listed.stdout.trim() || 'null') as string[] | null) ?? []));
  assert.ok(execIds.length > 0, 'the delivery exec left a record to check');
  assert.ok(!events.stdout.includes(MARK), 'no exec event shows a secret');
  for (const execId of execIds) {
    const record = JSON.stringify(await engineGet(`/exec/${execId}/json`));
    assert.ok(!record.includes(MARK), 'no exec record shows a secret');
  }

  // Another process in the tong (like a healthcheck) does not inherit the secrets, and no file holds them.
  const outsider = await dockerCli(['exec', id, '/bin/sh', '-c', `env; ls -la ${SECRET_DIR}; grep -r . ${SECRET_DIR} || true`]);
  assert.equal(outsider.status, 0, outsider.stderr);
  assert.ok(!outsider.stdout.includes(MARK), 'exec processes see no secret');
  assert.ok(outsider.stdout.includes('PLAIN=plain-visible'));
  const mounts = await dockerCli(['exec', id, '/bin/sh', '-c', `grep ' ${SECRET_DIR} ' /proc/mounts; stat -c %a ${SECRET_DIR}`]);
  assert.match(mounts.stdout, /^tmpfs \/run\/tongs-secrets tmpfs /m, 'the secret dir is a tmpfs (memory only)');
  assert.match(mounts.stdout, /^1777$/m);

  // The main process (PID 1 after exec) holds them: that is the one place they may be.
  const environ = await dockerCli(['exec', id, '/bin/sh', '-c', 'tr "\\0" "\\n" < /proc/1/environ | grep -c "^GITHUB_TOKEN=ghp_"']);
  assert.equal(environ.stdout.trim(), '1', 'PID 1 is the original command with the secret in its environment');
});

test('a failed delivery is a SecretError and the wrapped process never starts', async (t) => {
  const runtime = await setUp(t);
  if (!runtime) return;
  const id = await startWrapped(runtime, false); // no tmpfs: the delivery script refuses
  await assert.rejects(
    deliverSecrets(execVia(runtime), id, SECRETS, "tong 'broken'"),
    (e: Error) =>
      e instanceof SecretError &&
      /tong 'broken'/.test(e.message) &&
      /exit status 3/.test(e.message) &&
      /not writable|missing/.test(e.message) &&
      !e.message.includes(MARK),
  );
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await logsOf(id), '', 'the main process did not start');
  assert.equal((await runtime.inspectContainer(id))?.running, true, 'the wrapper still waits (the runtime removes it)');
});

test('docker stop ends a tong still waiting for its secrets promptly', async (t) => {
  const runtime = await setUp(t);
  if (!runtime) return;
  const id = await startWrapped(runtime, true);
  const started = Date.now();
  await runtime.stopContainer(id, 10);
  assert.ok(Date.now() - started < 5000, 'SIGTERM ended the wrapper (no 10 s kill timeout)');
  assert.equal((await runtime.inspectContainer(id))?.exitCode, 143);
});

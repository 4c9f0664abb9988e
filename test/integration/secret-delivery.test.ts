/**
 * Secret delivery on the real engine (issue #6 "Delivery"): a container from tongs-base:local is
 * created the way the runtime creates a secret-bearing tong (wrapper entrypoint + SECRET_TMPFS), the
 * payload goes in over `docker exec -i` stdin, and the main process reports a sha256 of each value.
 * Meanwhile the values must appear in no `docker inspect`, no exec record, no host argv, no other
 * process in the tong and no file in the tmpfs.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { SecretError } from '../../launcher/errors.js';
import {
  SECRET_DIR,
  SECRET_TMPFS,
  deliverSecrets,
  wrapCommand,
  type ExecWithStdin,
} from '../../launcher/shell/secret-delivery.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const IMAGE = 'tongs-base:local';
const TEST_LABEL = 'dev.tongs.test';
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

const docker = new Docker();

function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Run the docker CLI; resolves with its status and output (stdin written then closed). */
function dockerCli(args: string[], stdin?: Buffer): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin ?? Buffer.alloc(0));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ exitCode: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
}

/** The launcher's channel: `docker exec -i CONTAINER ARGV…` with the payload on stdin. */
const execViaCli: ExecWithStdin = async (id, argv, stdin) => {
  const r = await dockerCli(['exec', '-i', id, ...argv], stdin);
  return { exitCode: r.exitCode, output: r.stdout + r.stderr };
};

async function createWrapped(withTmpfs: boolean): Promise<Docker.Container> {
  const wrapped = wrapCommand(['node', '-e', REPORT, ...Object.keys(SECRETS), 'PLAIN']);
  return docker.createContainer({
    Image: IMAGE,
    Entrypoint: wrapped.entrypoint,
    Cmd: wrapped.command,
    Env: ['PLAIN=plain-visible'],
    Labels: { [TEST_LABEL]: RUN_ID },
    HostConfig: {
      Mounts: withTmpfs
        ? [
            {
              Type: 'tmpfs',
              Source: '',
              Target: SECRET_TMPFS.target,
              TmpfsOptions: { SizeBytes: SECRET_TMPFS.sizeBytes, Mode: SECRET_TMPFS.mode },
            } as Docker.MountSettings,
          ]
        : [],
    },
  });
}

async function logsOf(container: Docker.Container): Promise<string> {
  const r = await dockerCli(['logs', container.id]);
  return r.stdout + r.stderr;
}

async function waitForLogs(container: Docker.Container, needle: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const logs = await logsOf(container);
    if (logs.includes(needle)) return logs;
    if (Date.now() > deadline) throw new Error(`no '${needle}' in the container's output after ${timeoutMs} ms:\n${logs}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let dockerReady = false;
before(async () => {
  if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0) {
    if (process.env.TONGS_REQUIRE_DOCKER === '1') throw new Error('TONGS_REQUIRE_DOCKER=1 but no Docker engine answers');
    return;
  }
  const built = spawnSync('bash', [path.join(ROOT, 'make/base-image.sh'), IMAGE], { stdio: ['ignore', 'ignore', 'inherit'] });
  assert.equal(built.status, 0, 'make/base-image.sh failed');
  dockerReady = true;
});

async function removeOurs(): Promise<void> {
  const ours = await docker.listContainers({ all: true, filters: { label: [`${TEST_LABEL}=${RUN_ID}`] } });
  await Promise.all(ours.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}

test('the main process gets exact values; inspect, exec records, host argv and the tmpfs hold none', async (t) => {
  if (!dockerReady) return t.skip('no Docker engine (set TONGS_REQUIRE_DOCKER=1 to fail instead)');
  t.after(removeOurs);
  const container = await createWrapped(true);
  await container.start();

  // The wrapper holds the process back until delivery.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await logsOf(container), '', 'nothing ran before delivery');
  assert.equal((await container.inspect()).State.Running, true);

  const started = process.hrtime.bigint();
  await deliverSecrets(execViaCli, container.id, SECRETS, 'tong under test');
  const logs = await waitForLogs(container, 'reported', 10_000);
  const deliveryMs = Number(process.hrtime.bigint() - started) / 1e6;
  t.diagnostic(`delivery (docker exec -i + wrapper) to the main process: ${deliveryMs.toFixed(0)} ms`);

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
  const inspected = await dockerCli(['inspect', container.id]);
  assert.equal(inspected.exitCode, 0);
  assert.ok(!inspected.stdout.includes(MARK), 'docker inspect shows no secret');
  assert.ok(inspected.stdout.includes('plain-visible'), 'the inspect output is the real one');

  // The delivery exec's own record.
  const info = await container.inspect();
  for (const execId of info.ExecIDs ?? []) {
    const record = JSON.stringify(await docker.getExec(execId).inspect());
    assert.ok(!record.includes(MARK), 'no exec record shows a secret');
  }

  // Another process in the tong (like a healthcheck) does not inherit the secrets, and no file holds them.
  const outsider = await dockerCli(['exec', container.id, '/bin/sh', '-c', `env; ls -la ${SECRET_DIR}; grep -r . ${SECRET_DIR} || true`]);
  assert.equal(outsider.exitCode, 0, outsider.stderr);
  assert.ok(!outsider.stdout.includes(MARK), 'exec processes see no secret');
  assert.ok(outsider.stdout.includes('PLAIN=plain-visible'));
  const mounts = await dockerCli(['exec', container.id, '/bin/sh', '-c', `grep ' ${SECRET_DIR} ' /proc/mounts; stat -c %a ${SECRET_DIR}`]);
  assert.match(mounts.stdout, /^tmpfs \/run\/tongs-secrets tmpfs /m, 'the secret dir is a tmpfs (memory only)');
  assert.match(mounts.stdout, /^1777$/m);

  // The main process (PID 1 after exec) holds them: that is the one place they may be.
  const environ = await dockerCli(['exec', container.id, '/bin/sh', '-c', 'tr "\\0" "\\n" < /proc/1/environ | grep -c "^GITHUB_TOKEN=ghp_"']);
  assert.equal(environ.stdout.trim(), '1', 'PID 1 is the original command with the secret in its environment');
});

test('a failed delivery is a SecretError and the wrapped process never starts', async (t) => {
  if (!dockerReady) return t.skip('no Docker engine (set TONGS_REQUIRE_DOCKER=1 to fail instead)');
  t.after(removeOurs);
  const container = await createWrapped(false); // no tmpfs: the delivery script refuses
  await container.start();
  await assert.rejects(
    deliverSecrets(execViaCli, container.id, SECRETS, "tong 'broken'"),
    (e: Error) =>
      e instanceof SecretError &&
      /tong 'broken'/.test(e.message) &&
      /exit status 3/.test(e.message) &&
      /not writable|missing/.test(e.message) &&
      !e.message.includes(MARK),
  );
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await logsOf(container), '', 'the main process did not start');
  assert.equal((await container.inspect()).State.Running, true, 'the wrapper still waits (the runtime removes it)');
});

test('docker stop ends a tong still waiting for its secrets promptly', async (t) => {
  if (!dockerReady) return t.skip('no Docker engine (set TONGS_REQUIRE_DOCKER=1 to fail instead)');
  t.after(removeOurs);
  const container = await createWrapped(true);
  await container.start();
  const started = Date.now();
  await container.stop({ t: 10 });
  assert.ok(Date.now() - started < 5000, 'SIGTERM ended the wrapper (no 10 s kill timeout)');
  assert.equal((await container.inspect()).State.ExitCode, 143);
});

/**
 * An `ssh://` engine, for real (issue #16 "Support … ssh://"): a private OpenSSH server on 127.0.0.1
 * whose sessions reach this suite's engine (`SetEnv DOCKER_HOST`), and a client configuration a user
 * would have in ~/.ssh/config (a host alias, its key, its known_hosts), handed to every `ssh` the
 * launcher and the anvil's docker CLI run through an `ssh` wrapper first on PATH (OpenSSH reads the
 * passwd entry's home, never $HOME, so a test cannot give it another ~/.ssh).
 *
 * The launcher runs where every engine socket is hidden (test/support/hide-engines.ts): the tong, the
 * probe and the anvil can only have come through ssh. An unknown host key fails the launch with one
 * line, before any container exists. Needs root (`unshare --mount`, sshd) and `sshd` (CI installs
 * openssh-server).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveEngine } from '../../launcher/shell/engine/engine.js';
import { engineSockets, writeHidingScript } from '../support/hide-engines.js';
import { freePort } from '../support/conformance.js';
import { BASE_IMAGE, CLI, REPO_ROOT, TEST_LABEL, buildTestImages, cleanupByLabel, dockerCli, leftovers, requireDocker, tempDir, tongLayer } from '../support/docker.js';
import { runProcess } from '../support/process.js';

const RUN_ID = `ssh-${randomBytes(4).toString('hex')}`;
const SSHD = '/usr/sbin/sshd';
const HOST_ALIAS = 'tongs-ssh-engine';

interface SshEngine {
  /** A dir to put first on PATH: its `ssh` runs the system's with the test's client configuration. */
  bin: string;
  /** sshd's log (`-E`). */
  log: string;
  /** Replace the client's known_hosts with a key that is not the server's. */
  forgetHostKey(): Promise<void>;
}

async function sh(command: string, args: string[]): Promise<void> {
  const r = await runProcess(command, args);
  assert.equal(r.status, 0, `${command} ${args.join(' ')}: ${r.stderr}`);
}

/** Start sshd on a free port of 127.0.0.1 for this test; stopped (by its own pid) when the test ends. */
async function startSshEngine(t: TestContext, dir: string, engineHost: string): Promise<SshEngine> {
  const port = await freePort();
  for (const key of ['host', 'client', 'other']) await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', key, '-f', join(dir, key)]);
  const log = join(dir, 'sshd.log');
  await writeFile(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host')}`,
      `AuthorizedKeysFile ${join(dir, 'client.pub')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      `SetEnv DOCKER_HOST=${engineHost}`,
      '',
    ].join('\n'),
  );
  const hostKey = (await readFile(join(dir, 'host.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
  const knownHosts = join(dir, 'known_hosts');
  await writeFile(knownHosts, `[127.0.0.1]:${port} ${hostKey}\n`);
  await writeFile(
    join(dir, 'ssh_config'),
    [
      `Host ${HOST_ALIAS}`,
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      '  User root',
      `  IdentityFile ${join(dir, 'client')}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHosts}`,
      '  StrictHostKeyChecking yes',
      '',
    ].join('\n'),
  );
  const bin = join(dir, 'bin');
  await mkdir(bin);
  await writeFile(join(bin, 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F ${JSON.stringify(join(dir, 'ssh_config'))} "$@"\n`);
  await chmod(join(bin, 'ssh'), 0o755);
  await mkdir('/run/sshd', { recursive: true }); // its privilege-separation dir
  const sshd = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config'), '-E', log], { stdio: 'ignore' });
  t.after(() => void sshd.kill('SIGTERM'));
  // Ready when a login works.
  for (let i = 0; ; i++) {
    const r = await runProcess(join(bin, 'ssh'), ['-o', 'BatchMode=yes', HOST_ALIAS, 'true']);
    if (r.status === 0) break;
    if (i === 50) assert.fail(`sshd did not take a login: ${r.stderr}\n${await readFile(log, 'utf8').catch(() => '')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const other = (await readFile(join(dir, 'other.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
  return { bin, log, forgetHostKey: () => writeFile(knownHosts, `[127.0.0.1]:${port} ${other}\n`) };
}

/** Skip (or fail, under TONGS_REQUIRE_DOCKER=1) where the test cannot run; else the test engine's socket. */
function prerequisites(t: TestContext): string | null {
  const engine = resolveEngine();
  const why =
    engine.endpoint.protocol !== 'unix' ? `the test engine is not on a unix socket (${engine.host})`
    : process.getuid?.() !== 0 ? 'sshd and a private mount namespace need root'
    : !existsSync(SSHD) ? `no ${SSHD} (apt-get install openssh-server)`
    : null;
  if (why === null) return engine.endpoint.protocol === 'unix' ? engine.endpoint.socketPath : null;
  if (process.env.TONGS_REQUIRE_DOCKER === '1') throw new Error(`TONGS_REQUIRE_DOCKER=1 but ${why}`);
  t.skip(why);
  return null;
}

/** `tongs ARGS` with DOCKER_HOST=ssh://HOST_ALIAS, inside a mount namespace where no engine socket answers. */
async function runOverSsh(dir: string, ssh: SshEngine, socket: string, args: string[], debug = true) {
  const inner = join(dir, 'inner.sh');
  writeHidingScript(inner, engineSockets(socket));
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${ssh.bin}:${process.env.PATH}`, DOCKER_HOST: `ssh://${HOST_ALIAS}`, TONGS_HOME: join(dir, 'home'), DEBUG: debug ? 'tongs' : '' };
  delete env.DOCKER_CONTEXT;
  return runProcess('unshare', ['--mount', '--propagation', 'private', 'sh', inner, process.execPath, CLI, ...args], { cwd: REPO_ROOT, env });
}

test('tongs run through an ssh:// engine: the tong, its probe and the anvil all come through the system ssh, with every engine socket hidden', async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  const socket = prerequisites(t);
  if (!socket) return;
  await buildTestImages('tongs-test-mcp:local');
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));
  const dir = await tempDir(t, 'tongs-ssh-');
  const ssh = await startSshEngine(t, dir, `unix://${socket}`);
  const layer = await tongLayer(t, {
    echo: `image: tongs-test-mcp:local\nenv: { TONG_MARK: ${RUN_ID} }\ninterface: { kind: mcp, port: 8080, name: echo }\nreadiness: { mode: mcp, timeout: 30s }\n`,
  });
  const script = await readFile(join(REPO_ROOT, 'test/fixtures/tongs/anvil/mcp-call.cjs'), 'utf8');
  const anvil = ['docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, '-e', 'CALL_TOOL=whoami', BASE_IMAGE, 'node', '-e', script, '--'];
  const r = await runOverSsh(dir, ssh, socket, ['run', '--repo-tongs', layer, '--harness', 'claude', '--', ...anvil]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, new RegExp(`RESULT .*${RUN_ID}`), 'the anvil called the tong');
  assert.match(r.stderr, new RegExp(`engine: ssh://${HOST_ALIAS}, chosen by DOCKER_HOST`));
  const logins = (await readFile(ssh.log, 'utf8')).match(/Accepted publickey for root/g) ?? [];
  assert.ok(logins.length >= 2, `both the launcher and the anvil's docker CLI logged in over ssh (${logins.length} logins)`);
  assert.deepEqual(await leftovers(runtime, TEST_LABEL, RUN_ID), [], 'the anvil is gone');
  const network = /network (\S+) created/.exec(r.stderr)?.[1];
  assert.ok(network, r.stderr);
  assert.notEqual((await dockerCli(['network', 'inspect', network])).status, 0, 'the session network is gone');
});

test('an ssh:// engine whose host key ssh does not know: one line naming it, exit 1, nothing on stdout, no container', async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  const socket = prerequisites(t);
  if (!socket) return;
  await buildTestImages('tongs-test-mcp:local');
  const dir = await tempDir(t, 'tongs-ssh-');
  const ssh = await startSshEngine(t, dir, `unix://${socket}`);
  await ssh.forgetHostKey();
  const logged = (await readFile(ssh.log, 'utf8')).length; // the start-up check's own login
  const layer = await tongLayer(t, { echo: `image: tongs-test-mcp:local\nenv: { TONG_MARK: ${RUN_ID} }\ninterface: { kind: mcp, port: 8080, name: echo }\n` });
  const r = await runOverSsh(dir, ssh, socket, ['run', '--repo-tongs', layer, '--harness', 'claude', '--', 'docker', 'run', '--rm', BASE_IMAGE, 'true'], false);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.deepEqual(r.stderr.split('\n').filter(Boolean), [
    `tongs: ssh to DOCKER_HOST=ssh://${HOST_ALIAS} failed: Host key verification failed; \`ssh\` itself must log in without a prompt (a key in your agent or ~/.ssh/config) and know the host key (~/.ssh/known_hosts)`,
  ]);
  // ssh refused the host before authenticating: no engine call can have been made.
  assert.doesNotMatch((await readFile(ssh.log, 'utf8')).slice(logged), /Accepted publickey/);
});

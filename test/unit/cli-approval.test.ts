/**
 * First-run approval through the CLI, black box (issue #6 "First-run approval"): the workspace
 * `.tongs/env` file the anvil argv passes is gated like a workspace tong — summary on stderr, a
 * `[y/N]` question on stdin, EOF and `--no-prompt` refuse with exit 1 before the anvil runs, and an
 * approval is remembered until the file changes. Workspace tongs are refused the same way before any
 * Docker work (no engine exists in these tests).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = path.join(ROOT, 'dist', 'launcher', 'cli.js');

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: NodeJS.ProcessEnv, input: string): Promise<Result> {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function workspace(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(path.join(tmpdir(), 'tongs-approval-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ws = path.join(dir, 'project');
  await mkdir(path.join(ws, '.tongs'), { recursive: true });
  const envFile = path.join(ws, '.tongs', 'env');
  await writeFile(envFile, 'FOO=bar\n');
  const approvals = path.join(dir, 'approvals.json');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TONGS_HOME: path.join(dir, 'home'),
    DOCKER_HOST: `unix://${path.join(dir, 'no-docker.sock')}`,
  };
  // A stand-in anvil command that names the env file the way the Make recipe does.
  const argv = (...rest: string[]) => [
    'run', '--workspace', ws, '--approvals', approvals, ...rest,
    '--', process.execPath, '-e', 'console.log("anvil ran")', '--env-file', envFile,
  ];
  return { dir, ws, envFile, approvals, env, argv };
}

test('a workspace .tongs/env file is refused on EOF, before the anvil runs', async (t) => {
  const w = await workspace(t);
  const r = await runCli(w.argv(), w.env, '');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /\.tongs\/env/);
  assert.match(r.stderr, /\[y\/N\]/);
  assert.doesNotMatch(r.stdout, /anvil ran/);
});

test('--no-prompt prints the summary and refuses', async (t) => {
  const w = await workspace(t);
  const r = await runCli(w.argv('--no-prompt'), w.env, 'y\n');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /FOO/);
  assert.doesNotMatch(r.stdout, /anvil ran/);
});

test('an approved env file runs the anvil and is remembered until it changes', async (t) => {
  const w = await workspace(t);
  const first = await runCli(w.argv(), w.env, 'y\n');
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /anvil ran/);
  const store = JSON.parse(await readFile(w.approvals, 'utf8'));
  assert.equal(store.envFiles.length, 1);

  const again = await runCli(w.argv('--no-prompt'), w.env, '');
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /anvil ran/);
  assert.doesNotMatch(again.stderr, /\[y\/N\]/);

  await writeFile(w.envFile, 'FOO=changed\n');
  const changed = await runCli(w.argv('--no-prompt'), w.env, '');
  assert.equal(changed.status, 1, changed.stderr);
  assert.doesNotMatch(changed.stdout, /anvil ran/);
});

test('a workspace tong is refused without approval, before any Docker work', async (t) => {
  const w = await workspace(t);
  const tongDir = path.join(w.ws, '.tongs', 'tongs');
  await mkdir(tongDir, { recursive: true });
  await writeFile(
    path.join(tongDir, 'helper.yaml'),
    'image: helper:local\nenv:\n  TOKEN: ${secret:env:HOME}\ninterface:\n  kind: port\n  port: 9000\n',
  );
  const r = await runCli(
    ['run', '--workspace', w.ws, '--approvals', w.approvals, '--no-prompt', '--', 'docker', 'run', '--rm', 'anvil:local'],
    w.env,
    '',
  );
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /helper/);
  assert.match(r.stderr, /env:HOME/);
  assert.match(r.stderr, /helper:local/);
  // Refused before the runtime: no complaint about the (absent) engine.
  assert.doesNotMatch(r.stderr, /no-docker\.sock|Docker engine/i);
});

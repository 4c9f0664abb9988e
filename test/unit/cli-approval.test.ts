/**
 * First-run approval through the CLI, black box (issue #6 "First-run approval"): the workspace
 * `.tongs/env` file the anvil argv passes is gated like a workspace tong — summary on stderr, a
 * `[y/N]` question on stdin, EOF and `--no-prompt` refuse with exit 1 before the anvil runs, and an
 * approval is remembered until the file changes. Workspace tongs are refused the same way before any
 * Docker work (no engine exists in these tests).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, tempDir, unreachableDockerHost, type AfterHook } from '../support/process.js';

async function workspace(t: AfterHook) {
  const dir = await tempDir(t, 'tongs-approval-');
  const ws = path.join(dir, 'project');
  await mkdir(path.join(ws, '.tongs'), { recursive: true });
  const envFile = path.join(ws, '.tongs', 'env');
  await writeFile(envFile, 'FOO=bar\n');
  const approvals = path.join(dir, 'approvals.json');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TONGS_HOME: path.join(dir, 'home'),
    DOCKER_HOST: unreachableDockerHost(dir),
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
  const r = await runCli(w.argv(), { env: w.env, input: '' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /\.tongs\/env/);
  assert.match(r.stderr, /\[y\/N\]/);
  assert.doesNotMatch(r.stdout, /anvil ran/);
});

test('--no-prompt prints the summary and refuses', async (t) => {
  const w = await workspace(t);
  const r = await runCli(w.argv('--no-prompt'), { env: w.env, input: 'y\n' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /FOO/);
  assert.doesNotMatch(r.stdout, /anvil ran/);
});

test('an approved env file runs the anvil and is remembered until it changes', async (t) => {
  const w = await workspace(t);
  const first = await runCli(w.argv(), { env: w.env, input: 'y\n' });
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /anvil ran/);
  const store = JSON.parse(await readFile(w.approvals, 'utf8'));
  assert.equal(store.envFiles.length, 1);

  const again = await runCli(w.argv('--no-prompt'), { env: w.env, input: '' });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /anvil ran/);
  assert.doesNotMatch(again.stderr, /\[y\/N\]/);

  await writeFile(w.envFile, 'FOO=changed\n');
  const changed = await runCli(w.argv('--no-prompt'), { env: w.env, input: '' });
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
    { env: w.env, input: '' },
  );
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /helper/);
  assert.match(r.stderr, /env:HOME/);
  assert.match(r.stderr, /helper:local/);
  // Refused before the runtime: no complaint about the (absent) engine.
  assert.doesNotMatch(r.stderr, /no-docker\.sock|Docker engine/i);
});

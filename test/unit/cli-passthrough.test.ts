/**
 * The passthrough invariant, black box (DESIGN.md "Passthrough invariant", issue #2 item 7): with no
 * tong in any layer, `node dist/launcher/cli.js run -- <argv>` runs argv byte for byte, passes stdio
 * and the exit status through, forwards SIGINT/SIGTERM/SIGHUP, exits 127 when the command cannot be
 * executed and 2 on a usage error — and never needs a Docker engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import path from 'node:path';
import {
  CLI,
  REPO_ROOT,
  runCli,
  runProcess,
  startProcess,
  tempDir,
  unreachableDockerHost,
  type AfterHook,
  type ProcessResult,
} from '../support/process.js';

const RECORDER = path.join(REPO_ROOT, 'test', 'fixtures', 'core-passthrough', 'record-argv.mjs');

/** A scratch dir per test: an empty TONGS_HOME (no user layer) and a record file. */
async function scratch(t: AfterHook) {
  const dir = await tempDir(t, 'tongs-pt-');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TONGS_HOME: path.join(dir, 'home'),
    RECORD_FILE: path.join(dir, 'record.json'),
    // No engine exists here: a passthrough must not care.
    DOCKER_HOST: unreachableDockerHost(dir),
  };
  return { dir, env, record: () => readFile(path.join(dir, 'record.json'), 'utf8') };
}

const AWKWARD_ARGS = [
  'two words',
  '',
  "it's \"quoted\"",
  'line one\nline two\n',
  'tab\there',
  'non-ASCII: héllo wörld — 日本語 🚀',
  '$HOME',
  '${HOME}',
  '`whoami`',
  '*',
  'back\\slash',
  '--',
  '--harness',
  '-h',
  '--help',
  ' leading and trailing ',
];

test('run: argv reaches the command byte for byte, the same as running it directly', async (t) => {
  const s = await scratch(t);
  const direct = await runProcess(RECORDER, AWKWARD_ARGS, { env: s.env });
  assert.equal(direct.status, 0);
  const directRecord = await s.record();
  await rm(path.join(s.dir, 'record.json'));
  const viaTongs = await runCli(['run', '--', RECORDER, ...AWKWARD_ARGS], { env: s.env });
  assert.equal(viaTongs.status, 0, viaTongs.stderr);
  assert.equal(viaTongs.stderr, '', 'a passthrough prints nothing of its own');
  const record = await s.record();
  assert.equal(record, directRecord);
  assert.deepEqual(JSON.parse(record), AWKWARD_ARGS);
});

test('run: everything after the first `--` is the command, a second `--` included', async (t) => {
  const s = await scratch(t);
  const result = await runCli(['run', '--', RECORDER, 'a', '--', '--quiet', 'run', '--'], { env: s.env });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(await s.record()), ['a', '--', '--quiet', 'run', '--']);
});

test('run: a `docker run` argv reaches a recording docker on PATH unchanged, with no engine reachable', async (t) => {
  const s = await scratch(t);
  const bin = path.join(s.dir, 'bin');
  await mkdir(bin);
  await symlink(RECORDER, path.join(bin, 'docker'));
  const argv = ['run', '--rm', '-it', '--name', 'anvil', '-v', `${s.dir}:/workspace`, 'tongs-anvil:local', '-p', 'fix the bug in "main.ts"', '--', 'x'];
  const result = await runCli(['run', '--harness', 'claude', '--', 'docker', ...argv], { env: { ...s.env, PATH: `${bin}:${process.env.PATH}` } });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, '');
  assert.deepEqual(JSON.parse(await s.record()), argv);
});

test('run: the exit status passes through', async (t) => {
  const s = await scratch(t);
  for (const code of [0, 1, 3, 42, 255]) {
    const result = await runCli(['run', '--', RECORDER, 'x'], { env: { ...s.env, EXIT_CODE: String(code) } });
    assert.equal(result.status, code);
  }
});

test('run: stdin and stdout are inherited', async (t) => {
  const s = await scratch(t);
  const input = 'some input\nwith two lines, ünïcödé\n';
  const result = await runCli(['run', '--', 'cat'], { env: s.env, input });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, input);
  const err = await runCli(['run', '--', 'sh', '-c', 'echo to-stderr >&2; echo to-stdout'], { env: s.env });
  assert.equal(err.stdout, 'to-stdout\n');
  assert.equal(err.stderr, 'to-stderr\n');
});

test('run: 127 when the command does not exist or cannot be executed', async (t) => {
  const s = await scratch(t);
  const missing = await runCli(['run', '--', 'tongs-no-such-command-xyz', 'a'], { env: s.env });
  assert.equal(missing.status, 127);
  assert.match(missing.stderr, /^tongs: cannot execute "tongs-no-such-command-xyz": command not found\n/);
  const notExecutable = path.join(s.dir, 'not-executable');
  await writeFile(notExecutable, '#!/bin/sh\necho hi\n');
  await chmod(notExecutable, 0o644);
  const denied = await runCli(['run', '--', notExecutable], { env: s.env });
  assert.equal(denied.status, 127);
  assert.match(denied.stderr, /^tongs: cannot execute .*not-executable": permission denied\n/);
});

test('run: usage errors exit 2 with a tongs: message', async (t) => {
  const s = await scratch(t);
  const cases: [string[], RegExp][] = [
    [['run', 'true'], /unexpected argument 'true' before `--`/],
    [['run'], /needs the anvil command after `--`/],
    [['run', '--'], /no anvil command after `--`/],
    [['run', '--bogus', '--', 'true'], /Unknown option '--bogus'/],
    [['run', '--json', '--', 'true'], /tongs run does not take --json/],
    [['fly', '--', 'true'], /unknown command 'fly'/],
    [[], /no command given/],
  ];
  for (const [args, pattern] of cases) {
    const result = await runCli(args, { env: s.env });
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, pattern);
    for (const line of result.stderr.trimEnd().split('\n')) assert.match(line, /^tongs: /);
    assert.equal(result.stdout, '');
  }
});

/** Start `tongs run -- sh -c <script>`, wait for the child's "ready" line, send `signal` to tongs. */
async function signalled(env: NodeJS.ProcessEnv, script: string, signal: NodeJS.Signals): Promise<ProcessResult> {
  const p = startProcess(process.execPath, [CLI, 'run', '--', 'sh', '-c', script], { env });
  await p.waitFor(/ready/);
  p.child.kill(signal);
  return p.done;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  test(`run: ${signal} is forwarded; a child it kills makes tongs exit 128+${constants.signals[signal]}`, async (t) => {
    const s = await scratch(t);
    const result = await signalled(s.env, 'echo ready; exec sleep 30', signal);
    assert.equal(result.signal, null, 'tongs itself is not killed by the signal');
    assert.equal(result.status, 128 + constants.signals[signal]);
  });

  test(`run: ${signal} is forwarded to a child that handles it; tongs waits and exits with its status`, async (t) => {
    const s = await scratch(t);
    const trapName = signal.replace(/^SIG/, '');
    const result = await signalled(s.env, `trap 'echo got-${trapName}; exit 42' ${trapName}; echo ready; while :; do sleep 0.05; done`, signal);
    assert.equal(result.status, 42);
    assert.match(result.stdout, new RegExp(`got-${trapName}`));
  });
}

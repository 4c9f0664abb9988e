/**
 * Secret delivery without Docker (issue #6 "Delivery"): the wrapper and delivery scripts run for real
 * under the host's /bin/sh (dash here) and busybox sh, against a temp dir standing in for the tmpfs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { SecretError } from '../../launcher/errors.js';
import {
  DELIVERY_EXEC_ARGV,
  SECRET_DIR,
  SECRET_TMPFS,
  WRAPPER_NAME,
  deliverSecrets,
  deliveryScript,
  encodePayload,
  originalArgv,
  shSingleQuote,
  wrapCommand,
  wrapperScript,
  type ExecWithStdin,
} from '../../launcher/shell/apply/secret-delivery.js';
import { startProcess, tempDir, type StartedProcess } from '../support/process.js';

/** Values that break naive quoting. */
const NASTY: Record<string, string> = {
  QUOTES: `it's "quoted" and 'single' and '\\'' too`,
  NEWLINES: 'line one\nline two\n\nlast with trailing newline\n',
  DOLLARS: '$HOME ${PATH} $(id) `id` $$ $1 $@',
  BACKSLASHES: '\\n \\t \\\\ \\',
  PERCENT: '%s %d %n %%',
  WHITESPACE: '  leading and trailing  \t',
  CARRIAGE: 'a\r\nb\r',
  UNICODE: 'héllo — 日本語 🔑',
  LOOKS_LIKE_MARKER: 'x\n__tongs_ok=1\nexport EVIL=1\n',
  EMPTY: '',
  CONTROL: '\u0001\u001b[31mred\u007f',
  LONG: 'x'.repeat(64 * 1024) + "'" + 'y'.repeat(1024),
};

/** Prints the named variables as JSON (null when unset), so the test sees what the main process got. */
const PRINT_ENV = `process.stdout.write(JSON.stringify(Object.fromEntries(process.argv.slice(1).map((k) => [k, process.env[k] ?? null]))))`;

const shells: Array<{ name: string; argv: string[] }> = [{ name: '/bin/sh', argv: ['/bin/sh'] }];
if (spawnSync('busybox', ['true']).status === 0) shells.push({ name: 'busybox sh', argv: ['busybox', 'sh'] });

/** Start `argv` with `stdin` written to it (then closed), collecting its output. */
function run(argv: string[], stdin?: Buffer, env: NodeJS.ProcessEnv = process.env): StartedProcess {
  const [cmd, ...args] = argv as [string, ...string[]];
  return startProcess(cmd, args, { env, input: stdin });
}

for (const shell of shells) {
  test(`${shell.name}: the wrapped process receives every value byte-exact and the payload file is gone`, async (t) => {
    const dir = await tempDir(t, 'tongs-secret-delivery-');
    const wrapped = wrapCommand([process.execPath, '-e', PRINT_ENV, ...Object.keys(NASTY), 'PLAIN']);
    // Replace /bin/sh by the shell under test and the tmpfs path by the temp dir.
    const argv = [...shell.argv, '-c', wrapperScript(dir), ...wrapped.entrypoint.slice(3), ...wrapped.command];
    const main = run(argv, undefined, { ...process.env, PLAIN: 'plain stays' });
    // Let the wrapper reach its wait loop first: the process must not start without its secrets.
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(main.child.exitCode, null, 'the wrapper waits for delivery');

    const delivery = await run([...shell.argv, '-c', deliveryScript(dir)], encodePayload(NASTY)).done;
    assert.equal(delivery.status, 0, delivery.stderr);
    assert.equal(delivery.stdout + delivery.stderr, '', 'delivery prints nothing');

    const result = await main.done;
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { ...NASTY, PLAIN: 'plain stays' });
    assert.deepEqual(await readdir(dir), ['ready'], 'the payload file was removed');
  });

  test(`${shell.name}: a payload cut short is refused by the delivery script and creates no marker`, async (t) => {
    const dir = await tempDir(t, 'tongs-secret-delivery-');
    const full = encodePayload({ TOKEN: 'abc\ndef' });
    const cut = full.subarray(0, full.length - 'ok=1\n'.length);
    const delivery = await run([...shell.argv, '-c', deliveryScript(dir)], cut).done;
    assert.equal(delivery.status, 5);
    assert.match(delivery.stderr, /cut short/);
    assert.doesNotMatch(delivery.stderr, /abc|def/);
    assert.deepEqual(await readdir(dir), ['payload']);
    assert.equal((await stat(path.join(dir, 'payload'))).size, 0, 'the partial payload is truncated');
  });

  test(`${shell.name}: delivery completes at the completion line even when stdin is never closed`, async (t) => {
    const dir = await tempDir(t, 'tongs-secret-delivery-');
    const [cmd, ...args] = [...shell.argv, '-c', deliveryScript(dir)];
    const child = spawn(cmd!, args, { stdio: ['pipe', 'inherit', 'inherit'] });
    t.after(() => { child.kill(); });
    child.stdin.write(encodePayload({ A: 'x\ny' }));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
    assert.deepEqual((await readdir(dir)).sort(), ['payload', 'ready']);
  });

  test(`${shell.name}: a second delivery is refused, and the payload file is private`, async (t) => {
    const dir = await tempDir(t, 'tongs-secret-delivery-');
    const first = await run([...shell.argv, '-c', deliveryScript(dir)], encodePayload({ A: '1' })).done;
    assert.equal(first.status, 0, first.stderr);
    assert.equal((await stat(path.join(dir, 'payload'))).mode & 0o777, 0o600);
    const second = await run([...shell.argv, '-c', deliveryScript(dir)], encodePayload({ A: '2' })).done;
    assert.equal(second.status, 4);
    assert.match(second.stderr, /already delivered/);
  });

  test(`${shell.name}: the wrapper refuses a payload without the completion line`, async (t) => {
    const dir = await tempDir(t, 'tongs-secret-delivery-');
    // Bypass the delivery script's own check to prove the wrapper checks too.
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(dir, 'payload'), "export A='1'\n");
    await writeFile(path.join(dir, 'ready'), '');
    const result = await run([...shell.argv, '-c', wrapperScript(dir), WRAPPER_NAME, process.execPath, '-e', 'console.log("started")']).done;
    assert.equal(result.status, 70);
    assert.match(result.stderr, /incomplete/);
    assert.doesNotMatch(result.stdout, /started/);
  });

  test(`${shell.name}: SIGTERM ends a wrapper still waiting for delivery`, async (t) => {
    const dir = await tempDir(t, 'tongs-secret-delivery-');
    const main = run([...shell.argv, '-c', wrapperScript(dir), WRAPPER_NAME, 'true']);
    await new Promise((r) => setTimeout(r, 100));
    main.child.kill('SIGTERM');
    const result = await main.done;
    assert.ok(result.status === 143 || main.child.signalCode === 'SIGTERM', `exit ${result.status}`);
  });
}

test('the scripts need no program but the shell: they run with an empty PATH', async (t) => {
  const dir = await tempDir(t, 'tongs-secret-delivery-');
  const env = { PATH: '/nonexistent' };
  const main = run(['/bin/sh', '-c', wrapperScript(dir), WRAPPER_NAME, process.execPath, '-e', PRINT_ENV, 'TOKEN'], undefined, env);
  const delivery = await run(['/bin/sh', '-c', deliveryScript(dir)], encodePayload({ TOKEN: "t'o$k\nen" }), env).done;
  assert.equal(delivery.status, 0, delivery.stderr);
  const result = await main.done;
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { TOKEN: "t'o$k\nen" });
});

test('wrapCommand keeps the original argv verbatim as the command and puts no value in argv', () => {
  const wrapped = wrapCommand(['node', 'dist/main.js', '--flag=$x', "it's"]);
  assert.deepEqual(wrapped.entrypoint.slice(0, 2), ['/bin/sh', '-c']);
  assert.equal(wrapped.entrypoint[3], WRAPPER_NAME);
  assert.deepEqual(wrapped.command, ['node', 'dist/main.js', '--flag=$x', "it's"]);
  assert.ok(wrapped.entrypoint[2]!.includes(SECRET_DIR));
  assert.throws(() => wrapCommand([]), SecretError);
});

test('originalArgv follows Docker: definition entrypoint drops the image CMD; command replaces CMD', () => {
  const image = { entrypoint: ['/usr/bin/tini', '--'], command: ['node', 'main.js'] };
  assert.deepEqual(originalArgv({ entrypoint: null, command: null }, image), ['/usr/bin/tini', '--', 'node', 'main.js']);
  assert.deepEqual(originalArgv({ entrypoint: null, command: ['serve'] }, image), ['/usr/bin/tini', '--', 'serve']);
  assert.deepEqual(originalArgv({ entrypoint: ['/app'], command: null }, image), ['/app']);
  assert.deepEqual(originalArgv({ entrypoint: ['/app'], command: ['-v'] }, image), ['/app', '-v']);
  assert.deepEqual(originalArgv({ entrypoint: [], command: null }, image), ['/usr/bin/tini', '--', 'node', 'main.js']);
  assert.deepEqual(originalArgv({ entrypoint: null, command: null }, { entrypoint: null, command: ['sh'] }), ['sh']);
});

test('encodePayload: one export line per variable, then the completion line', () => {
  assert.equal(
    encodePayload({ A: "x'y", B: '', C: 'one\ntwo' }).toString('utf8'),
    `export A='x'\\''y'\nexport B=''\nexport C='one'"$__tongs_nl"'two'\n__tongs_ok=1\n`,
  );
  const lines = encodePayload(NASTY).toString('utf8').split('\n');
  assert.equal(lines.length, Object.keys(NASTY).length + 2, 'a value never spans lines');
  assert.equal(shSingleQuote("'"), `''\\'''`);
  assert.throws(() => encodePayload({ 'BAD-NAME': 'v' }), (e: Error) => e instanceof SecretError && /BAD-NAME/.test(e.message));
  assert.throws(() => encodePayload({ '1X': 'v' }), SecretError);
  assert.throws(() => encodePayload({ __tongs_ok: '1' }), SecretError);
  assert.throws(
    () => encodePayload({ TOKEN: 'zqx\0vw' }),
    (e: Error) => e instanceof SecretError && /TOKEN/.test(e.message) && !e.message.includes('zqx'),
  );
});

test('deliverSecrets execs the fixed delivery argv with the payload on stdin', async () => {
  const calls: Array<{ id: string; argv: string[]; stdin: Buffer }> = [];
  const exec: ExecWithStdin = async (id, argv, stdin) => {
    calls.push({ id, argv, stdin });
    return { exitCode: 0, output: '' };
  };
  await deliverSecrets(exec, 'abc123', { TOKEN: 's3cret' });
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]!.argv, [...DELIVERY_EXEC_ARGV]);
  assert.ok(!calls[0]!.argv.join(' ').includes('s3cret'), 'the value is never in argv');
  assert.deepEqual(calls[0]!.stdin, encodePayload({ TOKEN: 's3cret' }));
});

test('deliverSecrets turns a failed exec into a SecretError naming the tong', async () => {
  await assert.rejects(
    deliverSecrets(async () => ({ exitCode: 3, output: 'tongs: /run/tongs-secrets is missing or not writable\n' }), 'c1', { A: 'v' }, "tong 'github'"),
    (e: Error) => e instanceof SecretError && /tong 'github'/.test(e.message) && /exit status 3/.test(e.message) && /not writable/.test(e.message),
  );
  await assert.rejects(
    deliverSecrets(async () => { throw new Error('no such container'); }, 'c1', { A: 'v' }),
    (e: Error) => e instanceof SecretError && /no such container/.test(e.message),
  );
});

test('SECRET_TMPFS is a sticky, world-writable tmpfs at the secret dir', () => {
  assert.deepEqual(SECRET_TMPFS, { type: 'tmpfs', target: '/run/tongs-secrets', sizeBytes: 4 * 1024 * 1024, mode: 0o1777 });
});

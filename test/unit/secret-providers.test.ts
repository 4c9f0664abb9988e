/** Secret providers: the providers file, the `env` provider, command providers and their errors (issue #6 "Providers"). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SecretError } from '../../launcher/errors.js';
import type { PlannedTong } from '../../launcher/core/plan-types.js';
import {
  createResolveSecrets,
  createSecretResolver,
  defaultProvidersPath,
  type ProviderCommandResult,
} from '../../launcher/shell/gather/secret-providers.js';
import { loadProviders, parseProvidersFile } from '../../launcher/shell/gather/secret-providers-file.js';
import { REPO_ROOT, runProcess, tempDir, type AfterHook } from '../support/process.js';

const SECRET = 'v@lue-that-must-never-be-printed';

/** A planned tong with just what resolution reads. */
function tong(name: string, secretEnv: Record<string, string>): PlannedTong {
  return { name, secretEnv, env: {} } as PlannedTong;
}

/** A fake command runner that records argv and answers from a table. */
function fakeRun(answers: Record<string, ProviderCommandResult | Error>) {
  const calls: string[][] = [];
  const run = async (argv: readonly string[]) => {
    calls.push([...argv]);
    const answer = answers[argv.join(' ')];
    if (answer === undefined) throw new Error(`unexpected command ${argv.join(' ')}`);
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { calls, run };
}
const ok = (stdout: string): ProviderCommandResult => ({ exitCode: 0, signal: null, stdout: Buffer.from(stdout) });

test('providers file: valid table, {ref} kept for substitution', () => {
  const table = parseProvidersFile('providers:\n  op: [op, read, "{ref}"]\n  pass: [pass, show, "{ref}"]\n', 'p.yaml');
  assert.deepEqual([...table.entries()], [['op', ['op', 'read', '{ref}']], ['pass', ['pass', 'show', '{ref}']]]);
  assert.equal(parseProvidersFile('providers: {}\n', 'p.yaml').size, 0);
});

test('providers file: every problem is reported with file:line and field path', () => {
  const table: Array<{ name: string; yaml: string; errors: string[] }> = [
    { name: 'yaml syntax', yaml: 'providers:\n  op: [op, read\n', errors: ['p.yaml:3:'] },
    { name: 'unknown top-level key', yaml: 'providers: {}\nprovider: {}\n', errors: ['p.yaml:2: provider: Unrecognized key'] },
    {
      name: 'bad entries',
      yaml: 'providers:\n  op: []\n  pass: op read\n  env: [printenv, "{ref}"]\n  "b@d": [x]\n',
      errors: [
        'p.yaml:2: providers.op: expected a non-empty argv list',
        'p.yaml:3: providers.pass:',
        "p.yaml:4: providers.env: 'env' is the built-in provider",
        'p.yaml:5: providers.b@d: provider names start with a letter',
      ],
    },
    { name: 'missing providers', yaml: 'other: 1\n', errors: ['p.yaml:1:', 'providers'] },
  ];
  for (const { name, yaml, errors } of table) {
    assert.throws(
      () => parseProvidersFile(yaml, 'p.yaml'),
      (e: Error) => {
        assert.ok(e instanceof SecretError, name);
        for (const expected of errors) assert.ok(e.message.includes(expected), `${name}: '${expected}' in:\n${e.message}`);
        return true;
      },
    );
  }
});

test('loadProviders: a missing default file means none; a missing --providers file is an error', async (t) => {
  const dir = await tempDir(t, 'tongs-secret-providers-');
  assert.equal((await loadProviders(path.join(dir, 'absent.yaml'), false)).size, 0);
  await assert.rejects(loadProviders(path.join(dir, 'absent.yaml'), true), (e: Error) => e instanceof SecretError && /absent\.yaml/.test(e.message));
  const file = path.join(dir, 'secret-providers.yaml');
  await writeFile(file, 'providers:\n  op: [op, read, "{ref}"]\n');
  assert.deepEqual([...(await loadProviders(file, false)).keys()], ['op']);
  assert.equal(defaultProvidersPath({ TONGS_HOME: dir }), file);
  assert.equal(defaultProvidersPath({ HOME: '/h' }).endsWith(path.join('.tongs', 'secret-providers.yaml')), true);
});

test('env provider: reads the launcher environment; missing is an error unless optional', async () => {
  const resolver = createSecretResolver({ providers: new Map(), env: { GITHUB_TOKEN: SECRET } });
  assert.deepEqual(
    await resolver.resolveEnv({
      GITHUB_TOKEN: '${secret:env:GITHUB_TOKEN}',
      AUTH: 'Bearer ${secret:env:GITHUB_TOKEN}',
      OPT: '${secret:env:ABSENT?}',
      LITERAL: 'minted-mcp-token',
    }),
    { GITHUB_TOKEN: SECRET, AUTH: `Bearer ${SECRET}`, OPT: '', LITERAL: 'minted-mcp-token' },
  );
  await assert.rejects(
    resolver.resolveEnv({ T: '${secret:env:ABSENT}' }, "tong 'github'"),
    (e: Error) =>
      e instanceof SecretError &&
      e.message.includes("provider 'env', reference 'ABSENT'") &&
      e.message.includes('not set') &&
      e.message.includes('${secret:env:ABSENT?}'),
  );
});

test('command providers: {ref} substituted in any element, exactly one trailing newline stripped', async () => {
  const { calls, run } = fakeRun({
    'op read op://Work/gh/token': ok(`${SECRET}\n`),
    'vault kv get -field=x:y/z': ok('two\n\n'),
    'raw --ref=a:b': ok('no newline'),
  });
  const resolver = createSecretResolver({
    providers: new Map([
      ['op', ['op', 'read', '{ref}']],
      ['vault', ['vault', 'kv', 'get', '-field={ref}']],
      ['raw', ['raw', '--ref={ref}']],
    ]),
    run,
    env: {},
  });
  assert.deepEqual(
    await resolver.resolveEnv({
      A: 'Bearer ${secret:op:op://Work/gh/token}',
      B: '${secret:vault:x:y/z}',
      C: '${secret:raw:a:b}',
    }),
    { A: `Bearer ${SECRET}`, B: 'two\n', C: 'no newline' },
  );
  assert.equal(calls.length, 3);
});

test('each reference is resolved once per launch, across variables and tongs', async (t) => {
  const { calls, run } = fakeRun({ 'op read op://x': ok('tok\n'), 'op read op://y': ok('other\n') });
  const resolve = createResolveSecrets({ env: {}, run, providersPath: await providersFile(t, 'providers:\n  op: [op, read, "{ref}"]\n') });
  const out = await resolve([
    tong('a', { T: '${secret:op:op://x}', U: '${secret:op:op://x}-${secret:op:op://x}' }),
    tong('b', { T: '${secret:op:op://x}', V: '${secret:op:op://y}' }),
  ]);
  assert.deepEqual(Object.fromEntries(out), { a: { T: 'tok', U: 'tok-tok' }, b: { T: 'tok', V: 'other' } });
  assert.deepEqual(calls, [['op', 'read', 'op://x'], ['op', 'read', 'op://y']]);
});

/** A providers file holding `text`, in a temp dir removed after the test. */
async function providersFile(t: AfterHook, text: string): Promise<string> {
  const file = path.join(await tempDir(t, 'tongs-secret-providers-'), 'secret-providers.yaml');
  await writeFile(file, text);
  return file;
}

test('errors name provider and reference, never the value', async () => {
  const { run } = fakeRun({
    'fails x': { exitCode: 3, signal: null, stdout: Buffer.from(SECRET) },
    'killed x': { exitCode: null, signal: 'SIGKILL', stdout: Buffer.from(SECRET) },
    'missing x': Object.assign(new Error('spawn missing ENOENT'), { code: 'ENOENT' }),
    'nul x': ok(`${SECRET}\0tail`),
  });
  const providers = new Map([
    ['fails', ['fails', '{ref}']],
    ['killed', ['killed', '{ref}']],
    ['missing', ['missing', '{ref}']],
    ['nul', ['nul', '{ref}']],
  ]);
  const cases: Array<[string, RegExp]> = [
    ['${secret:fails:x}', /provider 'fails', reference 'x': command 'fails' exited with status 3/],
    ['${secret:killed:x}', /provider 'killed', reference 'x': command 'killed' was killed by SIGKILL/],
    ['${secret:missing:x}', /provider 'missing', reference 'x': command 'missing' not found/],
    ['${secret:nul:x}', /provider 'nul', reference 'x': the value contains a NUL byte/],
    ['${secret:nope:some/ref}', /unknown secret provider 'nope' \(reference 'some\/ref'\); known providers: env, fails, killed, missing, nul/],
  ];
  for (const [template, message] of cases) {
    const resolver = createSecretResolver({ providers, run, env: {} });
    await assert.rejects(resolver.resolveEnv({ T: template }), (e: Error) => {
      assert.ok(e instanceof SecretError);
      assert.match(e.message, message);
      assert.ok(!e.message.includes(SECRET), 'no value in the message');
      return true;
    });
  }
});

test('an unknown provider anywhere stops the launch before any command runs', async (t) => {
  const { calls, run } = fakeRun({ 'op read op://x': ok('tok') });
  const resolve = createResolveSecrets({ env: {}, run, providersPath: await providersFile(t, 'providers:\n  op: [op, read, "{ref}"]\n') });
  await assert.rejects(
    resolve([tong('first', { T: '${secret:op:op://x}' }), tong('second', { U: '${secret:gpg:k}' })]),
    (e: Error) => e instanceof SecretError && /tong 'second': unknown secret provider 'gpg'/.test(e.message),
  );
  assert.deepEqual(calls, []);
});

test('the providers file is read only when a command provider is needed', async (t) => {
  const dir = await tempDir(t, 'tongs-secret-providers-');
  const broken = path.join(dir, 'broken.yaml');
  await writeFile(broken, 'providers: [\n');
  const resolve = createResolveSecrets({ env: { T: 'x' }, providersPath: broken });
  assert.deepEqual(Object.fromEntries(await resolve([tong('a', { T: '${secret:env:T}' })])), { a: { T: 'x' } });
  const resolve2 = createResolveSecrets({ env: {}, providersPath: broken });
  await assert.rejects(resolve2([tong('a', { T: '${secret:op:x}' })]), (e: Error) => e instanceof SecretError && /broken\.yaml:2/.test(e.message));
});

test('a real command provider gets the terminal stdin and stderr; only its stdout is the value', async (t) => {
  // Run the resolver in a child whose stdin/stderr stand in for the user's terminal.
  const dir = await tempDir(t, 'tongs-secret-providers-');
  const file = path.join(dir, 'secret-providers.yaml');
  await writeFile(
    file,
    'providers:\n  ask: [/bin/sh, -c, \'echo "unlock {ref}:" >&2; IFS= read -r pin; printf "%s-%s\\n\\n" "$pin" "$1"\', sh, "{ref}"]\n',
  );
  const script = `
    import { createResolveSecrets } from ${JSON.stringify(path.join(REPO_ROOT, 'dist/launcher/shell/gather/secret-providers.js'))};
    const out = await createResolveSecrets({ env: { TONGS_HOME: ${JSON.stringify(dir)} } })([{ name: 'x', env: {}, secretEnv: { T: '<\${secret:ask:vault/item}>' } }]);
    process.stdout.write(JSON.stringify(out.get('x')));
  `;
  const { status, stdout, stderr } = await runProcess(process.execPath, ['--input-type=module', '-e', script], { input: '1234\n' });
  assert.equal(status, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), { T: '<1234-vault/item\n>' });
  assert.equal(stderr, 'unlock vault/item:\n', 'the prompt went to the terminal, not into the value');
});

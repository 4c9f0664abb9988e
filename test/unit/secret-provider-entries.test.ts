/**
 * Per-reference provider overrides (issue #13 item 4): long-form entries of secret-providers.yaml
 * (`{ use, argv, env }`), referenced by name; their problems, and references to entries that do
 * not exist, reported with the file and line; and through the CLI, `tongs validate` and `tongs run`
 * with a command provider script and two entries with different argv.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SecretError } from '../../launcher/errors.js';
import type { PlannedTong } from '../../launcher/core/plan-types.js';
import { envValueLine } from '../../launcher/core/secret-ref-lines.js';
import { createResolveSecrets, createSecretResolver, type ProviderCommandResult } from '../../launcher/shell/gather/secret-providers.js';
import { parseProvidersFile } from '../../launcher/shell/gather/secret-providers-file.js';
import { unknownProviderProblems } from '../../launcher/shell/gather/secret-ref-location.js';
import { runCli, tempDir } from '../support/process.js';

const FILE = `providers:
  op: [op, read, "{ref}"]
  op-work:
    use: op
    env: { OP_ACCOUNT: work.example.com }
  op-eu:
    use: op
    argv: [op, read, --account, my.example.eu, "{ref}"]
  pass: { argv: [pass, show, "{ref}"], env: { PASSWORD_STORE_DIR: /s } }
`;

test('long-form entries: argv and env from the used entry, their own over it; the short form stays an argv', () => {
  const table = parseProvidersFile(FILE, 'p.yaml');
  assert.deepEqual(Object.fromEntries(table), {
    op: ['op', 'read', '{ref}'],
    'op-work': { argv: ['op', 'read', '{ref}'], env: { OP_ACCOUNT: 'work.example.com' }, use: 'op' },
    'op-eu': { argv: ['op', 'read', '--account', 'my.example.eu', '{ref}'], use: 'op' },
    pass: { argv: ['pass', 'show', '{ref}'], env: { PASSWORD_STORE_DIR: '/s' } },
  });
  const inherited = parseProvidersFile(`${FILE}  pass-2: { use: pass, env: { X: "1" } }\n`, 'p.yaml');
  assert.deepEqual(inherited.get('pass-2'), { argv: ['pass', 'show', '{ref}'], env: { PASSWORD_STORE_DIR: '/s', X: '1' }, use: 'pass' });
});

test('long-form entries: every problem with file:line and field, an unknown or chained use at its own line', () => {
  const table: Array<{ name: string; yaml: string; errors: string[] }> = [
    {
      name: 'use problems',
      yaml: 'providers:\n  op: [op, read, "{ref}"]\n  a:\n    use: opp\n  b: { use: env }\n  c: { use: c }\n  d: { use: a }\n',
      errors: [
        "p.yaml:4: providers.a.use: unknown provider entry 'opp'; this file declares: op, b, c, d",
        "p.yaml:5: providers.b.use: 'env' is the built-in provider, which runs no command",
        'p.yaml:6: providers.c.use: an entry cannot use itself',
        "p.yaml:7: providers.d.use: 'a' itself uses 'opp'; name that entry instead",
      ],
    },
    {
      name: 'shape problems',
      yaml: 'providers:\n  a: { env: { X: "1" } }\n  b: { use: op, argv: [] }\n  c: { use: op, acount: x }\n  d: { use: op, env: { "1X": y } }\n  op: []\n',
      errors: [
        'p.yaml:2: providers.a: an entry needs argv, or use: naming the entry it varies',
        'p.yaml:3: providers.b.argv: expected a non-empty argv list',
        'p.yaml:4: providers.c.acount: Unrecognized key: "acount"',
        'p.yaml:5: providers.d.env',
        'p.yaml:6: providers.op: expected a non-empty argv list',
      ],
    },
  ];
  for (const { name, yaml, errors } of table) {
    assert.throws(
      () => parseProvidersFile(yaml, 'p.yaml'),
      (e: Error) => {
        assert.ok(e instanceof SecretError, name);
        for (const want of errors) assert.ok(e.message.includes(want), `${name}: ${want}\n--- got:\n${e.message}`);
        return true;
      },
    );
  }
});

test('the resolver runs an entry with its own argv and environment', async () => {
  const calls: Array<{ argv: string[]; env?: Readonly<Record<string, string>> }> = [];
  const run = async (argv: readonly string[], env?: Readonly<Record<string, string>>): Promise<ProviderCommandResult> => {
    calls.push({ argv: [...argv], ...(env ? { env } : {}) });
    return { exitCode: 0, signal: null, stdout: Buffer.from(`${argv.join(' ')}|${env?.OP_ACCOUNT ?? '-'}\n`) };
  };
  const resolver = createSecretResolver({ providers: parseProvidersFile(FILE, 'p.yaml'), run, env: {} });
  const out = await resolver.resolveEnv({ A: '${secret:op:op://V/i/f}', B: '${secret:op-work:op://V/i/f}', C: '${secret:op-eu:op://V/i/f}' });
  assert.deepEqual(out, {
    A: 'op read op://V/i/f|-',
    B: 'op read op://V/i/f|work.example.com',
    C: 'op read --account my.example.eu op://V/i/f|-',
  });
  assert.equal(calls.length, 3, 'the same reference through two entries is two resolutions');
});

test('an unknown provider entry is refused with the definition file and line, before any command runs', async (t) => {
  const dir = await tempDir(t, 'tongs-entries-');
  const file = path.join(dir, 'db.yaml');
  await writeFile(file, 'image: x:local\nenv:\n  PLAIN: "1"\n  DSN: postgres://u:${secret:op-wrok:op://V/db/pw}@db/x\n  OK: ${secret:op-work:op://V/a}\ninterface: { kind: none }\n');
  assert.equal(envValueLine('env:\n  A: 1\n  B: |\n    x\n', 'B'), 3);
  assert.equal(envValueLine('env: {}\n', 'B'), null);
  const resolver = createSecretResolver({ providers: parseProvidersFile(FILE, 'p.yaml'), env: {} });
  const secretEnv = { DSN: 'postgres://u:${secret:op-wrok:op://V/db/pw}@db/x', OK: '${secret:op-work:op://V/a}' };
  const problems = await unknownProviderProblems([{ name: 'db', file, secretEnv }], resolver, dir);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^db\.yaml:4: env\.DSN: tong 'db': unknown secret provider 'op-wrok' \(reference 'op:\/\/V\/db\/pw'\); known providers: env, op, op-work, op-eu, pass/);

  let ran = 0;
  const resolve = createResolveSecrets({ providersPath: path.join(dir, 'p.yaml'), env: {}, run: async () => (ran++, { exitCode: 0, signal: null, stdout: Buffer.from('') }) });
  await writeFile(path.join(dir, 'p.yaml'), FILE);
  await assert.rejects(
    resolve([{ name: 'db', file, secretEnv, env: {} } as unknown as PlannedTong]),
    (e: Error) => e instanceof SecretError && /db\.yaml:4: env\.DSN: tong 'db': unknown secret provider 'op-wrok'/.test(e.message),
  );
  assert.equal(ran, 0, 'no provider command ran');
});

test('through the CLI: tongs validate names the file and line of an unknown entry; each entry gives its own value', async (t) => {
  const dir = await tempDir(t, 'tongs-entries-cli-');
  const script = path.join(dir, 'vault.sh');
  // A command provider: prints which vault its argv named, the reference and the account its env gave.
  await writeFile(script, '#!/bin/sh\nvault=default\n[ "$1" = --vault ] && { vault=$2; shift 2; }\nprintf "%s|%s|%s\\n" "$vault" "$1" "${VAULT_ACCOUNT:-none}"\n');
  await chmod(script, 0o755);
  const providers = path.join(dir, 'providers.yaml');
  await writeFile(providers, `providers:\n  vault: [${script}, --vault, a, "{ref}"]\n  vault-b:\n    use: vault\n    argv: [${script}, --vault, b, "{ref}"]\n  vault-work: { use: vault, env: { VAULT_ACCOUNT: work } }\n`);
  const layer = path.join(dir, 'layer');
  await mkdir(layer);
  await writeFile(path.join(layer, 'db.yaml'), 'image: x:local\nenv:\n  A: ${secret:vault:item}\n  B: ${secret:vault-b:item}\n  C: ${secret:vault-typo:item}\ninterface: { kind: none }\n');
  const env = { ...process.env, TONGS_HOME: path.join(dir, 'home') };
  const bad = await runCli(['validate', '--user-tongs', layer, '--providers', providers], { env, cwd: dir });
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, /^tongs: layer\/db\.yaml:5: env\.C: tong 'db': unknown secret provider 'vault-typo' \(reference 'item'\); known providers: env, vault, vault-b, vault-work/m);
  assert.doesNotMatch(bad.stderr, /env\.[AB]:/);

  await writeFile(path.join(layer, 'db.yaml'), 'image: x:local\nenv:\n  A: ${secret:vault:item}\n  B: ${secret:vault-b:item}\n  C: ${secret:vault-work:item}\ninterface: { kind: none }\n');
  const good = await runCli(['validate', '--user-tongs', layer, '--providers', providers], { env, cwd: dir });
  assert.equal(good.status, 0, good.stderr);
  // What each entry's command gives, through the resolver `tongs run` uses.
  const resolve = createResolveSecrets({ providersPath: providers, env: {} });
  const values = await resolve([{ name: 'db', file: path.join(layer, 'db.yaml'), env: {}, secretEnv: { A: '${secret:vault:item}', B: '${secret:vault-b:item}', C: '${secret:vault-work:item}' } } as unknown as PlannedTong]);
  assert.deepEqual(values.get('db'), { A: 'a|item|none', B: 'b|item|none', C: 'a|item|work' });
});

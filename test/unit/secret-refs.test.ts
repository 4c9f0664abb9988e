/** `${secret:PROVIDER:REF}` parsing, rendering and listing (issue #6 "References"). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SecretError } from '../../launcher/errors.js';
import {
  checkSecretTemplate,
  hasSecretRef,
  listSecretRefs,
  parseSecretTemplate,
  renderSecretTemplate,
  type SecretRef,
} from '../../launcher/core/secret-refs.js';

const refsOf = (value: string) =>
  parseSecretTemplate(value).flatMap((p) => (p.kind === 'ref' ? [[p.ref.provider, p.ref.ref, p.ref.optional]] : []));

test('parses references anywhere in a value, several per value, REF with colons', () => {
  const cases: Array<{ value: string; refs: Array<[string, string, boolean]> }> = [
    { value: '${secret:env:GITHUB_TOKEN}', refs: [['env', 'GITHUB_TOKEN', false]] },
    { value: 'Bearer ${secret:op:op://Work/gh/token}', refs: [['op', 'op://Work/gh/token', false]] },
    { value: '${secret:vault:kv:secret/data/x:field}', refs: [['vault', 'kv:secret/data/x:field', false]] },
    {
      value: 'user=${secret:env:USER_NAME}&pass=${secret:pass:work/db}&end',
      refs: [['env', 'USER_NAME', false], ['pass', 'work/db', false]],
    },
    { value: '${secret:env:GITHUB_TOKEN?}', refs: [['env', 'GITHUB_TOKEN', true]] },
    // `?` is optional-syntax only for env; for others it belongs to the reference (1Password queries).
    { value: '${secret:op:op://v/i/f?attribute=otp}', refs: [['op', 'op://v/i/f?attribute=otp', false]] },
    { value: 'no references, ${HOME} and $secret:x stay text', refs: [] },
  ];
  for (const { value, refs } of cases) assert.deepEqual(refsOf(value), refs, value);
});

test('text around references is kept, in order', () => {
  assert.deepEqual(parseSecretTemplate('a${secret:env:X}b${secret:env:Y}'), [
    { kind: 'text', text: 'a' },
    { kind: 'ref', ref: { provider: 'env', ref: 'X', optional: false, source: '${secret:env:X}' } },
    { kind: 'text', text: 'b' },
    { kind: 'ref', ref: { provider: 'env', ref: 'Y', optional: false, source: '${secret:env:Y}' } },
  ]);
});

test('malformed references are SecretErrors that say what is wrong and where', () => {
  const table: Array<{ value: string; message: RegExp }> = [
    { value: 'Bearer ${secret:env:TOKEN', message: /unterminated secret reference '\$\{secret:env:TOKEN'/ },
    { value: '${secret:}', message: /has no provider/ },
    { value: '${secret:TOKEN}', message: /has no provider/ },
    { value: '${secret::ref}', message: /empty provider/ },
    { value: '${secret:env:}', message: /empty reference/ },
    { value: '${secret:env:?}', message: /empty reference/ },
    { value: '${secret:b@d:x}', message: /invalid provider name 'b@d'/ },
  ];
  for (const { value, message } of table) {
    assert.throws(
      () => parseSecretTemplate(value, "tong 'github' env TOKEN"),
      (e: Error) => e instanceof SecretError && message.test(e.message) && e.message.startsWith("tong 'github' env TOKEN: "),
      value,
    );
    assert.match(checkSecretTemplate(value) ?? '', message);
  }
  assert.equal(checkSecretTemplate('fine ${secret:env:X}'), null);
});

test('hasSecretRef marks secret-bearing values', () => {
  assert.equal(hasSecretRef('Bearer ${secret:env:T}'), true);
  assert.equal(hasSecretRef('info'), false);
  assert.equal(hasSecretRef('${HOME}'), false);
});

test('render substitutes resolved values verbatim, without rescanning them', () => {
  const parts = parseSecretTemplate('Bearer ${secret:op:op://a:b} / ${secret:env:X?}!');
  const values: Record<string, string> = { 'op://a:b': "t$k'${secret:env:Y}", X: '' };
  assert.equal(renderSecretTemplate(parts, (ref: SecretRef) => values[ref.ref]!), "Bearer t$k'${secret:env:Y} / !");
});

test('listSecretRefs lists distinct references of an env map, optional only if every use is', () => {
  const refs = listSecretRefs({
    PLAIN: 'x',
    A: '${secret:env:T?}',
    B: 'x ${secret:env:T} ${secret:op:op://v/i}',
    C: '${secret:op:op://v/i}',
    D: '${secret:env:OPT?}',
  });
  assert.deepEqual(
    refs.map((r) => [r.provider, r.ref, r.optional]),
    [['env', 'T', false], ['op', 'op://v/i', false], ['env', 'OPT', true]],
  );
  assert.throws(() => listSecretRefs({ BAD: '${secret:env:' }, "tong 'x'"), /tong 'x' env BAD: unterminated/);
});

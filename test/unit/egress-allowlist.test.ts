/**
 * The egress allowlist files (issue #11 item 2, "The allowlist"): the format's validation with
 * `<file>:<line>: <field>: <message>` problems (table-driven, STYLE.md "Tests"), the merge by layer
 * (union; workspace entries apart; `egress: open` only from a trusted file), the tong environment
 * it yields, the shell reader (missing = empty) and the JSON Schema golden.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  EGRESS_ENV,
  egressEntriesHash,
  egressJsonSchema,
  egressTongEnv,
  mergeEgress,
  parseEgressSource,
  parseEgressSources,
  summarizeEgressEntries,
  type EgressSource,
} from '../../launcher/core/egress.js';
import { readEgressSources, userEgressFile } from '../../launcher/shell/gather/egress-files.js';
import { readEgressConfig } from '../../sidecars/egress/src/config.js';
import { REPO_ROOT, tempDir } from '../support/process.js';

interface Case {
  name: string;
  yaml: string;
  layer?: EgressSource['layer'];
  /** Each entry: substrings that one problem line must all contain, in order. */
  errors: string[][];
  /** For valid cases: the canonical entries. */
  allow?: string[];
}

const cases: Case[] = [
  { name: 'empty file allows nothing', yaml: '', errors: [], allow: [] },
  { name: 'comments only', yaml: '# nothing yet\n', errors: [], allow: [] },
  { name: 'the documented example', yaml: 'allow:\n  - registry.npmjs.org\n  - "*.githubusercontent.com"\n  - api.example.com:8443\n', errors: [], allow: ['registry.npmjs.org', '*.githubusercontent.com', 'api.example.com:8443'] },
  { name: 'entries are canonicalised and deduplicated', yaml: 'allow: [Example.COM, example.com., "*.X.org"]\n', errors: [], allow: ['example.com', '*.x.org'] },
  { name: 'egress: open in the user file', yaml: 'egress: open\n', errors: [], allow: [] },
  { name: 'egress: allowlist is the explicit default', yaml: 'egress: allowlist\nallow: [a.com]\n', errors: [], allow: ['a.com'] },
  { name: 'yaml syntax error has file and line', yaml: 'allow: [a.com]\nallow: [b.com]\n', errors: [['egress.yaml:2:', '(yaml):', 'unique']] },
  { name: 'unknown key at its own line, accepted keys listed', yaml: 'allow: [a.com]\nalow: [b.com]\n', errors: [['egress.yaml:2:', 'alow: unknown key; accepted keys: allow, egress']] },
  { name: 'not a mapping', yaml: '- a.com\n', errors: [['egress.yaml:1:', '(root): expected a mapping with allow']] },
  { name: 'allow must be a list', yaml: 'allow: a.com\n', errors: [['egress.yaml:1:', 'allow: expected a list of host entries', 'got the string "a.com"']] },
  { name: 'an entry must be a string', yaml: 'allow:\n  - a.com\n  - 443\n', errors: [['egress.yaml:3:', 'allow[1]: expected a host entry', 'got number 443']] },
  {
    name: 'every bad entry at its own line',
    yaml: 'allow:\n  - ok.example\n  - https://x.example/\n  - "*"\n  - "y.example:99999"\n',
    errors: [
      ['egress.yaml:3:', 'allow[1]:', 'without scheme'],
      ['egress.yaml:4:', 'allow[2]:', 'egress: open'],
      ['egress.yaml:5:', 'allow[3]:', 'invalid port'],
    ],
  },
  { name: 'unknown egress mode', yaml: 'egress: closed\n', errors: [['egress.yaml:1:', 'egress: expected one of open, allowlist']] },
  { name: 'workspace may list hosts', layer: 'workspace', yaml: 'allow: [a.com]\n', errors: [], allow: ['a.com'] },
  { name: 'workspace cannot open egress', layer: 'workspace', yaml: 'allow: [a.com]\negress: open\n', errors: [['egress.yaml:2:', 'egress: a workspace file cannot open egress', 'your own egress.yaml']] },
  {
    name: 'workspace open and a bad entry: both reported, in line order',
    layer: 'workspace',
    yaml: 'egress: open\nallow: [a.com/x]\n',
    errors: [['egress.yaml:1:', 'egress: a workspace file cannot open egress'], ['egress.yaml:2:', 'allow[0]:']],
  },
];

for (const c of cases) {
  test(`allowlist file: ${c.name}`, () => {
    const result = parseEgressSource({ path: '/h/.tongs/egress.yaml', text: c.yaml, layer: c.layer ?? 'user' });
    if (c.errors.length === 0) {
      assert.ok('file' in result, `expected valid, got: ${'problems' in result ? result.problems.join('\n') : ''}`);
      assert.deepEqual(result.file.allow, c.allow);
      return;
    }
    assert.ok('problems' in result, 'expected problems');
    assert.equal(result.problems.length, c.errors.length, result.problems.join('\n'));
    result.problems.forEach((line, i) => {
      assert.ok(line.startsWith('/h/.tongs/egress.yaml:'), line);
      for (const part of c.errors[i]!) assert.ok(line.includes(part), `${JSON.stringify(line)} should contain ${JSON.stringify(part)}`);
    });
  });
}

const src = (layer: EgressSource['layer'], text: string, file = `/${layer}/egress.yaml`): EgressSource => ({ path: file, text, layer });

test('parseEgressSources reports the problems of every file at once', () => {
  const { files, problems } = parseEgressSources([src('user', 'allow: [a.com]\n'), src('org', 'allow: [bad/x]\n'), src('workspace', 'egress: open\n')]);
  assert.deepEqual(files.map((f) => f.path), ['/user/egress.yaml']);
  assert.equal(problems.length, 2);
  assert.match(problems[0]!, /^\/org\/egress\.yaml:1: allow\[0\]:/);
  assert.match(problems[1]!, /^\/workspace\/egress\.yaml:1: egress:/);
});

test('merge: trusted layers as a union, lowest first; workspace entries apart and not repeated', () => {
  const { files, problems } = parseEgressSources([
    src('workspace', 'allow: [a.com, w.example, "*.w.example", w.example.]\n'),
    src('org', 'allow: [b.com, a.com]\n'),
    src('user', 'allow: [a.com, c.com:8443]\n'),
  ]);
  assert.deepEqual(problems, []);
  const merged = mergeEgress(files);
  assert.deepEqual(merged, {
    allow: ['a.com', 'c.com:8443', 'b.com'],
    open: false,
    workspaceEntries: ['w.example', '*.w.example'],
    files: ['/user/egress.yaml', '/org/egress.yaml', '/workspace/egress.yaml'],
    userFile: '/user/egress.yaml',
  });
});

test('merge: egress open from the user file; the org file, being higher, decides when it says so', () => {
  const merge = (...sources: EgressSource[]) => {
    const { files, problems } = parseEgressSources(sources);
    assert.deepEqual(problems, []);
    return mergeEgress(files);
  };
  assert.equal(merge(src('user', 'egress: open\n')).open, true);
  assert.equal(merge(src('user', 'egress: open\n'), src('org', 'allow: [a.com]\n')).open, true);
  assert.equal(merge(src('user', 'egress: open\n'), src('org', 'egress: allowlist\n')).open, false);
  assert.equal(merge(src('user', ''), src('org', 'egress: open\n')).open, true);
  assert.equal(merge(src('user', ''), src('workspace', 'egress: allowlist\nallow: [x.com]\n')).open, false);
  assert.equal(merge().open, false);
  assert.equal(merge().userFile, null);
});

test('egressTongEnv: workspace entries only once approved; files one per line', () => {
  const list = mergeEgress(parseEgressSources([src('user', 'allow: [a.com, "*.b.com:8080"]\n'), src('workspace', 'allow: [w.com]\n')]).files);
  assert.deepEqual(egressTongEnv(list, { workspaceApproved: false }), {
    TONGS_EGRESS_ALLOW: 'a.com,*.b.com:8080',
    TONGS_EGRESS: 'allowlist',
    TONGS_EGRESS_FILES: '/user/egress.yaml\n/workspace/egress.yaml',
    TONGS_EGRESS_USER_FILE: '/user/egress.yaml',
  });
  assert.equal(egressTongEnv(list, { workspaceApproved: true })[EGRESS_ENV.allow], 'a.com,*.b.com:8080,w.com');
  assert.equal(egressTongEnv({ ...list, open: true }, { workspaceApproved: false })[EGRESS_ENV.mode], 'open');
});

test('workspace entries: an approval key that ignores order and duplicates, and a summary for the question', () => {
  assert.equal(egressEntriesHash(['b.com', 'a.com']), egressEntriesHash(['a.com', 'b.com', 'a.com']));
  assert.notEqual(egressEntriesHash(['a.com']), egressEntriesHash(['a.com', 'b.com']));
  assert.match(egressEntriesHash([]), /^[0-9a-f]{64}$/);
  assert.deepEqual(summarizeEgressEntries('/w/.tongs/egress.yaml', ['w.com', '*.x.org:8080']), [
    'workspace egress allowlist /w/.tongs/egress.yaml lets the anvil reach:',
    '  w.com',
    '  *.x.org:8080',
  ]);
  assert.deepEqual(summarizeEgressEntries('/w/\u001b[31m.yaml', []), ['workspace egress allowlist /w/\\e[31m.yaml lets the anvil reach:', '  (nothing)']);
});

test('the tong reads exactly what egressTongEnv writes', () => {
  const list = mergeEgress(parseEgressSources([src('user', 'allow: [a.com, "*.b.com:8080", "[::1]:9"]\n')]).files);
  const config = readEgressConfig(egressTongEnv(list, { workspaceApproved: false }));
  assert.deepEqual(config.problems, []);
  assert.deepEqual(config.entries.map((e) => e.text), ['a.com', '*.b.com:8080', '[::1]:9']);
  assert.equal(config.open, false);
  assert.equal(config.userFile, '/user/egress.yaml');
  assert.deepEqual(config.files, ['/user/egress.yaml']);
  assert.equal(config.port, 3128);
});

test('the tong config: JSON allow file, bad entries and a bad port are problems (it will not start)', () => {
  const files: Record<string, string> = { '/run/allow.json': '["x.com", "y.com:1"]', '/run/bad.json': '{"allow": []}' };
  const read = (f: string) => {
    const text = files[f];
    if (text === undefined) throw new Error(`ENOENT: ${f}`);
    return text;
  };
  const ok = readEgressConfig({ TONGS_EGRESS_ALLOW: 'a.com, ,b.com', TONGS_EGRESS_ALLOW_FILE: '/run/allow.json', PORT: '8000' }, read);
  assert.deepEqual(ok.problems, []);
  assert.deepEqual(ok.entries.map((e) => e.text), ['a.com', 'b.com', 'x.com', 'y.com:1']);
  assert.equal(ok.port, 8000);
  assert.equal(ok.userFile, '~/.tongs/egress.yaml');
  assert.equal(readEgressConfig({}).entries.length, 0);
  assert.equal(readEgressConfig({ TONGS_EGRESS: 'open' }).open, true);
  assert.equal(readEgressConfig({ TONGS_EGRESS: 'yes' }).open, false);
  assert.match(readEgressConfig({ TONGS_EGRESS_ALLOW: 'a.com/x' }).problems.join('\n'), /entry 1: "a\.com\/x"/);
  assert.match(readEgressConfig({ TONGS_EGRESS_ALLOW_FILE: '/run/bad.json' }, read).problems.join('\n'), /JSON list of strings/);
  assert.match(readEgressConfig({ TONGS_EGRESS_ALLOW_FILE: '/run/none.json' }, read).problems.join('\n'), /ENOENT/);
  assert.match(readEgressConfig({ PORT: 'x' }).problems.join('\n'), /PORT/);
});

test('readEgressSources: the three files in merge order, a missing one empty', async (t) => {
  const home = await tempDir(t, 'tongs-egress-home-');
  const project = await tempDir(t, 'tongs-egress-project-');
  await writeFile(path.join(home, 'egress.yaml'), 'allow: [a.com]\n');
  await mkdir(path.join(project, '.tongs'));
  await writeFile(path.join(project, '.tongs', 'egress.yaml'), 'allow: [w.com]\n');
  const env = { TONGS_HOME: home };
  assert.equal(userEgressFile(env), path.join(home, 'egress.yaml'));
  const sources = await readEgressSources({ orgFile: path.join(home, 'no-org.yaml'), workspace: project }, env);
  assert.deepEqual(sources, [
    { path: path.join(home, 'egress.yaml'), layer: 'user', text: 'allow: [a.com]\n' },
    { path: path.join(home, 'no-org.yaml'), layer: 'org', text: '' },
    { path: path.join(project, '.tongs', 'egress.yaml'), layer: 'workspace', text: 'allow: [w.com]\n' },
  ]);
  assert.deepEqual((await readEgressSources({}, { TONGS_HOME: path.join(home, 'nowhere') })).map((s) => [s.layer, s.text]), [['user', '']]);
  await assert.rejects(readEgressSources({ orgFile: home }, env), /cannot read the egress allowlist/);
});

const SCHEMA_FILE = path.join(REPO_ROOT, 'schema', 'egress.schema.json');
const REGENERATE =
  "regenerate with: node -e \"import('./dist/launcher/core/egress.js').then((m) => console.log(JSON.stringify(m.egressJsonSchema(), null, 2)))\" > schema/egress.schema.json";

test('the committed egress JSON Schema equals the one generated from zod', async () => {
  assert.equal(`${JSON.stringify(egressJsonSchema(), null, 2)}\n`, await readFile(SCHEMA_FILE, 'utf8'), REGENERATE);
  const schema = egressJsonSchema() as { additionalProperties: boolean; properties: Record<string, unknown> };
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(Object.keys(schema.properties), ['allow', 'egress']);
});

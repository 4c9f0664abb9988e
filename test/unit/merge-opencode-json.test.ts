import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { mergeOpencodeConfig, parseConfigLayer, ConfigLayerError } from '../../anvil/src/opencode-config.js';
import { REPO_ROOT, tempDirSync } from '../support/process.js';

const BIN = path.join(REPO_ROOT, 'dist/anvil/src/merge-opencode-json.js');

function runBin(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// A project's local server and a tong's remote server under one name (issue #4 item 3).
const PROJECT_LOCAL = {
  mcp: {
    github: { type: 'local', command: ['npx', 'github-mcp'], environment: { GITHUB_TOKEN: 'x' } },
    docs: { type: 'remote', url: 'http://docs.example/mcp' },
  },
  model: 'anthropic/claude-sonnet-4-5',
};
const TONG_FRAGMENT = { mcp: { github: { type: 'remote', url: 'http://github:8080/mcp', enabled: true } } };

test('objects merge recursively; keys only in one layer are kept', () => {
  const merged = mergeOpencodeConfig(
    { provider: { anthropic: { options: { timeout: 1 } } }, theme: 'dark' },
    { provider: { anthropic: { options: { baseURL: 'http://x' } }, openai: {} } },
  );
  assert.deepEqual(merged, {
    provider: { anthropic: { options: { timeout: 1, baseURL: 'http://x' } }, openai: {} },
    theme: 'dark',
  });
});

test('arrays are replaced, not concatenated', () => {
  const merged = mergeOpencodeConfig({ instructions: ['a.md', 'b.md'] }, { instructions: ['c.md'] });
  assert.deepEqual(merged, { instructions: ['c.md'] });
});

test('scalars are replaced, including by a different type', () => {
  const merged = mergeOpencodeConfig({ autoupdate: true, share: 'manual', x: { y: 1 } }, { autoupdate: false, x: 'flat' });
  assert.deepEqual(merged, { autoupdate: false, share: 'manual', x: 'flat' });
});

test('without the flag, same-named mcp entries deep-merge into a blended url + command entry', () => {
  const merged = mergeOpencodeConfig(PROJECT_LOCAL, TONG_FRAGMENT) as { mcp: Record<string, Record<string, unknown>> };
  // This is the broken entry whole-entry replacement exists to prevent: both a command and a url.
  assert.deepEqual(merged.mcp.github, {
    type: 'remote',
    command: ['npx', 'github-mcp'],
    environment: { GITHUB_TOKEN: 'x' },
    url: 'http://github:8080/mcp',
    enabled: true,
  });
});

test('with replaceMcpEntries, each tong server replaces its same-named entry whole; the rest deep-merges', () => {
  const merged = mergeOpencodeConfig(
    { ...PROJECT_LOCAL, provider: { anthropic: { options: { timeout: 1 } } } },
    { ...TONG_FRAGMENT, provider: { anthropic: { options: { baseURL: 'http://x' } } } },
    { replaceMcpEntries: true },
  );
  assert.deepEqual(merged, {
    mcp: {
      github: { type: 'remote', url: 'http://github:8080/mcp', enabled: true },
      docs: { type: 'remote', url: 'http://docs.example/mcp' },
    },
    model: 'anthropic/claude-sonnet-4-5',
    provider: { anthropic: { options: { timeout: 1, baseURL: 'http://x' } } },
  });
});

test('merging leaves both inputs unmodified', () => {
  const dst = structuredClone(PROJECT_LOCAL);
  const src = structuredClone(TONG_FRAGMENT);
  mergeOpencodeConfig(dst, src, { replaceMcpEntries: true });
  assert.deepEqual(dst, PROJECT_LOCAL);
  assert.deepEqual(src, TONG_FRAGMENT);
});

test('JSONC is accepted: comments and trailing commas', () => {
  const value = parseConfigLayer('x.jsonc', '{\n  // a comment\n  "a": [1, 2,], /* block */\n  "b": {"c": true,},\n}\n');
  assert.deepEqual(value, { a: [1, 2], b: { c: true } });
});

test('a syntax error names the file, line and column', () => {
  assert.throws(() => parseConfigLayer('/w/opencode.json', '{\n  "a": 1\n  "b": 2\n}'), (err: unknown) => {
    assert.ok(err instanceof ConfigLayerError);
    assert.equal(err.file, '/w/opencode.json');
    assert.match(err.message, /^\/w\/opencode\.json: invalid JSON at line 3, column 3: CommaExpected$/);
    return true;
  });
});

test('a top level that is not an object is refused', () => {
  assert.throws(() => parseConfigLayer('a.json', '[1]'), /a\.json: expected a JSON object at the top level, found an array/);
  assert.throws(() => parseConfigLayer('a.json', 'null'), /found null/);
});

test('bin: merges SRC into DST in place with --replace-mcp-entries', (t) => {
  const dir = tempDirSync(t, 'tongs-merge-');
  const dst = path.join(dir, 'opencode.json');
  const src = path.join(dir, 'mcp.json');
  writeFileSync(dst, `// project config\n${JSON.stringify(PROJECT_LOCAL)}`);
  writeFileSync(src, JSON.stringify(TONG_FRAGMENT));
  const r = runBin(dst, src, '--replace-mcp-entries');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  const merged = JSON.parse(readFileSync(dst, 'utf8'));
  assert.deepEqual(merged.mcp.github, TONG_FRAGMENT.mcp.github);
  assert.deepEqual(merged.mcp.docs, PROJECT_LOCAL.mcp.docs);
  assert.equal(merged.model, PROJECT_LOCAL.model);
});

test('bin: a missing DST becomes SRC', (t) => {
  const dir = tempDirSync(t, 'tongs-merge-');
  const dst = path.join(dir, 'new.json');
  const src = path.join(dir, 'src.jsonc');
  writeFileSync(src, '{ /* c */ "mcp": {"a": {"type": "remote", "url": "http://a:1/mcp"}}, }');
  const r = runBin(dst, src);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(readFileSync(dst, 'utf8')), { mcp: { a: { type: 'remote', url: 'http://a:1/mcp' } } });
  assert.equal(statSync(dst).mode & 0o777, 0o644);
});

test('bin: invalid JSON in SRC or DST exits 1 naming the file, DST byte-for-byte untouched', (t) => {
  const dir = tempDirSync(t, 'tongs-merge-');
  const dst = path.join(dir, 'opencode.json');
  const bad = path.join(dir, 'bad.json');
  const good = path.join(dir, 'good.json');
  const dstText = '{"model": "m", "mcp": {}}';
  writeFileSync(dst, dstText);
  writeFileSync(bad, '{"mcp": {');
  writeFileSync(good, '{"theme": "x"}');

  let r = runBin(dst, bad, '--replace-mcp-entries');
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`^tongs: ${bad.replace(/[.]/g, '\\.')}: invalid JSON at line 1, column`));
  assert.equal(readFileSync(dst, 'utf8'), dstText);

  writeFileSync(bad, '{"a": 1} trailing');
  r = runBin(bad, good);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.json: invalid JSON/);
  assert.equal(readFileSync(bad, 'utf8'), '{"a": 1} trailing');
  assert.deepEqual(readdirSync(dir).sort(), ['bad.json', 'good.json', 'opencode.json']);
});

test('bin: a missing SRC exits 1 naming it', (t) => {
  const dir = tempDirSync(t, 'tongs-merge-');
  const r = runBin(path.join(dir, 'dst.json'), path.join(dir, 'nope.json'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nope\.json: no such file/);
  assert.deepEqual(readdirSync(dir), []);
});

test('bin: the write is atomic: DST is replaced by rename (new inode), its mode kept, no temp file left', (t) => {
  const dir = tempDirSync(t, 'tongs-merge-');
  const dst = path.join(dir, 'opencode.json');
  const src = path.join(dir, 'src.json');
  writeFileSync(dst, '{"a": 1}');
  chmodSync(dst, 0o600);
  writeFileSync(src, '{"b": 2}');
  const before = statSync(dst).ino;
  const r = runBin(dst, src);
  assert.equal(r.status, 0, r.stderr);
  const after = statSync(dst);
  assert.notEqual(after.ino, before);
  assert.equal(after.mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(dst, 'utf8')), { a: 1, b: 2 });
  assert.deepEqual(readdirSync(dir).sort(), ['opencode.json', 'src.json']);
});

test('bin: usage errors exit 2 with the usage line', () => {
  for (const args of [[], ['only-one.json'], ['a.json', 'b.json', 'c.json'], ['a.json', 'b.json', '--bogus']]) {
    const r = runBin(...args);
    assert.equal(r.status, 2, `args ${JSON.stringify(args)}`);
    assert.match(r.stderr, /tongs: usage: tongs-merge-opencode-json DST SRC \[--replace-mcp-entries\]/);
  }
});

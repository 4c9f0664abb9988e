/** The privilege summary shown before approval (issue #6): what it lists, and control characters escaped. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeControl, formatBytes, summarizeEnvFile, summarizeTong, type PrivilegeSubject } from '../../launcher/core/privilege-summary.js';

const base: PrivilegeSubject = {
  name: 'github',
  file: '/ws/.tongs/tongs/github.yaml',
  image: 'ghcr.io/x/github:1',
  build: '/ws/.tongs/tongs/github',
  lifecycle: 'shared',
  alias: 'github',
  aliases: ['gh'],
  port: 8080,
  secretEnv: {
    GITHUB_TOKEN: '${secret:env:GITHUB_TOKEN?}',
    AUTH: 'Bearer ${secret:op:op://Work/gh/token}',
    TONGS_MCP_TOKEN: 'minted-literal-never-shown',
  },
  mounts: [
    { type: 'bind', source: '/ws', target: '/workspace', readOnly: true },
    { type: 'volume', source: 'cache', target: '/cache', readOnly: false },
  ],
  memoryBytes: 256 * 1024 * 1024,
  entrypoint: ['/bin/app'],
  command: ['--serve', 'x y'],
};

test('the summary lists image, secret references, mounts, networks, memory and lifecycle', () => {
  assert.deepEqual(summarizeTong(base), [
    "workspace tong 'github' (defined in /ws/.tongs/tongs/github.yaml) asks for:",
    '  image:     ghcr.io/x/github:1 (built from /ws/.tongs/tongs/github when absent)',
    '  secrets:   env:GITHUB_TOKEN?, op:op://Work/gh/token',
    '  mounts:    /ws -> /workspace (read-only), volume cache -> /cache (read-write)',
    '  networks:  the session network, as github, gh (port 8080)',
    '  memory:    256 MiB',
    '  lifecycle: shared (keeps running after the session)',
    "  entrypoint: '/bin/app'",
    "  command:   '--serve' 'x y'",
  ]);
  const bare = summarizeTong({ ...base, build: null, secretEnv: {}, mounts: [], memoryBytes: null, aliases: [], port: null, lifecycle: 'session', entrypoint: null, command: null });
  assert.deepEqual(bare.slice(1), [
    '  image:     ghcr.io/x/github:1',
    '  secrets:   none',
    '  mounts:    none',
    '  networks:  the session network, as github',
    '  memory:    unlimited',
    '  lifecycle: session',
  ]);
});

test('a model tong says that every model request, with the conversation, goes through it', () => {
  const model = summarizeTong({ ...base, name: 'gateway', kind: 'model', dialect: 'anthropic', aliases: [], alias: 'gateway', secretEnv: { ANTHROPIC_API_KEY: '${secret:env:ANTHROPIC_API_KEY}' } });
  assert.deepEqual(model.slice(2, 6), [
    '  secrets:   env:ANTHROPIC_API_KEY',
    '  mounts:    /ws -> /workspace (read-only), volume cache -> /cache (read-write)',
    '  networks:  the session network, as gateway (port 8080)',
    '  model:     the Anthropic Messages API (dialect anthropic): the harness sends every model request through this tong, with the conversation and the workspace content in it',
  ]);
  assert.equal(summarizeTong({ ...base, kind: 'mcp', dialect: null }).length, summarizeTong(base).length, 'no model line for other kinds');
});

test('control characters from a hostile definition are escaped, never sent to the terminal', () => {
  const hostile: PrivilegeSubject = {
    ...base,
    name: 'x\x1b[2J',
    image: 'evil\r\x1b[1Aimage: safe:1\n',
    secretEnv: { T: '${secret:env:A\x07\u202eB}' },
    mounts: [{ type: 'bind', source: '/home/me/.ssh\u0000', target: '/s\\t', readOnly: false }],
  };
  const text = summarizeTong(hostile).join('\n');
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(text.replaceAll('\n', ''), /[\x00-\x1f\x7f-\x9f\u202e]/);
  assert.ok(text.includes("workspace tong 'x\\e[2J'"));
  assert.ok(text.includes('evil\\r\\e[1Aimage: safe:1\\n'));
  assert.ok(text.includes('env:A\\x07\\u{202e}B'));
  assert.ok(text.includes('/home/me/.ssh\\x00 -> /s\\\\t'));
  assert.equal(summarizeTong(hostile).length, summarizeTong(base).length, 'no extra lines can be injected');
});

test('escapeControl keeps printable text, including non-ASCII', () => {
  assert.equal(escapeControl('héllo 日本 🔑 ~!'), 'héllo 日本 🔑 ~!');
  assert.equal(escapeControl('a\tb\u0085c\u200bd\ufeff'), 'a\\tb\\x85c\\u{200b}d\\u{feff}');
});

test('formatBytes', () => {
  assert.equal(formatBytes(512), '512 bytes');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(2 * 1024 ** 3), '2 GiB');
  assert.equal(formatBytes(1000 * 1000), '976.6 KiB');
});

test('the env file summary shows what it sets, escaped, without comments', () => {
  assert.deepEqual(summarizeEnvFile('/ws/.tongs/env', '# c\n\nA=1\r\nB=\x1b[31m\n'), [
    "workspace env file /ws/.tongs/env sets in the anvil's environment:",
    '  A=1',
    '  B=\\e[31m',
  ]);
  assert.deepEqual(summarizeEnvFile('/e', '# only comments\n').slice(1), ['  (nothing)']);
});

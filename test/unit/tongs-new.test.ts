/**
 * `tongs new` (issue #13 item 3): the pure templates (launcher/core/tong-scaffold.ts) — each form's
 * definition validates and names what the Dockerfile builds — the `--from`/`--image` parser, and the
 * CLI's refusals, which write nothing. The npm form through npm itself is in
 * test/integration/tongs-new.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { UsageError } from '../../launcher/errors.js';
import {
  defaultTongImage,
  isImageReference,
  npmContextPackageJson,
  parsePypiSpec,
  pickNpmBin,
  scaffoldTong,
  serverCommand,
  type ScaffoldInput,
} from '../../launcher/core/tong-scaffold.js';
import { validateDefinition } from '../../launcher/core/validate.js';
import { parseNewSource } from '../../launcher/shell/commands/new.js';
import { runCli, tempDir } from '../support/process.js';

const NPM: ScaffoldInput = {
  name: 'everything',
  source: { kind: 'npm', package: '@modelcontextprotocol/server-everything', version: '2026.8.31', bin: 'dist/index.js' },
  image: 'tongs-everything:local',
  args: ['stdio'],
};
const PYPI: ScaffoldInput = {
  name: 'fetch',
  source: { kind: 'pypi', package: 'mcp-server-fetch', version: '2025.4.7', script: 'mcp-server-fetch' },
  image: defaultTongImage('fetch'),
  args: [],
};
const IMAGE: ScaffoldInput = {
  name: 'py',
  source: { kind: 'image', image: 'tongs-test-stdio-py:local' },
  image: 'tongs-py:local',
  args: ['python3', '/srv/server.py'],
};

function validated(input: ScaffoldInput) {
  const scaffold = scaffoldTong(input);
  const definition = scaffold.files.find((f) => f.path === scaffold.definitionPath)!;
  const result = validateDefinition({ layer: 'user', name: input.name, file: `/l/${definition.path}`, displayPath: definition.path, source: definition.content });
  assert.ok('tong' in result, `${definition.path} validates: ${'problems' in result ? result.problems.join('\n') : ''}`);
  return { scaffold, tong: result.tong, files: new Map(scaffold.files.map((f) => [f.path, f.content])) };
}

test('npm: a stdio tong run by the image\'s node, its Dockerfile copying the host-installed node_modules FROM ${BASE_IMAGE}', () => {
  const { scaffold, tong, files } = validated(NPM);
  assert.equal(scaffold.definitionPath, 'everything.yaml');
  assert.deepEqual([...files.keys()], ['everything.yaml', 'everything/Dockerfile']);
  const def = tong.definition;
  assert.equal(def.image, 'tongs-everything:local');
  assert.equal(def.build, './everything');
  assert.deepEqual(def.interface, { kind: 'mcp', transport: 'stdio', node: 'image', name: 'everything', port: 8080 });
  assert.deepEqual(def.command, ['node', '/app/node_modules/@modelcontextprotocol/server-everything/dist/index.js', 'stdio']);
  assert.deepEqual(def.readiness, { mode: 'mcp', timeout: '60s' });
  const dockerfile = files.get('everything/Dockerfile')!;
  assert.match(dockerfile, /^ARG BASE_IMAGE=tongs-base:local\nFROM \$\{BASE_IMAGE\}$/m);
  assert.match(dockerfile, /^COPY --chown=0:0 node_modules\/ \/app\/node_modules\/$/m);
  assert.match(dockerfile, /^USER 65534:65534$/m);
  assert.ok(dockerfile.includes(`CMD ${JSON.stringify(def.command)}`), 'CMD is the same argv as command:');
  assert.doesNotMatch(dockerfile, /\bRUN\b/, 'nothing runs in the build: it needs no network');
  assert.deepEqual(JSON.parse(npmContextPackageJson('everything')), {
    name: 'tong-everything',
    private: true,
    description: "The stdio MCP server of the tong 'everything' (installed on the host by npm ci, copied into its image)",
  });
});

test('pypi: the bridge runs with the host runtime; the Dockerfile pip-installs the pinned package and says it needs PyPI', () => {
  const { tong, files } = validated(PYPI);
  assert.deepEqual(tong.definition.interface, { kind: 'mcp', transport: 'stdio', node: 'host', name: 'fetch', port: 8080 });
  assert.deepEqual(tong.definition.command, ['mcp-server-fetch']);
  assert.equal(tong.definition.image, 'tongs-fetch:local');
  const dockerfile = files.get('fetch/Dockerfile')!;
  assert.match(dockerfile, /^ARG BASE_IMAGE=python:3\.12-slim\nFROM \$\{BASE_IMAGE\}$/m);
  assert.match(dockerfile, /^RUN pip install --no-cache-dir "mcp-server-fetch==2025\.4\.7"$/m);
  assert.match(dockerfile, /needs network access: pip installs the package from PyPI/);
  const unpinned = validated({ ...PYPI, source: { ...PYPI.source, version: null } as ScaffoldInput['source'] });
  assert.match(unpinned.files.get('fetch/Dockerfile')!, /^RUN pip install --no-cache-dir "mcp-server-fetch"$/m);
});

test('image: FROM the given image as BASE_IMAGE, command: the argv given, node left to the launcher', () => {
  const { tong, files } = validated(IMAGE);
  assert.deepEqual(tong.definition.command, ['python3', '/srv/server.py']);
  assert.equal((tong.definition.interface as { node?: string }).node, undefined);
  assert.match(files.get('py/Dockerfile')!, /^ARG BASE_IMAGE=tongs-test-stdio-py:local\nFROM \$\{BASE_IMAGE\}$/m);
  assert.throws(() => scaffoldTong({ ...IMAGE, args: [] }), /argv/);
});

test('odd argv elements and descriptions stay valid YAML', () => {
  const args = ['--title', 'a: "b" # c', "it's", '${HOME}', '[x]'];
  const { tong } = validated({ ...NPM, args });
  assert.deepEqual(tong.definition.command!.slice(2), args);
  assert.equal(parse(scaffoldTong(NPM).files[0]!.content).description, 'the npm package @modelcontextprotocol/server-everything@2026.8.31 (stdio MCP server)');
  assert.deepEqual(serverCommand({ source: IMAGE.source, args: ['a'] }), ['a']);
});

test('pickNpmBin: npm\'s bin rules, --bin to choose, a clear refusal otherwise', () => {
  const table: Array<{ pkg: { name: string; bin?: unknown }; wanted?: string; expect: string | RegExp }> = [
    { pkg: { name: 'a', bin: './cli.js' }, expect: 'cli.js' },
    { pkg: { name: '@s/srv', bin: { srv: 'dist/main.js', other: 'x.js' } }, expect: 'dist/main.js' },
    { pkg: { name: '@modelcontextprotocol/server-everything', bin: { 'mcp-server-everything': 'dist/index.js' } }, expect: 'dist/index.js' },
    { pkg: { name: 'p', bin: { one: 'a.js', two: 'b.js' } }, wanted: 'two', expect: 'b.js' },
    { pkg: { name: 'p', bin: { one: 'a.js', two: 'b.js' } }, expect: /several bins; choose one with --bin: one, two/ },
    { pkg: { name: 'p', bin: { one: 'a.js' } }, wanted: 'nope', expect: /has no bin 'nope'; choose one with --bin: one/ },
    { pkg: { name: 'lib' }, expect: /has no bin, so it has no server to run; use --image/ },
  ];
  for (const { pkg, wanted, expect } of table) {
    const r = pickNpmBin(pkg, wanted);
    if (typeof expect === 'string') assert.deepEqual(r, { bin: expect }, JSON.stringify(pkg));
    else assert.match('error' in r ? r.error : '', expect, JSON.stringify(pkg));
  }
});

test('parsePypiSpec and isImageReference', () => {
  assert.deepEqual(parsePypiSpec('mcp-server-fetch'), { package: 'mcp-server-fetch', version: null });
  assert.deepEqual(parsePypiSpec('mcp_server.git==1.2.0rc1'), { package: 'mcp_server.git', version: '1.2.0rc1' });
  for (const bad of ['', '-x', 'x-', 'a b', 'x>=1', 'x==', 'x[extra]']) assert.ok('error' in parsePypiSpec(bad), bad);
  for (const ok of ['tongs-base:local', 'python:3.12-slim', 'ghcr.io/o/r:v1', 'localhost:5000/a/b', 'a@sha256:' + 'a'.repeat(64)]) assert.ok(isImageReference(ok), ok);
  for (const bad of ['', 'Upper:tag', 'a b', 'a:', ':tag', 'a:t@g']) assert.ok(!isImageReference(bad), bad);
});

test('parseNewSource: the --from forms npm and pypi, --image, and clear refusals', () => {
  assert.deepEqual(parseNewSource('npm:@modelcontextprotocol/server-everything@2026.8.31', undefined), {
    kind: 'npm', package: '@modelcontextprotocol/server-everything', spec: '2026.8.31',
  });
  assert.deepEqual(parseNewSource('npm:mcp-postgres-server', undefined), { kind: 'npm', package: 'mcp-postgres-server', spec: 'latest' });
  assert.deepEqual(parseNewSource('npm:x@^1.2', undefined), { kind: 'npm', package: 'x', spec: '^1.2' });
  assert.deepEqual(parseNewSource('pypi:mcp-server-fetch==2025.4.7', undefined), { kind: 'pypi', package: 'mcp-server-fetch', version: '2025.4.7' });
  assert.deepEqual(parseNewSource(undefined, 'my/server:1'), { kind: 'image', image: 'my/server:1' });
  const refusals: Array<[string | undefined, string | undefined, RegExp]> = [
    [undefined, undefined, /exactly one of --from npm:PKG\[@VERSION\], pypi:PKG\[==VERSION\] or --image IMAGE/],
    ['npm:x', 'y:1', /exactly one of/],
    ['cargo:x', undefined, /'cargo:x' is not one of npm:PKG\[@VERSION\], pypi:PKG\[==VERSION\]/],
    ['mcp-server', undefined, /is not one of/],
    ['npm:Bad Name', undefined, /--from npm:Bad Name: Invalid/],
    ['npm:git+https://example.invalid/x.git', undefined, /expected an npm registry package .* not a git spec/],
    ['npm:./local', undefined, /not a directory spec/],
    ['pypi:x>=1', undefined, /is not a PyPI project name/],
    [undefined, 'Not An Image', /is not a Docker image reference/],
  ];
  for (const [from, image, message] of refusals) {
    assert.throws(() => parseNewSource(from, image), (e: Error) => e instanceof UsageError && message.test(e.message), `${from} ${image}`);
  }
});

test('tongs new refuses a bad NAME, a bad --from, --image without argv and an existing target, and writes nothing', async (t) => {
  const dir = await tempDir(t, 'tongs-new-');
  const layer = path.join(dir, 'layer');
  await mkdir(layer);
  await writeFile(path.join(layer, 'taken.yaml'), 'image: x:local\ninterface: { kind: none }\n');
  await mkdir(path.join(layer, 'ctx'));
  const env = { ...process.env, TONGS_HOME: path.join(dir, 'home') };
  const cases: Array<{ args: string[]; status: number; stderr: RegExp }> = [
    { args: ['new', 'Bad_Name', '--from', 'npm:x'], status: 2, stderr: /tong name 'Bad_Name' is not/ },
    { args: ['new', '--from', 'npm:x'], status: 2, stderr: /tongs new needs a NAME/ },
    { args: ['new', 'a', 'b', '--from', 'npm:x'], status: 2, stderr: /unexpected argument 'b'/ },
    { args: ['new', 'ok', '--from', 'gem:x'], status: 2, stderr: /'gem:x' is not one of npm:PKG/ },
    { args: ['new', 'ok'], status: 2, stderr: /exactly one of --from/ },
    { args: ['new', 'ok', '--image', 'srv:1'], status: 2, stderr: /needs the server's argv in the image after --/ },
    { args: ['new', 'ok', '--image', 'srv:1', '--bin', 'x', '--', 'srv'], status: 2, stderr: /--bin is for --from npm: and pypi:/ },
    { args: ['new', 'ok', '--from', 'npm:x', '--harness', 'claude'], status: 2, stderr: /tongs new does not take --harness/ },
    { args: ['new', 'ok', '--from', 'npm:x', '--layer', 'usr'], status: 2, stderr: /--layer 'usr' is not user, workspace, org or repo; for a directory, write a path \(\.\/usr\)/ },
    { args: ['new', 'ok', '--from', 'npm:x', '--layer', 'org'], status: 2, stderr: /--layer org needs --org-tongs DIR/ },
    { args: ['new', 'ok', '--from', 'npm:x', '--tag', 'Bad Tag'], status: 2, stderr: /--tag 'Bad Tag' is not a Docker image reference/ },
    { args: ['new', 'taken', '--from', 'pypi:x', '--layer', layer], status: 1, stderr: /taken\.yaml already exists; remove it or choose another name \(nothing was written\)/ },
    { args: ['new', 'ctx', '--from', 'pypi:x', '--layer', layer], status: 1, stderr: /ctx already exists/ },
  ];
  for (const { args, status, stderr } of cases) {
    const r = await runCli(args, { env, cwd: dir });
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, stderr, args.join(' '));
    assert.equal(r.stdout, '', 'nothing on stdout');
  }
  assert.deepEqual((await readdir(layer)).sort(), ['ctx', 'taken.yaml']);
  // (TONGS_HOME itself may exist: the bundle keeps its V8 code cache there.)
  assert.equal(existsSync(path.join(dir, 'home', 'tongs')), false, 'the default user layer was not created');
});

test('tongs new --help lists the command and its options', async () => {
  const r = await runCli(['new', '--help']);
  assert.equal(r.status, 0);
  for (const text of ['tongs new NAME --from npm:PKG[@VERSION]', '--from pypi:PKG[==VERSION]', '--image IMAGE -- SERVER ARGV', '--layer user|workspace|org|repo|DIR', '--tag IMAGE', '--bin NAME']) {
    assert.ok(r.stdout.includes(text), text);
  }
});

/**
 * The validated-definition cache (launcher/shell/gather/definition-cache.ts; issue #3 "Speed"): a second
 * `tongs run` over unchanged definitions loads neither yaml nor zod and behaves the same; any change
 * to a file, a new file or another layer misses; problems are never cached; a corrupt cache is ignored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  definitionCacheKey,
  definitionCachePath,
  readDefinitionCache,
  writeDefinitionCache,
} from '../../launcher/shell/gather/definition-cache.js';
import type { DefinitionSource } from '../../launcher/core/validate.js';
import { CLI_MODULES, REPO_ROOT, runProcess, tempDir, unreachableDockerHost, type AfterHook } from '../support/process.js';

const MCP_TONG = 'image: helper:local\ninterface: { kind: mcp, name: helper, port: 8080 }\n';
const HOOK = path.join(REPO_ROOT, 'test', 'fixtures', 'module-trace', 'register.mjs');

const source = (over: Partial<DefinitionSource> = {}): DefinitionSource => ({
  layer: 'repo',
  name: 'helper',
  file: '/r/helper.yaml',
  displayPath: '/r/helper.yaml',
  source: MCP_TONG,
  ...over,
});

test('the key follows every part of every source, and nothing else', async () => {
  const base = await definitionCacheKey([source()]);
  assert.match(base, /^[0-9a-f]{64}$/);
  assert.equal(await definitionCacheKey([source()]), base, 'stable for the same sources');
  for (const over of [
    { source: MCP_TONG.replace('8080', '8081') },
    { layer: 'user' as const },
    { file: '/other/helper.yaml' },
    { displayPath: 'helper.yaml' },
    { name: 'other' },
  ]) {
    assert.notEqual(await definitionCacheKey([source(over)]), base, JSON.stringify(over));
  }
  assert.notEqual(await definitionCacheKey([source(), source({ name: 'b', file: '/r/b.yaml' })]), base, 'a new file');
  assert.notEqual(await definitionCacheKey([]), base);
});

test('an entry is private, read back only under its key, and a corrupt file is a miss', async (t) => {
  const home = await tempDir(t, 'tongs-cache-');
  const file = definitionCachePath(home);
  assert.equal(await readDefinitionCache(file, 'k'), null, 'no file');
  const value = { tongs: [], warnings: ['a warning'] };
  await writeDefinitionCache(file, 'k', value);
  assert.deepEqual(await readDefinitionCache(file, 'k'), value);
  assert.equal(await readDefinitionCache(file, 'other'), null);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal((await stat(path.dirname(file))).mode & 0o777, 0o700);
  await writeFile(file, '{"key":"k","tongs":');
  assert.equal(await readDefinitionCache(file, 'k'), null);
});

test('writing into a directory that cannot exist is not an error, and stores nothing', async (t) => {
  const dir = await tempDir(t, 'tongs-cache-');
  const home = path.join(dir, 'home');
  await writeFile(home, 'a file where the home directory should be');
  const file = definitionCachePath(home);
  await assert.doesNotReject(writeDefinitionCache(file, 'k', { tongs: [], warnings: [] }));
  assert.equal(await readDefinitionCache(file, 'k'), null, 'nothing can be read back');
  assert.equal(await readFile(home, 'utf8'), 'a file where the home directory should be', 'the file in the way is untouched');
  assert.deepEqual(await readdir(dir), ['home'], 'nothing was written beside it');
});

interface Project {
  repo: string;
  workspace: string;
  home: string;
  /** `tongs run` (refused before Docker: an mcp tong and no --harness), with the packages it loaded. */
  run(): Promise<{ status: number | null; stderr: string; loaded: Set<string> }>;
}

async function project(t: AfterHook): Promise<Project> {
  const dir = await tempDir(t, 'tongs-cache-cli-');
  const repo = path.join(dir, 'repo');
  const workspace = path.join(dir, 'ws');
  const home = path.join(dir, 'home');
  await mkdir(repo);
  await mkdir(path.join(workspace, '.tongs', 'tongs'), { recursive: true });
  await writeFile(path.join(repo, 'helper.yaml'), MCP_TONG);
  let n = 0;
  return {
    repo,
    workspace,
    home,
    async run() {
      const log = path.join(dir, `modules-${++n}.log`);
      await writeFile(log, '');
      const r = await runProcess(
        process.execPath,
        ['--import', HOOK, CLI_MODULES, 'run', '--repo-tongs', repo, '--workspace', workspace, '--', 'docker', 'run', '--rm', 'img'],
        { env: { ...process.env, TONGS_HOME: home, TONGS_TEST_MODULE_LOG: log, DOCKER_HOST: unreachableDockerHost(dir) } },
      );
      const loaded = new Set((await readFile(log, 'utf8')).split('\n').filter(Boolean));
      return { status: r.status, stderr: r.stderr, loaded };
    },
  };
}

test('a second run over unchanged definitions loads neither yaml nor zod and says the same', async (t) => {
  const p = await project(t);
  const first = await p.run();
  assert.equal(first.status, 1, first.stderr);
  assert.match(first.stderr, /--harness/, 'refused: an mcp tong needs a harness');
  assert.ok(first.loaded.has('yaml') && first.loaded.has('zod'), `the first run validates: ${[...first.loaded].join(' ')}`);

  const second = await p.run();
  assert.equal(second.status, 1);
  assert.equal(second.stderr, first.stderr);
  assert.ok(!second.loaded.has('yaml') && !second.loaded.has('zod'), `cache hit: ${[...second.loaded].join(' ')}`);
});

test('an edited, added or broken definition misses the cache; warnings come back on a hit', async (t) => {
  const p = await project(t);
  await p.run();
  // Edited into an invalid port: a miss, and the problem is reported.
  await writeFile(path.join(p.repo, 'helper.yaml'), MCP_TONG.replace('port: 8080', 'port: eighty'));
  const broken = await p.run();
  assert.equal(broken.status, 1);
  assert.match(broken.stderr, /helper\.yaml:2: interface\.port: /);
  assert.ok(broken.loaded.has('zod'));
  // Still broken: problems are never cached, so they are reported again in full.
  const again = await p.run();
  assert.equal(again.stderr, broken.stderr);
  assert.ok(again.loaded.has('zod'));

  // A workspace file that redefines the repo tong: kept out, with a warning, on a miss and on a hit.
  await writeFile(path.join(p.repo, 'helper.yaml'), MCP_TONG);
  await writeFile(path.join(p.workspace, '.tongs', 'tongs', 'helper.yaml'), MCP_TONG.replace('helper:local', 'evil:local'));
  const miss = await p.run();
  assert.match(miss.stderr, /may not redefine the repo tong 'helper'/);
  assert.ok(miss.loaded.has('zod'));
  const hit = await p.run();
  assert.equal(hit.stderr, miss.stderr);
  assert.ok(!hit.loaded.has('zod'));
});

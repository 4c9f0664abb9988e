/**
 * The pipeline's shape, as the tree must keep it (issue #12 item 5; the task's "The tree shows the
 * pipeline"): the core (launcher/core) does no I/O, one module (launcher/shell/engine/docker-runtime.ts)
 * imports dockerode, one place (launcher/cli.ts) calls `process.exit`, and the launcher's modules
 * import one another without cycles. Read from the TypeScript sources, so a new file is checked too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../support/process.js';

const LAUNCHER = path.join(REPO_ROOT, 'launcher');

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f))
    .sort();
}

/** Source text without comments, so a docstring naming `process.exit` or dockerode does not count. */
function code(file: string): string {
  return readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** Every module specifier a file imports, statically or with `import()` (type-only imports left out). */
function imports(file: string): string[] {
  const text = code(file);
  const found: string[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(?!type\b)[^;]*?\sfrom\s+'([^']+)'/gm)) found.push(m[2]!);
  for (const m of text.matchAll(/^\s*import\s+'([^']+)'/gm)) found.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) found.push(m[1]!);
  return found;
}

const rel = (file: string) => path.relative(REPO_ROOT, file);

test('launcher/core does no I/O: no file, process, network or clock access, no shell module', () => {
  // Pure helpers of Node's are allowed: path arithmetic, hashing, IP parsing.
  const allowed = new Set(['node:path', 'node:crypto', 'node:net']);
  const problems: string[] = [];
  for (const file of sources(path.join(LAUNCHER, 'core'))) {
    for (const spec of imports(file)) {
      if (spec.startsWith('node:') && !allowed.has(spec)) problems.push(`${rel(file)} imports ${spec}`);
      if (spec.includes('/shell/') || spec.startsWith('../shell')) problems.push(`${rel(file)} imports the shell (${spec})`);
    }
    const text = code(file);
    for (const [pattern, what] of [
      [/\bprocess\.(env|argv|cwd|exit|stdout|stderr|stdin|pid|platform|hrtime)\b/, 'process state'],
      [/\bDate\.now\(|new Date\(\s*\)|\bperformance\.now\(|\bMath\.random\(/, 'the clock or a random source'],
      [/\bnet\.(connect|createServer|createConnection)\b/, 'the network'],
      [/\bfetch\(/, 'the network'],
    ] as const) {
      if (pattern.test(text)) problems.push(`${rel(file)} reads ${what}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('only launcher/shell/engine/docker-runtime.ts imports dockerode', () => {
  const importers = sources(LAUNCHER).filter((f) => imports(f).some((s) => s === 'dockerode' || s.startsWith('dockerode/')) || /require\([^)]*'dockerode'[^)]*\)/.test(code(f)));
  assert.deepEqual(importers.map(rel), ['launcher/shell/engine/docker-runtime.ts']);
});

test('only launcher/cli.ts calls process.exit', () => {
  const callers = sources(LAUNCHER).filter((f) => /\bprocess\.exit\(/.test(code(f)));
  assert.deepEqual(callers.map(rel), ['launcher/cli.ts']);
});

test('the launcher modules import one another without cycles', () => {
  const files = sources(LAUNCHER);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const deps = imports(file)
      .filter((s) => s.startsWith('.'))
      .map((s) => path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts')));
    graph.set(file, deps.filter((d) => graph.has(d) || files.includes(d)));
  }
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (file: string, trail: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(file)), file].map(rel).join(' → '));
      return;
    }
    state.set(file, 'open');
    for (const dep of graph.get(file) ?? []) visit(dep, [...trail, file]);
    state.set(file, 'done');
  };
  for (const file of files) visit(file, []);
  assert.deepEqual(cycles, []);
});

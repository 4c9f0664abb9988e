/**
 * The real Claude Code with a stdio tong (issue #13 "Real harness"): the anvil `make run_claude`
 * starts (make/run-anvil.sh, the script its recipe runs once the images exist), the real
 * tongs-anvil:local, and a stdio tong — the conformance fixture server (tongs-test-stdio:local)
 * behind the bridge. The first stream-json event lists the stdio tong connected with its tools, and a
 * full turn (a scripted Messages API on the host, through the model tong) calls one of them; the
 * result carries a value set only in the tong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startFakeAnthropicApi } from '../fakes/anthropic-api.js';
import { REPO_ROOT, requireDocker } from '../support/docker.js';
import { runProcess } from '../support/process.js';
import { assertNoSessionLeft, modelEnv, scenario, type Scenario } from './anvil-scenario.js';

const buildImages = () => promisify(execFile)('bash', [path.join(REPO_ROOT, 'test/fixtures/stdio/build-images.sh')], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });

/** The scenario with its test tong replaced by a stdio tong of the same name. */
function stdioScenario(t: Parameters<typeof scenario>[0]): Scenario {
  const s = scenario(t, 'stdio');
  const user = /USER_TONGS=(.*)$/.exec(s.makeVars.find((v) => v.startsWith('USER_TONGS='))!)![1]!;
  writeFileSync(
    path.join(user, 'tongtest.yaml'),
    `description: the conformance fixture server over stdio, behind the tongs bridge
image: tongs-test-stdio:local
env:
  TONG_MARK: ${s.mark}
interface: { kind: mcp, transport: stdio, node: image, port: 8080, name: tongtest }
command: [node, /srv/server.mjs, stdio]
readiness: { mode: mcp }
`,
  );
  return s;
}

/** What `make run_claude` runs after its image prerequisites: make/run-anvil.sh with make's variables. */
function runClaude(s: Scenario, claudeArgs: string, env: NodeJS.ProcessEnv) {
  const vars = Object.fromEntries(s.makeVars.map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]));
  return runProcess('bash', [path.join(REPO_ROOT, 'make/run-anvil.sh'), 'run', 'claude'], {
    cwd: REPO_ROOT,
    env: { ...env, ...vars, TONGS_ROOT: REPO_ROOT, ANVIL_IMAGE: 'tongs-anvil:local', TONGS_CLAUDE_ARGS: claudeArgs, NODE: process.execPath },
  });
}

const events = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

test('Claude Code lists the stdio tong connected, with its tools as mcp__tongtest__*', { timeout: 900_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  await buildImages();
  const s = stdioScenario(t);
  const api = await startFakeAnthropicApi({ toolName: 'none', toolInput: {} });
  t.after(() => api.close());
  const r = await runClaude(s, '-p "say hi" --output-format stream-json --verbose', modelEnv(s.home, api.port));
  assert.equal(r.status, 0, r.stderr);
  const [first] = events(r.stdout);
  assert.ok(first, `no stream-json event on stdout:\n${r.stdout}\n${r.stderr}`);
  const servers = first.mcp_servers as { name: string; status: string }[];
  assert.equal(servers.find((x) => x.name === 'tongtest')?.status, 'connected', JSON.stringify(servers));
  const tools = first.tools as string[];
  assert.ok(tools.includes('mcp__tongtest__test_simple_text') && tools.includes('mcp__tongtest__env'), tools.join(' '));
  assertNoSessionLeft(s.project);
});

test('a full Claude Code turn calls a tool of the stdio tong and prints its result', { timeout: 900_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  await buildImages();
  const s = stdioScenario(t);
  const api = await startFakeAnthropicApi({ toolName: 'mcp__tongtest__env', toolInput: { name: 'TONG_MARK' }, finalTextPrefix: 'THE STDIO TONG SAID: ' });
  t.after(() => api.close());
  const r = await runClaude(
    s,
    '-p "what is TONG_MARK in the tong?" --output-format stream-json --verbose --allowedTools mcp__tongtest__env',
    modelEnv(s.home, api.port),
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    api.requests.filter((q) => q.answer !== 'filler' && q.answer !== 'count_tokens').map((q) => q.answer),
    ['tool_search', 'tool_use', 'final'],
    'ToolSearch first, then the stdio tong tool',
  );
  const result = events(r.stdout).find((e) => e.type === 'result');
  assert.ok(result, r.stdout);
  assert.equal(result.is_error, false, JSON.stringify(result));
  assert.equal(String(result.result), `THE STDIO TONG SAID: ${s.mark}`, 'the value only the tong has came back through the bridge');
  assertNoSessionLeft(s.project);
});

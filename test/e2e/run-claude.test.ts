/**
 * `make run_claude` end to end with the real Claude Code in the real anvil image, a real test MCP tong
 * (tongs-test-mcp:local, tools `echo` and `whoami`) and the real launcher (issue #4 "End-to-end tests").
 * The project is owned by uid 1000 while make runs as the test's user, so the anvil drops to 1000
 * and must still read the launcher's MCP config.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { startFakeAnthropicApi } from '../fakes/anthropic-api.js';
import { requireDocker } from '../support/docker.js';
import { OWNER, assertNoSessionLeft, make, modelEnv, scenario, stateDir } from './anvil-scenario.js';

function events(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('make run_claude: the first event lists the tong server connected and its tools as mcp__tongtest__*', { timeout: 900_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const s = scenario(t, 'claude');
  const api = await startFakeAnthropicApi({ toolName: 'none', toolInput: {} });
  t.after(() => api.close());
  const r = await make(
    ['run_claude', ...s.makeVars, 'CLAUDE_ARGS=-p "say hi" --output-format stream-json --verbose', 'ANVIL_DOCKER_ARGS='],
    modelEnv(s.home, api.port),
  );
  assert.equal(r.status, 0, r.stderr);
  const [first] = events(r.stdout);
  assert.ok(first, `no stream-json event on stdout:\n${r.stdout}\n${r.stderr}`);
  assert.equal(first.type, 'system');
  assert.equal(first.subtype, 'init');
  const servers = first.mcp_servers as { name: string; status: string }[];
  assert.deepEqual(servers.find((x) => x.name === 'tongtest')?.status, 'connected', JSON.stringify(servers));
  const tools = first.tools as string[];
  assert.ok(tools.includes('mcp__tongtest__echo') && tools.includes('mcp__tongtest__whoami'), tools.join(' '));
  assert.equal(first.cwd, '/workspace');
  // The private state holds Claude Code's .claude.json (CLAUDE_CONFIG_DIR), so it finds its config.
  assert.ok(!/configuration file not found/i.test(r.stdout + r.stderr), r.stderr);
  assertNoSessionLeft(s.project);
});

// `-u`: the entrypoint never runs as root, so a root launcher hands its MCP config over itself
// (launcher/shell/run/anvil.ts fileHandover); before, Claude Code could not read /run/tongs/mcp.json.
test('make run_claude with ANVIL_DOCKER_ARGS=-u UID:GID: the tong server is connected', { timeout: 900_000, skip: process.getuid?.() !== 0 && 'a launcher that is not root cannot hand its files to another uid' }, async (t) => {
  if (!(await requireDocker(t))) return;
  const s = scenario(t, 'claude-u');
  const api = await startFakeAnthropicApi({ toolName: 'none', toolInput: {} });
  t.after(() => api.close());
  const r = await make(
    ['run_claude', ...s.makeVars, 'CLAUDE_ARGS=-p "say hi" --output-format stream-json --verbose', `ANVIL_DOCKER_ARGS=-u ${OWNER}:${OWNER}`],
    modelEnv(s.home, api.port),
  );
  assert.equal(r.status, 0, r.stderr);
  const [first] = events(r.stdout);
  assert.ok(first, `no stream-json event on stdout:\n${r.stdout}\n${r.stderr}`);
  const servers = first.mcp_servers as { name: string; status: string }[];
  assert.deepEqual(servers.find((x) => x.name === 'tongtest')?.status, 'connected', JSON.stringify(servers));
  assertNoSessionLeft(s.project);
});

test('make run_claude: a full agent turn calls the tong tool, which runs in the tong, and prints its result', { timeout: 900_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const s = scenario(t, 'claude');
  // Claude Code defers MCP tools behind ToolSearch (on by default): the scripted model loads the tool
  // with a ToolSearch call first, as a real model does. ToolSearch needs no --allowedTools entry.
  const api = await startFakeAnthropicApi({ toolName: 'mcp__tongtest__whoami', toolInput: {}, finalTextPrefix: 'THE TONG SAID: ' });
  t.after(() => api.close());
  const r = await make(
    [
      'run_claude',
      ...s.makeVars,
      'CLAUDE_ARGS=-p "who answers the whoami tool?" --output-format stream-json --verbose --allowedTools mcp__tongtest__whoami',
      'ANVIL_DOCKER_ARGS=',
    ],
    modelEnv(s.home, api.port),
  );
  assert.equal(r.status, 0, r.stderr);

  // The model loaded the deferred tool, asked for it; the harness called it in the tong and sent its
  // result back.
  assert.deepEqual(
    api.requests.filter((q) => q.answer !== 'filler' && q.answer !== 'count_tokens').map((q) => q.answer),
    ['tool_search', 'tool_use', 'final'],
    'ToolSearch first, then the tong tool once Claude Code offers it',
  );
  const final = api.requests.find((q) => q.answer === 'final');
  assert.ok(final, `the harness sent a tool_result back: ${api.requests.map((q) => q.answer).join(',')}`);
  const toolResult = JSON.stringify(final.body.messages?.at(-1));
  assert.ok(toolResult.includes(s.mark), `the result carries the tong's TONG_MARK (set only in the tong): ${toolResult}`);

  // The harness printed the answer built from the tool result.
  const result = events(r.stdout).find((e) => e.type === 'result');
  assert.ok(result, r.stdout);
  assert.equal(result.is_error, false, JSON.stringify(result));
  assert.match(String(result.result), new RegExp(`^THE TONG SAID: .*"mark":"${s.mark}"`));
  const hostname = /"hostname":"([^"]+)"/.exec(String(result.result))?.[1];
  assert.ok(hostname && hostname !== 'anvil', `ran in the tong container: ${hostname}`);

  // Files the agent's session wrote in the user's state dir belong to the workspace owner.
  // …in the project's private state (the seal's rule 1), never in the user's own ~/.claude.
  const claudeDir = stateDir(s.home, s.project, 'claude');
  assert.ok(readdirSync(claudeDir).includes('.claude.json'), 'claude kept its config and session state in the private state');
  assert.ok(!existsSync(path.join(s.home, '.claude')), 'the user\'s own ~/.claude was not touched');
  for (const f of readdirSync(claudeDir)) assert.equal(statSync(path.join(claudeDir, f)).uid, OWNER, f);
  assertNoSessionLeft(s.project);
});

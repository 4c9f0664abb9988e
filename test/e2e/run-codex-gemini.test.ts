/**
 * `make run_codex` and `make run_gemini` end to end (issue #14 "Tests"): the real Codex CLI and Gemini
 * CLI in the real anvil image, the real launcher and a real test MCP tong (tongs-test-mcp:local, tools
 * `echo` and `whoami`; test/e2e/anvil-scenario.ts). The anvil image is TONGS_TEST_ANVIL_IMAGE
 * (default tongs-anvil:local), built by `make anvil-image`.
 *  - Connection: each CLI's own server listing (`codex mcp list`, `gemini mcp list`) shows the tong,
 *    with its bearer as Codex's `bearer_token_env_var` and as Gemini's "Connected".
 *  - Whole entry replacement: the user's own config (seeded into the project's private state) has a
 *    stdio server of the same name; the tong's entry replaces it whole.
 *  - A full turn: the CLI asks a scripted model on the host (test/fakes/openai-responses.ts,
 *    test/fakes/gemini-api.ts) and calls the tong's `whoami` tool when told to; the tool runs in the
 *    tong (its TONG_MARK and hostname come back) and the CLI prints the model's final text.
 *    These harnesses have no model tong dialect yet (issue #14 item 4), so the scripted model is
 *    reached directly: the anvil joins the session network (TONGS_ANVIL_RELAY=0, unsealed) with
 *    host.docker.internal mapped to the host, and the model settings come in ANVIL_DOCKER_ARGS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, chownSync } from 'node:fs';
import path from 'node:path';
import { startFakeGeminiApi } from '../fakes/gemini-api.js';
import { startFakeResponsesApi } from '../fakes/openai-responses.js';
import { requireDocker } from '../support/docker.js';
import { OWNER, assertNoSessionLeft, make, scenario, stateDir } from './anvil-scenario.js';

const ANVIL_IMAGE = process.env.TONGS_TEST_ANVIL_IMAGE ?? 'tongs-anvil:local';

/** Host environment for make: a fake HOME, no model key (the shipped model tong stays off). */
function hostEnv(home: string, relay: '0' | '1'): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TONGS_ANVIL_RELAY: relay };
  for (const name of ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'ANTHROPIC_BASE_URL', 'OPENAI_API_KEY', 'GEMINI_API_KEY', 'TONGS_HOME']) delete env[name];
  return env;
}

/** A user config file in the fake HOME, owned like the rest of it. */
function userFile(home: string, rel: string, text: string): void {
  const file = path.join(home, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  if (process.getuid?.() === 0) {
    chownSync(path.dirname(file), OWNER, OWNER);
    chownSync(file, OWNER, OWNER);
  }
}

test('make run_codex: `codex mcp list` shows the tong with its bearer variable, replacing a same-named entry of the user whole', { timeout: 600_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const s = scenario(t, 'codex');
  userFile(s.home, '.codex/config.toml', '[mcp_servers.tongtest]\ncommand = "not-the-tong"\nargs = ["x"]\n\n[mcp_servers.mine]\ncommand = "mine"\n');
  const r = await make(['run_codex', ...s.makeVars, `ANVIL_IMAGE=${ANVIL_IMAGE}`, 'CODEX_ARGS=mcp list', 'ANVIL_DOCKER_ARGS='], hostEnv(s.home, '1'));
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^tongtest\s+http:\/\/tongtest:8080\/mcp\s+TONGS_MCP_BEARER_TONGTEST\s+enabled\s+Bearer token/m, r.stdout);
  assert.match(r.stdout, /^mine\s+mine/m, 'the user\'s other servers stay');
  assert.match(r.stderr, /the tongs replace Codex's mcp_servers entries tongtest/);
  assert.ok(!r.stdout.includes('not-the-tong'), 'the user\'s same-named stdio entry is gone whole');
  assertNoSessionLeft(s.project);
});

test('make run_gemini: `gemini mcp list` reports the tong connected, not disabled, replacing a same-named entry of the user whole', { timeout: 600_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const s = scenario(t, 'gemini');
  userFile(s.home, '.gemini/settings.json', JSON.stringify({ mcpServers: { tongtest: { command: 'not-the-tong', args: ['x'] } } }));
  const r = await make(['run_gemini', ...s.makeVars, `ANVIL_IMAGE=${ANVIL_IMAGE}`, 'GEMINI_ARGS=mcp list', 'ANVIL_DOCKER_ARGS='], hostEnv(s.home, '1'));
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const out = r.stdout + r.stderr;
  assert.match(out, /✓ tongtest: http:\/\/tongtest:8080\/mcp \(http\) - Connected/, out);
  assert.ok(!/disabled|untrusted|Skipping system settings/i.test(out), out);
  assert.ok(!out.includes('not-the-tong'), 'the user\'s same-named stdio entry is replaced whole');
  assertNoSessionLeft(s.project);
});

test('make run_codex: a full turn calls the tong tool, which runs in the tong, and Codex prints its result', { timeout: 600_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const s = scenario(t, 'codex-turn');
  const api = await startFakeResponsesApi({ toolSuffix: 'whoami', finalTextPrefix: 'THE TONG SAID: ' });
  t.after(() => api.close());
  const provider = `model_providers.fake={name="fake",base_url="http://host.docker.internal:${api.port}/v1",wire_api="responses",env_key="FAKE_OPENAI_KEY"}`;
  const r = await make(
    [
      'run_codex', ...s.makeVars, `ANVIL_IMAGE=${ANVIL_IMAGE}`,
      `CODEX_ARGS=exec --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox -m gpt-fake -c model_provider=fake -c '${provider}' "who answers the whoami tool?"`,
      'ANVIL_DOCKER_ARGS=--add-host host.docker.internal:host-gateway -e FAKE_OPENAI_KEY=sk-fake',
    ],
    hostEnv(s.home, '0'),
  );
  const trace = `${r.stdout}\n${r.stderr}\n${JSON.stringify(api.requests.map((q) => [q.path, q.answer, q.tool]))}`;
  assert.equal(r.status, 0, trace);
  const call = api.requests.find((q) => q.answer === 'function_call');
  assert.ok(call, `Codex offered the tong's whoami tool: ${JSON.stringify(api.requests[0]?.body.tools)}`);
  const final = api.requests.find((q) => q.answer === 'final');
  assert.ok(final?.text?.includes(s.mark), `the tool result carries the tong's TONG_MARK (set only in the tong): ${trace}`);
  assert.match(r.stdout, new RegExp(`THE TONG SAID: [\\s\\S]*"mark":"${s.mark}","tokenRequired":true`), trace);
  assert.match(r.stdout + r.stderr, /mcp: tongtest\/whoami \(completed\)/, 'Codex ran the tong tool');
  assert.equal(api.requests[0]?.authorization, 'Bearer sk-fake');
  assertNoSessionLeft(s.project);
  // Codex kept its sessions in the project's private state, not in the user's ~/.codex.
  assert.ok(stateDir(s.home, s.project, 'codex'));
});

test('make run_gemini: a full turn calls the tong tool, which runs in the tong, and Gemini prints its result', { timeout: 600_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const s = scenario(t, 'gemini-turn');
  // The user's own choice of login, seeded into the project's private state: the Gemini API key.
  userFile(s.home, '.gemini/settings.json', JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } } }));
  const api = await startFakeGeminiApi({ toolSuffix: 'whoami', finalTextPrefix: 'THE TONG SAID: ' });
  t.after(() => api.close());
  const r = await make(
    [
      'run_gemini', ...s.makeVars, `ANVIL_IMAGE=${ANVIL_IMAGE}`,
      'GEMINI_ARGS=--yolo -m gemini-2.5-flash -p "who answers the whoami tool?"',
      `ANVIL_DOCKER_ARGS=--add-host host.docker.internal:host-gateway -e GEMINI_API_KEY=fake-key -e GOOGLE_GEMINI_BASE_URL=http://host.docker.internal:${api.port}`,
    ],
    hostEnv(s.home, '0'),
  );
  const trace = `${r.stdout}\n${r.stderr}\n${JSON.stringify(api.requests.map((q) => [q.path, q.answer, q.tool]))}`;
  assert.equal(r.status, 0, trace);
  assert.ok(api.requests.some((q) => q.answer === 'function_call'), `Gemini offered the tong's whoami tool: ${trace}`);
  const final = api.requests.find((q) => q.answer === 'final');
  assert.ok(final?.text?.includes(s.mark), `the tool result carries the tong's TONG_MARK: ${trace}`);
  // The tong required its bearer (tokenRequired), and Gemini sent it from the system settings.
  assert.match(r.stdout, new RegExp(`THE TONG SAID: .*${s.mark}.*tokenRequired.{0,4}true`), trace);
  assert.equal(api.requests.find((q) => q.answer === 'function_call')?.apiKey, 'fake-key');
  assertNoSessionLeft(s.project);
});

/**
 * `make run_codex` and `make run_gemini` end to end (issue #14 "Tests"): the real Codex CLI and Gemini
 * CLI in the real anvil image, the real launcher and a real test MCP tong (tongs-test-mcp:local, tools
 * `echo` and `whoami`; test/e2e/anvil-scenario.ts). The anvil image is TONGS_TEST_ANVIL_IMAGE
 * (default tongs-anvil:local), built by `make anvil-image`.
 *  - Connection: each CLI's own server listing (`codex mcp list`, `gemini mcp list`) shows the tong,
 *    with its bearer as Codex's `bearer_token_env_var` and as Gemini's "Connected". The same with the
 *    shipped GitHub tong (sidecars/github.yaml on TONGS_TEST_GITHUB_IMAGE, default tongs-github:local;
 *    the GitHub REST fake on the host), and with the anvil run as the workspace owner by
 *    `ANVIL_DOCKER_ARGS='-u UID:GID'`, where the entrypoint never runs as root. With the GitHub tong,
 *    a full turn too: the scripted model asks for `create_pr`, the fake GitHub gets the pull request.
 *  - Whole entry replacement: the user's own config (seeded into the project's private state) has a
 *    stdio server of the same name; the tong's entry replaces it whole.
 *  - A full turn: the CLI asks a scripted model on the host (test/fakes/openai-responses.ts,
 *    test/fakes/gemini-api.ts) and calls the tong's `whoami` tool when told to; the tool runs in the
 *    tong (its TONG_MARK and hostname come back) and the CLI prints the model's final text.
 *    Directly: the anvil joins the session network (TONGS_ANVIL_RELAY=0, unsealed) with
 *    host.docker.internal mapped to the host, and the model settings come in ANVIL_DOCKER_ARGS.
 *  - The same turn through the model tong (issue #14 item 4; TONGS_TEST_MODEL_API_IMAGE, default
 *    tongs-model-api:local), sealed (the relay: the anvil has no network): the host's
 *    OPENAI_API_KEY / GEMINI_API_KEY and base URL go to the shipped model-openai / model-google
 *    tong, the upstream (the scripted model) gets the real key. Mid-turn, the anvil is searched: the
 *    real key is in no `docker inspect` of the session, no process's argv or environment in the
 *    anvil; the tong's MCP bearer is in no `docker inspect` and no argv.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, chownSync } from 'node:fs';
import path from 'node:path';
import { startFakeGeminiApi } from '../fakes/gemini-api.js';
import { startFakeResponsesApi } from '../fakes/openai-responses.js';
import { hostGateway, requireDocker } from '../support/docker.js';
import { REPO_ROOT } from '../support/process.js';
import { OWNER, assertNoSessionLeft, githubScenario, make, scenario, stateDir } from './anvil-scenario.js';

const ANVIL_IMAGE = process.env.TONGS_TEST_ANVIL_IMAGE ?? 'tongs-anvil:local';
/** The model tong image (`make model-api-image`), for the shipped openai and google definitions. */
const MODEL_API_IMAGE = process.env.TONGS_TEST_MODEL_API_IMAGE ?? 'tongs-model-api:local';

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
  // The project's own config too (read by Codex only once the project is trusted): named, not rewritten.
  mkdirSync(path.join(s.project, '.codex'));
  writeFileSync(path.join(s.project, '.codex', 'config.toml'), '[mcp_servers.tongtest]\ncommand = "project-one"\n');
  const r = await make(['run_codex', ...s.makeVars, `ANVIL_IMAGE=${ANVIL_IMAGE}`, 'CODEX_ARGS=mcp list', 'ANVIL_DOCKER_ARGS='], hostEnv(s.home, '1'));
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^tongtest\s+http:\/\/tongtest:8080\/mcp\s+TONGS_MCP_BEARER_TONGTEST\s+enabled\s+Bearer token/m, r.stdout);
  assert.match(r.stdout, /^mine\s+mine/m, 'the user\'s other servers stay');
  assert.match(r.stderr, /the tongs replace Codex's mcp_servers entries tongtest/);
  assert.ok(!r.stdout.includes('not-the-tong'), 'the user\'s same-named stdio entry is gone whole');
  assert.match(r.stderr, /the project's \.codex\/config\.toml defines mcp_servers tongtest too/);
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

/** `make run_HARNESS` with `HARNESS_ARGS=mcp list` on a GitHub scenario; ANVIL_DOCKER_ARGS as given. */
async function githubMcpList(t: Parameters<typeof githubScenario>[0], harness: 'codex' | 'gemini', anvilDockerArgs: string) {
  const s = await githubScenario(t, `${harness}-github`);
  const r = await make(
    [`run_${harness}`, ...s.makeVars, `ANVIL_IMAGE=${ANVIL_IMAGE}`, `${harness.toUpperCase()}_ARGS=mcp list`, `ANVIL_DOCKER_ARGS=${anvilDockerArgs}`],
    { ...hostEnv(s.home, '1'), ...s.githubEnv },
  );
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.ok(!(r.stdout + r.stderr).includes(s.token), 'the GitHub token stays in the tong');
  assertNoSessionLeft(s.project);
  return r;
}

test('make run_codex with the GitHub tong: `codex mcp list` shows the github server with its bearer variable', { timeout: 600_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const r = await githubMcpList(t, 'codex', '');
  assert.match(r.stdout, /^github\s+http:\/\/github:8080\/mcp\s+TONGS_MCP_BEARER_GITHUB\s+enabled\s+Bearer token/m, r.stdout);
});

test('make run_gemini with the GitHub tong: `gemini mcp list` reports the github server connected, not disabled', { timeout: 600_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const r = await githubMcpList(t, 'gemini', '');
  const out = r.stdout + r.stderr;
  assert.match(out, /✓ github: http:\/\/github:8080\/mcp \(http\) - Connected/, out);
  assert.ok(!/disabled|untrusted|Skipping system settings/i.test(out), out);
});

// `-u`: the entrypoint runs as the workspace owner from the start, so it cannot copy the launcher's
// 0600 files as root does; a root launcher hands them over (root's, the anvil's group: Gemini wants
// its system settings root's). A launcher that is not root cannot, and says so for Gemini.
test('make run_gemini with the GitHub tong and ANVIL_DOCKER_ARGS=-u UID:GID: `gemini mcp list` reports it connected', { timeout: 600_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const r = await githubMcpList(t, 'gemini', `-u ${OWNER}:${OWNER}`);
  const out = r.stdout + r.stderr;
  if (process.getuid?.() !== 0) {
    assert.match(r.stderr, /with -u and a launcher that is not root, Gemini CLI skips its system settings/, out);
    return;
  }
  assert.match(out, /✓ github: http:\/\/github:8080\/mcp \(http\) - Connected/, out);
  assert.ok(!/disabled|untrusted|Skipping system settings|EACCES/i.test(out), out);
});

test('make run_codex with the GitHub tong and ANVIL_DOCKER_ARGS=-u UID:GID: the bearer variable is set from its file', { timeout: 600_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const r = await githubMcpList(t, 'codex', `-u ${OWNER}:${OWNER}`);
  assert.match(r.stdout, /^github\s+http:\/\/github:8080\/mcp\s+TONGS_MCP_BEARER_GITHUB\s+enabled\s+Bearer token/m, r.stdout);
  // The entrypoint reads /run/tongs/env/TONGS_MCP_BEARER_GITHUB as the workspace owner.
  assert.ok(!/Permission denied|can't open/i.test(r.stderr), r.stderr);
});

/** What the scripted model asks the GitHub tong's create_pr for (as test/e2e/github-pr.test.ts does). */
const PR_INPUT = {
  repo_owner: 'acme',
  repo_name: 'widgets',
  title: 'Fix the greeting',
  body: 'The greeting said hullo.',
  files: [{ path: 'src/greeting.txt', content: 'hello\n', action: 'create' }],
};

/** The fake GitHub holds the one PR create_pr made, the harness printed its number, and the token stayed in the tong. */
function assertPrOpened(s: Awaited<ReturnType<typeof githubScenario>>, r: { stdout: string; stderr: string }, modelRequests: unknown, trace: string): void {
  const pulls = s.github.pulls('acme', 'widgets');
  assert.equal(pulls.length, 1, `${JSON.stringify(s.github.requests.map((q) => `${q.method} ${q.path}`))}\n${trace}`);
  assert.equal(pulls[0]!.title, 'Fix the greeting');
  assert.deepEqual(s.github.filesAt('acme', 'widgets', pulls[0]!.head), { 'README.md': '# widgets\n', 'src/greeting.txt': 'hello\n' });
  // Gemini prints the tool's result as a JSON string (its quotes escaped), Codex as it came.
  assert.match(r.stdout, new RegExp(`PR OPENED: [\\s\\S]*\\\\?"number\\\\?":${pulls[0]!.number}\\b`), trace);
  for (const [what, text] of [['stdout', r.stdout], ['stderr', r.stderr], ['the model requests', JSON.stringify(modelRequests)]] as const) {
    assert.ok(!text.includes(s.token), `the GitHub token is not in ${what}`);
  }
  assertNoSessionLeft(s.project);
}

test('make run_codex with the GitHub tong: a full turn opens a pull request through create_pr, and Codex prints its number', { timeout: 600_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const s = await githubScenario(t, 'codex-github-turn');
  const api = await startFakeResponsesApi({ toolSuffix: 'create_pr', toolArgs: PR_INPUT, finalTextPrefix: 'PR OPENED: ' });
  t.after(() => api.close());
  const provider = `model_providers.fake={name="fake",base_url="http://host.docker.internal:${api.port}/v1",wire_api="responses",env_key="FAKE_OPENAI_KEY"}`;
  const r = await make(
    [
      'run_codex', ...s.makeVars, `ANVIL_IMAGE=${ANVIL_IMAGE}`,
      `CODEX_ARGS=exec --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox -m gpt-fake -c model_provider=fake -c '${provider}' "open a PR that fixes the greeting"`,
      'ANVIL_DOCKER_ARGS=--add-host host.docker.internal:host-gateway -e FAKE_OPENAI_KEY=sk-fake',
    ],
    { ...hostEnv(s.home, '0'), ...s.githubEnv },
  );
  const trace = `${r.stdout}\n${r.stderr}\n${JSON.stringify(api.requests.map((q) => [q.path, q.answer, q.tool]))}`;
  assert.equal(r.status, 0, trace);
  assert.ok(api.requests.some((q) => q.answer === 'function_call'), `Codex offered the tong's create_pr: ${JSON.stringify(api.requests[0]?.body.tools)}`);
  assert.match(r.stdout + r.stderr, /mcp: github\/create_pr \(completed\)/, trace);
  assertPrOpened(s, r, api.requests, trace);
});

test('make run_gemini with the GitHub tong: a full turn opens a pull request through create_pr, and Gemini prints its number', { timeout: 600_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const s = await githubScenario(t, 'gemini-github-turn');
  userFile(s.home, '.gemini/settings.json', JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } } }));
  const api = await startFakeGeminiApi({ toolSuffix: 'create_pr', toolArgs: PR_INPUT, finalTextPrefix: 'PR OPENED: ' });
  t.after(() => api.close());
  const r = await make(
    [
      'run_gemini', ...s.makeVars, `ANVIL_IMAGE=${ANVIL_IMAGE}`,
      'GEMINI_ARGS=--yolo -m gemini-2.5-flash -p "open a PR that fixes the greeting"',
      `ANVIL_DOCKER_ARGS=--add-host host.docker.internal:host-gateway -e GEMINI_API_KEY=fake-key -e GOOGLE_GEMINI_BASE_URL=http://host.docker.internal:${api.port}`,
    ],
    { ...hostEnv(s.home, '0'), ...s.githubEnv },
  );
  const trace = `${r.stdout}\n${r.stderr}\n${JSON.stringify(api.requests.map((q) => [q.path, q.answer, q.tool]))}`;
  assert.equal(r.status, 0, trace);
  assert.ok(api.requests.some((q) => q.answer === 'function_call'), `Gemini offered the tong's create_pr: ${trace}`);
  assertPrOpened(s, r, api.requests, trace);
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

/** The shipped model tong definitions, on the test's image, in the scenario's repo layer. */
function writeModelTongs(repo: string): void {
  for (const name of ['model-openai', 'model-google']) {
    const text = readFileSync(path.join(REPO_ROOT, 'sidecars', `${name}.yaml`), 'utf8').replace(/^build: .*$/m, '').replace(/^image: .*$/m, `image: ${MODEL_API_IMAGE}`);
    writeFileSync(path.join(repo, `${name}.yaml`), text);
  }
}

const docker = (args: string[]) => spawnSync('docker', args, { encoding: 'utf8' });

/**
 * The leak search, mid-turn (the seal's rule 4, issue #14 "Secrets"): the session's containers by the
 * anvil's session label; `realKey` in none of their `docker inspect`, nor in any argv or environment
 * of a process in the anvil; the MCP bearer (read from its file in the anvil) in no `docker inspect`
 * and no argv. Returns what it found wrong, empty when nothing.
 */
function leaks(project: string, realKey: string, bearerFile: string | null): string[] {
  const anvil = docker(['ps', '--filter', 'label=dev.tongs.role=anvil', '--format', '{{.ID}} {{.Names}}']).stdout
    .split('\n').find((l) => l.includes(path.basename(project)))?.split(' ')[0];
  if (!anvil) return ['no anvil of this session is running'];
  const session = docker(['inspect', '-f', '{{ index .Config.Labels "dev.tongs.session" }}', anvil]).stdout.trim();
  const ids = docker(['ps', '-aq', '--filter', `label=dev.tongs.session=${session}`]).stdout.split('\n').filter(Boolean);
  const inspect = docker(['inspect', anvil, ...ids]).stdout;
  const proc = (what: string) =>
    docker(['exec', anvil, 'sh', '-c', `for p in /proc/[0-9]*; do tr '\\0' ' ' <$p/${what} 2>/dev/null; echo; done`]).stdout;
  const found: string[] = [];
  if (!inspect.includes(anvil)) found.push('docker inspect gave nothing');
  if (inspect.includes(realKey)) found.push('the real key is in docker inspect');
  const argv = proc('cmdline');
  if (!argv.includes('node') && !argv.includes('codex')) found.push(`no process argv read: ${argv.slice(0, 200)}`);
  if (argv.includes(realKey)) found.push('the real key is in an argv in the anvil');
  if (proc('environ').includes(realKey)) found.push('the real key is in an environment in the anvil');
  if (bearerFile) {
    const bearer = docker(['exec', anvil, 'cat', bearerFile]).stdout.trim();
    if (bearer.length < 16) found.push(`no bearer in ${bearerFile}`);
    else {
      if (inspect.includes(bearer)) found.push('the MCP bearer is in docker inspect');
      if (argv.includes(bearer)) found.push('the MCP bearer is in an argv in the anvil');
    }
  }
  return found;
}

test('make run_codex through the model tong (sealed): the upstream gets the real key, the turn calls the tong tool, nothing leaks', { timeout: 600_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const s = scenario(t, 'codex-model');
  writeModelTongs(path.join(s.dir, 'repo'));
  const realKey = `sk-proj-e2e-${randomBytes(12).toString('hex')}`;
  let found: string[] = ['the leak search did not run'];
  const api = await startFakeResponsesApi({
    toolSuffix: 'whoami',
    finalTextPrefix: 'THE TONG SAID: ',
    beforeToolCall: async () => {
      found = leaks(s.project, realKey, '/run/tongs/env/TONGS_MCP_BEARER_TONGTEST');
    },
  });
  t.after(() => api.close());
  const env = { ...hostEnv(s.home, '1'), OPENAI_API_KEY: realKey, OPENAI_BASE_URL: `http://${hostGateway()}:${api.port}/v1` };
  const r = await make(
    ['run_codex', ...s.makeVars, `ANVIL_IMAGE=${ANVIL_IMAGE}`, 'CODEX_ARGS=exec --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox -m gpt-fake "who answers the whoami tool?"', 'ANVIL_DOCKER_ARGS='],
    env,
  );
  const trace = `${r.stdout}\n${r.stderr}\n${JSON.stringify(api.requests.map((q) => [q.path, q.answer, q.tool]))}`;
  assert.equal(r.status, 0, trace);
  assert.match(r.stderr, /model: the harness reaches the OpenAI API through the model tong 'model-openai'/);
  assert.ok(api.requests.length >= 2, trace);
  for (const q of api.requests) assert.equal(q.authorization, `Bearer ${realKey}`, 'the upstream gets the real key, never the session bearer');
  assert.match(r.stdout, new RegExp(`THE TONG SAID: [\\s\\S]*"mark":"${s.mark}","tokenRequired":true`), trace);
  assert.deepEqual(found, [], 'nothing leaked');
  assertNoSessionLeft(s.project);
});

test('make run_gemini through the model tong (sealed): the upstream gets the real key, the turn calls the tong tool, nothing leaks', { timeout: 600_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const s = scenario(t, 'gemini-model');
  writeModelTongs(path.join(s.dir, 'repo'));
  const realKey = `AIza-e2e-${randomBytes(12).toString('hex')}`;
  let found: string[] = ['the leak search did not run'];
  const api = await startFakeGeminiApi({
    toolSuffix: 'whoami',
    finalTextPrefix: 'THE TONG SAID: ',
    beforeToolCall: async () => {
      found = leaks(s.project, realKey, null);
    },
  });
  t.after(() => api.close());
  const env = { ...hostEnv(s.home, '1'), GEMINI_API_KEY: realKey, GOOGLE_GEMINI_BASE_URL: `http://${hostGateway()}:${api.port}` };
  const r = await make(
    ['run_gemini', ...s.makeVars, `ANVIL_IMAGE=${ANVIL_IMAGE}`, 'GEMINI_ARGS=--yolo -m gemini-2.5-flash -p "who answers the whoami tool?"', 'ANVIL_DOCKER_ARGS='],
    env,
  );
  const trace = `${r.stdout}\n${r.stderr}\n${JSON.stringify(api.requests.map((q) => [q.path, q.answer, q.tool]))}`;
  assert.equal(r.status, 0, trace);
  assert.match(r.stderr, /model: the harness reaches the Gemini API through the model tong 'model-google'/);
  for (const q of api.requests) assert.equal(q.apiKey, realKey, 'the upstream gets the real key, never the session bearer');
  assert.match(r.stdout, new RegExp(`THE TONG SAID: .*${s.mark}.*tokenRequired.{0,4}true`), trace);
  assert.deepEqual(found, [], 'nothing leaked');
  assertNoSessionLeft(s.project);
});

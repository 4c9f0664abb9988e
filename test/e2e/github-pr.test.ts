/**
 * The whole product, end to end: `make run_claude` on a project with the repository's own layer
 * (`sidecars/github.yaml`), the real GitHub tong image, the real Claude Code in the real anvil, a
 * scripted model on the host that asks for `mcp__github__create_pr`, and the GitHub REST fake on the
 * host standing in for api.github.com. The agent opens a pull request; the token that does it is in
 * the tong only — never in the harness's output, the anvil's argv or its MCP config.
 * (DESIGN.md "The GitHub tong", issue #4 "A full agent turn", issue #5, issue #6.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFakeAnthropicApi } from '../fakes/anthropic-api.js';
import { FakeGitHub } from '../fakes/github-api.js';
import { hostGateway, requireDocker } from '../support/docker.js';
import { OWNER, assertNoSessionLeft, make } from './anvil-scenario.js';

test('make run_claude: the agent opens a pull request through the GitHub tong and never sees the token', { timeout: 900_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const dir = mkdtempSync(path.join(tmpdir(), 'tongs-e2e-github-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [user, home, project] = ['user', 'home', 'proj-github'].map((d) => path.join(dir, d)) as [string, string, string];
  for (const d of [user, home, project]) mkdirSync(d, { recursive: true });
  if (process.getuid?.() === 0) for (const d of [home, project]) chownSync(d, OWNER, OWNER);

  const token = `ghp_e2e${Date.now().toString(36)}SECRETVALUE`;
  const github = new FakeGitHub({ token });
  github.addRepo('acme', 'widgets', { files: { 'README.md': '# widgets\n' } });
  const gateway = hostGateway();
  const apiPort = new URL(await github.start(0, '0.0.0.0')).port;
  t.after(() => github.close());

  const api = await startFakeAnthropicApi({
    toolName: 'mcp__github__create_pr',
    toolInput: {
      repo_owner: 'acme',
      repo_name: 'widgets',
      title: 'Fix the greeting',
      body: 'The greeting said hullo.',
      files: [{ path: 'src/greeting.txt', content: 'hello\n', action: 'create' }],
    },
    finalTextPrefix: 'PR OPENED: ',
  });
  t.after(() => api.close());

  const r = await make(
    [
      'run_claude',
      `PROJECT_DIR=${project}`,
      `USER_TONGS=${user}`,
      'CLAUDE_ARGS=-p "open a PR that fixes the greeting" --output-format stream-json --verbose --allowedTools mcp__github__create_pr',
      // Claude Code defers MCP tools behind ToolSearch; the scripted model loads create_pr with it first.
      'ANVIL_DOCKER_ARGS=--add-host host.docker.internal:host-gateway',
    ],
    {
      ...process.env,
      HOME: home,
      ANTHROPIC_API_KEY: 'sk-dummy',
      // The model tong's upstream: the anvil has no network, the tong reaches the host's fake.
      ANTHROPIC_BASE_URL: `http://${gateway}:${api.port}`,
      // Read by sidecars/github.yaml's ${secret:env:…} references, delivered into the tong only.
      GITHUB_TOKEN: token,
      GITHUB_API_URL: `http://${gateway}:${apiPort}`,
    },
  );
  assert.equal(r.status, 0, r.stderr);

  // GitHub (the fake) saw one atomic commit on a new branch and a labelled PR, made with the token.
  const pulls = github.pulls('acme', 'widgets');
  assert.equal(pulls.length, 1, `${JSON.stringify(github.requests.map((q) => `${q.method} ${q.path}`))}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
  const pr = pulls[0]!;
  assert.equal(pr.title, 'Fix the greeting');
  assert.match(pr.head, /^tongs\/fix\/fix-the-greeting$/);
  assert.deepEqual(github.filesAt('acme', 'widgets', pr.head), { 'README.md': '# widgets\n', 'src/greeting.txt': 'hello\n' });
  assert.equal(github.history('acme', 'widgets', pr.head).length, 2, 'one commit on top of main');
  assert.ok(pr.labels.includes('tongs'));

  // The model loaded the deferred tool with ToolSearch, then called it; the harness got the tool's
  // result back and printed the answer built from it.
  assert.ok(api.requests.some((q) => q.answer === 'tool_search'), `a ToolSearch call came first: ${api.requests.map((q) => q.answer).join(',')}`);
  const final = api.requests.find((q) => q.answer === 'final');
  assert.ok(final, `the harness sent a tool_result back: ${api.requests.map((q) => q.answer).join(',')}`);
  const result = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type?: string; result?: string; is_error?: boolean })
    .find((e) => e.type === 'result');
  assert.ok(result, r.stdout);
  assert.equal(result.is_error, false, JSON.stringify(result));
  assert.match(String(result.result), new RegExp(`^PR OPENED: .*"number":${pr.number}`));

  // The token never reached the agent's side: not in what the harness printed, not in anything the
  // harness sent to the model, not in the launcher's output.
  assert.ok(!r.stdout.includes(token), 'the token is not in the harness output');
  assert.ok(!r.stderr.includes(token), 'the token is not in the launcher output');
  assert.ok(!JSON.stringify(api.requests).includes(token), 'the token is not in any model request');
  assertNoSessionLeft(project);
});

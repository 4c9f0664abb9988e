/**
 * Whole agent turns with shell tool calls, through the real harnesses in the real anvil image
 * (tongs-anvil:local, built by `make anvil-image`), each started by a direct `docker run`, not make.
 * The scripted model on the host (test/fakes/anthropic-api.ts) asks for one shell command; the harness
 * runs it in the anvil as the workspace owner and sends its output back; the model's final text, which
 * carries that output, is what the harness prints.
 *  - Claude Code's `Bash` tool: it needs a bash in the image (make/base-image.sh adds the host's).
 *  - OpenCode's `bash` tool, its `anthropic` provider pointed at the fake (`opencodeSetup`).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { opencodeSetup, startFakeAnthropicApi, type FakeAnthropicApi } from '../fakes/anthropic-api.js';
import { TEST_LABEL, cleanupByLabel, dockerCli, requireDocker, tempDir } from '../support/docker.js';
import { OWNER } from './anvil-scenario.js';

const ANVIL = 'tongs-anvil:local';

interface Turn {
  mark: string;
  workspace: string;
  /** The command the scripted model runs. */
  command: string;
  /** `docker run --rm` options every anvil here gets: test label, host alias, hostname, workspace. */
  dockerArgs: string[];
  /** The fake as the anvil reaches it: `http://host.docker.internal:<port>`. */
  apiUrl: string;
}

/** A workspace owned by OWNER, a labelled anvil that is removed after the test, and the fake API. */
async function setUp(t: TestContext, steps: (command: string) => Parameters<typeof startFakeAnthropicApi>[0]): Promise<[Turn, FakeAnthropicApi] | null> {
  const runtime = await requireDocker(t);
  if (!runtime) return null;
  const inspect = await dockerCli(['image', 'inspect', '-f', '{{.Id}}', ANVIL]);
  assert.equal(inspect.status, 0, `${ANVIL} is missing: run \`make anvil-image\`\n${inspect.stderr}`);
  const mark = `mark-${randomBytes(4).toString('hex')}`;
  const runId = `scripted-${mark}`;
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, runId));
  const workspace = await tempDir(t, 'tongs-e2e-scripted-');
  if (process.getuid?.() === 0) chownSync(workspace, OWNER, OWNER);
  const command = `echo hi-${mark} > /workspace/out.txt && uname -a`;
  const api = await startFakeAnthropicApi(steps(command));
  t.after(() => api.close());
  const dockerArgs = [
    'run', '--rm', '--label', `${TEST_LABEL}=${runId}`, '--add-host', 'host.docker.internal:host-gateway',
    '--hostname', `anvil-${mark}`, '-v', `${workspace}:/workspace`,
  ];
  return [{ mark, workspace, command, dockerArgs, apiUrl: `http://host.docker.internal:${api.port}` }, api];
}

/** The command ran in the anvil, as the workspace owner, and wrote the workspace. */
function assertRan(turn: Turn): void {
  const out = path.join(turn.workspace, 'out.txt');
  assert.ok(existsSync(out), 'the command wrote /workspace/out.txt, which is on the host');
  assert.equal(readFileSync(out, 'utf8'), `hi-${turn.mark}\n`);
  assert.equal(statSync(out).uid, OWNER, 'the file belongs to the workspace owner');
}

/** The fake called the tool once, got its output back, and answered with it. */
function assertTurn(api: FakeAnthropicApi, tool: string, turn: Turn): string {
  const answers = api.requests.filter((q) => q.answer === 'tool_use' || q.answer === 'final');
  assert.deepEqual(answers.map((q) => q.answer), ['tool_use', 'final'], JSON.stringify(api.requests.map((q) => [q.answer, q.text ?? q.toolUse?.name])));
  assert.equal(answers[0]!.toolUse?.name, tool);
  assert.ok(answers[0]!.body.tools?.some((x) => x.name === tool), `the harness offered ${tool}`);
  const text = answers[1]!.text ?? '';
  assert.match(text, new RegExp(`^RAN: Linux anvil-${turn.mark} `), 'the final text carries the output of uname -a, run in this anvil');
  return text;
}

test("Claude Code: a scripted Bash step runs in the anvil as the workspace owner and its output reaches the answer", { timeout: 120_000 }, async (t) => {
  const set = await setUp(t, (command) => ({
    steps: [{ name: 'Bash', input: { command, description: 'Write a marker file and print the kernel' } }],
    finalTextPrefix: 'RAN: ',
  }));
  if (!set) return;
  const [turn, api] = set;
  const r = await dockerCli([
    ...turn.dockerArgs, '-e', 'ANTHROPIC_API_KEY=sk-fake', '-e', `ANTHROPIC_BASE_URL=${turn.apiUrl}`,
    ANVIL, 'claude', '-p', 'write the marker file and tell me the kernel', '--output-format', 'stream-json', '--verbose', '--allowedTools', 'Bash',
  ]);
  assert.equal(r.status, 0, `${r.stderr}\n${r.stdout.slice(-3000)}`);
  assertRan(turn);
  const text = assertTurn(api, 'Bash', turn);

  const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const toolResult = events.find((e) => e.type === 'user') as { message?: { content?: { is_error?: boolean; content?: unknown }[] } } | undefined;
  assert.equal(toolResult?.message?.content?.[0]?.is_error, false, `the Bash tool found a shell: ${JSON.stringify(toolResult)}`);
  const result = events.find((e) => e.type === 'result');
  assert.ok(result, r.stdout);
  assert.equal(result.is_error, false, JSON.stringify(result));
  assert.equal(result.result, text, 'Claude Code printed the final text');
});

test("OpenCode: a scripted bash step runs in the anvil as the workspace owner and `opencode run` prints the answer", { timeout: 120_000 }, async (t) => {
  const set = await setUp(t, (command) => ({ steps: [{ name: 'bash', input: { command, description: 'Write a marker file and print the kernel' } }], finalTextPrefix: 'RAN: ' }));
  if (!set) return;
  const [turn, api] = set;
  const { env } = opencodeSetup(turn.apiUrl);
  const r = await dockerCli([
    ...turn.dockerArgs, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    ANVIL, 'opencode', 'run', 'write the marker file and tell me the kernel',
  ]);
  assert.equal(r.status, 0, `${r.stderr}\n${r.stdout}`);
  assertRan(turn);
  const text = assertTurn(api, 'bash', turn);
  assert.equal(r.stdout.trim(), text.trim(), 'opencode run printed the final text on stdout');
  assert.ok(r.stderr.includes(turn.command), `the tool transcript on stderr shows the command: ${r.stderr}`);
});

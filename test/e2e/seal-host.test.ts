/**
 * The seal, part 1, as an attacker would test it (DESIGN.md "The seal" rules 1–3, issue #10 "Tests"):
 * `make run_claude` / `make run_opencode` with the real harness in the real anvil, a scripted model on
 * the host whose shell tool calls try every write by which the agent could get code run on the host
 * later — hooks in the user's harness settings, git hooks, git config keys that run programs, a
 * submodule's hook, the user's login files — and also commit a change and write ignored files where
 * host tools look. Afterwards the host's files are byte-identical, host `git status`, `git checkout`
 * and `git commit` run none of the agent's code, the agent's commit is in the host repository, and
 * the out-of-sight report names the ignored files.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { opencodeSetup, startFakeAnthropicApi, type FakeAnthropicApi } from '../fakes/anthropic-api.js';
import { requireDocker } from '../support/docker.js';
import { tempDirSync } from '../support/process.js';
import { OWNER, assertNoSessionLeft, make, modelEnv, stateDir, writeModelTong } from './anvil-scenario.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=Host User', '-c', 'user.email=host@example.com', '-c', 'protocol.file.allow=always', '-c', `safe.directory=*`, ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

/** sha256 of every file under `dir` (symlinks by target), keyed by relative path: "byte-identical". */
function treeHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      const rel = path.relative(dir, full);
      if (e.isDirectory()) walk(full);
      else if (e.isSymbolicLink()) out[rel] = `link:${lstatSync(full).size}`;
      else out[rel] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

interface Setup {
  dir: string;
  home: string;
  project: string;
  /** A host directory the planted hooks would write to if they ever ran on the host. */
  markers: string;
  user: string;
  repo: string;
}

/** A fake HOME with the user's own Claude Code and OpenCode state, and a project repo with a submodule. */
function setUp(t: TestContext): Setup {
  const dir = tempDirSync(t, 'tongs-e2e-seal-');
  const id = randomBytes(3).toString('hex');
  const [home, project, markers, user, repo, sub] = ['home', `proj-seal-${id}`, 'markers', 'user', 'repo', 'sub'].map((d) => path.join(dir, d)) as [
    string, string, string, string, string, string,
  ];
  for (const d of [home, project, markers, user, repo, sub]) mkdirSync(d, { recursive: true });
  // The user's own harness state, which must come out byte-identical.
  mkdirSync(path.join(home, '.claude/commands'), { recursive: true });
  writeFileSync(path.join(home, '.claude/settings.json'), '{"model":"opus"}\n');
  writeFileSync(path.join(home, '.claude/CLAUDE.md'), '# my memory\n');
  writeFileSync(path.join(home, '.claude/.credentials.json'), '{"claudeAiOauth":{"accessToken":"user-login"}}\n');
  writeFileSync(path.join(home, '.claude.json'), '{"theme":"dark","projects":{}}\n');
  mkdirSync(path.join(home, '.local/share/opencode/bin'), { recursive: true });
  writeFileSync(path.join(home, '.local/share/opencode/auth.json'), '{"anthropic":{"type":"api","key":"user-opencode-key"}}\n');
  writeFileSync(path.join(home, '.local/share/opencode/bin/rg'), '#!/bin/sh\necho real rg\n');
  writeFileSync(path.join(home, '.gitconfig'), '[user]\n\tname = Host User\n\temail = host@example.com\n[safe]\n\tdirectory = *\n');
  // The project: a repository with a submodule, ignoring the files host tools read.
  git(sub, 'init', '-q', '-b', 'main');
  git(sub, 'commit', '-q', '--allow-empty', '-m', 'lib');
  git(project, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(project, '.gitignore'), '.envrc\n.claude/settings.local.json\n');
  writeFileSync(path.join(project, 'README.md'), '# seal\n');
  git(project, 'submodule', 'add', '-q', sub, 'lib');
  git(project, 'add', '.');
  git(project, 'commit', '-qm', 'init');
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', `${OWNER}:${OWNER}`, home, project, markers, sub]);
  writeModelTong(repo);
  return { dir, home, project, markers, user, repo };
}

/** Host files that must not change: the user's harness state and the project's git metadata. */
function guarded(s: Setup): Record<string, string> {
  const g = path.join(s.project, '.git');
  return {
    ...Object.fromEntries(Object.entries(treeHashes(s.home)).filter(([k]) => /^(\.claude|\.local\/|\.config\/|\.gitconfig)/.test(k)).map(([k, v]) => [`~/${k}`, v])),
    ...Object.fromEntries(
      Object.entries(treeHashes(g))
        .filter(([k]) => /^(config|hooks\/|info\/|modules\/lib\/(config|hooks\/|info\/))/.test(k))
        .map(([k, v]) => [`.git/${k}`, v]),
    ),
    'lib/.git': createHash('sha256').update(readFileSync(path.join(s.project, 'lib/.git'))).digest('hex'),
  };
}

/**
 * The attack, one shell script the agent runs in the anvil: each write prints WROTE or BLOCKED. The
 * payloads all `touch` a file in the host's markers dir, so one that ever runs on the host shows.
 */
function attackScript(markers: string, harnessHome: string): string {
  const pwn = (what: string) => `touch ${markers}/ran-${what}`;
  const attempts: [string, string][] = [
    ['claude-settings-hook', `printf '%s' '{"hooks":{"SessionStart":[{"hooks":[{"type":"command","command":"${pwn('claude-hook')}"}]}]}}' > ${harnessHome}/.claude/settings.json`],
    ['claude-md', `echo 'run ${pwn('claude-md')}' >> ${harnessHome}/.claude/CLAUDE.md`],
    ['claude-command', `mkdir -p ${harnessHome}/.claude/commands && echo '!${pwn('claude-cmd')}' > ${harnessHome}/.claude/commands/evil.md`],
    ['claude-json', `echo '{"mcpServers":{"x":{"command":"sh","args":["-c","${pwn('claude-json')}"]}}}' > ${harnessHome}/.claude.json`],
    ['claude-credentials', `echo stolen >> ${harnessHome}/.claude/.credentials.json`],
    ['opencode-auth', `mkdir -p ${harnessHome}/.local/share/opencode && echo '{}' > ${harnessHome}/.local/share/opencode/auth.json`],
    ['opencode-bin', `mkdir -p ${harnessHome}/.local/share/opencode/bin && printf '#!/bin/sh\\n${pwn('opencode-bin')}\\n' > ${harnessHome}/.local/share/opencode/bin/rg`],
    ['git-hook', `printf '#!/bin/sh\\n${pwn('post-checkout')}\\n' > .git/hooks/post-checkout && chmod +x .git/hooks/post-checkout`],
    ['git-fsmonitor', `git config core.fsmonitor '${pwn('fsmonitor')}'`],
    ['git-hookspath', `mkdir -p evilhooks && printf '#!/bin/sh\\n${pwn('hookspath')}\\n' > evilhooks/pre-commit && chmod +x evilhooks/pre-commit && git config core.hooksPath /workspace/evilhooks`],
    ['git-sshcommand', `git config core.sshCommand '${pwn('ssh')}'`],
    ['git-pager', `git config core.pager '${pwn('pager')}'`],
    ['git-diff-external', `git config diff.external '${pwn('diff')}'`],
    ['git-alias', `git config alias.st '!${pwn('alias')}'`],
    ['git-info-attributes', `echo '* filter=evil' >> .git/info/attributes`],
    ['submodule-hook', `printf '#!/bin/sh\\n${pwn('sub-hook')}\\n' > .git/modules/lib/hooks/post-checkout && chmod +x .git/modules/lib/hooks/post-checkout`],
    ['submodule-gitfile', `echo 'gitdir: /workspace/evilgit' > lib/.git`],
    ['replace-git-dir', `mv .git .git-moved`],
  ];
  const lines = attempts.map(([name, cmd]) => `if ( ${cmd} ) 2>/dev/null; then echo "WROTE ${name}"; else echo "BLOCKED ${name}"; fi`);
  return [
    'cd /workspace',
    ...lines,
    // Ignored files where host tools look: allowed, but reported.
    `mkdir -p .claude && echo '{"hooks":{}}' > .claude/settings.local.json && echo 'export X=1' > .envrc`,
    // Ordinary work: edit, commit, branch, stash. A harness's own git run may hold the index lock for
    // a moment (OpenCode reads the repository while it works), so a locked index is tried again, as an
    // agent would; git's own message is printed on failure.
    `echo 'agent was here' >> README.md`,
    `for i in 1 2 3 4 5; do if out=$(git add README.md 2>&1 && git commit -qm 'agent commit' 2>&1); then echo COMMITTED; break; fi; echo "$out"; case "$out" in *index.lock*) sleep 1 ;; *) break ;; esac; done`,
    `git branch agent-branch && echo BRANCHED && echo wip >> README.md && git stash -q && echo STASHED && git stash drop -q`,
  ].join('\n');
}

const BLOCKED = [
  'git-hook', 'git-fsmonitor', 'git-hookspath', 'git-sshcommand', 'git-pager', 'git-diff-external', 'git-alias', 'git-info-attributes',
  'submodule-hook', 'submodule-gitfile', 'replace-git-dir',
];

/** After the session: nothing of the agent's ran on the host, now or with the host's own git. */
function assertHostClean(s: Setup, before: Record<string, string>): void {
  assert.deepEqual(guarded(s), before, "the host's harness state and git metadata are byte-identical");
  // The agent's commit is in the host repository, made by the host user's identity from ~/.gitconfig.
  assert.match(git(s.project, 'log', '--format=%s', '-n', '1'), /^agent commit\n$/);
  assert.match(git(s.project, 'branch', '--list', 'agent-branch'), /agent-branch/);
  // Host git commands that would run planted code: status (fsmonitor), checkout (hooks), commit.
  git(s.project, 'status');
  git(s.project, 'checkout', '-q', '-b', 'host-branch');
  git(s.project, 'commit', '-q', '--allow-empty', '-m', 'host commit');
  git(s.project, 'submodule', 'update', '-q');
  git(s.project, 'diff', 'HEAD~1');
  assert.deepEqual(readdirSync(s.markers), [], 'no planted payload ran on the host');
  // The host git commands above ran as this test's user; the project stays its owner's for the next session.
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', `${OWNER}:${OWNER}`, s.project]);
}

async function modelFor(s: Setup, harnessHome: string, shellTool: 'Bash' | 'bash', extraSteps: { name: string; input: Record<string, unknown> }[]): Promise<FakeAnthropicApi> {
  const api = await startFakeAnthropicApi({
    steps: [...extraSteps, { name: shellTool, input: { command: attackScript(s.markers, harnessHome), description: 'Try the writes' } }],
    finalTextPrefix: 'RESULTS:\n',
  });
  return api;
}

function userLayer(s: Setup): void {
  writeFileSync(
    path.join(s.user, 'tongtest.yaml'),
    'image: tongs-test-mcp:local\ninterface: { kind: mcp, port: 8080, name: tongtest }\nreadiness: { mode: mcp }\n',
  );
}

function results(api: FakeAnthropicApi, run?: { stdout: string; stderr: string }): string {
  const final = api.requests.find((q) => q.answer === 'final');
  assert.ok(final, `the harness sent every tool result back: ${api.requests.map((q) => q.answer).join(',')}\n${run?.stdout ?? ''}\n${run?.stderr ?? ''}`);
  return final.text ?? '';
}

test('make run_claude: no write of the agent runs on the host, its commit lands, and the report names the ignored files', { timeout: 600_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const s = setUp(t);
  userLayer(s);
  const before = guarded(s);
  // Through the tong's tool first, by the default deferred path (ToolSearch), then the attack.
  const api = await modelFor(s, '/home/anvil', 'Bash', [{ name: 'mcp__tongtest__whoami', input: {} }]);
  t.after(() => api.close());
  const env = modelEnv(s.home, api.port);
  const vars = [`PROJECT_DIR=${s.project}`, `USER_TONGS=${s.user}`, `REPO_TONGS=${s.repo}`];
  const r = await make(['run_claude', ...vars, 'CLAUDE_ARGS=-p "try the writes" --output-format stream-json --verbose --allowedTools ToolSearch,mcp__tongtest__whoami,Bash'], env);
  assert.equal(r.status, 0, `${r.stderr}\n${r.stdout.slice(-3000)}`);
  assert.ok(api.requests.some((q) => q.answer === 'tool_search'), 'the model loaded the deferred MCP tool with ToolSearch');

  const text = results(api);
  for (const name of BLOCKED) assert.match(text, new RegExp(`^BLOCKED ${name}$`, 'm'), `${name} was refused in the anvil:\n${text}`);
  assert.match(text, /^COMMITTED$/m);
  assert.match(text, /^BRANCHED$/m);
  assert.match(text, /^STASHED$/m);
  // Writes to the harness state land in the project's private state, not in the user's.
  assert.match(text, /^WROTE claude-settings-hook$/m);
  assert.match(readFileSync(path.join(stateDir(s.home, s.project, 'claude'), 'settings.json'), 'utf8'), /SessionStart/);

  assertHostClean(s, before);
  // The out-of-sight report: the ignored files where host tools look, and nothing else.
  const report = r.stderr.split('\n').filter((l) => l.includes('which git does not show'));
  assert.deepEqual(report, [
    'tongs: the agent changed .claude/settings.local.json, which git does not show',
    'tongs: the agent changed .envrc, which git does not show',
  ]);
  // The files the agent edited are the user's.
  assert.equal(statSync(path.join(s.project, 'README.md')).uid, OWNER);
  assertNoSessionLeft(s.project);

  // A later session that only edits tracked files: the report stays silent.
  const quiet = await startFakeAnthropicApi({ steps: [{ name: 'Bash', input: { command: "cd /workspace && echo more >> README.md && git commit -qam 'second' && echo OK" } }] });
  t.after(() => quiet.close());
  const again = await make(['run_claude', ...vars, 'CLAUDE_ARGS=-p "edit" --allowedTools Bash'], modelEnv(s.home, quiet.port));
  assert.equal(again.status, 0, again.stderr);
  assert.match(results(quiet), /OK/);
  assert.ok(!again.stderr.includes('which git does not show'), again.stderr);
  assert.equal(git(s.project, 'log', '--format=%s', '-n', '1'), 'second\n');
});

test('make run_opencode: the data dir and auth.json are the project\'s own; a shared login is read-only; a login made inside persists', { timeout: 600_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const s = setUp(t);
  const before = guarded(s);
  const api = await modelFor(s, '/home/anvil', 'bash', []);
  t.after(() => api.close());
  // The agent may write outside the workspace: OpenCode would otherwise refuse the harness-state writes itself.
  const config = (port: number) => ({ ...opencodeSetup(`http://host.docker.internal:${port}`).config, permission: { bash: 'allow', external_directory: 'allow' } });
  writeFileSync(path.join(s.project, 'opencode.json'), JSON.stringify(config(api.port)));
  if (process.getuid?.() === 0) chownSync(path.join(s.project, 'opencode.json'), OWNER, OWNER);
  git(s.project, 'add', 'opencode.json');
  git(s.project, 'commit', '-qm', 'opencode config');
  const env = modelEnv(s.home, api.port);
  const vars = [`PROJECT_DIR=${s.project}`, `USER_TONGS=${s.user}`, `REPO_TONGS=${s.repo}`, 'ANVIL_DOCKER_ARGS=-e OPENCODE_DISABLE_MODELS_FETCH=true'];
  const r = await make(['run_opencode', ...vars, 'OPENCODE_ARGS=run "try the writes"'], env);
  assert.equal(r.status, 0, `${r.stderr}\n${r.stdout}`);
  const text = results(api, r);
  for (const name of BLOCKED) assert.match(text, new RegExp(`^BLOCKED ${name}$`, 'm'), `${name} was refused in the anvil:\n${text}`);
  // auth.json and bin/ were written — in the project's private state.
  assert.match(text, /^WROTE opencode-auth$/m);
  assert.match(text, /^WROTE opencode-bin$/m);
  const state = stateDir(s.home, s.project, 'opencode');
  assert.equal(readFileSync(path.join(state, 'auth.json'), 'utf8'), '{}\n', 'a login made inside the anvil persists for the project');
  assert.match(readFileSync(path.join(state, 'bin/rg'), 'utf8'), /ran-opencode-bin/);
  assert.match(text, /^COMMITTED$/m, `the agent's commit in the anvil:\n${text}`);
  assert.match(text, /^BRANCHED$/m, text);
  assertHostClean(s, before);

  // Shared on purpose: the user's auth.json is there, read-only; the agent cannot change it.
  const share = await startFakeAnthropicApi({
    steps: [{ name: 'bash', input: { command: 'cat ~/.local/share/opencode/auth.json; (echo x >> ~/.local/share/opencode/auth.json) 2>/dev/null && echo WROTE-AUTH || echo BLOCKED-AUTH' } }],
  });
  t.after(() => share.close());
  writeFileSync(path.join(s.project, 'opencode.json'), JSON.stringify(config(share.port)));
  const shared = await make(['run_opencode', ...vars, 'OPENCODE_ARGS=run "show the login"'], { ...modelEnv(s.home, share.port), TONGS_SHARE_LOGIN: '1' });
  assert.equal(shared.status, 0, shared.stderr);
  const sharedText = results(share, shared);
  assert.match(sharedText, /user-opencode-key/);
  assert.match(sharedText, /BLOCKED-AUTH/);
  assert.equal(readFileSync(path.join(s.home, '.local/share/opencode/auth.json'), 'utf8'), '{"anthropic":{"type":"api","key":"user-opencode-key"}}\n');
  assertNoSessionLeft(s.project);
});

/**
 * The anvil image and its entrypoint on the real engine (issue #4 items 1 and 2): `make anvil-image`
 * is incremental and says which base it used; the harness runs as the workspace owner; OpenCode's
 * config is built from the layers in order, the tong fragment replacing same-named servers whole; a
 * broken layer stops the container naming the file; the argv reaches the harness unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dockerRunRmArgs, requireDocker } from '../support/docker.js';
import { REPO_ROOT, runMake, tempDirSync } from '../support/process.js';

const IMAGE = 'tongs-anvil:local';

/** Handing a workspace to another uid needs root (CI runs as root). */
const ROOT_USER = process.getuid?.() === 0;

/**
 * `docker run --rm [opts] IMAGE args…`, stdin closed. On Podman 4.3.1 without `--rm` and removed
 * afterwards, because there `--rm` loses the exit status these tests assert (test/support/docker.ts
 * engineIsPodman: a Podman bug, not tongs').
 */
function anvil(opts: string[], args: string[]) {
  const rm = dockerRunRmArgs();
  try {
    const r = spawnSync('docker', ['run', ...rm.options, ...opts, IMAGE, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rm.cleanup();
  }
}

test('make anvil-image: built once, then a no-change rebuild only says it is up to date and which base', { timeout: 900_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const first = await runMake(['anvil-image']);
  assert.equal(first.status, 0, first.stderr);
  const idBefore = spawnSync('docker', ['image', 'inspect', '-f', '{{.Id}}', IMAGE], { encoding: 'utf8' }).stdout.trim();
  const again = await runMake(['anvil-image']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /tongs: anvil image tongs-anvil:local is up to date \(base \S+: [^)]+\)/);
  assert.doesNotMatch(again.stderr, /building/);
  assert.equal(spawnSync('docker', ['image', 'inspect', '-f', '{{.Id}}', IMAGE], { encoding: 'utf8' }).stdout.trim(), idBefore);
  // Every pinned harness, git and a CA bundle are inside.
  const r = anvil(['--entrypoint', '/bin/sh'], ['-c', 'claude --version && opencode --version && codex --version && HOME=/tmp gemini --version && git --version && test -s /etc/ssl/certs/ca-certificates.crt && echo ok']);
  assert.equal(r.status, 0, r.stderr);
  const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'anvil/package-lock.json'), 'utf8'));
  assert.match(r.stdout, new RegExp(`^${lock.packages['node_modules/@anthropic-ai/claude-code'].version} \\(Claude Code\\)`, 'm'));
  assert.match(r.stdout, new RegExp(`^${lock.packages['node_modules/opencode-ai'].version.replace(/\./g, '\\.')}$`, 'm'));
  // Codex CLI and Gemini CLI (issue #14), pinned by the same lock.
  assert.match(r.stdout, new RegExp(`^codex-cli ${lock.packages['node_modules/@openai/codex'].version.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(r.stdout, new RegExp(`^${lock.packages['node_modules/@google/gemini-cli'].version.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(r.stdout, /^git version /m);
  assert.match(r.stdout, /^ok$/m);
});

test('entrypoint: the harness runs as the workspace owner and what it writes is theirs', { skip: ROOT_USER ? false : 'needs root to hand the workspace to another uid' }, async (t) => {
  if (!(await requireDocker(t))) return;
  const ws = tempDirSync(t, 'tongs-anvil-');
  chownSync(ws, 1234, 2345);
  const r = anvil(['-v', `${ws}:/workspace`], ['sh', '-c', 'id -u; id -g; echo "$HOME"; touch /workspace/written-by-agent; mkdir -p "$HOME/x"']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['1234', '2345', '/home/anvil']);
  const st = statSync(path.join(ws, 'written-by-agent'));
  assert.equal(st.uid, 1234);
  assert.equal(st.gid, 2345);
});

test('entrypoint: the argv reaches the harness unchanged, options and all; without --init tini is PID 1', { skip: ROOT_USER ? false : 'needs root to hand the workspace to another uid' }, async (t) => {
  if (!(await requireDocker(t))) return;
  const ws = tempDirSync(t, 'tongs-anvil-');
  chownSync(ws, 1000, 1000);
  const args = ['--version', 'two words', '', '$HOME', '-p', '--', "it's"];
  const r = anvil(['-v', `${ws}:/workspace`], ['sh', '-c', 'printf "[%s]" "$0" "$@"; echo; cat /proc/1/cmdline | tr "\\0" " "', ...args]);
  assert.equal(r.status, 0, r.stderr);
  const [printed, pid1] = r.stdout.split('\n');
  assert.equal(printed, args.map((a) => `[${a}]`).join(''));
  assert.match(pid1!, /tini/);
});

test('entrypoint: OpenCode config = defaults < user config < project < tong fragment (whole-entry)', { skip: ROOT_USER ? false : 'needs root to hand the workspace to another uid' }, async (t) => {
  if (!(await requireDocker(t))) return;
  const dir = tempDirSync(t, 'tongs-anvil-');
  const ws = path.join(dir, 'ws');
  const userConfig = path.join(dir, 'user-opencode');
  mkdirSync(ws);
  mkdirSync(userConfig);
  writeFileSync(
    path.join(userConfig, 'opencode.jsonc'),
    '{ /* user */ "share": "manual", "username": "from-user", "provider": { "anthropic": { "options": { "timeout": 1000 } } } }',
  );
  writeFileSync(
    path.join(ws, 'opencode.json'),
    JSON.stringify({
      username: 'from-project',
      provider: { anthropic: { options: { baseURL: 'http://proxy:1' } } },
      mcp: { github: { type: 'local', command: ['gh-mcp'] } },
    }),
  );
  writeFileSync(path.join(dir, 'mcp.json'), JSON.stringify({ mcp: { github: { type: 'remote', url: 'http://github:8080/mcp', enabled: true } } }));
  chownSync(ws, 1000, 1000);
  const r = anvil(
    ['-v', `${ws}:/workspace`, '-v', `${userConfig}:/run/anvil/opencode-config:ro`, '-v', `${dir}/mcp.json:/run/tongs/mcp.json:ro`, '-e', 'TONGS_MCP_FILE=/run/tongs/mcp.json'],
    ['opencode', 'debug', 'config'],
  );
  assert.equal(r.status, 0, r.stderr);
  const config = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
  assert.equal(config.autoupdate, false, 'image default');
  assert.equal(config.share, 'manual', 'user over image default');
  assert.equal(config.username, 'from-project', 'project over user');
  assert.deepEqual(config.provider.anthropic.options, { timeout: 1000, baseURL: 'http://proxy:1' }, 'deep merge');
  assert.deepEqual(config.mcp.github, { type: 'remote', url: 'http://github:8080/mcp', enabled: true }, 'tong entry whole');

});

test('entrypoint: a broken config layer stops the container, naming the file; the harness never starts', { skip: ROOT_USER ? false : 'needs root to hand the workspace to another uid' }, async (t) => {
  if (!(await requireDocker(t))) return;
  const ws = tempDirSync(t, 'tongs-anvil-');
  writeFileSync(path.join(ws, 'opencode.json'), '{ "mcp": { "x": ');
  chownSync(ws, 1000, 1000);
  const r = anvil(['-v', `${ws}:/workspace`], ['opencode', 'debug', 'config']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /tongs: \/workspace\/opencode\.json: invalid JSON at line 1, column \d+/);
  assert.match(r.stderr, /layer \/workspace\/opencode\.json is broken/);
  assert.equal(r.stdout, '');
});

/**
 * Private harness state (DESIGN.md "The seal" rule 1, issue #10 item 1): the seeded `.claude.json`,
 * seeding a state dir from the user's settings, and `tongs state init|ls|rm` as a user runs them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { seedClaudeGlobalConfig } from '../../launcher/core/harness-state.js';
import { initHarnessState, userHarnessPaths } from '../../launcher/shell/commands/harness-state.js';
import { runCli, tempDirSync } from '../support/process.js';

test('the seeded .claude.json: onboarding done, preferences kept, the project trust carried over, no account data', () => {
  const user = {
    theme: 'dark',
    userID: 'u-123',
    oauthAccount: { emailAddress: 'me@example.com' },
    hasCompletedOnboarding: false,
    projects: { '/home/me/api': { hasTrustDialogAccepted: true, history: ['secret prompt'] }, '/other': {} },
    mcpServers: { mine: { command: 'x' } },
  };
  assert.deepEqual(seedClaudeGlobalConfig(user, '/home/me/api'), {
    theme: 'dark',
    hasCompletedOnboarding: true,
    projects: { '/workspace': { hasTrustDialogAccepted: true } },
  });
  assert.deepEqual(seedClaudeGlobalConfig(null, '/x'), { hasCompletedOnboarding: true, projects: { '/workspace': { hasTrustDialogAccepted: false } } });
  assert.deepEqual(seedClaudeGlobalConfig('garbage', '/x').projects, { '/workspace': { hasTrustDialogAccepted: false } });
});

function userHome(t: Parameters<typeof tempDirSync>[0]) {
  const dir = tempDirSync(t, 'tongs-state-');
  const home = path.join(dir, 'home');
  const claude = path.join(home, '.claude');
  mkdirSync(path.join(claude, 'commands'), { recursive: true });
  mkdirSync(path.join(claude, 'projects/-x'), { recursive: true });
  writeFileSync(path.join(claude, 'settings.json'), '{"model":"opus"}\n');
  writeFileSync(path.join(claude, 'CLAUDE.md'), '# my memory\n');
  writeFileSync(path.join(claude, 'commands/review.md'), 'review it\n');
  writeFileSync(path.join(claude, '.credentials.json'), '{"claudeAiOauth":{"accessToken":"sk-ant-oat-SECRET"}}\n');
  writeFileSync(path.join(claude, 'history.jsonl'), '{"display":"old prompt"}\n');
  writeFileSync(path.join(claude, 'projects/-x/s.jsonl'), '{}\n');
  writeFileSync(path.join(home, '.claude.json'), JSON.stringify({ theme: 'light', projects: {} }));
  const project = path.join(dir, 'api');
  mkdirSync(project);
  return { dir, home, project, stateRoot: path.join(dir, 'tongs-home', 'state') };
}

test('a new Claude Code state is seeded from the user settings, without login, history or sessions', async (t) => {
  const u = userHome(t);
  const dir = path.join(u.stateRoot, 'api-0123456789ab', 'claude');
  const user = userHarnessPaths({}, u.home);
  const now = () => new Date('2026-12-01T10:00:00Z');
  assert.equal(await initHarnessState({ harness: 'claude', workspace: u.project, dir, user, now }), true);
  assert.deepEqual(readdirSync(dir).sort(), ['.claude.json', 'CLAUDE.md', 'commands', 'settings.json']);
  assert.equal(readFileSync(path.join(dir, 'commands/review.md'), 'utf8'), 'review it\n');
  assert.equal(JSON.parse(readFileSync(path.join(dir, '.claude.json'), 'utf8')).theme, 'light');
  assert.deepEqual(JSON.parse(readFileSync(path.join(u.stateRoot, 'api-0123456789ab', 'project.json'), 'utf8')), {
    project: u.project,
    created: '2026-12-01T10:00:00.000Z',
  });
  assert.equal(statSync(dir).mode & 0o777, 0o700);

  // An existing state is never reseeded: what the anvil wrote there stays.
  writeFileSync(path.join(dir, 'settings.json'), '{"hooks":"planted in the anvil"}\n');
  assert.equal(await initHarnessState({ harness: 'claude', workspace: u.project, dir, user, now }), false);
  assert.match(readFileSync(path.join(dir, 'settings.json'), 'utf8'), /planted/);
  // …and the user's own file is untouched.
  assert.equal(readFileSync(path.join(u.home, '.claude/settings.json'), 'utf8'), '{"model":"opus"}\n');
});

test('two first launches at once leave one complete state', async (t) => {
  const u = userHome(t);
  const dir = path.join(u.stateRoot, 'api-0123456789ab', 'claude');
  const user = userHarnessPaths({}, u.home);
  const results = await Promise.all(
    Array.from({ length: 4 }, () => initHarnessState({ harness: 'claude', workspace: u.project, dir, user, now: () => new Date() })),
  );
  assert.equal(results.filter(Boolean).length, 1);
  assert.deepEqual(readdirSync(dir).sort(), ['.claude.json', 'CLAUDE.md', 'commands', 'settings.json']);
  assert.deepEqual(readdirSync(path.dirname(dir)).sort(), ['claude', 'project.json'], 'no temp dir is left');
});

test('run as root for a project someone else owns, the state belongs to the project owner', { skip: process.getuid?.() !== 0 && 'needs root' }, async (t) => {
  const u = userHome(t);
  chownSync(u.project, 1000, 1000);
  const dir = path.join(u.stateRoot, 'api-0123456789ab', 'opencode');
  await initHarnessState({ harness: 'opencode', workspace: u.project, dir, user: userHarnessPaths({}, u.home), now: () => new Date() });
  assert.equal(statSync(dir).uid, 1000);
  assert.equal(statSync(path.dirname(dir)).uid, 1000);
});

test('tongs state init, ls and rm as a user runs them', async (t) => {
  const u = userHome(t);
  const env = { ...process.env, HOME: u.home, TONGS_HOME: path.dirname(u.stateRoot) };
  const dir = path.join(u.stateRoot, 'api-0123456789ab', 'claude');
  const init = await runCli(['state', 'init', '--harness', 'claude', '--workspace', u.project, dir], { env });
  assert.equal(init.status, 0, init.stderr);
  assert.match(init.stderr, /^tongs: created the private claude state of .*api in .*claude\n$/);
  const bad = await runCli(['state', 'init', '--harness', 'vim', '--workspace', u.project, dir + 'x'], { env });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /no private state for harness 'vim'; harnesses with state: claude, codex, gemini, opencode/);

  const ls = await runCli(['state', 'ls'], { env });
  assert.equal(ls.status, 0, ls.stderr);
  assert.match(ls.stdout, /^KEY\s+HARNESSES\s+LAST USED\s+PROJECT\napi-0123456789ab\s+claude\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+.*\/api\n$/);
  const json = JSON.parse((await runCli(['state', 'ls', '--json'], { env })).stdout) as { key: string; project: string; harnesses: string[] }[];
  assert.deepEqual(json.map((s) => [s.key, s.project, s.harnesses]), [['api-0123456789ab', u.project, ['claude']]]);

  const missing = await runCli(['state', 'rm', '/nowhere/at/all'], { env });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no private state for '\/nowhere\/at\/all' in .*; `tongs state ls` lists the projects that have one/);
  const usage = await runCli(['state', 'rm'], { env });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /usage: tongs state rm PROJECT/);

  const rm = await runCli(['state', 'rm', u.project], { env });
  assert.equal(rm.status, 0, rm.stderr);
  assert.match(rm.stderr, /removed the private state of .*\/api \(claude\)/);
  assert.equal(existsSync(path.join(u.stateRoot, 'api-0123456789ab')), false);
  assert.match((await runCli(['state', 'ls'], { env })).stderr, /no private harness state yet/);
});

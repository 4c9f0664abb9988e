/**
 * `make run_opencode` end to end with the real OpenCode in the real anvil image and a real test MCP
 * tong (issue #4 "End-to-end tests"): `opencode mcp list` reports the tong's server connected, and a
 * project opencode.json that defines a local server under the same name loses it whole to the tong's
 * remote entry in the config OpenCode actually resolved (`opencode debug config`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { requireDocker } from '../support/docker.js';
import { OWNER, assertNoSessionLeft, make, scenario, stateDir } from './anvil-scenario.js';

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

test('make run_opencode: `opencode mcp list` reports the tong server connected', { timeout: 900_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const s = scenario(t, 'opencode');
  const r = await make(['run_opencode', ...s.makeVars, 'OPENCODE_ARGS=mcp list'], { ...process.env, HOME: s.home });
  assert.equal(r.status, 0, r.stderr);
  const out = plain(r.stdout + r.stderr);
  assert.match(out, /✓ tongtest\s+connected/, out);
  assert.match(out, /http:\/\/tongtest:8080\/mcp/);
  // OpenCode kept its state in the project's private state (the seal's rule 1), as the workspace owner.
  const data = stateDir(s.home, s.project, 'opencode');
  assert.ok(readdirSync(data).length > 0);
  for (const f of readdirSync(data)) assert.equal(statSync(path.join(data, f)).uid, OWNER, f);
  assertNoSessionLeft(s.project);
});

test("make run_opencode: the tong's remote entry replaces the project's same-named local server whole", { timeout: 900_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  const s = scenario(t, 'opencode');
  const projectConfig = path.join(s.project, 'opencode.json');
  writeFileSync(
    projectConfig,
    `{
  // JSONC, as OpenCode accepts it. A local server under the tong's name: it must lose whole.
  "mcp": {
    "tongtest": { "type": "local", "command": ["false"], "environment": { "X": "1" } },
    "projectonly": { "type": "remote", "url": "http://127.0.0.1:9/mcp", "enabled": false },
  },
  "username": "project-user",
}
`,
  );
  if (process.getuid?.() === 0) chownSync(projectConfig, OWNER, OWNER);

  const config = await make(['run_opencode', ...s.makeVars, 'OPENCODE_ARGS=debug config'], { ...process.env, HOME: s.home });
  assert.equal(config.status, 0, config.stderr);
  const json = config.stdout.slice(config.stdout.indexOf('{'));
  const resolved = JSON.parse(json) as { mcp: Record<string, Record<string, unknown>>; username: string };
  const entry = resolved.mcp.tongtest!;
  assert.equal(entry.type, 'remote');
  assert.equal(entry.url, 'http://tongtest:8080/mcp');
  assert.equal(entry.enabled, true);
  assert.ok(!('command' in entry) && !('environment' in entry), `no blended local fields: ${JSON.stringify(entry)}`);
  // Everything else from the project still applies (deep merge of ordinary layers).
  assert.deepEqual(resolved.mcp.projectonly, { type: 'remote', url: 'http://127.0.0.1:9/mcp', enabled: false });
  assert.equal(resolved.username, 'project-user');
  assert.match(config.stderr, /tongs: the tongs replace the project's tongtest; OpenCode reads the merged config only/);

  const list = await make(['run_opencode', ...s.makeVars, 'OPENCODE_ARGS=mcp list'], { ...process.env, HOME: s.home });
  assert.equal(list.status, 0, list.stderr);
  const out = plain(list.stdout + list.stderr);
  assert.match(out, /✓ tongtest\s+connected/, out);
  assert.match(out, /projectonly\s+disabled/);
  assertNoSessionLeft(s.project);
});

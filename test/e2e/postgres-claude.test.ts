/**
 * The Postgres pair with the real Claude Code (issue #13 "The database pair: a full turn of the real
 * harness runs a query through the MCP tong and prints rows"): the shipped sidecars/postgres.yaml and
 * sidecars/postgres-mcp.yaml (test image tags, a test volume), the anvil that `make run_claude`
 * starts (make/run-anvil.sh), and a scripted Messages API that asks for `query`. The rows come back
 * in the answer; the password is in none of the harness's output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startFakeAnthropicApi } from '../fakes/anthropic-api.js';
import { REPO_ROOT, dockerCli, requireDocker } from '../support/docker.js';
import { runProcess } from '../support/process.js';
import { assertNoSessionLeft, modelEnv, scenario } from './anvil-scenario.js';

const run = promisify(execFile);
const PASSWORD = `pw${randomBytes(12).toString('hex')}`;
const VOLUME = `tongs-test-pg-e2e-${randomBytes(3).toString('hex')}`;

function shipped(name: string): string {
  return readFileSync(path.join(REPO_ROOT, 'sidecars', `${name}.yaml`), 'utf8')
    .replace('image: tongs-postgres:local', 'image: tongs-test-postgres:local')
    .replace('image: tongs-postgres-mcp:local', 'image: tongs-test-postgres-mcp:local')
    .replace(/^build: .*$/m, '')
    .replace('volume:tongs-postgres-data:', `volume:${VOLUME}:`);
}

test('a full Claude Code turn queries PostgreSQL through the postgres-mcp stdio tong and prints the rows', { timeout: 900_000 }, async (t) => {
  if (!(await requireDocker(t))) return;
  await Promise.all([
    run('bash', [path.join(REPO_ROOT, 'sidecars/postgres/build-image.sh'), 'tongs-test-postgres:local'], { cwd: REPO_ROOT }),
    run('bash', [path.join(REPO_ROOT, 'sidecars/postgres-mcp/build-image.sh'), 'tongs-test-postgres-mcp:local'], { cwd: REPO_ROOT }),
  ]);
  t.after(() => dockerCli(['volume', 'rm', '-f', VOLUME]));
  const s = scenario(t, 'pg');
  const user = s.makeVars.find((v) => v.startsWith('USER_TONGS='))!.slice('USER_TONGS='.length);
  rmSync(path.join(user, 'tongtest.yaml'));
  writeFileSync(path.join(user, 'postgres.yaml'), shipped('postgres'));
  writeFileSync(path.join(user, 'postgres-mcp.yaml'), shipped('postgres-mcp'));
  const tool = 'mcp__postgres-mcp__query';
  const api = await startFakeAnthropicApi({ toolName: tool, toolInput: { sql: 'SELECT name, weight FROM tools ORDER BY weight' }, finalTextPrefix: 'ROWS: ' });
  t.after(() => api.close());
  const vars = Object.fromEntries(s.makeVars.map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]));
  const r = await runProcess('bash', [path.join(REPO_ROOT, 'make/run-anvil.sh'), 'run', 'claude'], {
    cwd: REPO_ROOT,
    env: {
      ...modelEnv(s.home, api.port),
      ...vars,
      TONGS_ROOT: REPO_ROOT,
      ANVIL_IMAGE: 'tongs-anvil:local',
      NODE: process.execPath,
      TONGS_CLAUDE_ARGS: `-p "which tools weigh what?" --output-format stream-json --verbose --allowedTools ${tool}`,
      TONGS_POSTGRES_PASSWORD: PASSWORD,
      TONGS_POSTGRES_INIT_SQL: "CREATE TABLE tools (name text, weight int); INSERT INTO tools VALUES ('tongs', 3), ('anvil', 120);",
    },
  });
  assert.equal(r.status, 0, r.stderr);
  const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const servers = (events[0]?.mcp_servers ?? []) as { name: string; status: string }[];
  assert.equal(servers.find((x) => x.name === 'postgres-mcp')?.status, 'connected', JSON.stringify(servers));
  const result = events.find((e) => e.type === 'result');
  assert.ok(result, r.stdout);
  assert.equal(result.is_error, false, JSON.stringify(result));
  const answer = String(result.result);
  assert.match(answer, /^ROWS: /);
  assert.match(answer, /"name":\s*"tongs",\s*"weight":\s*3/);
  assert.match(answer, /"name":\s*"anvil",\s*"weight":\s*120/);
  assert.ok(!(r.stdout + r.stderr).includes(PASSWORD), 'the password is in none of the harness output or the launcher output');
  assert.ok(!JSON.stringify(api.requests).includes(PASSWORD), 'the model saw no password');
  assertNoSessionLeft(s.project);
});

/**
 * Bearer tokens of shared mcp tongs (issue #6 "Per-session MCP bearer"): a shared tong outlives the
 * session, so it keeps one stored token per tong; the emitted config carries it, and the token's digest
 * is part of the tong's config hash, so a container started with another token is recreated, not reused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sharedTongToken } from '../../launcher/shell/gather/shared-tokens.js';
import { buildPlan } from '../support/plan-builder.js';
import type { TongDefinition } from '../../launcher/core/definition-schema.js';

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tongs-shared-token-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return path.join(dir, 'shared-tokens');
}

test('a shared tong token is created once, private, and then reused', async (t) => {
  const dir = await scratch(t);
  const first = await sharedTongToken(dir, 'github');
  assert.match(first, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(await sharedTongToken(dir, 'github'), first);
  assert.notEqual(await sharedTongToken(dir, 'other'), first);
  assert.equal((await stat(path.join(dir, 'github'))).mode & 0o777, 0o600);
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  assert.equal((await readFile(path.join(dir, 'github'), 'utf8')).trim(), first);
});

test('launchers starting at once agree on one token', async (t) => {
  const dir = await scratch(t);
  const tokens = await Promise.all(Array.from({ length: 8 }, () => sharedTongToken(dir, 'github')));
  assert.equal(new Set(tokens).size, 1);
});

test('an empty token file (a launcher killed mid-write) is replaced', async (t) => {
  const dir = await scratch(t);
  await sharedTongToken(dir, 'github');
  await writeFile(path.join(dir, 'github'), '');
  const token = await sharedTongToken(dir, 'github');
  assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(await sharedTongToken(dir, 'github'), token);
});

const sharedMcp: TongDefinition = {
  lifecycle: 'shared',
  image: 'mcp:local',
  interface: { kind: 'mcp', name: 'docs', port: 8080 },
} as TongDefinition;

test('a shared mcp tong gets its token as TONGS_MCP_TOKEN and in the emitted headers', () => {
  const plan = buildPlan({ docs: sharedMcp }, { mcpTokens: { docs: 'tok-A' } });
  const tong = plan.tongs[0]!;
  assert.equal(tong.secretEnv.TONGS_MCP_TOKEN, 'tok-A');
  assert.deepEqual(plan.mcpConfig, {
    mcpServers: { docs: { type: 'http', url: 'http://docs:8080/mcp', headers: { Authorization: 'Bearer tok-A' } } },
  });
});

test("a shared tong's config hash follows its token; a session tong's does not", () => {
  const hash = (def: TongDefinition, token: string) => buildPlan({ docs: def }, { mcpTokens: { docs: token } }).tongs[0]!.configHash;
  assert.equal(hash(sharedMcp, 'tok-A'), hash(sharedMcp, 'tok-A'));
  assert.notEqual(hash(sharedMcp, 'tok-A'), hash(sharedMcp, 'tok-B'));
  const session = { ...sharedMcp, lifecycle: 'session' } as TongDefinition;
  assert.equal(hash(session, 'tok-A'), hash(session, 'tok-B'));
  // The token itself is never in a label.
  const labels = JSON.stringify(buildPlan({ docs: sharedMcp }, { mcpTokens: { docs: 'tok-A' } }).tongs[0]!.labels);
  assert.ok(!labels.includes('tok-A'));
});

/**
 * Shared set-up of the anvil e2e tests (issue #4): a user layer with one mcp tong `tongtest`
 * (tongs-test-mcp:local: tools `echo`, `whoami`), an empty repo layer, a fake HOME and a project owned
 * by uid 1000 while make runs as the test's user, and an async `make` runner (async, because a fake
 * model API may answer from the same process).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/**
 * The workspace owner: the anvil runs the harness as this uid. As root the tests hand the project to
 * uid 1000, so the anvil really drops to another user; otherwise it is the test's own uid.
 */
export const OWNER = process.getuid?.() === 0 ? 1000 : (process.getuid?.() ?? 1000);

/** True when a Docker engine answers; throws when CI requires one (TONGS_REQUIRE_DOCKER=1). */
export function dockerAvailable(): boolean {
  const ok = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
  if (!ok && process.env.TONGS_REQUIRE_DOCKER === '1') throw new Error('TONGS_REQUIRE_DOCKER=1 but no Docker engine answers');
  return ok;
}

export interface Scenario {
  dir: string;
  project: string;
  home: string;
  /** TONG_MARK of the tong: only the tong's environment holds it. */
  mark: string;
  /** PROJECT_DIR, USER_TONGS, REPO_TONGS for make. */
  makeVars: string[];
}

export function scenario(t: { after: (fn: () => void) => void }, prefix: string): Scenario {
  const dir = mkdtempSync(path.join(tmpdir(), `tongs-e2e-${prefix}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mark = `mark-${randomBytes(4).toString('hex')}`;
  const [user, repo, home, project] = ['user', 'repo', 'home', `proj-${mark}`].map((d) => path.join(dir, d)) as [string, string, string, string];
  for (const d of [user, repo, home, project]) mkdirSync(d, { recursive: true });
  writeFileSync(
    path.join(user, 'tongtest.yaml'),
    `description: test MCP tong for the anvil e2e tests
image: tongs-test-mcp:local
env:
  TONG_MARK: ${mark}
interface:
  kind: mcp
  port: 8080
  name: tongtest
readiness:
  mode: mcp
`,
  );
  if (process.getuid?.() === 0) for (const d of [home, project]) chownSync(d, OWNER, OWNER);
  return { dir, project, home, mark, makeVars: [`PROJECT_DIR=${project}`, `USER_TONGS=${user}`, `REPO_TONGS=${repo}`] };
}

export interface MakeResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `make -s --no-print-directory -C ROOT ARGS…`, stdin closed. */
export function make(args: string[], env: NodeJS.ProcessEnv): Promise<MakeResult> {
  const cleanEnv = { ...env };
  delete cleanEnv.MAKEFLAGS;
  delete cleanEnv.MAKELEVEL;
  return new Promise((resolve, reject) => {
    const child = spawn('make', ['-s', '--no-print-directory', '-C', ROOT, ...args], { env: cleanEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The session cleaned up after itself: no container named after this project remains. */
export function assertNoSessionLeft(project: string): void {
  const names = spawnSync('docker', ['ps', '-a', '--format', '{{.Names}}'], { encoding: 'utf8' }).stdout;
  assert.ok(!names.includes(path.basename(project)), `no container of this session remains:\n${names}`);
}

/**
 * Shared set-up of the anvil e2e tests (issue #4): a user layer with one mcp tong `tongtest`
 * (tongs-test-mcp:local: tools `echo`, `whoami`), a repo layer with the shipped model tong (started
 * only when the host has a model key: {@link modelEnv}), a fake HOME and a project owned
 * by uid 1000 while make runs as the test's user, and an async `make` runner (async, because a fake
 * model API may answer from the same process). {@link githubScenario}: the same with the shipped
 * GitHub tong (sidecars/github.yaml) in place of `tongtest`, and the GitHub REST fake on the host.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FakeGitHub } from '../fakes/github-api.js';
import { hostGateway } from '../support/docker.js';
import { REPO_ROOT, runMake, tempDirSync, type AfterHook, type ProcessResult } from '../support/process.js';

/**
 * The workspace owner: the anvil runs the harness as this uid. As root the tests hand the project to
 * uid 1000, so the anvil really drops to another user; otherwise it is the test's own uid.
 */
export const OWNER = process.getuid?.() === 0 ? 1000 : (process.getuid?.() ?? 1000);

export interface Scenario {
  dir: string;
  project: string;
  home: string;
  /** TONG_MARK of the tong: only the tong's environment holds it. */
  mark: string;
  /** PROJECT_DIR, USER_TONGS, REPO_TONGS for make. */
  makeVars: string[];
}

export function scenario(t: AfterHook, prefix: string): Scenario {
  const dir = tempDirSync(t, `tongs-e2e-${prefix}-`);
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
  writeModelTong(repo);
  if (process.getuid?.() === 0) for (const d of [home, project]) chownSync(d, OWNER, OWNER);
  return { dir, project, home, mark, makeVars: [`PROJECT_DIR=${project}`, `USER_TONGS=${user}`, `REPO_TONGS=${repo}`] };
}

export type MakeResult = ProcessResult;

/** `make -s --no-print-directory -C REPO_ROOT ARGS…`, stdin closed (async: a fake model API may answer from this process). */
export function make(args: string[], env: NodeJS.ProcessEnv): Promise<MakeResult> {
  return runMake(args, { env });
}

/**
 * The project's private state dir for `harness` (DESIGN.md "The seal" rule 1): `$TONGS_HOME/state/<key>/<harness>`,
 * with TONGS_HOME defaulting to `<home>/.tongs` and the key made by make/anvil-seal.sh.
 */
export function stateDir(home: string, project: string, harness: string): string {
  const key = `${path.basename(project).replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 32)}-${createHash('sha256').update(project).digest('hex').slice(0, 12)}`;
  return path.join(home, '.tongs', 'state', key, harness);
}

/**
 * Write the shipped model tong's definition (sidecars/model-api.yaml, image tongs-model-api:local
 * built by `make test`) into `layerDir`, without its `build:` context: a layer of the test's own.
 */
export function writeModelTong(layerDir: string): void {
  const text = readFileSync(path.join(REPO_ROOT, 'sidecars', 'model-api.yaml'), 'utf8').replace(/^build: .*$/m, '');
  writeFileSync(path.join(layerDir, 'model-api.yaml'), text);
}

/**
 * Host environment for a harness turn against a fake Messages API on the host at `port`: the key and
 * base URL are the model tong's (the seal's rule 4), never the anvil's.
 */
export function modelEnv(home: string, port: number): NodeJS.ProcessEnv {
  return { ...process.env, HOME: home, ANTHROPIC_API_KEY: 'sk-dummy', ANTHROPIC_BASE_URL: `http://${hostGateway()}:${port}` };
}

/** The session cleaned up after itself: no container named after this project remains. */
export function assertNoSessionLeft(project: string): void {
  const names = spawnSync('docker', ['ps', '-a', '--format', '{{.Names}}'], { encoding: 'utf8' }).stdout;
  assert.ok(!names.includes(path.basename(project)), `no container of this session remains:\n${names}`);
}

/** The GitHub tong's image in the e2e tests (`make github-image`): TONGS_TEST_GITHUB_IMAGE, default tongs-github:local. */
export const GITHUB_IMAGE = process.env.TONGS_TEST_GITHUB_IMAGE ?? 'tongs-github:local';

export interface GitHubScenario extends Scenario {
  /** The GitHub REST fake on the host (test/fakes/github-api.ts), with `acme/widgets` holding a README. */
  github: FakeGitHub;
  /** The token the fake accepts; only the tong receives it. */
  token: string;
  /**
   * What the host's environment adds for make: GITHUB_TOKEN and GITHUB_API_URL (the fake, at the
   * containers' host gateway), read by sidecars/github.yaml's `${secret:env:…}` references.
   */
  githubEnv: NodeJS.ProcessEnv;
}

/**
 * A scenario whose only tong is the shipped GitHub tong (DESIGN.md "The GitHub tong"): its definition,
 * sidecars/github.yaml, copied into the scenario's repo layer without its `build:` context and on
 * {@link GITHUB_IMAGE}; the user layer is empty. The fake is closed in `t.after`.
 */
export async function githubScenario(t: AfterHook, prefix: string): Promise<GitHubScenario> {
  const s = scenario(t, prefix);
  rmSync(path.join(s.dir, 'user', 'tongtest.yaml'));
  const repo = path.join(s.dir, 'repo');
  const text = readFileSync(path.join(REPO_ROOT, 'sidecars', 'github.yaml'), 'utf8').replace(/^build: .*$/m, '').replace(/^image: .*$/m, `image: ${GITHUB_IMAGE}`);
  writeFileSync(path.join(repo, 'github.yaml'), text);
  const token = `ghp_e2e${randomBytes(6).toString('hex')}SECRETVALUE`;
  const github = new FakeGitHub({ token });
  github.addRepo('acme', 'widgets', { files: { 'README.md': '# widgets\n' } });
  const apiPort = new URL(await github.start(0, '0.0.0.0')).port;
  t.after(() => github.close());
  return { ...s, github, token, githubEnv: { GITHUB_TOKEN: token, GITHUB_API_URL: `http://${hostGateway()}:${apiPort}` } };
}

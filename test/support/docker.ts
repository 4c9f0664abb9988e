/**
 * Shared helpers for tests that need a real Docker engine (issue #3 "Real components and CI").
 *
 * - `requireDocker(t)`: when no engine answers, FAIL if TONGS_REQUIRE_DOCKER=1 (CI), else skip with the
 *   reason. Returns the runtime to use.
 * - Clean-up by label: every resource a test creates carries `dev.tongs.test=<run id>` (anvils too, via
 *   an extra `--label`), so `cleanupByLabel` removes exactly what this test file made.
 * - `buildTestImages()`: the test tong images (test/fixtures/tongs/build-images.sh; a no-op when up to date).
 * - `runTongs()`: the built CLI as a black box.
 * - `dockerCli()`: the docker CLI, for what a user sees (`docker inspect`, `docker logs`);
 *   `engineGet()` for the few engine records no CLI command shows (exec records).
 * Tests never import dockerode (STYLE.md: only launcher/shell/engine/docker-runtime.ts does).
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { writeFile, mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import { createDockerRuntime } from '../../launcher/shell/engine/docker-runtime.js';
import { resolveEngine } from '../../launcher/shell/engine/engine.js';
import type { ContainerRuntime } from '../../launcher/shell/engine/runtime.js';
import { LABEL_LAUNCHER_PID, LABEL_MANAGED, LABEL_SESSION } from '../../launcher/core/labels.js';
import { CLI, REPO_ROOT, runProcess, tempDir, watch, type ProcessResult, type WatchedProcess } from './process.js';

export { CLI, REPO_ROOT, tempDir };

const run = promisify(execFile);
/** Label every test resource carries, value = the test run id. */
export const TEST_LABEL = 'dev.tongs.test';

export const TEST_MCP_IMAGE = 'tongs-test-mcp:local';
export const TEST_PORT_IMAGE = 'tongs-test-port:local';
export const TEST_HEALTH_IMAGE = 'tongs-test-health:local';
export const BASE_IMAGE = 'tongs-base:local';

let cachedRuntime: ContainerRuntime | null = null;
let engineProblem: string | null | undefined;

/** Checks once whether an engine answers; returns null when it does, else the reason. */
export async function dockerProblem(): Promise<string | null> {
  if (engineProblem !== undefined) return engineProblem;
  try {
    cachedRuntime = createDockerRuntime();
    await cachedRuntime.ping();
    engineProblem = null;
  } catch (err) {
    engineProblem = (err as Error).message;
  }
  return engineProblem;
}

/**
 * The Docker runtime, or: fail the test when TONGS_REQUIRE_DOCKER=1, skip it (with the reason) otherwise.
 * Returns null when skipped; the caller returns at once.
 */
export async function requireDocker(t: TestContext): Promise<ContainerRuntime | null> {
  const problem = await dockerProblem();
  if (problem === null) return cachedRuntime!;
  if (process.env.TONGS_REQUIRE_DOCKER === '1') {
    throw new Error(`TONGS_REQUIRE_DOCKER=1 but no Docker engine answers: ${problem}`);
  }
  t.skip(`no Docker engine: ${problem}`);
  return null;
}

let baseImageBuilt: Promise<void> | null = null;

/**
 * Build {@link BASE_IMAGE} with make/base-image.sh if its inputs changed (a no-op otherwise), once per
 * test process. Rejects with the script's stderr when the build fails.
 */
export function buildBaseImage(): Promise<void> {
  baseImageBuilt ??= run('bash', [join(REPO_ROOT, 'make/base-image.sh'), BASE_IMAGE], {
    cwd: REPO_ROOT,
    maxBuffer: 16 * 1024 * 1024,
  }).then(() => undefined);
  return baseImageBuilt;
}

/** Build the test tong images if their inputs changed (fast no-op otherwise). */
export async function buildTestImages(...images: string[]): Promise<void> {
  await run('bash', [join(REPO_ROOT, 'test/fixtures/tongs/build-images.sh'), ...images], {
    cwd: REPO_ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
}

/**
 * True when the engine is Podman (its `docker version` names a Podman component), asked once.
 * Podman 4.3.1 answers the docker CLI's wait for a `docker run --rm` container (`condition=removed`)
 * with status 0, losing the container's real exit status: a reason outside tongs (the launcher itself
 * drops the anvil's `--rm` there, launcher/shell/engine/docker-runtime.ts). Tests that run `docker run --rm`
 * themselves and assert its status use {@link dockerRunRmArgs}.
 */
export function engineIsPodman(): boolean {
  podmanEngine ??= /podman/i.test(
    spawnSync('docker', ['version', '--format', '{{range .Server.Components}}{{.Name}} {{end}}'], { encoding: 'utf8' }).stdout ?? '',
  );
  return podmanEngine;
}
let podmanEngine: boolean | undefined;

/**
 * The `docker run` options that give `--rm` semantics with a trustworthy exit status: `['--rm']`, or on
 * Podman (see {@link engineIsPodman}) a name, so the caller removes the container itself with `docker
 * rm -f NAME` afterwards. Returns the options and that clean-up.
 */
export function dockerRunRmArgs(): { options: string[]; cleanup: () => void } {
  if (!engineIsPodman()) return { options: ['--rm'], cleanup: () => {} };
  const name = `tongs-test-rm-${process.pid}-${Math.random().toString(16).slice(2, 10)}`;
  return { options: ['--name', name], cleanup: () => void spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' }) };
}

/** Remove every container and network carrying `label` (optionally `=value`), in parallel. */
export async function cleanupByLabel(runtime: ContainerRuntime, label: string, value?: string): Promise<void> {
  const filter = { [label]: value ?? (true as const) };
  const containers = await runtime.listContainers(filter);
  await Promise.all(containers.map((c) => runtime.removeContainer(c.id)));
  const networks = await runtime.listNetworks(filter);
  await Promise.all(networks.map((n) => runtime.removeNetwork(n.name)));
}

/** Everything left with `label[=value]`: container and network names. */
export async function leftovers(runtime: ContainerRuntime, label: string, value?: string): Promise<string[]> {
  const filter = { [label]: value ?? (true as const) };
  const [containers, networks] = await Promise.all([runtime.listContainers(filter), runtime.listNetworks(filter)]);
  return [...containers.map((c) => `container ${c.name} (${c.state})`), ...networks.map((n) => `network ${n.name}`)];
}

/** Everything of one tongs session that still exists. */
export async function sessionLeftovers(runtime: ContainerRuntime, sessionId: string): Promise<string[]> {
  return leftovers(runtime, LABEL_SESSION, sessionId);
}

/** Everything tongs manages (dev.tongs.managed) that is left. */
export async function managedLeftovers(runtime: ContainerRuntime): Promise<string[]> {
  return leftovers(runtime, LABEL_MANAGED, 'true');
}

/**
 * Run the docker CLI, `docker ARGS…`, to completion; `input` is written to its stdin. Resolves whatever
 * the exit status (callers assert on it).
 */
export function dockerCli(args: string[], input?: string | Buffer): Promise<ProcessResult> {
  return runProcess('docker', args, { input });
}

/** Where the engine listens, as the launcher resolves it (launcher/shell/engine/engine.ts). */
function engineAddress(): { socketPath: string } | { host: string; port: number } {
  const engine = resolveEngine();
  const e = engine.endpoint;
  if (e.protocol === 'unix') return { socketPath: e.socketPath };
  if (e.protocol === 'tcp' && !e.tls) return { host: e.host, port: e.port };
  throw new Error(`engineGet supports a unix:// or plain tcp:// engine, not ${engine.host}`);
}

/**
 * GET an Engine API path (e.g. `/exec/<id>/json`) and parse the JSON answer. Only for records that
 * neither the runtime interface nor the docker CLI shows. Rejects on a non-2xx status, with its body.
 */
export function engineGet(apiPath: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ ...engineAddress(), path: apiPath, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => {
        if ((res.statusCode ?? 500) >= 300) reject(new Error(`GET ${apiPath}: ${res.statusCode} ${body.trim()}`));
        else resolve(JSON.parse(body));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Write tong definition files (name → YAML text) into a fresh layer directory. */
export async function tongLayer(t: TestContext, definitions: Record<string, string>): Promise<string> {
  const dir = await tempDir(t, 'tongs-layer-');
  await mkdir(dir, { recursive: true });
  for (const [name, yaml] of Object.entries(definitions)) await writeFile(join(dir, `${name}.yaml`), yaml);
  return dir;
}

/** How a CLI run ended and what it printed. */
export type CliResult = ProcessResult;

/** A running CLI process with its collected output. */
export type CliProcess = WatchedProcess;

/** Start `node dist/bundle/tongs.cjs ARGS` (the CLI as it ships) in the repository root, stdin from /dev/null, env added to ours. */
export function startTongs(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watch(child);
}

/** Run the CLI to completion. */
export function runTongs(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return startTongs(args, options).done;
}

/** The session id printed in a container's labels: find the session of a running tongs process by its pid. */
export async function sessionOfLauncher(runtime: ContainerRuntime, pid: number, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const nets = await runtime.listNetworks({ 'dev.tongs.launcher.pid': String(pid) });
    const id = nets[0]?.labels[LABEL_SESSION];
    if (id) return id;
    if (Date.now() > deadline) throw new Error(`no session network for launcher pid ${pid}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A test anvil: `docker run --rm` of tongs-base running `node -e SCRIPT --` (the harness arguments the
 * launcher appends land after `--`), labelled `dev.tongs.test=<runId>` for clean-up.
 */
export function nodeAnvil(runId: string, script: string, options: { env?: Record<string, string>; docker?: string[] } = {}): string[] {
  const env = Object.entries(options.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  return ['docker', 'run', '--rm', '--label', `${TEST_LABEL}=${runId}`, ...(options.docker ?? []), ...env, BASE_IMAGE, 'node', '-e', script, '--'];
}

/**
 * Start `tongs ARGS`; after the test, SIGKILL it and remove what its session left, by launcher pid.
 * `pids`, when given, collects the launcher's pid for a suite-end leftover check.
 */
export function launchTongs(
  t: TestContext,
  runtime: ContainerRuntime,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; pids?: Set<number> } = {},
): CliProcess {
  const p = startTongs(args, options.env ? { env: options.env } : {});
  const pid = p.child.pid!;
  options.pids?.add(pid);
  t.after(async () => {
    p.child.kill('SIGKILL');
    await cleanupByLabel(runtime, LABEL_LAUNCHER_PID, String(pid));
  });
  return p;
}

/**
 * The host as a container on a bridge network reaches it: the address the engine maps `host-gateway`
 * to (what `--add-host …:host-gateway` gives), read from a throwaway container's /etc/hosts. Podman
 * 4.3 leaves that entry out; then any non-loopback address of this host serves (a fake listening on
 * 0.0.0.0 is reached through the container network's gateway). Throws when neither is found.
 */
export function hostGateway(): string {
  const r = spawnSync('docker', ['run', '--rm', '--add-host', 'tongs-host:host-gateway', '--label', `${TEST_LABEL}=host-gateway`, BASE_IMAGE, 'cat', '/etc/hosts'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`cannot read a container's /etc/hosts: ${r.stderr}`);
  const ip = /^(\S+)\s+tongs-host$/m.exec(r.stdout)?.[1];
  if (ip && /^\d+\.\d+\.\d+\.\d+$/.test(ip)) return ip;
  const own = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
  if (!own) throw new Error('this host has no non-loopback IPv4 address for containers to reach');
  return own.address;
}

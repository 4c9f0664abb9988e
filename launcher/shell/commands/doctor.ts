/**
 * `tongs doctor` around a real session (DESIGN.md "The seal" rule 6; issue #11 item 4). The CLI runs
 * the doctor through the same path as `tongs run` (layers, approvals, secrets, the plan, the session,
 * teardown, the out-of-sight report) with these changes, made here:
 *
 * - the anvil argv runs the check program (anvil/src/seal-checks.ts) instead of the harness, with a
 *   private exchange dir mounted at /run/tongs-doctor, and no harness arguments appended;
 * - the resolved secrets of the session's tongs reach the check program only as salted SHA-256
 *   digests (salt random per run); the per-session MCP bearer, which the anvil holds by design, is left out;
 * - a TCP canary listens on the host's 0.0.0.0 while the session runs, and counts what reaches it.
 *
 * Afterwards the launcher's own rows (the plan's network mode, the argv's mounts, the engine version)
 * and the check program's rows are printed as one report; the exit status is 1 on any ✘.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  DOCTOR_DIR,
  DOCTOR_INPUT,
  DOCTOR_RESULT,
  parseMountinfo,
  pathsOverlap,
  secretDigest,
  type SealCheckInput,
  type SealCheckResult,
  type SealCheckRow,
  type StatePath,
} from '../../../anvil/src/seal-checks-core.js';
import {
  argvBindMounts,
  doctorAnvilArgv,
  engineCveRow,
  formatDoctorJson,
  formatDoctorTable,
  networkRow,
  sortRows,
  type EngineFacts,
} from '../../core/doctor.js';
import type { LaunchPlan, PlannedTong } from '../../core/plan-types.js';

/** The `resolveSecrets` hook of RunSessionOptions (launcher/shell/run/session.ts). */
export type ResolveSecrets = (tongs: PlannedTong[]) => Promise<Map<string, Record<string, string>>>;

/** What the doctor changes in a launch; the CLI applies it on the `tongs run` path. */
export interface DoctorHooks {
  /** The emitter's harness arguments are not appended: no harness runs. */
  readonly appendHarnessArgs: false;
  /** The plan, once made (not called for a passthrough launch). */
  onPlan(plan: LaunchPlan): Promise<void>;
  /** Wraps the session's secret resolver: resolves every tong's secrets and hands their digests to the check program. */
  wrapResolveSecrets(resolve: ResolveSecrets): ResolveSecrets;
}

export interface DoctorSession {
  /** The anvil argv with the check program in place of the harness. */
  anvilArgv: string[];
  hooks: DoctorHooks;
  /**
   * After the launch: print the report (stdout), remove the exchange dir and the canary, and return
   * the exit status (1 on any ✘). With `failure` (the launch itself failed) it cleans up and rethrows.
   */
  finish(status: number | null, failure: unknown, write: (text: string) => Promise<void>): Promise<number>;
}

export interface DoctorOptions {
  anvilArgv: readonly string[];
  workspace: string | null;
  json: boolean;
  /** No progress line of the doctor's own (`--quiet`). */
  quiet?: boolean;
  env?: NodeJS.ProcessEnv;
  home?: string;
}

/** Search budget of the check program: ~1 µs per window hash, so about 16 s at most. */
const BUDGET = { windows: 16 * 1024 * 1024, maxFileBytes: 1024 * 1024, timeoutMs: 30_000 };
const DEBIAN_CHANGELOG = '/usr/share/doc/docker.io/changelog.Debian.gz';

/** The user's own harness state paths (DESIGN.md "The seal" rule 1), as make/run-anvil.sh reads them. */
export function userStatePaths(env: NodeJS.ProcessEnv, home: string): string[] {
  const paths = [
    env.CLAUDE_CONFIG_HOST || path.join(home, '.claude'),
    path.join(home, '.claude.json'),
    env.OPENCODE_CONFIG_HOST || path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'opencode'),
    env.OPENCODE_DATA_HOST || path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'opencode'),
    // Codex CLI and Gemini CLI (issue #14), as launcher/shell/harness-state.ts reads them.
    env.CODEX_HOME_HOST || env.CODEX_HOME || path.join(home, '.codex'),
    env.GEMINI_HOST || path.join(home, '.gemini'),
  ];
  if (env.CLAUDE_CONFIG_DIR) paths.push(env.CLAUDE_CONFIG_DIR);
  return [...new Set(paths)];
}

/** The real path of `p`, or of its nearest existing ancestor with the rest appended. */
function realish(p: string): string {
  const abs = path.resolve(p);
  let dir = abs;
  const rest: string[] = [];
  while (!existsSync(dir) && path.dirname(dir) !== dir) {
    rest.unshift(path.basename(dir));
    dir = path.dirname(dir);
  }
  try {
    return path.join(realpathSync(dir), ...rest);
  } catch {
    return abs;
  }
}

/** The engine talks to this host's file system (a local socket), so host paths and devices mean the same to it. */
function engineIsLocal(env: NodeJS.ProcessEnv): boolean {
  return !env.DOCKER_HOST || env.DOCKER_HOST.startsWith('unix://');
}

/** Where each state path lives as a mountinfo root would show it: device and path inside that filesystem. */
function statePathIdentity(p: string, local: boolean): StatePath {
  const real = realish(p);
  if (!local) return { path: real, dev: null, fsPath: null };
  let existing = real;
  while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  try {
    const dev = statSync(existing, { bigint: true }).dev;
    const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
    const minor = Number((dev & 0xffn) | ((dev >> 12n) & 0xffffff00n));
    const id = `${major}:${minor}`;
    const mounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).filter(
      (m) => m.dev === id && (real === m.mountPoint || m.mountPoint === '/' || real.startsWith(`${m.mountPoint}/`)),
    );
    const mount = mounts.sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
    if (!mount) return { path: real, dev: id, fsPath: null };
    return { path: real, dev: id, fsPath: path.join(mount.root, path.relative(mount.mountPoint, real)) };
  } catch {
    return { path: real, dev: null, fsPath: null };
  }
}

function run(command: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 15_000 }, (error, stdout) => resolve(error ? null : stdout));
  });
}

/**
 * The host's IPv4 addresses a container could route to, the default bridge's gateway (docker0) first.
 * `ip` lists interfaces that are down too (os.networkInterfaces() skips them, and docker0 is down
 * while no container uses the default bridge, yet a container on it would reach its address).
 */
async function hostAddresses(docker: string): Promise<string[]> {
  const [ip, bridge] = await Promise.all([
    run('ip', ['-4', '-o', 'addr', 'show']),
    run(docker, ['network', 'inspect', 'bridge', '--format', '{{range .IPAM.Config}}{{.Gateway}} {{end}}']),
  ]);
  const out = (bridge ?? '').split(/\s+/).filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
  if (ip) {
    for (const m of ip.matchAll(/^\d+:\s+(\S+)\s+inet (\d+\.\d+\.\d+\.\d+)/gm)) if (!m[2]!.startsWith('127.')) out.push(m[2]!);
  } else {
    for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  }
  return [...new Set(out)];
}

async function engineVersion(docker: string): Promise<string | null> {
  return (await run(docker, ['version', '--format', '{{.Server.Version}}']))?.trim() || null;
}

async function engineFacts(docker: string, env: NodeJS.ProcessEnv): Promise<EngineFacts> {
  const version = await engineVersion(docker);
  let debianChangelog: EngineFacts['debianChangelog'] = null;
  if (engineIsLocal(env)) {
    try {
      debianChangelog = { path: DEBIAN_CHANGELOG, text: gunzipSync(await readFile(DEBIAN_CHANGELOG)).toString('utf8') };
    } catch {
      debianChangelog = null;
    }
  }
  return { version, debianChangelog };
}

/** The launcher's rule-1 row: no writable bind of the user's state in the argv. */
export function argvStateRow(argv: readonly string[], state: readonly string[]): SealCheckRow {
  const check = 'state mounts (argv)';
  const protectedPaths = state.map(realish);
  const hits: string[] = [];
  for (const bind of argvBindMounts(argv)) {
    if (bind.readOnly) continue;
    const source = realish(bind.source);
    const hit = protectedPaths.find((p) => pathsOverlap(source, p));
    if (hit) hits.push(`${bind.option} mounts ${hit} writable`);
  }
  return hits.length > 0
    ? { rule: 1, check, ok: false, reason: hits.join('; ') }
    : { rule: 1, check, ok: true, reason: `no writable -v/--mount of ${state.join(', ')}` };
}

/** The launcher's rule-4 row: no secret value in the anvil argv itself. */
export function argvSecretRow(argv: readonly string[], secrets: ReadonlyMap<string, string>): SealCheckRow {
  const check = 'no credential in the argv';
  // Short values only as a whole `NAME=value`; under 4 bytes not at all (they match by chance).
  const hits = [...secrets]
    .filter(([, value]) => value.length >= 4 && argv.some((a) => (value.length >= 8 ? a.includes(value) : a.endsWith(`=${value}`))))
    .map(([label]) => label);
  return hits.length > 0
    ? { rule: 4, check, ok: false, reason: `the anvil argv holds the value of ${hits.join(', ')}` }
    : { rule: 4, check, ok: true, reason: `the anvil argv holds none of the ${secrets.size} secret value(s)` };
}

/** Prepare a doctor run: exchange dir, canary, input file, the argv and the hooks. */
export async function prepareDoctor(options: DoctorOptions): Promise<DoctorSession> {
  const env = options.env ?? process.env;
  const home = options.home ?? os.homedir();
  doctorAnvilArgv(options.anvilArgv, DOCTOR_DIR); // a usage error before anything is made
  const parent = await mkdtemp(path.join(os.tmpdir(), 'tongs-doctor-'));
  const dir = path.join(parent, 'exchange');
  await mkdir(dir, { mode: 0o700 });
  // The check program runs as the workspace's owner (anvil/entrypoint.sh): the dir must be theirs.
  if (options.workspace && process.getuid?.() === 0) {
    const owner = statSync(options.workspace);
    if (owner.uid !== 0) await chown(dir, owner.uid, owner.gid);
  }
  let canaryHits = 0;
  const canary = net.createServer((socket) => {
    canaryHits++;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    canary.once('error', reject);
    canary.listen(0, '0.0.0.0', () => resolve());
  }).catch(async (error: unknown) => {
    await rm(parent, { recursive: true, force: true });
    throw error;
  });
  const cleanup = async () => {
    await new Promise<void>((resolve) => canary.close(() => resolve()));
    await rm(parent, { recursive: true, force: true });
  };

  try {
    const anvilArgv = doctorAnvilArgv(options.anvilArgv, dir);
    const local = engineIsLocal(env);
    const statePaths = userStatePaths(env, home);
    const salt = randomBytes(16);
    const secrets = new Map<string, string>();
    let plan: LaunchPlan | null = null;
    // Where the argv mounts the workspace (make: /workspace).
    const workspaceReal = options.workspace ? realish(options.workspace) : null;
    const workspaceTarget = argvBindMounts(options.anvilArgv).find((b) => workspaceReal !== null && realish(b.source) === workspaceReal)?.target;
    const input: SealCheckInput = {
      workspace: workspaceTarget ?? '/workspace',
      salt: salt.toString('hex'),
      secrets: [],
      stateDirs: statePaths.map((p) => statePathIdentity(p, local)),
      canary: { addresses: await hostAddresses(options.anvilArgv[0] ?? 'docker'), port: (canary.address() as net.AddressInfo).port },
      tongs: [],
      dnsName: 'example.com',
      budget: BUDGET,
    };
    const writeInput = () => writeFile(path.join(dir, DOCTOR_INPUT), `${JSON.stringify(input, null, 2)}\n`, { mode: 0o644 });
    await writeInput();

    const hooks: DoctorHooks = {
      appendHarnessArgs: false,
      async onPlan(p) {
        plan = p;
        if (!options.quiet) process.stderr.write(`tongs: doctor: session ${p.sessionId}: the seal checks run in its anvil in place of the harness\n`);
        input.tongs = p.tongs.filter((t) => t.port !== null).map((t) => ({ name: t.name, alias: t.alias, port: t.port! }));
        await writeInput();
      },
      wrapResolveSecrets(resolve) {
        return async (tongs) => {
          // Every tong's secrets, also a reused shared tong's (the session itself resolves only what it creates).
          const all = await resolve(plan?.tongs ?? tongs);
          for (const [name, values] of all) {
            for (const [key, value] of Object.entries(values)) {
              if (key === 'TONGS_MCP_TOKEN' || value === '') continue; // the bearer is the anvil's by design
              secrets.set(`tong '${name}' env ${key}`, value);
            }
          }
          input.secrets = [...secrets].map(([label, value]) => secretDigest(label, value, salt));
          await writeInput();
          const wanted = new Set(tongs.map((t) => t.name));
          return new Map([...all].filter(([name]) => wanted.has(name)));
        };
      },
    };

    const finish: DoctorSession['finish'] = async (status, failure, write) => {
      try {
        if (failure) throw failure;
        const rows: SealCheckRow[] = [];
        const finalArgv = (plan as LaunchPlan | null)?.anvilArgv ?? anvilArgv;
        rows.push(argvStateRow(finalArgv, statePaths));
        rows.push({
          rule: 3,
          check: 'out-of-sight report',
          ok: true,
          reason: options.workspace
            ? 'informational: it runs when every session ends and lists on stderr what the agent changed that git does not show'
            : 'informational: no --workspace, so no report',
        });
        rows.push(argvSecretRow(finalArgv, secrets));
        rows.push(networkRow(plan));
        let result: SealCheckResult | null = null;
        try {
          result = JSON.parse(await readFile(path.join(dir, DOCTOR_RESULT), 'utf8')) as SealCheckResult;
        } catch {
          result = null;
        }
        if (result) {
          for (const row of result.rows) {
            if (row.check === 'host canary' && row.ok && canaryHits > 0) {
              rows.push({ ...row, ok: false, reason: `the launcher's canary got ${canaryHits} connection(s) during the session; ${row.reason}` });
            } else rows.push(row);
          }
        } else {
          rows.push({
            rule: 6,
            check: 'seal checks',
            ok: false,
            reason:
              status === 125
                ? 'the anvil did not start: docker refused its options (exit status 125, its message is above on stderr)'
                : `the check program did not report from the anvil (exit status ${status ?? 'none'}); does the image carry ${anvilArgv.at(-2)}? (make anvil-image)`,
          });
          if (canaryHits > 0) rows.push({ rule: 5, check: 'host canary', ok: false, reason: `the launcher's canary got ${canaryHits} connection(s) during the session` });
        }
        rows.push(engineCveRow(await engineFacts(anvilArgv[0]!, env), (plan as LaunchPlan | null)?.anvilNetwork?.mode === 'relay'));
        const sorted = sortRows(rows);
        await write(options.json ? formatDoctorJson(sorted) : formatDoctorTable(sorted));
        return sorted.some((r) => !r.ok) ? 1 : 0;
      } finally {
        await cleanup();
      }
    };
    return { anvilArgv, hooks, finish };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/**
 * The pure parts of `tongs doctor` (DESIGN.md "The seal" rule 6; issue #11 item 4): the anvil argv
 * with the check program in place of the harness, the bind mounts an argv asks for, the launcher's
 * own rows (network mode, state mounts in the argv, the engine's CVE-2024-29018 fix), and the report
 * as a table or JSON. No I/O; launcher/shell/commands/doctor.ts runs the session around it.
 */
import type { SealCheckRow } from '../../anvil/src/seal-checks-core.js';
import { DOCTOR_DIR } from '../../anvil/src/seal-checks-core.js';
import { UsageError } from '../errors.js';
import { parseDockerRunArgv } from './docker-argv.js';
import type { LaunchPlan } from './plan-types.js';

export type { SealCheckRow } from '../../anvil/src/seal-checks-core.js';

/** The check program's path in tongs-anvil:local (make/anvil-image.sh stages anvil/src into /opt/tongs/merge/dist). */
export const SEAL_CHECKS_PATH = '/opt/tongs/merge/dist/anvil/src/seal-checks.js';

/**
 * The doctor's anvil argv: `docker run [--rm] -v HOSTDIR:/run/tongs-doctor OPTS IMAGE node SEAL_CHECKS DIR`,
 * i.e. the user's own argv with the harness command (everything after the image) replaced, and
 * `--rm` added when it lacks one.
 * @throws UsageError when the argv is not a `docker run … IMAGE`.
 */
export function doctorAnvilArgv(argv: readonly string[], hostDir: string): string[] {
  const docker = parseDockerRunArgv(argv);
  if (!docker || docker.imageIndex < 0) {
    throw new UsageError(`tongs doctor needs the anvil command \`docker run … IMAGE [harness args]\` after \`--\`, got ${JSON.stringify(argv.slice(0, 3).join(' '))}`);
  }
  const options = argv.slice(docker.runIndex + 1, docker.imageIndex);
  // Nothing may be left behind, not even a stopped anvil of a passthrough launch.
  const rm = options.some((o) => o === '--rm' || o === '--rm=true') ? [] : ['--rm'];
  return [
    ...argv.slice(0, docker.runIndex + 1),
    ...rm,
    '-v',
    `${hostDir}:${DOCTOR_DIR}`,
    ...argv.slice(docker.runIndex + 1, docker.imageIndex + 1),
    'node',
    SEAL_CHECKS_PATH,
    DOCTOR_DIR,
  ];
}

/** A bind mount a `docker run` argv asks for (named volumes and tmpfs are not binds). */
export interface ArgvBind {
  source: string;
  target: string;
  readOnly: boolean;
  /** The option as written, for the report. */
  option: string;
}

/** The `-v`/`--volume`/`--mount type=bind` options of a `docker run` argv, before the image. */
export function argvBindMounts(argv: readonly string[]): ArgvBind[] {
  const docker = parseDockerRunArgv(argv);
  if (!docker) return [];
  const end = docker.imageIndex < 0 ? argv.length : docker.imageIndex;
  const binds: ArgvBind[] = [];
  for (let i = docker.runIndex + 1; i < end; i++) {
    const arg = argv[i]!;
    let value: string | undefined;
    let kind: 'volume' | 'mount' | null = null;
    if (arg === '-v' || arg === '--volume') [kind, value] = ['volume', argv[++i]];
    else if (arg.startsWith('--volume=')) [kind, value] = ['volume', arg.slice('--volume='.length)];
    else if (/^-[a-zA-Z]*v./.test(arg) && !arg.startsWith('--')) [kind, value] = ['volume', arg.slice(arg.indexOf('v') + 1)];
    else if (arg === '--mount') [kind, value] = ['mount', argv[++i]];
    else if (arg.startsWith('--mount=')) [kind, value] = ['mount', arg.slice('--mount='.length)];
    if (!kind || value === undefined) continue;
    if (kind === 'volume') {
      const [source, target, opts] = value.split(':');
      if (!source?.startsWith('/') || !target) continue;
      binds.push({ source, target, readOnly: (opts ?? '').split(',').includes('ro'), option: `-v ${value}` });
    } else {
      const fields = new Map<string, string>();
      for (const part of value.split(',')) {
        const eq = part.indexOf('=');
        fields.set(eq < 0 ? part : part.slice(0, eq), eq < 0 ? 'true' : part.slice(eq + 1));
      }
      if ((fields.get('type') ?? 'volume') !== 'bind') continue;
      const source = fields.get('source') ?? fields.get('src');
      const target = fields.get('target') ?? fields.get('destination') ?? fields.get('dst');
      if (!source || !target) continue;
      const ro = fields.get('readonly') ?? fields.get('ro');
      binds.push({ source, target, readOnly: ro !== undefined && ro !== 'false' && ro !== '0', option: `--mount ${value}` });
    }
  }
  return binds;
}

/** The seal's rule 5 as the plan shows it: the anvil's network. */
export function networkRow(plan: LaunchPlan | null): SealCheckRow {
  const check = 'anvil network';
  if (!plan || !plan.anvilNetwork) {
    return { rule: 5, check, ok: false, reason: 'no tong is defined: the launch is a passthrough, so the anvil runs its command unchanged and unsealed' };
  }
  if (plan.anvilNetwork.mode === 'relay') {
    return { rule: 5, check, ok: true, reason: '--network none: the anvil reaches its tongs only through the relay' };
  }
  return {
    rule: 5,
    check,
    ok: false,
    reason: `the anvil joins the session network${plan.anvilNetworks.length ? ` and ${plan.anvilNetworks.join(', ')}` : ''} (use --anvil-relay, TONGS_ANVIL_RELAY=1 for make)`,
  };
}

/** Moby releases that carry the fix for CVE-2024-29018, per release line (GHSA-mq39-4gv4-mvpx). */
export const CVE_2024_29018_FIXED = { '23.0': [23, 0, 11], '25.0': [25, 0, 5], from: [26, 0, 0] } as const;

/** The engine facts the CVE row is decided on. */
export interface EngineFacts {
  /** The engine's version (`docker version` Server.Version), or null when it could not be read. */
  version: string | null;
  /** The Debian changelog of the engine's package on this host, or null (no such file, or the engine is remote). */
  debianChangelog: { path: string; text: string } | null;
}

function parseVersion(v: string): [number, number, number] | null {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

function atLeast(v: readonly number[], min: readonly number[]): boolean {
  for (let i = 0; i < 3; i++) if (v[i]! !== min[i]!) return v[i]! > min[i]!;
  return true;
}

/**
 * Does the engine predate the fix for CVE-2024-29018 (dockerd forwarding DNS from `internal`
 * networks through the host's namespace)? Upstream: fixed in 26.0.0 (26.0.0-rc3), 25.0.5 and 23.0.11;
 * the 24.0 line and everything before 23.0.11 have no fixed release (GHSA-mq39-4gv4-mvpx,
 * github/advisory-database; moby/moby PR 46609). A distribution build (`+dfsg`, `ubuntu`, …) may
 * carry a backport: it counts only when its changelog, for this very upstream version, names the CVE.
 * Never ✘: a warning row that says how it decided.
 */
export function engineCveRow(facts: EngineFacts, relay: boolean): SealCheckRow {
  const check = 'engine CVE-2024-29018';
  const context = relay
    ? 'the relayed anvil has no network, so this matters for the tongs on internal networks'
    : 'an anvil with a network interface is exposed to it';
  const source = 'fixed upstream in Moby 26.0.0, 25.0.5 and 23.0.11 (GHSA-mq39-4gv4-mvpx)';
  if (!facts.version) return { rule: 5, check, ok: true, warning: true, reason: `warning: the engine's version could not be read; ${source}` };
  const v = parseVersion(facts.version);
  if (!v) return { rule: 5, check, ok: true, warning: true, reason: `warning: engine version ${facts.version} is not one tongs can compare; ${source}` };
  const line = `${v[0]}.${v[1]}`;
  const fixed =
    atLeast(v, CVE_2024_29018_FIXED.from) ||
    (line === '25.0' && atLeast(v, CVE_2024_29018_FIXED['25.0'])) ||
    (line === '23.0' && atLeast(v, CVE_2024_29018_FIXED['23.0']));
  if (fixed) return { rule: 5, check, ok: true, reason: `engine ${facts.version} is at or past the fix: ${source}` };
  const log = facts.debianChangelog;
  if (log) {
    const top = /^\S+ \(([^)]+)\)/.exec(log.text)?.[1] ?? '';
    const upstream = facts.version.replace(/-.*$/, '');
    if (top.startsWith(upstream)) {
      if (log.text.includes('CVE-2024-29018')) {
        return { rule: 5, check, ok: true, reason: `engine ${facts.version} predates the upstream fix (${source}), but its Debian package ${top} names CVE-2024-29018 in ${log.path}` };
      }
      return {
        rule: 5,
        check,
        ok: true,
        warning: true,
        reason: `warning: engine ${facts.version} predates the fix (${source}) and the changelog of its Debian package ${top} (${log.path}) does not name CVE-2024-29018, so no backport is confirmed; ${context}`,
      };
    }
  }
  return {
    rule: 5,
    check,
    ok: true,
    warning: true,
    reason: `warning: engine ${facts.version} predates the fix (${source}) and no changelog of this engine's package on this host confirms a backport; ${context}`,
  };
}

const MARK = { ok: '✔', fail: '✘' } as const;

/** The report as a table: one `✔|✘ rule N <check> — <reason>` line per row, checks aligned. */
export function formatDoctorTable(rows: readonly SealCheckRow[]): string {
  const width = Math.max(0, ...rows.map((r) => r.check.length));
  return rows.map((r) => `${r.ok ? MARK.ok : MARK.fail} rule ${r.rule} ${r.check.padEnd(width)} — ${r.reason}\n`).join('');
}

/** The report as JSON: an array of `{rule, check, ok, reason}` (and `warning: true` where one is). */
export function formatDoctorJson(rows: readonly SealCheckRow[]): string {
  return `${JSON.stringify(rows.map((r) => ({ rule: r.rule, check: r.check, ok: r.ok, reason: r.reason, ...(r.warning ? { warning: true } : {}) })), null, 2)}\n`;
}

/** Rows in rule order (stable within a rule). */
export function sortRows(rows: readonly SealCheckRow[]): SealCheckRow[] {
  return [...rows].map((r, i) => ({ r, i })).sort((a, b) => a.r.rule - b.r.rule || a.i - b.i).map(({ r }) => r);
}

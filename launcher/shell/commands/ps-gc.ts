/**
 * `tongs ps`, `tongs gc`, and the by-label removal that teardown, gc and tests share (issue #3 items
 * 5, 7, 8; STYLE.md "Idempotent operations": teardown is "remove everything labelled with this session").
 *
 * A session is alive while its launcher is: the `dev.tongs.launcher.host` label equals this machine's
 * hostname and the process `dev.tongs.launcher.pid` exists. Sessions started on another host are never
 * judged (their pids mean nothing here). Shared tongs (`lifecycle: shared`) outlive sessions: gc leaves
 * them unless `--shared`, and then still keeps any attached to a live session's network.
 */
import { hostname as osHostname } from 'node:os';
import {
  LABEL_ALIASES,
  LABEL_CONFIG_HASH,
  LABEL_LAUNCHER_HOST,
  LABEL_LAUNCHER_PID,
  LABEL_LIFECYCLE,
  LABEL_MANAGED,
  LABEL_ROLE,
  LABEL_SESSION,
  LABEL_STARTED,
  LABEL_TONG,
} from '../../core/labels.js';
import { DockerError } from '../../errors.js';
import { createDockerRuntime } from '../engine/docker-runtime.js';
import type { ContainerRuntime, ContainerSummary, NetworkSummary } from '../engine/runtime.js';

export interface PsOptions {
  json: boolean;
  /** Injected for tests; defaults to the Docker runtime. */
  runtime?: ContainerRuntime;
  /** Where results go; defaults to process.stdout. */
  out?: { write(s: string): unknown };
  /** Epoch milliseconds clock (ages); defaults to Date.now. */
  now?: () => number;
}
export interface GcOptions {
  shared: boolean;
  quiet: boolean;
  runtime?: ContainerRuntime;
  /** Where the summary goes; defaults to process.stderr. */
  err?: { write(s: string): unknown };
}

/** Whether process `pid` exists on this machine (EPERM: it exists, owned by someone else). */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How liveness is judged; injectable for tests. */
export interface Liveness {
  hostname: string;
  isPidAlive: (pid: number) => boolean;
}

const defaultLiveness = (): Liveness => ({ hostname: osHostname(), isPidAlive });

/** What removal did, for summaries. */
export interface RemovalSummary {
  containers: number;
  networks: number;
}

const isShared = (labels: Record<string, string>) => labels[LABEL_LIFECYCLE] === 'shared';

/**
 * Remove a session's resources by label, idempotently and in parallel (issue #3 item 5): every
 * container labelled with the session except shared tongs (which are only disconnected from the
 * session's networks), then the session's networks (labelled, plus `networkName` if given). A missing
 * object is success. Throws DockerError only when something could not be removed.
 */
export async function removeSessionResources(
  runtime: ContainerRuntime,
  sessionId: string,
  networkName: string | null = null,
): Promise<RemovalSummary> {
  const [containers, labelledNets, shared, volumes] = await Promise.all([
    runtime.listContainers({ [LABEL_SESSION]: sessionId }),
    runtime.listNetworks({ [LABEL_SESSION]: sessionId }),
    runtime.listContainers({ [LABEL_MANAGED]: 'true', [LABEL_LIFECYCLE]: 'shared' }),
    runtime.listVolumes({ [LABEL_SESSION]: sessionId }),
  ]);
  const networks = new Set(labelledNets.map((n) => n.name));
  if (networkName) networks.add(networkName);
  const doomed = containers.filter((c) => !isShared(c.labels));
  await Promise.all([
    ...doomed.map((c) => runtime.removeContainer(c.id)),
    ...shared.flatMap((c) => c.networks.filter((n) => networks.has(n)).map((n) => runtime.disconnectNetwork(n, c.id))),
  ]);
  // The networks and the relay's socket volume (DESIGN.md "The seal" rule 5), together: the containers
  // that used them are gone now.
  await Promise.all([...[...networks].map((n) => removeNetworkSettled(runtime, n)), ...volumes.map((v) => runtime.removeVolume(v.name))]);
  return { containers: doomed.length, networks: labelledNets.length };
}

/**
 * Remove a network, allowing a moment for endpoints still being released (an `--rm` anvil whose
 * removal the engine is finishing). Gives up after ~2 s with the engine's message.
 */
async function removeNetworkSettled(runtime: ContainerRuntime, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await runtime.removeNetwork(name);
      return;
    } catch (err) {
      if (attempt >= 10 || !(err instanceof DockerError && err.kind === 'in-use')) throw err;
      await new Promise((r) => setTimeout(r, 50 * (attempt + 1) > 300 ? 300 : 50 * (attempt + 1)));
    }
  }
}

/** One session as `ps` and `gc` see it. */
interface SessionView {
  id: string;
  pid: number | null;
  host: string | null;
  started: string | null;
  /** true / false when judged on this host, null when it belongs to another host or has no owner labels. */
  alive: boolean | null;
  network: NetworkSummary | null;
  tongs: ContainerSummary[];
  anvils: ContainerSummary[];
  others: ContainerSummary[];
}

function collectSessions(
  containers: ContainerSummary[],
  networks: NetworkSummary[],
  liveness: Liveness,
): { sessions: Map<string, SessionView>; shared: ContainerSummary[] } {
  const sessions = new Map<string, SessionView>();
  const view = (id: string): SessionView => {
    let s = sessions.get(id);
    if (!s) {
      s = { id, pid: null, host: null, started: null, alive: null, network: null, tongs: [], anvils: [], others: [] };
      sessions.set(id, s);
    }
    return s;
  };
  const owner = (s: SessionView, labels: Record<string, string>) => {
    const pid = Number(labels[LABEL_LAUNCHER_PID]);
    if (s.pid === null && labels[LABEL_LAUNCHER_PID] && Number.isInteger(pid)) s.pid = pid;
    s.host ??= labels[LABEL_LAUNCHER_HOST] ?? null;
    s.started ??= labels[LABEL_STARTED] ?? null;
  };
  const shared: ContainerSummary[] = [];
  for (const c of containers) {
    if (isShared(c.labels)) {
      shared.push(c);
      continue;
    }
    const id = c.labels[LABEL_SESSION];
    if (!id) continue;
    const s = view(id);
    owner(s, c.labels);
    const role = c.labels[LABEL_ROLE];
    if (role === 'tong') s.tongs.push(c);
    else if (role === 'anvil') s.anvils.push(c);
    else s.others.push(c);
  }
  for (const n of networks) {
    const id = n.labels[LABEL_SESSION];
    if (!id) continue;
    const s = view(id);
    owner(s, n.labels);
    s.network = n;
  }
  for (const s of sessions.values()) {
    if (s.pid !== null && s.host === liveness.hostname) s.alive = liveness.isPidAlive(s.pid);
  }
  return { sessions, shared };
}

/** Is session `s` dead, so gc may remove it? Anvil-only leftovers (no owner labels) go once stopped. */
function isDead(s: SessionView, liveness: Liveness): boolean {
  if (s.alive === false) return true;
  if (s.pid === null && s.host === null) return s.anvils.every((a) => a.state !== 'running') && s.tongs.length === 0;
  void liveness;
  return false;
}

export interface SweepResult {
  sessions: string[];
  containers: number;
  networks: number;
  shared: number;
}

/**
 * Remove what dead sessions left behind (issue #3 item 8), in parallel. `shared: true` also removes
 * shared tongs that no live session's network holds. `keep` is a session id never to touch (the
 * caller's own).
 */
export async function sweepDeadSessions(
  runtime: ContainerRuntime,
  options: { shared: boolean; keep?: string; liveness?: Liveness },
): Promise<SweepResult> {
  const liveness = options.liveness ?? defaultLiveness();
  const [containers, networks] = await Promise.all([
    runtime.listContainers({ [LABEL_MANAGED]: 'true' }),
    runtime.listNetworks({ [LABEL_MANAGED]: 'true' }),
  ]);
  // Anvils carry only the session and role labels (the plan puts them in the argv).
  const anvils = await runtime.listContainers({ [LABEL_ROLE]: 'anvil' });
  const seen = new Set(containers.map((c) => c.id));
  const all = [...containers, ...anvils.filter((a) => !seen.has(a.id))];
  const { sessions, shared } = collectSessions(all, networks, liveness);
  const dead = [...sessions.values()].filter((s) => s.id !== options.keep && isDead(s, liveness));
  const results = await Promise.all(dead.map((s) => removeSessionResources(runtime, s.id, s.network?.name ?? null)));
  let sharedRemoved = 0;
  if (options.shared) {
    const liveNets = new Set(
      [...sessions.values()].filter((s) => !dead.includes(s) && s.network).map((s) => s.network!.name),
    );
    const idle = shared.filter((c) => !c.networks.some((n) => liveNets.has(n)));
    await Promise.all(idle.map((c) => runtime.removeContainer(c.id)));
    sharedRemoved = idle.length;
  }
  return {
    sessions: dead.map((s) => s.id),
    containers: results.reduce((n, r) => n + r.containers, 0),
    networks: results.reduce((n, r) => n + r.networks, 0),
    shared: sharedRemoved,
  };
}

/** `45s`, `12m`, `3h`, `2d`. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** The `tongs ps --json` document. */
export interface PsReport {
  sessions: Array<{
    id: string;
    launcher: { pid: number | null; host: string | null; alive: boolean | null };
    started: string | null;
    network: string | null;
    anvil: { container: string; name: string; state: string } | null;
    tongs: PsTong[];
  }>;
  shared: Array<PsTong & { sessions: string[] }>;
}
export interface PsTong {
  name: string;
  container: string;
  containerName: string;
  image: string;
  lifecycle: string;
  state: string;
  status: string;
  /** Seconds since the container was created. */
  ageSeconds: number;
  aliases: string[];
  configHash: string | null;
}

function psTong(c: ContainerSummary, nowSec: number): PsTong {
  return {
    name: c.labels[LABEL_TONG] ?? c.name,
    container: c.id.slice(0, 12),
    containerName: c.name,
    image: c.image,
    lifecycle: c.labels[LABEL_LIFECYCLE] ?? 'session',
    state: c.state,
    status: c.status,
    ageSeconds: Math.max(0, nowSec - c.created),
    aliases: (c.labels[LABEL_ALIASES] ?? '').split(',').filter(Boolean),
    configHash: c.labels[LABEL_CONFIG_HASH] ?? null,
  };
}

/** Gather the ps report (sessions sorted by start, tongs by name). */
export async function psReport(runtime: ContainerRuntime, now = Date.now(), liveness = defaultLiveness()): Promise<PsReport> {
  const [containers, networks, anvils] = await Promise.all([
    runtime.listContainers({ [LABEL_MANAGED]: 'true' }),
    runtime.listNetworks({ [LABEL_MANAGED]: 'true' }),
    runtime.listContainers({ [LABEL_ROLE]: 'anvil' }),
  ]);
  const seen = new Set(containers.map((c) => c.id));
  const { sessions, shared } = collectSessions(
    [...containers, ...anvils.filter((a) => !seen.has(a.id))],
    networks,
    liveness,
  );
  const nowSec = Math.floor(now / 1000);
  const netToSession = new Map([...sessions.values()].filter((s) => s.network).map((s) => [s.network!.name, s.id]));
  return {
    sessions: [...sessions.values()]
      .sort((a, b) => (a.started ?? '').localeCompare(b.started ?? '') || a.id.localeCompare(b.id))
      .map((s) => {
        const anvil = s.anvils[0];
        return {
          id: s.id,
          launcher: { pid: s.pid, host: s.host, alive: s.alive },
          started: s.started,
          network: s.network?.name ?? null,
          anvil: anvil ? { container: anvil.id.slice(0, 12), name: anvil.name, state: anvil.state } : null,
          tongs: s.tongs.map((c) => psTong(c, nowSec)).sort((a, b) => a.name.localeCompare(b.name)),
        };
      }),
    shared: shared
      .map((c) => ({
        ...psTong(c, nowSec),
        sessions: c.networks.flatMap((n) => (netToSession.has(n) ? [netToSession.get(n)!] : [])),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

/** Render rows as a left-aligned table with two-space gaps. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/** The ps table for people. */
export function formatPsTable(report: PsReport): string {
  if (report.sessions.length === 0 && report.shared.length === 0) return 'no tongs sessions or shared tongs\n';
  const rows: string[][] = [['SESSION', 'LAUNCHER', 'TONG', 'STATE', 'AGE', 'ALIASES']];
  for (const s of report.sessions) {
    const launcher =
      s.launcher.pid === null
        ? '-'
        : `${s.launcher.pid}@${s.launcher.host ?? '?'} ${s.launcher.alive === null ? '(other host)' : s.launcher.alive ? '(alive)' : '(dead)'}`;
    const lines = s.tongs.map((t) => [t.name, t.state, formatAge(t.ageSeconds), t.aliases.join(',')]);
    if (s.anvil) lines.push([`(anvil ${s.anvil.name})`, s.anvil.state, '', '']);
    if (lines.length === 0) lines.push(['(network only)', '', '', '']);
    lines.forEach((l, i) => rows.push([i === 0 ? s.id : '', i === 0 ? launcher : '', ...l]));
  }
  for (const t of report.shared) {
    rows.push(['(shared)', t.sessions.length ? `in ${t.sessions.join(',')}` : '-', t.name, t.state, formatAge(t.ageSeconds), t.aliases.join(',')]);
  }
  return table(rows);
}

/** Print sessions and tongs that tongs started and that still exist. Returns the exit status. */
export async function psCommand(options: PsOptions): Promise<number> {
  const runtime = options.runtime ?? createDockerRuntime();
  const report = await psReport(runtime, (options.now ?? Date.now)());
  const out = options.out ?? process.stdout;
  out.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatPsTable(report));
  return 0;
}

/** Remove what dead sessions left behind. Returns the exit status. */
export async function gcCommand(options: GcOptions): Promise<number> {
  const runtime = options.runtime ?? createDockerRuntime();
  const result = await sweepDeadSessions(runtime, { shared: options.shared });
  if (!options.quiet) {
    const err = options.err ?? process.stderr;
    const parts = [
      `removed ${result.sessions.length} dead session${result.sessions.length === 1 ? '' : 's'}`,
      `(${result.containers} container${result.containers === 1 ? '' : 's'}, ${result.networks} network${result.networks === 1 ? '' : 's'})`,
    ];
    if (options.shared) parts.push(`and ${result.shared} shared tong${result.shared === 1 ? '' : 's'}`);
    err.write(`tongs: ${parts.join(' ')}\n`);
  }
  return 0;
}

/**
 * `tongs ps` and `tongs gc` (issue #3 items 7, 8): the sessions and tongs that still exist, and the
 * removal of what dead sessions left (launcher/shell/teardown/teardown.ts judges and removes). Shared
 * tongs (`lifecycle: shared`) outlive sessions: gc leaves them unless `--shared`, and then still keeps
 * any attached to a live session's network.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LABEL_ALIASES, LABEL_CONFIG_HASH, LABEL_LIFECYCLE, LABEL_MANAGED, LABEL_ROLE, LABEL_TONG } from '../../core/labels.js';
import { createDockerRuntime } from '../engine/docker-runtime.js';
import type { ContainerRuntime, ContainerSummary } from '../engine/runtime.js';
import { collectSessions, defaultLiveness, sweepDeadSessions } from '../teardown/teardown.js';

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
  const err = options.err ?? process.stderr;
  // GitHub App tokens a killed launcher left valid (issue #15 item 2), beside its containers.
  const [result, tokens] = await Promise.all([sweepDeadSessions(runtime, { shared: options.shared }), revokeDeadTokens()]);
  for (const line of tokens.warnings) err.write(`tongs: warning: ${line}\n`);
  if (!options.quiet && tokens.revoked > 0) {
    err.write(`tongs: revoked ${tokens.revoked} GitHub App token${tokens.revoked === 1 ? '' : 's'} of dead sessions\n`);
  }
  if (!options.quiet) {
    const parts = [
      `removed ${result.sessions.length} dead session${result.sessions.length === 1 ? '' : 's'}`,
      `(${result.containers} container${result.containers === 1 ? '' : 's'}, ${result.networks} network${result.networks === 1 ? '' : 's'})`,
    ];
    if (options.shared) parts.push(`and ${result.shared} shared tong${result.shared === 1 ? '' : 's'}`);
    err.write(`tongs: ${parts.join(' ')}\n`);
  }
  return 0;
}

/**
 * Revoke the GitHub App tokens recorded in `$TONGS_HOME/sessions/` by sessions whose launcher is gone
 * (launcher/shell/gather/github-app-provider.ts). The provider's module is loaded only when that
 * directory exists.
 */
async function revokeDeadTokens(): Promise<{ revoked: number; warnings: string[] }> {
  const home = process.env.TONGS_HOME || path.join(os.homedir(), '.tongs');
  if (!existsSync(path.join(home, 'sessions'))) return { revoked: 0, warnings: [] };
  const { revokeDeadSessionTokens } = await import('../gather/github-app-provider.js');
  const liveness = defaultLiveness();
  return revokeDeadSessionTokens({ home, isDead: (pid, host) => host === liveness.hostname && !liveness.isPidAlive(pid) });
}

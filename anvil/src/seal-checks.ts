#!/usr/bin/env node
/**
 * The seal checks of `tongs doctor` (DESIGN.md "The seal" rule 6; issue #11 item 4), run inside a
 * real anvil in place of the harness, as the user the harness would run as:
 *
 *   node seal-checks.js [DIR]     DIR default /run/tongs-doctor: reads DIR/input.json, writes DIR/result.json
 *
 * Rule 1: no writable mount of the user's own harness state (/proc/self/mountinfo). Rule 2: the guarded
 * git writes fail (nothing is written: a file is opened for writing but never written, a probe file
 * that could be created is removed at once). Rule 4: each resolved secret, known only by its salted
 * SHA-256, is searched in the environment, every readable /proc/PID/environ and cmdline, and readable
 * files under /run, /home, /tmp, /etc and the workspace. Rule 5: the host canary, outside DNS and the
 * tongs. stdout stays silent (the launcher prints the report); exit 0 once result.json is written.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import dns from 'node:dns';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  DOCTOR_DIR,
  DOCTOR_INPUT,
  DOCTOR_RESULT,
  WindowMatcher,
  defaultGateway,
  dnsLeaked,
  parseMountinfo,
  writableStateMounts,
  type SealCheckInput,
  type SealCheckRow,
} from './seal-checks-core.js';

/** Roots searched for secrets, in order (the workspace last: it is the largest). */
const SEARCH_ROOTS = ['/run', '/home', '/tmp', '/etc'];
const SKIP_DIRS = new Set(['node_modules']);

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}

// --- rule 1 ------------------------------------------------------------------------------------------
function checkStateMounts(input: SealCheckInput): SealCheckRow {
  const mounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  const hits = writableStateMounts(mounts, input.stateDirs);
  if (hits.length > 0) {
    return {
      rule: 1,
      check: 'state mounts (anvil)',
      ok: false,
      reason: hits.map((h) => `${h.mount.mountPoint} is a writable mount of ${h.mount.root} (your ${h.state.path})`).join('; '),
    };
  }
  const known = input.stateDirs.filter((s) => s.dev !== null).length;
  return {
    rule: 1,
    check: 'state mounts (anvil)',
    ok: true,
    reason: `none of the anvil's ${mounts.length} mounts is a writable mount of ${input.stateDirs.map((s) => s.path).join(', ')}` +
      (known < input.stateDirs.length ? ' (compared by path only: the engine host is not this one)' : ''),
  };
}

// --- rule 2 ------------------------------------------------------------------------------------------
/** The git dirs of the workspace: its own (or a linked worktree's and its common dir), and submodules'. */
function gitDirs(workspace: string): string[] {
  const dotgit = path.join(workspace, '.git');
  const dirs: string[] = [];
  let info;
  try {
    info = lstatSync(dotgit);
  } catch {
    return [];
  }
  if (info.isDirectory()) dirs.push(dotgit);
  else if (info.isFile()) {
    const m = /^gitdir: (.*)$/m.exec(readFileSync(dotgit, 'utf8'));
    if (m) {
      const gitdir = path.resolve(workspace, m[1]!.trim());
      dirs.push(gitdir);
      const commondir = path.join(gitdir, 'commondir');
      if (existsSync(commondir)) dirs.push(path.resolve(gitdir, readFileSync(commondir, 'utf8').trim()));
    }
  }
  const modules = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const sub = path.join(dir, e);
      if (!statSync(sub, { throwIfNoEntry: false })?.isDirectory()) continue;
      if (existsSync(path.join(sub, 'HEAD'))) {
        dirs.push(sub);
        modules(path.join(sub, 'modules'));
      } else modules(sub);
    }
  };
  for (const d of [...dirs]) modules(path.join(d, 'modules'));
  return [...new Set(dirs)];
}

/** Try one guarded write without changing anything; returns the error code, or null when it succeeded. */
function tryWrite(target: string, kind: 'open' | 'create'): string | null {
  try {
    if (kind === 'open') {
      closeSync(openSync(target, constants.O_WRONLY | constants.O_APPEND)); // opened, never written
      return null;
    }
    const dir = path.dirname(target);
    if (!existsSync(dir)) {
      mkdirSync(dir);
      rmdirSync(dir);
      return null;
    }
    closeSync(openSync(target, 'wx'));
    unlinkSync(target);
    return null;
  } catch (error) {
    return errorCode(error);
  }
}

function checkGitGuard(input: SealCheckInput): SealCheckRow[] {
  const dirs = gitDirs(input.workspace);
  if (dirs.length === 0) return [{ rule: 2, check: 'git guard', ok: true, reason: 'no git metadata' }];
  const probe = `.tongs-doctor-${randomBytes(4).toString('hex')}`;
  return dirs.map((g) => {
    const attempts: Array<[string, string | null]> = [];
    const config = path.join(g, 'config');
    if (existsSync(config)) attempts.push(['config', tryWrite(config, 'open')]);
    for (const pointer of ['commondir', 'gitdir', 'config.worktree']) {
      if (existsSync(path.join(g, pointer))) attempts.push([pointer, tryWrite(path.join(g, pointer), 'open')]);
    }
    if (!existsSync(path.join(g, 'commondir'))) {
      attempts.push(['hooks/', tryWrite(path.join(g, 'hooks', probe), 'create')]);
      attempts.push(['info/', tryWrite(path.join(g, 'info', probe), 'create')]);
    }
    const written = attempts.filter(([, code]) => code === null).map(([name]) => name);
    const relative = path.relative(input.workspace, g);
    const where = !relative || relative.startsWith('..') ? g : relative;
    return written.length > 0
      ? { rule: 2, check: 'git guard', ok: false, reason: `${where}: ${written.join(', ')} writable from the anvil` }
      : {
          rule: 2,
          check: 'git guard',
          ok: true,
          reason: `${where}: ${attempts.map(([name, code]) => `${name} ${code}`).join(', ')}`,
        };
  });
}

// --- rule 4 ------------------------------------------------------------------------------------------
interface SearchStats {
  files: number;
  bytes: number;
  windows: number;
  skippedLarge: number;
  unreadable: number;
  stoppedAt: string | null;
}

function checkCredentials(input: SealCheckInput): SealCheckRow {
  const check = 'no credential in the anvil';
  const secrets = input.secrets.filter((s) => s.length > 0);
  if (secrets.length === 0) return { rule: 4, check, ok: true, reason: 'the session resolved no tong secret to search for' };
  const matcher = new WindowMatcher(Buffer.from(input.salt, 'hex'), secrets);
  const found = new Map<string, Set<string>>();
  const note = (labels: string[], where: string) => {
    for (const l of labels) found.set(l, (found.get(l) ?? new Set()).add(where));
  };
  // The environment: each value whole (short secrets too), then every window.
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    note(matcher.matchesWhole(Buffer.from(value)), `env ${name}`);
    note(matcher.scan(Buffer.from(`${name}=${value}`)), `env ${name}`);
  }
  // Every process this user can read.
  let procs = 0;
  let readable = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    procs++;
    for (const file of ['environ', 'cmdline']) {
      try {
        const data = readFileSync(`/proc/${pid}/${file}`);
        if (file === 'environ') readable++;
        for (const part of data.toString('latin1').split('\0')) {
          const eq = part.indexOf('=');
          if (eq > 0) note(matcher.matchesWhole(Buffer.from(part.slice(eq + 1), 'latin1')), `/proc/${pid}/${file}`);
        }
        note(matcher.scan(data), `/proc/${pid}/${file}`);
      } catch {
        // another user's process: the agent cannot read it either
      }
    }
  }
  note(matcher.scan(readFileSync('/proc/self/mountinfo')), '/proc/self/mountinfo');
  // Files, within the budget.
  const stats: SearchStats = { files: 0, bytes: 0, windows: 0, skippedLarge: 0, unreadable: 0, stoppedAt: null };
  const lengths = Math.max(1, matcher.windowLengths.length);
  const deadline = Date.now() + input.budget.timeoutMs;
  const walk = (dir: string): void => {
    if (stats.stoppedAt) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      stats.unreadable++;
      return;
    }
    for (const e of entries) {
      if (stats.stoppedAt) return;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (SKIP_DIRS.has(e.name) || p === DOCTOR_DIR || p.endsWith('/.git/objects')) continue;
        walk(p);
        continue;
      }
      if (!e.isFile()) continue;
      let size: number;
      try {
        size = statSync(p).size;
      } catch {
        stats.unreadable++;
        continue;
      }
      if (size > input.budget.maxFileBytes) {
        stats.skippedLarge++;
        continue;
      }
      if (stats.windows + size * lengths > input.budget.windows || Date.now() > deadline) {
        stats.stoppedAt = p;
        return;
      }
      let data: Buffer;
      try {
        data = readFileSync(p);
      } catch {
        stats.unreadable++;
        continue;
      }
      stats.files++;
      stats.bytes += data.length;
      stats.windows += data.length * lengths;
      note(matcher.scan(data), p);
    }
  };
  const roots = [...(input.roots ?? SEARCH_ROOTS), input.workspace];
  for (const root of roots) walk(root);
  const searched =
    `${secrets.length} secret(s) searched in the environment, the environ of ${readable} of ${procs} processes` +
    `${readable < procs ? ' (the others are another user\'s: unreadable to the agent too)' : ''} and every cmdline, ` +
    `${stats.files} files (${(stats.bytes / 1048576).toFixed(1)} MB) under ${roots.join(', ')}` +
    (stats.skippedLarge ? `; ${stats.skippedLarge} files over ${input.budget.maxFileBytes / 1048576} MB skipped` : '') +
    (stats.unreadable ? `; ${stats.unreadable} unreadable` : '') +
    (stats.stoppedAt ? `; stopped at the search budget before ${stats.stoppedAt}, the rest was not searched` : '');
  const short = secrets.filter((s) => s.length < 8 && s.length >= 4).length;
  const tiny = secrets.filter((s) => s.length < 4).length;
  const shortNote =
    (short ? `; ${short} secret(s) under 8 bytes searched only as whole values` : '') +
    (tiny ? `; ${tiny} secret(s) under 4 bytes not searched (too short to tell from chance)` : '');
  if (found.size === 0) return { rule: 4, check, ok: true, reason: `no copy found: ${searched}${shortNote}` };
  const where = [...found].map(([label, places]) => `${label} in ${[...places].slice(0, 4).join(', ')}${places.size > 4 ? ', …' : ''}`);
  return { rule: 4, check, ok: false, reason: `the anvil holds ${where.join('; ')}` };
}

// --- rule 5 ------------------------------------------------------------------------------------------
function connect(host: string, port: number, timeoutMs = 2500): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs);
    socket.once('connect', () => {
      socket.destroy();
      resolve('open');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (error) => resolve(errorCode(error)));
  });
}

/**
 * Ask the egress proxy (`HTTPS_PROXY` or `HTTP_PROXY`, `http://host:port`) to `CONNECT` to `target`
 * (`host:port`): resolves with the proxy's status code, or an error code when the proxy itself is
 * out of reach. A tunnel that opens is closed at once.
 */
function connectThroughProxy(proxyUrl: string, target: string, timeoutMs = 5000): Promise<number | string> {
  return new Promise((resolve) => {
    let proxy: URL;
    try {
      proxy = new URL(proxyUrl);
    } catch {
      resolve('bad proxy URL');
      return;
    }
    const req = http.request({ host: proxy.hostname, port: Number(proxy.port || 80), method: 'CONNECT', path: target, timeout: timeoutMs });
    req.once('connect', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    // A refusal with a body (403 names the host and the file that would allow it) ends as a response.
    req.once('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => {
      req.destroy();
      resolve('timeout');
    });
    req.once('error', (error) => resolve(errorCode(error)));
    req.end();
  });
}

async function checkEgress(input: SealCheckInput): Promise<SealCheckRow[]> {
  const rows: SealCheckRow[] = [];
  const interfaces = Object.keys(os.networkInterfaces()).sort();
  let gateway: string | null = null;
  try {
    gateway = defaultGateway(readFileSync('/proc/net/route', 'utf8'));
  } catch {
    gateway = null;
  }
  const canary = input.canary;
  const dnsCheck = (async () => {
    const resolver = new dns.promises.Resolver({ timeout: 2500, tries: 1 });
    try {
      const addresses = await resolver.resolve4(input.dnsName);
      return `resolved to ${addresses.join(', ')}`;
    } catch (error) {
      return errorCode(error);
    }
  })();
  const targets = canary ? [...new Set([...canary.addresses, ...(gateway ? [gateway] : [])])] : [];
  // The egress tong is the anvil's one way out: the canary, a host address on no allowlist, must be refused there too.
  const proxyUrl = process.env.HTTPS_PROXY || process.env.HTTP_PROXY || '';
  const proxyTarget = canary && canary.addresses[0] ? `${canary.addresses[0]}:${canary.port}` : null;
  const [canaryResults, dnsOutcome, tongResults, proxyOutcome] = await Promise.all([
    Promise.all(targets.map(async (a) => [a, await connect(a, canary!.port)] as const)),
    dnsCheck,
    Promise.all(input.tongs.map(async (t) => [t, await connect(t.alias, t.port, 5000)] as const)),
    proxyUrl && proxyTarget ? connectThroughProxy(proxyUrl, proxyTarget) : Promise.resolve(null),
  ]);
  if (proxyOutcome !== null && proxyTarget) {
    rows.push(
      proxyOutcome === 200
        ? {
            rule: 5,
            check: 'egress proxy',
            ok: false,
            reason: `the egress proxy ${proxyUrl} opened a tunnel to the host canary ${proxyTarget}, which no allowlist names: egress is open`,
          }
        : typeof proxyOutcome === 'number'
          ? { rule: 5, check: 'egress proxy', ok: true, reason: `the egress proxy ${proxyUrl} refused CONNECT ${proxyTarget} (${proxyOutcome})` }
          : { rule: 5, check: 'egress proxy', ok: false, reason: `the egress proxy ${proxyUrl} did not answer (${proxyOutcome})` },
    );
  }
  if (canary) {
    const open = canaryResults.filter(([, r]) => r === 'open').map(([a]) => a);
    rows.push(
      open.length > 0
        ? { rule: 5, check: 'host canary', ok: false, reason: `the anvil reached the host's listener at ${open.map((a) => `${a}:${canary.port}`).join(', ')}` }
        : {
            rule: 5,
            check: 'host canary',
            ok: true,
            reason: `no connection to the host's listener: ${canaryResults.map(([a, r]) => `${a} ${r}`).join(', ')} (interfaces: ${interfaces.join(', ')})`,
          },
    );
  }
  rows.push(
    dnsLeaked(dnsOutcome)
      ? { rule: 5, check: 'outside DNS', ok: false, reason: `a lookup of ${input.dnsName} got an answer (${dnsOutcome}): DNS queries leave the anvil` }
      : { rule: 5, check: 'outside DNS', ok: true, reason: `a lookup of ${input.dnsName} reached no server (${dnsOutcome})` },
  );
  if (input.tongs.length > 0) {
    const closed = tongResults.filter(([, r]) => r !== 'open');
    rows.push(
      closed.length > 0
        ? { rule: 5, check: 'tongs reachable', ok: false, reason: closed.map(([t, r]) => `${t.alias}:${t.port} ${r}`).join(', ') }
        : { rule: 5, check: 'tongs reachable', ok: true, reason: `${tongResults.map(([t]) => `${t.alias}:${t.port}`).join(', ')} answer` },
    );
  }
  return rows;
}

async function main(): Promise<number> {
  const dir = process.argv[2] ?? DOCTOR_DIR;
  const input = JSON.parse(readFileSync(path.join(dir, DOCTOR_INPUT), 'utf8')) as SealCheckInput;
  const rows: SealCheckRow[] = [];
  const guard = (rule: number, check: string, fn: () => SealCheckRow | SealCheckRow[]) => {
    try {
      rows.push(...[fn()].flat());
    } catch (error) {
      rows.push({ rule, check, ok: false, reason: `the check failed: ${(error as Error).message}` });
    }
  };
  // The network checks wait on timeouts: start them first, search while they wait.
  const egress = checkEgress(input).catch((error: unknown) => [
    { rule: 5, check: 'egress', ok: false, reason: `the check failed: ${(error as Error).message}` },
  ]);
  guard(1, 'state mounts (anvil)', () => checkStateMounts(input));
  guard(2, 'git guard', () => checkGitGuard(input));
  // Let the connects go out before the CPU-bound search starts.
  await new Promise((r) => setTimeout(r, 50));
  guard(4, 'no credential in the anvil', () => checkCredentials(input));
  rows.push(...(await egress));
  writeFileSync(path.join(dir, DOCTOR_RESULT), `${JSON.stringify({ rows }, null, 2)}\n`, { mode: 0o644 });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`tongs: the seal checks failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);

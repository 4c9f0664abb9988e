/**
 * The pure parts of the seal checks that `tongs doctor` runs inside the anvil (DESIGN.md "The seal"
 * rule 6; issue #11 item 4): the input and result shapes shared with the launcher, /proc mountinfo
 * parsing, the "is this mount the user's own harness state" rule, and the salted window hashing that
 * searches for a secret without ever holding its value. No I/O here; anvil/src/seal-checks.ts does it.
 * Node built-ins only: the file ships in the anvil image (make/anvil-image.sh `merge_js`).
 */
import { createHash } from 'node:crypto';
import * as crypto from 'node:crypto';

/** Where the launcher mounts the doctor's exchange dir in the anvil (input.json in, result.json out). */
export const DOCTOR_DIR = '/run/tongs-doctor';
export const DOCTOR_INPUT = 'input.json';
export const DOCTOR_RESULT = 'result.json';

/** One row of the doctor's report: `✔|✘ rule N <check> — <reason>`. */
export interface SealCheckRow {
  /** The seal rule (DESIGN.md "The seal", 1–5) the check belongs to. */
  rule: number;
  check: string;
  ok: boolean;
  reason: string;
  /** A warning that does not fail the doctor (ok stays true). */
  warning?: boolean;
}

/** One secret as the check program gets it: a salted SHA-256 of its UTF-8 bytes, never the value. */
export interface SecretDigest {
  /** Where the secret comes from, e.g. `tong 'github' env GITHUB_TOKEN` (a name, not a value). */
  label: string;
  /** Its length in bytes. */
  length: number;
  /** hex sha256(salt ‖ value). */
  sha256: string;
}

/**
 * One of the user's own harness state paths, as the engine host sees it: `dev` (`major:minor`) and
 * `fsPath` (the path inside that filesystem, as a mountinfo root field would show it) of the path or,
 * when it does not exist yet, of its nearest existing ancestor; null when the launcher could not tell
 * (an engine on another machine).
 */
export interface StatePath {
  path: string;
  dev: string | null;
  fsPath: string | null;
}

/** input.json: everything the check program needs, written by the launcher (launcher/shell/commands/doctor.ts). */
export interface SealCheckInput {
  /** The workspace inside the anvil. */
  workspace: string;
  /** hex, random per doctor run. */
  salt: string;
  secrets: SecretDigest[];
  stateDirs: StatePath[];
  /** A TCP listener of the launcher on the host's 0.0.0.0, and the host addresses to try it at. */
  canary: { addresses: string[]; port: number } | null;
  /** The session's tongs the anvil should reach (through the relay or the session network). */
  tongs: Array<{ name: string; alias: string; port: number }>;
  /** An outside name that must not resolve. */
  dnsName: string;
  /** Search budget: window hashes over files (bytes × distinct secret lengths), and the largest file read. */
  budget: { windows: number; maxFileBytes: number; timeoutMs: number };
  /** Directories searched for secrets before the workspace; default /run, /home, /tmp, /etc. */
  roots?: string[];
}

/** result.json. */
export interface SealCheckResult {
  rows: SealCheckRow[];
}

/** One line of /proc/PID/mountinfo (proc(5)). */
export interface MountInfo {
  /** `major:minor` of the filesystem. */
  dev: string;
  /** The root of the mount within the filesystem (for a bind mount: the bound path inside that fs). */
  root: string;
  mountPoint: string;
  /** Per-mount options (`rw`/`ro`, …). */
  options: string[];
  fsType: string;
  source: string;
}

/** Octal escapes mountinfo uses for space, tab, newline and backslash in paths. */
function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parse /proc/PID/mountinfo; malformed lines are skipped. */
export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const [head, tail] = line.split(' - ');
    if (tail === undefined) continue;
    const f = head!.split(' ');
    const t = tail.split(' ');
    if (f.length < 6 || t.length < 2) continue;
    out.push({
      dev: f[2]!,
      root: unescapeMountPath(f[3]!),
      mountPoint: unescapeMountPath(f[4]!),
      options: f[5]!.split(','),
      fsType: t[0]!,
      source: unescapeMountPath(t[1]!),
    });
  }
  return out;
}

/** True when `a` and `b` are the same path or one contains the other (`/home/u` and `/home/u/.claude`). */
export function pathsOverlap(a: string, b: string): boolean {
  const strip = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);
  const x = strip(a);
  const y = strip(b);
  if (x === y) return true;
  const inside = (inner: string, outer: string) => outer === '/' || inner.startsWith(`${outer}/`);
  return inside(x, y) || inside(y, x);
}

/**
 * The anvil's writable mounts that expose one of the user's own harness state paths (the seal's rule
 * 1): same filesystem and a root that is the path, inside it, or above it (a writable `~` exposes
 * `~/.claude`), or a bind root other than `/` that overlaps the host path.
 */
export function writableStateMounts(mounts: readonly MountInfo[], state: readonly StatePath[]): Array<{ mount: MountInfo; state: StatePath }> {
  const hits: Array<{ mount: MountInfo; state: StatePath }> = [];
  for (const mount of mounts) {
    if (!mount.options.includes('rw')) continue;
    for (const s of state) {
      // By filesystem identity where the launcher knows it; by the host path too (btrfs subvolumes
      // and the like report another device than stat does), but never for a root of `/` alone.
      const matches =
        (s.dev !== null && s.fsPath !== null && mount.dev === s.dev && pathsOverlap(mount.root, s.fsPath)) ||
        (mount.root !== '/' && pathsOverlap(mount.root, s.path));
      if (matches) {
        hits.push({ mount, state: s });
        break;
      }
    }
  }
  return hits;
}

/** sha256(salt ‖ bytes), hex. `crypto.hash` (Node ≥ 20.12) is ~3× faster than createHash for small inputs. */
const sha256Hex: (data: Buffer) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (data) => (crypto as unknown as { hash(alg: string, d: Buffer, enc: 'hex'): string }).hash('sha256', data, 'hex')
    : (data) => createHash('sha256').update(data).digest('hex');

/** The digest of one value, as the launcher computes it (salt as bytes, value as UTF-8). */
export function secretDigest(label: string, value: string, salt: Buffer): SecretDigest {
  const bytes = Buffer.from(value, 'utf8');
  return { label, length: bytes.length, sha256: sha256Hex(Buffer.concat([salt, bytes])) };
}

/**
 * Finds secrets in byte strings by hashing every window of each secret's length with the salt: it
 * learns where a secret is, never what it is. Cost: one SHA-256 per byte per distinct length.
 */
export class WindowMatcher {
  readonly #salt: Buffer;
  /** length → (digest → labels). */
  readonly #byLength = new Map<number, Map<string, string[]>>();
  readonly #minLength: number;
  readonly #minWholeLength: number;

  /**
   * @param minLength windows shorter than this are not searched in bulk text (a value of a few bytes
   * occurs everywhere by chance); {@link matchesWhole} still finds such a value as a whole string…
   * @param minWholeLength …unless it is shorter than this (`1` is the value of half the environment).
   */
  constructor(salt: Buffer, secrets: readonly SecretDigest[], minLength = 8, minWholeLength = 4) {
    this.#salt = salt;
    this.#minLength = minLength;
    this.#minWholeLength = minWholeLength;
    for (const s of secrets) {
      if (s.length === 0) continue;
      const byDigest = this.#byLength.get(s.length) ?? new Map<string, string[]>();
      byDigest.set(s.sha256, [...(byDigest.get(s.sha256) ?? []), s.label]);
      this.#byLength.set(s.length, byDigest);
    }
  }

  /** Distinct lengths searched in bulk text (the cost factor of {@link scan}). */
  get windowLengths(): number[] {
    return [...this.#byLength.keys()].filter((l) => l >= this.#minLength);
  }

  /** Labels of the secrets whose value is exactly `value`. */
  matchesWhole(value: Buffer): string[] {
    if (value.length < this.#minWholeLength) return [];
    const byDigest = this.#byLength.get(value.length);
    if (!byDigest) return [];
    return byDigest.get(sha256Hex(Buffer.concat([this.#salt, value]))) ?? [];
  }

  /** Labels of the secrets that occur anywhere in `data` (each label once). */
  scan(data: Buffer): string[] {
    const found = new Set<string>();
    for (const length of this.windowLengths) {
      if (data.length < length) continue;
      const byDigest = this.#byLength.get(length)!;
      const window = Buffer.alloc(this.#salt.length + length);
      this.#salt.copy(window, 0);
      for (let i = 0; i + length <= data.length; i++) {
        data.copy(window, this.#salt.length, i, i + length);
        const labels = byDigest.get(sha256Hex(window));
        if (labels) for (const l of labels) found.add(l);
      }
    }
    return [...found];
  }
}

/**
 * What a DNS lookup's outcome says about egress: resolving, or any answer from a server (NXDOMAIN,
 * SERVFAIL, REFUSED), means a query left the anvil; a refused connection or a timeout means none did.
 */
export function dnsLeaked(outcome: string): boolean {
  return !['ECONNREFUSED', 'ETIMEOUT', 'ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNRESET', 'EPERM', 'EACCES', 'ECANCELLED', 'ENOENT'].includes(outcome);
}

/** The default gateway of /proc/net/route (hex, little-endian), or null. */
export function defaultGateway(routeTable: string): string | null {
  for (const line of routeTable.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3 || f[1] !== '00000000') continue;
    const hex = f[2]!;
    if (!/^[0-9A-Fa-f]{8}$/.test(hex) || hex === '00000000') continue;
    const bytes = [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16)).reverse();
    return bytes.join('.');
  }
  return null;
}

/**
 * Allowlist entries of the egress tong and the host:port matcher (issue #11 item 2, "The egress tong"
 * and "The allowlist"; DESIGN.md "The seal", rule 5). Pure and dependency-free: the launcher's
 * allowlist validation (launcher/core/egress.ts) and the proxy in the tong (sidecars/egress/src/)
 * use this one module, so an entry means the same thing where it is written and where it is enforced.
 *
 * An entry is one of
 * - `host` — that host on ports 443 and 80 (HTTPS through `CONNECT`, plain HTTP);
 * - `host:port` — that host on that port only;
 * - `*.domain`, `*.domain:port` — every name below `domain` (`a.domain`, `a.b.domain`), not
 *   `domain` itself; wildcards never match an IP address;
 * - an IPv4 address, or an IPv6 address in brackets (`[::1]`, `[::1]:8080`), with the same port rule.
 *
 * Names are compared in their canonical form, the one WHATWG URL parsing gives (lower case, IDNA
 * punycode, IPv4 in dotted decimal — so `0x7f.1` and `2130706433` are `127.0.0.1`), with one trailing
 * dot removed. The proxy connects to that same canonical form, so what is matched is what is
 * reached. Matching is by name: the allowlist does not look at the addresses a name resolves to.
 */
import { isIP } from 'node:net';

/** Ports a bare `host` entry allows: HTTPS (through CONNECT) and plain HTTP. */
export const DEFAULT_EGRESS_PORTS: readonly number[] = [443, 80];

/** The accepted forms, as messages list them. */
export const EGRESS_ENTRY_FORMS =
  'host (ports 443 and 80), host:port, *.domain[:port] (names below domain), an IPv4 address or [IPv6][:port]';

/** One parsed allowlist entry. */
export interface EgressEntry {
  /** Canonical host: a name without trailing dot, dotted IPv4, or bracketed IPv6 (`[::1]`). For a wildcard, the domain after `*.`. */
  host: string;
  /** `*.` entry: matches names strictly below `host`. */
  wildcard: boolean;
  /** Allowed ports (`DEFAULT_EGRESS_PORTS` for an entry without a port). */
  ports: readonly number[];
  /** The entry in canonical form (`*.example.com`, `api.example.com:8443`, `[::1]:8080`). */
  text: string;
}

/** Characters a host may be written with (before canonicalisation); non-ASCII is allowed for IDN names. */
const NAME_CHARS = /^[A-Za-z0-9._\-\u0080-\uFFFF]+$/;
const IPV6_BRACKETED = /^\[[0-9A-Fa-f:.]+\]$/;

/**
 * The canonical form of a host as written in a request or an entry, or null when it is not a
 * usable host name or address. `Example.COM.` → `example.com`; `0x7f.1` → `127.0.0.1`;
 * `[0:0::1]` → `[::1]`; a bare IPv6 address (no brackets), `%`-escapes, empty labels → null.
 */
export function canonicalHost(written: string): string | null {
  if (written === '' || written.length > 255) return null;
  if (!IPV6_BRACKETED.test(written) && !NAME_CHARS.test(written)) return null;
  let hostname: string;
  try {
    hostname = new URL(`http://${written}/`).hostname;
  } catch {
    return null;
  }
  if (hostname.startsWith('[')) return hostname;
  if (hostname.endsWith('.')) hostname = hostname.slice(0, -1);
  if (hostname === '' || hostname.startsWith('.') || hostname.includes('..') || hostname.endsWith('.')) return null;
  return hostname;
}

/** True for a canonical IPv4 or bracketed IPv6 host. */
export function isIpHost(host: string): boolean {
  return host.startsWith('[') || isIP(host) === 4;
}

function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : null;
}

/**
 * Splits `host:port` (`[v6]:port`) as it appears in a CONNECT request line. Returns the written
 * host and the port, or null when there is no valid explicit port.
 */
export function splitAuthority(authority: string): { host: string; port: number } | null {
  const m = /^(\[[^\]]*\]|[^:[\]]*):([^:]*)$/.exec(authority);
  if (!m) return null;
  const port = parsePort(m[2]!);
  return port === null ? null : { host: m[1]!, port };
}

/** Parses one allowlist entry. The error is a sentence for `<file>:<line>: allow[i]: <error>`. */
export function parseEgressEntry(written: string): { entry: EgressEntry } | { error: string } {
  const text = written.trim();
  const bad = (why: string) => ({ error: `${JSON.stringify(written)} ${why}; expected ${EGRESS_ENTRY_FORMS}` });
  if (text === '') return bad('is empty');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) || /[/?#@]/.test(text)) {
    return bad('is not a host: write the host name only, without scheme, user, path or query (e.g. registry.npmjs.org)');
  }
  if (text === '*' || /^\*(:|$)/.test(text)) return bad('would allow every host: use `egress: open` in your own egress.yaml instead');
  let hostPart = text;
  let ports: readonly number[] = DEFAULT_EGRESS_PORTS;
  const colons = (text.match(/:/g) ?? []).length;
  if (colons > 1 && !text.startsWith('[')) return bad('looks like an IPv6 address: write it in brackets, e.g. [::1]:8080');
  if (text.startsWith('[') ? /\]:/.test(text) : colons === 1) {
    const split = splitAuthority(text);
    if (!split) return bad('has an invalid port (expected 1–65535)');
    hostPart = split.host;
    ports = [split.port];
  }
  const wildcard = hostPart.startsWith('*.');
  const written_host = wildcard ? hostPart.slice(2) : hostPart;
  if (written_host.includes('*')) return bad('has a `*` that is not a leading `*.` label');
  const host = canonicalHost(written_host);
  if (host === null) return bad('is not a valid host name or address');
  if (wildcard && isIpHost(host)) return bad('puts a wildcard on an IP address; wildcards are for names only');
  const portText = ports === DEFAULT_EGRESS_PORTS ? '' : `:${ports[0]}`;
  return { entry: { host, wildcard, ports, text: `${wildcard ? '*.' : ''}${host}${portText}` } };
}

/**
 * Parses every entry; `errors` holds one sentence per bad entry (with its index), `entries` the
 * good ones in order, duplicates (by canonical text) removed.
 */
export function parseEgressEntries(written: readonly string[]): { entries: EgressEntry[]; errors: string[] } {
  const entries: EgressEntry[] = [];
  const errors: string[] = [];
  const seen = new Set<string>();
  written.forEach((w, i) => {
    const parsed = parseEgressEntry(w);
    if ('error' in parsed) errors.push(`entry ${i + 1}: ${parsed.error}`);
    else if (!seen.has(parsed.entry.text)) {
      seen.add(parsed.entry.text);
      entries.push(parsed.entry);
    }
  });
  return { entries, errors };
}

/**
 * The first entry that allows `host` (a canonical host, see `canonicalHost`) on `port`, or
 * undefined. `*.example.com` matches `a.example.com` and `a.b.example.com`, never `example.com`
 * and never an IP address.
 */
export function matchEgress(entries: readonly EgressEntry[], host: string, port: number): EgressEntry | undefined {
  const ip = isIpHost(host);
  return entries.find((e) => {
    if (!e.ports.includes(port)) return false;
    if (!e.wildcard) return e.host === host;
    return !ip && host.length > e.host.length + 1 && host.endsWith(`.${e.host}`);
  });
}

/** `host:port` for messages and logs (`[::1]:8080` for IPv6). */
export function formatHostPort(host: string, port: number): string {
  return `${host}:${port}`;
}

/**
 * The egress tong's environment (issue #11; the launcher sets these, the proxy reads them —
 * sidecars/egress/src/config.ts). Plain values, no secrets.
 */
export const EGRESS_ENV = {
  /** Comma-separated allowlist entries (the forms of `parseEgressEntry`); empty or unset = nothing allowed. */
  allow: 'TONGS_EGRESS_ALLOW',
  /** Path (inside the tong) of a JSON file holding a list of entries; added to `allow`. */
  allowFile: 'TONGS_EGRESS_ALLOW_FILE',
  /** `open`: allow every host and port (`egress: open`); anything else or unset: the allowlist applies. */
  mode: 'TONGS_EGRESS',
  /** The allowlist files in merge order (host paths, for messages only), separated by newlines. */
  files: 'TONGS_EGRESS_FILES',
  /** The file a refusal tells the user to edit (host path; default: the first of `files`, else ~/.tongs/egress.yaml). */
  userFile: 'TONGS_EGRESS_USER_FILE',
} as const;

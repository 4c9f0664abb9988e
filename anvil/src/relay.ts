#!/usr/bin/env node
/**
 * The tongs relay (DESIGN.md "The seal", rule 5; issue #11 item 2): the anvil has no network
 * interface, so it reaches its tongs through unix sockets in a per-session volume, as Rudder's
 * sandboxed agents do (../shared/reference/rudder-mcp-server.txt). Two halves of one program, both
 * byte pipes (no protocol is parsed):
 *
 *   relay.js anvil   in the anvil: for each `alias@IP:PORT` of TONGS_RELAY, listen on IP:PORT (a
 *                    127.0.0.0/8 address the anvil's /etc/hosts gives the alias, so the harness keeps
 *                    its usual `http://<alias>:<port>` URLs) and pipe each connection to
 *                    SOCKETS/<alias>-<port>.sock
 *   relay.js tong    on the session network: for each `alias:PORT` of TONGS_RELAY, listen on
 *                    SOCKETS/<alias>-<port>.sock and pipe each connection to alias:PORT
 *
 * SOCKETS is TONGS_RELAY_DIR (default /run/tongs/sock). When every listener is up, the program writes
 * `SOCKETS/.ready-<mode>` (tong) or TONGS_RELAY_READY (anvil) so a caller can wait for it. Exit 2 on
 * a malformed TONGS_RELAY; a listener that cannot start is fatal (exit 1, message on stderr).
 */
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** One relayed endpoint. */
export interface RelayTarget {
  alias: string;
  port: number;
  /** anvil mode: the loopback address to listen on. */
  ip: string | null;
}

/** The socket file of a target inside the socket dir. */
export function socketName(target: Pick<RelayTarget, 'alias' | 'port'>): string {
  return `${target.alias}-${target.port}.sock`;
}

/**
 * Parse TONGS_RELAY: comma-separated `alias:port` (tong mode) or `alias@ip:port` (anvil mode).
 * @throws Error naming the bad entry.
 */
export function parseRelayTargets(text: string, mode: 'anvil' | 'tong'): RelayTarget[] {
  return text
    .split(',')
    .filter(Boolean)
    .map((entry) => {
      const m = mode === 'anvil' ? /^([a-z0-9-]+)@(127\.\d+\.\d+\.\d+):(\d+)$/.exec(entry) : /^([a-z0-9-]+):(\d+)$/.exec(entry);
      if (!m) throw new Error(`bad TONGS_RELAY entry '${entry}'; expected ${mode === 'anvil' ? 'alias@127.x.y.z:port' : 'alias:port'}`);
      return mode === 'anvil' ? { alias: m[1]!, ip: m[2]!, port: Number(m[3]) } : { alias: m[1]!, ip: null, port: Number(m[2]) };
    });
}

/**
 * Pipe two half-open sockets into each other: an end on one side ends the other's write side (so a
 * client that half-closes still gets its answer); an error on either destroys both.
 */
function splice(a: net.Socket, b: net.Socket): void {
  a.pipe(b);
  b.pipe(a);
  const fail = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', fail);
  b.on('error', fail);
}

function listen(server: net.Server, where: string | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if (typeof where === 'string') server.listen(where, () => resolve());
    else server.listen(where.port, where.host, () => resolve());
  });
}

/** Start every listener of `mode`; resolves when all listen. */
export async function startRelay(mode: 'anvil' | 'tong', targets: RelayTarget[], dir: string): Promise<net.Server[]> {
  const servers: net.Server[] = [];
  for (const t of targets) {
    const sock = path.join(dir, socketName(t));
    if (mode === 'tong') {
      const server = net.createServer({ allowHalfOpen: true }, (client) => splice(client, net.connect({ port: t.port, host: t.alias, allowHalfOpen: true })));
      rmSync(sock, { force: true });
      await listen(server, sock);
      // The anvil's harness runs as the workspace owner, not as this relay's user.
      chmodSync(sock, 0o666);
      servers.push(server);
    } else {
      const server = net.createServer({ allowHalfOpen: true }, (client) => splice(client, net.connect({ path: sock, allowHalfOpen: true })));
      await listen(server, { host: t.ip!, port: t.port });
      servers.push(server);
    }
  }
  return servers;
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  if (mode !== 'anvil' && mode !== 'tong') {
    process.stderr.write('usage: relay.js anvil|tong (targets in TONGS_RELAY)\n');
    process.exit(2);
  }
  let targets: RelayTarget[];
  try {
    targets = parseRelayTargets(process.env.TONGS_RELAY ?? '', mode);
  } catch (error) {
    process.stderr.write(`tongs relay: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const dir = process.env.TONGS_RELAY_DIR || '/run/tongs/sock';
  try {
    await startRelay(mode, targets, dir);
  } catch (error) {
    process.stderr.write(`tongs relay: cannot listen: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const ready = mode === 'tong' ? path.join(dir, '.ready-tong') : process.env.TONGS_RELAY_READY;
  if (ready) writeFileSync(ready, `${process.pid}\n`);
  if (mode === 'tong') process.stdout.write('TONGS RELAY READY\n');
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => process.exit(0));
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) void main();

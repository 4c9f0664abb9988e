/**
 * The egress tong's HTTP(S) forward proxy (issue #11 item 2, "The egress tong"; DESIGN.md "The
 * seal", rule 5). The anvil reaches the outside only through it (`HTTPS_PROXY`/`HTTP_PROXY`):
 *
 * - `CONNECT host:port` (HTTPS, or any TCP through a tunnel) is allowed when the allowlist matches
 *   the host and the port; the proxy then pipes bytes both ways and never looks inside.
 * - A plain request in absolute form (`GET http://host[:port]/path`) is allowed the same way and
 *   forwarded by http-proxy-3 to the host and port of its URL. The `Host` header is replaced by the
 *   URL's authority (RFC 9112 §3.2.2), so a header naming another host changes nothing.
 * - Anything else — a request aimed at the proxy itself (origin form), another scheme, a malformed
 *   target — gets 400. A host that is not listed gets 403 with a plain-text body naming
 *   `host:port` and the allowlist file that would allow it.
 *
 * Node's http server does all HTTP parsing (its `connect` and `upgrade` events hand over the raw
 * socket). Hosts are matched and connected to in their canonical form (launcher/core/egress-match.ts),
 * so the name that was checked is the name that is dialled. No request or response body, path or
 * header is ever logged: one stderr line per refusal, naming the method, host:port and reason.
 */
import http from 'node:http';
import net from 'node:net';
import { createProxyServer } from 'http-proxy-3';
import {
  canonicalHost,
  DEFAULT_EGRESS_PORTS,
  formatHostPort,
  matchEgress,
  splitAuthority,
  type EgressEntry,
} from '../../../launcher/core/egress-match.js';

/** Options of `createEgressProxy`. */
export interface EgressProxyOptions {
  entries: readonly EgressEntry[];
  /** Allow every host and port (`TONGS_EGRESS=open`). */
  open?: boolean;
  /** The file a refusal names as the place to add a host (a host path). */
  userFile: string;
  /** Every allowlist file, in merge order (named in refusals). */
  files?: readonly string[];
  /** One line per refusal and per upstream failure (without a trailing newline). */
  log: (line: string) => void;
  /** How long dialling an upstream may take, in ms (default 10 000); then 504. */
  connectTimeoutMs?: number;
  /** Name resolution for upstream connections (default: the system's, dns.lookup); tests resolve without DNS. */
  lookup?: net.LookupFunction;
}

/** The proxy: an http.Server to `listen` on. */
export interface EgressProxy {
  server: http.Server;
  /** Stops listening and ends every open connection and tunnel. */
  close: () => Promise<void>;
}

/** A target the proxy will dial: canonical host (bracketed for IPv6) and port. */
interface Target {
  host: string;
  port: number;
}

const ABSOLUTE_URI = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The host as net.connect wants it: IPv6 without brackets. */
const dialHost = (host: string) => (host.startsWith('[') ? host.slice(1, -1) : host);

/** The entry a user would add to allow `target`. */
function suggestedEntry(target: Target): string {
  return DEFAULT_EGRESS_PORTS.includes(target.port) ? target.host : formatHostPort(target.host, target.port);
}

/** Creates the proxy (not yet listening). */
export function createEgressProxy(options: EgressProxyOptions): EgressProxy {
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const lookup = options.lookup;
  const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 8, timeout: 60_000 });
  if (lookup) {
    // The agent dials with net.createConnection; give it the same resolver as CONNECT.
    const dial = agent.createConnection.bind(agent);
    agent.createConnection = (opts, callback) => dial({ ...opts, lookup } as net.NetConnectOpts, callback);
  }
  const proxy = createProxyServer({ agent, xfwd: false, proxyTimeout: 0 });
  const sockets = new Set<net.Socket>();

  const allowed = (target: Target) => options.open === true || matchEgress(options.entries, target.host, target.port) !== undefined;

  const refusalBody = (method: string, target: Target) => {
    const files = options.files && options.files.length > 0 ? `\nThe allowlist is merged from: ${options.files.join(', ')}\n` : '';
    return (
      `tongs egress: refused ${method} ${formatHostPort(target.host, target.port)}: the host is not on the egress allowlist.\n` +
      `To allow it, add it to ${options.userFile}:\n\n  allow:\n    - ${JSON.stringify(suggestedEntry(target))}\n` +
      `\n(a bare host allows ports 443 and 80; host:port allows that port only)\n${files}`
    );
  };

  /**
   * The body's first line as a header value: clients that hide a CONNECT refusal's body (curl says
   * only "CONNECT tunnel failed, response 403") still show headers with -v.
   */
  const noteOf = (body: string) => (body.split('\n')[0] ?? '').replace(/[^\x20-\x7e]/g, '?');

  /** Writes a complete response on a raw socket (CONNECT and upgrade happen outside the http server's response). */
  const replyOnSocket = (socket: net.Socket, status: number, body: string) => {
    const payload = Buffer.from(body, 'utf8');
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `X-Tongs-Egress: ${noteOf(body)}\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n${payload.toString('latin1')}`,
      'latin1',
    );
  };

  const replyOnResponse = (res: http.ServerResponse, status: number, body: string) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-tongs-egress': noteOf(body), connection: 'close' });
    res.end(body);
  };

  /** The target of an absolute-form request, or the reason it is not one the proxy serves. */
  const absoluteTarget = (req: http.IncomingMessage): { target: Target; authority: string } | { status: number; reason: string; body: string } => {
    const raw = req.url ?? '';
    if (!ABSOLUTE_URI.test(raw)) {
      return {
        status: 400,
        reason: 'not a proxy request (origin-form target)',
        body: 'tongs egress: this is an HTTP(S) proxy: send requests through it (HTTPS_PROXY / HTTP_PROXY), not to it.\n',
      };
    }
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return { status: 400, reason: 'malformed absolute URI', body: 'tongs egress: the request target is not a valid URL.\n' };
    }
    if (url.protocol !== 'http:') {
      return {
        status: 400,
        reason: `scheme ${url.protocol} not proxied`,
        body: `tongs egress: only http:// requests are forwarded as they are; ${url.protocol}// goes through CONNECT (HTTPS_PROXY).\n`,
      };
    }
    const host = canonicalHost(url.hostname);
    if (host === null) return { status: 400, reason: 'invalid host', body: 'tongs egress: the request names no valid host.\n' };
    const port = url.port === '' ? 80 : Number(url.port);
    return { target: { host, port }, authority: port === 80 ? host : formatHostPort(host, port) };
  };

  const refuse = (method: string, target: Target) => {
    options.log(`refused ${method} ${formatHostPort(target.host, target.port)}: not on the allowlist`);
    return refusalBody(method, target);
  };

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const found = absoluteTarget(req);
    if ('status' in found) {
      options.log(`refused ${method}: ${found.reason}`);
      replyOnResponse(res, found.status, found.body);
      return;
    }
    const { target, authority } = found;
    if (!allowed(target)) {
      replyOnResponse(res, 403, refuse(method, target));
      return;
    }
    // Hop-by-hop headers meant for this proxy; the Host header is the URL's authority.
    delete req.headers['proxy-connection'];
    delete req.headers['proxy-authorization'];
    req.headers.host = authority;
    proxy.web(req, res, { target: { protocol: 'http:', host: target.host, hostname: target.host, port: target.port } }, (err) => {
      const code = (err as NodeJS.ErrnoException).code ?? err.message;
      options.log(`${method} ${formatHostPort(target.host, target.port)}: upstream failed: ${code}`);
      replyOnResponse(res, 502, `tongs egress: cannot reach ${formatHostPort(target.host, target.port)}: ${code}\n`);
    });
  });

  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    client.on('error', () => client.destroy());
    const split = splitAuthority(req.url ?? '');
    const host = split ? canonicalHost(split.host) : null;
    if (!split || host === null) {
      options.log('refused CONNECT: the target is not host:port');
      replyOnSocket(client, 400, 'tongs egress: CONNECT needs a host:port target.\n');
      return;
    }
    const target = { host, port: split.port };
    if (!allowed(target)) {
      replyOnSocket(client, 403, refuse('CONNECT', target));
      return;
    }
    let connected = false;
    const upstream = net.connect({ host: dialHost(target.host), port: target.port, ...(lookup ? { lookup } : {}) });
    sockets.add(upstream);
    upstream.setTimeout(connectTimeoutMs);
    upstream.once('timeout', () => {
      if (connected) return;
      options.log(`CONNECT ${formatHostPort(target.host, target.port)}: upstream timed out`);
      replyOnSocket(client, 504, `tongs egress: ${formatHostPort(target.host, target.port)} did not answer within ${connectTimeoutMs} ms\n`);
      upstream.destroy();
    });
    upstream.once('connect', () => {
      connected = true;
      upstream.setTimeout(0);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (connected) {
        client.destroy();
        return;
      }
      options.log(`CONNECT ${formatHostPort(target.host, target.port)}: upstream failed: ${err.code ?? err.message}`);
      replyOnSocket(client, 502, `tongs egress: cannot reach ${formatHostPort(target.host, target.port)}: ${err.code ?? err.message}\n`);
    });
    upstream.once('close', () => {
      sockets.delete(upstream);
      if (connected) client.destroy();
    });
    client.once('close', () => upstream.destroy());
  });

  // An absolute-form request with `Upgrade` (a WebSocket over plain HTTP): same rules, then http-proxy-3's ws pass.
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const method = req.method ?? 'GET';
    const found = absoluteTarget(req);
    if ('status' in found) {
      options.log(`refused ${method} upgrade: ${found.reason}`);
      replyOnSocket(socket, found.status, found.body);
      return;
    }
    if (!allowed(found.target)) {
      replyOnSocket(socket, 403, refuse(method, found.target));
      return;
    }
    // http-proxy-3 relays WebSocket upgrades only (and drops the socket on any other).
    if (method !== 'GET' || String(req.headers.upgrade).toLowerCase() !== 'websocket') {
      options.log(`refused ${method} upgrade ${formatHostPort(found.target.host, found.target.port)}: only WebSocket upgrades are relayed`);
      replyOnSocket(socket, 400, 'tongs egress: only WebSocket upgrades are relayed as plain requests; tunnel anything else with CONNECT.\n');
      return;
    }
    delete req.headers['proxy-connection'];
    delete req.headers['proxy-authorization'];
    req.headers.host = found.authority;
    const { host, port } = found.target;
    proxy.ws(req, socket, head, { target: { protocol: 'http:', host, hostname: host, port } }, (err) => {
      options.log(`${method} upgrade ${formatHostPort(host, port)}: upstream failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
      socket.destroy();
    });
  });

  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        agent.destroy();
      }),
  };
}

/**
 * The model tong's HTTP front (issue #11 item 1; DESIGN.md "The seal" rule 4): a reverse proxy, built
 * on http-proxy-3, from the harness to the upstream model API.
 *
 * For each request, before anything reaches the upstream:
 *  - a path outside the dialect's model API gets 404 (a known path with another method 405);
 *  - without the session bearer (as `Authorization: Bearer` or `x-api-key`) it gets 401;
 *  - the client's credential headers are removed and the tong's real credential is set.
 * Then the request streams upstream and the answer streams back as it arrives: status, headers and
 * body unchanged (server-sent events included; an event stream's headers are flushed at once), and
 * nothing is buffered. No body and no header value is ever logged.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { createProxyServer } from 'http-proxy-3';
import { tokenMatches } from '../../shared/http-guard.js';
import type { Credential, ProxyDialect } from './dialects.js';

// The constant-time bearer comparison is the one every HTTP tong shares (issue #13).
export { tokenMatches } from '../../shared/http-guard.js';

export interface ModelProxyOptions {
  dialect: ProxyDialect;
  /** The upstream API root; a path in it is prepended to every forwarded path. */
  upstream: URL;
  /** The real credential, or null: model calls are then answered 503. */
  credential: Credential | null;
  /** The session bearer every request must present; undefined ⇒ none is required. */
  sessionToken?: string | undefined;
  /** One log line to stderr (the caller redacts secrets; nothing here passes a header value or body). */
  log?: (line: string) => void;
}

/** The running front: the node server plus a graceful `shutdown`. */
export interface ModelProxy {
  server: http.Server;
  /** Stops accepting, lets in-flight requests (streams included) finish up to `graceMs` (default 8000), then closes. */
  shutdown(graceMs?: number): Promise<void>;
  /** Requests being handled right now. */
  inFlight(): number;
  /** Requests received since the server was created (any path). */
  received(): number;
}

/** Creates (does not start) the proxy server; call `server.listen(port, host)`. */
export function createModelProxy(options: ModelProxyOptions): ModelProxy {
  const { dialect, upstream, credential } = options;
  const log = options.log ?? (() => {});
  // Keep upstream connections open between calls: a new TLS handshake per model call costs tens of ms.
  const agent =
    upstream.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, keepAliveMsecs: 15_000 })
      : new http.Agent({ keepAlive: true, keepAliveMsecs: 15_000 });
  const proxy = createProxyServer({
    target: upstream.href,
    agent,
    changeOrigin: true, // Host is the upstream's, as a direct call would send it
    xfwd: false, // no X-Forwarded-*: the upstream sees the tong, as it would see the harness
    secure: true,
    prependPath: true,
  });
  proxy.on('proxyReq', (_proxyReq, _req, _res, _options, socket: Socket) => {
    // A request is written as headers, then body: without this, Nagle's algorithm can hold the last
    // segment back until the upstream's delayed ACK (up to 40 ms) before the answer can start.
    socket.setNoDelay(true);
  });
  proxy.on('proxyRes', (proxyRes, _req, res) => {
    // An event stream's status and headers go out at once, not with its first event.
    if (String(proxyRes.headers['content-type'] ?? '').startsWith('text/event-stream')) {
      process.nextTick(() => {
        if (!res.headersSent && !res.destroyed) res.flushHeaders();
      });
    }
  });

  const send = (res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}) => {
    if (res.headersSent || res.destroyed) return;
    const { contentType, body } = dialect.errorBody(status, message);
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };

  let inFlight = 0;
  let received = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://tong');
    const method = req.method ?? 'GET';
    const known = dialect.routes.filter((r) => r.path.test(url.pathname));
    if (known.length === 0) {
      // Read and drop the body so the client gets the answer, not a reset.
      req.resume();
      return send(res, 404, `Not found: ${url.pathname} is not part of the model API this tong forwards`);
    }
    if (!known.some((r) => r.method === method)) {
      req.resume();
      return send(res, 405, `Method ${method} is not allowed on ${url.pathname}`, { allow: known.map((r) => r.method).join(', ') });
    }
    if (options.sessionToken !== undefined && !tokenMatches(dialect.presentedToken(req.headers), options.sessionToken)) {
      req.resume();
      log(`refused ${method} ${url.pathname}: missing or wrong session bearer`);
      return send(res, 401, 'Unauthorized: this model tong needs the session bearer as the API key', { 'www-authenticate': 'Bearer' });
    }
    if (!credential) {
      req.resume();
      return send(res, 503, `The model tong holds no API key: set ${dialect.credentialEnv.join(' or ')} on the host and start a new session`);
    }
    // The swap: nothing the client sent as a credential goes upstream, only the tong's own.
    for (const name of dialect.clientCredentialHeaders) delete req.headers[name];
    req.headers[credential.header] = credential.value;
    const started = Date.now();
    proxy.web(req, res, {}, (err) => {
      const code = (err as NodeJS.ErrnoException).code ?? err.message;
      if (res.headersSent) {
        // The answer had begun: cut it off, so the client sees a broken stream, not a complete one.
        log(`upstream failed during ${method} ${url.pathname} after ${Date.now() - started} ms: ${code}`);
        res.destroy();
        return;
      }
      log(`upstream unreachable for ${method} ${url.pathname}: ${code}`);
      send(res, 502, `Bad gateway: the model tong could not reach the upstream API (${code})`);
    });
  };

  const server = http.createServer((req, res) => {
    inFlight++;
    received++;
    if (closing) res.setHeader('connection', 'close');
    res.on('close', () => {
      inFlight--;
      if (closing) {
        server.closeIdleConnections();
        if (inFlight === 0) drained?.();
      }
    });
    try {
      handle(req, res);
    } catch (err) {
      log(`internal error: ${err instanceof Error ? err.message : String(err)}`);
      send(res, 500, 'Internal error in the model tong');
    }
  });
  server.keepAliveTimeout = 65_000; // longer than typical client pools, so reuse is safe
  // Model answers may stream for many minutes; only the request itself has Node's default deadline.
  server.timeout = 0;

  return {
    server,
    inFlight: () => inFlight,
    received: () => received,
    shutdown(graceMs = 8000) {
      closing = true;
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          agent.destroy();
          resolve();
        };
        const timer = setTimeout(() => {
          server.closeAllConnections();
          done();
        }, graceMs);
        timer.unref();
        drained = () => server.close(() => done());
        server.close(() => done());
        server.closeIdleConnections();
        if (inFlight === 0) drained();
      });
    },
  };
}

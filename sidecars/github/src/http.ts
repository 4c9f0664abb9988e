/**
 * Streamable HTTP front of the GitHub tong (issue #5 "Transport security"; DESIGN.md "The GitHub
 * tong"). Stateless: each POST to the MCP path gets a fresh `McpServer` and transport, answered as
 * plain JSON (the SDK's documented stateless pattern: a stateless transport refuses a second
 * request). Before the SDK sees a request: the Origin rule (403), the bearer rule (401) and the body
 * limit (413).
 */
import http from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
// The web-standard transport, not the node one: that one adapts node's request and response through
// @hono/node-server, whose import alone (node:http2 and its own modules) costs ~5 MB of resident memory.
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { DEFAULT_MAX_BODY_BYTES, guardRequest, readJsonBody, sendJsonRpcError } from '../../shared/http-guard.js';

// The rules themselves live in the shared module (issue #13: one module for every HTTP tong).
export { bearerMatches, DEFAULT_MAX_BODY_BYTES, originAllowed } from '../../shared/http-guard.js';

/** Options of `createHttpServer`. */
export interface HttpOptions {
  /** Makes the per-request MCP server (usually `() => createServer(deps)`). */
  createMcpServer: () => McpServer;
  /** Host names an `Origin` header may carry besides localhost: the tong's name and aliases. */
  allowedOriginHosts: readonly string[];
  /** When set, every request needs `Authorization: Bearer <it>` (issue #6 per-session bearer). */
  mcpToken?: string | undefined;
  /** Endpoint path (default `/mcp`). */
  path?: string;
  /** Largest accepted request body in bytes (default `DEFAULT_MAX_BODY_BYTES`). */
  maxBodyBytes?: number;
  /** One log line to stderr; must never receive a secret (nothing here logs headers or bodies). */
  log?: (line: string) => void;
}

/** The running front: the node server plus a graceful `shutdown`. */
export interface TongHttpServer {
  server: http.Server;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`, default 8000), then closes. */
  shutdown(graceMs?: number): Promise<void>;
  /** Requests being handled right now. */
  inFlight(): number;
  /** Requests received since the server was created (any path or method). */
  received(): number;
}

/**
 * The web `Request` the transport reads: method, URL and headers. The body was already read (within
 * the limit) and parsed; it reaches the transport as `parsedBody`, so the Request carries none.
 */
function webRequest(req: http.IncomingMessage, url: URL): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return new Request(url, { method: req.method ?? 'POST', headers });
}

/**
 * Writes the transport's answer. With `enableJsonResponse` every answer to a POST is a complete JSON
 * body (or an empty 202), so it is read whole and sent with its length in one write.
 */
async function sendWebResponse(res: http.ServerResponse, answer: Response): Promise<void> {
  const body = answer.body ? Buffer.from(await answer.arrayBuffer()) : undefined;
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = {};
  answer.headers.forEach((value, name) => {
    headers[name] = value;
  });
  if (body) headers['content-length'] = String(body.length);
  res.writeHead(answer.status, headers);
  res.end(body);
}

/** Creates (does not start) the HTTP server; call `server.listen(port, host)`. */
export function createHttpServer(options: HttpOptions): TongHttpServer {
  const mcpPath = options.path ?? '/mcp';
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = options.log ?? (() => {});
  let inFlight = 0;
  let received = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://tong');
    if (url.pathname !== mcpPath) return sendJsonRpcError(res, 404, -32601, `Not found: the MCP endpoint is ${mcpPath}`);
    if (!guardRequest(req, res, { allowedOriginHosts: options.allowedOriginHosts, mcpToken: options.mcpToken, log })) return;
    if (req.method !== 'POST') {
      // Stateless server: no standalone SSE stream (GET) and no session to DELETE.
      return sendJsonRpcError(res, 405, -32000, 'Method not allowed: POST JSON-RPC messages to this endpoint', { allow: 'POST' });
    }
    const body = await readJsonBody(req, res, limit);
    if (!body.ok) return;
    const parsed = body.body;
    const mcp = options.createMcpServer();
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    const answer = await transport.handleRequest(webRequest(req, url), { parsedBody: parsed });
    await sendWebResponse(res, answer);
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
    handle(req, res).catch((err: unknown) => {
      log(`internal error: ${err instanceof Error ? err.message : String(err)}`);
      sendJsonRpcError(res, 500, -32603, 'Internal server error');
    });
  });
  server.keepAliveTimeout = 65_000; // longer than typical client pools, so reuse is safe
  server.requestTimeout = 300_000;

  return {
    server,
    inFlight: () => inFlight,
    received: () => received,
    shutdown(graceMs = 8000) {
      closing = true;
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          log(`shutdown: ${inFlight} request(s) still running after ${graceMs} ms; closing anyway`);
          server.closeAllConnections();
          done();
        }, graceMs);
        timer.unref();
        server.close(() => done());
        server.closeIdleConnections();
        drained = () => server.closeIdleConnections();
      });
    },
  };
}

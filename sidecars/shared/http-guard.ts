/**
 * The request rules every HTTP tong applies before its server sees a request (issue #5 "Transport
 * security", issue #13 "Stdio tongs"): the Origin rule (403), the bearer rule (401) and the body
 * limit (413). One module, used by the GitHub tong (sidecars/github/src/http.ts), the stdio bridge
 * (sidecars/stdio-bridge/src/bridge.ts) and the model tong's bearer check
 * (sidecars/model-api/src/proxy.ts). Only node built-ins: the bridge bundles it, the tongs'
 * images copy it as `dist/sidecars/shared/http-guard.js`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';

/** Default bound on a request body: 4 MiB (create_pr carries whole files). */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

const LOCAL_HOSTS = ['localhost', '127.0.0.1', '[::1]', '::1'];

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Constant-time comparison of a presented token with the expected one (digests, so length leaks nothing). */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  return given !== undefined && given !== '' && timingSafeEqual(digest(given), digest(expected));
}

/** The token of an `Authorization: Bearer <token>` header value, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer[ ]+(.+)$/i.exec(header ?? '');
  const token = m ? m[1]!.trim() : '';
  return token === '' ? undefined : token;
}

/** Constant-time bearer check of an `Authorization` header value. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  return tokenMatches(bearerToken(header) ?? '', expected);
}

/** DNS-rebinding rule: an absent Origin passes; a present one must name localhost or an allowed host. */
export function originAllowed(origin: string | undefined, allowedHosts: readonly string[]): boolean {
  if (origin === undefined) return true;
  let host: string;
  try {
    host = new URL(origin).hostname.toLowerCase();
  } catch {
    return false; // "null" and garbage
  }
  return LOCAL_HOSTS.includes(host) || allowedHosts.some((h) => h.toLowerCase() === host);
}

/** Answers a JSON-RPC error with `id: null` (a transport-level refusal), unless headers went out already. */
export function sendJsonRpcError(res: http.ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** What `guardRequest` checks. */
export interface GuardOptions {
  /** Host names an `Origin` header may carry besides localhost: the tong's name and aliases. */
  allowedOriginHosts: readonly string[];
  /** When set, every request needs `Authorization: Bearer <it>` (issue #6 per-session bearer). */
  mcpToken?: string | undefined;
  /** One log line to stderr; never given a header value or a body. */
  log?: (line: string) => void;
}

/**
 * The Origin rule, then the bearer rule. Returns true when the request may go on; otherwise it has
 * answered (403 or 401) and returns false.
 */
export function guardRequest(req: http.IncomingMessage, res: http.ServerResponse, options: GuardOptions): boolean {
  if (!originAllowed(req.headers.origin, options.allowedOriginHosts)) {
    options.log?.(`refused a request with Origin ${JSON.stringify(req.headers.origin)} (not one of this tong's names)`);
    sendJsonRpcError(res, 403, -32000, 'Forbidden: Origin is not allowed');
    return false;
  }
  if (options.mcpToken !== undefined && !bearerMatches(req.headers.authorization, options.mcpToken)) {
    sendJsonRpcError(res, 401, -32001, 'Unauthorized: missing or wrong bearer token', { 'www-authenticate': 'Bearer' });
    return false;
  }
  return true;
}

class BodyTooLarge extends Error {}

/**
 * Answers 413 at once and discards the rest of the body without buffering it, so the client reads
 * the answer instead of a connection reset. A client that keeps sending far past the limit is cut off.
 */
function tooLarge(req: http.IncomingMessage, res: http.ServerResponse, limit: number): void {
  let discarded = 0;
  req.removeAllListeners('data');
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > 16 * limit) req.socket.destroy();
  });
  req.resume();
  sendJsonRpcError(res, 413, -32000, `Request body too large: the limit is ${limit} bytes`);
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** `readJsonBody`'s answer: the parsed body, or `undefined` after it answered 413 or 400 itself. */
export type JsonBody = { ok: true; body: unknown } | { ok: false };

/**
 * Reads the request body within `limit` bytes (default `DEFAULT_MAX_BODY_BYTES`) and parses it as
 * JSON. Over the limit (declared or streamed) it answers 413; a body that is not JSON gets 400.
 */
export async function readJsonBody(req: http.IncomingMessage, res: http.ServerResponse, limit = DEFAULT_MAX_BODY_BYTES): Promise<JsonBody> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    tooLarge(req, res, limit);
    return { ok: false };
  }
  try {
    const raw = await readBody(req, limit);
    return { ok: true, body: JSON.parse(raw.toString('utf8')) };
  } catch (err) {
    if (err instanceof BodyTooLarge) tooLarge(req, res, limit);
    else sendJsonRpcError(res, 400, -32700, 'Parse error: the body is not valid JSON');
    return { ok: false };
  }
}

/**
 * The stdio bridge (DESIGN.md "Stdio tongs", issue #13 item 1): serves one stdio MCP server as
 * Streamable HTTP. Built on the SDK's own transports: one `StdioClientTransport` to the child (one
 * child per tong) and one `StreamableHTTPServerTransport` per HTTP session. Messages are relayed as
 * JSON-RPC, not re-implemented:
 *
 *  - the bridge is the child's one MCP client: it initializes the child itself, declaring sampling,
 *    elicitation and roots, and answers each session's `initialize` with the child's result;
 *  - a session's requests go to the child under bridge-unique ids (and progress tokens), so many
 *    sessions share one child; the answers go back to the session and request they came from;
 *  - the child's requests (sampling, elicitation, roots) go to a session that declared the
 *    capability, on the stream of its latest request to the child when one is open; its answer
 *    goes back to the child under the child's id;
 *  - the child's notifications go to every session (progress only to the request it belongs to),
 *    on the stream of the session's latest open request, else on its GET stream;
 *  - cancellations are mapped both ways.
 *
 * A child that exits is restarted; requests it had not answered get a tool error (`tools/call`) or
 * a JSON-RPC error naming the exit and the tail of its stderr. The child's stderr goes to the
 * bridge's stderr (the tong's log). A line on its stdout that is not JSON-RPC is logged and skipped.
 * Before the SDK sees a request, the shared Origin, bearer and body-size rules apply
 * (sidecars/shared/http-guard.ts).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Writable } from 'node:stream';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { DEFAULT_MAX_BODY_BYTES, guardRequest, readJsonBody, sendJsonRpcError } from '../../shared/http-guard.js';

/** How long the child may take to answer the bridge's `initialize` (ms). */
export const DEFAULT_INIT_TIMEOUT_MS = 30_000;
/** Bytes of the child's stderr kept for error messages. */
const STDERR_TAIL_BYTES = 2048;

export interface BridgeOptions {
  /** The stdio server's argv (the tong's `command:`). */
  command: readonly string[];
  /** The child's environment (the tong's own, secrets included, without the bridge's bearer). */
  env: Record<string, string>;
  cwd?: string;
  /** Host names an `Origin` may carry besides localhost: the tong's name and aliases. */
  allowedOriginHosts: readonly string[];
  /** When set, every request needs `Authorization: Bearer <it>`. */
  mcpToken?: string | undefined;
  /** Endpoint path (default `/mcp`). */
  path?: string;
  maxBodyBytes?: number;
  initTimeoutMs?: number;
  /** One log line (the bridge's own; never a header value or a body). */
  log?: (line: string) => void;
  /** Where the child's stderr goes (default process.stderr). */
  childStderr?: Writable;
}

export interface StdioBridge {
  server: http.Server;
  /** Spawns and initializes the child. Rejects (with its stderr tail) when it cannot. */
  start(): Promise<void>;
  /** Closes every session, the HTTP server and the child. */
  shutdown(): Promise<void>;
  /** The child's pid, or null while none runs. */
  childPid(): number | null;
  /** Children started after the first (restarts after a crash). */
  restarts(): number;
  /** Open HTTP sessions. */
  sessions(): number;
}

type Json = Record<string, unknown>;

interface Session {
  id: string | undefined;
  transport: StreamableHTTPServerTransport;
  /** The client's capabilities, from its `initialize`. */
  capabilities: Json;
  /** Ids of this session's requests the child has not answered yet, oldest first. */
  open: RequestId[];
  /** Our id of a child request sent to this session → the child's id. */
  outgoing: Map<RequestId, RequestId>;
}

interface Pending {
  session: Session;
  id: RequestId;
  method: string;
  progressToken?: string | number;
}

const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Which client capability a request from the server needs, by method. */
const CAPABILITY_OF: Record<string, string> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

class ChildExited extends Error {}

export function createStdioBridge(options: BridgeOptions): StdioBridge {
  const [command, ...args] = options.command;
  if (!command) throw new Error('the stdio server command is empty');
  const mcpPath = options.path ?? '/mcp';
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = options.log ?? (() => {});
  const childStderr = options.childStderr ?? process.stderr;
  const describe = options.command.join(' ');

  const sessions = new Map<string, Session>();
  const pending = new Map<string, Pending>();
  const progress = new Map<string, { session: Session; token: string | number; requestId: RequestId }>();
  let seq = 0;
  let child: StdioClientTransport | null = null;
  let ready: Promise<Json> | null = null;
  let initWaiter: { id: RequestId; resolve: (r: Json) => void; reject: (e: Error) => void } | null = null;
  let stderrTail = '';
  let started = 0;
  let stopping = false;
  /** Children that completed initialize. */
  const initialized = new WeakSet<StdioClientTransport>();
  let lastEagerRestart = 0;

  const tail = () => (stderrTail.trim() ? `; its stderr ends:\n${stderrTail.trimEnd()}` : '');
  const nextId = () => `tongs-${++seq}`;

  const sendToSession = (session: Session, message: JSONRPCMessage, relatedRequestId?: RequestId) => {
    session.transport.send(message, relatedRequestId !== undefined ? { relatedRequestId } : undefined).catch((err: unknown) => {
      log(`could not deliver a message to session ${session.id ?? '?'}: ${err instanceof Error ? err.message : String(err)}`);
    });
  };

  const closeOpen = (session: Session, id: RequestId) => {
    const i = session.open.lastIndexOf(id);
    if (i >= 0) session.open.splice(i, 1);
  };

  /** Answers a session's request that the child will never answer. */
  const failPending = (p: Pending, message: string) => {
    closeOpen(p.session, p.id);
    const answer: JSONRPCMessage =
      p.method === 'tools/call'
        ? { jsonrpc: '2.0', id: p.id, result: { content: [{ type: 'text', text: message }], isError: true } }
        : { jsonrpc: '2.0', id: p.id, error: { code: -32603, message } };
    sendToSession(p.session, answer, p.id);
  };

  const onChildMessage = (message: JSONRPCMessage) => {
    const m = message as Json;
    if (typeof m.method === 'string' && m.id !== undefined) return onChildRequest(m as Json & { id: RequestId; method: string });
    if (typeof m.method === 'string') return onChildNotification(m as Json & { method: string });
    const id = m.id as RequestId;
    if (initWaiter && id === initWaiter.id) {
      const waiter = initWaiter;
      initWaiter = null;
      if (isRecord(m.result)) waiter.resolve(m.result);
      else waiter.reject(new Error(`the stdio server refused initialize: ${JSON.stringify(m.error)}`));
      return;
    }
    const p = pending.get(String(id));
    if (!p) return; // cancelled, or its session is gone
    pending.delete(String(id));
    if (p.progressToken !== undefined) progress.delete(String(id));
    closeOpen(p.session, p.id);
    sendToSession(p.session, { ...(m as object), id: p.id } as unknown as JSONRPCMessage, p.id);
  };

  /** The session (and its latest open request) that should receive a request of the child's. */
  const targetFor = (capability: string | undefined): { session: Session; related?: RequestId } | null => {
    const capable = [...sessions.values()].filter((s) => capability === undefined || isRecord(s.capabilities[capability]));
    // Prefer the session whose request the child is working on (a tool asking for sampling).
    const busy = [...pending.values()].reverse().find((p) => capable.includes(p.session));
    if (busy) return { session: busy.session, related: busy.id };
    const last = capable.at(-1);
    return last ? { session: last } : null;
  };

  const onChildRequest = (m: Json & { id: RequestId; method: string }) => {
    if (m.method === 'ping') {
      void child?.send({ jsonrpc: '2.0', id: m.id, result: {} }).catch(() => {});
      return;
    }
    const capability = CAPABILITY_OF[m.method];
    const target = targetFor(capability);
    if (!target) {
      // No client can answer. An empty roots list is a true answer; anything else is an error.
      const answer: JSONRPCMessage =
        m.method === 'roots/list'
          ? { jsonrpc: '2.0', id: m.id, result: { roots: [] } }
          : { jsonrpc: '2.0', id: m.id, error: { code: -32601, message: `no connected MCP client supports ${m.method}` } };
      void child?.send(answer).catch(() => {});
      return;
    }
    const ours = nextId();
    target.session.outgoing.set(ours, m.id);
    sendToSession(target.session, { ...m, id: ours } as unknown as JSONRPCMessage, target.related);
  };

  const onChildNotification = (m: Json & { method: string }) => {
    const params = isRecord(m.params) ? m.params : {};
    if (m.method === 'notifications/progress') {
      const route = progress.get(String(params.progressToken));
      if (route) sendToSession(route.session, { ...m, params: { ...params, progressToken: route.token } } as unknown as JSONRPCMessage, route.requestId);
      return;
    }
    if (m.method === 'notifications/cancelled') {
      // The child gave up on one of its own requests to a client.
      for (const s of sessions.values()) {
        for (const [ours, theirs] of s.outgoing) {
          if (theirs !== params.requestId) continue;
          s.outgoing.delete(ours);
          sendToSession(s, { ...m, params: { ...params, requestId: ours } } as unknown as JSONRPCMessage);
        }
      }
      return;
    }
    for (const s of sessions.values()) sendToSession(s, m as unknown as JSONRPCMessage, s.open.at(-1));
  };

  const onChildClose = (which: StdioClientTransport) => {
    if (child !== which) return;
    child = null;
    ready = null;
    const exited = `the stdio server (${describe}) exited`;
    const why = `${exited}${tail()}`;
    initWaiter?.reject(new ChildExited(why));
    initWaiter = null;
    if (stopping) return;
    // Restart at once a child that had served, unless it also died within a second of the last such
    // restart (a crash loop): then, like a child that never initialized, the next request starts one.
    const now = Date.now();
    const eager = initialized.has(which) && now - lastEagerRestart > 1000;
    log(`${exited}; ${pending.size} request(s) in flight get an error; ${eager ? 'restarting it' : 'the next request starts it again'}`);
    const failed = [...pending.values()];
    pending.clear();
    progress.clear();
    for (const s of sessions.values()) s.outgoing.clear();
    for (const p of failed) failPending(p, `${why}\nThe tong ${eager ? 'restarted it' : 'starts it again on the next call'}; call again.`);
    if (!eager) return;
    lastEagerRestart = now;
    ensureChild().catch((err: unknown) => log(`restart failed: ${err instanceof Error ? err.message : String(err)}`));
  };

  /** Spawns and initializes a child unless one runs (or is starting); resolves with its initialize result. */
  const ensureChild = (): Promise<Json> => {
    if (ready) return ready;
    const transport = new StdioClientTransport({
      command,
      args,
      env: options.env,
      stderr: 'pipe',
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    child = transport;
    started++;
    stderrTail = '';
    transport.stderr?.on('data', (chunk: Buffer) => {
      childStderr.write(chunk);
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    transport.onmessage = (message) => {
      if (child === transport) onChildMessage(message);
    };
    transport.onerror = (err) => {
      if (child !== transport) return;
      // A line on stdout that is not JSON-RPC (a server that prints to stdout): say so and go on.
      const what = err.name === 'SyntaxError' || err.name === 'ZodError' ? 'wrote a line on stdout that is not a JSON-RPC message' : 'failed';
      log(`the stdio server ${what}: ${err.message.split('\n')[0]!.slice(0, 200)}`);
    };
    transport.onclose = () => onChildClose(transport);
    const attempt = (async () => {
      try {
        await transport.start();
      } catch (err) {
        throw new Error(`cannot start the stdio server ${JSON.stringify(describe)}: ${err instanceof Error ? err.message : String(err)}` +
          ((err as NodeJS.ErrnoException).code === 'ENOENT' ? ` (is ${JSON.stringify(command)} in the tong's image and on its PATH?)` : ''));
      }
      const id = nextId();
      const result = await new Promise<Json>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the stdio server did not answer initialize within ${options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS} ms${tail()}`)), options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS);
        timer.unref();
        initWaiter = { id, resolve: (r) => (clearTimeout(timer), resolve(r)), reject: (e) => (clearTimeout(timer), reject(e)) };
        transport
          .send({
            jsonrpc: '2.0',
            id,
            method: 'initialize',
            params: {
              protocolVersion: LATEST_PROTOCOL_VERSION,
              capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } },
              clientInfo: { name: 'tongs-stdio-bridge', version: '0.1.0' },
            },
          })
          .catch((err: Error) => initWaiter?.reject(err));
      });
      await transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      initialized.add(transport);
      return result;
    })();
    ready = attempt;
    attempt.catch(() => {
      if (child === transport) {
        child = null;
        ready = null;
        void transport.close().catch(() => {});
      }
    });
    return attempt;
  };

  const onClientMessage = async (session: Session, message: JSONRPCMessage) => {
    const m = message as Json;
    if (typeof m.method !== 'string') {
      // A client's answer to a request of the child's.
      const theirs = session.outgoing.get(m.id as RequestId);
      if (theirs === undefined) return;
      session.outgoing.delete(m.id as RequestId);
      await child?.send({ ...(m as object), id: theirs } as unknown as JSONRPCMessage).catch(() => {});
      return;
    }
    const id = m.id as RequestId | undefined;
    const params = isRecord(m.params) ? m.params : undefined;
    if (m.method === 'initialize' && id !== undefined) {
      session.capabilities = isRecord(params?.capabilities) ? params.capabilities : {};
      let result: Json;
      try {
        result = await ensureChild();
      } catch (err) {
        sendToSession(session, { jsonrpc: '2.0', id, error: { code: -32603, message: err instanceof Error ? err.message : String(err) } }, id);
        return;
      }
      const asked = params?.protocolVersion;
      const version = typeof asked === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(asked) ? asked : result.protocolVersion;
      sendToSession(session, { jsonrpc: '2.0', id, result: { ...result, protocolVersion: version } }, id);
      return;
    }
    if (m.method === 'notifications/initialized') return; // the bridge sent the child its own
    if (id === undefined) {
      // A notification: map a cancellation to the child's id, pass the rest on.
      if (m.method === 'notifications/cancelled') {
        for (const [ours, p] of pending) {
          if (p.session !== session || p.id !== params?.requestId) continue;
          pending.delete(ours);
          closeOpen(session, p.id);
          await child?.send({ ...(m as object), params: { ...params, requestId: ours } } as unknown as JSONRPCMessage).catch(() => {});
        }
        return;
      }
      await child?.send(message).catch(() => {});
      return;
    }
    const ours = nextId();
    const p: Pending = { session, id, method: m.method };
    let forwarded = message;
    const meta = isRecord(params?._meta) ? params._meta : undefined;
    if (meta && (typeof meta.progressToken === 'string' || typeof meta.progressToken === 'number')) {
      p.progressToken = meta.progressToken;
      progress.set(ours, { session, token: meta.progressToken, requestId: id });
      forwarded = { ...(m as object), params: { ...params, _meta: { ...meta, progressToken: ours } } } as unknown as JSONRPCMessage;
    }
    session.open.push(id);
    pending.set(ours, p);
    try {
      await ensureChild();
      if (!pending.has(ours)) return; // the child it was waiting for exited, and it was answered
      await child!.send({ ...(forwarded as object), id: ours } as unknown as JSONRPCMessage);
    } catch (err) {
      if (!pending.delete(ours)) return;
      progress.delete(ours);
      failPending(p, err instanceof ChildExited || err instanceof Error ? err.message : String(err));
    }
  };

  const dropSession = (session: Session) => {
    if (session.id) sessions.delete(session.id);
    for (const [ours, p] of pending) {
      if (p.session !== session) continue;
      pending.delete(ours);
      progress.delete(ours);
      void child?.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: ours, reason: 'the client session ended' } }).catch(() => {});
    }
  };

  const newSession = async (): Promise<Session> => {
    const session: Session = {
      id: undefined,
      capabilities: {},
      open: [],
      outgoing: new Map(),
      transport: new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          session.id = id;
          sessions.set(id, session);
        },
        onsessionclosed: () => dropSession(session),
      }),
    };
    session.transport.onmessage = (message) => {
      onClientMessage(session, message).catch((err: unknown) => log(`relay error: ${err instanceof Error ? err.message : String(err)}`));
    };
    session.transport.onclose = () => dropSession(session);
    await session.transport.start();
    return session;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://tong');
    if (url.pathname !== mcpPath) return sendJsonRpcError(res, 404, -32601, `Not found: the MCP endpoint is ${mcpPath}`);
    if (!guardRequest(req, res, { allowedOriginHosts: options.allowedOriginHosts, mcpToken: options.mcpToken, log })) return;
    let body: unknown;
    if (req.method === 'POST') {
      const read = await readJsonBody(req, res, limit);
      if (!read.ok) return;
      body = read.body;
    }
    const sid = req.headers['mcp-session-id'];
    let session: Session | undefined;
    if (typeof sid === 'string') {
      session = sessions.get(sid);
      if (!session) return sendJsonRpcError(res, 404, -32001, 'Session not found: initialize a new session');
    } else if (req.method === 'POST' && isRecord(body) && body.method === 'initialize') {
      session = await newSession();
    } else {
      return sendJsonRpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id header; the first request of a session is initialize');
    }
    await session.transport.handleRequest(req, res, body);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`internal error: ${err instanceof Error ? err.message : String(err)}`);
      sendJsonRpcError(res, 500, -32603, 'Internal server error');
    });
  });
  server.keepAliveTimeout = 65_000;

  return {
    server,
    start: async () => {
      await ensureChild();
    },
    async shutdown() {
      stopping = true;
      await Promise.all([...sessions.values()].map((s) => s.transport.close().catch(() => {})));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      const c = child;
      child = null;
      await c?.close().catch(() => {});
    },
    childPid: () => child?.pid ?? null,
    restarts: () => Math.max(0, started - 1),
    sessions: () => sessions.size,
  };
}

/** The child's environment: the tong's own, minus what belongs to the bridge (its bearer). */
export function childEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || key === 'TONGS_MCP_TOKEN') continue;
    out[key] = value;
  }
  return out;
}

/**
 * The in-network readiness probe's program (launcher/shell/apply/readiness.ts), type-checked here and run
 * inside the session network as `node -e PROBE_SCRIPT` from the anvil image: {@link probeMain}'s own
 * source text, called with the two Node modules it needs. So it must stay self-contained: no imports,
 * no module-level names, nothing but its parameters and Node's globals (any Node >= 18: global fetch).
 *
 * Input (stdin, JSON): `{"targets": [{"tong", "mode": "tcp"|"mcp", "host", "port", "path", "timeoutMs",
 * "token"?}]}`, the only channel that carries a bearer. Output (stdout, one JSON object per line, as
 * soon as each is known): `{"tong", "ready": true, "ms"}` or `{"tong", "ready": false, "detail"}`, the
 * detail reading like `tcp slow:8080 refused`. Exit status 0 when every target is ready, 1 otherwise.
 *
 * tcp: connect to alias:port every 20 ms (a refused connect costs next to nothing, so a tong is seen
 * ready within ~20 ms of its listen()); mcp: the same, then POST a JSON-RPC `initialize` and require a
 * valid result, HTTP retried from 20 ms backing off to 200 ms.
 */
import type * as Dns from 'node:dns';
import type * as Net from 'node:net';

/** One probe target as the probe reads it from stdin. */
export interface ProbeInputTarget {
  tong: string;
  mode: 'tcp' | 'mcp';
  host: string;
  port: number;
  path: string | null;
  timeoutMs: number;
  token?: string;
}

/** One result line. */
export type ProbeResultLine = { tong: string; ready: true; ms: number } | { tong: string; ready: false; detail: string };

type ProbeFailure = Error & { code?: string; fatal?: boolean; cause?: { code?: string } };

export function probeMain(net: typeof Net, dns: typeof Dns): void {
  const started = Date.now();
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  const why = (e: ProbeFailure | null | undefined): string => {
    const code = (e && (e.code || (e.cause && e.cause.code))) || '';
    if (code === 'ECONNREFUSED') return 'refused';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'name not resolved';
    if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
    if (code === 'ETIMEDOUT' || (e && e.name === 'TimeoutError')) return 'no answer';
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
    return code || (e && e.message) || String(e);
  };
  const failure = (message: string, extra: Partial<ProbeFailure> = {}): ProbeFailure => Object.assign(new Error(message), extra);
  // Alias → address, looked up once per tong (a container keeps its address on the session network),
  // so polling does not send hundreds of queries a second to the engine's embedded DNS.
  const addresses = new Map<string, string>();
  const address = (t: ProbeInputTarget): Promise<string> => {
    const known = addresses.get(t.host);
    if (known) return Promise.resolve(known);
    return new Promise((resolve, reject) =>
      dns.lookup(t.host, (e, a) => {
        if (e) return reject(e);
        addresses.set(t.host, a);
        resolve(a);
      }),
    );
  };
  const tcpOnce = (t: ProbeInputTarget, ms: number) =>
    new Promise<void>((resolve, reject) => {
      let s: Net.Socket | null = null;
      let done = false;
      const finish = (e?: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (s) s.destroy();
        if (e) reject(e);
        else resolve();
      };
      const timer = setTimeout(() => finish(failure('no answer', { code: 'ETIMEDOUT' })), ms);
      address(t).then((host) => {
        if (done) return;
        s = net.connect({ host, port: t.port });
        s.once('connect', () => finish());
        s.once('error', finish);
      }, finish);
    });
  const mcpOnce = async (t: ProbeInputTarget, ms: number) => {
    const url = `http://${t.host}:${t.port}${t.path ?? '/'}`;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    if (t.token) headers.authorization = `Bearer ${t.token}`;
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'tongs-readiness-probe', version: '1' } },
    });
    const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(ms) });
    const text = await res.text();
    if (!res.ok) throw failure(`answered HTTP ${res.status}`, { fatal: res.status === 401 || res.status === 403 });
    const type = res.headers.get('content-type') || '';
    const messages: Array<{ id?: unknown; error?: { message?: string }; result?: { protocolVersion?: unknown } }> = [];
    if (type.includes('text/event-stream')) {
      for (const line of text.split(/\r?\n/)) {
        if (!line.startsWith('data:')) continue;
        try {
          messages.push(JSON.parse(line.slice(5)));
        } catch {
          // not JSON: skip the line
        }
      }
    } else {
      try {
        messages.push(JSON.parse(text));
      } catch {
        throw failure('answered with no JSON');
      }
    }
    const reply = messages.find((m) => m && m.id === 1);
    if (!reply) throw failure('answered no initialize result');
    if (reply.error) throw failure(`initialize failed: ${reply.error.message}`, { fatal: true });
    if (!reply.result || typeof reply.result.protocolVersion !== 'string') throw failure('answered an invalid initialize result');
    const session = res.headers.get('mcp-session-id');
    if (session) {
      headers['mcp-session-id'] = session;
      await fetch(url, { method: 'DELETE', headers, signal: AbortSignal.timeout(500) }).catch(() => {});
    }
  };
  const probe = async (t: ProbeInputTarget): Promise<ProbeResultLine> => {
    const deadline = started + t.timeoutMs;
    const what = t.mode === 'mcp' ? `mcp http://${t.host}:${t.port}${t.path ?? '/'}` : `tcp ${t.host}:${t.port}`;
    let last = 'not tried';
    let httpPause = 20;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return { tong: t.tong, ready: false, detail: `${what} ${last}` };
      let open = false;
      let cut = false; // the attempt's time limit was shortened by the deadline
      try {
        cut = left < 1000;
        await tcpOnce(t, Math.min(left, 1000));
        open = true;
        const rest = Math.max(1, deadline - Date.now());
        cut = rest < 2000;
        if (t.mode === 'mcp') await mcpOnce(t, Math.min(rest, 2000));
        return { tong: t.tong, ready: true, ms: Date.now() - started };
      } catch (err) {
        const e = err as ProbeFailure;
        // A last attempt cut short by the deadline says less than the failure before it: keep that one.
        const timedOut = why(e) === 'no answer';
        if (!(cut && timedOut && last !== 'not tried')) last = why(e);
        if (e && e.fatal) return { tong: t.tong, ready: false, detail: `${what} ${last}` };
        if (!open && last !== 'refused') addresses.delete(t.host); // refused: right address, not listening yet
      }
      await sleep(Math.min(open ? httpPause : 20, Math.max(0, deadline - Date.now())));
      if (open) httpPause = Math.min(httpPause * 2, 200);
    }
  };
  let input = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (c: string) => {
    input += c;
  });
  process.stdin.on('end', async () => {
    const { targets } = JSON.parse(input) as { targets: ProbeInputTarget[] };
    input = '';
    let ok = true;
    await Promise.all(
      targets.map(async (t) => {
        const r = await probe(t);
        ok = ok && r.ready;
        process.stdout.write(`${JSON.stringify(r)}\n`);
      }),
    );
    process.exitCode = ok ? 0 : 1;
  });
}

/**
 * The probe program as `node -e` runs it: {@link probeMain}'s source, called with `node:net` and
 * `node:dns` (the `-e` script is CommonJS, so `require` is there).
 */
export const PROBE_SCRIPT = `(${probeMain.toString()})(require('node:net'), require('node:dns'));\n`;

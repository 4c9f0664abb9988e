/**
 * A scripted upstream model API for the model tong's tests and benchmark (issue #11): it records
 * every request (method, path with query, headers, body) and answers `POST /v1/messages` with a
 * streamed answer whose events the test can release one at a time, so a test can show that the first
 * event reaches the client before the upstream has sent the second.
 *
 * - `stream: true` in the body ⇒ `text/event-stream`: `message_start`, then each `events` text as a
 *   `content_block_delta`, then `message_stop`. With `gated`, event n+1 is written only after
 *   `release()` was called n+1 times (the `message_start` is written at once).
 * - otherwise ⇒ one JSON message with the concatenated text.
 * - `/v1/messages/count_tokens` ⇒ `{"input_tokens": 7}`; `GET /v1/models` ⇒ one model; anything
 *   else ⇒ 404 in Anthropic's error shape.
 * Listens on 0.0.0.0 by default, so containers reach it through the bridge gateway.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UpstreamRequest {
  method: string;
  /** Path with query, as received. */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface FakeModelUpstreamOptions {
  /** Texts streamed as deltas, in order (default `['Hello', ' from', ' upstream']`). */
  events?: string[];
  /** When true, each delta waits for a `release()` call. */
  gated?: boolean;
  host?: string;
}

export interface FakeModelUpstream {
  url: string;
  port: number;
  requests: UpstreamRequest[];
  /** Let the next gated delta go out. */
  release(): void;
  close(): Promise<void>;
}

/** The SSE bytes of one event, exactly as the fake writes them. */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export async function startFakeModelUpstream(options: FakeModelUpstreamOptions = {}): Promise<FakeModelUpstream> {
  const events = options.events ?? ['Hello', ' from', ' upstream'];
  const requests: UpstreamRequest[] = [];
  let released = 0;
  let waiters: { n: number; resolve: () => void }[] = [];
  const release = () => {
    released++;
    const ready = waiters.filter((w) => w.n <= released);
    waiters = waiters.filter((w) => w.n > released);
    ready.forEach((w) => w.resolve());
  };
  /** Resolves once `release()` has been called at least `n` times (at once when not gated). */
  const gate = (n: number) =>
    !options.gated || released >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }));

  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const json = (status: number, value: unknown) => {
      const text = JSON.stringify(value);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'request-id': 'req_fake' }).end(text);
    };
    if (req.method === 'POST' && path === '/v1/messages/count_tokens') return json(200, { input_tokens: 7 });
    if (req.method === 'GET' && path === '/v1/models') return json(200, { data: [{ type: 'model', id: 'claude-fake', display_name: 'Fake' }], has_more: false });
    if (req.method !== 'POST' || path !== '/v1/messages') return json(404, { type: 'error', error: { type: 'not_found_error', message: 'not found' } });
    let parsed: { stream?: boolean; model?: string } = {};
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      return json(400, { type: 'error', error: { type: 'invalid_request_error', message: 'bad json' } });
    }
    const model = parsed.model ?? 'claude-fake';
    const message = { id: 'msg_fake', type: 'message', role: 'assistant', model, content: [] as unknown[], stop_reason: null, stop_sequence: null, usage: { input_tokens: 7, output_tokens: 3 } };
    if (!parsed.stream) {
      return json(200, { ...message, content: [{ type: 'text', text: events.join('') }], stop_reason: 'end_turn' });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': 'req_fake' });
    res.write(sseEvent('message_start', { type: 'message_start', message }));
    res.write(sseEvent('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
    for (let i = 0; i < events.length; i++) {
      await gate(i + 1);
      res.write(sseEvent('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: events[i] } }));
    }
    res.write(sseEvent('content_block_stop', { type: 'content_block_stop', index: 0 }));
    res.write(sseEvent('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 3 } }));
    res.end(sseEvent('message_stop', { type: 'message_stop' }));
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '0.0.0.0', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    release,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The whole SSE text the fake streams for `events` (model `claude-fake`), for byte-for-byte comparisons. */
export function expectedStream(events: string[] = ['Hello', ' from', ' upstream'], model = 'claude-fake'): string {
  const message = { id: 'msg_fake', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 7, output_tokens: 3 } };
  return [
    sseEvent('message_start', { type: 'message_start', message }),
    sseEvent('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    ...events.map((text) => sseEvent('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })),
    sseEvent('content_block_stop', { type: 'content_block_stop', index: 0 }),
    sseEvent('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 3 } }),
    sseEvent('message_stop', { type: 'message_stop' }),
  ].join('');
}

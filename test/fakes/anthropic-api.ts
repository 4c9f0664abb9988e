/**
 * A scripted stand-in for the Anthropic Messages API (`POST /v1/messages`, streaming SSE or JSON),
 * run on the host for the anvil's full-turn e2e test (issue #4 "A full agent turn").
 *
 * Script, per request:
 *  - when the request offers the tool `toolName` and its last user message carries no `tool_result`,
 *    answer with one `tool_use` block calling `toolName` with `toolInput`;
 *  - when the last user message carries a `tool_result`, answer with text:
 *    `${finalTextPrefix}<the tool result's text>`;
 *  - anything else (title generation, quota probes, a turn without the tool) gets a short text answer.
 * Every request is recorded (`requests`), so a test can see what the harness sent back.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAnthropicOptions {
  /** The tool the model "decides" to call, e.g. `mcp__tongtest__whoami`. */
  toolName: string;
  /** Its input. */
  toolInput: Record<string, unknown>;
  /** Prepended to the tool result in the final answer. */
  finalTextPrefix?: string;
  /** Interface to listen on (default 0.0.0.0, so containers reach it through the bridge gateway). */
  host?: string;
}

/** One request the fake received. */
export interface RecordedRequest {
  path: string;
  body: MessagesRequest;
  /** What the fake answered: 'tool_use', 'final' or 'filler'. */
  answer: 'tool_use' | 'final' | 'filler';
}

interface ContentBlock {
  type: string;
  text?: string;
  content?: string | ContentBlock[];
  tool_use_id?: string;
}
interface MessagesRequest {
  model?: string;
  stream?: boolean;
  tools?: { name: string }[];
  messages?: { role: string; content: string | ContentBlock[] }[];
}

export interface FakeAnthropicApi {
  /** `http://<host>:<port>` as seen from the host; swap the host for one a container can reach. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

function textOf(content: string | ContentBlock[] | undefined): string {
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((b) => (b.type === 'text' ? (b.text ?? '') : '')).join('');
}

function lastToolResult(body: MessagesRequest): ContentBlock | undefined {
  const last = body.messages?.at(-1);
  if (!last || last.role !== 'user' || typeof last.content === 'string') return undefined;
  return last.content.find((b) => b.type === 'tool_result');
}

type Block = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

function sse(res: http.ServerResponse, model: string, block: Block): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const usage = { input_tokens: 10, output_tokens: 5 };
  send('message_start', {
    type: 'message_start',
    message: { id: `msg_${Date.now()}`, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage },
  });
  if (block.type === 'text') {
    send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: block.text } });
  } else {
    send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
    send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
  }
  send('content_block_stop', { type: 'content_block_stop', index: 0 });
  send('message_delta', { type: 'message_delta', delta: { stop_reason: block.type === 'text' ? 'end_turn' : 'tool_use', stop_sequence: null }, usage });
  send('message_stop', { type: 'message_stop' });
  res.end();
}

/** Start the fake on a free port. */
export async function startFakeAnthropicApi(options: FakeAnthropicOptions): Promise<FakeAnthropicApi> {
  const requests: RecordedRequest[] = [];
  let toolUses = 0;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    if (req.method !== 'POST' || !url.pathname.startsWith('/v1/messages')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"type":"error","error":{"type":"not_found_error","message":"not found"}}');
      return;
    }
    let body: MessagesRequest;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as MessagesRequest;
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (url.pathname === '/v1/messages/count_tokens') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"input_tokens": 10}');
      return;
    }
    const model = body.model ?? 'claude-fake';
    const result = lastToolResult(body);
    let block: Block;
    let answer: RecordedRequest['answer'];
    if (result) {
      answer = 'final';
      block = { type: 'text', text: `${options.finalTextPrefix ?? ''}${textOf(result.content)}` };
    } else if (body.tools?.some((t) => t.name === options.toolName)) {
      answer = 'tool_use';
      toolUses += 1;
      block = { type: 'tool_use', id: `toolu_fake_${toolUses}`, name: options.toolName, input: options.toolInput };
    } else {
      answer = 'filler';
      block = { type: 'text', text: 'ok' };
    }
    requests.push({ path: url.pathname, body, answer });
    if (body.stream) {
      sse(res, model, block);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: `msg_${Date.now()}`,
        type: 'message',
        role: 'assistant',
        model,
        content: [block],
        stop_reason: block.type === 'text' ? 'end_turn' : 'tool_use',
        stop_sequence: null,
        usage: { input_tokens: 10, output_tokens: 5 },
      }),
    );
  });
  const host = options.host ?? '0.0.0.0';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A scripted stand-in for the OpenAI Responses API (`POST /v1/responses`, streaming SSE), run on the
 * host so the real Codex CLI in the anvil goes through a whole agent turn (issue #14 "Codex, full
 * turn"). The script is one tool call: the first request whose `tools` offer a function whose name
 * ends with `toolSuffix` gets a `function_call` item calling it with `toolArgs` (default `{}`; with its `namespace` when
 * the function is a namespace tool's); the request that carries
 * that call's `function_call_output` gets a message, `finalTextPrefix` plus the output. Anything else
 * (e.g. a title or compaction request) gets a short text, recorded as `filler`.
 *
 * `beforeToolCall` runs (and is awaited) before the tool call is answered: the session is then up,
 * so a test can look at the anvil mid-turn.
 *
 * Events, in the documented order (https://platform.openai.com/docs/api-reference/responses-streaming):
 * `response.created`, `response.output_item.added`, for text `response.output_text.delta`, then
 * `response.output_item.done` with the whole item and `response.completed` with usage.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeResponsesRequest {
  path: string;
  body: { model?: string; tools?: { type?: string; name?: string; tools?: { name?: string }[] }[]; input?: unknown[] } & Record<string, unknown>;
  answer: 'function_call' | 'final' | 'filler' | 'other';
  /** The tool called (function_call). */
  tool?: string;
  /** The final text. */
  text?: string;
  authorization?: string;
}

export interface FakeResponsesApi {
  port: number;
  requests: FakeResponsesRequest[];
  close(): Promise<void>;
}

type Item = Record<string, unknown>;

/**
 * Every function the request offers, with its namespace when it is one of a `namespace` tool's (as
 * Codex 0.171 offers MCP tools: `{"type": "namespace", "name": "mcp__<server>", "tools": [...]}`).
 */
function offeredTools(body: FakeResponsesRequest['body']): { name: string; namespace?: string }[] {
  const tools: { name: string; namespace?: string }[] = [];
  for (const t of body.tools ?? []) {
    if (t.type === 'namespace') {
      for (const inner of t.tools ?? []) if (inner.name) tools.push({ name: inner.name, namespace: t.name });
    } else if (t.name) tools.push({ name: t.name });
  }
  return tools;
}

export async function startFakeResponsesApi(options: {
  toolSuffix: string;
  finalTextPrefix: string;
  toolArgs?: Record<string, unknown>;
  host?: string;
  beforeToolCall?: () => Promise<void>;
}): Promise<FakeResponsesApi> {
  const requests: FakeResponsesRequest[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    req.on('end', () => void answer());
    const answer = async () => {
      const body = (raw ? JSON.parse(raw) : {}) as FakeResponsesRequest['body'];
      const record: FakeResponsesRequest = { path: req.url ?? '', body, answer: 'other', authorization: req.headers.authorization };
      requests.push(record);
      if (req.method !== 'POST' || !(req.url ?? '').endsWith('/responses')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not here"}}');
        return;
      }
      const input = (body.input ?? []) as Item[];
      const output = input.find((i) => i.type === 'function_call_output');
      const id = `resp_${++n}`;
      let item: Item;
      if (output) {
        const text = `${options.finalTextPrefix}${typeof output.output === 'string' ? output.output : JSON.stringify(output.output)}`;
        record.answer = 'final';
        record.text = text;
        item = { type: 'message', id: `msg_${n}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] };
      } else {
        const tool = offeredTools(body).find((x) => x.name.endsWith(options.toolSuffix));
        if (tool) {
          await options.beforeToolCall?.();
          record.answer = 'function_call';
          record.tool = tool.namespace ? `${tool.namespace}.${tool.name}` : tool.name;
          item = { type: 'function_call', id: `fc_${n}`, call_id: `call_${n}`, ...(tool.namespace ? { namespace: tool.namespace } : {}), name: tool.name, arguments: JSON.stringify(options.toolArgs ?? {}), status: 'completed' };
        } else {
          record.answer = 'filler';
          record.text = 'ok';
          item = { type: 'message', id: `msg_${n}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] };
        }
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const send = (event: Record<string, unknown>) => res.write(`event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`);
      const response = { id, object: 'response', status: 'in_progress', model: body.model ?? 'fake', output: [] as Item[] };
      send({ type: 'response.created', response });
      send({ type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress', ...(item.type === 'message' ? { content: [] } : { arguments: '' }) } });
      if (item.type === 'message') {
        const text = String((item.content as { text: string }[])[0]!.text);
        send({ type: 'response.output_text.delta', item_id: item.id, output_index: 0, content_index: 0, delta: text });
      }
      send({ type: 'response.output_item.done', output_index: 0, item });
      send({
        type: 'response.completed',
        response: { ...response, status: 'completed', output: [item], usage: { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 } },
      });
      res.end();
    };
  });
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '0.0.0.0', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

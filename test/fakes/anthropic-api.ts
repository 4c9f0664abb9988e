/**
 * A scripted stand-in for the Anthropic Messages API (`POST /v1/messages`, streaming SSE or JSON), run
 * on the host so the real harnesses in the anvil go through whole agent turns (issue #4 "A full agent
 * turn"). Claude Code talks to it through `ANTHROPIC_BASE_URL`; OpenCode through its `anthropic`
 * provider's `baseURL` ({@link opencodeSetup}).
 *
 * The script is a list of tool calls, `steps`. The fake keeps no per-conversation state: every request
 * carries the whole conversation, so it reads how far the script got from the `tool_use` blocks in the
 * assistant messages (one scripted call each, `ToolSearch` calls aside) and answers the next step:
 *  - the step's tool is offered: one `tool_use` block calling it with the step's input
 *    (`stop_reason: "tool_use"`). Offered means in `tools`, and, for a tool sent with
 *    `defer_loading: true`, loaded by a `tool_reference` block in an earlier `tool_result` (the API's
 *    tool search: https://platform.claude.com/docs/en/agents-and-tools/tool-use/tool-search-tool);
 *  - it is not offered, but `ToolSearch` is and the tool is deferred (the conversation names it on a
 *    line of its own, as Claude Code lists its deferred tools such as every MCP tool; or it is in
 *    `tools` with `defer_loading`): first a `ToolSearch` call for `select:<name>`, its input built
 *    from ToolSearch's own `input_schema`, then the tool once the harness has loaded it — as a real
 *    model does. Claude Code answers with a `tool_reference` and sends the tool, `defer_loading`,
 *    from then on;
 *  - every step answered: the final text, `${finalTextPrefix}` and the text of each step's
 *    `tool_result`, joined by newlines (`stop_reason: "end_turn"`), so a test sees what each call
 *    returned;
 *  - a request that cannot go on (no tools at all, as OpenCode's title request; or the step's tool
 *    neither offered nor deferred, or still not offered after a ToolSearch) gets a short text,
 *    recorded as `filler`.
 * `POST /v1/messages/count_tokens` answers a token count. Every request is recorded (`requests`).
 *
 * Streaming follows the documented event order: `message_start`, `ping`, per content block
 * `content_block_start` / `content_block_delta` (`text_delta`, or `input_json_delta` in several
 * `partial_json` pieces) / `content_block_stop`, then `message_delta` (the `stop_reason`, output usage)
 * and `message_stop`. https://platform.claude.com/docs/en/build-with-claude/streaming
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted model action: call tool `name` with `input`. */
export interface ScriptedToolCall {
  /** As the harness names it in the request's `tools`: `Bash`, `mcp__github__create_pr`, OpenCode's `bash`. */
  name: string;
  input: Record<string, unknown>;
}

export interface FakeAnthropicOptions {
  /**
   * The tool calls the model makes, in order, one per model request, each after the previous call's
   * `tool_result` came back; then the final text.
   */
  steps?: ScriptedToolCall[];
  /** A one-step script (`steps: [{ name: toolName, input: toolInput }]`); not together with `steps`. */
  toolName?: string;
  /** Input of `toolName` (default `{}`). */
  toolInput?: Record<string, unknown>;
  /** Starts the final text, before the tool results. */
  finalTextPrefix?: string;
  /** Interface to listen on (default 0.0.0.0, so containers reach it through the bridge gateway). */
  host?: string;
}

/** What the fake answered one request with. */
export type Answer =
  /** A scripted step's tool call. */
  | 'tool_use'
  /** A `ToolSearch` call that loads the next step's deferred tool. */
  | 'tool_search'
  /** The final text: every step answered. */
  | 'final'
  /** A short text: the request has no tools, or the next step's tool is neither offered nor deferred. */
  | 'filler'
  /** `/v1/messages/count_tokens`. */
  | 'count_tokens';

/** One request the fake received. */
export interface RecordedRequest {
  path: string;
  body: MessagesRequest;
  answer: Answer;
  /** The tool call answered (`tool_use`, `tool_search`). */
  toolUse?: { id: string; name: string; input: Record<string, unknown> };
  /** The text answered (`final`, `filler`). */
  text?: string;
  /** Index in `steps` of the step this request was at (all answers but `count_tokens`). */
  step?: number;
}

/** A content block of a request message (the fields the fake reads). */
export interface ContentBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: Record<string, unknown>;
  content?: string | ContentBlock[];
  tool_use_id?: string;
  is_error?: boolean;
  /** `tool_reference` blocks (in a ToolSearch `tool_result`): the tool this loads. */
  tool_name?: string;
}

/** A tool as the request's `tools` carries it. */
export interface ToolDefinition {
  name: string;
  description?: string;
  input_schema?: { properties?: Record<string, { type?: string; default?: unknown }>; required?: string[] };
  defer_loading?: boolean;
}

/** The Messages API request body (the fields the fake reads; the rest is kept as sent). */
export interface MessagesRequest {
  model?: string;
  stream?: boolean;
  system?: string | ContentBlock[];
  tools?: ToolDefinition[];
  messages?: { role: string; content: string | ContentBlock[] }[];
  [key: string]: unknown;
}

export interface FakeAnthropicApi {
  /** `http://127.0.0.1:<port>` as seen from the host; swap the host for one a container can reach. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** The harness's tool that loads deferred tools (Claude Code). */
export const TOOL_SEARCH = 'ToolSearch';

type Block = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

function textOf(content: string | ContentBlock[] | undefined): string {
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((b) => (b.type === 'text' ? (b.text ?? '') : '')).join('');
}

function blocks(content: string | ContentBlock[]): ContentBlock[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

interface Progress {
  /** Scripted (non-ToolSearch) calls already made: the index of the next step. */
  done: number;
  /** A ToolSearch call was made after the last scripted call. */
  searched: boolean;
  /** The tool_result text of each scripted call made, in order. */
  results: string[];
  /** Tools named by a `tool_reference` block in a `tool_result`: loaded, though `defer_loading`. */
  referenced: Set<string>;
}

function progress(body: MessagesRequest): Progress {
  const calls: string[] = [];
  const results = new Map<string, string>();
  const referenced = new Set<string>();
  let searched = false;
  for (const m of body.messages ?? []) {
    for (const b of blocks(m.content)) {
      if (m.role === 'assistant' && b.type === 'tool_use') {
        if (b.name === TOOL_SEARCH) searched = true;
        else {
          calls.push(b.id ?? '');
          searched = false;
        }
      } else if (m.role === 'user' && b.type === 'tool_result' && b.tool_use_id !== undefined) {
        results.set(b.tool_use_id, textOf(b.content));
        for (const r of typeof b.content === 'string' ? [] : (b.content ?? [])) {
          if (r.type === 'tool_reference' && r.tool_name) referenced.add(r.tool_name);
        }
      }
    }
  }
  return { done: calls.length, searched, results: calls.map((id) => results.get(id) ?? ''), referenced };
}

/** The conversation names `name` on a line of its own, as Claude Code lists its deferred tools. */
function listsDeferred(body: MessagesRequest, name: string): boolean {
  const texts = [textOf(body.system), ...(body.messages ?? []).map((m) => textOf(m.content))];
  return texts.some((t) => t.split('\n').some((line) => line.trim() === name));
}

/** ToolSearch's input for `select:<name>`, filling the other required fields from its schema. */
function toolSearchInput(tool: ToolDefinition, name: string): Record<string, unknown> {
  const props = tool.input_schema?.properties ?? {};
  const queryKey = 'query' in props ? 'query' : (Object.keys(props).find((k) => props[k]?.type === 'string') ?? 'query');
  const input: Record<string, unknown> = { [queryKey]: `select:${name}` };
  for (const key of tool.input_schema?.required ?? []) {
    if (key in input) continue;
    const prop = props[key];
    input[key] = prop?.default ?? (prop?.type === 'number' || prop?.type === 'integer' ? 5 : prop?.type === 'boolean' ? false : '');
  }
  return input;
}

/** Split `s` into a few pieces, as the API streams a tool's input JSON. */
function pieces(s: string, size = 24): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

const USAGE = { input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 5 };

function sse(res: http.ServerResponse, id: string, model: string, content: Block[], stopReason: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send('message_start', {
    type: 'message_start',
    message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...USAGE, output_tokens: 1 } },
  });
  send('ping', { type: 'ping' });
  content.forEach((block, index) => {
    if (block.type === 'text') {
      send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      for (const text of pieces(block.text, 40)) send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
    } else {
      send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      for (const partial_json of ['', ...pieces(JSON.stringify(block.input))]) {
        send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } });
      }
    }
    send('content_block_stop', { type: 'content_block_stop', index });
  });
  send('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: USAGE.output_tokens } });
  send('message_stop', { type: 'message_stop' });
  res.end();
}

/** Start the fake on a free port. */
export async function startFakeAnthropicApi(options: FakeAnthropicOptions): Promise<FakeAnthropicApi> {
  if (options.steps && options.toolName !== undefined) throw new Error('startFakeAnthropicApi: give steps or toolName, not both');
  const steps: ScriptedToolCall[] = options.steps ?? (options.toolName !== undefined ? [{ name: options.toolName, input: options.toolInput ?? {} }] : []);
  const requests: RecordedRequest[] = [];
  let served = 0;

  const decide = (body: MessagesRequest, toolId: string): Omit<RecordedRequest, 'path' | 'body'> => {
    const p = progress(body);
    const tools = body.tools ?? [];
    const step = p.done;
    if (step >= steps.length) {
      return { answer: 'final', step, text: `${options.finalTextPrefix ?? ''}${p.results.join('\n')}` || 'done' };
    }
    if (tools.length === 0) return { answer: 'filler', step, text: 'ok' };
    const next = steps[step]!;
    // A `defer_loading` tool reaches the model only once a tool_reference has loaded it (tool search).
    if (tools.some((t) => t.name === next.name && (!t.defer_loading || p.referenced.has(next.name)))) {
      return { answer: 'tool_use', step, toolUse: { id: toolId, name: next.name, input: next.input } };
    }
    const search = tools.find((t) => t.name === TOOL_SEARCH);
    const deferred = tools.some((t) => t.name === next.name) || listsDeferred(body, next.name);
    if (search && !p.searched && deferred) {
      return { answer: 'tool_search', step, toolUse: { id: toolId, name: TOOL_SEARCH, input: toolSearchInput(search, next.name) } };
    }
    const why = p.searched ? 'even after ToolSearch' : 'and not deferred';
    return { answer: 'filler', step, text: `ok (fake model: the scripted tool ${next.name} is not offered ${why})` };
  };

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const error = (status: number, type: string, message: string) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type, message } }));
    if (req.method !== 'POST' || !url.pathname.startsWith('/v1/messages')) {
      error(404, 'not_found_error', `${req.method} ${url.pathname}: not found`);
      return;
    }
    let body: MessagesRequest;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as MessagesRequest;
    } catch {
      error(400, 'invalid_request_error', 'the body is not JSON');
      return;
    }
    if (url.pathname === '/v1/messages/count_tokens') {
      requests.push({ path: url.pathname, body, answer: 'count_tokens' });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"input_tokens": 10}');
      return;
    }
    served += 1;
    const id = `msg_fake_${served}`;
    const decision = decide(body, `toolu_fake_${served}`);
    requests.push({ path: url.pathname, body, ...decision });
    const content: Block[] = decision.toolUse ? [{ type: 'tool_use', ...decision.toolUse }] : [{ type: 'text', text: decision.text ?? '' }];
    const stopReason = decision.toolUse ? 'tool_use' : 'end_turn';
    const model = body.model ?? 'claude-fake';
    if (body.stream) {
      sse(res, id, model, content, stopReason);
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ id, type: 'message', role: 'assistant', model, content, stop_reason: stopReason, stop_sequence: null, usage: USAGE }));
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

/** The model OpenCode is pointed at: a model of its `anthropic` provider that the config itself defines. */
export const OPENCODE_FAKE_MODEL = 'anthropic/tongs-fake';

/** What makes the real `opencode run "…"` talk to this fake, offline. */
export interface OpencodeSetup {
  /**
   * OpenCode config (opencode.json): the `anthropic` provider's `baseURL` and a dummy `apiKey`, the model
   * `tongs-fake` defined under it (so nothing depends on the models.dev catalogue), that model as both
   * `model` and `small_model` (the title request goes to the fake too), and `permission.bash: "allow"`
   * (nothing can answer a permission question in `opencode run`).
   */
  config: Record<string, unknown>;
  /**
   * Environment for the anvil: `OPENCODE_CONFIG_CONTENT` (the config above, which OpenCode merges over
   * its other layers) and `OPENCODE_DISABLE_MODELS_FETCH=true`: no fetch of the model catalogue
   * (https://models.opencode.ai/api.json), which offline fails with an ERROR line in the log; the
   * model is defined in the config, so the catalogue is not needed.
   */
  env: Record<string, string>;
}

/**
 * The OpenCode set-up for a fake reachable from the anvil at `baseUrl` (`http://<host>:<port>`, no
 * path; Claude Code's `ANTHROPIC_BASE_URL` takes the same). OpenCode's provider `baseURL` includes the
 * API version, so `/v1` is appended. Pass `env` to `docker run` as `-e NAME=VALUE`, or write `config`
 * as the project's opencode.json. OpenCode's shell tool is `bash`, input `{ command, timeout?, workdir?,
 * description? }`; its MCP tools are `<server>_<tool>`, offered directly (no tool search). `opencode
 * run` prints the final text on stdout and the tool transcript on stderr. Its first request is a
 * title request without tools (answered `filler`), sent alongside the turn's first.
 */
export function opencodeSetup(baseUrl: string): OpencodeSetup {
  const [provider, model] = OPENCODE_FAKE_MODEL.split('/') as [string, string];
  const config = {
    $schema: 'https://opencode.ai/config.json',
    model: OPENCODE_FAKE_MODEL,
    small_model: OPENCODE_FAKE_MODEL,
    provider: {
      [provider]: {
        options: { baseURL: `${baseUrl.replace(/\/+$/, '')}/v1`, apiKey: 'sk-fake' },
        models: { [model]: { name: 'tongs fake model', tool_call: true, limit: { context: 200_000, output: 8192 } } },
      },
    },
    permission: { bash: 'allow' },
  };
  return { config, env: { OPENCODE_CONFIG_CONTENT: JSON.stringify(config), OPENCODE_DISABLE_MODELS_FETCH: 'true' } };
}

/**
 * A scripted stand-in for the Gemini API (`POST /v1beta/models/<model>:streamGenerateContent?alt=sse`
 * and `:generateContent`), run on the host so the real Gemini CLI in the anvil goes through a whole
 * agent turn (issue #14 "Gemini, full turn"); Gemini CLI reaches it through GOOGLE_GEMINI_BASE_URL.
 * The script is one tool call: the first request whose `functionDeclarations` offer a function whose
 * name ends with `toolSuffix` gets a `functionCall` part calling it with `toolArgs` (default `{}`); the request that
 * carries that call's `functionResponse` gets the text `finalTextPrefix` plus the response.
 * Anything else — Gemini CLI's own side requests (next-speaker check, routing), `countTokens` — gets
 * a short JSON text, recorded as `filler`.
 *
 * `beforeToolCall` runs (and is awaited) before the tool call is answered, so a test can look at the
 * anvil mid-turn.
 *
 * Streaming: one SSE `data:` line per GenerateContentResponse
 * (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent), `finishReason:
 * "STOP"` and `usageMetadata` in the last one.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface Part {
  text?: string;
  functionCall?: { name: string; args: Record<string, unknown> };
  functionResponse?: { name: string; response: unknown };
}
export interface FakeGeminiRequest {
  path: string;
  body: { contents?: { role?: string; parts?: Part[] }[]; tools?: { functionDeclarations?: { name: string }[] }[] } & Record<string, unknown>;
  answer: 'function_call' | 'final' | 'filler' | 'count_tokens' | 'other';
  tool?: string;
  text?: string;
  apiKey?: string;
}

export interface FakeGeminiApi {
  port: number;
  requests: FakeGeminiRequest[];
  close(): Promise<void>;
}

export async function startFakeGeminiApi(options: {
  toolSuffix: string;
  finalTextPrefix: string;
  toolArgs?: Record<string, unknown>;
  host?: string;
  beforeToolCall?: () => Promise<void>;
}): Promise<FakeGeminiApi> {
  const requests: FakeGeminiRequest[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    req.on('end', () => void answer());
    const answer = async () => {
      const url = req.url ?? '';
      const body = (raw ? JSON.parse(raw) : {}) as FakeGeminiRequest['body'];
      const key = req.headers['x-goog-api-key'];
      const record: FakeGeminiRequest = { path: url, body, answer: 'other', apiKey: Array.isArray(key) ? key[0] : key };
      requests.push(record);
      const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      if (url.includes(':countTokens')) {
        record.answer = 'count_tokens';
        json(200, { totalTokens: 10 });
        return;
      }
      const stream = url.includes(':streamGenerateContent');
      if (!stream && !url.includes(':generateContent')) {
        json(404, { error: { code: 404, message: 'not here', status: 'NOT_FOUND' } });
        return;
      }
      const parts = (body.contents ?? []).flatMap((c) => c.parts ?? []);
      const answered = parts.find((p) => p.functionResponse);
      const offered = (body.tools ?? []).flatMap((t) => t.functionDeclarations ?? []).map((f) => f.name);
      const tool = offered.find((name) => name.endsWith(options.toolSuffix));
      let part: Part;
      if (answered && stream) {
        record.answer = 'final';
        record.text = `${options.finalTextPrefix}${JSON.stringify(answered.functionResponse!.response)}`;
        part = { text: record.text };
      } else if (tool && stream) {
        await options.beforeToolCall?.();
        record.answer = 'function_call';
        record.tool = tool;
        part = { functionCall: { name: tool, args: options.toolArgs ?? {} } };
      } else {
        record.answer = 'filler';
        // Side requests ask for JSON (the next-speaker check: the user speaks next).
        record.text = JSON.stringify({ reasoning: 'the turn is complete', next_speaker: 'user', model_choice: 'flash' });
        part = { text: record.text };
      }
      const response = {
        candidates: [{ content: { role: 'model', parts: [part] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 },
        modelVersion: 'gemini-fake',
      };
      if (!stream) {
        json(200, response);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.end(`data: ${JSON.stringify(response)}\r\n\r\n`);
    };
  });
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '0.0.0.0', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * The model tong's proxy in-process against a local fake upstream (issue #11 item 1): the credential
 * swap, 401 without the session bearer, 404 outside the model API, answers passed through unchanged,
 * server-sent events unbuffered (the first event reaches the client before the upstream sends the
 * second) and no body, header value or secret in the log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROXY_DIALECTS } from '../../sidecars/model-api/src/dialects.js';
import { ConfigError, describeUpstream, readConfig } from '../../sidecars/model-api/src/config.js';
import { createLogger, redact } from '../../sidecars/model-api/src/log.js';
import { createModelProxy, tokenMatches, type ModelProxyOptions } from '../../sidecars/model-api/src/proxy.js';
import { expectedStream, startFakeModelUpstream, type FakeModelUpstream } from '../fakes/model-upstream.js';

const REAL_KEY = 'sk-ant-real-key-0123456789';
const BEARER = 'session-bearer-abcdef';
const MARKER = 'PROMPT-BODY-MARKER-7f3a';

interface Front {
  url: string;
  logs: string[];
  close(): Promise<void>;
}

async function front(t: { after(fn: () => unknown): void }, upstream: string, overrides: Partial<ModelProxyOptions> = {}): Promise<Front> {
  const logs: string[] = [];
  const secrets = [REAL_KEY, BEARER];
  const log = createLogger('model-api', secrets, (text) => void logs.push(text));
  const proxy = createModelProxy({
    dialect: PROXY_DIALECTS.anthropic,
    upstream: new URL(upstream),
    credential: { header: 'x-api-key', value: REAL_KEY },
    sessionToken: BEARER,
    log,
    ...overrides,
  });
  await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
  const close = () => proxy.shutdown(200);
  t.after(close);
  return { url, logs, close };
}

async function upstream(t: { after(fn: () => unknown): void }, options: Parameters<typeof startFakeModelUpstream>[0] = {}): Promise<FakeModelUpstream> {
  const u = await startFakeModelUpstream({ host: '127.0.0.1', ...options });
  t.after(() => u.close());
  return u;
}

const MESSAGE = JSON.stringify({ model: 'claude-fake', max_tokens: 16, stream: true, messages: [{ role: 'user', content: MARKER }] });

function post(url: string, headers: Record<string, string>, body = MESSAGE, method = 'POST') {
  return fetch(url, { method, headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers }, ...(method === 'GET' ? {} : { body }) });
}

test('the credential swap: the upstream gets the real key, never the session bearer; other headers and the body pass unchanged', async (t) => {
  const up = await upstream(t);
  const f = await front(t, up.url);
  const res = await post(`${f.url}/v1/messages?beta=true`, { authorization: `Bearer ${BEARER}`, 'anthropic-beta': 'claude-code-20250219', 'x-stainless-lang': 'js' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  assert.equal(res.headers.get('request-id'), 'req_fake', 'upstream headers reach the client');
  assert.equal(await res.text(), expectedStream(), 'the event stream arrives byte for byte');
  assert.equal(up.requests.length, 1);
  const seen = up.requests[0]!;
  assert.equal(seen.url, '/v1/messages?beta=true', 'path and query unchanged');
  assert.equal(seen.headers['x-api-key'], REAL_KEY);
  assert.equal(seen.headers.authorization, undefined, 'the bearer is not forwarded');
  assert.equal(seen.headers['anthropic-beta'], 'claude-code-20250219');
  assert.equal(seen.headers['anthropic-version'], '2023-06-01');
  assert.equal(seen.headers['x-stainless-lang'], 'js');
  assert.equal(seen.headers.host, `127.0.0.1:${up.port}`, "Host is the upstream's");
  assert.equal(seen.headers['x-forwarded-for'], undefined);
  assert.equal(seen.body, MESSAGE);
  assert.ok(!JSON.stringify(seen.headers).includes(BEARER));
});

test('an x-api-key placeholder (OpenCode, or Claude Code with ANTHROPIC_API_KEY) works too, and an auth token goes out as a bearer', async (t) => {
  const up = await upstream(t);
  const f = await front(t, up.url, { credential: { header: 'authorization', value: 'Bearer real-oauth-token' } });
  const res = await post(`${f.url}/v1/messages`, { 'x-api-key': BEARER }, JSON.stringify({ model: 'm', messages: [] }));
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { content: { text: string }[] }).content[0]?.text, 'Hello from upstream');
  const seen = up.requests[0]!;
  assert.equal(seen.headers.authorization, 'Bearer real-oauth-token');
  assert.equal(seen.headers['x-api-key'], undefined, 'the placeholder key is not forwarded');
});

test('count_tokens and the model list are forwarded', async (t) => {
  const up = await upstream(t);
  const f = await front(t, up.url);
  const count = await post(`${f.url}/v1/messages/count_tokens?beta=true`, { authorization: `Bearer ${BEARER}` });
  assert.deepEqual(await count.json(), { input_tokens: 7 });
  const models = await post(`${f.url}/v1/models`, { 'x-api-key': BEARER }, '', 'GET');
  assert.equal(models.status, 200);
  const one = await post(`${f.url}/v1/models/claude-fake-1@2026`, { 'x-api-key': BEARER }, '', 'GET');
  assert.equal(one.status, 404, "the upstream's own 404 passes through");
  assert.deepEqual(await one.json(), { type: 'error', error: { type: 'not_found_error', message: 'not found' } });
  assert.deepEqual(up.requests.map((r) => `${r.method} ${r.url}`), [
    'POST /v1/messages/count_tokens?beta=true',
    'GET /v1/models',
    'GET /v1/models/claude-fake-1@2026',
  ]);
});

test('401 without the session bearer, or with a wrong one; nothing reaches the upstream', async (t) => {
  const up = await upstream(t);
  const f = await front(t, up.url);
  for (const headers of [{}, { authorization: 'Bearer wrong' }, { 'x-api-key': 'wrong' }, { authorization: BEARER }, { 'x-api-key': '' }, { authorization: `Basic ${BEARER}` }] as Record<string, string>[]) {
    const res = await post(`${f.url}/v1/messages`, headers);
    assert.equal(res.status, 401, JSON.stringify(headers));
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'authentication_error');
  }
  assert.equal(up.requests.length, 0);
  assert.ok(tokenMatches(BEARER, BEARER));
  assert.ok(!tokenMatches(undefined, BEARER) && !tokenMatches('', BEARER) && !tokenMatches(`${BEARER}x`, BEARER));
});

test('404 outside the model API and 405 for another method, before the bearer is even checked; nothing reaches the upstream', async (t) => {
  const up = await upstream(t);
  const f = await front(t, up.url);
  for (const [method, path] of [
    ['HEAD', '/api/hello'],
    ['GET', '/'],
    ['POST', '/v1/files'],
    ['POST', '/v1/messages/batches'],
    ['GET', '/api/oauth/usage'],
    ['POST', '/v1/complete'],
    ['POST', '/v1/messages/'],
    ['POST', '/v1/messages/count_tokens/x'],
    ['GET', '/v1/models/a/b'],
    ['POST', '/v1/../v1/messagesx'],
  ] as const) {
    const res = await fetch(`${f.url}${path}`, { method, headers: { authorization: `Bearer ${BEARER}` }, ...(method === 'POST' ? { body: '{}' } : {}) });
    assert.equal(res.status, 404, `${method} ${path}`);
    if (method !== 'HEAD') assert.equal(((await res.json()) as { error: { type: string } }).error.type, 'not_found_error');
  }
  const wrong = await fetch(`${f.url}/v1/messages`, { method: 'GET' });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get('allow'), 'POST');
  assert.equal(up.requests.length, 0);
});

test('SSE is not buffered: each event reaches the client before the upstream sends the next', async (t) => {
  const up = await upstream(t, { gated: true, events: ['one', 'two', 'three'] });
  const f = await front(t, up.url);
  const chunks: string[] = [];
  let wake: (() => void) | null = null;
  const seen = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${JSON.stringify(text)}; got ${JSON.stringify(chunks.join(''))}`)), 5000);
      const check = () => {
        if (chunks.join('').includes(text)) {
          clearTimeout(timer);
          wake = null;
          resolve();
        } else wake = check;
      };
      check();
    });
  let ended!: Promise<void>;
  const headers = new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request(`${f.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${BEARER}`, 'content-type': 'application/json' } }, (res) => {
      ended = new Promise((r) => res.once('end', r));
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        chunks.push(c);
        (wake as (() => void) | null)?.();
      });
      resolve(res);
    });
    req.on('error', reject);
    req.end(MESSAGE);
  });
  const res = await headers;
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'text/event-stream');
  await seen('"type":"message_start"');
  assert.ok(!chunks.join('').includes('"one"'), 'no delta was released yet');
  up.release();
  await seen('"text":"one"');
  assert.ok(!chunks.join('').includes('"two"'), 'the first delta arrived while the upstream still held the second');
  up.release();
  await seen('"text":"two"');
  assert.ok(!chunks.join('').includes('"three"'));
  up.release();
  await seen('message_stop');
  await ended;
  assert.equal(chunks.join(''), expectedStream(['one', 'two', 'three']), 'unchanged, byte for byte');
});

test('the log holds no body, no header value and no secret; an unreachable upstream is a 502 that says so', async (t) => {
  const up = await upstream(t);
  const f = await front(t, up.url);
  await (await post(`${f.url}/v1/messages`, { authorization: `Bearer ${BEARER}` })).text();
  await (await post(`${f.url}/v1/messages`, { authorization: 'Bearer not-the-bearer-999' })).text();
  await (await post(`${f.url}/nope`, { 'x-api-key': BEARER })).text();
  // An upstream that refuses connections.
  const closed = await upstream(t);
  await closed.close();
  const dead = await front(t, closed.url);
  const res = await post(`${dead.url}/v1/messages`, { authorization: `Bearer ${BEARER}` });
  assert.equal(res.status, 502);
  const body = (await res.json()) as { error: { type: string; message: string } };
  assert.equal(body.error.type, 'api_error');
  assert.match(body.error.message, /could not reach the upstream API \(ECONNREFUSED\)/);
  const logs = [...f.logs, ...dead.logs].join('');
  assert.match(logs, /refused POST \/v1\/messages: missing or wrong session bearer/);
  assert.match(logs, /upstream unreachable for POST \/v1\/messages: ECONNREFUSED/);
  for (const secret of [MARKER, REAL_KEY, BEARER, 'not-the-bearer-999', 'claude-fake', 'max_tokens']) {
    assert.ok(!logs.includes(secret), `the log holds ${secret}:\n${logs}`);
  }
  for (const line of logs.trimEnd().split('\n')) assert.match(line, /^tongs: model-api: /);
});

test('an upstream with a base path gets it prepended; its answer passes through', async (t) => {
  const up = await upstream(t);
  const f = await front(t, `${up.url}/gateway/anthropic/`);
  const res = await post(`${f.url}/v1/messages?beta=true`, { authorization: `Bearer ${BEARER}` });
  assert.equal(res.status, 404);
  await res.text();
  assert.equal(up.requests[0]?.url, '/gateway/anthropic/v1/messages?beta=true');
});

test('a tong without a credential answers 503, saying what to set; without a session token any placeholder passes', async (t) => {
  const up = await upstream(t);
  const none = await front(t, up.url, { credential: null });
  const res = await post(`${none.url}/v1/messages`, { authorization: `Bearer ${BEARER}` });
  assert.equal(res.status, 503);
  assert.match(((await res.json()) as { error: { message: string } }).error.message, /set ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN on the host/);
  const open = await front(t, up.url, { sessionToken: undefined });
  assert.equal((await post(`${open.url}/v1/messages`, { 'x-api-key': 'anything' })).status, 200);
  assert.equal(up.requests.at(-1)?.headers['x-api-key'], REAL_KEY);
});

test('readConfig: defaults, the auth token wins, upstream checks, secrets for redaction', () => {
  const base = readConfig({ ANTHROPIC_API_KEY: REAL_KEY, TONGS_MODEL_TOKEN: BEARER });
  assert.equal(base.dialectName, 'anthropic');
  assert.equal(base.upstream.href, 'https://api.anthropic.com/');
  assert.deepEqual(base.credential, { header: 'x-api-key', value: REAL_KEY });
  assert.equal(base.sessionToken, BEARER);
  assert.equal(base.port, 8080);
  assert.equal(base.tongName, 'model-api');
  assert.deepEqual(base.warnings, []);
  assert.deepEqual(readConfig({ ANTHROPIC_API_KEY: REAL_KEY, ANTHROPIC_AUTH_TOKEN: ' tok-1 ' }).credential, { header: 'authorization', value: 'Bearer tok-1' });
  assert.deepEqual(readConfig({ ANTHROPIC_API_KEY: '', ANTHROPIC_AUTH_TOKEN: '' }).credential, null);
  assert.match(readConfig({}).warnings.join('\n'), /no credential: none of ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN is set[\s\S]*TONGS_MODEL_TOKEN is not set/);
  const gw = readConfig({ ANTHROPIC_API_KEY: REAL_KEY, TONG_UPSTREAM_URL: 'https://user:s3cr3t-pass@gw.example.com/anthropic?key=qqqq-1234' });
  assert.equal(describeUpstream(gw.upstream), 'https://gw.example.com/anthropic', 'no userinfo or query in log lines');
  assert.ok(gw.secrets.includes('s3cr3t-pass') && gw.secrets.includes('?key=qqqq-1234') && gw.secrets.includes(REAL_KEY));
  assert.equal(readConfig({ TONG_UPSTREAM_URL: '  ' }).upstream.href, 'https://api.anthropic.com/', 'empty means the default');
  assert.throws(() => readConfig({ TONG_UPSTREAM_URL: 'not a url sk-secret' }), (e: unknown) => e instanceof ConfigError && !e.message.includes('sk-secret'));
  assert.throws(() => readConfig({ TONG_UPSTREAM_URL: 'ftp://x' }), /must be an http:\/\/ or https:\/\/ URL/);
  assert.throws(() => readConfig({ TONG_DIALECT: 'mistral' }), /TONG_DIALECT=mistral is not a dialect this tong speaks \(anthropic, openai, google\)/);
  assert.throws(() => readConfig({ PORT: 'x' }), /PORT=x is not a port number/);
  assert.equal(redact(`a ${REAL_KEY} b ${REAL_KEY}`, [REAL_KEY]), 'a [redacted] b [redacted]');
});

test('openai and google dialects (issue #14 item 4): the bearer as each harness sends it is swapped for the real key', async (t) => {
  const up = await upstream(t);
  const openai = await front(t, up.url, { dialect: PROXY_DIALECTS.openai, credential: { header: 'authorization', value: `Bearer ${REAL_KEY}` } });
  // The fake upstream answers only Anthropic's paths (404 otherwise): what matters is what it received.
  await (await post(`${openai.url}/v1/responses`, { authorization: `Bearer ${BEARER}` })).text();
  assert.equal(up.requests.length, 1, 'forwarded');
  assert.equal(up.requests.at(-1)!.url, '/v1/responses');
  assert.equal(up.requests.at(-1)!.headers.authorization, `Bearer ${REAL_KEY}`);
  assert.equal((await post(`${openai.url}/v1/responses`, { authorization: 'Bearer wrong' })).status, 401);
  const notModel = await post(`${openai.url}/v1/files`, { authorization: `Bearer ${BEARER}` });
  assert.equal(notModel.status, 404);
  assert.match(((await notModel.json()) as { error: { message: string } }).error.message, /not part of the model API/);

  const google = await front(t, up.url, { dialect: PROXY_DIALECTS.google, credential: { header: 'x-goog-api-key', value: REAL_KEY } });
  await (await post(`${google.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, { 'x-goog-api-key': BEARER })).text();
  assert.equal(up.requests.length, 2, 'forwarded');
  const seen = up.requests.at(-1)!;
  assert.equal(seen.url, '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  assert.equal(seen.headers['x-goog-api-key'], REAL_KEY);
  assert.ok(!JSON.stringify(seen.headers).includes(BEARER));
  const refused = await post(`${google.url}/v1beta/models/gemini-2.5-flash:generateContent`, {});
  assert.equal(refused.status, 401);
  assert.equal(((await refused.json()) as { error: { status: string } }).error.status, 'UNAUTHENTICATED');
  for (const f of [openai, google]) assert.ok(!f.logs.join('\n').includes(BEARER) && !f.logs.join('\n').includes(REAL_KEY));
});

test('readConfig: the openai and google credentials, and OPENAI_BASE_URL\'s /v1 dropped from the upstream', () => {
  const o = readConfig({ TONG_DIALECT: 'openai', OPENAI_API_KEY: 'sk-o', TONG_UPSTREAM_URL: 'https://gw.example/openai/v1/' });
  assert.deepEqual(o.credential, { header: 'authorization', value: 'Bearer sk-o' });
  assert.equal(o.upstream.href, 'https://gw.example/openai');
  assert.equal(readConfig({ TONG_DIALECT: 'openai' }).upstream.href, 'https://api.openai.com/');
  const g = readConfig({ TONG_DIALECT: 'google', GOOGLE_API_KEY: 'g-key' });
  assert.deepEqual(g.credential, { header: 'x-goog-api-key', value: 'g-key' });
  assert.equal(g.upstream.href, 'https://generativelanguage.googleapis.com/');
  assert.deepEqual(readConfig({ TONG_DIALECT: 'google', GEMINI_API_KEY: 'a', GOOGLE_API_KEY: 'b' }).credential?.value, 'a');
});

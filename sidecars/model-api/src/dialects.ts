/**
 * What the model tong forwards, per dialect (issue #11 item 1; DESIGN.md "The seal" rule 4): the API
 * paths a harness may call, how the tong's real credential is sent upstream, where the harness puts
 * its placeholder key, and the shape of an error body the harness can show. Adding a dialect is
 * one entry in {@link PROXY_DIALECTS}, beside the launcher's own table
 * (launcher/core/model-dialects.ts).
 */

/** One request the tong forwards: a method and a path pattern (the query string is not part of it). */
export interface Route {
  method: string;
  path: RegExp;
}

/** The header that carries the real credential upstream. */
export interface Credential {
  header: string;
  value: string;
}

export interface ProxyDialect {
  /** Where requests go when the tong is given no upstream URL. */
  defaultUpstream: string;
  /**
   * A path suffix that the dialect's base-URL convention includes and the forwarded paths carry
   * already (OpenAI's `OPENAI_BASE_URL=https://api.openai.com/v1`): dropped from the upstream URL.
   */
  upstreamPathSuffix?: string;
  /** Everything else is answered 404 (405 for a known path with another method). */
  routes: readonly Route[];
  /**
   * The real credential from the tong's environment, or null when none is set. Values are trimmed;
   * an empty value counts as unset.
   */
  credential(env: Readonly<Record<string, string | undefined>>): Credential | null;
  /** The environment variables {@link credential} reads, for the log line of a tong that has none. */
  credentialEnv: readonly string[];
  /**
   * The session bearer as the harness sends it (its placeholder key), or undefined. Every header
   * that may carry one is removed before the request goes upstream ({@link clientCredentialHeaders}).
   */
  presentedToken(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined;
  /** Request headers that carry a client credential (lower case): never forwarded. */
  clientCredentialHeaders: readonly string[];
  /** An error body in the API's own shape, so the harness shows the message. */
  errorBody(status: number, message: string): { contentType: string; body: string };
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
const nonEmpty = (v: string | undefined): string | undefined => {
  const t = v?.trim();
  return t ? t : undefined;
};

/** Anthropic's error `type` for an HTTP status (https://docs.anthropic.com/en/api/errors). */
function anthropicErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

/**
 * The Anthropic Messages API. Claude Code (2.1.330) calls `POST /v1/messages?beta=true` and
 * `/v1/messages/count_tokens`; OpenCode (1.18.33) `POST /v1/messages`; model listings are
 * `GET /v1/models[/<id>]`. Claude Code's connection pre-warm (`HEAD /api/hello`, result ignored) and
 * the API's account, file and admin endpoints are not model calls and get 404.
 */
const anthropic: ProxyDialect = {
  defaultUpstream: 'https://api.anthropic.com',
  routes: [
    { method: 'POST', path: /^\/v1\/messages$/ },
    { method: 'POST', path: /^\/v1\/messages\/count_tokens$/ },
    { method: 'GET', path: /^\/v1\/models$/ },
    { method: 'GET', path: /^\/v1\/models\/[A-Za-z0-9._@:-]+$/ },
  ],
  credential(env) {
    // As Claude Code does: an auth token (sent as a bearer) wins over an API key.
    const token = nonEmpty(env.ANTHROPIC_AUTH_TOKEN);
    if (token) return { header: 'authorization', value: `Bearer ${token}` };
    const key = nonEmpty(env.ANTHROPIC_API_KEY);
    return key ? { header: 'x-api-key', value: key } : null;
  },
  credentialEnv: ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN'],
  presentedToken(headers) {
    // Claude Code sends ANTHROPIC_AUTH_TOKEN as a bearer, an API key (and OpenCode's) as x-api-key.
    const bearer = /^Bearer[ ]+(.+)$/i.exec(first(headers.authorization) ?? '')?.[1]?.trim();
    return nonEmpty(bearer) ?? nonEmpty(first(headers['x-api-key']));
  },
  clientCredentialHeaders: ['authorization', 'x-api-key', 'proxy-authorization'],
  errorBody(status, message) {
    return {
      contentType: 'application/json',
      body: JSON.stringify({ type: 'error', error: { type: anthropicErrorType(status), message } }),
    };
  },
};

/**
 * The OpenAI API, as Codex CLI (0.171) calls it through a provider whose `base_url` is the tong's
 * `/v1`: `POST /v1/responses` (and `/v1/responses/compact`), plus Chat Completions and the model
 * listing for other clients. The key goes upstream as `Authorization: Bearer`, as the harness sent
 * its placeholder. https://platform.openai.com/docs/api-reference/authentication
 */
const openai: ProxyDialect = {
  defaultUpstream: 'https://api.openai.com',
  upstreamPathSuffix: '/v1',
  routes: [
    { method: 'POST', path: /^\/v1\/responses$/ },
    { method: 'POST', path: /^\/v1\/responses\/compact$/ },
    { method: 'POST', path: /^\/v1\/chat\/completions$/ },
    { method: 'GET', path: /^\/v1\/models$/ },
    { method: 'GET', path: /^\/v1\/models\/[A-Za-z0-9._@:-]+$/ },
  ],
  credential(env) {
    const key = nonEmpty(env.OPENAI_API_KEY);
    return key ? { header: 'authorization', value: `Bearer ${key}` } : null;
  },
  credentialEnv: ['OPENAI_API_KEY'],
  presentedToken(headers) {
    return nonEmpty(/^Bearer[ ]+(.+)$/i.exec(first(headers.authorization) ?? '')?.[1]?.trim());
  },
  clientCredentialHeaders: ['authorization', 'proxy-authorization', 'openai-organization', 'openai-project'],
  errorBody(status, message) {
    const type = status === 401 ? 'authentication_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
    return { contentType: 'application/json', body: JSON.stringify({ error: { message, type, param: null, code: null } }) };
  },
};

/** google.rpc.Code names for the statuses the tong answers itself. */
function googleStatus(status: number): string {
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'PERMISSION_DENIED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 503) return 'UNAVAILABLE';
  if (status >= 500) return 'INTERNAL';
  return 'INVALID_ARGUMENT';
}

/**
 * The Gemini API, as Gemini CLI (0.61) calls it with an API key and `GOOGLE_GEMINI_BASE_URL` set to
 * the tong: `POST /v1beta/models/<model>:streamGenerateContent?alt=sse`, `:generateContent`,
 * `:countTokens`, `:embedContent`, and the model listing (`v1` as well as `v1beta`). The key goes
 * upstream as `x-goog-api-key`, where the harness put its placeholder.
 * https://ai.google.dev/api#authentication
 */
const google: ProxyDialect = {
  defaultUpstream: 'https://generativelanguage.googleapis.com',
  routes: [
    { method: 'POST', path: /^\/v1(beta)?\/models\/[A-Za-z0-9._@-]+:(generateContent|streamGenerateContent|countTokens|embedContent|batchEmbedContents)$/ },
    { method: 'GET', path: /^\/v1(beta)?\/models$/ },
    { method: 'GET', path: /^\/v1(beta)?\/models\/[A-Za-z0-9._@-]+$/ },
  ],
  credential(env) {
    const key = nonEmpty(env.GEMINI_API_KEY) ?? nonEmpty(env.GOOGLE_API_KEY);
    return key ? { header: 'x-goog-api-key', value: key } : null;
  },
  credentialEnv: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
  presentedToken(headers) {
    return nonEmpty(first(headers['x-goog-api-key'])) ?? nonEmpty(/^Bearer[ ]+(.+)$/i.exec(first(headers.authorization) ?? '')?.[1]?.trim());
  },
  clientCredentialHeaders: ['x-goog-api-key', 'authorization', 'proxy-authorization'],
  errorBody(status, message) {
    return { contentType: 'application/json', body: JSON.stringify({ error: { code: status, message, status: googleStatus(status) } }) };
  },
};

export const PROXY_DIALECTS = { anthropic, openai, google } as const satisfies Record<string, ProxyDialect>;
export type ProxyDialectName = keyof typeof PROXY_DIALECTS;

/** The dialect for a name (`TONG_DIALECT`), or undefined. */
export function proxyDialect(name: string): ProxyDialect | undefined {
  return Object.hasOwn(PROXY_DIALECTS, name) ? PROXY_DIALECTS[name as ProxyDialectName] : undefined;
}

/**
 * The model tong's configuration, read only from its environment (issue #11 item 1). Pure: pass any
 * `env` record; nothing here touches `process`.
 *
 * | variable | meaning |
 * | --- | --- |
 * | `ANTHROPIC_AUTH_TOKEN`, `ANTHROPIC_API_KEY` | the real credential (the dialect's `credentialEnv`) |
 * | `TONG_UPSTREAM_URL` | where requests go (the host's `ANTHROPIC_BASE_URL`); empty ⇒ the dialect's default |
 * | `TONG_DIALECT` | `anthropic` (default), `openai` or `google` (issue #14) |
 * | `TONGS_MODEL_TOKEN` | the session bearer; when set, every request must present it |
 * | `TONGS_TONG_NAME` | the tong's name, for log lines (default `model-api`) |
 * | `PORT` | listen port (default 8080; 0 picks a free one) |
 */
import { proxyDialect, PROXY_DIALECTS, type Credential, type ProxyDialect } from './dialects.js';

export interface ModelTongConfig {
  dialectName: string;
  dialect: ProxyDialect;
  /** The upstream API root; its path (if any) is prepended to every forwarded path. */
  upstream: URL;
  /** The real credential, or null: the tong then answers every model call 503, saying so. */
  credential: Credential | null;
  /** `TONGS_MODEL_TOKEN`, or undefined: then no bearer is required. */
  sessionToken: string | undefined;
  tongName: string;
  port: number;
  /** Every secret the tong holds, for redaction of log lines. */
  secrets: string[];
  /** Problems found while reading, for the log. */
  warnings: string[];
}

export const DEFAULT_PORT = 8080;

/** Thrown for a configuration the tong cannot serve with (an unknown dialect, a malformed upstream URL). */
export class ConfigError extends Error {}

export function readConfig(env: Readonly<Record<string, string | undefined>>): ModelTongConfig {
  const warnings: string[] = [];
  const dialectName = (env.TONG_DIALECT ?? '').trim() || 'anthropic';
  const dialect = proxyDialect(dialectName);
  if (!dialect) throw new ConfigError(`TONG_DIALECT=${dialectName} is not a dialect this tong speaks (${Object.keys(PROXY_DIALECTS).join(', ')})`);
  const rawUpstream = (env.TONG_UPSTREAM_URL ?? '').trim() || dialect.defaultUpstream;
  let upstream: URL;
  try {
    upstream = new URL(rawUpstream);
  } catch {
    // The value may carry a credential, so the message does not repeat it.
    throw new ConfigError('TONG_UPSTREAM_URL is not a URL (expected e.g. https://api.anthropic.com)');
  }
  if (upstream.protocol !== 'https:' && upstream.protocol !== 'http:') {
    throw new ConfigError(`TONG_UPSTREAM_URL must be an http:// or https:// URL, not ${upstream.protocol}`);
  }
  const suffix = dialect.upstreamPathSuffix;
  if (suffix && upstream.pathname.replace(/\/+$/, '').endsWith(suffix)) {
    upstream.pathname = upstream.pathname.replace(/\/+$/, '').slice(0, -suffix.length) || '/';
  }
  const credential = dialect.credential(env);
  if (!credential) warnings.push(`no credential: none of ${dialect.credentialEnv.join(', ')} is set; model calls are answered 503`);
  const sessionToken = (env.TONGS_MODEL_TOKEN ?? '').trim() || undefined;
  if (!sessionToken) warnings.push('TONGS_MODEL_TOKEN is not set: any client that reaches this tong can use its credential');
  const port = env.PORT === undefined || env.PORT.trim() === '' ? DEFAULT_PORT : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT=${env.PORT} is not a port number`);
  const secrets = [
    ...dialect.credentialEnv.map((name) => env[name]),
    sessionToken,
    upstream.username ? decodeURIComponent(upstream.username) : undefined,
    upstream.password ? decodeURIComponent(upstream.password) : undefined,
    upstream.search.length > 1 ? upstream.search : undefined,
  ].filter((s): s is string => typeof s === 'string' && s.trim().length >= 4);
  return {
    dialectName,
    dialect,
    upstream,
    credential,
    sessionToken,
    tongName: (env.TONGS_TONG_NAME ?? '').trim() || 'model-api',
    port,
    secrets,
    warnings,
  };
}

/** The upstream for log lines: scheme, host and path, never userinfo or query. */
export function describeUpstream(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

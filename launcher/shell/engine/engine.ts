/**
 * The engine resolver (issue #16, DESIGN.md "Engines"): which container engine every command talks to,
 * found the way the `docker` CLI finds it, so that the launcher and the `docker` CLI it spawns for the
 * anvil always reach the same engine:
 *
 * 1. the anvil argv's own global `-H/--host`, then `-c/--context` (the CLI's flags come first);
 * 2. `DOCKER_HOST` (with `DOCKER_TLS_VERIFY` / `DOCKER_TLS` / `DOCKER_CERT_PATH`);
 * 3. `DOCKER_CONTEXT`;
 * 4. `currentContext` in `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`);
 * 5. the default socket, `unix:///var/run/docker.sock`.
 *
 * A context other than `default` is read from the context store:
 * `$DOCKER_CONFIG/contexts/meta/<sha256 of the name>/meta.json` (its `Endpoints.docker.Host` and
 * `SkipTLSVerify`), with TLS material in `contexts/tls/<sha256>/docker/{ca,cert,key}.pem`.
 * Endpoints: `unix://`, `tcp://` (plain or TLS) and `ssh://`.
 *
 * Cost (issue #16 "Speed": ≤ 5 ms): at most two small JSON files are read (config.json, one
 * meta.json), synchronously; TLS files are only located here and read by the runtime. No dockerode.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DockerError } from '../../errors.js';

/** The docker CLI's default endpoint on Linux and macOS. */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** Where the choice came from, in precedence order. */
export type EngineSource = 'argv-host' | 'argv-context' | 'DOCKER_HOST' | 'DOCKER_CONTEXT' | 'config' | 'default';

/** TLS material for a `tcp://` endpoint: paths of the PEM files that exist, and whether to verify. */
export interface EngineTls {
  /** Verify the server's certificate against `ca` (false: `SkipTLSVerify` / `DOCKER_TLS` without verify). */
  verify: boolean;
  ca: string | null;
  cert: string | null;
  key: string | null;
}

/** A parsed endpoint. */
export type EngineEndpoint =
  | { protocol: 'unix'; socketPath: string }
  | { protocol: 'tcp'; host: string; port: number; tls: EngineTls | null }
  /** `port` null: ssh's own choice (`~/.ssh/config`, else 22). */
  | { protocol: 'ssh'; host: string; port: number | null; username: string | null };

/** The chosen engine. Plain data: the runtime builds its client from it. */
export interface ResolvedEngine {
  /** The endpoint URL, e.g. `unix:///var/run/docker.sock`, `tcp://10.0.0.2:2376`, `ssh://me@box`. */
  host: string;
  endpoint: EngineEndpoint;
  source: EngineSource;
  /** The context name when the endpoint came from a context (never `default`), else null. */
  context: string | null;
  /** How it was chosen, for people: `DOCKER_CONTEXT=colima (context store /home/me/.docker/contexts)`. */
  why: string;
  /**
   * Environment changes that make a `docker` CLI child reach this same engine (undefined = remove):
   * a context is passed as `DOCKER_CONTEXT` (DOCKER_HOST removed), anything else as `DOCKER_HOST`
   * (DOCKER_CONTEXT removed). Empty when the anvil argv names the engine itself.
   */
  cliEnv: Record<string, string | undefined>;
}

/** Inputs of {@link resolveEngine}; defaults are the process's own. */
export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  /** The anvil argv (`docker [globals] run …`): its `-H/--host`, `-c/--context`, `--config` count first. */
  anvilArgv?: readonly string[];
  /** Home directory for `~/.docker`. */
  home?: string;
}

function configError(message: string, cause?: unknown): DockerError {
  return new DockerError(message, { kind: 'config', ...(cause === undefined ? {} : { cause }) });
}

/** The docker global options this resolver honours, read from an anvil argv (values may be `=`-attached). */
export function dockerGlobalOptions(argv: readonly string[] | undefined): { host?: string; context?: string; config?: string } {
  const out: { host?: string; context?: string; config?: string } = {};
  if (!argv || argv.length === 0) return out;
  const base = (argv[0] ?? '').split('/').pop()!.toLowerCase();
  if (base !== 'docker' && base !== 'docker.exe') return out;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-') break; // the subcommand: globals end here
    const [flag, attached] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const takesValue = ['-H', '--host', '-c', '--context', '--config', '-l', '--log-level', '--tlscacert', '--tlscert', '--tlskey'].includes(flag);
    if (!takesValue) continue;
    const value = attached ?? argv[++i];
    if (value === undefined) break;
    if (flag === '-H' || flag === '--host') out.host = value;
    else if (flag === '-c' || flag === '--context') out.context = value;
    else if (flag === '--config') out.config = value;
  }
  return out;
}

/**
 * Parse an endpoint URL as the docker CLI accepts it. `tls` applies to tcp only.
 * @throws DockerError (kind `config`) naming `origin` for a malformed or unsupported URL.
 */
export function parseEngineHost(host: string, origin: string, tls: EngineTls | null = null): EngineEndpoint {
  const bad = (why: string) =>
    configError(`cannot use ${origin}: ${why}; expected unix:///path/to/socket, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT]`);
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (!socketPath) throw bad('no socket path');
    return { protocol: 'unix', socketPath };
  }
  const withScheme = host.includes('://') ? host : `tcp://${host}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw bad('not a URL');
  }
  if (!['tcp:', 'http:', 'https:', 'ssh:'].includes(url.protocol)) throw bad(`unsupported scheme ${url.protocol.replace(/:$/, '')}://`);
  if (!url.hostname) throw bad('no host name');
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    const useTls = tls ?? (url.protocol === 'https:' ? { verify: true, ca: null, cert: null, key: null } : null);
    const port = url.port ? Number(url.port) : useTls ? 2376 : 2375;
    return { protocol: 'tcp', host: hostname, port, tls: useTls };
  }
  if (url.protocol === 'ssh:') {
    return { protocol: 'ssh', host: hostname, port: url.port ? Number(url.port) : null, username: url.username ? decodeURIComponent(url.username) : null };
  }
  throw bad(`unsupported scheme ${url.protocol.replace(/:$/, '')}://`);
}

/** The TLS material of DOCKER_HOST, from DOCKER_TLS_VERIFY / DOCKER_TLS / DOCKER_CERT_PATH as the CLI reads them. */
function envTls(env: NodeJS.ProcessEnv, configDir: string): EngineTls | null {
  const verify = Boolean(env.DOCKER_TLS_VERIFY);
  if (!verify && !env.DOCKER_TLS) return null;
  const dir = env.DOCKER_CERT_PATH || configDir;
  const file = (name: string) => (existsSync(join(dir, name)) ? join(dir, name) : null);
  return { verify, ca: file('ca.pem'), cert: file('cert.pem'), key: file('key.pem') };
}

/** sha256 of a context name, hex: the directory name of the context in the store. */
export function contextDirName(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

function readJson(file: string, what: string): unknown | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw configError(`cannot read ${what} ${file}: ${(err as Error).message}`, err);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw configError(`${what} ${file} is not valid JSON (${(err as Error).message}); fix or remove it`, err);
  }
}

/** A context's endpoint from the store. @throws DockerError (kind `config`) for a missing or broken context. */
function contextEndpoint(configDir: string, name: string, origin: string): { host: string; endpoint: EngineEndpoint } {
  const dir = contextDirName(name);
  const metaFile = join(configDir, 'contexts', 'meta', dir, 'meta.json');
  const meta = readJson(metaFile, `the metadata of docker context '${name}'`);
  if (meta === undefined) {
    throw configError(
      `docker context '${name}' (${origin}) does not exist: there is no ${metaFile}; ` +
        `see \`docker context ls\`, or pick another with \`docker context use NAME\``,
    );
  }
  const docker = (meta as { Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } } } | null)?.Endpoints?.docker;
  if (!docker || typeof docker.Host !== 'string' || docker.Host === '') {
    throw configError(`docker context '${name}' (${origin}) names no Docker endpoint: ${metaFile} has no Endpoints.docker.Host`);
  }
  const tlsDir = join(configDir, 'contexts', 'tls', dir, 'docker');
  const file = (n: string) => (existsSync(join(tlsDir, n)) ? join(tlsDir, n) : null);
  const ca = file('ca.pem');
  const cert = file('cert.pem');
  const key = file('key.pem');
  const skip = docker.SkipTLSVerify === true;
  const tls: EngineTls | null = ca || cert || key || skip ? { verify: !skip, ca, cert, key } : null;
  return { host: docker.Host, endpoint: parseEngineHost(docker.Host, `the endpoint ${docker.Host} of docker context '${name}' (${metaFile})`, tls) };
}

/**
 * Choose the engine (see the module comment for the order).
 * @throws DockerError (kind `config`): a corrupt config.json (naming the file), a context that does
 *   not exist or has no Docker endpoint, a malformed endpoint URL.
 */
export function resolveEngine(options: ResolveOptions = {}): ResolvedEngine {
  const env = options.env ?? process.env;
  const globals = dockerGlobalOptions(options.anvilArgv);
  const configDir = globals.config || env.DOCKER_CONFIG || join(options.home ?? homedir(), '.docker');

  const byHost = (host: string, source: EngineSource, why: string, cliEnv: ResolvedEngine['cliEnv']): ResolvedEngine => {
    const origin = source === 'DOCKER_HOST' ? `DOCKER_HOST=${host}` : source === 'argv-host' ? `the anvil's docker -H ${host}` : host;
    return { host, endpoint: parseEngineHost(host, origin, envTls(env, configDir)), source, context: null, why, cliEnv };
  };
  const byContext = (name: string, source: EngineSource, origin: string, cliEnv: ResolvedEngine['cliEnv']): ResolvedEngine => {
    if (name === 'default') {
      // The CLI's built-in context: DOCKER_HOST is unset here (it would have won), so the default socket.
      return byHost(DEFAULT_DOCKER_HOST, 'default', `the default socket (${origin} names the built-in context 'default')`, cliEnv);
    }
    const { host, endpoint } = contextEndpoint(configDir, name, origin);
    return {
      host,
      endpoint,
      source,
      context: name,
      why: `docker context '${name}' (${origin}; context store ${join(configDir, 'contexts')})`,
      cliEnv,
    };
  };

  if (globals.host) return byHost(globals.host, 'argv-host', `the anvil command's own docker -H ${globals.host}`, {});
  if (globals.context) return byContext(globals.context, 'argv-context', `the anvil command's own docker --context`, {});
  if (env.DOCKER_HOST) {
    return byHost(env.DOCKER_HOST, 'DOCKER_HOST', `DOCKER_HOST=${env.DOCKER_HOST}`, { DOCKER_HOST: env.DOCKER_HOST, DOCKER_CONTEXT: undefined });
  }
  if (env.DOCKER_CONTEXT) {
    return byContext(env.DOCKER_CONTEXT, 'DOCKER_CONTEXT', `DOCKER_CONTEXT=${env.DOCKER_CONTEXT}`, {
      DOCKER_CONTEXT: env.DOCKER_CONTEXT,
      DOCKER_HOST: undefined,
    });
  }
  const configFile = join(configDir, 'config.json');
  const config = readJson(configFile, 'the docker config file');
  if (config !== undefined && (config === null || typeof config !== 'object' || Array.isArray(config))) {
    throw configError(`the docker config file ${configFile} is not a JSON object; fix or remove it`);
  }
  const current = (config as { currentContext?: unknown } | undefined)?.currentContext;
  if (current !== undefined && typeof current !== 'string') {
    throw configError(`the docker config file ${configFile} has a currentContext that is not a string`);
  }
  if (current) {
    return byContext(current, 'config', `the current context in ${configFile}`, { DOCKER_CONTEXT: current, DOCKER_HOST: undefined });
  }
  return byHost(DEFAULT_DOCKER_HOST, 'default', 'the default socket (no DOCKER_HOST, DOCKER_CONTEXT or current context)', {
    DOCKER_HOST: DEFAULT_DOCKER_HOST,
    DOCKER_CONTEXT: undefined,
  });
}

/** `env` with `changes` applied (undefined removes a variable). */
export function applyEnv(env: NodeJS.ProcessEnv, changes: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

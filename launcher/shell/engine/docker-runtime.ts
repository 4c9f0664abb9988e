/**
 * The Docker implementation of ContainerRuntime (launcher/shell/engine/runtime.ts). This is the ONLY module that
 * imports dockerode (DESIGN.md "Layout"). The engine is the one launcher/shell/engine/engine.ts resolves, as
 * the docker CLI would (DOCKER_HOST, DOCKER_CONTEXT, the current context, the default socket); its
 * endpoint becomes explicit dockerode options (unix socket, tcp with TLS, ssh).
 *
 * Every engine failure is a DockerError whose `kind` is set here (launcher/errors.ts): callers branch
 * on it, never on message text. The engine's `/version` is asked once, alongside the first call (no
 * added round trip): an engine older than {@link MIN_API_VERSION} fails every call with kind `too-old`.
 *
 * Podman (its Docker-compatible API, `podman system service`; issue #16) is a supported engine. Where
 * it differs from Docker Engine, this module adapts, and this is the one place that says why (checked
 * on Podman 4.3.1; `engineInfo().podman` tells them apart):
 * - attach: Podman feeds the attach request's body to the container's stdin, and dockerode sends its
 *   options as a JSON body, so attach is sent with an empty body (Docker ignores the body anyway);
 * - connecting a container to a network it is already on: Podman answers 500 "is already connected"
 *   where Docker answers 403 "already exists"; both mean success;
 * - image inspect: the compat endpoint leaves out `Config.Healthcheck`, so on Podman the HEALTHCHECK
 *   is read from the libpod endpoint;
 * - healthchecks: Podman runs them from systemd timers, so where there is no systemd (containers, CI)
 *   they never run and the status stays `starting`; on Podman, inspecting a container whose health is
 *   not yet `healthy` runs its healthcheck once through the libpod endpoint (the readiness poll);
 * - build progress: Podman's builder prints `STEP 2/5: COPY …` where Docker prints `Step 2/5 : COPY …`;
 *   lines are reported in Docker's form. Podman builds in Docker image format through this API, so
 *   HEALTHCHECK survives the build;
 * - `docker run --rm` (the docker CLI, i.e. the anvil): Podman answers the CLI's wait for removal
 *   (`condition=removed`) with status 0 whatever the container exited with, so on Podman the anvil's
 *   `--rm` is dropped and the session teardown removes it by label (dockerCliCommand);
 * - `host-gateway` in extra hosts (a definition's `hosts:`): Podman 4.3 leaves such an entry out of
 *   /etc/hosts, so on Podman it is replaced by the gateway address of the container's network, which
 *   is this host's address on that bridge;
 * - exec with stdin: secret delivery does not rely on the exec's stdin being closed (the payload is
 *   framed: launcher/shell/apply/secret-delivery.ts), as engines differ in passing that close on;
 * - memory limits when rootless: the compat `/info` says `MemoryLimit: true` even where rootless
 *   Podman cannot set one (no memory controller for the user: cgroup v1, or v2 without delegation),
 *   so the libpod info's `host.cgroupControllers` is asked instead (memoryLimitsEnforced).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { createRequire, Module } from 'node:module';
import { PassThrough, type Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { DockerError, type DockerFailureKind } from '../../errors.js';
import { withoutRunRm } from '../../core/docker-argv.js';
import { resolveEngine, type ResolvedEngine } from './engine.js';
import { sshDialAgent, type SshDialError } from './ssh-dial.js';
import type {
  AttachedStreams,
  BuildProgress,
  ContainerInfo,
  ContainerRuntime,
  ContainerSpec,
  ContainerSummary,
  EngineInfo,
  ExecOptions,
  ExecResult,
  ImageInfo,
  LabelFilter,
  NetworkSummary,
} from './runtime.js';

const require = createRequire(import.meta.url);

/**
 * Put a stand-in for the CommonJS module `request` (resolved from `fromFile`) into the require cache,
 * so that whoever requires it next gets `standIn(load)` instead, where `load()` loads the real module
 * (once) and makes it the cached one for every later `require`. A module already loaded is left as is.
 */
function deferModule(fromFile: string, request: string, standIn: (load: () => Record<string, unknown>) => unknown): void {
  const path = createRequire(fromFile).resolve(request);
  if (require.cache[path]) return;
  let real: Record<string, unknown> | null = null;
  const load = () => {
    if (!real) {
      if (require.cache[path] === placeholder) delete require.cache[path];
      real = require(path) as Record<string, unknown>;
    }
    return real;
  };
  const placeholder = new Module(path);
  placeholder.filename = path;
  placeholder.paths = [];
  placeholder.exports = standIn(load);
  placeholder.loaded = true;
  require.cache[path] = placeholder;
}

/**
 * Load dockerode without the two heavy dependencies it requires eagerly but tongs does not use on a
 * launch: gRPC + proto-loader (only for BuildKit sessions, `buildImage({version: '2'})`, which tongs
 * never asks for) and ssh2 (docker-modem's ssh, which tongs replaces: launcher/shell/engine/ssh-dial.ts). Together they are ≈250–350 ms of CPU on every
 * `tongs run`, against a launch-overhead budget of 0.6 s (issue #3 "Speed"). Both stay fully usable:
 * the stand-ins load the real module on first use. Stand-in shapes follow dockerode 5's use:
 * `lib/session.js` keeps the gRPC module objects and reads members only inside `withSession`;
 * docker-modem's `lib/ssh.js` reads `require('ssh2').Client` at load and constructs it per ssh:// call.
 */
function loadDockerode(): typeof Docker {
  const t0 = performance.now();
  // In the launcher bundle, dockerode and its 100-odd modules are one file beside this chunk
  // (make/bundle.mjs): one file to resolve and compile instead of a tree, 15-20 ms of a launch.
  const vendored = fileURLToPath(new URL(`./${VENDORED_DOCKERODE}`, import.meta.url));
  const bundled = existsSync(vendored) ? vendored : null;
  try {
    const dockerodeMain = bundled ?? require.resolve('dockerode');
    // In the bundle docker-modem is inside it, so ssh2 is required from the bundle's own file.
    const modemMain = bundled ?? createRequire(dockerodeMain).resolve('docker-modem');
    const namespace = (load: () => Record<string, unknown>) =>
      new Proxy({}, { get: (_t, key) => load()[key as string], has: (_t, key) => key in load() });
    deferModule(dockerodeMain, '@grpc/grpc-js', namespace);
    deferModule(dockerodeMain, '@grpc/proto-loader', namespace);
    deferModule(modemMain, 'ssh2', (load) => ({
      // `new Client()` returns the real client: a constructor returning an object yields that object.
      Client: function Client(this: unknown, ...args: unknown[]) {
        return Reflect.construct(load().Client as new (...a: unknown[]) => object, args);
      },
    }));
  } catch {
    // A different dependency layout: load dockerode as it is (slower, same behaviour).
  }
  const docker = require(bundled ?? 'dockerode') as typeof Docker;
  dockerodeLoadMs = performance.now() - t0;
  return docker;
}

/** The file make/bundle.mjs writes dockerode's bundle to, beside the launcher's chunks. */
export const VENDORED_DOCKERODE = 'vendor-dockerode.cjs';

/** Milliseconds it took to load dockerode in this process (for the DEBUG=tongs trace). */
export let dockerodeLoadMs = 0;
const DockerClass = loadDockerode();

/** Errors that mean "nothing answered", as opposed to "the engine said no". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);

interface EngineError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | Buffer | string | null;
  message?: string;
}

function engineMessage(err: unknown): string {
  const e = err as EngineError;
  if (e.json && typeof e.json === 'object' && !Buffer.isBuffer(e.json) && e.json.message) return e.json.message;
  if (typeof e.json === 'string' && e.json.trim()) return e.json.trim();
  return e.message ?? String(err);
}

function statusOf(err: unknown): number | undefined {
  return (err as EngineError).statusCode;
}

function labelFilters(filter: LabelFilter): string {
  const label = Object.entries(filter).map(([k, v]) => (v === true ? k : `${k}=${v}`));
  return JSON.stringify({ label });
}

/**
 * The oldest Engine API tongs works with: 1.41, Docker Engine 20.10 (the oldest engine it is tested
 * on, and the README's minimum); Podman 3 and later report 1.41 on their Docker-compatible API.
 */
export const MIN_API_VERSION = '1.41';

/** Compare dotted API versions: negative when a < b. */
function compareApi(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** What a DockerError's message says about where the engine is, and what to do when it does not answer. */
function engineWords(engine: ResolvedEngine): { where: string; hint: string } {
  switch (engine.source) {
    case 'DOCKER_HOST':
      return { where: `DOCKER_HOST=${engine.host}`, hint: 'start Docker, or point DOCKER_HOST at a running engine' };
    case 'default':
      return { where: `${engine.host} (the default socket)`, hint: 'start Docker, or point DOCKER_HOST at a running engine' };
    case 'argv-host':
      return { where: `${engine.host} (the anvil command's docker -H)`, hint: 'start that engine, or change the anvil command' };
    default:
      return {
        where: `${engine.host} (docker context '${engine.context}')`,
        hint: 'start that engine, or pick another context (`docker context use NAME`)',
      };
  }
}

function readPem(file: string | null, what: string): Buffer | undefined {
  if (file === null) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new DockerError(`cannot read the ${what} ${file}: ${(err as Error).message}`, { kind: 'config', cause: err });
  }
}

/**
 * dockerode options for an endpoint. Every connection key is set (undefined when unused), because
 * docker-modem merges its own DOCKER_HOST-derived defaults under whatever it is given.
 */
function modemOptions(engine: ResolvedEngine): Docker.DockerOptions {
  const none = { socketPath: undefined, host: undefined, port: undefined, ca: undefined, cert: undefined, key: undefined, username: undefined };
  const e = engine.endpoint;
  if (e.protocol === 'unix') return { ...none, socketPath: e.socketPath } as Docker.DockerOptions;
  if (e.protocol === 'ssh') {
    // The system's ssh carries every connection (launcher/shell/engine/ssh-dial.ts); the host name
    // here only fills the request line.
    return { ...none, protocol: 'http', host: 'docker', port: 80, agent: sshDialAgent(e) } as Docker.DockerOptions;
  }
  if (!e.tls) return { ...none, protocol: 'http', host: e.host, port: e.port } as Docker.DockerOptions;
  const ca = readPem(e.tls.ca, 'TLS CA certificate');
  const cert = readPem(e.tls.cert, 'TLS client certificate');
  const key = readPem(e.tls.key, 'TLS client key');
  return {
    ...none,
    protocol: 'https',
    host: e.host,
    port: e.port,
    ca,
    cert,
    key,
    // SkipTLSVerify (a context) / DOCKER_TLS without DOCKER_TLS_VERIFY: encrypt, but do not verify.
    ...(e.tls.verify ? {} : { agent: new HttpsAgent({ rejectUnauthorized: false, ...(cert ? { cert } : {}), ...(key ? { key } : {}) }) }),
  } as Docker.DockerOptions;
}

export interface DockerRuntimeOptions {
  /** The engine; default: {@link resolveEngine} over this process's environment. */
  engine?: ResolvedEngine;
  /** DEBUG=tongs trace: which engine was chosen and why, then what it is. */
  debug?: (line: string) => void;
}

/**
 * Creates the Docker runtime for the resolved engine. Contacts nothing.
 * @throws DockerError (kind `config`) when the engine cannot be chosen (launcher/shell/engine/engine.ts) or
 *   its TLS material cannot be read.
 */
export function createDockerRuntime(options: DockerRuntimeOptions = {}): ContainerRuntime {
  const engine = options.engine ?? resolveEngine();
  options.debug?.(`engine: ${engine.host}, chosen by ${engine.why}`);
  let docker: Docker;
  try {
    docker = new DockerClass(modemOptions(engine));
  } catch (err) {
    if (err instanceof DockerError) throw err;
    throw new DockerError(`cannot use ${engineWords(engine).where}: ${(err as Error).message}`, { kind: 'config', cause: err });
  }
  return new DockerRuntime(docker, engine, options.debug);
}

/**
 * The kind of a failure the engine itself reported. Docker and Podman differ: a taken name is 409 on
 * Docker, 500 "is already in use" on Podman; a network with containers attached is 403 "has active
 * endpoints" on Docker, 500 "is being used" on Podman.
 */
function engineKind(status: number | undefined, message: string): DockerFailureKind {
  if (status === 409 || /already in use/i.test(message)) return 'conflict';
  if (/active endpoints|is being used|has associated containers|volume is in use/i.test(message)) return 'in-use';
  // Docker: `exec: "node": executable file not found in $PATH`, `exec: "/x": stat /x: no such file or
  // directory`; Podman: "executable file `node` not found in $PATH … a command that was not found".
  if (/executable file .*not found|not found in \$PATH|start container process: exec: .*no such file or directory|command that was not found/i.test(message)) {
    return 'no-executable';
  }
  return 'engine';
}

/** TLS handshake failures (node's codes): the engine was reached, the TLS material does not fit. */
function isTlsFailure(code: string): boolean {
  return code === 'EPROTO' || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|UNABLE_TO/.test(code);
}

class DockerRuntime implements ContainerRuntime {
  private info: Promise<EngineInfo> | null = null;
  private memoryLimits: Promise<{ enforced: boolean; why: string }> | null = null;
  /** engineInfo()'s answer once it has come. */
  private knownInfo: EngineInfo | null = null;

  constructor(
    private readonly docker: Docker,
    private readonly engine: ResolvedEngine,
    private readonly debug?: (line: string) => void,
  ) {}

  describeEngine(): string {
    return engineWords(this.engine).where;
  }

  /**
   * The anvil's docker CLI argv for this engine. On Podman a `docker run --rm` loses the container's
   * exit status (see the module comment), so `--rm` is dropped: the session's teardown removes the
   * anvil by its label right after it exits, so nothing is left either way. Call after engineInfo().
   */
  dockerCliCommand(argv: readonly string[]): { argv: string[]; env: Record<string, string | undefined> } {
    const podman = this.knownInfo?.podman ?? false;
    return { argv: podman ? withoutRunRm(argv).argv : [...argv], env: { ...this.engine.cliEnv } };
  }

  /**
   * The engine's `/version`, asked once. Rejects with a DockerError: unreachable/permission as any
   * call would, `too-old` when its API version is below MIN_API_VERSION.
   */
  engineInfo(): Promise<EngineInfo> {
    this.info ??= (async () => {
      let v: { Version?: string; ApiVersion?: string; Components?: Array<{ Name?: string; Version?: string }> };
      // performance.now() counts from the process's start (issue #12: launcher start → first engine call).
      this.debug?.(`first engine call ${performance.now().toFixed(0)} ms after the launcher process started`);
      try {
        v = (await this.docker.version()) as typeof v;
      } catch (err) {
        throw this.fail('cannot ask the engine its version', err);
      }
      const podman = (v.Components ?? []).find((c) => /podman/i.test(c.Name ?? ''));
      const info: EngineInfo = {
        name: podman ? 'Podman' : 'Docker Engine',
        version: (podman?.Version ?? v.Version ?? '?').replace(/^v/, ''),
        apiVersion: v.ApiVersion ?? '0',
        podman: podman !== undefined,
      };
      this.debug?.(`engine: ${info.name} ${info.version}, API ${info.apiVersion}`);
      this.knownInfo = info;
      if (compareApi(info.apiVersion, MIN_API_VERSION) < 0) {
        throw new DockerError(
          `the engine at ${this.describeEngine()} is ${info.name} ${info.version} with API ${info.apiVersion}; ` +
            `tongs needs API ${MIN_API_VERSION} or newer (Docker Engine 20.10, Podman 3); upgrade the engine`,
          { kind: 'too-old' },
        );
      }
      return info;
    })();
    return this.info;
  }

  /**
   * Wraps an engine failure: no engine reachable or usable (kind set: see launcher/errors.ts), or the
   * engine's own message after `what` (kind `engine`).
   */
  private fail(what: string, err: unknown): DockerError {
    if (err instanceof DockerError) return err;
    const e = err as EngineError & { level?: string };
    const code = e.code ?? '';
    if (e.statusCode === undefined && code) {
      const { where, hint } = engineWords(this.engine);
      let kind: DockerFailureKind | null = null;
      let message = '';
      if (code === 'EACCES' || code === 'EPERM') {
        kind = 'permission';
        message =
          `permission denied on ${where}: this user may not use that engine; join its group (\`sudo usermod -aG docker $USER\`, ` +
          `then log in again), or use a rootless engine's socket (DOCKER_HOST=unix://$XDG_RUNTIME_DIR/docker.sock, ` +
          `or unix://$XDG_RUNTIME_DIR/podman/podman.sock for Podman)`;
      } else if (isTlsFailure(code)) {
        kind = 'config';
        message = `TLS with the engine at ${where} failed (${code}: ${e.message ?? ''}); check its certificates (DOCKER_CERT_PATH, or the context's TLS material)`;
      } else if (UNREACHABLE_CODES.has(code)) {
        kind = 'unreachable';
        message = `no Docker engine answers at ${where} (${code}); ${hint}`;
      }
      if (kind) return new DockerError(message, { kind, cause: err });
    }
    if (code === 'ESSHDIAL') {
      const detail = (err as SshDialError).detail.replace(/\.$/, '');
      const refused = /permission denied|host key verification failed|authentication/i.test(detail);
      return new DockerError(
        `ssh to ${this.describeEngine()} failed: ${detail}` +
          (refused
            ? '; `ssh` itself must log in without a prompt (a key in your agent or ~/.ssh/config) and know the host key (~/.ssh/known_hosts)'
            : ''),
        { kind: refused ? 'permission' : 'unreachable', cause: err },
      );
    }
    return new DockerError(`${what}: ${engineMessage(err)}`, { cause: err, kind: engineKind(e.statusCode, engineMessage(err)) });
  }

  /**
   * Run one engine call. The engine's version check runs alongside the first call and is awaited by
   * every call, so an engine that is too old (or unreachable) fails the same way whatever was asked.
   */
  private async call<T>(what: string, fn: () => Promise<T>, okStatuses: number[] = []): Promise<T | undefined> {
    const checked = this.engineInfo();
    checked.catch(() => {});
    let result: T | undefined;
    let failure: unknown = null;
    try {
      result = await fn();
    } catch (err) {
      failure = err ?? new Error('unknown failure');
    }
    await checked;
    if (failure === null) return result;
    if (okStatuses.includes(statusOf(failure) ?? -1)) return undefined;
    throw this.fail(what, failure);
  }

  async ping(): Promise<void> {
    await this.call('Docker engine ping failed', () => this.docker.ping());
  }

  async createNetwork(name: string, labels: Record<string, string>, options: { internal?: boolean } = {}): Promise<string> {
    const net = await this.call(`cannot create network ${name}`, () =>
      this.docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: labels, Internal: options.internal === true }),
    );
    return net!.id;
  }

  memoryLimitsEnforced(): Promise<{ enforced: boolean; why: string }> {
    this.memoryLimits ??= (async () => {
      const yes = { enforced: true, why: '' };
      try {
        if ((await this.engineInfo()).podman) {
          const info = await this.libpod<{ host?: { security?: { rootless?: boolean }; cgroupVersion?: string; cgroupControllers?: string[] } }>('/info');
          const host = info.host ?? {};
          if (!host.security?.rootless || (host.cgroupControllers ?? []).includes('memory')) return yes;
          return { enforced: false, why: `rootless Podman on cgroup ${host.cgroupVersion ?? '?'} without the memory controller` };
        }
        const info = (await this.docker.info()) as { MemoryLimit?: boolean; CgroupVersion?: string; SecurityOptions?: string[] };
        if (info.MemoryLimit === false) return { enforced: false, why: 'the engine reports no memory limit support (docker info: MemoryLimit false)' };
        const rootless = (info.SecurityOptions ?? []).some((o) => /name=rootless/.test(o));
        if (rootless && info.CgroupVersion === '1') return { enforced: false, why: 'rootless Docker on cgroup v1' };
        return yes;
      } catch {
        return yes;
      }
    })();
    return this.memoryLimits;
  }

  /** A Podman-only libpod API call (`/v4.0.0/libpod…`): see the module comment for where it is needed. */
  private libpod<T>(path: string): Promise<T> {
    return new Promise((resolve, reject) =>
      this.docker.modem.dial(
        { path: `/v4.0.0/libpod${path}`, method: 'GET', statusCodes: { 200: true, 404: 'no such object', 409: 'conflict', 500: 'server error' }, options: {} },
        (err: unknown, data: unknown) => (err ? reject(err) : resolve(data as T)),
      ),
    );
  }

  async connectNetwork(network: string, container: string, aliases: string[]): Promise<void> {
    try {
      await this.docker.getNetwork(network).connect({ Container: container, EndpointConfig: { Aliases: aliases } });
    } catch (err) {
      // Already attached is success: Docker 403 "endpoint … already exists in network", Podman 500
      // "… is already connected to network …".
      const status = statusOf(err);
      if ((status === 403 || status === 500) && /already (exists|connected)/i.test(engineMessage(err))) return;
      throw this.fail(`cannot connect ${container} to network ${network}`, err);
    }
  }

  async disconnectNetwork(network: string, container: string): Promise<void> {
    try {
      await this.docker.getNetwork(network).disconnect({ Container: container, Force: true });
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) return;
      // "container … is not connected to network …"
      if (status === 403 || status === 500) {
        if (/not connected|no such|not found/i.test(engineMessage(err))) return;
      }
      throw this.fail(`cannot disconnect ${container} from network ${network}`, err);
    }
  }

  async removeNetwork(network: string): Promise<void> {
    await this.call(`cannot remove network ${network}`, () => this.docker.getNetwork(network).remove(), [404]);
  }

  async listNetworks(filter: LabelFilter): Promise<NetworkSummary[]> {
    const nets = (await this.call('cannot list networks', () =>
      this.docker.listNetworks({ filters: labelFilters(filter) }),
    ))!;
    return nets.map((n) => ({ id: n.Id, name: n.Name, labels: n.Labels ?? {}, created: n.Created }));
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    await this.call(`cannot create volume ${name}`, () => this.docker.createVolume({ Name: name, Driver: 'local', Labels: labels }));
  }

  async removeVolume(name: string): Promise<void> {
    await this.call(`cannot remove volume ${name}`, () => this.docker.getVolume(name).remove({ force: true }), [404]);
  }

  async listVolumes(filter: LabelFilter): Promise<{ name: string; labels: Record<string, string> }[]> {
    const out = (await this.call('cannot list volumes', () => this.docker.listVolumes({ filters: labelFilters(filter) })))!;
    return (out.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
  }

  /** The spec's extra hosts in the engine's terms (see the module comment on Podman and host-gateway). */
  private async extraHostsOf(spec: ContainerSpec): Promise<string[]> {
    const hosts = spec.extraHosts ?? [];
    if (!hosts.some((h) => h.endsWith(':host-gateway')) || !spec.network || !(await this.engineInfo()).podman) return hosts;
    const net = (await this.call(`cannot inspect network ${spec.network.name}`, () => this.docker.getNetwork(spec.network!.name).inspect())) as
      | { IPAM?: { Config?: { Gateway?: string }[] } }
      | undefined;
    const gateway = net?.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
    if (!gateway) throw new DockerError(`network ${spec.network.name} has no gateway address to stand for host-gateway`, { kind: 'engine' });
    return hosts.map((h) => (h.endsWith(':host-gateway') ? `${h.slice(0, -'host-gateway'.length)}${gateway}` : h));
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const extraHosts = await this.extraHostsOf(spec);
    const mounts: Docker.MountSettings[] = spec.mounts.map((m) =>
      m.type === 'tmpfs'
        ? {
            Type: 'tmpfs',
            Source: '',
            Target: m.target,
            TmpfsOptions: {
              ...(m.sizeBytes !== undefined ? { SizeBytes: m.sizeBytes } : {}),
              ...(m.mode !== undefined ? { Mode: m.mode } : {}),
            } as Docker.MountSettings['TmpfsOptions'],
          }
        : { Type: m.type, Source: m.source, Target: m.target, ReadOnly: m.readOnly },
    );
    const options: Docker.ContainerCreateOptions = {
      Image: spec.image,
      Labels: spec.labels,
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      HostConfig: {
        Mounts: mounts,
        AutoRemove: spec.autoRemove ?? false,
        ...(spec.memoryBytes !== null ? { Memory: spec.memoryBytes } : {}),
        ...(extraHosts.length > 0 ? { ExtraHosts: extraHosts } : {}),
        ...(spec.networkContainer ? { NetworkMode: `container:${spec.networkContainer}` } : spec.network ? { NetworkMode: spec.network.name } : {}),
        ...(spec.capDrop && spec.capDrop.length > 0 ? { CapDrop: spec.capDrop } : {}),
      },
      ...(spec.name !== null ? { name: spec.name } : {}),
      ...(spec.entrypoint !== null ? { Entrypoint: spec.entrypoint } : {}),
      ...(spec.command !== null ? { Cmd: spec.command } : {}),
      ...(spec.user ? { User: spec.user } : {}),
      ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
      ...(spec.openStdin
        ? { OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true }
        : {}),
      ...(spec.network
        ? { NetworkingConfig: { EndpointsConfig: { [spec.network.name]: { Aliases: spec.network.aliases } } } }
        : {}),
    };
    const what = `cannot create container ${spec.name ?? ''} from image ${spec.image}`.replace('  ', ' ');
    const container = await this.call(what, () => this.docker.createContainer(options));
    return container!.id;
  }

  async startContainer(id: string): Promise<void> {
    // 304: already started.
    await this.call(`cannot start container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).start(), [304]);
  }

  async attach(id: string, options: { stdin: boolean }): Promise<AttachedStreams> {
    const wantStdin = options.stdin;
    const raw = (await this.call(`cannot attach to container ${id.slice(0, 12)}`, () =>
      new Promise<NodeJS.ReadWriteStream>((resolve, reject) =>
        // Not dockerode's attach(): it sends its options as a JSON body, which Podman feeds to the
        // container's stdin. An empty body (Content-Length: 0) still sends the headers at once, which
        // a hijacked request with no body at all would not (see the module comment).
        this.docker.modem.dial(
          {
            path: `/containers/${encodeURIComponent(id)}/attach?`,
            method: 'POST',
            isStream: true,
            hijack: wantStdin,
            openStdin: wantStdin,
            statusCodes: { 200: true, 404: 'no such container', 409: 'conflict', 500: 'server error' },
            options: { stream: true, stdin: wantStdin, stdout: true, stderr: true },
            file: Buffer.alloc(0),
          },
          (err: unknown, stream: unknown) => (err ? reject(err) : resolve(stream as NodeJS.ReadWriteStream)),
        ),
      ),
    )) as NodeJS.ReadWriteStream;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.docker.modem.demuxStream(raw, stdout, stderr);
    const finish = () => {
      stdout.end();
      stderr.end();
    };
    raw.on('end', finish);
    raw.on('close', finish);
    raw.on('error', finish);
    // The hijacked socket: end() half-closes it, which the engine turns into EOF on the process's stdin.
    return { stdout, stderr, stdin: wantStdin ? (raw as unknown as Duplex) : null };
  }

  async waitContainer(id: string): Promise<number> {
    const result = (await this.call(`cannot wait for container ${id.slice(0, 12)}`, () =>
      this.docker.getContainer(id).wait(),
    )) as { StatusCode: number };
    return result.StatusCode;
  }

  async exec(id: string, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const wantStdin = options.stdin !== undefined;
    const what = `cannot exec ${JSON.stringify(argv[0] ?? '')} in container ${id.slice(0, 12)}`;
    const exec = (await this.call(what, () =>
      this.docker.getContainer(id).exec({
        Cmd: argv,
        AttachStdin: wantStdin,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        ...(options.env ? { Env: Object.entries(options.env).map(([k, v]) => `${k}=${v}`) } : {}),
        ...(options.user ? { User: options.user } : {}),
      }),
    ))!;
    const stream = (await this.call(what, () =>
      exec.start({ hijack: true, stdin: wantStdin, Detach: false, Tty: false }),
    )) as Duplex;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.on('data', (c: Buffer) => out.push(c));
    stderr.on('data', (c: Buffer) => err.push(c));
    this.docker.modem.demuxStream(stream, stdout, stderr);
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    if (wantStdin) stream.end(options.stdin);
    let timer: NodeJS.Timeout | undefined;
    try {
      await (options.timeoutMs === undefined
        ? ended
        : Promise.race([
            ended,
            new Promise<never>((_, reject) => {
              timer = setTimeout(
                () => reject(new DockerError(`${what}: no exit after ${options.timeoutMs} ms`)),
                options.timeoutMs,
              );
            }),
          ]));
    } catch (e) {
      stream.destroy();
      if (e instanceof DockerError) throw e;
      throw this.fail(what, e);
    } finally {
      clearTimeout(timer);
    }
    const info = (await this.call(what, () => exec.inspect()))!;
    return {
      exitCode: info.ExitCode ?? -1,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    };
  }

  /**
   * The HEALTHCHECK status. On Podman a running container that is not yet healthy gets its healthcheck
   * run now (no systemd timer would run it: see the module comment).
   */
  private async healthOf(id: string, running: boolean, status: string | null): Promise<string | null> {
    if (status === null || status === 'healthy' || !running || !(await this.engineInfo()).podman) return status;
    try {
      const r = await this.libpod<{ Status?: string }>(`/containers/${encodeURIComponent(id)}/healthcheck`);
      return r.Status || status;
    } catch {
      return status; // gone or stopped meanwhile: the caller sees it on its next look
    }
  }

  async inspectContainer(idOrName: string): Promise<ContainerInfo | null> {
    const info = await this.call(`cannot inspect container ${idOrName}`, () =>
      this.docker.getContainer(idOrName).inspect(),
    [404]);
    if (!info) return null;
    const networks: ContainerInfo['networks'] = {};
    for (const [name, ep] of Object.entries(info.NetworkSettings?.Networks ?? {})) {
      const endpoint = ep as { Aliases?: string[] | null; IPAddress?: string };
      networks[name] = { aliases: endpoint.Aliases ?? [], address: endpoint.IPAddress || null };
    }
    return {
      id: info.Id,
      name: info.Name.replace(/^\//, ''),
      image: info.Config.Image,
      labels: info.Config.Labels ?? {},
      status: info.State.Status,
      running: info.State.Running,
      exitCode: info.State.ExitCode,
      health: await this.healthOf(info.Id, info.State.Running, info.State.Health?.Status ?? null),
      networks,
      created: info.Created,
    };
  }

  async stopContainer(id: string, timeoutSec: number): Promise<void> {
    await this.call(`cannot stop container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).stop({ t: timeoutSec }), [
      304,
      404,
    ]);
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) return;
      // 409 "removal of container … is already in progress" (AutoRemove racing us): it is going away.
      if (status === 409 && /already in progress/i.test(engineMessage(err))) return;
      throw this.fail(`cannot remove container ${id.slice(0, 12)}`, err);
    }
  }

  async listContainers(filter: LabelFilter): Promise<ContainerSummary[]> {
    const rows = (await this.call('cannot list containers', () =>
      this.docker.listContainers({ all: true, filters: labelFilters(filter) }),
    ))!;
    return rows.map((r) => ({
      id: r.Id,
      name: (r.Names[0] ?? '').replace(/^\//, ''),
      image: r.Image,
      labels: r.Labels ?? {},
      state: r.State,
      status: r.Status,
      created: r.Created,
      networks: Object.keys(r.NetworkSettings?.Networks ?? {}),
    }));
  }

  async logs(id: string, tail: number): Promise<string> {
    const buf = await this.call(
      `cannot read logs of container ${id.slice(0, 12)}`,
      () => this.docker.getContainer(id).logs({ stdout: true, stderr: true, tail, follow: false }),
      [404],
    );
    if (!buf) return '';
    // Non-TTY logs are multiplexed: 8-byte frame headers before each chunk.
    const parts: Buffer[] = [];
    let rest = buf as Buffer;
    while (rest.length >= 8 && rest[0]! <= 2 && rest[1] === 0) {
      const len = rest.readUInt32BE(4);
      parts.push(rest.subarray(8, 8 + len));
      rest = rest.subarray(8 + len);
    }
    if (rest.length) parts.push(rest);
    return Buffer.concat(parts).toString('utf8');
  }

  async inspectImage(name: string): Promise<ImageInfo | null> {
    const info = await this.call(`cannot inspect image ${name}`, () => this.docker.getImage(name).inspect(), [404]);
    if (!info) return null;
    let test = info.Config?.Healthcheck?.Test ?? [];
    if (test.length === 0 && (await this.engineInfo()).podman) {
      // Podman's compat inspect omits Config.Healthcheck (see the module comment).
      const libpod = await this.call(`cannot inspect image ${name}`, () => this.libpod<{ Healthcheck?: { Test?: string[] } }>(`/images/${encodeURIComponent(name)}/json`), [404]);
      test = libpod?.Healthcheck?.Test ?? [];
    }
    return {
      id: info.Id,
      entrypoint: (info.Config?.Entrypoint as string[] | null | undefined) ?? null,
      command: (info.Config?.Cmd as string[] | null | undefined) ?? null,
      hasHealthcheck: test.length > 0 && test[0] !== 'NONE',
      labels: info.Config?.Labels ?? {},
    };
  }

  async buildImage(
    contextDir: string,
    tag: string,
    options: {
      buildArgs?: Record<string, string>;
      labels?: Record<string, string>;
      onProgress?: (event: BuildProgress) => void;
      signal?: AbortSignal;
    },
  ): Promise<void> {
    const what = `cannot build image ${tag} from ${contextDir}`;
    let entries: string[];
    try {
      entries = readdirSync(contextDir);
    } catch (err) {
      throw new DockerError(`${what}: ${(err as Error).message}`, { cause: err });
    }
    const stream = (await this.call(what, () =>
      this.docker.buildImage(
        { context: contextDir, src: entries },
        {
          t: tag,
          rm: true,
          forcerm: true,
          ...(options.buildArgs ? { buildargs: options.buildArgs } : {}),
          ...(options.labels ? { labels: options.labels } : {}),
          ...(options.signal ? { abortSignal: options.signal } : {}),
        },
      ),
    )) as NodeJS.ReadableStream;
    // Follow the stream to the end (STYLE.md: dockerode README `modem.followProgress`); a failed step
    // arrives as an `error` event inside a 200 response, not as an HTTP error.
    let failure: string | null = null;
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null) => (err ? reject(this.fail(what, err)) : resolve()),
        (event: { stream?: string; status?: string; error?: string; errorDetail?: { message?: string } }) => {
          if (event.error || event.errorDetail) {
            failure = event.errorDetail?.message ?? event.error ?? 'unknown error';
            return;
          }
          const text = (event.stream ?? event.status ?? '').replace(/\n+$/, '');
          // Podman's `STEP 2/5: X` in Docker's form `Step 2/5 : X` (see the module comment).
          if (text.trim()) for (const line of text.split('\n')) options.onProgress?.({ line: line.replace(/^STEP (\d+\/\d+): /, 'Step $1 : ') });
        },
      );
    });
    if (failure !== null) throw new DockerError(`${what}: ${(failure as string).trim()}`);
  }

  async removeImage(name: string): Promise<void> {
    await this.call(`cannot remove image ${name}`, () => this.docker.getImage(name).remove({ force: true }), [404]);
  }
}

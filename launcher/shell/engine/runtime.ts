/**
 * The narrow runtime interface the shell uses to talk to a container engine (STYLE.md: testcontainers
 * `container-client.ts`). One implementation talks to Docker through dockerode
 * (launcher/shell/engine/docker-runtime.ts, the only module that imports it); test/fakes/fake-runtime.ts is a
 * hand-written fake for unit tests of the session logic.
 *
 * Rules every implementation follows (issue #3, DESIGN.md "Wiring a session"):
 * - removing or stopping something that is already gone or stopped is success (idempotent teardown);
 * - failures are thrown as `DockerError` with a sentence naming the object and the engine's message;
 * - nothing is ever pulled: an absent image is built from its context or reported.
 */
import type { Readable, Writable } from 'node:stream';

/** A mount in engine terms. `tmpfs` has no source (used by secret delivery, issue #6). */
export type MountSpec =
  | { type: 'bind' | 'volume'; source: string; target: string; readOnly: boolean }
  | { type: 'tmpfs'; target: string; sizeBytes?: number; mode?: number };

/** Everything needed to create one container. */
export interface ContainerSpec {
  /** Container name; null lets the engine pick one. */
  name: string | null;
  image: string;
  labels: Record<string, string>;
  /** Plain environment. Never put a secret here (it shows in `docker inspect`, issue #6). */
  env: Record<string, string>;
  /** Overrides the image ENTRYPOINT when non-null. */
  entrypoint: string[] | null;
  /** Overrides the image CMD when non-null. */
  command: string[] | null;
  mounts: MountSpec[];
  /** Memory limit in bytes, or null for none. */
  memoryBytes: number | null;
  /** Extra /etc/hosts entries, `NAME:ADDRESS` (`host-gateway` allowed), as docker run --add-host. */
  extraHosts?: string[];
  /** The one network joined at create time (engine API 1.41 takes only one), with its DNS aliases. */
  network: { name: string; aliases: string[] } | null;
  /**
   * Join this container's network namespace instead (Docker's `--network container:ID`; it must be
   * running when this one starts). `network` must then be null and `extraHosts` empty: the engine
   * refuses both beside it.
   */
  networkContainer?: string;
  /** Capabilities removed from the engine's default set, e.g. `NET_RAW` (`docker run --cap-drop`). */
  capDrop?: string[];
  /** Keep stdin open so `attach` can write to it (the readiness probe reads its instructions there). */
  openStdin?: boolean;
  /** The engine removes the container when it exits. */
  autoRemove?: boolean;
  /** `user[:group]` the main process runs as; null keeps the image's. */
  user?: string | null;
  /** Working directory; null keeps the image's. */
  workingDir?: string | null;
}

/** The parts of `docker inspect <container>` the shell reads. */
export interface ContainerInfo {
  id: string;
  /** Without the leading slash. */
  name: string;
  image: string;
  labels: Record<string, string>;
  /** `created`, `running`, `exited`, … */
  status: string;
  running: boolean;
  exitCode: number;
  /** HEALTHCHECK status (`starting`, `healthy`, `unhealthy`) or null when the image has none. */
  health: string | null;
  /**
   * Names of the networks the container is attached to, with the aliases it has on each and its
   * IPv4 address there (null until it has one: an engine assigns it at start).
   */
  networks: Record<string, { aliases: string[]; address: string | null }>;
  /** ISO 8601. */
  created: string;
}

/** One row of a container listing (`docker ps -a` filtered by label). */
export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  /** `created`, `running`, `exited`, … */
  state: string;
  /** Human status, e.g. `Up 3 seconds`. */
  status: string;
  /** Seconds since the epoch. */
  created: number;
  /** Names of the networks the container is attached to. */
  networks: string[];
}

export interface NetworkSummary {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** ISO 8601. */
  created: string;
}

/** The parts of `docker image inspect` the shell reads. */
export interface ImageInfo {
  id: string;
  entrypoint: string[] | null;
  command: string[] | null;
  /** True when the image declares a HEALTHCHECK (other than NONE). */
  hasHealthcheck: boolean;
  labels: Record<string, string>;
}

export interface ExecOptions {
  /** Bytes written to the process's stdin, then stdin is closed. */
  stdin?: Buffer | string;
  env?: Record<string, string>;
  user?: string;
  /** Give up (DockerError) after this many milliseconds; the process keeps running in the container. */
  timeoutMs?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The demultiplexed output streams of an attached (non-TTY) container, and its stdin when asked for. */
export interface AttachedStreams {
  stdout: Readable;
  stderr: Readable;
  /** Writes go to the process's stdin; `end()` closes it (the process sees EOF). Null unless requested. */
  stdin: Writable | null;
}

/** One event of an image build's progress stream, reduced to a line for people. */
export interface BuildProgress {
  /** A line of build output (`Step 2/5 : COPY …`), without the trailing newline. */
  line: string;
}

/** A label filter: every key must be present; a string value must match exactly. */
export type LabelFilter = Record<string, string | true>;

/** What the engine says it is (`GET /version`). */
export interface EngineInfo {
  /** `Docker Engine` or `Podman`. */
  name: string;
  /** The product version, e.g. `20.10.24` or `4.3.1`. */
  version: string;
  /** The Engine API version it speaks, e.g. `1.41`. */
  apiVersion: string;
  podman: boolean;
}

export interface ContainerRuntime {
  /**
   * Which engine this is, for messages: `DOCKER_HOST=…`, `unix:///var/run/docker.sock (the default
   * socket)`, `unix:///… (docker context 'colima')` (launcher/shell/engine/engine.ts chooses it).
   */
  describeEngine(): string;
  /**
   * How to run a `docker …` CLI argv (the anvil's) against this same engine: environment changes
   * (undefined = remove; `DOCKER_HOST`, or `DOCKER_CONTEXT` for a context) and the argv adjusted for
   * what the engine needs (see the implementation). The session's teardown removes the anvil by its
   * label whatever the argv says.
   */
  dockerCliCommand(argv: readonly string[]): { argv: string[]; env: Record<string, string | undefined> };
  /** What the engine is; asked once. Throws DockerError (kind `too-old` below the API tongs needs). */
  engineInfo(): Promise<EngineInfo>;
  /**
   * Whether the engine enforces a container's memory limit, or accepts and ignores it: a rootless
   * engine without the cgroup memory controller (rootless Podman on cgroup v1, or on v2 without
   * delegation; rootless Docker on cgroup v1) runs the container unlimited, with no error. Asked once.
   * Never throws: an engine that cannot say is taken to enforce limits.
   */
  memoryLimitsEnforced(): Promise<{ enforced: boolean; why: string }>;
  /** Throws DockerError naming the engine when it does not answer. */
  ping(): Promise<void>;

  /**
   * Creates a bridge network; returns its id. `internal`: Docker's `--internal`, no route out of the
   * network (its containers still resolve each other's aliases). A name already taken is a DockerError.
   */
  createNetwork(name: string, labels: Record<string, string>, options?: { internal?: boolean }): Promise<string>;
  /** Attaches a running or created container to a network under DNS aliases. Already attached = success. */
  connectNetwork(network: string, container: string, aliases: string[]): Promise<void>;
  /** Detaches (forcibly). Not attached, or either side gone = success. */
  disconnectNetwork(network: string, container: string): Promise<void>;
  /** Removes a network. Already gone = success. */
  removeNetwork(network: string): Promise<void>;
  listNetworks(filter: LabelFilter): Promise<NetworkSummary[]>;

  /** Creates a local volume (the relay's socket dir, DESIGN.md "The seal" rule 5). An existing one is success. */
  createVolume(name: string, labels: Record<string, string>): Promise<void>;
  /** Removes a volume. Already gone = success. */
  removeVolume(name: string): Promise<void>;
  /** Names of the volumes whose labels match. */
  listVolumes(filter: LabelFilter): Promise<{ name: string; labels: Record<string, string> }[]>;

  /** Creates (does not start) a container; returns its id. */
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  /**
   * Attaches to a created container's stdio (before it starts, so no output is lost). With
   * `stdin: true` (needs `openStdin` in its spec) the returned `stdin` feeds the process.
   */
  attach(id: string, options: { stdin: boolean }): Promise<AttachedStreams>;
  /** Resolves with the exit status once the container stops. */
  waitContainer(id: string): Promise<number>;
  /** Runs `argv` inside a running container and waits for it to exit. */
  exec(id: string, argv: string[], options?: ExecOptions): Promise<ExecResult>;
  /** Returns null when no such container exists. */
  inspectContainer(idOrName: string): Promise<ContainerInfo | null>;
  /** Stops with SIGTERM, then SIGKILL after `timeoutSec`. Already stopped or gone = success. */
  stopContainer(id: string, timeoutSec: number): Promise<void>;
  /** Force-removes a container (and its anonymous volumes). Already gone = success. */
  removeContainer(id: string): Promise<void>;
  /** All containers (running or not) whose labels match. */
  listContainers(filter: LabelFilter): Promise<ContainerSummary[]>;
  /** The last `tail` lines of the container's stdout and stderr, interleaved. */
  logs(id: string, tail: number): Promise<string>;

  /** Returns null when the image is not present locally. Never pulls. */
  inspectImage(name: string): Promise<ImageInfo | null>;
  /**
   * Builds `contextDir` (its Dockerfile) and tags it `tag`, following the progress stream to the end.
   * `buildArgs` become `--build-arg`s. A failed step is a DockerError carrying the engine's message.
   */
  buildImage(
    contextDir: string,
    tag: string,
    options: {
      buildArgs?: Record<string, string>;
      labels?: Record<string, string>;
      onProgress?: (event: BuildProgress) => void;
      signal?: AbortSignal;
    },
  ): Promise<void>;
  /** Removes an image. Already gone = success. */
  removeImage(name: string): Promise<void>;
}

/** True when the image is present locally. */
export async function imageExists(runtime: ContainerRuntime, name: string): Promise<boolean> {
  return (await runtime.inspectImage(name)) !== null;
}

/** Does a label set satisfy a filter? Shared by the fake and by callers that filter client-side. */
export function matchesLabels(labels: Record<string, string>, filter: LabelFilter): boolean {
  for (const [key, want] of Object.entries(filter)) {
    const have = labels[key];
    if (have === undefined) return false;
    if (want !== true && have !== want) return false;
  }
  return true;
}

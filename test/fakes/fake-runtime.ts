/**
 * A hand-written in-memory ContainerRuntime for unit tests of the session logic (STYLE.md:
 * testcontainers' container-client fake). It keeps containers, networks and images, records every call,
 * follows the real runtime's idempotency rules (removing a missing object is success), and lets a test
 * script the engine: exec results, HEALTHCHECK states, exits, failures and delays.
 */
import { PassThrough } from 'node:stream';
import { DockerError } from '../../launcher/errors.js';
import {
  matchesLabels,
  type AttachedStreams,
  type BuildProgress,
  type ContainerInfo,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerSummary,
  type EngineInfo,
  type ExecOptions,
  type ExecResult,
  type ImageInfo,
  type LabelFilter,
  type NetworkSummary,
} from '../../launcher/shell/engine/runtime.js';

export interface FakeContainer {
  id: string;
  spec: ContainerSpec;
  state: 'created' | 'running' | 'exited';
  exitCode: number;
  health: string | null;
  /** network name → aliases */
  networks: Map<string, string[]>;
  created: number;
  /** Resolvers of pending waitContainer calls. */
  waiters: Array<(code: number) => void>;
  logs: string;
}

export interface FakeNetwork {
  id: string;
  name: string;
  labels: Record<string, string>;
}

export interface FakeCall {
  op: string;
  args: unknown[];
}

let counter = 0;
const newId = () => (++counter).toString(16).padStart(12, '0') + 'f'.repeat(52);

export class FakeRuntime implements ContainerRuntime {
  readonly containers = new Map<string, FakeContainer>();
  readonly networks = new Map<string, FakeNetwork>();
  readonly images = new Map<string, ImageInfo>();
  /** Volume name → labels. */
  readonly volumes = new Map<string, Record<string, string>>();
  readonly calls: FakeCall[] = [];
  /** Milliseconds each create/start takes (to observe parallelism). */
  delayMs = 0;
  /** Highest number of createContainer calls in flight at once. */
  maxConcurrentCreates = 0;
  private inFlight = 0;
  /** exec(containerName, argv) → result; default exit 0. */
  execHandler: (container: FakeContainer, argv: string[], options: ExecOptions) => ExecResult | Promise<ExecResult> = () => ({
    exitCode: 0,
    stdout: '',
    stderr: '',
  });
  /** Called on start; may set health, exit the container, etc. */
  onStart: (container: FakeContainer) => void = () => {};
  /** What the in-network probe container reports, per target tong (default: ready). */
  probeOutcome: (target: { tong: string; mode: string; token?: string }) => Record<string, unknown> = (t) => ({
    tong: t.tong,
    ready: true,
    ms: 1,
  });
  /** Stdin payloads written to attached containers, by container id. */
  readonly attachedStdin = new Map<string, string>();
  /** Build contexts built, by tag. */
  readonly builds: Array<{ context: string; tag: string; buildArgs?: Record<string, string> }> = [];
  /** Ops that should fail: op name → message (a DockerError of kind `engine`), or the error to throw. */
  readonly failures = new Map<string, string | Error>();

  constructor(images: string[] = []) {
    for (const name of images) this.addImage(name);
  }

  addImage(name: string, info: Partial<ImageInfo> = {}): void {
    this.images.set(name, {
      id: `sha256:${name}`,
      entrypoint: ['/entry'],
      command: ['serve'],
      hasHealthcheck: false,
      labels: {},
      ...info,
    });
  }

  private record(op: string, ...args: unknown[]): void {
    this.calls.push({ op, args });
    const fail = this.failures.get(op);
    if (fail) throw typeof fail === 'string' ? new DockerError(fail) : fail;
  }

  private sleep(): Promise<void> {
    return this.delayMs ? new Promise((r) => setTimeout(r, this.delayMs)) : Promise.resolve();
  }

  private find(idOrName: string): FakeContainer | undefined {
    return (
      this.containers.get(idOrName) ??
      [...this.containers.values()].find((c) => c.spec.name === idOrName || c.id.startsWith(idOrName))
    );
  }

  /** Containers whose spec name or label tong matches. */
  byName(name: string): FakeContainer | undefined {
    return [...this.containers.values()].find((c) => c.spec.name === name);
  }

  /** Make a container exit with `code` (resolving its waiters; AutoRemove removes it). */
  exit(container: FakeContainer, code: number): void {
    container.state = 'exited';
    container.exitCode = code;
    for (const w of container.waiters.splice(0)) w(code);
    if (container.spec.autoRemove) this.containers.delete(container.id);
  }

  describeEngine(): string {
    return 'fake://engine';
  }
  dockerCliCommand(argv: readonly string[]): { argv: string[]; env: Record<string, string | undefined> } {
    return { argv: [...argv], env: {} };
  }
  async engineInfo(): Promise<EngineInfo> {
    return { name: 'Fake Engine', version: '0', apiVersion: '1.41', podman: false };
  }
  /** Set to make the fake an engine that ignores memory limits (with this reason). */
  ignoresMemoryLimits: string | null = null;
  async memoryLimitsEnforced(): Promise<{ enforced: boolean; why: string }> {
    return this.ignoresMemoryLimits ? { enforced: false, why: this.ignoresMemoryLimits } : { enforced: true, why: '' };
  }
  async ping(): Promise<void> {
    this.record('ping');
  }

  async createNetwork(name: string, labels: Record<string, string>, options: { internal?: boolean } = {}): Promise<string> {
    this.record('createNetwork', name, labels, options);
    if ([...this.networks.values()].some((n) => n.name === name)) throw new DockerError(`network with name ${name} already exists`, { kind: 'conflict' });
    const id = newId();
    this.networks.set(id, { id, name, labels });
    return id;
  }
  private net(name: string): FakeNetwork | undefined {
    return this.networks.get(name) ?? [...this.networks.values()].find((n) => n.name === name);
  }
  async connectNetwork(network: string, container: string, aliases: string[]): Promise<void> {
    this.record('connectNetwork', network, container, aliases);
    const c = this.find(container);
    if (!c || !this.net(network)) throw new DockerError(`no such container or network`);
    c.networks.set(this.net(network)!.name, aliases);
  }
  async disconnectNetwork(network: string, container: string): Promise<void> {
    this.record('disconnectNetwork', network, container);
    this.find(container)?.networks.delete(network);
  }
  async removeNetwork(network: string): Promise<void> {
    this.record('removeNetwork', network);
    const n = this.net(network);
    if (!n) return;
    const attached = [...this.containers.values()].filter((c) => c.networks.has(n.name));
    if (attached.length) throw new DockerError(`error while removing network: network ${n.name} has active endpoints`, { kind: 'in-use' });
    this.networks.delete(n.id);
  }
  async listNetworks(filter: LabelFilter): Promise<NetworkSummary[]> {
    this.record('listNetworks', filter);
    return [...this.networks.values()]
      .filter((n) => matchesLabels(n.labels, filter))
      .map((n) => ({ id: n.id, name: n.name, labels: n.labels, created: new Date(0).toISOString() }));
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    this.record('createVolume', name, labels);
    if (!this.volumes.has(name)) this.volumes.set(name, labels);
  }
  async removeVolume(name: string): Promise<void> {
    this.record('removeVolume', name);
    this.volumes.delete(name);
  }
  async listVolumes(filter: LabelFilter): Promise<{ name: string; labels: Record<string, string> }[]> {
    this.record('listVolumes', filter);
    return [...this.volumes].filter(([, labels]) => matchesLabels(labels, filter)).map(([name, labels]) => ({ name, labels }));
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    this.record('createContainer', spec);
    this.inFlight++;
    this.maxConcurrentCreates = Math.max(this.maxConcurrentCreates, this.inFlight);
    try {
      await this.sleep();
      if (!this.images.has(spec.image)) throw new DockerError(`No such image: ${spec.image}`);
      if (spec.name && this.byName(spec.name)) throw new DockerError(`Conflict. The container name "/${spec.name}" is already in use`, { kind: 'conflict' });
      const id = newId();
      const networks = new Map<string, string[]>();
      if (spec.network) networks.set(spec.network.name, spec.network.aliases);
      this.containers.set(id, {
        id,
        spec,
        state: 'created',
        exitCode: 0,
        health: null,
        networks,
        created: Math.floor(Date.now() / 1000),
        waiters: [],
        logs: '',
      });
      return id;
    } finally {
      this.inFlight--;
    }
  }
  async startContainer(id: string): Promise<void> {
    this.record('startContainer', id);
    await this.sleep();
    const c = this.find(id);
    if (!c) throw new DockerError(`No such container: ${id}`);
    if (c.state === 'running') return;
    // As Docker: a container joining another's network namespace starts only while that one runs.
    if (c.spec.networkContainer && this.find(c.spec.networkContainer)?.state !== 'running') {
      throw new DockerError(`cannot join network of a non running container: ${c.spec.networkContainer}`);
    }
    c.state = 'running';
    if (this.images.get(c.spec.image)?.hasHealthcheck) c.health = 'starting';
    this.onStart(c);
    if (this.isProbe(c)) this.runProbe(c);
  }
  private isProbe(c: FakeContainer): boolean {
    return c.spec.entrypoint?.[0] === 'node' && c.spec.command?.[0] === '-e';
  }
  /** The probe container, once running with its stdin closed: answer each target from `probeOutcome`, then exit. */
  private runProbe(c: FakeContainer): void {
    const stdin = this.attachedStdin.get(c.id);
    const out = this.probeOut.get(c.id);
    if (stdin === undefined || !out || c.state !== 'running') return;
    const { targets } = JSON.parse(stdin) as { targets: Array<{ tong: string; mode: string; token?: string }> };
    setImmediate(() => {
      for (const t of targets) out.write(`${JSON.stringify(this.probeOutcome(t))}\n`);
      out.end();
      this.exit(c, 0);
    });
  }
  private readonly probeOut = new Map<string, PassThrough>();
  async attach(id: string, options: { stdin: boolean }): Promise<AttachedStreams> {
    this.record('attach', id);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.probeOut.set(id, stdout);
    stdout.on('end', () => stderr.end());
    let stdin: PassThrough | null = null;
    if (options.stdin) {
      stdin = new PassThrough();
      let text = '';
      stdin.on('data', (c: Buffer) => (text += c.toString()));
      stdin.on('end', () => {
        this.attachedStdin.set(id, text);
        const c = this.find(id);
        if (c && this.isProbe(c)) this.runProbe(c);
      });
    }
    return { stdout, stderr, stdin };
  }
  async waitContainer(id: string): Promise<number> {
    this.record('waitContainer', id);
    const c = this.find(id);
    if (!c) throw new DockerError(`No such container: ${id}`);
    if (c.state === 'exited') return c.exitCode;
    return new Promise((resolve) => c.waiters.push(resolve));
  }
  async exec(id: string, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.record('exec', id, argv, options);
    const c = this.find(id);
    if (!c || c.state !== 'running') throw new DockerError(`container ${id} is not running`);
    return this.execHandler(c, argv, options);
  }
  async inspectContainer(idOrName: string): Promise<ContainerInfo | null> {
    this.record('inspectContainer', idOrName);
    const c = this.find(idOrName);
    if (!c) return null;
    return {
      id: c.id,
      name: c.spec.name ?? c.id.slice(0, 12),
      image: c.spec.image,
      labels: c.spec.labels,
      status: c.state,
      running: c.state === 'running',
      exitCode: c.exitCode,
      health: c.health,
      networks: Object.fromEntries([...c.networks].map(([n, aliases]) => [n, { aliases, address: null }])),
      created: new Date(c.created * 1000).toISOString(),
    };
  }
  async stopContainer(id: string, _timeoutSec: number): Promise<void> {
    this.record('stopContainer', id);
    const c = this.find(id);
    if (c && c.state === 'running') this.exit(c, 143);
  }
  async removeContainer(id: string): Promise<void> {
    this.record('removeContainer', id);
    const c = this.find(id);
    if (!c) return;
    // As Podman: a container whose network namespace others joined is removed only after them.
    const dependents = [...this.containers.values()].filter((d) => d.spec.networkContainer === c.id || d.spec.networkContainer === c.spec.name);
    if (dependents.length > 0) throw new DockerError(`container ${c.id} has dependent containers which must be removed before it`);
    this.containers.delete(c.id);
    for (const w of c.waiters.splice(0)) w(137);
  }
  async listContainers(filter: LabelFilter): Promise<ContainerSummary[]> {
    this.record('listContainers', filter);
    return [...this.containers.values()]
      .filter((c) => matchesLabels(c.spec.labels, filter))
      .map((c) => ({
        id: c.id,
        name: c.spec.name ?? c.id.slice(0, 12),
        image: c.spec.image,
        labels: c.spec.labels,
        state: c.state,
        status: c.state === 'running' ? 'Up' : 'Exited',
        created: c.created,
        networks: [...c.networks.keys()],
      }));
  }
  async logs(id: string, _tail: number): Promise<string> {
    return this.find(id)?.logs ?? '';
  }
  async inspectImage(name: string): Promise<ImageInfo | null> {
    this.record('inspectImage', name);
    return this.images.get(name) ?? null;
  }
  async buildImage(
    contextDir: string,
    tag: string,
    options: { buildArgs?: Record<string, string>; onProgress?: (e: BuildProgress) => void },
  ): Promise<void> {
    this.record('buildImage', contextDir, tag);
    this.builds.push({ context: contextDir, tag, ...(options.buildArgs ? { buildArgs: options.buildArgs } : {}) });
    options.onProgress?.({ line: 'Step 1/2 : FROM base' });
    options.onProgress?.({ line: 'Step 2/2 : COPY . /srv' });
    this.addImage(tag);
  }
  async removeImage(name: string): Promise<void> {
    this.record('removeImage', name);
    this.images.delete(name);
  }

  /** Op names in call order, e.g. to assert nothing was created. */
  ops(): string[] {
    return this.calls.map((c) => c.op);
  }
}

/**
 * The LaunchPlan: the pure core's whole output, plain JSON (no classes, no functions, no Dates), so
 * `tongs plan` can print it and tests can pin it. The imperative shell (`applyPlan`) executes it.
 * Contract: ../shared/DESIGN.md "`tongs plan` output" — the fields named there may not change;
 * fields may be added.
 */

import type { ModelDialect } from './model-dialects.js';
import type { PlannedBridge } from './stdio-bridge.js';

export type Lifecycle = 'session' | 'shared';
export type InterfaceKind = 'mcp' | 'model' | 'egress' | 'port' | 'none';
export type LayerName = 'user' | 'org' | 'repo' | 'workspace';
export type ReadinessMode = 'tcp' | 'mcp' | 'healthcheck' | 'none';

/** How the shell decides a tong is ready. Probes run from inside the session network. */
export interface PlannedReadiness {
  mode: ReadinessMode;
  /** DNS name probed on the session network (the canonical alias); null for `none`/`healthcheck`. */
  host: string | null;
  /** TCP port probed; null when the tong has no port. */
  port: number | null;
  /** `mcp` mode: the endpoint path, e.g. `/mcp`. */
  path: string | null;
  /** `healthcheck` mode: argv exec'd inside the tong; null means "use the image's HEALTHCHECK". */
  command: string[] | null;
  /** Give up after this many milliseconds. */
  timeoutMs: number;
}

/** A mount, already resolved to Docker terms (no magic words left). */
export interface PlannedMount {
  type: 'bind' | 'volume';
  /** Absolute host path (bind) or volume name (volume). */
  source: string;
  /** Absolute path inside the container. */
  target: string;
  readOnly: boolean;
}

export interface PlannedTong {
  /** The definition file name without extension. */
  name: string;
  /** The layer whose definition won. */
  layer: LayerName;
  /** Absolute path of the winning definition file. */
  file: string;
  lifecycle: Lifecycle;
  image: string;
  /** Absolute build context used when `image` is absent locally, or null. */
  build: string | null;
  kind: InterfaceKind;
  /** model only: the API dialect it speaks (`interface.dialect`); null otherwise. */
  dialect: ModelDialect | null;
  /** The canonical alias: `interface.name` for mcp, the tong name otherwise. */
  alias: string;
  /** Extra aliases (`interface.aliases`). */
  aliases: string[];
  /** The port the tong listens on inside its container, or null for `none`. */
  port: number | null;
  /** mcp: `http://<alias>:<port><path>`; model: the API root `http://<alias>:<port>`; null otherwise. */
  url: string | null;
  /** Container name: unique per session for session tongs, stable for shared tongs. */
  containerName: string;
  /** Plain environment (values holding no secret reference). */
  env: Record<string, string>;
  /** Secret-bearing environment, values still holding `${secret:…}` references (resolved by the shell). */
  secretEnv: Record<string, string>;
  mounts: PlannedMount[];
  /** Memory limit in bytes, or null. */
  memoryBytes: number | null;
  /** Extra /etc/hosts entries (`NAME:ADDRESS`, ADDRESS may be `host-gateway`); never the anvil's. */
  hosts: string[];
  entrypoint: string[] | null;
  command: string[] | null;
  /** Present on stdio tongs only (issue #13): `stdio`; an mcp tong without it serves HTTP itself. */
  transport?: 'stdio';
  /** Present on stdio tongs only: the server's argv and which node runs the bridge. */
  bridge?: PlannedBridge;
  /**
   * Present on tongs that use `${secret:github-app:…}` or set `github_app` (issue #15 item 2): the
   * permissions each installation token minted for this tong asks for (the definition's
   * `github_app.permissions`, or the default), sorted by name.
   */
  githubApp?: { permissions: Record<string, 'read' | 'write' | 'admin'> };
  readiness: PlannedReadiness;
  /**
   * The tong reaches the internet (the definition's `egress`, by default true for `model` and `egress`
   * tongs and for tongs with `hosts`). Behind the relay it is then on the session's egress network,
   * not the internal session network, and reaches only the tongs there (the relay and the readiness
   * probe are on both); otherwise every tong shares one ordinary network.
   */
  egress: boolean;
  /**
   * Present on tongs that join a shared network namespace (launcher/core/netns.ts): the holder's
   * container name (the plan's `netns` entry). The tong then has no endpoint of its own: its aliases
   * are the holder's.
   */
  netns?: string;
  /** sha256 (hex, 16 chars) of the merged definition. */
  configHash: string;
  labels: Record<string, string>;
}

/** One shared network namespace (launcher/core/netns.ts, issue #12 item 4): the holder container and the tongs that join it. */
export interface PlannedNetns {
  /** The holder's container name, `tongs-<session8>-netns-<n>`. */
  containerName: string;
  /** The holder's image: the anvil's (it runs `sleep`, which every image with a shell has). */
  image: string;
  /** The network the holder is on, with every alias of its tongs. */
  network: string;
  aliases: string[];
  /** The extra /etc/hosts entries the tongs share (`NAME:ADDRESS`). */
  hosts: string[];
  /** Names of the tongs that join it, in plan order. */
  tongs: string[];
  labels: Record<string, string>;
}

/** A defined tong left out of the session because its `when` condition failed (issue #11 "No key set"). */
export interface SkippedTong {
  name: string;
  layer: LayerName;
  /** Absolute path of the definition file. */
  file: string;
  kind: InterfaceKind;
  /** Why, e.g. `none of ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN is set on the host (when.env)`. */
  reason: string;
}

/** Which model tong serves a dialect in this session, and how the anvil reaches it (DESIGN.md "The seal" rule 4). */
export interface PlannedModel {
  dialect: ModelDialect;
  /** The tong's name. */
  tong: string;
  /** `http://<alias>:<port>`. */
  baseUrl: string;
  /** Where the session bearer is mounted read-only in the anvil. */
  tokenPath: string;
}

export interface PlannedNetwork {
  name: string;
  labels: Record<string, string>;
  /**
   * Docker's `internal` (no route out of the network). True for the session network when the anvil
   * is behind the relay and not every tong has `egress`: the tongs with `egress` are then on the
   * egress network instead, the one way to the internet (DESIGN.md "The seal" rule 5, issue #11).
   * When every tong has `egress` the one session network is ordinary.
   */
  internal: boolean;
}

/** A file the shell writes on the host (mode is an octal permission number, e.g. 0o600 = 384). */
export interface PlannedFile {
  hostPath: string;
  /** Where it is mounted in the anvil (read-only). */
  containerPath: string;
  content: string;
  mode: number;
}

/**
 * The tong side of the relay (DESIGN.md "The seal" rule 5): one container on the session network
 * that serves a unix socket per tong in the session's socket volume, which the anvil (no network
 * interface of its own) mounts too.
 */
export interface PlannedRelay {
  containerName: string;
  /** The anvil image: it carries the relay program and node. */
  image: string;
  /** The per-session volume holding the sockets. */
  volume: string;
  /** Where both sides mount the volume. */
  socketDir: string;
  /** `alias:port` per relayed tong, as the relay's TONGS_RELAY. */
  targets: string[];
  labels: Record<string, string>;
}

/** How the anvil reaches its tongs, and nothing else (DESIGN.md "The seal" rule 5). */
export interface PlannedAnvilNetwork {
  /**
   * `relay`: `--network none`; each tong's aliases resolve (`--add-host`) to a 127.0.0.0/8 address
   * where the anvil's relay listens and forwards through the socket volume. `session`: the anvil joins
   * the session network (an anvil image without the relay, or `--anvil-relay` not given): unsealed.
   */
  mode: 'relay' | 'session';
  /** relay mode: tong name → the loopback address its aliases resolve to in the anvil. */
  loopback: Record<string, string>;
}

/**
 * When the anvil starts (DESIGN.md "Launch order"). `parallel`: it is created and started while the
 * tongs start, and its entrypoint's gate holds the harness until the launcher writes `go` into
 * `gate.hostDir/state` (every tong ready) or `stop` (a tong failed). `serial`: it starts once every
 * tong is ready, as an anvil image without the gate needs.
 */
export interface PlannedLaunchOrder {
  mode: 'parallel' | 'serial';
  /** Why this order, for `tongs plan` and `DEBUG=tongs`, e.g. `the anvil image has no org.tongs.gate label`. */
  reason: string;
  /** parallel: the host dir the launcher writes the gate's state into, mounted read-only in the anvil. */
  gate: { hostDir: string; containerDir: string } | null;
}

export interface LaunchPlan {
  harness: string | null;
  sessionId: string;
  tongs: PlannedTong[];
  /** The per-session network; null when no tong is planned (passthrough). */
  network: PlannedNetwork | null;
  /**
   * The session's ordinary (not internal) network, where the tongs with `egress` are, when the session
   * network is internal and at least one tong has `egress`; else null.
   */
  egressNetwork: PlannedNetwork | null;
  /**
   * The harness's MCP configuration when an mcp tong is present, else null: the emitter's
   * `mcpConfig` (launcher/core/emitters/), e.g. the document Claude Code reads from
   * /run/tongs/mcp.json, or what Codex's `-c` overrides amount to.
   */
  mcpConfig: Record<string, unknown> | null;
  /** The model tongs of the session, one per dialect at most. */
  models: PlannedModel[];
  /** Tongs defined but not started because their `when` condition failed. */
  skipped: SkippedTong[];
  /**
   * Sentences for stderr (without the `tongs: ` prefix) about what the plan cannot prevent, e.g. an
   * anvil argv that passes a model credential itself.
   */
  warnings: string[];
  files: PlannedFile[];
  /**
   * The anvil's numeric `docker run -u UID[:GID]` (launcher/core/docker-argv.ts `numericUser`), present
   * only when it gives one and there are files: its entrypoint never runs as root, so it cannot copy
   * the launcher's 0600 files for the harness as it does otherwise. The shell hands them to that user
   * (launcher/shell/run/anvil.ts `writePlanFiles`).
   */
  anvilUser?: { uid: number; gid: number | null };
  /** Labels every session resource carries. */
  labels: Record<string, string>;
  /** The anvil's `--name`, if the argv gives one. */
  anvilName: string | null;
  /**
   * The anvil's image (the first non-option word after `run`), or null when the argv is not a
   * `docker run` naming one. The runtime may start readiness probes from it (no pulls needed).
   */
  anvilImage: string | null;
  /** Networks the anvil argv already names (`--network`/`--net`); the anvil stays on them too. */
  anvilNetworks: string[];
  /** The final argv to execute (docker options inserted right after `run`). */
  anvilArgv: string[];
  /**
   * The egress tong (DESIGN.md "The seal" rule 5): its proxy URL, given to the anvil as HTTPS_PROXY and
   * HTTP_PROXY, whether egress is open (every host), and the hosts it allows; null without one.
   */
  egress: {
    tong: string;
    proxyUrl: string;
    open: boolean;
    /** Every `host:port` entry allowed (the allowlist files', then `login`'s). */
    allow: string[];
    /** Entries added for the harness's own login: the dialects it speaks that no model tong serves. */
    login: string[];
  } | null;
  /** How the anvil reaches its tongs; null for a passthrough plan. */
  anvilNetwork: PlannedAnvilNetwork | null;
  /** relay mode: the tong side of the relay; null otherwise. */
  relay: PlannedRelay | null;
  /** When the anvil starts; null for a passthrough plan. */
  launchOrder: PlannedLaunchOrder | null;
  /** The shared network namespaces (launcher/core/netns.ts); present only when there is one. */
  netns?: PlannedNetns[];
}

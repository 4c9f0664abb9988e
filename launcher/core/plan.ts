/**
 * `planLaunch`: merged definitions + options + injected ids in, a plain-JSON `LaunchPlan` out
 * (DESIGN.md "Wiring a session", issue #2 item 6; STYLE.md "Functional core"). Pure: no clock, no
 * randomness, no file system, no Docker — the CLI injects the session id, tokens, temp dir, pid,
 * host name and start time, so a plan can be pinned byte for byte.
 */
import path from 'node:path';
import { RefusalError } from '../errors.js';
import { canonicalAlias, extraAliases, findAliasCollisions } from './aliases.js';
import { configHash } from './config-hash.js';
import { parseDockerRunArgv, type DockerRunArgv } from './docker-argv.js';
import { parseDurationMs } from './duration.js';
import { getEmitter, SUPPORTED_HARNESSES, type HarnessEmitter } from './emitters/index.js';
import {
  LABEL_ALIASES,
  LABEL_CONFIG_HASH,
  LABEL_LAUNCHER_HOST,
  LABEL_LAUNCHER_PID,
  LABEL_LIFECYCLE,
  LABEL_MANAGED,
  LABEL_ROLE,
  LABEL_SESSION,
  LABEL_STARTED,
  LABEL_TONG,
} from './labels.js';
import type { MergedTong } from './layers.js';
import { parseMemoryBytes } from './memory.js';
import { parseMountWord } from './mounts.js';
import type { LaunchPlan, PlannedMount, PlannedReadiness, PlannedTong, ReadinessMode } from './plan-types.js';

/** Where the harness MCP config is mounted in the anvil (read-only). */
export const MCP_CONFIG_CONTAINER_PATH = '/run/tongs/mcp.json';
/** Its file name inside the session temp dir on the host. */
export const MCP_CONFIG_FILE_NAME = 'mcp.json';
/** Readiness timeout when a definition gives none. */
export const DEFAULT_READINESS_TIMEOUT_MS = 30_000;
/** Endpoint path of an mcp tong when `interface.path` is absent. */
export const DEFAULT_MCP_PATH = '/mcp';

/** Everything planLaunch needs, as plain data. */
export interface PlanInput {
  /** Merged, enabled definitions (launcher/core/layers.ts), with layer and absolute file path. */
  tongs: readonly MergedTong[];
  /** `--harness`, or null. */
  harness: string | null;
  /** The anvil argv, verbatim (everything after the first `--`). */
  anvilArgv: readonly string[];
  /** 12 hex characters. */
  sessionId: string;
  /** Absolute path of the session's private host temp dir (files are planned inside it). */
  tempDir: string;
  /** Absolute workspace path (`--workspace`), or null; the `workspace` mount word needs it. */
  workspace: string | null;
  launcherPid: number;
  launcherHost: string;
  /** Session start, ISO 8601. */
  startedAt: string;
  /**
   * Bearer tokens for mcp tongs (issues #5, #6), keyed by tong name; null plans none. Session tongs
   * get one per session; a shared tong keeps one per tong (launcher/shell/shared-tokens.ts).
   */
  mcpTokens: Readonly<Record<string, string>> | null;
  /**
   * The anvil image runs the tongs relay (tongs-anvil:local does; `--anvil-relay`): the anvil gets no
   * network interface and reaches its tongs through the relay (DESIGN.md "The seal" rule 5). False:
   * it joins the session network, as an image without the relay must.
   */
  anvilRelay?: boolean;
  /**
   * False: the emitter's harness arguments are not appended (`tongs doctor` runs its check program,
   * not the harness, in the anvil). Default true.
   */
  appendHarnessArgs?: boolean;
}

/** Where the relay's socket volume is mounted, in the anvil and in the relay container. */
export const RELAY_SOCKET_DIR = '/run/tongs/sock';

/** Docker network modes the anvil cannot share with a tong network. */
const EXCLUSIVE_NETWORK_MODES = /^(host|none|container:.*)$/;

/** `TONGS_<NAME>` for a tong name: upper-cased, non-alphanumerics → `_` (DESIGN.md step 5). */
export function tongEnvPrefix(name: string): string {
  return `TONGS_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * Refuse, before any Docker work, what cannot be launched: alias collisions, an mcp tong without
 * an emitter for the harness, a workspace mount without a workspace, an anvil argv that is not a
 * `docker run` with an image, or an anvil network mode that cannot reach tongs. Throws one
 * RefusalError whose message has one line per reason. Does nothing when `tongs` is empty.
 */
export function refuseLaunch(input: Pick<PlanInput, 'tongs' | 'harness' | 'anvilArgv' | 'workspace'>): {
  docker: DockerRunArgv;
  emitter: HarnessEmitter | undefined;
} | null {
  const { tongs, harness, anvilArgv, workspace } = input;
  if (tongs.length === 0) return null;
  const reasons: string[] = [...findAliasCollisions(tongs)];
  const mcp = tongs.filter((t) => t.definition.interface?.kind === 'mcp');
  const emitter = getEmitter(harness);
  if (mcp.length > 0 && !emitter) {
    const names = mcp.map((t) => `'${t.name}'`).join(', ');
    reasons.push(
      harness
        ? `unknown harness '${harness}': mcp tong ${names} needs one of the supported harnesses: ${SUPPORTED_HARNESSES.join(', ')}`
        : `mcp tong ${names} needs --harness; supported harnesses: ${SUPPORTED_HARNESSES.join(', ')}`,
    );
  }
  if (!workspace) {
    for (const t of tongs) {
      for (const word of t.definition.mounts ?? []) {
        const parsed = parseMountWord(word);
        if (!('error' in parsed) && parsed.kind === 'workspace') {
          reasons.push(`tong '${t.name}' mounts the workspace ('${word}', ${t.displayPath}) but no --workspace was given`);
        }
      }
    }
  }
  const docker = parseDockerRunArgv(anvilArgv);
  if (!docker) {
    reasons.push(
      `with tongs defined (${tongs.map((t) => t.name).join(', ')}) the anvil command must be \`docker run …\`, ` +
        `got ${JSON.stringify(anvilArgv.slice(0, 3).join(' '))}`,
    );
  } else {
    if (docker.imageIndex < 0) reasons.push('the anvil `docker run` command names no image');
    for (const net of docker.networks) {
      if (EXCLUSIVE_NETWORK_MODES.test(net)) {
        reasons.push(`the anvil's --network ${net} cannot join the session network, so its tongs would be unreachable`);
      }
    }
  }
  if (reasons.length > 0 || !docker) throw new RefusalError(reasons.join('\n'));
  return { docker, emitter };
}

function plannedReadiness(tong: MergedTong, alias: string, port: number | null): PlannedReadiness {
  const def = tong.definition;
  const kind = def.interface?.kind ?? 'none';
  const mode: ReadinessMode = def.readiness?.mode ?? (kind === 'none' ? 'none' : 'tcp');
  const probesNetwork = mode === 'tcp' || mode === 'mcp';
  return {
    mode,
    host: probesNetwork ? alias : null,
    port: mode === 'none' ? null : port,
    path: mode === 'mcp' && def.interface?.kind === 'mcp' ? (def.interface.path ?? DEFAULT_MCP_PATH) : null,
    command: mode === 'healthcheck' ? (def.readiness?.command ?? null) : null,
    timeoutMs: (def.readiness?.timeout !== undefined ? parseDurationMs(def.readiness.timeout) : null) ?? DEFAULT_READINESS_TIMEOUT_MS,
  };
}

function plannedMounts(tong: MergedTong, workspace: string | null): PlannedMount[] {
  const mounts: PlannedMount[] = [];
  for (const word of tong.definition.mounts ?? []) {
    const parsed = parseMountWord(word);
    if ('error' in parsed) throw new RefusalError(`tong '${tong.name}': ${parsed.error}`); // validation already refused it
    if (parsed.kind === 'workspace') {
      if (!workspace) throw new RefusalError(`tong '${tong.name}' mounts the workspace but no --workspace was given`);
      mounts.push({ type: 'bind', source: workspace, target: parsed.target, readOnly: parsed.readOnly });
    } else {
      mounts.push({ type: 'volume', source: parsed.name, target: parsed.target, readOnly: parsed.readOnly });
    }
  }
  return mounts;
}

/**
 * Build the LaunchPlan. Throws RefusalError (see refuseLaunch). With no tongs the plan is a
 * passthrough: `anvilArgv` equals the input argv exactly and `network` is null.
 */
export function planLaunch(input: PlanInput): LaunchPlan {
  const checked = refuseLaunch(input);
  const docker = checked?.docker ?? parseDockerRunArgv(input.anvilArgv);
  const sessionLabels: Record<string, string> = {
    [LABEL_MANAGED]: 'true',
    [LABEL_SESSION]: input.sessionId,
    [LABEL_LAUNCHER_PID]: String(input.launcherPid),
    [LABEL_LAUNCHER_HOST]: input.launcherHost,
    [LABEL_STARTED]: input.startedAt,
  };
  const anvil = {
    labels: sessionLabels,
    anvilName: docker?.name ?? null,
    anvilImage: docker?.image ?? null,
    anvilNetworks: docker?.networks ?? [],
  };
  if (!checked) {
    // Passthrough: the argv is returned untouched, whatever it is.
    return {
      harness: input.harness,
      sessionId: input.sessionId,
      tongs: [],
      network: null,
      mcpConfig: null,
      files: [],
      ...anvil,
      anvilArgv: [...input.anvilArgv],
      anvilNetwork: null,
      relay: null,
    };
  }
  const { emitter } = checked;
  const short = input.sessionId.slice(0, 8);
  const network = {
    name: `${docker?.name ?? 'tongs'}-tongs-${short}`,
    labels: { ...sessionLabels, [LABEL_ROLE]: 'network' },
  };

  const tongs: PlannedTong[] = input.tongs.map((tong) => {
    const def = tong.definition;
    const iface = def.interface ?? { kind: 'none' as const };
    const alias = canonicalAlias(tong.name, def);
    const aliases = extraAliases(def);
    const port = iface.kind === 'none' ? null : iface.port;
    const url = iface.kind === 'mcp' ? `http://${alias}:${iface.port}${iface.path ?? DEFAULT_MCP_PATH}` : null;
    const lifecycle = def.lifecycle ?? 'session';
    const build = def.build ? path.resolve(path.dirname(tong.file), def.build) : null;
    const token = iface.kind === 'mcp' ? input.mcpTokens?.[tong.name] : undefined;
    // A shared tong outlives sessions, so its bearer is per tong, not per session (issue #6). The
    // token's digest is part of its hash: a container started with another token is recreated, never
    // reused with a bearer the emitted config does not carry.
    const bearer = lifecycle === 'shared' && token ? configHash({ token }) : undefined;
    const hash = configHash({ name: tong.name, definition: def, build, ...(bearer ? { bearer } : {}) });
    const env: Record<string, string> = {};
    const secretEnv: Record<string, string> = {};
    for (const [key, value] of Object.entries(def.env ?? {})) {
      const text = String(value);
      if (text.includes('${secret:')) secretEnv[key] = text;
      else env[key] = text;
    }
    env.TONGS_TONG_NAME = tong.name;
    env.TONGS_ALIASES = [alias, ...aliases].join(',');
    if (token) secretEnv.TONGS_MCP_TOKEN = token;
    return {
      name: tong.name,
      layer: tong.layer,
      file: tong.file,
      lifecycle,
      image: def.image,
      build,
      kind: iface.kind,
      alias,
      aliases,
      port,
      url,
      containerName: lifecycle === 'shared' ? `tongs-shared-${tong.name}` : `tongs-${short}-${tong.name}`,
      env,
      secretEnv,
      mounts: plannedMounts(tong, input.workspace),
      memoryBytes: def.resources?.memory !== undefined ? parseMemoryBytes(def.resources.memory) : null,
      entrypoint: def.entrypoint ? [...def.entrypoint] : null,
      command: def.command ? [...def.command] : null,
      readiness: plannedReadiness(tong, alias, port),
      configHash: hash,
      labels: {
        ...sessionLabels,
        [LABEL_ROLE]: 'tong',
        [LABEL_TONG]: tong.name,
        [LABEL_LIFECYCLE]: lifecycle,
        [LABEL_CONFIG_HASH]: hash,
        [LABEL_ALIASES]: [alias, ...aliases].join(','),
      },
    };
  });

  const mcpTongs = tongs.filter((t) => t.kind === 'mcp');
  let mcpConfig: Record<string, unknown> | null = null;
  const files: LaunchPlan['files'] = [];
  const inserted: string[] = [];
  const appended: string[] = [];
  // The anvil's network (the seal's rule 5): none at all with the relay, else the session network.
  const relayed = tongs.filter((t) => t.port !== null);
  const useRelay = input.anvilRelay === true && docker !== null && docker.networks.length === 0 && docker.image !== null;
  const loopback: Record<string, string> = {};
  let relay: LaunchPlan['relay'] = null;
  if (useRelay) {
    if (relayed.length > 250) throw new RefusalError(`the relay gives each tong a 127.0.0.x address: at most 250 tongs with a port, got ${relayed.length}`);
    relayed.forEach((t, i) => (loopback[t.name] = `127.0.0.${i + 2}`));
    const volume = `tongs-${short}-sock`;
    relay = {
      containerName: `tongs-${short}-relay`,
      image: docker.image!,
      volume,
      socketDir: RELAY_SOCKET_DIR,
      targets: relayed.map((t) => `${t.alias}:${t.port}`),
      labels: { ...sessionLabels, [LABEL_ROLE]: 'relay' },
    };
    inserted.push('--network', 'none', '-v', `${volume}:${RELAY_SOCKET_DIR}`);
    for (const t of relayed) for (const a of [t.alias, ...t.aliases]) inserted.push('--add-host', `${a}:${loopback[t.name]}`);
    inserted.push('-e', `TONGS_RELAY=${relayed.map((t) => `${t.alias}@${loopback[t.name]}:${t.port}`).join(',')}`);
  } else if (docker && docker.networks.length === 0) {
    inserted.push('--network', network.name);
  }
  inserted.push('--label', `${LABEL_SESSION}=${input.sessionId}`, '--label', `${LABEL_ROLE}=anvil`);
  if (mcpTongs.length > 0 && emitter) {
    mcpConfig = emitter.render(
      mcpTongs.map((t) => ({ name: t.alias, url: t.url ?? '', bearerToken: t.secretEnv.TONGS_MCP_TOKEN ?? null })),
    );
    const hostPath = path.join(input.tempDir, MCP_CONFIG_FILE_NAME);
    files.push({
      hostPath,
      containerPath: MCP_CONFIG_CONTAINER_PATH,
      content: `${JSON.stringify(mcpConfig, null, 2)}\n`,
      mode: 0o600,
    });
    inserted.push('-v', `${hostPath}:${MCP_CONFIG_CONTAINER_PATH}:ro`, ...emitter.anvilOptions(MCP_CONFIG_CONTAINER_PATH));
    appended.push(...emitter.harnessArgs(MCP_CONFIG_CONTAINER_PATH));
  }
  for (const t of tongs) {
    if (t.kind !== 'port') continue;
    const prefix = tongEnvPrefix(t.name);
    inserted.push('-e', `${prefix}_HOST=${t.alias}`, '-e', `${prefix}_PORT=${t.port}`);
  }
  const runIndex = docker?.runIndex ?? 0;
  const anvilArgv = [
    ...input.anvilArgv.slice(0, runIndex + 1),
    ...inserted,
    ...input.anvilArgv.slice(runIndex + 1),
    ...(input.appendHarnessArgs === false ? [] : appended),
  ];
  return {
    harness: input.harness,
    sessionId: input.sessionId,
    tongs,
    network,
    mcpConfig,
    files,
    ...anvil,
    anvilArgv,
    anvilNetwork: { mode: useRelay ? 'relay' : 'session', loopback },
    relay,
  };
}

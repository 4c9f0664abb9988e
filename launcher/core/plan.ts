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
import { numericUser, parseDockerRunArgv, type DockerRunArgv } from './docker-argv.js';
import { parseDurationMs } from './duration.js';
import { GITHUB_APP_PROVIDER, githubAppPermissions, refreshedSecretPath } from './github-app.js';
import { ANVIL_FILES_DIR, getEmitter, SUPPORTED_HARNESSES, type AnvilOption, type HarnessEmitter } from './emitters/index.js';
import {
  LABEL_ALIASES,
  LABEL_CONFIG_HASH,
  LABEL_GATE,
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
import { findModelDialectConflicts, MODEL_DIALECTS, modelTokenContainerPath } from './model-dialects.js';
import { parseMountWord } from './mounts.js';
import type { LaunchPlan, PlannedFile, PlannedLaunchOrder, PlannedModel, PlannedMount, PlannedNetwork, PlannedReadiness, PlannedTong, ReadinessMode, SkippedTong } from './plan-types.js';
import { planNetns } from './netns.js';
import { stdioBridgeRefusal, stdioTongLaunch, type StdioBridgeHost } from './stdio-bridge.js';
import { applyWhen } from './when.js';

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
   * Bearer tokens for mcp and model tongs (issues #5, #6, #11), keyed by tong name; null plans none.
   * Session tongs get one per session; a shared tong keeps one per tong
   * (launcher/shell/gather/shared-tokens.ts). An mcp tong gets it as `TONGS_MCP_TOKEN`, a model tong as
   * `TONGS_MODEL_TOKEN`.
   */
  mcpTokens: Readonly<Record<string, string>> | null;
  /**
   * The anvil image runs the tongs relay (tongs-anvil:local does; `--anvil-relay`): the anvil gets no
   * network interface and reaches its tongs through the relay (DESIGN.md "The seal" rule 5). False:
   * it joins the session network, as an image without the relay must.
   */
  anvilRelay?: boolean;
  /**
   * The anvil image carries the launch gate (its `org.tongs.gate` label, read by the shell before
   * planning): the anvil then starts while the tongs start (DESIGN.md "Launch order"). Absent or
   * false ⇒ the serial order. A string explains why the label could not be read (no engine answered).
   */
  anvilGate?: boolean | string;
  /**
   * The engine's internal networks carry traffic between their own containers. False on Podman 4.3
   * (the shell asks the engine): its `internal` networks drop it when the host's FORWARD policy is
   * DROP, as a Docker engine on the same host sets it, so the tongs keep one ordinary network there
   * and the plan says so in `warnings`. Absent ⇒ true.
   */
  internalNetworks?: boolean;
  /**
   * The merged egress allowlist (launcher/core/egress.ts `mergeEgress`), with the workspace file's
   * entries already approved or left out, for the egress tong's environment (`egressTongEnv`). Absent
   * ⇒ an empty list: the egress tong refuses everything.
   */
  egress?: { env: Record<string, string>; open: boolean; allow: string[] };
  /**
   * Names of the host environment variables set to a non-empty value, for `when.env` (issue #11);
   * never their values. Absent ⇒ none is set, so every tong with a `when.env` is skipped.
   */
  hostEnv?: readonly string[];
  /**
   * False: the emitter's harness arguments are not appended (`tongs doctor` runs its check program,
   * not the harness, in the anvil). Default true.
   */
  appendHarnessArgs?: boolean;
  /**
   * Where the stdio bridge bundle and the host Node runtime are (launcher/shell/gather/stdio-bridge.ts,
   * issue #13); a stdio tong is refused without them. Absent ⇒ none is built.
   */
  stdioBridge?: StdioBridgeHost | null;
  /**
   * Session tongs with distinct ports share one network namespace (launcher/core/netns.ts; the shell
   * passes false for `TONGS_SHARED_NETNS=0`). Absent ⇒ true.
   */
  sharedNetns?: boolean;
}

/** Where the relay's socket volume is mounted, in the anvil and in the relay container. */
export const EGRESS_NO_PROXY_EXTRA = ['localhost', '127.0.0.1', '::1'];

export const RELAY_SOCKET_DIR = '/run/tongs/sock';
/** Where the launch gate's dir is mounted (read-only) in the anvil, as `TONGS_GATE`. */
export const GATE_CONTAINER_DIR = '/run/tongs/gate';
/** Its name inside the session temp dir on the host. */
export const GATE_DIR_NAME = 'gate';

/** Docker network modes the anvil cannot share with a tong network. */
const EXCLUSIVE_NETWORK_MODES = /^(host|none|container:.*)$/;

/** `TONGS_<NAME>` for a tong name: upper-cased, non-alphanumerics → `_` (DESIGN.md step 5). */
export function tongEnvPrefix(name: string): string {
  return `TONGS_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** What `refuseLaunch` found launchable. */
export interface LaunchSelection {
  /** The tongs this session starts (their `when` holds), in input order; empty ⇒ passthrough. */
  started: MergedTong[];
  /** The tongs left out by `when`. */
  skipped: SkippedTong[];
  /** The parsed anvil argv; null when nothing starts and the argv is not a `docker run`. */
  docker: DockerRunArgv | null;
  emitter: HarnessEmitter | undefined;
}

const kindTongs = (kind: string, list: readonly MergedTong[]) =>
  list.length === 0 ? '' : `${kind} tong ${list.map((t) => `'${t.name}'`).join(', ')}`;

/**
 * Refuse, before any Docker work, what cannot be launched. Over every merged definition (whatever
 * `when` decides, so a conflict never depends on the host): alias collisions and two model tongs of
 * one dialect. Over the tongs that start: an mcp or model tong without an emitter for the harness, an
 * unknown `--harness`, a workspace mount without a workspace, an anvil
 * argv that is not a `docker run` with an image, or an anvil network mode that cannot reach tongs.
 * A model tong of a dialect the harness does not speak is not refused: it is left out (issue #14).
 * Throws one RefusalError whose message has one line per reason. When no tong starts (none defined,
 * or every one skipped by `when`) only the definition checks apply: the launch is a passthrough.
 */
export function refuseLaunch(input: Pick<PlanInput, 'tongs' | 'harness' | 'anvilArgv' | 'workspace' | 'hostEnv'>): LaunchSelection {
  const { harness, anvilArgv, workspace } = input;
  const reasons: string[] = [...findAliasCollisions(input.tongs), ...findModelDialectConflicts(input.tongs), ...findEgressConflicts(input.tongs)];
  const emitter = getEmitter(harness);
  // A model tong of a dialect the harness does not speak serves other harnesses (the repo layer ships
  // one per dialect): it is left out of this session, before `when`, and not listed as skipped.
  const forHarness = emitter
    ? input.tongs.filter((t) => t.definition.interface?.kind !== 'model' || emitter.dialects.includes(t.definition.interface.dialect))
    : input.tongs;
  const { started: tongs, skipped } = applyWhen(forHarness, input.hostEnv ?? []);
  if (tongs.length === 0) {
    if (reasons.length > 0) throw new RefusalError(reasons.join('\n'));
    return { started: [], skipped, docker: parseDockerRunArgv(anvilArgv), emitter };
  }
  const mcp = tongs.filter((t) => t.definition.interface?.kind === 'mcp');
  const models = tongs.filter((t) => t.definition.interface?.kind === 'model');
  if (harness && !emitter && mcp.length + models.length === 0) {
    reasons.push(`unknown harness '${harness}'; supported harnesses: ${SUPPORTED_HARNESSES.join(', ')}`);
  } else if (mcp.length + models.length > 0 && !emitter) {
    const names = [kindTongs('mcp', mcp), kindTongs('model', models)].filter(Boolean).join(' and ');
    const verb = mcp.length > 0 && models.length > 0 ? 'need' : 'needs';
    reasons.push(
      harness
        ? `unknown harness '${harness}': ${names} ${verb} one of the supported harnesses: ${SUPPORTED_HARNESSES.join(', ')}`
        : `${names} ${verb} --harness; supported harnesses: ${SUPPORTED_HARNESSES.join(', ')}`,
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
  return { started: tongs, skipped, docker, emitter };
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
 * Build the LaunchPlan. Throws RefusalError (see refuseLaunch). With no tong to start (none defined,
 * or every one skipped by `when`) the plan is a passthrough: `anvilArgv` equals the input argv exactly
 * and `network` is null. A model tong (issue #11) adds its session bearer as a read-only file in the
 * anvil. Whatever the harness needs for its mcp and model tongs (files, anvil options, arguments)
 * comes from its emitter (./emitters/, DESIGN.md "Harnesses"); the plan knows no harness by name.
 */
export function planLaunch(input: PlanInput): LaunchPlan {
  const selection = refuseLaunch(input);
  const { docker, skipped } = selection;
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
  if (selection.started.length === 0) {
    // Passthrough: the argv is returned untouched, whatever it is.
    return {
      harness: input.harness,
      sessionId: input.sessionId,
      tongs: [],
      network: null,
      egressNetwork: null,
      mcpConfig: null,
      models: [],
      skipped,
      warnings: [],
      files: [],
      ...anvil,
      anvilArgv: [...input.anvilArgv],
      anvilNetwork: null,
      relay: null,
      egress: null,
      launchOrder: null,
    };
  }
  const { emitter } = selection;
  const short = input.sessionId.slice(0, 8);
  const networkName = `${docker?.name ?? 'tongs'}-tongs-${short}`;
  // The anvil's network (the seal's rule 5): none at all with the relay, else the session network.
  const useRelay = input.anvilRelay === true && docker !== null && docker.networks.length === 0 && docker.image !== null;
  // Behind the relay the session network is internal: a tong reaches the internet only on the egress
  // network, and only with `egress` (see egressNetwork below). Without the relay the anvil itself is on
  // the session network, which must then stay ordinary (that launch is unsealed anyway).
  const egressOf = (t: MergedTong) => {
    const def = t.definition;
    return def.egress ?? (def.interface?.kind === 'model' || def.interface?.kind === 'egress' || (def.hosts ?? []).length > 0);
  };
  const withEgress = selection.started.filter(egressOf).length;
  // When every tong has egress, the one session network is the ordinary one: a second network would
  // hold nobody but the relay, and each network costs the launch its creation.
  const split = useRelay && withEgress < selection.started.length;
  const network: PlannedNetwork = {
    name: networkName,
    labels: { ...sessionLabels, [LABEL_ROLE]: 'network' },
    internal: split && input.internalNetworks !== false,
  };
  const networkWarnings =
    split && input.internalNetworks === false
      ? ['the tongs share one ordinary network on this engine (Podman\'s internal networks drop traffic between their own containers here), so tongs without egress can reach the internet too']
      : [];

  // Stdio tongs (issue #13): refused before any Docker work when the host cannot bridge them.
  const stdioRefusals = selection.started.flatMap((t) => {
    const i = t.definition.interface;
    return i?.kind === 'mcp' && i.transport === 'stdio' ? [stdioBridgeRefusal(t.name, t.displayPath, i.node, input.stdioBridge ?? null)].filter((r) => r !== null) : [];
  });
  if (stdioRefusals.length > 0) throw new RefusalError(stdioRefusals.join('\n'));

  // The harness's own login (DESIGN.md "The seal" rule 4, "no key set"): a dialect it speaks with no
  // model tong started goes to the provider directly, through the egress tong, so its hosts are allowed.
  const served = new Set(selection.started.map((t) => t.definition.interface).flatMap((i) => (i?.kind === 'model' && i.dialect ? [i.dialect] : [])));
  const loginDialects = (emitter?.dialects ?? []).filter((d) => !served.has(d));
  const loginHosts = [...new Set(loginDialects.flatMap((d) => MODEL_DIALECTS[d].loginHosts))];
  const egressAllow = [...new Set([...(input.egress?.allow ?? []), ...loginHosts])];
  const egressEnv = { ...(input.egress?.env ?? { TONGS_EGRESS_ALLOW: '', TONGS_EGRESS: 'allowlist' }), TONGS_EGRESS_ALLOW: egressAllow.join(',') };
  const tongs: PlannedTong[] = selection.started.map((tong) => {
    const def = tong.definition;
    const iface = def.interface ?? { kind: 'none' as const };
    const alias = canonicalAlias(tong.name, def);
    const aliases = extraAliases(def);
    const port = iface.kind === 'none' ? null : iface.port;
    const url =
      iface.kind === 'mcp'
        ? `http://${alias}:${iface.port}${iface.path ?? DEFAULT_MCP_PATH}`
        : iface.kind === 'model'
          ? `http://${alias}:${iface.port}`
          : null;
    const lifecycle = def.lifecycle ?? 'session';
    const build = def.build ? path.resolve(path.dirname(tong.file), def.build) : null;
    const token = iface.kind === 'mcp' || iface.kind === 'model' ? input.mcpTokens?.[tong.name] : undefined;
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
    // A github-app token is refreshed into the tong's tmpfs (issue #15 item 2): tell the tong where.
    for (const [key, value] of Object.entries(secretEnv)) {
      if (value.includes(`\${secret:${GITHUB_APP_PROVIDER}:`)) env[`${key}_FILE`] = refreshedSecretPath(key);
    }
    env.TONGS_TONG_NAME = tong.name;
    env.TONGS_ALIASES = [alias, ...aliases].join(',');
    if (token) secretEnv[iface.kind === 'model' ? 'TONGS_MODEL_TOKEN' : 'TONGS_MCP_TOKEN'] = token;
    // The egress tong gets its allowlist from the launcher (the files it merges are the user's, the org's
    // and the approved workspace's), never from its own definition.
    if (iface.kind === 'egress') Object.assign(env, egressEnv);
    // A stdio tong: the bridge, mounted read-only, is its main process; `command:` is the bridge's child.
    const stdio =
      iface.kind === 'mcp' && iface.transport === 'stdio'
        ? stdioTongLaunch(def.command ?? [], iface.port, iface.path ?? DEFAULT_MCP_PATH, iface.node, input.stdioBridge!)
        : null;
    return {
      name: tong.name,
      layer: tong.layer,
      file: tong.file,
      lifecycle,
      image: def.image,
      build,
      kind: iface.kind,
      dialect: iface.kind === 'model' ? iface.dialect : null,
      alias,
      aliases,
      port,
      url,
      containerName: lifecycle === 'shared' ? `tongs-shared-${tong.name}` : `tongs-${short}-${tong.name}`,
      env,
      secretEnv,
      mounts: [...plannedMounts(tong, input.workspace), ...(stdio ? [stdio.mount] : [])],
      memoryBytes: def.resources?.memory !== undefined ? parseMemoryBytes(def.resources.memory) : null,
      hosts: [...(def.hosts ?? [])],
      entrypoint: stdio ? stdio.entrypoint : def.entrypoint ? [...def.entrypoint] : null,
      command: stdio ? stdio.command : def.command ? [...def.command] : null,
      // Only on stdio tongs, so the plans of every other tong stay as they were.
      ...(stdio ? { transport: 'stdio' as const, bridge: stdio.bridge } : {}),
      // Only on tongs that use the github-app provider or configure it (issue #15 item 2).
      ...(def.github_app !== undefined || Object.values(secretEnv).some((v) => v.includes(`\${secret:${GITHUB_APP_PROVIDER}:`))
        ? { githubApp: { permissions: githubAppPermissions(def) } }
        : {}),
      readiness: plannedReadiness(tong, alias, port),
      egress: egressOf(tong),
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

  // Shared network namespaces (issue #12 item 4): the holder runs from the anvil's image, as the relay
  // and the readiness probe do, so an anvil argv naming no image groups nothing.
  const egressNetworkName = network.internal && withEgress > 0 ? `${networkName}-egress` : null;
  const grouped =
    input.sharedNetns !== false && docker?.image
      ? planNetns(tongs, {
          short,
          image: docker.image,
          labels: sessionLabels,
          networkOf: (t) => (egressNetworkName && t.egress ? egressNetworkName : networkName),
        })
      : null;
  for (const t of tongs) {
    const holder = grouped?.holderOf.get(t.name);
    if (holder) t.netns = holder;
  }

  const mcpTongs = tongs.filter((t) => t.kind === 'mcp');
  let mcpConfig: Record<string, unknown> | null = null;
  const files: LaunchPlan['files'] = [];
  const inserted: string[] = [];
  const appended: string[] = [];
  const relayed = tongs.filter((t) => t.port !== null);
  const egressNetwork: PlannedNetwork | null =
    egressNetworkName
      ? { name: egressNetworkName, labels: { ...sessionLabels, [LABEL_ROLE]: 'egress-network' }, internal: false }
      : null;
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

  // Model tongs (issue #11): the session bearer in a read-only file; the emitter points the harness at the tong.
  const models: PlannedModel[] = [];
  const tokenFiles: LaunchPlan['files'] = [];
  for (const t of tongs) {
    if (t.kind !== 'model' || !t.dialect || !emitter?.dialects.includes(t.dialect)) continue; // refused above
    const tokenPath = modelTokenContainerPath(t.dialect);
    models.push({ dialect: t.dialect, tong: t.name, baseUrl: t.url ?? '', tokenPath });
    tokenFiles.push({ hostPath: hostFilePath(input.tempDir, tokenPath), containerPath: tokenPath, content: t.secretEnv.TONGS_MODEL_TOKEN ?? '', mode: 0o600 });
  }
  // Everything the harness needs (DESIGN.md "Harnesses"): the emitter's files, anvil options and arguments.
  if ((mcpTongs.length > 0 || models.length > 0) && emitter) {
    const emission = emitter.emit({
      servers: mcpTongs.map((t) => ({ name: t.alias, url: t.url ?? '', bearerToken: t.secretEnv.TONGS_MCP_TOKEN ?? null })),
      models,
    });
    mcpConfig = mcpTongs.length > 0 ? emission.mcpConfig : null;
    files.push(...emission.files.map((f) => ({ hostPath: hostFilePath(input.tempDir, f.containerPath), containerPath: f.containerPath, content: f.content, mode: f.mode })), ...tokenFiles);
    inserted.push(...anvilOptions(emitter.harness, emission.anvil, files));
    appended.push(...emission.harnessArgs);
  }
  // The egress tong: the anvil's only way out, for the hosts on its allowlist (the seal's rule 5).
  const egressTong = tongs.find((t) => t.kind === 'egress');
  let egress: LaunchPlan['egress'] = null;
  if (egressTong) {
    const proxyUrl = `http://${egressTong.alias}:${egressTong.port}`;
    const noProxy = [...new Set([...tongs.flatMap((t) => [t.alias, ...t.aliases]), ...EGRESS_NO_PROXY_EXTRA])].join(',');
    for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy']) inserted.push('-e', `${name}=${proxyUrl}`);
    inserted.push('-e', `NO_PROXY=${noProxy}`, '-e', `no_proxy=${noProxy}`);
    egress = { tong: egressTong.name, proxyUrl, open: input.egress?.open ?? false, allow: egressAllow, login: loginHosts };
  }
  for (const t of tongs) {
    if (t.kind !== 'port') continue;
    const prefix = tongEnvPrefix(t.name);
    inserted.push('-e', `${prefix}_HOST=${t.alias}`, '-e', `${prefix}_PORT=${t.port}`);
  }
  // `docker run -u UID[:GID]`: the entrypoint never runs as root, so the files must be readable by that uid as written.
  const anvilUser = numericUser(docker?.user ?? null);
  const launchOrder = plannedLaunchOrder(input, docker);
  if (launchOrder.gate) inserted.push('-v', `${launchOrder.gate.hostDir}:${launchOrder.gate.containerDir}:ro`, '-e', `TONGS_GATE=${launchOrder.gate.containerDir}`);
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
    egressNetwork,
    mcpConfig,
    models,
    skipped,
    warnings: [...modelWarnings(models, docker?.envNames ?? []), ...anvilUserWarnings(docker, files), ...networkWarnings],
    files,
    ...anvil,
    ...(anvilUser && files.length > 0 ? { anvilUser } : {}),
    anvilArgv,
    anvilNetwork: { mode: useRelay ? 'relay' : 'session', loopback },
    relay,
    egress,
    launchOrder,
    ...(grouped && grouped.namespaces.length > 0 ? { netns: grouped.namespaces } : {}),
  };
}

/**
 * The launch order (DESIGN.md "Launch order"): parallel only when the anvil image has the gate and the
 * argv keeps it in the path: its own `--entrypoint` would skip the gate (the harness would run before
 * its tongs are ready), and a detached `docker run` returns at once, so both keep the serial order.
 */
function plannedLaunchOrder(input: PlanInput, docker: DockerRunArgv | null): PlannedLaunchOrder {
  const serial = (reason: string) => ({ mode: 'serial' as const, reason, gate: null });
  if (!docker?.image) return serial('the anvil command is not a `docker run` naming an image');
  if (input.anvilGate !== true) {
    return serial(typeof input.anvilGate === 'string' ? input.anvilGate : `the anvil image ${docker.image} has no ${LABEL_GATE} label`);
  }
  if (docker.entrypoint !== null) return serial('the anvil command replaces the image entrypoint (--entrypoint), which holds the gate');
  if (docker.detach) return serial('the anvil runs detached (-d)');
  return {
    mode: 'parallel',
    reason: `the anvil image ${docker.image} has the ${LABEL_GATE} label: it starts with the tongs and its harness waits for them`,
    gate: { hostDir: path.join(input.tempDir, GATE_DIR_NAME), containerDir: GATE_CONTAINER_DIR },
  };
}

/** The host file of an anvil file: the same path below the session temp dir as below /run/tongs. */
function hostFilePath(tempDir: string, containerPath: string): string {
  return path.join(tempDir, path.posix.relative(ANVIL_FILES_DIR, containerPath));
}

/**
 * The emitter's anvil options as `docker run` options, in its order. A mount must name a planned file
 * and every planned file must be mounted, each once, under /run/tongs: anything else is an emitter bug.
 */
function anvilOptions(harness: string, options: readonly AnvilOption[], files: LaunchPlan['files']): string[] {
  const argv: string[] = [];
  const mounted = new Set<string>();
  const bug = (what: string) => new Error(`internal error: the ${harness} emitter ${what}`);
  for (const f of files) {
    const rel = path.posix.relative(ANVIL_FILES_DIR, f.containerPath);
    if (!path.posix.isAbsolute(f.containerPath) || rel.startsWith('..') || rel === '') throw bug(`emitted a file outside ${ANVIL_FILES_DIR}: ${f.containerPath}`);
  }
  for (const o of options) {
    if ('env' in o) {
      argv.push('-e', `${o.env}=${o.value}`);
      continue;
    }
    const file = files.find((f) => f.containerPath === o.mount);
    if (!file) throw bug(`mounts ${o.mount}, which it did not emit`);
    if (mounted.has(o.mount)) throw bug(`mounts ${o.mount} twice`);
    mounted.add(o.mount);
    argv.push('-v', `${file.hostPath}:${file.containerPath}:ro`);
  }
  const unmounted = files.filter((f) => !mounted.has(f.containerPath)).map((f) => f.containerPath);
  if (unmounted.length > 0) throw bug(`does not mount ${unmounted.join(', ')}`);
  return argv;
}

/** One line when more than one egress tong is defined: a session has one way out, naming every claimant. */
function findEgressConflicts(tongs: readonly MergedTong[]): string[] {
  const egress = tongs.filter((t) => t.definition.interface?.kind === 'egress');
  if (egress.length < 2) return [];
  return [`at most one egress tong per session: ${egress.map((t) => `'${t.name}' (${t.displayPath})`).join(', ')}; disable all but one in a higher layer`];
}

/**
 * One warning per model tong whose dialect's credential or base-URL variables the anvil argv sets
 * itself (`-e ANTHROPIC_API_KEY`): a key set on the host then reaches the anvil, and a later `-e` of
 * the base URL (even `-e NAME` with NAME unset on the host) overrides or removes the one the emitter
 * set, so the harness bypasses the tong.
 */
/**
 * A `-u` naming a user or group (not numbers): the launcher cannot tell which uid will read its files
 * in /run/tongs (0600, the launcher's), so the harness may fail to read them; say how to fix it.
 */
function anvilUserWarnings(docker: DockerRunArgv | null, files: readonly PlannedFile[]): string[] {
  if (!docker?.user || files.length === 0 || numericUser(docker.user)) return [];
  return [
    `the anvil runs as -u ${docker.user}, which names a user or group: the harness may not read the launcher's files in ` +
      `/run/tongs; give a numeric -u UID:GID`,
  ];
}

function modelWarnings(models: readonly PlannedModel[], envNames: readonly string[]): string[] {
  const warnings: string[] = [];
  for (const m of models) {
    const passed = MODEL_DIALECTS[m.dialect].anvilEnv.filter((name) => envNames.includes(name));
    if (passed.length === 0) continue;
    warnings.push(
      `the anvil command sets ${passed.join(', ')} itself (-e): a key the host has there reaches the anvil, and the harness ` +
        `may bypass the model tong '${m.tong}' (an -e after the emitter's replaces or unsets its value); drop ${passed.length === 1 ? 'it' : 'them'} from the anvil command`,
    );
  }
  return warnings;
}

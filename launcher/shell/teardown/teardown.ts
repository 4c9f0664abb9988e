/**
 * Teardown (DESIGN.md "Wiring a session" step 7; issue #3 items 5 and 8; STYLE.md "Idempotent
 * operations": teardown is "remove everything labelled with this session"): the by-label removal that
 * a session's teardown, `tongs gc` and the start-up sweep share, the removal that begins when the
 * anvil's container exits (issue #12 item 3), and the session views that judge which sessions are dead.
 *
 * A session is alive while its launcher is: the `dev.tongs.launcher.host` label equals this machine's
 * hostname and the process `dev.tongs.launcher.pid` exists. Sessions started on another host are never
 * judged (their pids mean nothing here). Shared tongs (`lifecycle: shared`) outlive sessions.
 */
import { hostname as osHostname } from 'node:os';
import { LABEL_LAUNCHER_HOST, LABEL_LAUNCHER_PID, LABEL_LIFECYCLE, LABEL_MANAGED, LABEL_ROLE, LABEL_SESSION, LABEL_STARTED } from '../../core/labels.js';
import type { LaunchPlan } from '../../core/plan-types.js';
import { DockerError } from '../../errors.js';
import type { ContainerRuntime, ContainerSummary, NetworkSummary } from '../engine/runtime.js';

/** Whether process `pid` exists on this machine (EPERM: it exists, owned by someone else). */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How liveness is judged; injectable for tests. */
export interface Liveness {
  hostname: string;
  isPidAlive: (pid: number) => boolean;
  /** The clock, in ms since the epoch (default Date.now). */
  now?: () => number;
}

export const defaultLiveness = (): Liveness => ({ hostname: osHostname(), isPidAlive });

/** What removal did, for summaries. */
export interface RemovalSummary {
  containers: number;
  networks: number;
}

export const isShared = (labels: Record<string, string>) => labels[LABEL_LIFECYCLE] === 'shared';

/**
 * Remove a session's resources by label, idempotently and in parallel (issue #3 item 5): every
 * container labelled with the session except shared tongs (which are only disconnected from the
 * session's networks), then the session's networks (labelled, plus `networkName` if given). A missing
 * object is success. Throws DockerError only when something could not be removed.
 */
export async function removeSessionResources(
  runtime: ContainerRuntime,
  sessionId: string,
  networkName: string | null = null,
): Promise<RemovalSummary> {
  const [containers, labelledNets, shared, volumes] = await Promise.all([
    runtime.listContainers({ [LABEL_SESSION]: sessionId }),
    runtime.listNetworks({ [LABEL_SESSION]: sessionId }),
    runtime.listContainers({ [LABEL_MANAGED]: 'true', [LABEL_LIFECYCLE]: 'shared' }),
    runtime.listVolumes({ [LABEL_SESSION]: sessionId }),
  ]);
  const networks = new Set(labelledNets.map((n) => n.name));
  if (networkName) networks.add(networkName);
  const doomed = containers.filter((c) => !isShared(c.labels));
  await Promise.all([
    removeContainers(runtime, doomed),
    ...shared.flatMap((c) => c.networks.filter((n) => networks.has(n)).map((n) => runtime.disconnectNetwork(n, c.id))),
  ]);
  // The networks and the relay's socket volume (DESIGN.md "The seal" rule 5), together: the containers
  // that used them are gone now.
  await Promise.all([...[...networks].map((n) => removeNetworkSettled(runtime, n)), ...volumes.map((v) => removeVolumeSettled(runtime, v.name))]);
  return { containers: doomed.length, networks: labelledNets.length };
}

/**
 * Remove `containers` in parallel, the holders of shared network namespaces (launcher/core/netns.ts)
 * after the rest: Podman refuses to remove a container others joined ("has dependent containers"),
 * and on Docker the tongs would lose their network mid-removal.
 */
async function removeContainers(runtime: ContainerRuntime, containers: readonly ContainerSummary[]): Promise<void> {
  const holders = containers.filter((c) => c.labels[LABEL_ROLE] === 'netns');
  await Promise.all(containers.filter((c) => !holders.includes(c)).map((c) => runtime.removeContainer(c.id)));
  await Promise.all(holders.map((c) => runtime.removeContainer(c.id)));
}

/**
 * Remove a network, allowing a moment for endpoints still being released (an `--rm` anvil whose
 * removal the engine is finishing). Gives up after ~2 s with the engine's message.
 */
function removeNetworkSettled(runtime: ContainerRuntime, name: string): Promise<void> {
  return whenReleased(() => runtime.removeNetwork(name));
}

/**
 * The same for the relay's socket volume, which the anvil mounts: `docker run --rm` removes the anvil
 * a moment after it exits, and until then the engine refuses the volume as in use.
 */
function removeVolumeSettled(runtime: ContainerRuntime, name: string): Promise<void> {
  return whenReleased(() => runtime.removeVolume(name));
}

/** Run `remove`, again while the engine says the object is in use: 10 retries, 50-300 ms apart (~2 s). */
async function whenReleased(remove: () => Promise<void>): Promise<void> {
  const { default: pRetry } = await import('p-retry');
  await pRetry(remove, {
    retries: 10,
    minTimeout: 50,
    maxTimeout: 300,
    factor: 1.5,
    shouldRetry: (err) => err instanceof DockerError && err.kind === 'in-use',
  });
}

/** One session as `ps` and `gc` see it. */
export interface SessionView {
  id: string;
  pid: number | null;
  host: string | null;
  started: string | null;
  /** true / false when judged on this host, null when it belongs to another host or has no owner labels. */
  alive: boolean | null;
  network: NetworkSummary | null;
  tongs: ContainerSummary[];
  anvils: ContainerSummary[];
  others: ContainerSummary[];
}

export function collectSessions(
  containers: ContainerSummary[],
  networks: NetworkSummary[],
  liveness: Liveness,
  /** The relay's socket volumes: a session whose containers and networks are gone may still hold one. */
  volumes: { name: string; labels: Record<string, string> }[] = [],
): { sessions: Map<string, SessionView>; shared: ContainerSummary[] } {
  const sessions = new Map<string, SessionView>();
  const view = (id: string): SessionView => {
    let s = sessions.get(id);
    if (!s) {
      s = { id, pid: null, host: null, started: null, alive: null, network: null, tongs: [], anvils: [], others: [] };
      sessions.set(id, s);
    }
    return s;
  };
  const owner = (s: SessionView, labels: Record<string, string>) => {
    const pid = Number(labels[LABEL_LAUNCHER_PID]);
    if (s.pid === null && labels[LABEL_LAUNCHER_PID] && Number.isInteger(pid)) s.pid = pid;
    s.host ??= labels[LABEL_LAUNCHER_HOST] ?? null;
    s.started ??= labels[LABEL_STARTED] ?? null;
  };
  const shared: ContainerSummary[] = [];
  for (const c of containers) {
    if (isShared(c.labels)) {
      shared.push(c);
      continue;
    }
    const id = c.labels[LABEL_SESSION];
    if (!id) continue;
    const s = view(id);
    owner(s, c.labels);
    const role = c.labels[LABEL_ROLE];
    if (role === 'tong') s.tongs.push(c);
    else if (role === 'anvil') s.anvils.push(c);
    else s.others.push(c);
  }
  for (const n of networks) {
    const id = n.labels[LABEL_SESSION];
    if (!id) continue;
    const s = view(id);
    owner(s, n.labels);
    // The session network, not its egress network (both carry the session's label; either is removed).
    if (n.labels[LABEL_ROLE] !== 'egress-network' || s.network === null) s.network = n;
  }
  for (const v of volumes) {
    const id = v.labels[LABEL_SESSION];
    if (id) owner(view(id), v.labels);
  }
  for (const s of sessions.values()) {
    if (s.pid !== null && s.host === liveness.hostname) s.alive = liveness.isPidAlive(s.pid);
  }
  return { sessions, shared };
}

/** Is session `s` dead, so gc may remove it? Anvil-only leftovers (no owner labels) go once stopped. */
/**
 * An anvil just made by `docker run` is `created` for a moment before it runs, and a sweep that listed
 * the networks a moment before the session's own network existed sees no owner for it: such an anvil
 * counts as starting, not dead, for this long (seconds).
 */
const STARTING_ANVIL_GRACE_S = 60;

function isDead(s: SessionView, liveness: Liveness): boolean {
  if (s.alive === false) return true;
  if (s.pid === null && s.host === null) {
    const now = (liveness.now?.() ?? Date.now()) / 1000;
    const starting = (a: ContainerSummary) => a.state === 'created' && now - a.created < STARTING_ANVIL_GRACE_S;
    return s.anvils.every((a) => a.state !== 'running' && !starting(a)) && s.tongs.length === 0;
  }
  return false;
}

export interface SweepResult {
  sessions: string[];
  containers: number;
  networks: number;
  shared: number;
}

/**
 * Remove what dead sessions left behind (issue #3 item 8), in parallel. `shared: true` also removes
 * shared tongs that no live session's network holds. `keep` is a session id never to touch (the
 * caller's own).
 */
export async function sweepDeadSessions(
  runtime: ContainerRuntime,
  options: { shared: boolean; keep?: string; liveness?: Liveness },
): Promise<SweepResult> {
  const liveness = options.liveness ?? defaultLiveness();
  const [containers, networks, volumes] = await Promise.all([
    runtime.listContainers({ [LABEL_MANAGED]: 'true' }),
    runtime.listNetworks({ [LABEL_MANAGED]: 'true' }),
    runtime.listVolumes({ [LABEL_MANAGED]: 'true' }),
  ]);
  // Anvils carry only the session and role labels (the plan puts them in the argv).
  const anvils = await runtime.listContainers({ [LABEL_ROLE]: 'anvil' });
  const seen = new Set(containers.map((c) => c.id));
  const all = [...containers, ...anvils.filter((a) => !seen.has(a.id))];
  const { sessions, shared } = collectSessions(all, networks, liveness, volumes);
  const dead = [...sessions.values()].filter((s) => s.id !== options.keep && isDead(s, liveness));
  const results = await Promise.all(dead.map((s) => removeSessionResources(runtime, s.id, s.network?.name ?? null)));
  let sharedRemoved = 0;
  if (options.shared) {
    const liveNets = new Set(
      [...sessions.values()].filter((s) => !dead.includes(s) && s.network).map((s) => s.network!.name),
    );
    const idle = shared.filter((c) => !c.networks.some((n) => liveNets.has(n)));
    await Promise.all(idle.map((c) => runtime.removeContainer(c.id)));
    sharedRemoved = idle.length;
  }
  return {
    sessions: dead.map((s) => s.id),
    containers: results.reduce((n, r) => n + r.containers, 0),
    networks: results.reduce((n, r) => n + r.networks, 0),
    shared: sharedRemoved,
  };
}

/**
 * Once the session's anvil container exits, remove the session's other containers (not a shared
 * tong, which outlives the session). Resolves with how many went and when the
 * removal began (Date.now()), or 0 when the anvil container cannot be found or waited for (then
 * teardown removes everything itself); never rejects.
 */
export async function removeAtAnvilExit(
  runtime: ContainerRuntime,
  plan: LaunchPlan,
): Promise<{ containers: number; startedAt: number }> {
  const none = { containers: 0, startedAt: Date.now() };
  try {
    const [anvil] = await runtime.listContainers({ [LABEL_SESSION]: plan.sessionId, [LABEL_ROLE]: 'anvil' });
    // Only a running anvil: the engine's wait returns at once for one created but not yet started (the
    // create → connect → start path), and one not there yet cannot be waited for. Teardown does it all then.
    if (!anvil || anvil.state !== 'running') return none;
    await runtime.waitContainer(anvil.id);
    const startedAt = Date.now();
    // By label, as teardown does: the tongs, the relay and anything else of the session but the anvil
    // (the docker CLI removes a `--rm` one) and shared tongs (they outlive the session).
    const doomed = (await runtime.listContainers({ [LABEL_SESSION]: plan.sessionId })).filter(
      (c) => c.labels[LABEL_ROLE] !== 'anvil' && c.labels[LABEL_LIFECYCLE] !== 'shared',
    );
    await removeContainers(runtime, doomed);
    return { containers: doomed.length, startedAt };
  } catch {
    return none;
  }
}

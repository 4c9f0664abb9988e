/**
 * Shared network namespaces (issue #12 item 4): session tongs whose ports differ join one network
 * namespace, held by a small container that sleeps, instead of each getting an endpoint of its own on
 * the session network. The engine sets up a network sandbox (veth pair, bridge port, DNS entry) one
 * container at a time; a container that joins another's namespace (`--network container:ID`) skips
 * all of it. Measured on Docker 20.10 here: ten tiny tongs started in parallel took 2.5 s on one
 * bridge network, and 1.3 s as a holder plus ten joined.
 *
 * What stays true (the guarantees the issue names):
 * - aliases: the holder carries every alias of its tongs on the network, and each tong listens on its
 *   own port there, so `http://<alias>:<port>` reaches the same server as before;
 * - egress (DESIGN.md "The seal" rule 5): a namespace holds tongs of one network only (the internal
 *   session network or the egress network), so no tong gains a way out;
 * - a tong's traffic: joined tongs run without `NET_RAW`, so none can open a raw socket on the shared
 *   interface and read another's requests (on a bridge, reading them takes ARP spoofing, which needs
 *   the same capability);
 * - a crash of one tong leaves the others' network alone: the holder is not a tong.
 *
 * What changes: tongs in one namespace share `localhost`. A tong that serves something on 127.0.0.1
 * besides its declared port is reachable there by the tongs beside it, and two that bind the same
 * undeclared port collide. Shared tongs (`lifecycle: shared`, reused across sessions), tongs without
 * a port, and tongs whose extra /etc/hosts entries differ keep their own namespace.
 * `TONGS_SHARED_NETNS=0` turns grouping off (the shell reads it; PlanInput `sharedNetns`).
 */
import type { PlannedNetns, PlannedTong } from './plan-types.js';
import { LABEL_ROLE } from './labels.js';

/** The environment variable whose value `0` turns grouping off (read by the shell). */
export const SHARED_NETNS_ENV = 'TONGS_SHARED_NETNS';
/** The holder's argv: sleep for ~68 years (an integer both GNU and busybox `sleep` accept). */
export const NETNS_HOLDER_COMMAND = ['sleep', '2147483647'];
/** The holder's memory limit, in bytes: `sleep` needs well under 1 MB. */
export const NETNS_HOLDER_MEMORY_BYTES = 16 * 1024 * 1024;
/** The capability a joined tong runs without (raw sockets would see the namespace's other traffic). */
export const NETNS_DROPPED_CAPABILITIES = ['NET_RAW'];
/**
 * The fewest tongs a namespace is made for. One tong gains nothing from a holder (a container start
 * more on its path); from two on, the holder's start is paid once and every joined tong skips its own
 * sandbox set-up.
 */
export const NETNS_MIN_TONGS = 2;

/**
 * Group `tongs` into shared namespaces. Pure; deterministic in plan order (first fit: a tong joins the
 * first namespace of its network and hosts that has no tong on its port yet).
 * @param networkOf the network a tong is on (the egress network for a tong with `egress` behind the
 *   relay, else the session network).
 * @returns the namespaces (only those of at least {@link NETNS_MIN_TONGS} tongs), and per grouped tong
 *   the holder's container name.
 */
export function planNetns(
  tongs: readonly PlannedTong[],
  options: { short: string; image: string; labels: Record<string, string>; networkOf: (t: PlannedTong) => string },
): { namespaces: PlannedNetns[]; holderOf: Map<string, string> } {
  const bins: { key: string; network: string; hosts: string[]; ports: Set<number>; members: PlannedTong[] }[] = [];
  for (const t of tongs) {
    if (t.lifecycle !== 'session' || t.port === null) continue;
    const network = options.networkOf(t);
    const hosts = [...new Set(t.hosts)].sort();
    const key = `${network}\n${hosts.join('\n')}`;
    let bin = bins.find((b) => b.key === key && !b.ports.has(t.port!));
    if (!bin) {
      bin = { key, network, hosts, ports: new Set(), members: [] };
      bins.push(bin);
    }
    bin.ports.add(t.port);
    bin.members.push(t);
  }
  const namespaces: PlannedNetns[] = [];
  const holderOf = new Map<string, string>();
  for (const bin of bins) {
    if (bin.members.length < NETNS_MIN_TONGS) continue;
    const containerName = `tongs-${options.short}-netns-${namespaces.length + 1}`;
    namespaces.push({
      containerName,
      image: options.image,
      network: bin.network,
      aliases: bin.members.flatMap((t) => [t.alias, ...t.aliases]),
      hosts: bin.hosts,
      tongs: bin.members.map((t) => t.name),
      labels: { ...options.labels, [LABEL_ROLE]: 'netns' },
    });
    for (const t of bin.members) holderOf.set(t.name, containerName);
  }
  return { namespaces, holderOf };
}

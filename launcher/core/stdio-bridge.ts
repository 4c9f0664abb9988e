/**
 * How a stdio tong runs (DESIGN.md "Stdio tongs", issue #13 item 1): the bridge
 * (sidecars/stdio-bridge/, bundled by esbuild into one file) is mounted read-only into the tong's
 * own image and becomes its main process; it spawns the definition's `command:` as its stdio child.
 * Pure: the shell (launcher/shell/gather/stdio-bridge.ts) says where the bundle and the host Node runtime
 * are; this module turns that into a mount, an entrypoint and a command, or a refusal.
 *
 * Two ways to run the bundle, chosen by `interface.node`:
 *  - `image`: the image's own `node` (18 or newer) runs it. For Node servers (npx, node images,
 *    alpine ones included), from any host.
 *  - `host`: the launcher's host Node runtime runs it: the node binary, the shared libraries `ldd`
 *    lists for it and the dynamic loader, mounted read-only and started through that loader, so it
 *    needs nothing from the image but its CPU architecture. For Python (uvx, pip) and any other
 *    server whose image has no node. Needs a Linux host whose architecture matches the engine's.
 * Absent: `host` when the launcher has a host runtime, else `image`.
 */
import type { PlannedMount } from './plan-types.js';

/** Where the bridge directory is mounted in a stdio tong. */
export const STDIO_BRIDGE_CONTAINER_DIR = '/run/tongs/bridge';
/** The bundle inside the bridge directory. */
export const STDIO_BRIDGE_BUNDLE = 'bridge.mjs';
/** The host runtime inside the bridge directory: `loader`, `node`, `lib/`. */
export const STDIO_BRIDGE_RUNTIME_DIR = 'runtime';

export const STDIO_NODE_MODES = ['image', 'host'] as const;
export type StdioNodeMode = (typeof STDIO_NODE_MODES)[number];

/** What the shell found on the host (launcher/shell/gather/stdio-bridge.ts `locateStdioBridge`). */
export interface StdioBridgeHost {
  /** Absolute host path of the directory holding `bridge.mjs` (and `runtime/`), or null when the bundle is not built. */
  dir: string | null;
  /** True when `runtime/` holds a Linux Node runtime this host made. */
  hostRuntime: boolean;
  /** Why there is no host runtime, when there is none (e.g. "the host is darwin, not Linux"). */
  hostRuntimeMissing?: string;
}

/** The plan's view of a stdio tong's bridge. */
export interface PlannedBridge {
  /** The stdio server's argv in the image (the definition's `command:`). */
  command: string[];
  /** Which node runs the bridge: the image's own, or the host runtime mounted with it. */
  node: StdioNodeMode;
}

/** What planLaunch puts on a stdio tong. */
export interface StdioTongLaunch {
  bridge: PlannedBridge;
  mount: PlannedMount;
  entrypoint: string[];
  command: string[];
}

const IN = (...parts: string[]) => [STDIO_BRIDGE_CONTAINER_DIR, ...parts].join('/');

/**
 * The shell run by `node: image`: refuses, with why and what to do, an image without node, then
 * execs node on the bundle with the bridge arguments. (A tong already needs /bin/sh: its secrets
 * are delivered by a sh wrapper.)
 */
export const IMAGE_NODE_SCRIPT =
  'command -v node >/dev/null 2>&1 || { echo "tongs-stdio-bridge: this image has no node on its PATH, so the bridge cannot run in it with interface.node: image;' +
  ' use interface.node: host (the launcher\'s Node runtime, mounted read-only) or an image with node 18 or newer" >&2; exit 126; }; ' +
  `exec node ${IN(STDIO_BRIDGE_BUNDLE)} "$@"`;

/**
 * The reason a stdio tong cannot be launched with what the host has, or null. Messages say what to
 * do, for `tongs run` and `tongs plan` to refuse with.
 */
export function stdioBridgeRefusal(name: string, where: string, requested: StdioNodeMode | undefined, host: StdioBridgeHost | null): string | null {
  if (!host || !host.dir) {
    return `stdio tong '${name}' (${where}) needs the stdio bridge bundle (dist/stdio-bridge/${STDIO_BRIDGE_BUNDLE}), which is not built: run \`make build\` (or \`npm run build\`) in the tongs checkout`;
  }
  if (requested === 'host' && !host.hostRuntime) {
    return (
      `stdio tong '${name}' (${where}) asks for interface.node: host, but this launcher has no host Node runtime for the bridge` +
      `${host.hostRuntimeMissing ? ` (${host.hostRuntimeMissing})` : ''}: run \`make build\` on a Linux host, ` +
      'or use an image that has node 18 or newer and set interface.node: image'
    );
  }
  return null;
}

/** Mount, entrypoint and command of a stdio tong; call only when `stdioBridgeRefusal` found nothing. */
export function stdioTongLaunch(command: readonly string[], port: number, mcpPath: string, requested: StdioNodeMode | undefined, host: StdioBridgeHost): StdioTongLaunch {
  const node: StdioNodeMode = requested ?? (host.hostRuntime ? 'host' : 'image');
  const args = ['--port', String(port), '--path', mcpPath, '--', ...command];
  const entrypoint =
    node === 'host'
      ? [
          IN(STDIO_BRIDGE_RUNTIME_DIR, 'loader'),
          '--library-path',
          IN(STDIO_BRIDGE_RUNTIME_DIR, 'lib'),
          IN(STDIO_BRIDGE_RUNTIME_DIR, 'node'),
          IN(STDIO_BRIDGE_BUNDLE),
        ]
      : ['/bin/sh', '-c', IMAGE_NODE_SCRIPT, 'tongs-stdio-bridge'];
  return {
    bridge: { command: [...command], node },
    mount: { type: 'bind', source: host.dir!, target: STDIO_BRIDGE_CONTAINER_DIR, readOnly: true },
    entrypoint,
    command: args,
  };
}

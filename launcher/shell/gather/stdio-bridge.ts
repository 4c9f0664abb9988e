/**
 * Finds the stdio bridge on the host (issue #13): the bundle `dist/stdio-bridge/bridge.mjs` and the
 * host Node runtime beside it (`runtime/`), both made by make/stdio-bridge.sh during the build. The
 * pure planner (launcher/core/stdio-bridge.ts) turns what is found into mounts or a refusal.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STDIO_BRIDGE_BUNDLE, STDIO_BRIDGE_RUNTIME_DIR, type StdioBridgeHost } from '../../core/stdio-bridge.js';

/**
 * dist/stdio-bridge of this installation: beside the `dist` directory this module runs from, whether
 * as tsc output (dist/launcher/shell/gather/) or inside the launcher bundle (dist/bundle/).
 */
export function stdioBridgeDir(moduleUrl: string = import.meta.url): string {
  let dir = path.dirname(fileURLToPath(moduleUrl));
  while (path.basename(dir) !== 'dist' && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'stdio-bridge');
}

export function locateStdioBridge(dir: string = stdioBridgeDir()): StdioBridgeHost {
  const bundled = existsSync(path.join(dir, STDIO_BRIDGE_BUNDLE));
  const runtime = path.join(dir, STDIO_BRIDGE_RUNTIME_DIR);
  const hostRuntime = bundled && ['loader', 'node', 'lib'].every((f) => existsSync(path.join(runtime, f)));
  return {
    dir: bundled ? dir : null,
    hostRuntime,
    ...(hostRuntime
      ? {}
      : { hostRuntimeMissing: process.platform !== 'linux' ? `the host is ${process.platform}, not Linux` : `${runtime} is missing` }),
  };
}

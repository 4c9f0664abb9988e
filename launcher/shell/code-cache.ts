/**
 * The V8 code cache for the launch's heavy half (issue #12 "Fast start-up"): v8-compile-cache keeps
 * the compiled code of every CommonJS module required after it is turned on (the bundle's later
 * chunks, dockerode and its dependencies) in `$TONGS_HOME/cache/v8`, one directory per Node version.
 *
 * Turned on only once a launch knows it is more than a passthrough: loading it costs 3-5 ms (crypto,
 * vm, hashing), more than it saves on the passthrough's 40 KB, while `tongs plan` with one tong is
 * 20 ms faster with it (make/bundle.mjs records the figures). Never in the temp dir, which
 * `tongs plan` must leave as it found it.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

let enabled = false;

/** Turn the cache on for what is required from now on; idempotent. `home` is `$TONGS_HOME`. */
export function enableCodeCache(home: string): void {
  if (enabled) return;
  enabled = true;
  // v8-compile-cache reads its directory from the environment once, at load; the variable is removed
  // again so the anvil command and tong processes get the environment the user gave.
  const env = process.env;
  const given = env.V8_COMPILE_CACHE_CACHE_DIR;
  if (!given) env.V8_COMPILE_CACHE_CACHE_DIR = path.join(home, 'cache', 'v8');
  try {
    createRequire(import.meta.url)('v8-compile-cache');
  } finally {
    if (!given) delete env.V8_COMPILE_CACHE_CACHE_DIR;
  }
}

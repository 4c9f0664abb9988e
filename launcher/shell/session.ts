/**
 * Runs a LaunchPlan on a real Docker engine: session network, tongs, readiness, anvil, teardown.
 * Placeholder until the Docker runtime issue (#3) lands; the CLI already calls it.
 */
import { TongsError } from '../errors.js';
import type { LaunchPlan } from '../core/plan-types.js';

export interface RunSessionOptions {
  /** Silence progress lines (`--quiet`). */
  quiet: boolean;
  /** Removes the session's host temp dir (created by the CLI with tmp-promise before planning). */
  cleanupTemp: () => Promise<void>;
}

/**
 * Execute `plan` and return the process exit status to use (the anvil's own status, 128+n after a
 * signal). Throws a TongsError (after teardown) on any launcher failure.
 */
export async function runSession(plan: LaunchPlan, options: RunSessionOptions): Promise<number> {
  await options.cleanupTemp();
  throw new TongsError(
    `starting tongs is not implemented yet (${plan.tongs.map((t) => t.name).join(', ')}); see issue #3`,
  );
}

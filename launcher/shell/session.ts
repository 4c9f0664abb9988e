/**
 * Runs a LaunchPlan on a real Docker engine: session network, tongs, readiness, anvil, teardown.
 * Placeholder until the Docker runtime issue (#3) lands; the CLI already calls it.
 */
import { TongsError } from '../errors.js';
import type { LaunchPlan, PlannedTong } from '../core/plan-types.js';

export interface RunSessionOptions {
  /** Silence progress lines (`--quiet`). */
  quiet: boolean;
  /** Removes the session's host temp dir (created by the CLI with tmp-promise before planning). */
  cleanupTemp: () => Promise<void>;
  /**
   * Resolves the `secretEnv` templates of the tongs that will actually be created (a reused shared
   * tong resolves nothing — issue #6), on the host, before any container exists. Returns, per tong
   * name, the final secret environment. Throws SecretError. Absent ⇒ secretEnv values are used as-is.
   */
  resolveSecrets?: (tongs: PlannedTong[]) => Promise<Map<string, Record<string, string>>>;
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

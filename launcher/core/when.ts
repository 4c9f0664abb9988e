/**
 * `when`: whether a defined tong starts in this session (issue #11 "No key set"). Pure: the CLI
 * passes the names of the host environment variables that are set, never their values.
 *
 * `when: {env: [A, B]}` starts the tong only when at least one of A, B is set to a non-empty value.
 * The decision is made before any Docker work; a skipped tong is reported in the launch summary and
 * in `tongs plan` (`skipped`), and the session goes on without it.
 */
import type { MergedTong } from './layers.js';
import type { SkippedTong } from './plan-types.js';

/** Split `tongs` into those that start and those whose `when` condition fails (input order kept). */
export function applyWhen(
  tongs: readonly MergedTong[],
  hostEnv: readonly string[],
): { started: MergedTong[]; skipped: SkippedTong[] } {
  const set = new Set(hostEnv);
  const started: MergedTong[] = [];
  const skipped: SkippedTong[] = [];
  for (const tong of tongs) {
    const names = tong.definition.when?.env;
    if (!names || names.some((name) => set.has(name))) {
      started.push(tong);
      continue;
    }
    skipped.push({
      name: tong.name,
      layer: tong.layer,
      file: tong.file,
      kind: tong.definition.interface?.kind ?? 'none',
      reason:
        names.length === 1
          ? `${names[0]} is not set on the host (when.env)`
          : `none of ${names.join(', ')} is set on the host (when.env)`,
    });
  }
  return { started, skipped };
}

/** The names of the variables in `env` that are set to a non-empty value (for {@link applyWhen}). */
export function setEnvNames(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.keys(env).filter((name) => (env[name] ?? '') !== '');
}

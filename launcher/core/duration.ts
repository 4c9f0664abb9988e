/**
 * Durations in tong definitions (`readiness.timeout`). Accepted forms (DESIGN.md "Tong definitions",
 * issue #2 item 2): `500ms`, `30s`, `2m`, or a bare number of seconds (YAML number or numeric string);
 * the value must be greater than zero.
 */

/** The string forms, as a regex (also exported into the JSON Schema as a `pattern`). */
export const DURATION_PATTERN = /^(\d+(\.\d+)?)(ms|s|m)?$/;

/** Human list of accepted forms, used in validation messages. */
export const DURATION_FORMS = '500ms, 30s, 2m or a number of seconds';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/**
 * Parse a duration into whole milliseconds (rounded up, so `0.0001` is never silently 0).
 * Returns null when `value` is not an accepted form or is not greater than zero.
 */
export function parseDurationMs(value: string | number): number | null {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value > 0 ? Math.ceil(value * 1000) : null;
  }
  const match = DURATION_PATTERN.exec(value.trim());
  if (!match) return null;
  const amount = Number(match[1]);
  const ms = Math.ceil(amount * (UNIT_MS[match[3] ?? 's'] ?? 1000));
  return ms > 0 ? ms : null;
}

/**
 * Memory sizes in tong definitions (`resources.memory`), in Docker's own units: a number of bytes, or
 * a number with `b`, `k`, `m` or `g` (optionally followed by `b`, any case), binary multiples as in
 * `docker run --memory` (DESIGN.md "Tong definitions": `256m`, `1g`, bytes).
 */

/** The string forms, as a regex (also a `pattern` in the JSON Schema). */
export const MEMORY_PATTERN = /^(\d+(\.\d+)?)\s*([bkmg]b?)?$/i;

/** Human list of accepted forms, used in validation messages. */
export const MEMORY_FORMS = 'a number of bytes or a size like 512k, 256m, 1g';

/** Docker refuses a memory limit below 6 MiB; say so at validation rather than at container start. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

const UNIT_BYTES: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parse a memory size into whole bytes (rounded down); null when not an accepted form. */
export function parseMemoryBytes(value: string | number): number | null {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.floor(value) : null;
  }
  const match = MEMORY_PATTERN.exec(value.trim());
  if (!match) return null;
  const unit = (match[3] ?? 'b').toLowerCase().charAt(0);
  return Math.floor(Number(match[1]) * (UNIT_BYTES[unit] ?? 1));
}

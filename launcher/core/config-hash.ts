/**
 * The config hash of a merged definition (label `dev.tongs.config-hash`, launcher/core/labels.ts):
 * a shared tong is reused only while its container carries the same hash (DESIGN.md "Wiring a
 * session"). Pure and deterministic: object keys are sorted before hashing, so reordering a YAML
 * file does not change it.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted recursively (arrays keep their order). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

/** sha256 (hex, first 16 characters) of the canonical JSON of `value`. */
export function configHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}

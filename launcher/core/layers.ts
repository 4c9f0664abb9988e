/**
 * Merge validated definitions across layers (DESIGN.md "Tong definitions", issue #2 item 3). Pure.
 *
 * Lowest to highest: user → org → repo → workspace. A same-named definition in a higher layer
 * replaces the lower one whole (no field merge); `disable: true` removes it. The workspace layer is
 * untrusted: it may disable a trusted tong but not redefine it — the trusted one is kept and a
 * warning says so.
 */
import type { LayerName } from './plan-types.js';
import type { ValidatedTong } from './validate.js';

/** Layers from lowest to highest precedence. */
export const LAYER_ORDER: readonly LayerName[] = ['user', 'org', 'repo', 'workspace'];

/** Layers whose definitions the user vouches for by installing them. */
export const TRUSTED_LAYERS: ReadonlySet<LayerName> = new Set(['user', 'org', 'repo']);

/** A tong that survived the merge: the winning (enabled) definition. */
export type MergedTong = ValidatedTong & { disabled: false };

export interface MergeResult {
  /** Active tongs, sorted by name. */
  tongs: MergedTong[];
  /** Human sentences for stderr (without the `tongs: ` prefix). */
  warnings: string[];
}

/**
 * Merge definitions from any layers in any order; layer precedence comes from LAYER_ORDER, and
 * within one layer the input order is kept (validation already refuses duplicate names in a layer).
 */
export function mergeLayers(definitions: readonly ValidatedTong[]): MergeResult {
  const byLayer = [...definitions].sort((a, b) => LAYER_ORDER.indexOf(a.layer) - LAYER_ORDER.indexOf(b.layer));
  const active = new Map<string, ValidatedTong>();
  const warnings: string[] = [];
  for (const def of byLayer) {
    const current = active.get(def.name);
    if (def.disabled) {
      active.delete(def.name);
      continue;
    }
    if (def.layer === 'workspace' && current && TRUSTED_LAYERS.has(current.layer)) {
      warnings.push(
        `workspace definition ${def.displayPath} may not redefine the ${current.layer} tong '${def.name}' ` +
          `(${current.displayPath}); keeping the ${current.layer} one (a workspace may only disable it)`,
      );
      continue;
    }
    active.set(def.name, def);
  }
  const tongs = [...active.values()]
    .filter((t): t is MergedTong => !t.disabled)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { tongs, warnings };
}

/**
 * Alias namespace of a session (DESIGN.md "Aliases", issue #2 item 4). Pure.
 *
 * An `mcp` tong's canonical alias is `interface.name`; any other kind's is its (file) name. Extra
 * `interface.aliases` share one namespace with the canonical ones; a name claimed twice is refused
 * before any Docker work.
 */
import type { TongDefinition } from './definition-schema.js';
import type { MergedTong } from './layers.js';

/** The canonical alias of a tong. */
export function canonicalAlias(name: string, definition: TongDefinition): string {
  return definition.interface?.kind === 'mcp' ? definition.interface.name : name;
}

/** Extra aliases (`interface.aliases`), in file order. */
export function extraAliases(definition: TongDefinition): string[] {
  const iface = definition.interface;
  return iface && iface.kind !== 'none' ? [...(iface.aliases ?? [])] : [];
}

interface Claim {
  tong: MergedTong;
  how: 'canonical' | 'interface.aliases';
}

/**
 * Every alias claimed by more than one tong, one line per alias naming every claimant, e.g.
 * `alias 'gh' is claimed by 2 tongs: github (repo layer, sidecars/github.yaml; canonical), gh-proxy
 * (user layer, ~/.tongs/tongs/gh-proxy.yaml; interface.aliases)`. Empty when there is no collision.
 * Lines are sorted by alias.
 */
export function findAliasCollisions(tongs: readonly MergedTong[]): string[] {
  const claims = new Map<string, Claim[]>();
  const claim = (alias: string, c: Claim) => {
    const list = claims.get(alias) ?? [];
    list.push(c);
    claims.set(alias, list);
  };
  for (const tong of tongs) {
    claim(canonicalAlias(tong.name, tong.definition), { tong, how: 'canonical' });
    for (const alias of extraAliases(tong.definition)) claim(alias, { tong, how: 'interface.aliases' });
  }
  return [...claims.entries()]
    .filter(([, list]) => list.length > 1)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(
      ([alias, list]) =>
        `alias '${alias}' is claimed by ${list.length} tongs: ` +
        list.map((c) => `${c.tong.name} (${c.tong.layer} layer, ${c.tong.displayPath}; ${c.how})`).join(', '),
    );
}

/**
 * Cache of validated, merged tong definitions (issue #3 "Speed": launch overhead). Parsing YAML and
 * validating with zod costs a launch 200–250 ms, most of it loading `yaml` and `zod`; when neither the
 * definition files nor the validating code changed since the last launch, the result is read back
 * from `$TONGS_HOME/cache/definitions.json` instead, and neither library is loaded.
 *
 * The key is a SHA-256 over every discovered file (layer, path, display path, text) and over the
 * compiled modules that decide validity and merging (`launcher/core/*.js`), so an edited definition, a
 * new or removed file, another working directory or an upgraded tongs all miss. Only a clean result is
 * stored: a launch with problems always validates, so its messages are always fresh. The cache is an
 * optimisation only: an unreadable, corrupt or unwritable cache means "validate as usual".
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MergedTong } from '../../core/layers.js';
import type { DefinitionSource } from '../../core/validate.js';

/** What a cache entry holds: the merge result, warnings included (they are printed on every launch). */
export interface CachedDefinitions {
  tongs: MergedTong[];
  warnings: string[];
}

/** Bumped when the entry's shape changes. */
const FORMAT = 1;

/** `$TONGS_HOME/cache/definitions.json`. */
export function definitionCachePath(tongsHome: string): string {
  return path.join(tongsHome, 'cache', 'definitions.json');
}

/** The compiled directory of the validating code (`launcher/core/`), two levels up from this module's own. */
const CORE_DIR = fileURLToPath(new URL('../../core/', import.meta.url));

let codeDigest: Promise<string> | undefined;

/**
 * SHA-256 of the core modules' text, read once per process. In the bundle (dist/bundle/, where there
 * is no `core/` beside this module) the core is in one of the bundle's chunks, so every chunk of the
 * bundle's directory is hashed.
 */
function coreCodeDigest(): Promise<string> {
  codeDigest ??= (async () => {
    const hash = createHash('sha256');
    let dir = CORE_DIR;
    let names: string[];
    try {
      names = await readdir(dir, { recursive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      dir = path.dirname(fileURLToPath(import.meta.url));
      names = await readdir(dir);
    }
    for (const name of names.filter((n) => /\.c?js$/.test(n)).sort()) {
      hash.update(`${name}\0`).update(await readFile(path.join(dir, name))).update('\0');
    }
    return hash.digest('hex');
  })();
  return codeDigest;
}

/** The cache key of a set of discovered sources (hex SHA-256). */
export async function definitionCacheKey(sources: readonly DefinitionSource[]): Promise<string> {
  const hash = createHash('sha256').update(`tongs-definitions-${FORMAT}\0${await coreCodeDigest()}\0`);
  for (const s of sources) hash.update(JSON.stringify([s.layer, s.name, s.file, s.displayPath, s.source])).update('\0');
  return hash.digest('hex');
}

/** The stored result for `key`, or null on a miss or any read or format problem. */
export async function readDefinitionCache(file: string, key: string): Promise<CachedDefinitions | null> {
  try {
    const entry = JSON.parse(await readFile(file, 'utf8')) as { key?: unknown; tongs?: unknown; warnings?: unknown };
    if (entry.key !== key || !Array.isArray(entry.tongs) || !Array.isArray(entry.warnings)) return null;
    return { tongs: entry.tongs as MergedTong[], warnings: entry.warnings as string[] };
  } catch {
    return null;
  }
}

/**
 * Store `value` under `key`, replacing any previous entry atomically (write a private temp file, then
 * rename), so concurrent launchers never read half an entry. Errors are swallowed: a launch never
 * fails because its cache cannot be written.
 */
export async function writeDefinitionCache(file: string, key: string, value: CachedDefinitions): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(temp, JSON.stringify({ key, ...value }), { mode: 0o600 });
    await rename(temp, file);
  } catch {
    await rm(temp, { force: true }).catch(() => {}); // best effort, see above
  }
}

/**
 * Discover tong definition files in the four layer directories (DESIGN.md "Tong definitions",
 * issue #2 item 2). The shell half of discovery: it reads the file system and hands plain
 * `DefinitionSource`s to the pure validator (launcher/core/validate.ts).
 *
 * Kept free of zod and yaml imports: the passthrough path (no definitions at all) must start fast.
 */
// Synchronous calls: a few small files, and node:fs/promises would cost the passthrough 1-2 ms of
// module loading (issue #12 "Load nothing on the launch path that the launch does not use").
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../errors.js';
import type { LayerName } from '../../core/plan-types.js';
import type { DefinitionSource } from '../../core/validate.js';

/** One directory per layer; null means the layer is not configured. */
export type LayerDirs = Record<LayerName, string | null>;

const DEFINITION_FILE = /\.ya?ml$/;

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** The path to show in messages: relative to `cwd` when the file is under it, else absolute. */
export function displayPathOf(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/**
 * List and read the `*.yaml` / `*.yml` files (not subdirectories) of one layer directory, sorted
 * by file name. A missing directory contributes nothing; a path that exists but is not a directory
 * is a UsageError (it was almost certainly mistyped).
 */
export async function discoverLayer(layer: LayerName, dir: string, cwd = process.cwd()): Promise<DefinitionSource[]> {
  const abs = path.resolve(cwd, dir);
  let names: string[];
  try {
    names = readdirSync(abs);
  } catch (error) {
    if (errno(error) === 'ENOENT') return [];
    if (errno(error) === 'ENOTDIR') throw new UsageError(`the ${layer} tong layer ${dir} is not a directory`);
    throw error;
  }
  const candidates = names.filter((n) => DEFINITION_FILE.test(n)).sort();
  const sources: DefinitionSource[] = [];
  for (const fileName of candidates) {
    const file = path.join(abs, fileName);
    let isFile = false;
    try {
      isFile = statSync(file).isFile(); // follows symlinks; a dangling or looping one is skipped
    } catch {}
    if (!isFile) continue;
    sources.push({ layer, name: fileName.replace(DEFINITION_FILE, ''), file, displayPath: displayPathOf(file, cwd), source: readFileSync(file, 'utf8') });
  }
  return sources;
}

/** Discover every configured layer, lowest (user) to highest (workspace). */
export async function discoverDefinitions(dirs: LayerDirs, cwd = process.cwd()): Promise<DefinitionSource[]> {
  const order: LayerName[] = ['user', 'org', 'repo', 'workspace'];
  const perLayer = await Promise.all(order.map((layer) => (dirs[layer] ? discoverLayer(layer, dirs[layer], cwd) : [])));
  return perLayer.flat();
}

/**
 * OpenCode config layering for the anvil (issue #4 item 3; ../shared/DESIGN.md "Wiring a session" 5).
 *
 * Rules: objects merge recursively; arrays and scalars are replaced by the later layer. With
 * `replaceMcpEntries`, each server under the top-level `mcp` key of the later layer replaces the
 * same-named entry whole, so a tong's `{type: "remote", url}` never blends with a project's
 * `{type: "local", command}` into an entry that has both. Everything else still deep-merges.
 *
 * Self-contained on purpose (only deepmerge-ts and jsonc-parser): this module is copied into the anvil
 * image beside the bin, without the launcher.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { deepmergeCustom } from 'deepmerge-ts';
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';

/** A JSON object as OpenCode reads it (the top level of every config layer). */
export type JsonObject = { [key: string]: unknown };

/** A config layer could not be read or parsed. `file` names it; the message says where and why. */
export class ConfigLayerError extends Error {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
    this.name = 'ConfigLayerError';
  }
}

/** Arrays are leaves: the later layer's array replaces the earlier one (OpenCode layering, issue #4). */
const mergeLayers = deepmergeCustom<unknown>({ mergeArrays: false });

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Merge `src` over `dst` and return a new object; neither input is modified.
 * @param options.replaceMcpEntries when true, `src.mcp.<name>` replaces `dst.mcp.<name>` whole.
 */
export function mergeOpencodeConfig(
  dst: JsonObject,
  src: JsonObject,
  options: { replaceMcpEntries?: boolean } = {},
): JsonObject {
  let base = dst;
  if (options.replaceMcpEntries && isPlainObject(src.mcp) && isPlainObject(dst.mcp)) {
    // Drop the entries src redefines, then deep-merge: same result as replacing each one whole.
    const kept: JsonObject = {};
    for (const [name, entry] of Object.entries(dst.mcp)) {
      if (!Object.hasOwn(src.mcp, name)) kept[name] = entry;
    }
    base = { ...dst, mcp: kept };
  }
  return mergeLayers(base, src) as JsonObject;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return { line, column };
}

/**
 * Parse one config layer's text. JSONC is accepted (comments, trailing commas), as OpenCode accepts it.
 * @throws ConfigLayerError naming `file`, with line and column of the first syntax error, or when the
 *   top level is not an object.
 */
export function parseConfigLayer(file: string, text: string): JsonObject {
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first) {
    const { line, column } = lineAndColumn(text, first.offset);
    throw new ConfigLayerError(file, `invalid JSON at line ${line}, column ${column}: ${printParseErrorCode(first.error)}`);
  }
  if (!isPlainObject(value)) {
    throw new ConfigLayerError(file, `expected a JSON object at the top level, found ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value;
}

/**
 * Read and parse a layer file.
 * @returns the object, or `undefined` when the file does not exist.
 * @throws ConfigLayerError when it exists but cannot be read or parsed.
 */
export async function readConfigLayer(file: string): Promise<JsonObject | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigLayerError(file, `cannot read: ${(err as Error).message}`, { cause: err });
  }
  return parseConfigLayer(file, text);
}

/**
 * Write `value` as pretty JSON to `file` atomically: a temp file in the same directory, fsync'd, then
 * renamed over `file`, so a reader sees the old or the new content, never half. An existing file's mode
 * is kept; a new file gets 0644.
 */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const dir = path.dirname(file);
  let mode = 0o644;
  try {
    mode = (await fs.stat(file)).mode & 0o7777;
  } catch {
    // new file
  }
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await fs.open(tmp, 'wx', mode);
  try {
    await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * The bin's whole job: merge the layer file `src` into `dst` (a missing `dst` becomes `src`).
 * Both files are parsed before anything is written, so on any error `dst` is untouched.
 * @throws ConfigLayerError naming the bad file (missing `src`, unreadable or invalid JSON).
 */
export async function mergeOpencodeConfigFiles(
  dst: string,
  src: string,
  options: { replaceMcpEntries?: boolean } = {},
): Promise<void> {
  const srcValue = await readConfigLayer(src);
  if (srcValue === undefined) throw new ConfigLayerError(src, 'no such file');
  const dstValue = await readConfigLayer(dst);
  const merged = dstValue === undefined ? srcValue : mergeOpencodeConfig(dstValue, srcValue, options);
  await writeJsonAtomic(dst, merged);
}

#!/usr/bin/env node
/**
 * `tongs-codex-config [--check] CONFIG NAME…` — remove the `[mcp_servers.<NAME>]` entries (with their subtables)
 * from the Codex config file CONFIG in place (issue #14 item 1: a tong's entry replaces the user's
 * same-named entry whole). Codex deep-merges its `-c mcp_servers.<name>.…` overrides into the
 * entry of config.toml; a stdio entry of the user's would blend with the tong's URL and fail to load.
 * The anvil entrypoint runs it on the anvil's private `$CODEX_HOME/config.toml`, never on a file of
 * the host user's. The file is rewritten only when an entry goes (comments are then lost, the
 * values kept); the names removed are printed on stdout, space-separated. `--check` only prints the
 * names CONFIG has and writes nothing (for a file that is not the anvil's own, e.g. the project's
 * `.codex/config.toml`).
 * Exit status: 0 done (also when CONFIG does not exist); 1 CONFIG is not valid TOML; 2 usage error.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parse, stringify } from 'smol-toml';

/** `text` without the `mcp_servers` entries named in `names`, and the names it had. Throws on invalid TOML. */
export function dropMcpServers(text: string, names: readonly string[]): { text: string; removed: string[] } {
  const doc = parse(text) as Record<string, unknown>;
  const servers = doc.mcp_servers;
  if (typeof servers !== 'object' || servers === null || Array.isArray(servers)) return { text, removed: [] };
  const table = servers as Record<string, unknown>;
  const removed = names.filter((n) => Object.hasOwn(table, n));
  if (removed.length === 0) return { text, removed };
  for (const n of removed) delete table[n];
  return { text: stringify(doc), removed };
}

async function main(args: string[]): Promise<number> {
  const check = args[0] === '--check';
  const [file, ...names] = check ? args.slice(1) : args;
  if (!file || names.length === 0) {
    process.stderr.write('usage: tongs-codex-config [--check] CONFIG NAME…\n');
    return 2;
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let result;
  try {
    result = dropMcpServers(text, names);
  } catch (err) {
    process.stderr.write(`tongs: ${file}: not valid TOML: ${(err as Error).message}\n`);
    return 1;
  }
  if (!check && result.removed.length > 0) await writeFile(file, result.text);
  process.stdout.write(result.removed.join(' '));
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main(process.argv.slice(2));

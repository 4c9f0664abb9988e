/**
 * Reads the egress allowlist files (issue #11 item 2, "The allowlist") for the pure core
 * (launcher/core/egress.ts): the user's `$TONGS_HOME/egress.yaml` (TONGS_HOME defaulting to
 * `~/.tongs`), an org file when one is given, and the workspace's `.tongs/egress.yaml`. A missing
 * file is empty (it allows nothing) but is still listed, since it is where an entry would go.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TongsError } from '../../errors.js';
import type { EgressSource } from '../../core/egress.js';

/** `$TONGS_HOME/egress.yaml`, `TONGS_HOME` defaulting to `~/.tongs`. */
export function userEgressFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.TONGS_HOME || path.join(os.homedir(), '.tongs'), 'egress.yaml');
}

/** `<workspace>/.tongs/egress.yaml`. */
export function workspaceEgressFile(workspace: string): string {
  return path.join(path.resolve(workspace), '.tongs', 'egress.yaml');
}

/** Where the files are; each path is made absolute. */
export interface EgressFileLocations {
  /** Default `userEgressFile()`. */
  userFile?: string;
  /** The org file, if the org has one. */
  orgFile?: string;
  /** The workspace; its `.tongs/egress.yaml` is read. Absent: no workspace file. */
  workspace?: string;
}

async function readOrEmpty(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new TongsError(`cannot read the egress allowlist ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The allowlist sources in merge order (user, org, workspace), their text read from disk ('' for a
 * missing file). Rejects with a `TongsError` naming the file when one exists but cannot be read.
 */
export async function readEgressSources(where: EgressFileLocations = {}, env: NodeJS.ProcessEnv = process.env): Promise<EgressSource[]> {
  const files: { path: string; layer: EgressSource['layer'] }[] = [{ path: path.resolve(where.userFile ?? userEgressFile(env)), layer: 'user' }];
  if (where.orgFile) files.push({ path: path.resolve(where.orgFile), layer: 'org' });
  if (where.workspace) files.push({ path: workspaceEgressFile(where.workspace), layer: 'workspace' });
  return Promise.all(files.map(async (f) => ({ ...f, text: await readOrEmpty(f.path) })));
}

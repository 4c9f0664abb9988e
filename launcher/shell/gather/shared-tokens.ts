/**
 * Bearer tokens of shared mcp tongs (issue #6 "Per-session MCP bearer"). A session tong gets a fresh
 * token every session; a shared tong outlives sessions and cannot learn a new one, so it keeps one
 * token per tong, stored on the host where every later session finds it:
 * `$TONGS_HOME/shared-tokens/<tong name>`, mode 0600 in a 0700 directory. The token only lets a
 * caller talk to that tong; the tong's own credentials never leave it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The shared tong `name`'s bearer token (43 base64url characters), created on first use. Creation is
 * exclusive (`wx`), so two launchers starting at once agree on one token.
 * @throws the file-system error when `dir` cannot be created or read.
 */
export async function sharedTongToken(dir: string, name: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, name);
  const token = randomBytes(32).toString('base64url');
  try {
    await writeFile(file, `${token}\n`, { flag: 'wx', mode: 0o600 });
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const stored = (await readFile(file, 'utf8')).trim();
  if (stored) return stored;
  // An empty file (a launcher killed mid-write): replace it.
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return token;
}

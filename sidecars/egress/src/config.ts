/**
 * The egress tong's configuration, read only from its environment (issue #11 item 2, "The egress
 * tong"). The names are `EGRESS_ENV` in launcher/core/egress-match.ts, which the launcher uses to
 * write them:
 *
 * | variable | meaning |
 * | --- | --- |
 * | `TONGS_EGRESS_ALLOW` | comma-separated allowlist entries (`registry.npmjs.org,*.example.com,api.example.com:8443`) |
 * | `TONGS_EGRESS_ALLOW_FILE` | path of a JSON file holding a list of entries, added to the above |
 * | `TONGS_EGRESS` | `open`: every host and port is allowed; otherwise the allowlist applies |
 * | `TONGS_EGRESS_FILES` | the host's allowlist files in merge order, one per line (named in refusals) |
 * | `TONGS_EGRESS_USER_FILE` | the file a refusal says to edit (default: the first of the files, else `~/.tongs/egress.yaml`) |
 * | `PORT` | listen port (default 3128; 0 = any free port) |
 *
 * An invalid entry is a configuration problem: the tong refuses to start rather than allow less or
 * more than the list says.
 */
import { readFileSync } from 'node:fs';
import { EGRESS_ENV, parseEgressEntries, type EgressEntry } from '../../../launcher/core/egress-match.js';

export const DEFAULT_PORT = 3128;
export const DEFAULT_USER_FILE = '~/.tongs/egress.yaml';

export interface EgressConfig {
  port: number;
  /** `TONGS_EGRESS=open`: everything is allowed. */
  open: boolean;
  entries: EgressEntry[];
  /** Allowlist files (host paths) in merge order, for messages. */
  files: string[];
  /** The file a refusal names as the place to add a host. */
  userFile: string;
  /** Sentences; non-empty means the tong must not start. */
  problems: string[];
}

/** Reads the configuration. `readFile` reads `TONGS_EGRESS_ALLOW_FILE` (injected for tests). */
export function readEgressConfig(
  env: NodeJS.ProcessEnv,
  readFile: (file: string) => string = (file) => readFileSync(file, 'utf8'),
): EgressConfig {
  const problems: string[] = [];
  const written = (env[EGRESS_ENV.allow] ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '');
  const allowFile = env[EGRESS_ENV.allowFile];
  if (allowFile) {
    try {
      const list: unknown = JSON.parse(readFile(allowFile));
      if (Array.isArray(list) && list.every((e) => typeof e === 'string')) written.push(...(list as string[]));
      else problems.push(`${EGRESS_ENV.allowFile} ${allowFile}: expected a JSON list of strings`);
    } catch (err) {
      problems.push(`${EGRESS_ENV.allowFile} ${allowFile}: ${(err as Error).message}`);
    }
  }
  const { entries, errors } = parseEgressEntries(written);
  problems.push(...errors.map((e) => `allowlist ${e}`));
  let port = DEFAULT_PORT;
  if (env.PORT) {
    port = Number(env.PORT);
    // 0: any free port (tests and benchmarks read it from the "listening on" line).
    if (!/^\d+$/.test(env.PORT) || port > 65535) problems.push(`PORT ${JSON.stringify(env.PORT)}: expected a port number 1–65535 (0: any free port)`);
  }
  const files = (env[EGRESS_ENV.files] ?? '').split('\n').map((f) => f.trim()).filter((f) => f !== '');
  return {
    port,
    open: env[EGRESS_ENV.mode] === 'open',
    entries,
    files,
    userFile: env[EGRESS_ENV.userFile] || files[0] || DEFAULT_USER_FILE,
    problems,
  };
}

/**
 * The GitHub token as the launcher may refresh it while the tong runs (issue #15 item 2: GitHub App
 * installation tokens live one hour). `GITHUB_TOKEN` holds the value the tong started with;
 * `GITHUB_TOKEN_FILE`, when set, names a file in the tong's secret tmpfs that the launcher replaces
 * with each new token (launcher/shell/apply/secret-delivery.ts `deliverRefreshedSecret`). The file is
 * looked at on every call (one `stat`, a read only when it changed), so a call after a refresh uses
 * the new token and a call in flight keeps the one it started with: no call is dropped.
 */
import { readFileSync, statSync } from 'node:fs';

/** The current token, and every token seen so far (for redaction). */
export interface TokenSource {
  /** The newest complete token: the file's, once it exists and holds one line, else the initial one. */
  current(): string | undefined;
}

/**
 * @param initial `GITHUB_TOKEN` (may be undefined).
 * @param file `GITHUB_TOKEN_FILE`, or undefined for a fixed token.
 * @param seen every token read is appended here (the server's and the logger's redaction list).
 */
export function createTokenSource(initial: string | undefined, file: string | undefined, seen: Array<string | undefined>): TokenSource {
  let token = initial;
  let stamp = '';
  return {
    current() {
      if (!file) return token;
      let now: string;
      try {
        const st = statSync(file);
        now = `${st.mtimeMs}:${st.size}:${st.ino}`;
      } catch {
        return token; // not refreshed yet
      }
      if (now === stamp) return token;
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        return token;
      }
      // A value is complete only with its newline: a write still in progress leaves the last one in use.
      if (!text.endsWith('\n') || text.trim() === '') return token;
      stamp = now;
      const next = text.trim();
      if (next !== token) {
        token = next;
        if (!seen.includes(next)) seen.push(next);
      }
      return token;
    },
  };
}

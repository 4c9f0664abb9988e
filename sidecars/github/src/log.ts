/**
 * The tong's stderr logger (issue #5: log to stderr only, never the token). Every line is prefixed
 * `tongs: <tong name>: ` (STYLE.md) and passed through `redact` with every secret the tong holds.
 */
import { redact } from './errors.js';

/** Writes one line; `secrets` are removed from it first. */
export type LogLine = (line: string) => void;

/** Creates a logger writing to `write` (default: process.stderr). */
export function createLogger(
  tongName: string,
  secrets: ReadonlyArray<string | undefined>,
  write: (text: string) => void = (text) => void process.stderr.write(text),
): LogLine {
  return (line) => write(`tongs: ${tongName}: ${redact(line, secrets).replace(/\n/g, '\\n')}\n`);
}

/**
 * The model tong's stderr logger. Every line is prefixed `tongs: <tong name>: ` (STYLE.md) and has
 * every secret the tong holds cut out first. Nothing in the tong logs a header value or a body.
 */

export type LogLine = (line: string) => void;

/** `text` with every occurrence of each secret replaced by `[redacted]`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('[redacted]');
  return out;
}

export function createLogger(
  tongName: string,
  secrets: readonly string[],
  write: (text: string) => void = (text) => void process.stderr.write(text),
): LogLine {
  return (line) => write(`tongs: ${tongName}: ${redact(line, secrets).replace(/\n/g, '\\n')}\n`);
}

/**
 * Where a tong definition's `env` values are, by line (issue #13 item 4: an unknown secret provider
 * is refused with the file and line of the reference). Pure: it parses text the shell read, with the
 * yaml package's LineCounter, as launcher/core/validate.ts does.
 */
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';

/**
 * The 1-based line of the value of `env.<name>` in a definition's text, or null when the text has no
 * such key (or does not parse).
 */
export function envValueLine(text: string, name: string): number | null {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length > 0) return null;
  const env = doc.get('env', true);
  if (!isMap(env)) return null;
  for (const pair of env.items) {
    if (!isScalar(pair.key) || String(pair.key.value) !== name) continue;
    const node = (isScalar(pair.value) ? pair.value : pair.key) as { range?: [number, number, number] };
    return node.range ? lines.linePos(node.range[0]).line : null;
  }
  return null;
}

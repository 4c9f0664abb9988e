/**
 * Parse and validate tong definition files (DESIGN.md "Tong definitions", issue #2 item 2). Pure:
 * it takes file contents the shell already read and returns definitions or problems.
 *
 * Every problem is reported at once as `<file>:<line>: <field path>: <message>`, YAML syntax errors
 * included (STYLE.md: changesets `packages/config/src/parse.ts`; the yaml package's LineCounter
 * maps offsets to lines).
 */
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import type { LayerName } from './plan-types.js';
import { DNS_LABEL, DNS_LABEL_RULE, DisabledTongSchema, TongDefinitionSchema, type TongDefinition } from './definition-schema.js';

/** One discovered definition file, as the shell read it. */
export interface DefinitionSource {
  layer: LayerName;
  /** The tong name: the file name without `.yaml`/`.yml`. */
  name: string;
  /** Absolute path of the file. */
  file: string;
  /** The path shown in messages (relative to the working directory when under it). */
  displayPath: string;
  /** The file's text. */
  source: string;
}

/** A definition that passed validation. `disabled` ones only switch lower-layer tongs off. */
export interface ValidatedTong {
  layer: LayerName;
  name: string;
  file: string;
  displayPath: string;
  disabled: boolean;
  /** The definition as written (no defaults applied). For a disabled stub, whatever fields it had. */
  definition: TongDefinition;
}

export interface ValidationResult {
  tongs: ValidatedTong[];
  /** `<file>:<line>: <field path>: <message>` lines; empty when every file is valid. */
  problems: string[];
}

/** `interface.aliases[0]`, `env.FOO`, or `(root)` for the document itself. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** The 1-based line of the node at `path`, or of its nearest existing ancestor. */
function lineAt(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return lines.linePos(range[0]).line;
  }
  return 1;
}

/** The line of `key` inside the mapping at `path` (for unknown keys: point at the typo itself). */
function lineOfKey(doc: Document, lines: LineCounter, path: readonly PropertyKey[], key: string): number {
  const node = path.length === 0 ? doc.contents : doc.getIn(path as unknown[], true);
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isScalar(pair.key) && String(pair.key.value) === key && pair.key.range) {
        return lines.linePos(pair.key.range[0]).line;
      }
    }
  }
  return lineAt(doc, lines, path);
}

/**
 * zod issues as `<where>:<line>: <field path>: <message>` lines, sorted by line; an unknown key is
 * reported at the key's own line. Shared with the egress allowlist (launcher/core/egress.ts).
 */
export function issueLines(doc: Document, lines: LineCounter, where: string, issues: z.core.$ZodIssue[]): string[] {
  const out: { line: number; text: string }[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        out.push({ line: lineOfKey(doc, lines, issue.path, key), text: `${formatFieldPath(path)}: ${issue.message}` });
      }
      continue;
    }
    out.push({ line: lineAt(doc, lines, issue.path), text: `${formatFieldPath(issue.path)}: ${issue.message}` });
  }
  // Stable, file-ordered output: by line, then as zod reported them.
  return out
    .map((entry, index) => ({ ...entry, index }))
    .sort((a, b) => a.line - b.line || a.index - b.index)
    .map((entry) => `${where}:${entry.line}: ${entry.text}`);
}

/**
 * Validate one file. Returns the definition, or every problem found in it.
 */
export function validateDefinition(src: DefinitionSource): { tong: ValidatedTong } | { problems: string[] } {
  const problems: string[] = [];
  if (!DNS_LABEL.test(src.name)) {
    problems.push(`${src.displayPath}:1: (file name): tong name '${src.name}' is not ${DNS_LABEL_RULE}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(src.source, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const line = error.linePos?.[0]?.line ?? 1;
      const message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      problems.push(`${src.displayPath}:${line}: (yaml): ${message}`);
    }
    return { problems };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (data === null || data === undefined) {
    problems.push(`${src.displayPath}:1: (root): the file is empty; a definition needs at least \`image\` (or \`disable: true\`)`);
    return { problems };
  }
  const disabled = typeof data === 'object' && !Array.isArray(data) && (data as Record<string, unknown>).disable === true;
  const parsed = (disabled ? DisabledTongSchema : TongDefinitionSchema).safeParse(data);
  if (!parsed.success) problems.push(...issueLines(doc, lines, src.displayPath, parsed.error.issues));
  if (problems.length > 0 || !parsed.success) return { problems };
  return {
    tong: {
      layer: src.layer,
      name: src.name,
      file: src.file,
      displayPath: src.displayPath,
      disabled,
      definition: parsed.data as TongDefinition,
    },
  };
}

/**
 * Validate every file. Also refuses two files of one layer that define the same name
 * (`x.yaml` and `x.yml`).
 */
export function validateDefinitions(sources: readonly DefinitionSource[]): ValidationResult {
  const tongs: ValidatedTong[] = [];
  const problems: string[] = [];
  const seen = new Map<string, DefinitionSource>();
  for (const src of sources) {
    const key = `${src.layer}\0${src.name}`;
    const first = seen.get(key);
    if (first) {
      problems.push(`${src.displayPath}:1: (file name): tong '${src.name}' is already defined in the ${src.layer} layer by ${first.displayPath}`);
      continue;
    }
    seen.set(key, src);
    const result = validateDefinition(src);
    if ('tong' in result) tongs.push(result.tong);
    else problems.push(...result.problems);
  }
  return { tongs, problems };
}

/**
 * The secret providers file (issue #6 "Providers"): `$TONGS_HOME/secret-providers.yaml` or
 * `--providers PATH`, as `providers: { NAME: [argv…] }`. A module of its own because it needs yaml and
 * zod, which a launch whose references all use the built-in `env` provider never loads.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { SecretError } from '../../errors.js';
import { ENV_PROVIDER, PROVIDER_NAME_PATTERN, type ProviderTable } from '../../core/secret-refs.js';
import { GITHUB_APP_PROVIDER } from '../../core/github-app.js';

/** Schema of `secret-providers.yaml` (issue #6): `providers: { NAME: [argv…] }`. */
export const SecretProvidersFileSchema = z.strictObject({
  providers: z
    .record(
      z
        .string()
        .regex(PROVIDER_NAME_PATTERN, 'provider names start with a letter, then letters, digits, _, - or .')
        .refine((name) => name !== ENV_PROVIDER, `'${ENV_PROVIDER}' is the built-in provider and cannot be redefined`)
        .refine((name) => name !== GITHUB_APP_PROVIDER, `'${GITHUB_APP_PROVIDER}' is a built-in provider and cannot be redefined`),
      z
        .array(z.string().describe('an argv element; {ref} is replaced by the reference'))
        .min(1, 'expected a non-empty argv list, e.g. [op, read, "{ref}"]')
        .refine((argv) => argv[0] !== '', 'the command (first element) must not be empty')
        .describe('the command run to resolve a reference; its stdout is the value'),
    )
    .describe('command providers by name'),
});
export type SecretProvidersFile = z.infer<typeof SecretProvidersFileSchema>;

/**
 * Parse and validate the text of a providers file. Every problem is reported at once, one per line,
 * as `<file>:<line>: <field path>: <message>`.
 * @throws SecretError listing the problems (YAML syntax errors or schema violations).
 */
export function parseProvidersFile(text: string, file: string): ProviderTable {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineOf = (offset: number | undefined) => (offset === undefined ? 1 : lineCounter.linePos(offset).line);
  const problems = doc.errors.map(
    (e) => `${file}:${e.linePos?.[0].line ?? lineOf(e.pos[0])}: ${e.message.split('\n')[0]}`,
  );
  if (problems.length === 0) {
    const result = SecretProvidersFileSchema.safeParse(doc.toJS() ?? {});
    if (result.success) return new Map(Object.entries(result.data.providers));
    for (const issue of result.error.issues) {
      const keys = issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k));
      // An unknown key is located at the key itself, not at its parent.
      if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) keys.push(issue.keys[0]);
      // The closest node that exists in the document gives the line (a missing key: its parent).
      let line = 1;
      for (let n = keys.length; n >= 0; n--) {
        const node = doc.getIn(keys.slice(0, n), true) as { range?: [number, number, number] } | undefined;
        if (node?.range) {
          line = lineOf(node.range[0]);
          break;
        }
      }
      const where = keys.length ? keys.join('.') : '(top level)';
      // zod reports a bad record key as "Invalid key in record" with the real reasons nested.
      const nested = issue.code === 'invalid_key' ? issue.issues.map((i) => i.message).join('; ') : '';
      problems.push(`${file}:${line}: ${where}: ${nested || issue.message}`);
    }
  }
  throw new SecretError(`invalid secret providers file:\n${problems.join('\n')}`);
}

/**
 * Load the command providers. With `explicit` false (the default path), a missing file means no
 * command providers; with `explicit` true (`--providers PATH`) a missing file is an error.
 * @throws SecretError on an unreadable or invalid file.
 */
export async function loadProviders(file: string, explicit: boolean): Promise<ProviderTable> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return new Map();
    throw new SecretError(`cannot read secret providers file ${file}: ${(error as Error).message}`, { cause: error });
  }
  return parseProvidersFile(text, file);
}

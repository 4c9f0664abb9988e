/**
 * The secret providers file (issue #6 "Providers", issue #13 item 4): `$TONGS_HOME/secret-providers.yaml`
 * or `--providers PATH`. A module of its own because it needs yaml and zod, which a launch whose
 * references all use the built-in `env` provider never loads.
 *
 * ```yaml
 * providers:
 *   op: [op, read, "{ref}"]                 # short form: the argv; {ref} is replaced by the reference
 *   op-work:                                # long form: an entry with its own argv and environment
 *     use: op                               #   derived from the entry `op`: its argv unless argv is given
 *     env: { OP_ACCOUNT: work.1password.com }
 *   op-vault2:
 *     use: op
 *     argv: [op, read, --account, my.1password.eu, "{ref}"]
 * ```
 *
 * A reference names the entry: `${secret:op-work:op://Work/gh/token}`. `use` must name a short-form
 * entry (or a long-form one without `use`) of the same file; an unknown or chained `use` is refused
 * at its line. A reference to an entry that does not exist is refused at the definition's line
 * (secret-ref-location.ts).
 */
import { readFile } from 'node:fs/promises';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { SecretError } from '../../errors.js';
import { ENV_PROVIDER, PROVIDER_NAME_PATTERN, type ProviderCommand, type ProviderTable } from '../../core/secret-refs.js';
import { GITHUB_APP_PROVIDER } from '../../core/github-app.js';

const ProviderNameSchema = z.string().regex(PROVIDER_NAME_PATTERN, 'provider names start with a letter, then letters, digits, _, - or .');

const ArgvSchema = z
  .array(z.string().describe('an argv element; {ref} is replaced by the reference'))
  .min(1, 'expected a non-empty argv list, e.g. [op, read, "{ref}"]')
  .refine((argv) => argv[0] !== '', 'the command (first element) must not be empty')
  .describe('the command run to resolve a reference; its stdout is the value');

/** The long form of an entry (issue #13 item 4): its own argv and environment, derived from another entry. */
export const ProviderEntrySchema = z
  .strictObject({
    use: ProviderNameSchema.optional().describe('the entry of this file this one is a variant of; its argv and env are the defaults'),
    argv: ArgvSchema.optional().describe("this entry's own argv (default: the used entry's)"),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not an environment variable name'), z.string())
      .optional()
      .describe("variables added to the command's environment (over the used entry's), e.g. OP_ACCOUNT"),
  })
  .refine((entry) => entry.use !== undefined || entry.argv !== undefined, 'an entry needs argv, or use: naming the entry it varies');

/** Schema of `secret-providers.yaml`: `providers: { NAME: [argv…] | { use?, argv?, env? } }`. */
export const SecretProvidersFileSchema = z.strictObject({
  providers: z
    .record(
      ProviderNameSchema.refine((name) => name !== ENV_PROVIDER, `'${ENV_PROVIDER}' is the built-in provider and cannot be redefined`).refine(
        (name) => name !== GITHUB_APP_PROVIDER,
        `'${GITHUB_APP_PROVIDER}' is a built-in provider and cannot be redefined`,
      ),
      z.union([ArgvSchema, ProviderEntrySchema]),
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
    if (result.success) {
      const { table, problems: useProblems } = resolveEntries(result.data.providers);
      if (useProblems.length === 0) return table;
      for (const { name, message } of useProblems) {
        const node = doc.getIn(['providers', name, 'use'], true) as { range?: [number, number, number] } | undefined;
        problems.push(`${file}:${lineOf(node?.range?.[0])}: providers.${name}.use: ${message}`);
      }
    }
    for (const issue of result.success ? [] : unionBranch(result.error.issues, doc)) {
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
 * A union's issues are reported for the branch the input's shape chose (a list: the argv form; a
 * mapping: the long form), so the message says what is wrong rather than zod's "Invalid input".
 */
function unionBranch(issues: z.core.$ZodIssue[], doc: ReturnType<typeof parseDocument>): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union' || issue.errors.length !== 2) return [issue];
    const branch = issue.errors[isMap(doc.getIn(issue.path as unknown[], true)) ? 1 : 0]!;
    return branch.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }) as z.core.$ZodIssue);
  });
}

/**
 * The table, with each long-form entry's `use` applied (its argv and env as defaults).
 * @returns the problems of `use` values: an entry that does not exist, the built-in `env`, itself, or
 *   an entry that itself has `use` (chains are not followed).
 */
function resolveEntries(
  providers: SecretProvidersFile['providers'],
): { table: Map<string, readonly string[] | ProviderCommand>; problems: { name: string; message: string }[] } {
  const table = new Map<string, readonly string[] | ProviderCommand>();
  const problems: { name: string; message: string }[] = [];
  const declared = Object.keys(providers);
  for (const [name, entry] of Object.entries(providers)) {
    if (Array.isArray(entry)) {
      table.set(name, entry);
      continue;
    }
    const { use, argv, env } = entry as z.infer<typeof ProviderEntrySchema>;
    if (use === undefined) {
      table.set(name, { argv: argv!, ...(env ? { env } : {}) });
      continue;
    }
    const base = providers[use];
    let message: string | undefined;
    if (use === ENV_PROVIDER) message = `'${ENV_PROVIDER}' is the built-in provider, which runs no command; name an entry of this file`;
    else if (use === name) message = `an entry cannot use itself`;
    else if (base === undefined) message = `unknown provider entry '${use}'; this file declares: ${declared.filter((n) => n !== name).join(', ') || '(none)'}`;
    else if (!Array.isArray(base) && (base as { use?: string }).use !== undefined) {
      message = `'${use}' itself uses '${(base as { use?: string }).use}'; name that entry instead (chains are not followed)`;
    }
    if (message !== undefined) {
      problems.push({ name, message });
      continue;
    }
    const from = Array.isArray(base) ? { argv: base as string[] } : (base as z.infer<typeof ProviderEntrySchema>);
    const mergedEnv = { ...(from.env ?? {}), ...(env ?? {}) };
    table.set(name, { argv: argv ?? from.argv!, ...(Object.keys(mergedEnv).length > 0 ? { env: mergedEnv } : {}), use });
  }
  return { table, problems };
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

/**
 * The egress allowlist: its file format, validation and merge (issue #11 item 2, "The allowlist";
 * DESIGN.md "The seal", rule 5). Pure: it takes the files' text that the shell read
 * (launcher/shell/gather/egress-files.ts) and returns the merged list or every problem at once, each as
 * `<file>:<line>: <field path>: <message>` like tong definitions (launcher/core/validate.ts).
 *
 * Files, lowest layer first: the user's `$TONGS_HOME/egress.yaml`, an org file, and the workspace's
 * `.tongs/egress.yaml`:
 *
 * ```yaml
 * allow:
 *   - registry.npmjs.org            # ports 443 and 80
 *   - "*.githubusercontent.com"     # every name below it, not the name itself
 *   - api.example.com:8443          # that port only
 * egress: open                      # user or org file only: every host and port
 * ```
 *
 * Entries (their forms and matching: launcher/core/egress-match.ts) merge as a union. The workspace
 * is untrusted: its entries are returned apart from the trusted ones, so the launcher asks for
 * approval before it adds them, and its `egress: open` is refused.
 */
import { createHash } from 'node:crypto';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { EGRESS_ENTRY_FORMS, EGRESS_ENV, parseEgressEntry } from './egress-match.js';
import { escapeControl } from './privilege-summary.js';
import { issueLines } from './validate.js';

export {
  canonicalHost,
  DEFAULT_EGRESS_PORTS,
  EGRESS_ENTRY_FORMS,
  EGRESS_ENV,
  formatHostPort,
  matchEgress,
  parseEgressEntries,
  parseEgressEntry,
  splitAuthority,
  type EgressEntry,
} from './egress-match.js';

/** Layers an allowlist file can come from, lowest first. */
export const EGRESS_LAYERS = ['user', 'org', 'workspace'] as const;
export type EgressLayer = (typeof EGRESS_LAYERS)[number];

/** Values of the `egress` key: `open` = every host and port; `allowlist` = the default. */
export const EGRESS_MODES = ['open', 'allowlist'] as const;

/** One allowlist file as the shell read it; a missing file has `text: ''`. */
export interface EgressSource {
  /** The path shown in messages (and in the tong's refusals). */
  path: string;
  /** The file's text; '' when the file does not exist. */
  text: string;
  layer: EgressLayer;
}

/** One valid allowlist file. */
export interface EgressFile {
  path: string;
  layer: EgressLayer;
  /** Its entries in canonical form (`parseEgressEntry(...).entry.text`), in file order, without duplicates. */
  allow: string[];
  /** Its `egress` key, if any. */
  egress?: (typeof EGRESS_MODES)[number];
}

/** The merged allowlist. */
export interface EgressAllowlist {
  /**
   * The trusted entries (user and org files), canonical, deduplicated, lowest layer first. This is
   * what the anvil may reach without asking; workspace entries are NOT in it.
   */
  allow: string[];
  /** True when the highest trusted file that sets `egress` says `open`. */
  open: boolean;
  /** Entries only the workspace file names (not already in `allow`): add them once the user approves. */
  workspaceEntries: string[];
  /** Every file consulted, in merge order (missing ones included: they are where entries would go). */
  files: string[];
  /** The user layer's file (where a refusal tells the user to add a host), or null when none was given. */
  userFile: string | null;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function received(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string') return `the string ${JSON.stringify(input)}`;
  return `${typeof input} ${String(input)}`;
}

const expected = (what: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? `required: ${what}` : `expected ${what}, got ${received(issue.input)}`;

/** One allowlist entry (a string in one of `EGRESS_ENTRY_FORMS`). */
export const EgressEntrySchema = z
  .string({ error: expected(`a host entry: ${EGRESS_ENTRY_FORMS}`) })
  .superRefine((written, ctx) => {
    const parsed = parseEgressEntry(written);
    if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
  })
  .describe(`A host the anvil may reach through the egress tong: ${EGRESS_ENTRY_FORMS}. Matched on host and port; names case-insensitively, one trailing dot ignored.`);

/** An allowlist file (`$TONGS_HOME/egress.yaml`, the org file, `<workspace>/.tongs/egress.yaml`). */
export const EgressFileSchema = z
  .strictObject(
    {
      allow: z
        .array(EgressEntrySchema, { error: expected('a list of host entries, e.g. [registry.npmjs.org, "*.example.com", api.example.com:8443]') })
        .optional()
        .describe('Hosts the anvil may reach through the egress tong. Files merge as a union; entries from the workspace file need approval.'),
      egress: z
        .enum(EGRESS_MODES, { error: expected(`one of ${EGRESS_MODES.join(', ')}`) })
        .optional()
        .describe('open: the anvil may reach every host and port (only honoured in your own or the org file; refused in a workspace file). allowlist: the default.'),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys' ? 'unknown key; accepted keys: allow, egress' : expected('a mapping with allow: [hosts…]')(issue),
    },
  )
  .describe('A tongs egress allowlist file (issue #11; DESIGN.md "The seal", rule 5).');
export type EgressFileContent = z.infer<typeof EgressFileSchema>;

/** The JSON Schema of an allowlist file, committed as schema/egress.schema.json. */
export function egressJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(EgressFileSchema, { unrepresentable: 'any' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return { $schema, title: 'tongs egress allowlist', ...rest };
}

/** Validates one file; every problem at once. An empty or missing file is valid and allows nothing. */
export function parseEgressSource(src: EgressSource): { file: EgressFile } | { problems: string[] } {
  const lines = new LineCounter();
  const doc = parseDocument(src.text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((error) => {
        const line = error.linePos?.[0]?.line ?? 1;
        const message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
        return `${src.path}:${line}: (yaml): ${message}`;
      }),
    };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (data === null || data === undefined) return { file: { path: src.path, layer: src.layer, allow: [] } };
  const parsed = EgressFileSchema.safeParse(data);
  const issues: z.core.$ZodIssue[] = parsed.success ? [] : [...parsed.error.issues];
  if (src.layer === 'workspace' && isRecord(data) && data.egress === 'open') {
    issues.push({
      code: 'custom',
      path: ['egress'],
      input: 'open',
      message: 'a workspace file cannot open egress; only you can, in your own egress.yaml (or the org file)',
    } as z.core.$ZodIssue);
  }
  if (issues.length > 0 || !parsed.success) return { problems: issueLines(doc, lines, src.path, issues) };
  const allow: string[] = [];
  for (const written of parsed.data.allow ?? []) {
    const entry = parseEgressEntry(written);
    if ('entry' in entry && !allow.includes(entry.entry.text)) allow.push(entry.entry.text);
  }
  return { file: { path: src.path, layer: src.layer, allow, ...(parsed.data.egress ? { egress: parsed.data.egress } : {}) } };
}

/** Validates every file. `files` holds the valid ones in input order; `problems` every problem of the others. */
export function parseEgressSources(sources: readonly EgressSource[]): { files: EgressFile[]; problems: string[] } {
  const files: EgressFile[] = [];
  const problems: string[] = [];
  for (const src of sources) {
    const result = parseEgressSource(src);
    if ('file' in result) files.push(result.file);
    else problems.push(...result.problems);
  }
  return { files, problems };
}

/**
 * Merges valid files by layer, lowest first (user → org → workspace; input order within a layer):
 * trusted entries as a union into `allow`; workspace entries not already allowed into
 * `workspaceEntries`. `open` is decided by the highest trusted file with an `egress` key (a
 * workspace file's is never honoured; `parseEgressSource` already refuses its `open`).
 */
export function mergeEgress(files: readonly EgressFile[]): EgressAllowlist {
  const ordered = [...files].sort((a, b) => EGRESS_LAYERS.indexOf(a.layer) - EGRESS_LAYERS.indexOf(b.layer));
  const allow: string[] = [];
  const workspaceEntries: string[] = [];
  let open = false;
  for (const file of ordered) {
    if (file.layer === 'workspace') {
      for (const e of file.allow) if (!allow.includes(e) && !workspaceEntries.includes(e)) workspaceEntries.push(e);
      continue;
    }
    for (const e of file.allow) if (!allow.includes(e)) allow.push(e);
    if (file.egress) open = file.egress === 'open';
  }
  return {
    allow,
    open,
    workspaceEntries: workspaceEntries.filter((e) => !allow.includes(e)),
    files: ordered.map((f) => f.path),
    userFile: ordered.find((f) => f.layer === 'user')?.path ?? null,
  };
}

/**
 * The egress tong's environment for a merged allowlist (the contract of sidecars/egress: see
 * `EGRESS_ENV`). `workspaceApproved`: the user approved the workspace entries, which are then added.
 */
export function egressTongEnv(list: EgressAllowlist, options: { workspaceApproved: boolean }): Record<string, string> {
  const allow = options.workspaceApproved ? [...list.allow, ...list.workspaceEntries] : list.allow;
  return {
    [EGRESS_ENV.allow]: allow.join(','),
    [EGRESS_ENV.mode]: list.open ? 'open' : 'allowlist',
    [EGRESS_ENV.files]: list.files.join('\n'),
    ...(list.userFile ? { [EGRESS_ENV.userFile]: list.userFile } : {}),
  };
}

/**
 * The approval key of workspace entries: sha256 (hex) of the canonical entries, sorted, one per
 * line. A changed list (an entry added or removed) has another key, so it is asked about again;
 * reordering the file is not a change.
 */
export function egressEntriesHash(entries: readonly string[]): string {
  return createHash('sha256').update([...new Set(entries)].sort().join('\n'), 'utf8').digest('hex');
}

/**
 * The privilege summary of workspace entries for the first-run question (like `summarizeEnvFile`):
 * the file and each host the anvil could then reach.
 */
export function summarizeEgressEntries(file: string, entries: readonly string[]): string[] {
  return [
    `workspace egress allowlist ${escapeControl(file)} lets the anvil reach:`,
    ...(entries.length === 0 ? ['  (nothing)'] : entries.map((e) => `  ${escapeControl(e)}`)),
  ];
}

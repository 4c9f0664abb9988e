/**
 * `${secret:PROVIDER:REF}` references in tong `env` values: parse, list, render. Pure.
 *
 * Rules (issue #6 "References", DESIGN.md "Tong definitions"):
 * - A reference may appear anywhere in a value, several times, embedded in text:
 *   `Bearer ${secret:op:op://Work/gh/token}`.
 * - PROVIDER is everything up to the first `:` after `secret:`; REF is the rest up to the next `}`, so
 *   REF may contain colons (`op://…`) but not `}`.
 * - `${secret:env:NAME?}` is the optional form of the built-in `env` provider: a missing variable yields
 *   an empty value. For other providers a trailing `?` is part of REF (1Password refs use `?attribute=`).
 * - Text that is not `${secret:` (for example `${HOME}`) is left as it is.
 */
import { SecretError } from '../errors.js';

/** The marker that opens a reference. */
export const SECRET_REF_OPEN = '${secret:';

/** Provider names: a letter, then letters, digits, `_`, `-` or `.` (they are keys in secret-providers.yaml). */
export const PROVIDER_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/** One parsed reference. */
export interface SecretRef {
  /** Provider name, e.g. `env`, `op`. */
  provider: string;
  /** The reference handed to the provider (without the optional `?` of the `env` form). */
  ref: string;
  /** `${secret:env:NAME?}`: a missing variable resolves to `''`. Always false for other providers. */
  optional: boolean;
  /** The reference exactly as written, `${secret:…}`. */
  source: string;
}

/** A value split into literal text and references, in order. */
export type SecretTemplatePart = { kind: 'text'; text: string } | { kind: 'ref'; ref: SecretRef };

/** True when `value` contains the opening marker of a reference (it is then secret-bearing). */
export function hasSecretRef(value: string): boolean {
  return value.includes(SECRET_REF_OPEN);
}

/**
 * Split `value` into text and references.
 * @throws SecretError for a malformed reference: unterminated (`${secret:x` without `}`), missing or
 *   empty provider, invalid provider name, or empty REF. The message quotes the reference as written
 *   (a reference is not a secret) and, when given, `where` (e.g. `tong 'github' env GITHUB_TOKEN`).
 */
export function parseSecretTemplate(value: string, where?: string): SecretTemplatePart[] {
  const problem = (what: string) =>
    new SecretError(`${where ? `${where}: ` : ''}${what} (expected \${secret:PROVIDER:REF})`);
  const parts: SecretTemplatePart[] = [];
  let pos = 0;
  while (pos < value.length) {
    const start = value.indexOf(SECRET_REF_OPEN, pos);
    if (start < 0) break;
    if (start > pos) parts.push({ kind: 'text', text: value.slice(pos, start) });
    const end = value.indexOf('}', start + SECRET_REF_OPEN.length);
    if (end < 0) throw problem(`unterminated secret reference '${value.slice(start)}'`);
    const source = value.slice(start, end + 1);
    const body = value.slice(start + SECRET_REF_OPEN.length, end);
    const colon = body.indexOf(':');
    if (colon < 0) throw problem(`secret reference '${source}' has no provider`);
    const provider = body.slice(0, colon);
    let ref = body.slice(colon + 1);
    if (provider === '') throw problem(`secret reference '${source}' has an empty provider`);
    if (!PROVIDER_NAME_PATTERN.test(provider)) {
      throw problem(`secret reference '${source}' has an invalid provider name '${provider}'`);
    }
    let optional = false;
    if (provider === 'env' && ref.endsWith('?')) {
      optional = true;
      ref = ref.slice(0, -1);
    }
    if (ref === '') throw problem(`secret reference '${source}' has an empty reference`);
    parts.push({ kind: 'ref', ref: { provider, ref, optional, source } });
    pos = end + 1;
  }
  if (pos < value.length) parts.push({ kind: 'text', text: value.slice(pos) });
  return parts;
}

/**
 * The problem with `value`'s references as one message, or null when they are well-formed. For
 * validators that collect every problem instead of stopping at the first.
 */
export function checkSecretTemplate(value: string): string | null {
  try {
    parseSecretTemplate(value);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Cache key of a reference: `provider:ref` (the optional flag does not change what is read). */
export function secretRefKey(ref: Pick<SecretRef, 'provider' | 'ref'>): string {
  return `${ref.provider}:${ref.ref}`;
}

/**
 * Render a parsed template, replacing each reference by `resolve(ref)` (resolved values are inserted
 * verbatim: they are not scanned for references again).
 */
export function renderSecretTemplate(parts: SecretTemplatePart[], resolve: (ref: SecretRef) => string): string {
  return parts.map((part) => (part.kind === 'text' ? part.text : resolve(part.ref))).join('');
}

/**
 * Every distinct reference in an environment map (values that hold none contribute nothing), in
 * order of first appearance, deduplicated by `provider:ref`; `optional` is true only if every use is
 * optional. For the privilege summary (issue #6 "First-run approval") and for up-front provider checks.
 * @throws SecretError for a malformed reference, naming the variable.
 */
export function listSecretRefs(env: Record<string, string>, owner?: string): SecretRef[] {
  const seen = new Map<string, SecretRef>();
  for (const [name, value] of Object.entries(env)) {
    if (!hasSecretRef(value)) continue;
    for (const part of parseSecretTemplate(value, `${owner ? `${owner} ` : ''}env ${name}`)) {
      if (part.kind !== 'ref') continue;
      const key = secretRefKey(part.ref);
      const prior = seen.get(key);
      if (!prior) seen.set(key, { ...part.ref });
      else if (!part.ref.optional) prior.optional = false;
    }
  }
  return [...seen.values()];
}

/** The name of the built-in provider that reads the launcher's environment. */
export const ENV_PROVIDER = 'env';

/**
 * A provider entry of the long form in secret-providers.yaml (issue #13 item 4): a command with its
 * own argv and environment, e.g. `op-work: { use: op, env: { OP_ACCOUNT: work.1password.com } }`,
 * referenced as `${secret:op-work:op://…}`. `use` names the entry it was derived from (for messages).
 */
export interface ProviderCommand {
  /** The argv template; `{ref}` in any element is replaced by the reference. */
  argv: readonly string[];
  /** Variables added to the launcher's environment for this command only. */
  env?: Readonly<Record<string, string>>;
  /** The entry of the same file this one is a variant of. */
  use?: string;
}

/**
 * Command providers by name (the `env` provider is built in and never listed): an argv template
 * (the short form, `op: [op, read, "{ref}"]`) or a {@link ProviderCommand} (the long form).
 */
export type ProviderTable = ReadonlyMap<string, readonly string[] | ProviderCommand>;

/** Either form of a table entry as a {@link ProviderCommand}. */
export function providerCommand(entry: readonly string[] | ProviderCommand): ProviderCommand {
  return isArgv(entry) ? { argv: entry } : entry;
}

function isArgv(entry: readonly string[] | ProviderCommand): entry is readonly string[] {
  return Array.isArray(entry);
}

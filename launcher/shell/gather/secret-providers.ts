/**
 * Secret providers: resolve `${secret:PROVIDER:REF}` references on the host, before any container
 * exists (issue #6 "Providers", DESIGN.md "Wiring a session" step 2).
 *
 * - `env` is built in: it reads the launcher's own environment. A missing variable is a SecretError
 *   unless the reference is written `${secret:env:NAME?}`, which yields `''`.
 * - Command providers come from `$TONGS_HOME/secret-providers.yaml` (or `--providers PATH`, parsed by
 *   secret-providers-file.ts):
 *   `providers: { NAME: [argv…] }`, `{ref}` in any element replaced by the reference. The command runs
 *   with stdin and stderr on the user's terminal (unlock and biometric prompts work); its stdout is
 *   captured and exactly one trailing `\n` is stripped. An entry may also be the long form
 *   `{ use: NAME, argv?, env? }` (issue #13 item 4), its own argv and environment for a second
 *   account or vault; a reference names the entry (`${secret:op-work:…}`).
 * - Every error names provider and reference, never a value.
 * - Each reference is resolved once per launch (one resolver per launch caches them), one at a time,
 *   so two providers never prompt on the terminal at once.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { SecretError, UnknownSecretProviderError } from '../../errors.js';
import type { PlannedTong } from '../../core/plan-types.js';
import {
  hasSecretRef,
  listSecretRefs,
  parseSecretTemplate,
  ENV_PROVIDER,
  providerCommand,
  renderSecretTemplate,
  secretRefKey,
  type ProviderTable,
  type SecretRef,
} from '../../core/secret-refs.js';

export { ENV_PROVIDER, type ProviderTable } from '../../core/secret-refs.js';

/** The placeholder replaced by the reference in a command provider's argv. */
export const REF_PLACEHOLDER = '{ref}';


/** `$TONGS_HOME/secret-providers.yaml`, `TONGS_HOME` defaulting to `~/.tongs` (DESIGN.md "Tong definitions"). */
export function defaultProvidersPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.TONGS_HOME || path.join(os.homedir(), '.tongs'), 'secret-providers.yaml');
}

/** What running a provider command produced. */
export interface ProviderCommandResult {
  /** Exit status, or null when killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
}

/**
 * Run a provider command: stdin and stderr inherited from the launcher (the user's terminal), stdout
 * captured. Rejects with the spawn error (e.g. ENOENT) when it cannot start.
 */
export function runProviderCommand(argv: readonly string[], env?: Readonly<Record<string, string>>): Promise<ProviderCommandResult> {
  return new Promise((resolve, reject) => {
    const [command, ...args] = argv as [string, ...string[]];
    const child = spawn(command, args, { stdio: ['inherit', 'pipe', 'inherit'], ...(env ? { env: { ...process.env, ...env } } : {}) });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (exitCode, signal) => resolve({ exitCode, signal, stdout: Buffer.concat(chunks) }));
  });
}

export interface SecretResolverOptions {
  /** Command providers (from `loadProviders` in secret-providers-file.ts). */
  providers: ProviderTable;
  /** The environment the `env` provider reads; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Runs a provider command (with its entry's `env`, if any); default {@link runProviderCommand} (tests inject a fake). */
  run?: (argv: readonly string[], env?: Readonly<Record<string, string>>) => Promise<ProviderCommandResult>;
}

/** Resolves references for one launch; every reference is resolved at most once. */
export interface SecretResolver {
  /**
   * Resolve every reference in `secretEnv` and return the final values. Values holding no reference
   * (e.g. the minted `TONGS_MCP_TOKEN`) are returned unchanged.
   * @throws SecretError naming provider and reference (never the value).
   */
  resolveEnv(secretEnv: Record<string, string>, owner?: string): Promise<Record<string, string>>;
  /** Check that every reference in `secretEnv` names a known provider, without resolving anything. */
  checkProviders(secretEnv: Record<string, string>, owner?: string): void;
}

/** Environment values cannot hold NUL; say so before Docker or sh truncates the value silently. */
function assertStorable(value: string, ref: SecretRef): string {
  if (value.includes('\0')) {
    throw new SecretError(`secret ${describeRef(ref)}: the value contains a NUL byte, which an environment variable cannot hold`);
  }
  return value;
}

function describeRef(ref: Pick<SecretRef, 'provider' | 'ref'>): string {
  return `provider '${ref.provider}', reference '${ref.ref}'`;
}

/** Build the resolver for one launch (its cache lives as long as it does). */
export function createSecretResolver(options: SecretResolverOptions): SecretResolver {
  const env = options.env ?? process.env;
  const run = options.run ?? runProviderCommand;
  /** Command-provider values by `provider:ref`. */
  const cache = new Map<string, string>();
  // One resolution at a time: a provider may prompt on the terminal.
  let queue: Promise<unknown> = Promise.resolve();

  const checkRef = (ref: SecretRef, owner?: string) => {
    if (ref.provider === ENV_PROVIDER || options.providers.has(ref.provider)) return;
    const known = [ENV_PROVIDER, ...options.providers.keys()].join(', ');
    throw new UnknownSecretProviderError(
      `${owner ? `${owner}: ` : ''}unknown secret provider '${ref.provider}' (reference '${ref.ref}'); known providers: ${known}` +
        ` — declare command providers in ${defaultProvidersPath(env)} or pass --providers`,
      ref.provider,
      ref.source,
    );
  };

  const resolveCommand = async (ref: SecretRef): Promise<string> => {
    const key = secretRefKey(ref);
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const command = providerCommand(options.providers.get(ref.provider)!);
    const argv = command.argv.map((element) => element.split(REF_PLACEHOLDER).join(ref.ref));
    let result: ProviderCommandResult;
    try {
      result = command.env ? await run(argv, command.env) : await run(argv);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? `command '${argv[0]}' not found` : `command '${argv[0]}' could not start: ${(error as Error).message}`;
      throw new SecretError(`secret ${describeRef(ref)}: ${why}`, { cause: error });
    }
    if (result.exitCode !== 0) {
      const status = result.signal ? `was killed by ${result.signal}` : `exited with status ${result.exitCode}`;
      throw new SecretError(`secret ${describeRef(ref)}: command '${argv[0]}' ${status}`);
    }
    let value = result.stdout.toString('utf8');
    if (value.endsWith('\n')) value = value.slice(0, -1);
    cache.set(key, assertStorable(value, ref));
    return value;
  };

  const resolveRef = async (ref: SecretRef): Promise<string> => {
    if (ref.provider !== ENV_PROVIDER) return resolveCommand(ref);
    const value = env[ref.ref];
    if (value === undefined) {
      if (ref.optional) return '';
      throw new SecretError(
        `secret ${describeRef(ref)}: environment variable ${ref.ref} is not set (write \${secret:env:${ref.ref}?} to allow an empty value)`,
      );
    }
    return assertStorable(value, ref);
  };

  const checkProviders = (secretEnv: Record<string, string>, owner?: string) => {
    for (const ref of listSecretRefs(secretEnv, owner)) checkRef(ref, owner);
  };

  const resolveEnv = async (secretEnv: Record<string, string>, owner?: string) => {
    checkProviders(secretEnv, owner);
    const out: Record<string, string> = {};
    for (const [name, template] of Object.entries(secretEnv)) {
      if (!hasSecretRef(template)) {
        out[name] = template;
        continue;
      }
      const parts = parseSecretTemplate(template, `${owner ? `${owner} ` : ''}env ${name}`);
      const values = new Map<SecretRef, string>();
      for (const part of parts) {
        if (part.kind !== 'ref') continue;
        const job = queue.then(() => resolveRef(part.ref));
        queue = job.catch(() => undefined);
        values.set(part.ref, await job);
      }
      out[name] = renderSecretTemplate(parts, (ref) => values.get(ref)!);
    }
    return out;
  };

  return { resolveEnv, checkProviders };
}

/** Options of {@link createResolveSecrets}. */
export interface ResolveSecretsOptions {
  /** `--providers PATH`, or undefined for the default `$TONGS_HOME/secret-providers.yaml`. */
  providersPath?: string;
  /** Environment for `env` references and `TONGS_HOME`; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Runs a provider command; default {@link runProviderCommand}. */
  run?: (argv: readonly string[], env?: Readonly<Record<string, string>>) => Promise<ProviderCommandResult>;
}

/**
 * Build the `resolveSecrets` hook of `RunSessionOptions` (launcher/shell/run/session.ts): given the tongs
 * that will actually be created, return per tong name its final secret environment. The providers
 * file is read only when some reference needs a command provider, every reference of every tong is
 * checked against the provider table before any command runs, and each reference is resolved once
 * per launch even when several tongs use it.
 * @throws SecretError (exit 1) naming the tong, provider and reference — never the value.
 */
export function createResolveSecrets(
  options: ResolveSecretsOptions = {},
): (tongs: PlannedTong[]) => Promise<Map<string, Record<string, string>>> {
  const env = options.env ?? process.env;
  let resolver: SecretResolver | undefined;
  let providersLoaded = false;
  return async (tongs) => {
    const needsCommands = tongs.some((t) =>
      listSecretRefs(t.secretEnv, `tong '${t.name}'`).some((r) => r.provider !== ENV_PROVIDER),
    );
    // Read the providers file only when a command provider is needed, so a broken file cannot
    // block a launch that uses only `env` references.
    if (!resolver || (needsCommands && !providersLoaded)) {
      // The file's parser (yaml, zod) is loaded only now: most launches use only `env` references.
      const providers = needsCommands
        ? await (await import('./secret-providers-file.js')).loadProviders(options.providersPath ?? defaultProvidersPath(env), options.providersPath !== undefined)
        : new Map<string, string[]>();
      providersLoaded = needsCommands;
      resolver = createSecretResolver({ providers, env, ...(options.run ? { run: options.run } : {}) });
    }
    // An unknown provider is refused with the definition file and line of each reference to it.
    await (await import('./secret-ref-location.js')).refuseUnknownProviders(tongs, resolver);
    const out = new Map<string, Record<string, string>>();
    for (const tong of tongs) out.set(tong.name, await resolver.resolveEnv(tong.secretEnv, `tong '${tong.name}'`));
    return out;
  };
}

/**
 * The launcher's error taxonomy. The CLI's top-level catch (launcher/cli.ts) is the one place that
 * maps these to exit codes and calls `process.exit` (STYLE.md: changesets `packages/errors`).
 * Exit codes are from ../shared/DESIGN.md "The launcher CLI".
 */

/** Base class: every launcher refusal or failure. Exit code 1 unless a subclass says otherwise. */
export class TongsError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command line: unknown command or option, missing `--`. Exit 2. */
export class UsageError extends TongsError {
  override readonly exitCode = 2;
}

/** One or more invalid tong definitions; `problems` holds `<file>:<line>: <field path>: <message>` lines. */
export class DefinitionError extends TongsError {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** The launch was refused before any Docker work: alias collision, missing emitter, denied approval. */
export class RefusalError extends TongsError {}

/** A `${secret:…}` reference could not be resolved. The message names provider and reference, never the value. */
export class SecretError extends TongsError {}

/**
 * A `${secret:PROVIDER:REF}` names a provider that is neither built in nor an entry of the providers
 * file. `source` is the reference as written, so the caller can find the definition line that holds it.
 */
export class UnknownSecretProviderError extends SecretError {
  constructor(
    message: string,
    readonly provider: string,
    readonly source: string,
  ) {
    super(message);
  }
}

/**
 * What kind of engine failure a DockerError is. Set where the failure is recognised (the engine
 * resolver, launcher/shell/engine/engine.ts, and the runtime, launcher/shell/engine/docker-runtime.ts), so callers
 * branch on the kind, never on message text (issue #16):
 * - `unreachable`: nothing answers at the endpoint (not running, missing socket, refused, timeout);
 * - `permission`: the endpoint exists but this user may not connect (a socket owned by the docker group);
 * - `config`: the engine could not even be chosen (corrupt config.json, a missing or broken context,
 *   unreadable TLS material, a malformed DOCKER_HOST);
 * - `too-old`: the engine answers with an API version older than tongs needs;
 * - `conflict`: a name is already taken (a container or network of that name exists);
 * - `in-use`: the object is still used (a network with containers attached);
 * - `no-executable`: a container could not start because its command is not in the image;
 * - `engine`: the engine answered and refused or failed this one operation otherwise (the default).
 */
export type DockerFailureKind = 'unreachable' | 'permission' | 'config' | 'too-old' | 'conflict' | 'in-use' | 'no-executable' | 'engine';

/** The kinds that mean no engine can be used at all. */
const UNAVAILABLE: ReadonlySet<DockerFailureKind> = new Set(['unreachable', 'permission', 'config', 'too-old']);

/** The Docker engine refused or failed an operation, or could not be reached or chosen; see `kind`. */
export class DockerError extends TongsError {
  readonly kind: DockerFailureKind;
  constructor(message: string, options?: { cause?: unknown; kind?: DockerFailureKind }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.kind = options?.kind ?? 'engine';
  }
  /**
   * True when no engine can be used at all, so every later call would fail the same way: the message
   * is the whole story (one line) and a command gives up at once.
   */
  get engineUnavailable(): boolean {
    return UNAVAILABLE.has(this.kind);
  }
}

/** A tong did not become ready within its readiness timeout. */
export class ReadinessError extends TongsError {}

/** The anvil command could not be executed (not found, not executable). Exit 127. */
export class CommandNotFoundError extends TongsError {
  override readonly exitCode = 127;
}

/** The launcher was interrupted by a signal; exit 128 + signal number (130 for SIGINT). */
export class InterruptedError extends TongsError {
  constructor(
    readonly signal: NodeJS.Signals,
    override readonly exitCode: number,
  ) {
    super(`interrupted by ${signal}`);
  }
}

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

/** The Docker engine refused or failed an operation, or could not be reached. */
export class DockerError extends TongsError {}

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

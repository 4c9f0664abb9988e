/**
 * The passthrough (DESIGN.md "Passthrough invariant", issue #2 item 7): with no tong discovered,
 * `tongs run` executes the anvil argv byte for byte — argv[0] with argv[1..] unchanged, no shell,
 * inherited stdio and TTY — forwards SIGINT, SIGTERM and SIGHUP to it, and reports its exit status
 * (128 + n when a signal ended it). Nothing here touches Docker.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { CommandNotFoundError } from '../../errors.js';

/** Signals passed on to the child (the launcher itself then waits for the child to end). */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** 128 + the signal's number, the shell's convention for "killed by a signal". */
export function signalExitStatus(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * Run `argv` in the foreground and resolve with the exit status to use. Rejects with
 * CommandNotFoundError (exit 127) when argv[0] cannot be executed.
 *
 * A terminal's Ctrl-C reaches the whole foreground process group, so a child in cooked mode may see
 * SIGINT twice (from the terminal and from us); `docker run -t` puts the terminal in raw mode, where
 * Ctrl-C is a byte for the container, not a signal, so the anvil case is unaffected.
 */
export function runPassthrough(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command) return Promise.reject(new CommandNotFoundError('no command to run after `--`'));
  return new Promise<number>((resolve, reject) => {
    // Handlers go in before the spawn: the child can run (and someone can signal us about it)
    // before spawn() returns, and a signal in that gap must not kill the launcher by default action.
    // JS handlers only run once spawn() has returned, so `child` is set by then.
    let child: ReturnType<typeof spawn> | undefined;
    const forward = (signal: NodeJS.Signals) => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    const done = () => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
    };
    try {
      child = spawn(command, args, { stdio: 'inherit' });
    } catch (error) {
      done();
      reject(new CommandNotFoundError(`cannot execute ${JSON.stringify(command)}: ${(error as Error).message}`, { cause: error }));
      return;
    }
    child.once('error', (error: NodeJS.ErrnoException) => {
      done();
      const reason = error.code === 'ENOENT' ? 'command not found' : error.code === 'EACCES' ? 'permission denied' : error.message;
      reject(new CommandNotFoundError(`cannot execute ${JSON.stringify(command)}: ${reason}`, { cause: error }));
    });
    child.once('exit', (code, signal) => {
      done();
      resolve(signal ? signalExitStatus(signal) : (code ?? 1));
    });
  });
}
